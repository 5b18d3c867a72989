//! `haven serve` running a job on a schedule of seconds against an HTTP source the test serves
//! on loopback: a new file loads, the same file again is unchanged, triggers that come while a
//! slow run is under way give no second run, and a server killed in the middle of a run leaves
//! the data whole, the run marked interrupted, and the next run succeeding.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Env, wait_for};

/// A loopback source of one file; `slow` makes each answer take 3 s. Counts requests, and
/// whether two were ever served at once.
struct Source {
    url: String,
    requests: Arc<AtomicUsize>,
    overlapped: Arc<AtomicBool>,
    slow: Arc<AtomicBool>,
}

fn source(body: String) -> Source {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/waiting.tsv", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let overlapped = Arc::new(AtomicBool::new(false));
    let slow = Arc::new(AtomicBool::new(false));
    let active = Arc::new(AtomicUsize::new(0));
    let (r, o, sl) = (
        Arc::clone(&requests),
        Arc::clone(&overlapped),
        Arc::clone(&slow),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (r, o, sl, active, body) = (
                Arc::clone(&r),
                Arc::clone(&o),
                Arc::clone(&sl),
                Arc::clone(&active),
                body.clone(),
            );
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                r.fetch_add(1, Ordering::SeqCst);
                if active.fetch_add(1, Ordering::SeqCst) > 0 {
                    o.store(true, Ordering::SeqCst);
                }
                if sl.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_secs(3));
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                active.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Source {
        url,
        requests,
        overlapped,
        slow,
    }
}

fn runs(url: &str, token: &str) -> Vec<serde_json::Value> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut res = agent
        .get(format!("{url}/api/v1/officer/jobs?job=waiting&limit=1000"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(res.status().as_u16(), 200);
    serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
}

/// The demo loaded, an officer's token, and the first district code.
fn demo_with_officer(env: &Env) -> (String, String) {
    env.with_demo();
    let token = env.add_user("olivia", "officer");
    let code: String = env
        .query()
        .query_row("SELECT min(district_code) FROM districts", [], |r| r.get(0))
        .unwrap();
    (token, code)
}

#[test]
fn the_server_runs_jobs_on_schedule_once_at_a_time_and_survives_a_kill() {
    let env = Env::new();
    let (token, code) = demo_with_officer(&env);
    let mut body = String::from(
        "district_code\tperiod\tapplicants\tapplicants_international_protection\tmedian_wait_days\n",
    );
    for m in 1..=9 {
        body.push_str(&format!("{code}\t2027-0{m}\t{}\t2\t300\n", 10 + m));
    }
    let src = source(body);
    let config = env.path("haven.toml");
    std::fs::write(
        &config,
        format!(
            "[[job]]\nname = \"waiting\"\ndataset = \"social_housing_waiting_list\"\nschedule = \"*/1 * * * * *\"\nafter = []\n[job.source]\nurl = \"{}\"\nretries = 0\n",
            src.url
        ),
    )
    .unwrap();
    // A mistake in the configuration stops start-up with its line.
    let bad = env.path("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("after = []", "after = []\ncolour = 1"),
    )
    .unwrap();
    let run = env
        .run(&[
            "serve",
            "--config",
            bad.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ])
        .code_is(1);
    assert!(
        run.stderr().contains("line 6") && run.stderr().contains("colour"),
        "{}",
        run.stderr()
    );

    let config_arg = config.to_str().unwrap().to_string();
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", &config_arg)], None);
    // A new file loads; the same file again is unchanged.
    wait_for("a load and an unchanged run", 30, || {
        let r = runs(&url, &token);
        r.iter().any(|x| x["outcome"] == "loaded") && r.iter().any(|x| x["outcome"] == "unchanged")
    });
    let loaded = runs(&url, &token)
        .into_iter()
        .filter(|x| x["outcome"] == "loaded")
        .count();
    assert_eq!(loaded, 1, "one load of the same file");

    // A slow source and a trigger every second: later triggers find the run under way.
    src.slow.store(true, Ordering::SeqCst);
    wait_for("a skipped trigger", 30, || {
        runs(&url, &token).iter().any(|x| x["outcome"] == "skipped")
    });
    assert!(
        !src.overlapped.load(Ordering::SeqCst),
        "two runs fetched at once"
    );

    // Killed in the middle of a slow run.
    let before = src.requests.load(Ordering::SeqCst);
    wait_for("a request under way", 10, || {
        src.requests.load(Ordering::SeqCst) > before
    });
    drop(server); // SIGKILL
    let rows =
        env.count("SELECT count(*) FROM social_housing_waiting_list WHERE period LIKE '2027-%'");
    assert_eq!(rows, 9, "the loaded file is whole");
    let running = env.count("SELECT count(*) FROM job_runs WHERE outcome = 'running'");
    assert!(running >= 1, "the cut-short run is still marked running");

    // Restarted: the run is marked interrupted and the next run succeeds.
    src.slow.store(false, Ordering::SeqCst);
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", &config_arg)], None);
    wait_for("a run after the restart", 30, || {
        let r = runs(&url, &token);
        r.iter().any(|x| x["outcome"] == "interrupted")
            && r.first().is_some_and(|x| x["outcome"] == "unchanged")
    });
    drop(server);
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing_waiting_list WHERE period LIKE '2027-%'"),
        9
    );
}

