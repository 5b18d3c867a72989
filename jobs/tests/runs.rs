//! Job runs against real sources: files, a watched folder, and an HTTP server on loopback that
//! the test scripts (answers, ETags, failures, slowness, size). Each run is checked in
//! `job_runs` and in the data.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobs::{Config, Outcome, run_job};

/// One scripted answer: status, extra headers, body, delay before answering.
#[derive(Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
}

fn answer(status: u16, body: &[u8]) -> Answer {
    Answer {
        status,
        headers: Vec::new(),
        body: body.to_vec(),
        delay: Duration::ZERO,
    }
}

/// A loopback HTTP server answering from a script (the last answer repeats); records the
/// request headers it saw.
struct Source {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

fn serve(script: Vec<Answer>) -> Source {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/waiting.tsv", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let a = script[i.min(script.len() - 1)].clone();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                request.push_str(&line);
            }
            log.lock().unwrap().push(request);
            std::thread::sleep(a.delay);
            let reason = match a.status {
                200 => "OK",
                304 => "Not Modified",
                _ => "Error",
            };
            let mut head = format!(
                "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
                a.status,
                a.body.len()
            );
            for (k, v) in &a.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&a.body);
        }
    });
    Source { url, seen }
}

const WAITING: &str =
    "district_code\tperiod\tapplicants\tapplicants_international_protection\tmedian_wait_days\n";

fn store_with_districts(dir: &tempfile::TempDir) -> (ingest::Store, String) {
    let store = ingest::Store::open(dir.path().join("haven.duckdb")).unwrap();
    let files = ingest::demo::generate(&ingest::demo::DemoSpec::standard(42), dir.path()).unwrap();
    let districts = files.iter().find(|f| f.dataset == "districts").unwrap();
    ingest::ingest(
        &store,
        "districts",
        &ingest::Input::from_path(&districts.path).unwrap(),
        &ingest::IngestOptions::default(),
        &ingest::NoProgress,
    )
    .unwrap();
    let code: String = store
        .conn()
        .query_row("SELECT min(district_code) FROM districts", [], |r| r.get(0))
        .unwrap();
    (store, code)
}

fn job(source: &str, extra: &str) -> Config {
    Config::parse(&format!(
        "[[job]]\nname = \"waiting\"\ndataset = \"social_housing_waiting_list\"\nschedule = \"0 0 * * * *\"\nafter = []\n{extra}\n[job.source]\n{source}\n"
    ))
    .unwrap()
}

