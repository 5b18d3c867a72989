//! The lake mode on one machine, loopback only: a real PostgreSQL for DuckLake's catalogue and
//! moto's S3-compatible server (IAM policies enforced) for its files, both started and stopped
//! here (tests/common/lake.rs). Every step is the `haven` binary, as an operator runs it.
//!
//! What must hold: writers of different municipalities land at the same moment; two writers of
//! the same table at once never leave a release twice or half; a writer killed in the middle of
//! a push leaves no partial snapshot and the next push works; a reader on release N keeps
//! reading N after N + 1 lands; the public readers' credentials reach neither the restricted
//! catalogue nor its files. "Whole" is checked against the release itself: each table's rows
//! in the lake are its Parquet file's rows, no more, no fewer. And the region two readers serve
//! withstands the outsider's attack of tests/disclosure.rs, with every release of every
//! municipality.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::Env;
use common::lake::LakeServers;
use duckdb::Connection;

/// A municipality: the demo generated under `code`, loaded and released once (version 1).
fn municipality(code: &str, seed: u64, small: bool) -> Env {
    let env = Env::new();
    let seed = seed.to_string();
    let mut args = vec![
        "demo",
        "--no-serve",
        "--out",
        "demo",
        "--municipality",
        code,
        "--seed",
        &seed,
    ];
    if small {
        args.extend(["--districts", "8", "--placements", "150"]);
    }
    env.run(&args).ok();
    env
}

/// `haven lake <args>` as `who` (a writer or a public reader), from `env`'s folder.
fn lake(env: &Env, servers: &LakeServers, who: fn(&LakeServers, &mut Command)) -> Command {
    let mut cmd = env.haven();
    who(servers, &mut cmd);
    cmd.arg("lake");
    cmd
}

