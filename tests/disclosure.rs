//! The disclosure step attacked as an outsider would (tests/disclosure/attack.py, with HiGHS):
//! with every release's files, the public API's answers, the population file, the schemas and
//! the method, it solves every published relation of a release and of consecutive releases at
//! once, inverts the indices and location quotients of persons placed, reads status, scenario,
//! catalogue, data package and tiles for register counts, and differences releases around
//! one-record changes. On the demo, three other seeds and a small municipality; and the suite
//! is shown to find the disclosures of a release with the protection off.

mod common;

use std::path::{Path, PathBuf};

use common::Env;
use common::attack::{attack, work};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn get(url: &str) -> (u16, Vec<u8>) {
    let mut res = agent().get(url).call().expect("server answers");
    let status = res.status().as_u16();
    let body = res
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, body)
}

/// Adds the public answers of the running server to the attacker's folder: status, scenario,
/// catalogue, the latest datapackage, the z0 tile and the location quotients of persons placed
/// of every period the release publishes indices for (read from the release, as an outsider
/// can).
fn answers(env: &Env, work: &Path, url: &str) {
    let api = work.join("api");
    std::fs::create_dir_all(api.join("lq")).unwrap();
    for (name, path) in [
        ("status.json", "/api/v1/status".to_string()),
        ("scenario.json", "/api/v1/scenario?inflow=300".to_string()),
        ("catalogue.jsonld", "/api/v1/catalog".to_string()),
        ("districts.mvt", "/tiles/districts/0/0/0.mvt".to_string()),
        (
            "report.html",
            "/api/v1/report?lang=en&format=html".to_string(),
        ),
    ] {
        let (status, body) = get(&format!("{url}{path}"));
        assert_eq!(status, 200, "{path}");
        std::fs::write(api.join(name), body).unwrap();
    }
    // The needs forecast, where the release has the year of history it needs.
    let (status, body) = get(&format!("{url}/api/v1/forecast?months=12"));
    assert!(status == 200 || status == 404, "forecast: {status}");
    if status == 200 {
        std::fs::write(api.join("forecast.json"), body).unwrap();
    }
    let versions = common::release_versions(&work.join("releases"));
    let latest = env
        .path("published")
        .join(format!("v{}", versions.last().expect("a release")));
    std::fs::copy(
        latest.join("datapackage.json"),
        api.join("datapackage.json"),
    )
    .unwrap();
    let mut periods = std::collections::BTreeSet::new();
    let indices = std::fs::read_to_string(latest.join("segregation.csv")).unwrap();
    let mut lines = indices.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "period").expect("period");
    for l in lines {
        periods.insert(l.split(',').nth(at).unwrap().to_string());
    }
    assert!(!periods.is_empty());
    for p in periods {
        let (status, body) = get(&format!(
            "{url}/api/v1/segregation/location-quotients?group=placed_persons&period={p}"
        ));
        assert_eq!(status, 200);
        std::fs::write(api.join("lq").join(format!("{p}.json")), body).unwrap();
    }
}

/// Loads forty late placements and publishes: release 2.
fn forty_late_placements_then_release_2(env: &Env) -> common::Run {
    let late = env.path("forty.csv");
    ingest::demo::write_late_placements(&env.query(), &late, 40).unwrap();
    env.run(&["ingest", "placements", late.to_str().unwrap()])
        .ok();
    let run = env.run(&["publish"]).ok();
    assert!(
        run.stderr().contains("publish: release 2 in"),
        "{}",
        run.stderr()
    );
    run
}

fn demo(env: &Env, args: &[&str]) -> PathBuf {
    let mut a = vec!["demo", "--no-serve", "--out", "demo"];
    a.extend_from_slice(args);
    let run = env.run(&a).ok();
    assert!(
        run.stderr().contains("publish: release 1 in"),
        "{}",
        run.stderr()
    );
    env.path("demo")
}

