//! Attacks on the published indicators of the demo municipality: none recovers a withheld
//! value. Each attack uses a relation that holds exactly in the unpublished figures (checked
//! first, so the attack is real), and fails the test if the published figures leave exactly one
//! unknown in it.

use std::collections::HashMap;

use analytics::registry::{Aggregate, Class, INDICATORS};
use analytics::{SegregationOptions, analyze};
use duckdb::Connection;

/// (area, period) → indicator → value (None = withheld), from one table.
type Cells = HashMap<(String, String), HashMap<String, Option<f64>>>;

fn load(c: &Connection, table: &str, ids: &[&str]) -> Cells {
    let cols: String = ids.iter().map(|i| format!(", \"{i}\"")).collect();
    let mut stmt = c
        .prepare(&format!("SELECT area_code, period{cols} FROM {table}"))
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Cells::new();
    while let Some(r) = rows.next().unwrap() {
        let key = (
            r.get::<_, String>(0).unwrap(),
            r.get::<_, String>(1).unwrap(),
        );
        let values = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.to_string(), r.get::<_, Option<f64>>(i + 2).unwrap()))
            .collect();
        out.insert(key, values);
    }
    out
}

fn demo() -> ingest::Store {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest::Store::open_in_memory().unwrap();
    ingest::demo::generate_and_load(&ingest::demo::DemoSpec::standard(42), dir.path(), &store)
        .unwrap();
    analyze(
        store.conn(),
        &SegregationOptions {
            permutations: 0,
            ..Default::default()
        },
    )
    .unwrap();
    store
}