fn run(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args).output().expect("haven runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn spawn_push(env: &Env, servers: &LakeServers) -> Child {
    let mut cmd = lake(env, servers, LakeServers::writer);
    cmd.arg("push")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The lake's history as the public sees it: (municipality, version, current).
fn releases(env: &Env, servers: &LakeServers) -> Vec<(String, u64, bool)> {
    let out = run(
        lake(env, servers, LakeServers::public),
        &["releases", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["municipality"].as_str().unwrap().to_string(),
                v["version"].as_u64().unwrap(),
                v["current"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The release's tables: (table in the lake, its Parquet file in the version folder).
fn release_tables(env: &Env, version: u32) -> Vec<(String, std::path::PathBuf)> {
    let dir = env.path(&format!("published/v{version}"));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            let id = d["id"].as_str().unwrap();
            let parquet = dir.join(format!("{id}.parquet"));
            parquet.exists().then(|| (id.replace('-', "_"), parquet))
        })
        .collect()
}

/// Rows of the lake's CSV (its municipality and release columns left out) against the rows of
/// a release's Parquet file: (rows in the lake, rows in the release, rows in one but not the
/// other, duplicates counted).
fn compare(lake_csv: &Path, parquet: &Path) -> (i64, i64, i64) {
    let c = Connection::open_in_memory().unwrap();
    let q = |p: &Path| p.display().to_string().replace('\'', "''");
    c.query_row(
        &format!(
            "WITH l AS (SELECT * EXCLUDE (municipality, release) FROM read_csv('{}', all_varchar = true, header = true)),
                  r AS (SELECT COLUMNS(*)::VARCHAR FROM read_parquet('{}'))
             SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM r),
                    (SELECT count(*) FROM (FROM l EXCEPT ALL FROM r)) + (SELECT count(*) FROM (FROM r EXCEPT ALL FROM l))",
            q(lake_csv),
            q(parquet)
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// A table of the lake read as the public reads it (`version`: pinned to that release).
fn read(
    env: &Env,
    servers: &LakeServers,
    table: &str,
    code: &str,
    version: Option<u32>,
) -> std::path::PathBuf {
    let out_file = env.path(&format!("lake-{table}-{code}-{version:?}.csv"));
    let v = version.map(|v| v.to_string());
    let mut args = vec![
        "read",
        table,
        "--municipality",
        code,
        "--out",
        out_file.to_str().unwrap(),
    ];
    if let Some(v) = &v {
        args.extend(["--release", v.as_str()]);
    }
    let out = run(lake(env, servers, LakeServers::public), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out_file
}

/// Every public table of the lake holds, for `code`, exactly the rows of release `version`.
fn assert_lake_holds(env: &Env, servers: &LakeServers, code: &str, version: u32, pinned: bool) {
    for (table, parquet) in release_tables(env, version) {
        let csv = read(env, servers, &table, code, pinned.then_some(version));
        let (in_lake, in_release, differing) = compare(&csv, &parquet);
        assert!(
            in_release > 0 || table == "placements_years",
            "{table} is empty"
        );
        assert_eq!(
            (in_lake, differing),
            (in_release, 0),
            "{table} of {code}: the lake's rows are release {version}'s"
        );
    }
}

/// The rows of `code` in the restricted `indicators_monthly`, read with a writer's credentials.
fn restricted_rows(env: &Env, servers: &LakeServers, code: &str) -> i64 {
    let file = env.path("restricted.csv");
    let out = run(
        lake(env, servers, LakeServers::writer),
        &[
            "read",
            "indicators_monthly",
            "--restricted",
            "--municipality",
            code,
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(&file).unwrap().lines().count() as i64 - 1
}

/// Every public table holds no row of `code`.
fn assert_lake_lacks(env: &Env, servers: &LakeServers, code: &str) {
    for (table, _) in release_tables(env, 1) {
        let out = lake(env, servers, LakeServers::public)
            .args(["read", &table, "--municipality", code])
            .output()
            .unwrap();
        // A table not made yet is as good as an empty one.
        if out.status.success() {
            assert_eq!(
                text(&out.stdout).lines().count(),
                1,
                "{table}: only the header, no row of {code}"
            );
        } else {
            assert!(
                text(&out.stderr).contains("has no table"),
                "{}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn two_writers_land_two_municipalities_at_once_and_the_public_reads_only_its_part() {
    let servers = LakeServers::start();
    let a = municipality("BE21001", 7, true);
    let b = municipality("BE21002", 8, true);

    // Both at the same moment: both land.
    let pushes = [spawn_push(&a, &servers), spawn_push(&b, &servers)];
    for p in pushes {
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "push: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("landed as snapshot"),
            "{}",
            text(&out.stderr)
        );
    }
    servers.grant_public();
    let mut history = releases(&a, &servers);
    history.sort();
    assert_eq!(
        history,
        vec![("BE21001".into(), 1, true), ("BE21002".into(), 1, true)]
    );
    assert_lake_holds(&a, &servers, "BE21001", 1, false);
    assert_lake_holds(&b, &servers, "BE21002", 1, false);

    // The true figures are in the restricted catalogue, for the writers.
    assert_eq!(
        restricted_rows(&a, &servers, "BE21001"),
        a.count("SELECT count(*) FROM indicators_monthly"),
        "every true row of the municipality"
    );

    // The public readers' credentials: refused by the catalogue (no right on its schema) ...
    let out = run(
        lake(&a, &servers, LakeServers::public),
        &["read", "indicators_monthly", "--restricted"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("restricted catalogue") && err.contains("refused"),
        "a clear refusal: {err}"
    );
    // ... and by the object storage on its own (the files' prefix), with the writer's role.
    let out = run(
        lake(&a, &servers, LakeServers::writer_role_public_keys),
        &["read", "indicators_monthly", "--restricted"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("object storage refused"),
        "the bucket refuses the public keys: {err}"
    );
    // A public reader cannot push either, and the lake stays as it was.
    let out = run(lake(&a, &servers, LakeServers::public), &["push"]);
    assert!(!out.status.success(), "a public reader pushed");
    assert_eq!(releases(&a, &servers).len(), 2);
}

#[test]
fn two_writers_of_the_same_tables_at_once_never_leave_a_release_twice_or_half() {
    let servers = LakeServers::start();
    let a = municipality("BE22001", 11, true);
    // A second writer holding the same release of the same municipality (a copy).
    let copy = Env::new();
    std::fs::copy(a.db(), copy.db()).unwrap();
    let status = Command::new("cp")
        .args(["-r"])
        .arg(a.path("published"))
        .arg(copy.path("published"))
        .status()
        .unwrap();
    assert!(status.success());
    let c = municipality("BE22003", 12, true);

    // Three writers on the same tables at once: two with the same first release (the head
    // row makes them conflict, so one lands and the other finds it there), one with another
    // municipality (conflicts, tries again, lands).
    let pushes = [
        spawn_push(&a, &servers),
        spawn_push(&copy, &servers),
        spawn_push(&c, &servers),
    ];
    for p in pushes {
        let out = p.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(out.status.success(), "push: {err}");
        eprintln!("{err}");
    }
    servers.grant_public();
    let mut history = releases(&a, &servers);
    history.sort();
    assert_eq!(
        history,
        vec![("BE22001".into(), 1, true), ("BE22003".into(), 1, true)],
        "one commit per release"
    );
    // Each table holds the release once (duplicated rows would not match its file).
    assert_lake_holds(&a, &servers, "BE22001", 1, false);
    assert_lake_holds(&c, &servers, "BE22003", 1, false);
    assert_eq!(
        restricted_rows(&a, &servers, "BE22001"),
        a.count("SELECT count(*) FROM indicators_monthly"),
        "the restricted figures once"
    );
}

#[test]
fn a_writer_killed_in_the_middle_of_a_push_leaves_no_partial_snapshot() {
    let servers = LakeServers::start();
    let a = municipality("BE23001", 13, true);
    let b = municipality("BE23002", 14, true);
    // Another municipality is there first, so the catalogues exist and hold rows to keep.
    let out = spawn_push(&b, &servers).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    servers.grant_public();

    // SIGKILL at different moments of the push: the lake holds the release whole or not at
    // all, and the other municipality's rows stay as they were.
    let mut whole = 0;
    // (A whole push takes about a second here.)
    for millis in [150u64, 350, 550, 750] {
        let mut p = spawn_push(&a, &servers);
        std::thread::sleep(Duration::from_millis(millis));
        let _ = p.kill();
        let _ = p.wait();
        let history = releases(&a, &servers);
        if history.iter().any(|(m, _, _)| m == "BE23001") {
            assert_lake_holds(&a, &servers, "BE23001", 1, false);
            whole += 1;
        } else {
            assert_lake_lacks(&a, &servers, "BE23001");
        }
        assert_lake_holds(&b, &servers, "BE23002", 1, false);
    }
    eprintln!("killed pushes that had committed: {whole} of 4");
    // The next push works (and finds the release when a killed one had committed it).
    let out = spawn_push(&a, &servers).wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("landed as snapshot") || (whole > 0 && err.contains("is there already")),
        "{err}"
    );
    assert_lake_holds(&a, &servers, "BE23001", 1, false);
    assert_lake_holds(&b, &servers, "BE23002", 1, false);

    // A release folder changed after publishing is not pushed: the bucket keeps the file its
    // manifest names, for good.
    let csv = a.path("published/v1/vacant-stock.csv");
    let kept = std::fs::read(&csv).unwrap();
    std::fs::write(&csv, [&kept[..], b"BE-0000;1\n"].concat()).unwrap();
    let out = spawn_push(&a, &servers).wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("is not the file release 1 published"), "{err}");
    std::fs::write(&csv, kept).unwrap();

    // Upkeep is the writers' (it is tested on a folder lake in the lake crate: moto refuses
    // the signed listing that finding orphaned files needs, with IAM checks on).
    let out = run(lake(&a, &servers, LakeServers::public), &["maintain"]);
    assert!(!out.status.success(), "a public reader ran the upkeep");
}

#[test]
fn a_reader_on_release_n_keeps_reading_it_after_n_plus_one_lands() {
    let servers = LakeServers::start();
    let a = municipality("BE24001", 15, true);
    let out = spawn_push(&a, &servers).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    servers.grant_public();
    let before = a.path("before.csv");
    std::fs::rename(read(&a, &servers, "vacant_stock", "BE24001", None), &before).unwrap();

    // An older register changes the stock; with a lake set, `haven publish` sends release 2.
    let history = a.path("demo/history");
    let older = std::fs::read_dir(&history)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    a.run(&["ingest", "vacant_properties", older.to_str().unwrap()]);
    let mut publish = a.haven();
    servers.writer(&mut publish);
    let out = publish.arg("publish").output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("release 2 of BE24001 landed as snapshot"),
        "publish sends the new release: {err}"
    );

    let history = releases(&a, &servers);
    assert_eq!(
        history,
        vec![("BE24001".into(), 1, false), ("BE24001".into(), 2, true)]
    );
    // Pinned to release 1: release 1's rows, whatever landed since; current: release 2's.
    assert_lake_holds(&a, &servers, "BE24001", 1, true);
    assert_lake_holds(&a, &servers, "BE24001", 2, false);
    let (_, _, differing) = compare(&before, &a.path("published/v2/vacant-stock.parquet"));
    assert!(
        differing > 0,
        "release 2 changed the stock, or this test shows nothing"
    );
    let pinned = read(&a, &servers, "vacant_stock", "BE24001", Some(1));
    assert_eq!(
        compare(&pinned, &a.path("published/v1/vacant-stock.parquet")).2,
        0
    );
    // A release the lake does not hold is named.
    let out = run(
        lake(&a, &servers, LakeServers::public),
        &[
            "read",
            "vacant_stock",
            "--municipality",
            "BE24001",
            "--release",
            "9",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("holds no release 9 of BE24001"));
}

/// A request to a Haven server with a bearer token: (status, body).
fn call(url: &str, token: &str, method: &str, body: Option<(&str, Vec<u8>)>) -> (u16, String) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let auth = format!("Bearer {token}");
    let mut res = match body {
        Some((ctype, bytes)) => agent
            .post(url)
            .header("Authorization", &auth)
            .header("Content-Type", ctype)
            .send(&bytes[..]),
        None if method == "GET" => agent.get(url).header("Authorization", &auth).call(),
        None => panic!("{method} without a body"),
    }
    .unwrap();
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap(),
    )
}

/// `haven lake push --intake` from a municipality that holds no lake credentials at all.
fn push_through(env: &Env, intake: &str, token: &str) -> Output {
    env.haven()
        .args(["lake", "push", "--intake", intake])
        .env("HAVEN_INTAKE_TOKEN", token)
        .env_remove("HAVEN_LAKE")
        .output()
        .unwrap()
}

/// An archive of `env`'s release 1 whose label says it is `label`'s (no restricted files).
fn relabelled(env: &Env, label: &str) -> Vec<u8> {
    use std::io::Write;
    let tables = release_tables(env, 1);
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    out.start_file("release.json", opts).unwrap();
    let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
    out.write_all(
        serde_json::json!({"municipality": label, "version": 1, "published_at": "2026-01-01T00:00:00Z",
            "manifest": "{}", "public": names, "restricted": [], "key": null})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    for (table, parquet) in &tables {
        out.start_file(format!("public/{table}.parquet"), opts)
            .unwrap();
        out.write_all(&std::fs::read(parquet).unwrap()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Municipalities as tenants of the region's Haven (its intake), the one process that holds
/// the lake's writer credentials: each municipality's users send its releases and read its
/// restricted figures, never another's; the regional admin acts for all; the municipalities
/// themselves hold no lake credentials.
#[test]
fn municipalities_are_tenants_of_the_region_s_intake_and_act_only_for_themselves() {
    let servers = LakeServers::start();
    let a = municipality("BE23001", 21, true);
    let b = municipality("BE23002", 22, true);
    let region = Env::new();
    let add = |name: &str, role: &str, of: Option<&str>| {
        let mut args = vec!["users", "add", name, "--role", role];
        if let Some(m) = of {
            args.extend(["--municipality", m]);
        }
        region.run(&args).ok().stdout().trim().to_string()
    };
    let of_a = add("be23001-officer", "officer", Some("BE23001"));
    let analyst = add("analyst", "officer", None);
    let admin = add("region", "admin", None);
    let vars = servers.writer_vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_intake, url) = region.serve_with(&vars, None);

    // A's own user sends A's release: it lands, and A never held a lake credential.
    let out = push_through(&a, &url, &of_a);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("release 1 of BE23001 landed as snapshot"),
        "{}",
        text(&out.stderr)
    );
    // A's user sending B's release, a regional officer, a token of nobody: refused, said why.
    for (token, why) in [
        (
            of_a.as_str(),
            "a user of BE23001 acts only for BE23001, and this is BE23002's",
        ),
        (
            analyst.as_str(),
            "sent by one of its users or by the regional admin",
        ),
        ("hvn_99_0123456789abcdef", "401"),
    ] {
        let out = push_through(&b, &url, token);
        assert!(!out.status.success(), "{why}");
        assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
    }
    // B's release labelled as A's, sent by A's user: the release's own indicators say whose.
    let (status, answer) = call(
        &format!("{url}/api/v1/region/releases"),
        &of_a,
        "POST",
        Some(("application/zip", relabelled(&b, "BE23001"))),
    );
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("labelled BE23001 but its indicators are BE23002's"),
        "{answer}"
    );
    servers.grant_public();
    assert_eq!(releases(&a, &servers), vec![("BE23001".into(), 1, true)]);
    assert_lake_lacks(&b, &servers, "BE23002");

    // The regional admin sends B's.
    let out = push_through(&b, &url, &admin);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut history = releases(&a, &servers);
    history.sort();
    assert_eq!(
        history,
        vec![("BE23001".into(), 1, true), ("BE23002".into(), 1, true)]
    );
    assert_lake_holds(&a, &servers, "BE23001", 1, false);
    assert_lake_holds(&b, &servers, "BE23002", 1, false);

    // Beside A's running server, the server packs the release; the lake holds it already.
    {
        let (_server, _) = a.serve();
        let out = push_through(&a, &url, &of_a);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("asking it to pack the release")
                && err.contains("release 1 of BE23001 is there already"),
            "{err}"
        );
    }

    // The restricted figures: A's user reads A's, all of them, and nothing of B's.
    let restricted = |token: &str, query: &str| {
        call(
            &format!("{url}/api/v1/region/restricted/indicators_monthly{query}"),
            token,
            "GET",
            None,
        )
    };
    let rows =
        |csv: &str, code: &str| csv.lines().skip(1).filter(|l| l.starts_with(code)).count() as i64;
    let (status, csv) = restricted(&of_a, "");
    assert_eq!(status, 200, "{csv}");
    let true_rows = a.count("SELECT count(*) FROM indicators_monthly");
    assert_eq!(rows(&csv, "BE23001"), true_rows);
    assert_eq!(csv.lines().count() as i64 - 1, true_rows, "only A's rows");
    let (status, answer) = restricted(&of_a, "?municipality=BE23002");
    assert_eq!(status, 403, "{answer}");
    // A regional user reads every municipality's.
    let (status, csv) = restricted(&analyst, "");
    assert_eq!(status, 200, "{csv}");
    assert_eq!(rows(&csv, "BE23001"), true_rows);
    assert_eq!(
        rows(&csv, "BE23002"),
        b.count("SELECT count(*) FROM indicators_monthly")
    );
    // A's user reaches nothing of the region's own database.
    let (status, answer) = call(&format!("{url}/api/v1/officer/batches"), &of_a, "GET", None);
    assert_eq!(status, 403, "{answer}");
    // Each refusal is in the intake's audit log, with who tried.
    let (status, audit) = call(
        &format!("{url}/api/v1/admin/audit?limit=1000"),
        &admin,
        "GET",
        None,
    );
    assert_eq!(status, 200, "{audit}");
    let audit: Vec<serde_json::Value> = serde_json::from_str(&audit).unwrap();
    let seen = |actor: &str, target: &str, status: i64| {
        audit
            .iter()
            .any(|e| e["actor"] == actor && e["target"] == target && e["status"] == status)
    };
    assert!(
        seen("be23001-officer", "/api/v1/region/releases", 200),
        "{audit:?}"
    );
    assert!(seen("be23001-officer", "/api/v1/region/releases", 403));
    assert!(seen("analyst", "/api/v1/region/releases", 403));
    assert!(seen("region", "/api/v1/region/releases", 200));
    assert!(seen(
        "be23001-officer",
        "/api/v1/region/restricted/indicators_monthly",
        403
    ));
}

/// A stateless reader of the region: `haven serve --region` with the public readers'
/// credentials, keeping at most `keep_mib` of answers; its address as it prints it.
fn reader(
    env: &Env,
    servers: &LakeServers,
    refresh_seconds: u32,
    keep_mib: u32,
) -> (common::Server, String) {
    use std::io::BufRead;
    let mut cmd = env.haven();
    servers.public(&mut cmd);
    let mut child = cmd
        .args([
            "serve",
            "--region",
            "--addr",
            "127.0.0.1:0",
            "--refresh-seconds",
        ])
        .arg(refresh_seconds.to_string())
        .arg("--keep-answers-mib")
        .arg(keep_mib.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("serving ")
        .unwrap_or_else(|| panic!("the reader prints its address: {line:?}"))
        .to_string();
    (common::Server(child), url)
}

/// An answer of a reader: (status, snapshot header, ETag, body).
fn get(url: &str) -> (u16, String, String, String) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut res = agent.get(url).call().unwrap();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (snapshot, etag) = (header("haven-lake-snapshot"), header("etag"));
    let status = res.status().as_u16();
    (
        status,
        snapshot,
        etag,
        res.body_mut().read_to_string().unwrap(),
    )
}

/// Figures by (area, indicator): the value (None when withheld or empty) and whether it is
/// withheld.
type Figures = std::collections::BTreeMap<(String, String), (Option<f64>, bool)>;

/// The indicators of some figures.
fn indicators(figures: &Figures) -> std::collections::BTreeSet<String> {
    figures.keys().map(|(_, i)| i.clone()).collect()
}

/// A release's published rows of some indicators: the municipality's row at the latest
/// month, the districts' rows of the districts file.
fn published_headlines(
    env: &Env,
    version: u32,
    ids: &std::collections::BTreeSet<String>,
) -> Figures {
    let dir = env.path(&format!("published/v{version}"));
    let c = Connection::open_in_memory().unwrap();
    let mut out = std::collections::BTreeMap::new();
    for (file, area, filter) in [
        (
            "indicators.parquet",
            "area_code",
            "WHERE level = 'municipality' QUALIFY row_number() OVER (ORDER BY period DESC) = 1",
        ),
        ("districts.parquet", "district_code", ""),
    ] {
        for h in ids {
            let sql = format!(
                "SELECT {area}, \"{h}\"::DOUBLE, list_contains(string_split(coalesce(withheld, ''), ','), '{h}')
                 FROM read_parquet('{}') {filter}",
                dir.join(file).display()
            );
            let mut stmt = c.prepare(&sql).unwrap();
            let rows: Vec<(String, Option<f64>, bool)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for (a, v, withheld) in rows {
                assert!(!(withheld && v.is_some()), "a withheld cell has no value");
                out.insert((a, h.to_string()), (v, withheld));
            }
        }
    }
    out
}

/// A published figure and a served one are the same: both withheld or both empty, or equal
/// (serde_json's default parsing of a decimal may land one unit in the last place away).
fn same(published: Option<&(Option<f64>, bool)>, served: &(Option<f64>, bool)) -> bool {
    match (published, served) {
        (Some((p, pw)), (s, sw)) if pw == sw => match (p, s) {
            (None, None) => true,
            (Some(p), Some(s)) => (p - s).abs() <= 1e-12 * p.abs().max(1.0),
            _ => false,
        },
        _ => false,
    }
}

/// Every figure a reader gives about a municipality, keyed as [`published_headlines`].
fn served_headlines(url: &str, code: &str) -> Figures {
    let (status, _, _, body) = get(&format!("{url}/api/v1/m/{code}"));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for f in v["municipality"]["figures"].as_array().unwrap() {
        let value = f["value"].as_f64();
        assert!(
            !(f["withheld"] == true && value.is_some()),
            "a withheld figure has no value"
        );
        out.insert(
            (
                code.to_string(),
                f["indicator"].as_str().unwrap().to_string(),
            ),
            (value, f["withheld"] == true),
        );
    }
    for d in v["districts"]["features"].as_array().unwrap() {
        let p = &d["properties"];
        let withheld = p["withheld"].as_array().unwrap();
        for h in v["indicators"].as_array().unwrap() {
            let h = h["id"].as_str().unwrap();
            out.insert(
                (
                    p["district_code"].as_str().unwrap().to_string(),
                    h.to_string(),
                ),
                (p[h].as_f64(), withheld.iter().any(|w| w == h)),
            );
        }
    }
    out
}

#[test]
fn a_region_is_served_by_two_stateless_readers_and_shown_in_headless_chromium() {
    let servers = LakeServers::start();
    let region = [
        ("BE22001", 31),
        ("BE22002", 32),
        ("BE22011", 33),
        ("BE22012", 34),
        ("BE22021", 35),
    ];
    let towns: Vec<Env> = region
        .iter()
        .map(|(code, seed)| municipality(code, *seed, true))
        .collect();
    for t in &towns {
        let out = spawn_push(t, &servers).wait_with_output().unwrap();
        assert!(out.status.success(), "push: {}", text(&out.stderr));
    }
    servers.grant_public();

    // Two readers, no database, the public's credentials: the same snapshot, the same bytes.
    // One keeps its answers and moves on every second; the other keeps none (every answer is
    // read from the lake at its snapshot) and stays pinned for an hour.
    let (_a, a) = reader(&towns[0], &servers, 1, 256);
    let (_b, b) = reader(&towns[1], &servers, 3600, 0);
    let paths = [
        "/api/v1/region",
        "/api/v1/region/map",
        "/api/v1/m/BE22002",
        "/api/v1/region/spread",
    ];
    let before: Vec<_> = paths.iter().map(|p| get(&format!("{b}{p}"))).collect();
    for (p, from_b) in paths.iter().zip(&before) {
        let from_a = get(&format!("{a}{p}"));
        assert_eq!(from_a.0, 200, "{p}: {}", from_a.3);
        assert!(!from_a.1.is_empty(), "{p} names its snapshot");
        assert_eq!(&from_a, from_b, "{p}: both readers answer alike");
    }
    // Each release's files as the bucket keeps them, read with the public's keys: byte for
    // byte the release folder's; nothing newer than the reader's snapshot, nothing else.
    for file in ["manifest.json", "vacant-stock.csv", "datapackage.json"] {
        let (status, _, _, body) = get(&format!("{b}/api/v1/m/BE22001/releases/1/{file}"));
        assert_eq!(status, 200, "{file}: {body}");
        let kept = std::fs::read_to_string(towns[0].path(&format!("published/v1/{file}")));
        assert_eq!(body, kept.unwrap(), "{file}");
    }
    for missing in [
        "/api/v1/m/BE22001/releases/2/manifest.json",
        "/api/v1/m/BE22001/releases/1/..%2Fhaven.duckdb",
        "/api/v1/m/BE22001/releases/1/indicators_monthly.parquet",
    ] {
        assert_eq!(get(&format!("{b}{missing}")).0, 404, "{missing}");
    }
    let overview: serde_json::Value = serde_json::from_str(&before[0].3).unwrap();
    let codes: Vec<&str> = overview["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, region.map(|(c, _)| c));
    let map: serde_json::Value = serde_json::from_str(&before[1].3).unwrap();
    assert_eq!(map["features"].as_array().unwrap().len(), region.len());
    // Side by side on the map: no two municipalities' boxes overlap.
    let boxes: Vec<Vec<f64>> = overview["municipalities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| serde_json::from_value(m["bbox"].clone()).unwrap())
        .collect();
    for (i, p) in boxes.iter().enumerate() {
        for q in &boxes[i + 1..] {
            assert!(
                p[2] <= q[0] || q[2] <= p[0] || p[3] <= q[1] || q[3] <= p[1],
                "{p:?} and {q:?} overlap"
            );
        }
    }
    // Nothing but published figures: every figure a reader gives is its release's, withheld
    // where the release withheld it (so the disclosure audit of the releases covers them),
    // and there is no figure the releases do not have.
    let mut withheld = 0;
    for ((code, _), t) in region.iter().zip(&towns) {
        let served = served_headlines(&a, code);
        assert_eq!(
            indicators(&served).len(),
            6,
            "the six headline figures of the overview"
        );
        let published = published_headlines(t, 1, &indicators(&served));
        assert_eq!(
            served.len(),
            published.len(),
            "{code}: one figure for each published one"
        );
        for (k, v) in &served {
            assert!(
                same(published.get(k), v),
                "{code} {k:?}: {v:?}, published {:?}",
                published.get(k)
            );
        }
        withheld += served.values().filter(|(_, w)| *w).count();
    }
    assert!(
        withheld > 0,
        "some small-cell figure is withheld, or this check shows nothing"
    );
    // The spread of persons placed across the municipalities, worked again here from the
    // releases' own files: the persons (left out where withheld) and dwellings of each
    // municipality's latest month, ½ Σ |pᵢ/P − dᵢ/D| and (pᵢ/P)/(dᵢ/D).
    let spread: serde_json::Value = serde_json::from_str(&before[3].3).unwrap();
    let mut counted = Vec::new();
    let mut left_out = Vec::new();
    for ((code, _), t) in region.iter().zip(&towns) {
        let c = Connection::open_in_memory().unwrap();
        let (persons, dwellings, withheld): (Option<f64>, f64, bool) = c
            .query_row(
                &format!(
                    "SELECT placements_active_persons::DOUBLE, dwellings::DOUBLE,
                            list_contains(string_split(coalesce(withheld, ''), ','), 'placements_active_persons')
                     FROM read_parquet('{}') WHERE level = 'municipality' ORDER BY period DESC LIMIT 1",
                    t.path("published/v1/indicators.parquet").display()
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        match persons {
            Some(p) if !withheld => counted.push((code.to_string(), p, dwellings)),
            _ => left_out.push(code.to_string()),
        }
    }
    let (p, d) = counted
        .iter()
        .fold((0.0, 0.0), |(p, d), (_, pi, di)| (p + pi, d + di));
    let dissimilarity: f64 = counted
        .iter()
        .map(|(_, pi, di)| (pi / p - di / d).abs())
        .sum::<f64>()
        / 2.0;
    // Which municipal figures the disclosure step withholds is its own choice: with fewer
    // than two published there is no spread, and none is made up.
    println!(
        "spread over {} municipalities, {} left out",
        counted.len(),
        left_out.len()
    );
    if counted.len() < 2 {
        assert!(spread["dissimilarity"].is_null(), "{spread}");
        counted.clear();
        left_out = region.iter().map(|(c, _)| c.to_string()).collect();
    } else {
        assert!(
            (spread["dissimilarity"].as_f64().unwrap() - dissimilarity).abs() < 1e-12,
            "{spread} against {dissimilarity}"
        );
    }
    assert_eq!(spread["left_out"], serde_json::json!(left_out));
    for (code, pi, di) in &counted {
        let m = spread["municipalities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["code"] == code.as_str())
            .unwrap();
        let lq = (pi / p) / (di / d);
        assert!(
            (m["location_quotient"].as_f64().unwrap() - lq).abs() < 1e-12,
            "{code}: {m} against {lq}"
        );
    }

    // The region's catalogue, read by rdflib, and every distribution it lists followed.
    let mut catalogue = Command::new(common::venv_tool("python"));
    catalogue
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lake/region_catalog.py"))
        .arg(&a)
        .args(towns.iter().map(|t| t.path("published/v1")));
    let out = catalogue.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    println!("{}", text(&out.stdout));
    // A name that is not a municipality code, and one the lake lacks.
    assert_eq!(get(&format!("{a}/api/v1/m/BE'22")).0, 400);
    assert_eq!(get(&format!("{a}/api/v1/m/BE29999")).0, 404);
    assert_eq!(
        get(&format!("{a}/api/v1/m/BE29999/data/indicators.csv")).0,
        404
    );
    assert_eq!(get(&format!("{a}/api/v1/m/BE22001/data/users.csv")).0, 404);
    assert_eq!(
        get(&format!("{a}/api/v1/m/BE22001/data/indicators.parquet")).0,
        404
    );

    // Release 2 of BE22001 lands: the reader that moves on every second shows it; the one
    // pinned for an hour answers as before, byte for byte.
    let history = towns[0].path("demo/history");
    let older = std::fs::read_dir(&history)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    towns[0].run(&["ingest", "vacant_properties", older.to_str().unwrap()]);
    let mut publish = towns[0].haven();
    servers.writer(&mut publish);
    let out = publish.arg("publish").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    common::wait_for("reader a moves on to release 2", 30, || {
        let (_, snapshot, _, body) = get(&format!("{a}/api/v1/m/BE22001"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        snapshot != before[0].1 && v["municipality"]["release"] == 2
    });
    for (p, earlier) in paths.iter().zip(&before) {
        assert_eq!(&get(&format!("{b}{p}")), earlier, "{p}: b stays pinned");
    }
    let served = served_headlines(&a, "BE22001");
    let published = published_headlines(&towns[0], 2, &indicators(&served));
    for (k, v) in &served {
        assert!(same(published.get(k), v), "release 2: {k:?}");
    }
    assert_ne!(
        served,
        served_headlines(&b, "BE22001"),
        "release 2 changed a figure, or this test shows nothing"
    );

    // The outsider's attack on everything the readers serve, with every release of every
    // municipality: each municipality's releases attacked as in tests/disclosure.rs (BE22001's
    // two together), every figure the readers show held against them, the CSVs they serve read
    // as releases, and the spread inverted. Then shown to find what outputs without the
    // protection would give away.
    let dir = towns[0].path("region");
    let answers = dir.join("answers");
    std::fs::create_dir_all(dir.join("municipalities")).unwrap();
    let mut fetched = vec![
        ("region.json".to_string(), "/api/v1/region".to_string()),
        ("map.geojson".into(), "/api/v1/region/map".into()),
        ("spread.json".into(), "/api/v1/region/spread".into()),
    ];
    for ((code, _), t) in region.iter().zip(&towns) {
        fetched.push((format!("m/{code}.json"), format!("/api/v1/m/{code}")));
        for dataset in [
            "indicators",
            "placements",
            "placements-years",
            "segregation",
        ] {
            fetched.push((
                format!("m/{code}/{dataset}.csv"),
                format!("/api/v1/m/{code}/data/{dataset}.csv"),
            ));
        }
        let work = common::attack::work(t, &t.path("demo"));
        std::os::unix::fs::symlink(work, dir.join("municipalities").join(code)).unwrap();
    }
    for (file, path) in fetched {
        let (status, _, _, body) = get(&format!("{a}{path}"));
        assert_eq!(status, 200, "{path}");
        let to = answers.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, body).unwrap();
    }
    let (code, report) = common::attack::attack("--region", &dir, &[]);
    assert_eq!(code, 0, "the attacker found disclosures: {report}");
    assert!(report.contains("\"BE22001 lp v1+v2\""), "{report}");
    let (code, report) = common::attack::attack("--region", &dir, &["--expect-disclosure"]);
    assert_eq!(
        code, 0,
        "the regional attacks find what unprotected outputs give away: {report}"
    );

    // The regional view and a municipality's, in English and Dutch, in headless Chromium.
    let tests = common::browser_tests();
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "region.test.mjs"])
        .current_dir(&tests)
        .env("HAVEN_URL", &a)
        .env("HAVEN_CHROMIUM", common::chromium())
        .output()
        .expect("node runs the browser tests");
    let report = text(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "browser tests failed:\n{report}\n{}",
        text(&out.stderr)
    );
}