/// A loopback source answering by path: `/flaky` fails once with 500 then serves `flaky`,
/// `/bad` serves `bad`, `/slow` answers after 5 s, `/big` sends 2 MB. Counts `/flaky` requests.
fn scripted(flaky: String, bad: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let flaky_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&flaky_hits);
    let base = common::http_source(move |path, _| match path {
        "/flaky.tsv" if hits.fetch_add(1, Ordering::SeqCst) == 0 => (500, b"down".to_vec()),
        "/flaky.tsv" => (200, flaky.clone().into_bytes()),
        "/bad.csv" => (200, bad.clone()),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(5));
            (200, b"late".to_vec())
        }
        "/big" => (200, vec![b'x'; 2_000_000]),
        _ => (404, Vec::new()),
    });
    (base, flaky_hits)
}

#[test]
fn the_server_retries_a_failing_source_and_keeps_to_policies_timeouts_and_limits() {
    let env = Env::new();
    let (token, code) = demo_with_officer(&env);
    let flaky = format!(
        "district_code\tperiod\tapplicants\tapplicants_international_protection\tmedian_wait_days\n{code}\t2028-01\t21\t4\t250\n"
    );
    // The demo's register export (six bad rows) with one more line, so it is new content.
    let mut bad = std::fs::read(env.path("demo/leegstand_vacant_properties.csv")).unwrap();
    bad.extend_from_slice(b"\r\n");
    let (base, flaky_hits) = scripted(flaky, bad);
    let job = |name: &str, dataset: &str, path: &str, extra: &str| {
        format!(
            "[[job]]\nname = \"{name}\"\ndataset = \"{dataset}\"\nschedule = \"*/2 * * * * *\"\nafter = []\non_rejected = \"load_nothing\"\n[job.source]\nurl = \"{base}{path}\"\n{extra}\n"
        )
    };
    let config = env.path("haven.toml");
    std::fs::write(
        &config,
        [
            job(
                "flaky",
                "social_housing_waiting_list",
                "/flaky.tsv",
                "retries = 2",
            ),
            job("bad", "vacant_properties", "/bad.csv", "retries = 0"),
            job(
                "slow",
                "landlord_incentives",
                "/slow",
                "retries = 0\ntimeout_seconds = 1",
            ),
            job(
                "big",
                "population",
                "/big",
                "retries = 0\nmax_megabytes = 1",
            ),
        ]
        .concat(),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", &config_arg)], None);
    let outcome = |job: &str, want: &str| -> Option<String> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut res = agent
            .get(format!("{url}/api/v1/officer/jobs?job={job}&limit=50"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        let runs: Vec<serde_json::Value> =
            serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        runs.iter()
            .find(|r| r["outcome"] == want)
            .map(|r| r["message"].as_str().unwrap_or("").to_string())
    };
    wait_for("every job's first outcome", 40, || {
        outcome("flaky", "loaded").is_some()
            && outcome("bad", "refused").is_some()
            && outcome("slow", "failed").is_some()
            && outcome("big", "failed").is_some()
    });
    drop(server);
    // A 500, then the retry loaded the file.
    assert!(flaky_hits.load(Ordering::SeqCst) >= 2);
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing_waiting_list WHERE period = '2028-01'"),
        1
    );
    assert!(
        outcome_text_contains(&env, "bad", "line 13"),
        "the bad row is reported"
    );
    assert!(outcome_text_contains(&env, "slow", "after 1 attempts"));
    assert!(outcome_text_contains(&env, "big", "over the limit of 1 MB"));
    // load_nothing: none of the refused file's rows; the limits left the data as it was.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM ingest_batches WHERE outcome = 'loaded' AND origin = 'job:bad'"
        ),
        0
    );
}

/// Whether a job's runs mention `text` (read after the server stopped).
fn outcome_text_contains(env: &Env, job: &str, text: &str) -> bool {
    env.count(&format!(
        "SELECT count(*) FROM job_runs WHERE job = '{job}' AND message LIKE '%{text}%'"
    )) > 0
}