/// A relation Σ sign × cell = 0: the cells' keys and signs.
type Relation = Vec<(f64, (String, String), &'static str)>;

/// Fails if the published cells leave exactly one withheld value in a relation; returns how
/// many relations were tried.
fn attack(name: &str, relations: &[Relation], raw: &Cells, published: &Cells) -> usize {
    let mut tried = 0;
    for rel in relations {
        let raw_sum: f64 = rel
            .iter()
            .map(|(s, key, id)| s * raw[key][*id].unwrap_or(0.0))
            .sum();
        assert!(
            raw_sum.abs() < 1e-9,
            "{name}: the relation does not hold: {rel:?}"
        );
        let hidden: Vec<_> = rel
            .iter()
            .filter(|(_, key, id)| published[key][*id].is_none())
            .collect();
        if hidden.len() == 1 {
            let (s, key, id) = hidden[0];
            let known: f64 = rel
                .iter()
                .filter(|(_, k, i)| !(k == key && i == id))
                .map(|(s, k, i)| s * published[k][*i].unwrap_or(0.0))
                .sum();
            panic!(
                "{name}: {id} of {key:?} is withheld but equals {} from the published figures",
                -known / s
            );
        }
        tried += 1;
    }
    tried
}

#[test]
fn no_withheld_value_can_be_recovered_from_the_published_demo() {
    let store = demo();
    let c = store.conn();
    let counts = personal_counts();
    let raw = load(c, "indicators_monthly", &counts);
    let published = load(c, "indicators_published", &counts);

    // Withheld means null and flagged, and the primary rule holds.
    let mut withheld = 0;
    for (key, values) in &published {
        let flags: Vec<String> = c
            .query_row(
                "SELECT withheld FROM indicators_published WHERE area_code = ? AND period = ?",
                [&key.0, &key.1],
                |r| r.get::<_, String>(0),
            )
            .map(|v| v.split(',').map(String::from).collect())
            .unwrap();
        for (id, v) in values {
            let truth = raw[key][id].unwrap_or(0.0);
            match v {
                None => {
                    withheld += 1;
                    assert!(flags.contains(id), "{id} {key:?} is null without a flag");
                }
                Some(v) => {
                    assert_eq!(*v, truth, "{id} {key:?} published changed");
                    assert!(
                        !(1.0..5.0).contains(v),
                        "{id} {key:?} = {v} is a small count"
                    );
                }
            }
        }
    }
    assert!(
        withheld > 100,
        "the demo has small cells to protect ({withheld})"
    );

    for (name, relations) in relations(c, &counts) {
        let tried = attack(name, &relations, &raw, &published);
        assert!(tried > 0, "{name}: no relation tried");
    }
}

/// The relations an outsider can use, by attack: the districts against the total per month,
/// one period against the next, the programmes against all active households.
fn relations(c: &Connection, counts: &[&'static str]) -> Vec<(&'static str, Vec<Relation>)> {
    let districts: Vec<String> = {
        let mut stmt = c.prepare("SELECT district_code FROM districts").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let municipality: String = c
        .query_row(
            "SELECT DISTINCT area_code FROM indicators_published WHERE level = 'municipality'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let periods: Vec<String> = {
        let mut stmt = c
            .prepare("SELECT DISTINCT period FROM indicators_published ORDER BY period")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let mut areas = districts.clone();
    areas.push(municipality.clone());

    // 1. Sum the districts and subtract them from the total.
    let mut sums = Vec::new();
    for id in counts {
        for p in &periods {
            let mut rel: Relation = districts
                .iter()
                .map(|d| (1.0, (d.clone(), p.clone()), *id))
                .collect();
            rel.push((-1.0, (municipality.clone(), p.clone()), *id));
            sums.push(rel);
        }
    }

    // 2. Subtract one period from the next: active(m) − active(m−1) = started(m) − ended(m).
    let mut flows = Vec::new();
    for a in &areas {
        for w in periods.windows(2) {
            let (before, now) = ((a.clone(), w[0].clone()), (a.clone(), w[1].clone()));
            flows.push(vec![
                (1.0, now.clone(), "placements_active_households"),
                (-1.0, before, "placements_active_households"),
                (-1.0, now.clone(), "placements_started"),
                (1.0, now, "placements_ended"),
            ]);
        }
    }

    // 3. The programmes against all active households of an area.
    let programmes: Vec<&'static str> = counts
        .iter()
        .copied()
        .filter(|id| {
            id.starts_with("placements_active_")
                && *id != "placements_active_households"
                && *id != "placements_active_persons"
        })
        .collect();
    let mut parts = Vec::new();
    for a in &areas {
        for p in &periods {
            let key = (a.clone(), p.clone());
            let mut rel: Relation = vec![(-1.0, key.clone(), "placements_active_households")];
            rel.extend(programmes.iter().map(|id| (1.0, key.clone(), *id)));
            parts.push(rel);
        }
    }
    vec![
        ("districts against the total", sums),
        ("one period from the next", flows),
        ("programmes against households", parts),
    ]
}

/// The personal counts: what the attacks are on.
fn personal_counts() -> Vec<&'static str> {
    INDICATORS
        .iter()
        .filter(|i| i.class == Class::Personal && i.aggregate == Aggregate::Sum)
        .map(|i| i.id)
        .collect()
}

#[test]
fn no_withheld_value_can_be_recovered_by_comparing_two_releases() {
    let store = demo();
    let c = store.conn();
    let counts = personal_counts();
    let raw1 = load(c, "indicators_monthly", &counts);
    let published1 = load(c, "indicators_published", &counts);

    // Forty placements recorded late (copies of existing ones under new ids, so every month
    // stays in range), loaded and analysed again: the second release.
    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late_placements.csv");
    ingest::demo::write_late_placements(c, &late, 40).unwrap();
    let report = ingest::ingest_path(
        &store,
        "placements",
        &late,
        &ingest::IngestOptions::default(),
        &ingest::NoProgress,
    )
    .unwrap();
    assert_eq!(report[0].rows_inserted, 40, "{report:?}");
    analyze(
        c,
        &SegregationOptions {
            permutations: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let raw2 = load(c, "indicators_monthly", &counts);
    let published2 = load(c, "indicators_published", &counts);
    let changed = raw1
        .iter()
        .flat_map(|(k, v)| v.iter().map(move |(id, x)| (k, id, x)))
        .filter(|(k, id, x)| raw2[*k][*id] != **x)
        .count();
    assert!(
        changed > 40,
        "the late placements change the figures ({changed})"
    );

    // Subtract one release from the other: a value withheld in one and published unchanged in
    // the other is recovered outright.
    for (key, values) in &published1 {
        for (id, v) in values {
            if v.is_none() && raw1[key][id] == raw2[key][id] {
                assert!(
                    published2[key][id].is_none(),
                    "{id} of {key:?}: withheld in the first release, published unchanged in the second"
                );
            }
        }
    }
    // And each release's relations, with every value the other release gives away (published
    // there and, as the attacker is told here, unchanged) counted as known.
    let relations = relations(c, &counts);
    for (raw, published, other_raw, other) in [
        (&raw1, &published1, &raw2, &published2),
        (&raw2, &published2, &raw1, &published1),
    ] {
        let mut known = published.clone();
        for (key, values) in known.iter_mut() {
            for (id, v) in values.iter_mut() {
                if v.is_none() && raw[key][id] == other_raw[key][id] {
                    *v = other[key][id];
                }
            }
        }
        for (name, rels) in &relations {
            attack(name, rels, raw, &known);
        }
    }
}