fn rows(store: &ingest::Store) -> i64 {
    store
        .conn()
        .query_row(
            "SELECT count(*) FROM social_housing_waiting_list",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_url_source_loads_then_is_unchanged_then_not_modified_and_recovers_from_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = store_with_districts(&dir);
    let file = format!("{WAITING}{code}\t2026-01\t12\t3\t200\n{code}\t2026-02\t14\t3\t210\n");
    let mut ok = answer(200, file.as_bytes());
    ok.headers.push(("ETag".into(), "\"v1\"".into()));
    let no_etag = answer(200, file.as_bytes());
    let source = serve(vec![
        ok,                   // 1: a new file loads
        no_etag,              // 2: same content, no validators: unchanged
        answer(500, b"down"), // 3: a failure ...
        answer(304, b""),     // ... then 304 on the retry
    ]);
    let config = job(&format!("url = \"{}\"\nretries = 2", source.url), "");
    let job = &config.jobs[0];

    let r = run_job(
        &store,
        job,
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(r.outcome, Outcome::Loaded, "{r:?}");
    assert_eq!(rows(&store), 2);
    let r = run_job(
        &store,
        job,
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(r.outcome, Outcome::Unchanged, "{r:?}");
    assert_eq!(rows(&store), 2);
    // The third request carries the ETag of the first answer; 500, then 304 on the retry.
    let r = run_job(
        &store,
        job,
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!((r.outcome, r.attempts), (Outcome::NotModified, 2), "{r:?}");
    let seen = source.seen.lock().unwrap();
    assert!(
        seen[2].to_lowercase().contains("if-none-match: \"v1\""),
        "{}",
        seen[2]
    );
    drop(seen);

    let history = jobs::history(&store, "waiting", 10).unwrap();
    let outcomes: Vec<&str> = history.iter().map(|h| h.outcome.as_str()).collect();
    assert_eq!(outcomes, ["not_modified", "unchanged", "loaded"]);
    assert!(history[2].batch_id.is_some() && history[2].finished_at.is_some());
}

#[test]
fn slow_and_oversize_sources_fail_and_leave_the_data_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = store_with_districts(&dir);
    let mut slow = answer(
        200,
        format!("{WAITING}{code}\t2026-01\t1\t0\t1\n").as_bytes(),
    );
    slow.delay = Duration::from_secs(3);
    let source = serve(vec![slow]);
    let config = job(
        &format!("url = \"{}\"\ntimeout_seconds = 1\nretries = 0", source.url),
        "",
    );
    let r = run_job(
        &store,
        &config.jobs[0],
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    assert!(
        r.message
            .as_deref()
            .unwrap_or("")
            .contains("after 1 attempts"),
        "{r:?}"
    );
    assert_eq!(rows(&store), 0);

    let big = vec![b'x'; 1_500_000];
    let source = serve(vec![answer(200, &big)]);
    let config = job(
        &format!("url = \"{}\"\nmax_megabytes = 1\nretries = 0", source.url),
        "",
    );
    let r = run_job(
        &store,
        &config.jobs[0],
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        r.message
            .as_deref()
            .unwrap_or("")
            .contains("over the limit of 1 MB"),
        "{r:?}"
    );
    assert_eq!(rows(&store), 0);
}

#[test]
fn bad_rows_follow_the_jobs_policy_and_a_watched_folder_loads_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, code) = store_with_districts(&dir);
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(
        drop.join("a.tsv"),
        format!("{WAITING}{code}\t2026-01\t12\t3\t200\n{code}\t2026-02\tmany\t3\t210\n"),
    )
    .unwrap();
    // load_nothing: the file is refused, nothing loads, the bad row is reported.
    let strict = job(
        &format!("watch = \"{}\"", drop.display()),
        "on_rejected = \"load_nothing\"",
    );
    let r = run_job(
        &store,
        &strict.jobs[0],
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(r.outcome, Outcome::Refused, "{r:?}");
    assert_eq!(rows(&store), 0);
    assert!(
        r.message.as_deref().unwrap_or("").contains("line 3"),
        "{r:?}"
    );
    // load_valid (a job of another name, so the folder is new to it): the good row loads.
    let lenient = Config::parse(
        &format!(
            "[[job]]\nname = \"waiting-lenient\"\ndataset = \"social_housing_waiting_list\"\nschedule = \"0 0 * * * *\"\nafter = []\n[job.source]\nwatch = \"{}\"\n",
            drop.display()
        ),
    )
    .unwrap();
    let r = run_job(
        &store,
        &lenient.jobs[0],
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(
        (r.outcome, r.rows_rejected),
        (Outcome::LoadedWithRejections, 1),
        "{r:?}"
    );
    assert!(
        r.message.as_deref().unwrap_or("").contains("line 3"),
        "{r:?}"
    );
    assert_eq!(rows(&store), 1);
    // The same folder again: nothing new. A new file: only it loads.
    let r = run_job(
        &store,
        &lenient.jobs[0],
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!(r.outcome, Outcome::NoFile);
    std::fs::write(
        drop.join("b.tsv"),
        format!("{WAITING}{code}\t2026-03\t15\t4\t220\n"),
    )
    .unwrap();
    let r = run_job(
        &store,
        &lenient.jobs[0],
        &haven_core::Settings::defaults(&dir.path().join("haven.duckdb")),
    );
    assert_eq!((r.outcome, r.batches.len()), (Outcome::Loaded, 1), "{r:?}");
    assert_eq!(rows(&store), 2);
}

#[test]
fn a_run_left_running_by_a_stopped_process_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_districts(&dir);
    jobs::migrate(&store).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO job_runs (run_id, job, started_at, outcome) VALUES (1, 'waiting', now(), 'running')",
        )
        .unwrap();
    assert_eq!(jobs::recover(&store).unwrap(), 1);
    let h = jobs::history(&store, "waiting", 5).unwrap();
    assert_eq!(h[0].outcome, "interrupted");
}
