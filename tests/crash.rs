//! A load killed with SIGKILL leaves its whole batch or none of it, and a re-run completes.

mod common;

use std::process::Stdio;
use std::time::Instant;

use common::Env;

const ROWS: i64 = 150_000;

#[test]
fn sigkill_in_the_middle_of_a_large_load_keeps_the_batch_whole_or_absent() {
    let env = Env::new();
    let big = env.path("big");
    env.run(&[
        "demo",
        "--scale",
        &ROWS.to_string(),
        "--no-load",
        "--out",
        big.to_str().unwrap(),
    ])
    .ok();
    env.run(&[
        "ingest",
        "districts",
        big.join("districts.geojson").to_str().unwrap(),
    ])
    .ok();
    let vacant = big.join("vacant_properties.csv");
    let base = std::fs::read(env.db()).unwrap();

    // A full load first, to know how long one takes on this machine.
    let t = Instant::now();
    env.run(&["ingest", "vacant_properties", vacant.to_str().unwrap()])
        .ok();
    let full = t.elapsed();
    assert_eq!(env.count("SELECT count(*) FROM vacant_properties"), ROWS);

    let mut killed_mid_load = 0;
    for fraction in [0.3, 0.6, 0.9] {
        std::fs::write(env.db(), &base).unwrap();
        let _ = std::fs::remove_file(env.path("haven.duckdb.wal"));
        let mut child = env
            .haven()
            .args(["ingest", "vacant_properties", vacant.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        if child.try_wait().unwrap().is_none() {
            killed_mid_load += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let n = env.count("SELECT count(*) FROM vacant_properties");
        assert!(
            n == 0 || n == ROWS,
            "after a kill at {fraction}: {n} rows, neither none nor all"
        );
        let committed = env.count("SELECT count(*) FROM ingest_batches WHERE dataset = 'vacant_properties' AND outcome = 'loaded'");
        assert_eq!(
            committed,
            i64::from(n == ROWS),
            "the batch record agrees with the data"
        );

        // The re-run completes and the killed load is recorded as interrupted, not lost.
        let rerun = env
            .run(&["ingest", "vacant_properties", vacant.to_str().unwrap()])
            .ok();
        assert!(
            rerun.stderr().contains("outcome: loaded")
                || rerun.stderr().contains("outcome: unchanged"),
            "{}",
            rerun.stderr()
        );
        assert_eq!(env.count("SELECT count(*) FROM vacant_properties"), ROWS);
        assert_eq!(
            env.count("SELECT count(*) FROM ingest_batches WHERE outcome = 'running'"),
            0
        );
        common::assert_books_balance(&env);
    }
    assert!(
        killed_mid_load >= 1,
        "at least one kill landed while the load was running"
    );
}
