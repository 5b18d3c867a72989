//! The disclosure step on the demo municipality, in process: a release is staged and committed,
//! a few changed records hold the next one back, a release after forty late placements keeps
//! what the first withheld, and the published tables hold only protected figures.

use disclosure::release::{self, Error, Settings};

fn analyze(store: &ingest::Store) {
    let opts = analytics::AnalyzeOptions {
        segregation: analytics::SegregationOptions {
            permutations: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    analytics::analyze_with(store.conn(), &opts, &analytics::NoProgress).unwrap();
}

fn settings() -> Settings {
    Settings {
        segregation: analytics::SegregationOptions {
            permutations: 0,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn load_late(store: &ingest::Store, dir: &std::path::Path, n: usize) {
    let late = dir.join(format!("late{n}.csv"));
    ingest::demo::write_late_placements(store.conn(), &late, n).unwrap();
    ingest::ingest(
        store,
        "placements",
        &ingest::Input::from_path(&late).unwrap(),
        &ingest::IngestOptions::default(),
        &ingest::NoProgress,
    )
    .unwrap();
    analyze(store);
}

fn count(c: &duckdb::Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn releases_keep_what_they_withheld_and_publish_only_protected_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest::Store::open(dir.path().join("haven.duckdb")).unwrap();
    ingest::demo::generate_and_load(&ingest::demo::DemoSpec::standard(42), dir.path(), &store)
        .unwrap();
    analyze(&store);
    let c = store.conn();
    let staged = release::stage(c, &settings()).unwrap();
    assert!(staged.audit.failures.is_empty());
    assert_eq!(staged.audit.releases_compared, 0);
    release::commit(c, 1, &staged).unwrap();

    // No count of placements from 1 to 4 anywhere, every null personal value named in its
    // row's withheld list, no monthly flows, and the complete years.
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM indicators_published WHERE placements_active_households BETWEEN 1 AND 4
               OR placements_active_persons BETWEEN 1 AND 4"
        ),
        0
    );
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM indicators_published WHERE placements_active_households IS NULL
               AND NOT list_contains(string_split(withheld, ','), 'placements_active_households')"
        ),
        0
    );
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM indicators_published WHERE placements_started IS NOT NULL"
        ),
        0
    );
    assert!(count(c, "SELECT count(*) FROM placements_years") >= 2);

    // The end of the activation pipeline per year, against the register counted here: every
    // published figure equal to it, none from 1 to 4, every withheld one named, and the homes
    // let within the households housed within the households started.
    c.execute_batch(
        "CREATE TEMP TABLE reg AS SELECT p.* FROM placements p JOIN districts USING (district_code)
           WHERE p.start_date IS NOT NULL AND p.property_id IN (SELECT property_id FROM vacant_properties);
         CREATE TEMP TABLE expected AS
           WITH f AS (SELECT property_id, min(start_date) AS s FROM reg GROUP BY 1)
           SELECT y.year,
             (SELECT count(*) FROM reg WHERE year(start_date)::VARCHAR = y.year) AS housed,
             (SELECT count(*) FROM f WHERE year(s)::VARCHAR = y.year) AS homes_let,
             (SELECT count(*) FROM reg WHERE year(start_date + 182)::VARCHAR = y.year
                AND (end_date IS NULL OR end_date - start_date >= 182)) AS sustained,
             (SELECT sum(h.cost_eur) FROM f JOIN pipeline_homes h USING (property_id)
                WHERE year(s)::VARCHAR = y.year) AS cost
           FROM placements_years y;",
    )
    .unwrap();
    assert!(
        count(c, "SELECT sum(housed) FROM expected") > 20,
        "the demo houses households in homes of the register"
    );
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM placements_years y JOIN expected e USING (year)
             WHERE y.households_housed_in_register_homes IS DISTINCT FROM e.housed
                 AND y.households_housed_in_register_homes IS NOT NULL
               OR y.register_homes_let IS DISTINCT FROM e.homes_let AND y.register_homes_let IS NOT NULL
               OR y.tenancies_sustained IS DISTINCT FROM e.sustained AND y.tenancies_sustained IS NOT NULL
               OR abs(y.cost_per_home_let_eur - e.cost / e.homes_let) > 0.005
               OR abs(y.cost_per_household_housed_eur - e.cost / e.housed) > 0.005"
        ),
        0
    );
    assert!(
        count(
            c,
            "SELECT count(*) FROM placements_years WHERE households_housed_in_register_homes IS NOT NULL
               AND cost_per_home_let_eur IS NOT NULL"
        ) >= 1,
        "some year publishes its activation figures"
    );
    for col in [
        "households_housed_in_register_homes",
        "register_homes_let",
        "tenancies_sustained",
    ] {
        assert_eq!(
            count(
                c,
                &format!(
                    "SELECT count(*) FROM placements_years WHERE {col} BETWEEN 1 AND 4
                       OR ({col} IS NULL AND NOT list_contains(string_split(withheld, ','), '{col}'))"
                )
            ),
            0,
            "{col}"
        );
    }
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM expected e JOIN placements_years y USING (year)
             WHERE NOT (e.homes_let <= e.housed AND e.housed <= y.placements_started)
               AND y.placements_started IS NOT NULL"
        ),
        0
    );

    // Three changed records: held back.
    load_late(&store, dir.path(), 3);
    match release::stage(c, &settings()) {
        Err(Error::HeldBack {
            changed, needed, ..
        }) => assert_eq!((changed, needed), (3, 10)),
        other => panic!("expected the release held back, got {other:?}"),
    }
    release::discard(c);

    // Forty more: a release audited against the first, keeping every cell the first withheld
    // whose value is the same.
    load_late(&store, dir.path(), 40);
    let staged = release::stage(c, &settings()).unwrap();
    assert!(staged.audit.failures.is_empty());
    assert_eq!(staged.audit.releases_compared, 1);
    release::commit(c, 2, &staged).unwrap();
    let kept =
        "SELECT count(*) FROM disclosure_cells a JOIN disclosure_cells b USING (kind, area, period)
                WHERE a.version = 1 AND b.version = 2 AND a.withheld AND a.value = b.value";
    let released = format!("{kept} AND NOT b.withheld");
    assert!(count(c, kept) > 0);
    assert_eq!(
        count(c, &released),
        0,
        "a withheld cell published unchanged"
    );

    // Nothing changed since: the next release is allowed (no record changed).
    let again = release::stage(c, &settings()).unwrap();
    assert_eq!(again.changed_records, 0);
    release::discard(c);
}