#[test]
fn the_demo_release_and_its_api_withstand_the_attacker() {
    let env = Env::new();
    let files = demo(&env, &[]);
    let work = work(&env, &files);
    let (_server, url) = env.serve();
    answers(&env, &work, &url);
    assert!(
        work.join("api/forecast.json").exists(),
        "the demo publishes the year of history the forecast needs"
    );
    let (code, report) = attack("--work", &work, &[]);
    assert_eq!(code, 0, "the attacker found disclosures: {report}");
    // The suite attacked for real: every withheld cell, every period's indices, the answers.
    assert!(report.contains("\"lp v1\""), "{report}");
    assert!(
        report.contains("indices beyond the published counts\": 0"),
        "{report}"
    );
}

#[test]
fn three_other_municipalities_withstand_the_attacker() {
    for seed in ["7", "1234", "2027"] {
        let env = Env::new();
        let files = demo(&env, &["--seed", seed]);
        let work = work(&env, &files);
        let (code, report) = attack("--work", &work, &[]);
        assert_eq!(
            code, 0,
            "seed {seed}: the attacker found disclosures: {report}"
        );
    }
}

#[test]
fn a_small_municipality_withstands_the_attacker() {
    let env = Env::new();
    let files = demo(
        &env,
        &["--districts", "5", "--placements", "40", "--seed", "5"],
    );
    let work = work(&env, &files);
    let (code, report) = attack("--work", &work, &[]);
    assert_eq!(code, 0, "the attacker found disclosures: {report}");
}

/// One placement added, one corrected, one deleted: each time the release is held back, so no
/// two releases differ by one record. Forty late placements do make a release, attacked
/// together with the one before.
#[test]
fn releases_never_differ_by_a_few_records_and_consecutive_ones_are_attacked_together() {
    let env = Env::new();
    let files = demo(&env, &[]);
    let held = |env: &Env| {
        let run = env.run(&["publish"]).code_is(2);
        assert!(
            run.stderr().contains("release held back"),
            "{}",
            run.stderr()
        );
        assert!(!env.path("published/v2").exists());
    };
    // One new record.
    let late = env.path("one.csv");
    ingest::demo::write_late_placements(&env.query(), &late, 1).unwrap();
    env.run(&["ingest", "placements", late.to_str().unwrap()])
        .ok();
    held(&env);
    // One record corrected (its household size) and one deleted, straight in the register.
    {
        let c = env.query_rw();
        c.execute_batch(
            "UPDATE placements SET household_size = household_size % 7 + 1
               WHERE placement_id = (SELECT min(placement_id) FROM placements);",
        )
        .unwrap();
    }
    env.run(&["analyze"]).ok();
    held(&env);
    {
        let c = env.query_rw();
        c.execute_batch(
            "DELETE FROM placements WHERE placement_id = (SELECT max(placement_id) FROM placements);",
        )
        .unwrap();
    }
    env.run(&["analyze"]).ok();
    held(&env);
    // Twelve households placed in homes of the vacancy register that were not let: the
    // officers' pipeline moves (the homes are let), the published one must not.
    let officers_before: Vec<(String, i64)> = pipeline_reached(&env);
    let homes = {
        let c = env.query();
        let mut stmt = c
            .prepare(
                "SELECT property_id, district_code,
                        CAST(least(status_date + 10, (SELECT max(start_date) FROM placements)) AS VARCHAR)
                 FROM vacant_properties v
                 WHERE status IN ('owner_contacted', 'in_renovation', 'offered')
                   AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.property_id = v.property_id)
                 ORDER BY property_id LIMIT 12",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "NEW-{0},HH-NEW-{0},3,private_rental_incentive,{0},{1},{2},{2},,",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
    };
    assert_eq!(homes.len(), 12);
    let placed = common::write(
        &env.path("placed_in_register_homes.csv"),
        format!(
            "placement_id,household_ref,household_size,programme,property_id,district_code,referral_date,start_date,end_date,end_reason\n{}\n",
            homes.join("\n")
        )
        .as_bytes(),
    );
    env.run(&["ingest", "placements", placed.to_str().unwrap()])
        .ok();
    // Forty late placements: a release, attacked with the first.
    let run = forty_late_placements_then_release_2(&env);
    assert!(
        run.stderr().contains("against 1 earlier release"),
        "{}",
        run.stderr()
    );
    let work = work(&env, &files);
    let (code, report) = attack("--work", &work, &[]);
    assert_eq!(code, 0, "the attacker found disclosures: {report}");
    assert!(report.contains("\"lp v1+v2\""), "{report}");
    // The published activation pipeline is the same file in both releases: fifty-two
    // placements, twelve of them in homes of the register, moved nothing in it; the officers'
    // pipeline did move.
    assert_ne!(
        pipeline_reached(&env),
        officers_before,
        "the placements reached the pipeline"
    );
    for file in ["activation-pipeline.csv", "activation-pipeline-stages.csv"] {
        let read = |v: &str| std::fs::read(env.path("published").join(v).join(file)).unwrap();
        assert_eq!(read("v1"), read("v2"), "{file} moved with placements");
    }
}

