//! A municipality's first day: only what it has. With districts and a vacancy register and
//! nothing else, the vacancy indicators are computed and published; the months they cover
//! come from the register's own dates.

mod common;

use common::Env;

#[test]
fn a_vacancy_only_municipality_gets_its_vacancy_indicators() {
    let env = Env::new();
    env.with_vacancy_register(&["--no-analyze"]);
    let run = env.run(&["analyze"]).ok();
    assert!(!run.stderr().contains("0 months"), "{}", run.stderr());
    let months = env.count("SELECT count(DISTINCT period) FROM indicators_monthly");
    assert!(months >= 12, "{months} months: {}", run.stderr());
    let run = env.run(&["publish"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // The latest month's vacant units per district are published.
    let published = env.count(
        "SELECT sum(vacant_units)::BIGINT FROM indicators_published
         WHERE level = 'district' AND period = (SELECT max(period) FROM indicators_published)",
    );
    assert!(published > 0, "no vacant units published");
}

/// Population by year, as statistics offices publish it, under the municipality's own group
/// names, one of them a subgroup of another.
fn yearly_population(env: &Env) -> std::path::PathBuf {
    let codes: Vec<String> = env
        .query()
        .prepare("SELECT district_code FROM districts ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut csv = String::from("district_code,year,population_group,residents\n");
    for (i, code) in codes.iter().enumerate() {
        for year in [2024, 2025] {
            let belg = 900 + 37 * i as i64;
            let eu = 40 + (i as i64 % 7) * 15 + (year - 2024) * 5;
            let niet_eu = 20 + (i as i64 % 5) * 40;
            let nieuwkomers = niet_eu / 3;
            for (group, n) in [
                ("total", belg + eu + niet_eu),
                ("belg", belg),
                ("eu", eu),
                ("niet_eu", niet_eu),
                ("nieuwkomers", nieuwkomers),
            ] {
                csv.push_str(&format!("{code},{year},{group},{n}\n"));
            }
        }
    }
    common::write(&env.path("bevolking.csv"), csv.as_bytes())
}

#[test]
fn yearly_population_with_its_own_groups_gets_its_multigroup_indices() {
    let env = Env::new();
    env.with_districts();
    let file = yearly_population(&env);
    env.run(&[
        "ingest",
        "population",
        file.to_str().unwrap(),
        "--no-analyze",
    ])
    .ok();
    let run = env.run(&["analyze"]).ok();
    assert!(
        run.stderr()
            .contains("multigroup indices of belg + eu + niet_eu"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM segregation_indices WHERE \"group\" = 'all' AND \"index\" = 'multi_dissimilarity' AND period IN ('2024', '2025')"
        ),
        2
    );
    // The indices of every group, for both years.
    assert!(
        env.count(
            "SELECT count(DISTINCT \"group\") FROM segregation_indices WHERE period = '2025'"
        ) >= 5
    );
    // Groups named in haven.toml that do not add up: said, with the districts, not skipped.
    std::fs::write(
        env.path("haven.toml"),
        "[analysis]\ngroups = [\"belg\", \"eu\"]\n",
    )
    .unwrap();
    let run = env.run(&["analyze"]).ok();
    assert!(
        run.stderr()
            .contains("2025: belg + eu do not add up to total in"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        env.count("SELECT count(*) FROM segregation_indices WHERE \"group\" = 'all'"),
        0
    );
}
