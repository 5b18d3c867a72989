//! `haven serve` holds the database; `haven ingest` hands its load to the server over loopback.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;

fn get(url: &str) -> (u16, String) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut res = agent.get(url).call().expect("server answers");
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn ingest_hands_the_load_to_a_running_server() {
    let env = Env::new();
    let demo = env.demo_files();
    let (server, url) = env.serve();
    let announce = env.path("haven.duckdb.server.json");

    let run = env
        .run(&[
            "ingest",
            "districts",
            demo.join("districts.geojson").to_str().unwrap(),
        ])
        .ok();
    assert!(
        run.stderr().contains("handing the load to it"),
        "{}",
        run.stderr()
    );
    let run = env
        .run(&[
            "ingest",
            "vacant_properties",
            demo.join("leegstand_vacant_properties.csv")
                .to_str()
                .unwrap(),
        ])
        .code_is(2);
    assert!(
        run.stderr()
            .contains("line 13: condition = \"gerenoveerd\""),
        "rejections come back: {}",
        run.stderr()
    );
    // And every rejected row of that load, listed beside the server.
    let stderr = run.stderr();
    let batch = stderr
        .split("· batch ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("the load names its batch");
    let rejected = env.run(&["batches", "--rejected", batch]).ok().stdout();
    assert!(
        rejected.starts_with("line\tcolumn\tvalue\treason\traw\n")
            && rejected.contains("\n13\tcondition\tgerenoveerd\t"),
        "{rejected}"
    );
    let none = env.run(&["batches", "--rejected", "999"]);
    assert_eq!(none.code(), 1);
    assert!(none.stderr().contains("no batch 999"), "{}", none.stderr());

    let (code, body) = get(&format!("{url}/api/v1/status"));
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows = |name: &str| {
        status["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()["rows"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((rows("districts"), rows("vacant_properties")), (30, 2_500));
    let (code, page) = get(&format!("{url}/"));
    assert!(code == 200 && page.contains("Haven"));

    // Without the server's token an upload is refused, in the one error shape.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut res = agent
        .post(format!("{url}/api/v1/ingest/districts"))
        .send("x")
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(
        res.body_mut()
            .read_to_string()
            .unwrap()
            .contains("\"status\":401")
    );

    // SIGTERM: the server stops cleanly and withdraws its announcement; the data stays.
    let pid = server.0.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let mut server = server;
    let stopped = Instant::now();
    while server.0.try_wait().unwrap().is_none() {
        assert!(
            stopped.elapsed() < Duration::from_secs(20),
            "the server stops on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!announce.exists());
    assert_eq!(env.count("SELECT count(*) FROM vacant_properties"), 2_500);
}

#[test]
fn users_and_batches_work_beside_a_running_server() {
    let env = Env::new();
    let demo = env.demo_files();
    env.run(&[
        "ingest",
        "districts",
        demo.join("districts.geojson").to_str().unwrap(),
    ])
    .ok();
    let (_server, url) = env.serve();

    // The first admin can be created while the server runs, and her token works at once.
    let run = env.run(&["users", "add", "alice", "--role", "admin"]).ok();
    let token = run.stdout().trim().to_string();
    assert!(token.starts_with("hvn_"), "{}", run.stdout());
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let res = agent
        .get(format!("{url}/api/v1/admin/users"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    env.run(&["users", "add", "olivia", "--role", "officer"])
        .ok();
    let list = env.run(&["users", "list"]).ok().stdout();
    assert!(list.contains("alice") && list.contains("olivia"), "{list}");
    // The same refusals as without a server: a name taken twice.
    let again = env.run(&["users", "add", "olivia", "--role", "officer"]);
    assert_ne!(again.code(), 0, "{}", again.stderr());
    env.run(&["users", "remove", "olivia"]).ok();
    let list = env.run(&["users", "list"]).ok().stdout();
    assert!(!list.contains("olivia"), "{list}");

    // The loads, as the command prints them without a server.
    let batches = env.run(&["batches"]).ok().stdout();
    let mut lines = batches.lines();
    assert!(lines.next().unwrap().starts_with("batch\tdataset\toutcome"));
    assert!(
        lines.any(|l| l.contains("\tdistricts\tloaded\t")),
        "{batches}"
    );
}

/// `haven analyze`, `haven publish` and `haven jobs run` while the server holds the database:
/// each is handed to the server, which runs it under its settings (haven.toml here), and says
/// what it did as the command does without a server.
#[test]
fn analyze_publish_and_jobs_run_beside_a_running_server() {
    let env = Env::new();
    // The settings and a job, read by the demo's release and by the server alike.
    let waiting = env.path("waiting.tsv");
    std::fs::write(
        env.path("haven.toml"),
        format!(
            "[release]\npublisher = \"Stad Voorbeeld\"\n\n[[job]]\nname = \"waiting\"\ndataset = \"social_housing_waiting_list\"\nschedule = \"0 0 3 1 1 *\"\nafter = [\"analyze\", \"publish\"]\n\n[job.source]\npath = \"{}\"\n",
            waiting.display()
        ),
    )
    .unwrap();
    env.with_demo();
    // The waiting list as the provider sends it next: its last month left out.
    let full = std::fs::read_to_string(env.path("demo/social_housing_waiting_list.tsv")).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    std::fs::write(&waiting, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    let (_server, url) = env.serve();

    let run = env.run(&["analyze", "--permutations", "0"]).ok();
    assert!(
        run.stderr().contains("asking it to analyse") && run.stderr().contains("analyze: "),
        "{}",
        run.stderr()
    );

    let run = env.run(&["publish"]).ok();
    assert!(
        run.stderr().contains("asking it for a release")
            && run.stderr().contains("publish: release 2 in ")
            && run.stderr().contains("proven at least 5 wide"),
        "{}",
        run.stderr()
    );
    // Flags the server would not apply are refused, not ignored.
    let run = env.run(&["publish", "--min-count", "7"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("would not apply"), "{}", run.stderr());

    let run = env.run(&["jobs", "run", "waiting"]);
    assert!(
        run.stderr().contains("it runs the job") && run.stderr().contains("waiting: loaded"),
        "{}",
        run.stderr()
    );
    // The history and the list read the runs from the server.
    let run = env.run(&["jobs", "history", "waiting"]).ok();
    assert!(run.stdout().contains("loaded"), "{}", run.stdout());
    let run = env.run(&["jobs", "list"]).ok();
    assert!(
        run.stdout().contains("last: loaded at ") && !run.stderr().contains("held by the server"),
        "{}{}",
        run.stdout(),
        run.stderr()
    );
    // The scenario from the register's own figures: the location quotients the public
    // scenario leaves out are there.
    let run = env.run(&["scenario", "--inflow", "40"]).ok();
    let s: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(s["params"]["inflow"], 40, "{s}");
    assert!(s["fastest"]["max_lq_after"].is_number(), "{s}");
    let (code, public) = get(&format!("{url}/api/v1/scenario?inflow=40"));
    assert_eq!(code, 200);
    let public: serde_json::Value = serde_json::from_str(&public).unwrap();
    assert!(public["fastest"]["max_lq_after"].is_null(), "{public}");
    let run = env.run(&["scenario", "--inflow", "0"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("inflow must be between"),
        "{}",
        run.stderr()
    );

    let run = env.run(&["jobs", "run", "nightly"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("no job 'nightly'"),
        "{}",
        run.stderr()
    );

    // The server's answers are current, and the release carries haven.toml's publisher.
    let (code, body) = get(&format!("{url}/api/v1/catalog"));
    assert_eq!(code, 200);
    assert!(body.contains("Stad Voorbeeld"), "{body:.400}");
    let token = env.add_user("olivia", "officer");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let jobs = agent
        .get(format!("{url}/api/v1/officer/jobs?limit=5"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(jobs.contains("\"job\":\"waiting\""), "{jobs}");
}

/// The demo's register (Windows-1252, ';') repeated under new identifiers until it has `rows`
/// rows; the demo's invalid rows come along and are rejected as there.
fn big_register(demo: &std::path::Path, rows: usize) -> Vec<u8> {
    let bytes = std::fs::read(demo.join("leegstand_vacant_properties.csv")).unwrap();
    let mut lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let mut out = lines.next().unwrap().to_vec();
    out.push(b'\n');
    let body: Vec<&[u8]> = lines.collect();
    for i in 0..rows {
        let line = body[i % body.len()];
        let at = line.iter().position(|b| *b == b';').unwrap();
        out.extend_from_slice(format!("BULK-{i:06}").as_bytes());
        out.extend_from_slice(&line[at..]);
        out.push(b'\n');
    }
    out
}

/// Across processes, as an officer meets it: while `haven ingest` (another process) loads
/// 40,000 rows through the running server, an officer polling the register sees the count
/// before the load or after it, never part of it, and is answered meanwhile.
#[test]
fn readers_beside_a_command_line_load_see_the_old_or_the_new_state() {
    let env = Env::new();
    env.with_demo();
    let (_server, url) = env.serve();
    let token = env.add_user("olivia", "officer");
    let file = common::write(
        &env.path("bulk.csv"),
        &big_register(&env.demo_files(), 40_000),
    );
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let total = || -> i64 {
        let mut res = agent
            .get(format!("{url}/api/v1/officer/vacant-properties?limit=1"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let v: serde_json::Value =
            serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        v["total"].as_i64().unwrap()
    };
    let before = total();
    let mut load = env
        .haven()
        .args(["ingest", "vacant_properties", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    while load.try_wait().unwrap().is_none() {
        seen.push(total());
    }
    let out = load.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("handing the load to it"), "{stderr}");
    let after = total();
    assert!(after > before + 30_000, "{before} → {after}: {stderr}");
    let mixed: Vec<&i64> = seen
        .iter()
        .filter(|n| **n != before && **n != after)
        .collect();
    assert!(
        mixed.is_empty(),
        "a reader saw part of a load: {mixed:?} (before {before}, after {after})"
    );
    // The reads went on during the load (a reader waiting for the writer would have made one
    // or two).
    assert!(seen.len() >= 5, "{} reads during the load", seen.len());
}