/// The officers' pipeline: homes that reached each stage, for the municipality.
fn pipeline_reached(env: &Env) -> Vec<(String, i64)> {
    let c = env.query();
    let mut stmt = c
        .prepare(
            "SELECT stage, reached FROM pipeline_summary WHERE scope_type = 'municipality'
             ORDER BY stage",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A household erased on its request is gone from every table and column of the database, a
/// later file does not bring it back, and the next release, attacked together with the one
/// before the erasure, gives nothing away.
#[test]
fn an_erased_household_is_gone_everywhere_and_the_next_release_withstands_the_attacker() {
    let env = Env::new();
    let files = demo(&env, &[]);
    let household: String = env
        .query()
        .query_row(
            "SELECT household_ref FROM placements GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let run = env.run(&["erase", "household", &household]).ok();
    assert!(run.stderr().contains("erased "), "{}", run.stderr());
    // Every text column of every table, searched for the reference.
    let holding = |env: &Env| -> Vec<String> {
        let c = env.query();
        let mut stmt = c
            .prepare(
                "SELECT table_name, column_name FROM information_schema.columns
                 WHERE table_schema = 'main' AND data_type = 'VARCHAR'",
            )
            .unwrap();
        let cols: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        cols.into_iter()
            .filter(|(t, col)| {
                let n: i64 = c
                    .query_row(
                        &format!(
                            "SELECT count(*) FROM main.\"{t}\" WHERE strpos(\"{col}\", ?) > 0"
                        ),
                        [&household],
                        |r| r.get(0),
                    )
                    .unwrap();
                n > 0
            })
            .map(|(t, col)| format!("{t}.{col}"))
            .collect()
    };
    assert_eq!(holding(&env), Vec::<String>::new());
    assert_eq!(
        env.count(
            "SELECT count(*) FROM erasures WHERE kind = 'request' AND subject_sha256 IS NOT NULL"
        ),
        1
    );
    // The municipality's placements file, loaded again (one more line, so it is new content):
    // the household's rows are left out, and the load says so by line only.
    let mut again = std::fs::read(files.join("placements.csv")).unwrap();
    again.extend_from_slice(b"\n");
    let file = common::write(&env.path("placements-again.csv"), &again);
    let run = env.run(&["ingest", "placements", file.to_str().unwrap()]);
    assert!(
        run.stderr()
            .contains("rows of households erased on request left out"),
        "{}",
        run.stderr()
    );
    assert_eq!(holding(&env), Vec::<String>::new());
    // Forty late placements make the next release; it is attacked with the first.
    forty_late_placements_then_release_2(&env);
    let work = work(&env, &files);
    let (code, report) = attack("--work", &work, &[]);
    assert_eq!(code, 0, "the attacker found disclosures: {report}");
    assert!(report.contains("\"lp v1+v2\""), "{report}");
}

/// The same attacks on the demo's true figures with only the small counts withheld and the
/// indices computed from the true counts (the protection switched off) find disclosures.
#[test]
fn the_attacker_finds_what_a_release_without_the_protection_gives_away() {
    let env = Env::new();
    let files = demo(&env, &[]);
    let work = work(&env, &files);
    let (code, report) = attack("--work", &work, &["--expect-disclosure"]);
    assert_eq!(
        code, 0,
        "the attacks found nothing on an unprotected release: {report}"
    );
}