#[test]
fn a_run_missed_while_the_server_was_down_is_made_once_at_start() {
    let env = Env::new();
    let (token, code) = demo_with_officer(&env);
    let src = source(format!(
        "district_code\tperiod\tapplicants\tapplicants_international_protection\tmedian_wait_days\n{code}\t2029-01\t5\t1\t100\n"
    ));
    // Once a year, on the first of January: never due during the test by itself.
    let config = env.path("haven.toml");
    std::fs::write(
        &config,
        format!(
            "[[job]]\nname = \"waiting\"\ndataset = \"social_housing_waiting_list\"\nschedule = \"0 0 0 1 1 *\"\nafter = []\n[job.source]\nurl = \"{}\"\nretries = 0\n",
            src.url
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let runs_now = |url: &str| runs(url, &token).len();
    // Never run: nothing to catch up.
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", &config_arg)], None);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs_now(&url), 0);
    drop(server);
    // The last run was before the last due time (a year and a half ago): made once at start.
    env.query_rw()
        .execute_batch(
            "INSERT INTO job_runs (run_id, job, started_at, finished_at, outcome, dataset)
             VALUES (1, 'waiting', now() - INTERVAL 550 DAY, now() - INTERVAL 550 DAY, 'unchanged', 'social_housing_waiting_list')",
        )
        .unwrap();
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", &config_arg)], None);
    wait_for("the missed run", 20, || runs_now(&url) == 2);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs_now(&url), 2, "made once, not once per missed time");
    assert_eq!(src.requests.load(Ordering::SeqCst), 1);
    drop(server);
    // Started again: the last run is after the due time, nothing to make.
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", &config_arg)], None);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs_now(&url), 2);
    drop(server);
}

#[test]
fn a_credential_never_follows_a_redirect_to_another_host_and_keyed_urls_stay_out_of_history() {
    let env = Env::new();
    env.with_districts();
    let code: String = env
        .query()
        .query_row("SELECT min(district_code) FROM districts", [], |r| r.get(0))
        .unwrap();
    let file = format!(
        "district_code\tperiod\tapplicants\tapplicants_international_protection\tmedian_wait_days\n{code}\t2028-02\t21\t4\t250\n"
    );
    let heads =
        |v: &Arc<std::sync::Mutex<Vec<String>>>| v.lock().unwrap().join("\n").to_lowercase();
    // The mirror, another origin, serves the file and notes what it was sent.
    let mirror_seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&mirror_seen);
    let mirror = common::http_source(move |_, head| {
        seen.lock().unwrap().push(head.to_string());
        (200, file.clone().into_bytes())
    });
    // The provider redirects its keyed URL to the mirror.
    let provider_seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&provider_seen);
    let provider = common::http_source(move |_, head| {
        seen.lock().unwrap().push(head.to_string());
        common::Reply {
            status: 302,
            headers: vec![("Location".into(), format!("{mirror}/waiting.tsv"))],
            body: Vec::new(),
        }
    });
    let config = env.path("haven.toml");
    std::fs::write(
        &config,
        format!(
            "[[job]]\nname = \"keyed\"\ndataset = \"social_housing_waiting_list\"\nschedule = \"*/2 * * * * *\"\nafter = []\n\
             [job.source]\nurl = \"{provider}/export?apikey=SECRET-IN-URL&format=tsv\"\nauth_header = \"X-API-Key\"\nauth_env = \"HAVEN_TEST_KEY\"\n"
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap().to_string();
    let (server, _) = env.serve_with(
        &[
            ("HAVEN_CONFIG", &config_arg),
            ("HAVEN_TEST_KEY", "key-from-the-environment"),
        ],
        None,
    );
    wait_for("the keyed job's load", 30, || {
        !heads(&mirror_seen).is_empty()
    });
    std::thread::sleep(Duration::from_secs(1));
    drop(server);
    assert!(
        heads(&provider_seen).contains("x-api-key: key-from-the-environment"),
        "the provider gets its key: {}",
        heads(&provider_seen)
    );
    assert!(
        !heads(&mirror_seen).contains("key-from-the-environment"),
        "the mirror never does: {}",
        heads(&mirror_seen)
    );
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing_waiting_list WHERE period = '2028-02'"),
        1
    );
    // The key in the URL is nowhere in the database, nor in what the command shows.
    let stored = env.count(
        "SELECT (SELECT count(*) FROM job_runs WHERE coalesce(message, '') LIKE '%SECRET-IN-URL%')
              + (SELECT count(*) FROM ingest_batches WHERE source LIKE '%SECRET-IN-URL%')",
    );
    assert_eq!(stored, 0);
    let listed = env
        .haven()
        .args(["jobs", "list"])
        .env("HAVEN_CONFIG", &config_arg)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("apikey=***") && !listed.contains("SECRET-IN-URL"),
        "{listed}"
    );
}
