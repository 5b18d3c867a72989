//! A load killed with SIGKILL leaves its whole batch or none of it, and a re-run completes; a
//! release killed with SIGKILL leaves only whole, recorded releases, and the next one is made.

mod common;

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
        if common::kill_after(
            &env,
            &["ingest", "vacant_properties", vacant.to_str().unwrap()],
            full.mul_f64(fraction),
        ) {
            killed_mid_load += 1;
        }

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

/// The release folders and the ledger agree: every recorded release has its folder, whole
/// (every file its manifest lists, with its size and SHA-256), and every release folder is
/// recorded, but for `unrecorded`: a folder a publish cut short between its rename and its
/// commit may leave (never served: only recorded releases are), set aside by the next one.
fn releases_whole(env: &Env, unrecorded: Option<u32>) {
    use sha2::{Digest, Sha256};
    let recorded: Vec<u32> = {
        let c = env.query();
        let mut stmt = c
            .prepare("SELECT version FROM releases ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut folders = common::release_versions(&env.path("published"));
    if let Some(v) = unrecorded
        && !recorded.contains(&v)
    {
        folders.retain(|f| *f != v);
    }
    assert_eq!(recorded, folders, "recorded releases and release folders");
    for v in folders {
        let dir = env.path(&format!("published/v{v}"));
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        let mut files: Vec<&serde_json::Value> = manifest["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["files"].as_array().unwrap())
            .collect();
        files.push(&manifest["package"]);
        for f in files {
            let bytes = std::fs::read(dir.join(f["name"].as_str().unwrap())).unwrap();
            assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
            assert_eq!(
                format!("{:x}", Sha256::digest(&bytes)),
                f["sha256"].as_str().unwrap()
            );
        }
    }
}

/// A moment of a release, by its name, and how to see it has come.
type Moment<'a> = (&'a str, Box<dyn Fn() -> bool + 'a>);

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn sigkill_during_a_release_leaves_whole_releases_and_the_next_one_succeeds() {
    let env = Env::new();
    env.with_demo();
    let late = env.path("forty.csv");
    ingest::demo::write_late_placements(&env.query(), &late, 40).unwrap();
    env.run(&["ingest", "placements", late.to_str().unwrap()])
        .ok();
    let base_db = std::fs::read(env.db()).unwrap();
    let base_published = env.path("published-before");
    copy_tree(&env.path("published"), &base_published);

    // Killed at moments the release shows on disk, watched every millisecond: as it starts,
    // while its folder is written aside, once its manifest is
    // written (about to be recorded), and the moment its folder is in place (renamed, its
    // record perhaps not yet committed).
    let published = env.path("published");
    let moments: [Moment<'_>; 4] = [
        ("starting", Box::new(|| true)),
        (
            "writing",
            Box::new(|| published.join(".v2.partial").exists()),
        ),
        (
            "recording",
            Box::new(|| published.join(".v2.partial/manifest.json").exists()),
        ),
        ("renamed", Box::new(|| published.join("v2").exists())),
    ];
    let mut killed = Vec::new();
    for (moment, reached) in &moments {
        std::fs::write(env.db(), &base_db).unwrap();
        let _ = std::fs::remove_file(env.path("haven.duckdb.wal"));
        std::fs::remove_dir_all(&published).unwrap();
        copy_tree(&base_published, &published);
        if common::kill_when(&env, &["publish"], reached) {
            killed.push(*moment);
        }
        // Whole releases only, recorded or absent; the next publish makes the release.
        releases_whole(&env, Some(2));
        let run = env.run(&["publish"]).ok();
        assert!(
            run.stderr().contains("release 2"),
            "after a kill while {moment}: {}",
            run.stderr()
        );
        releases_whole(&env, None);
    }
    eprintln!("publishes cut short while: {killed:?}");
    assert!(
        killed.len() >= 3,
        "only {killed:?} publishes were cut short"
    );
}
