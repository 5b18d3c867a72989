//! `analyze_with` keeps the parts whose inputs did not change and recomputes the others.

use analytics::{AnalyzeOptions, NoProgress, Progress, SegregationOptions, analyze_with};
use std::sync::Mutex;

#[derive(Default)]
struct Steps(Mutex<(u64, Vec<String>)>);

impl Progress for Steps {
    fn start(&self, steps: u64) {
        self.0.lock().unwrap().0 = steps;
    }
    fn step(&self, what: &str) {
        self.0.lock().unwrap().1.push(what.to_string());
    }
}

#[test]
fn unchanged_inputs_are_kept_and_changed_ones_recomputed() {
    let store = ingest::Store::open_in_memory().unwrap();
    let c = store.conn();
    c.execute_batch(
        "INSERT INTO districts VALUES ('XA1', 'A', 'XA', '{}', 100, NULL, 1), ('XA2', 'B', 'XA', '{}', 50, NULL, 1);
         INSERT INTO population SELECT d, '2025-01', g, n, 1 FROM (VALUES ('XA1'), ('XA2')) a(d), (VALUES ('total', 100), ('national', 70)) b(g, n);
         INSERT INTO vacant_properties (property_id, district_code, owner_type, property_type, units, vacant_since, condition, status, _batch_id)
           VALUES ('p1', 'XA1', 'private', 'house', 1, '2024-06-15', 'ready', 'vacant', 1);",
    )
    .unwrap();
    let opts = AnalyzeOptions {
        segregation: SegregationOptions {
            permutations: 19,
            ..Default::default()
        },
        full: false,
    };
    let steps = Steps::default();
    let first = analyze_with(c, &opts, &steps).unwrap();
    assert_eq!(first.computed, ["availability", "segregation"]);
    {
        let s = steps.0.lock().unwrap();
        assert_eq!(s.0, 10, "five steps per part");
        assert_eq!(s.1.len(), 10, "{:?}", s.1);
    }

    let again = analyze_with(c, &opts, &NoProgress).unwrap();
    assert!(again.computed.is_empty());
    assert_eq!(again.segregation.index_rows, first.segregation.index_rows);
    assert_eq!(again.availability.months, first.availability.months);

    // A new load of vacant properties touches availability only.
    c.execute_batch(
        "INSERT INTO vacant_properties (property_id, district_code, owner_type, property_type, units, vacant_since, condition, status, _batch_id)
           VALUES ('p2', 'XA2', 'private', 'house', 3, '2024-06-15', 'ready', 'vacant', 2);",
    )
    .unwrap();
    let after_vacant = analyze_with(c, &opts, &NoProgress).unwrap();
    assert_eq!(after_vacant.computed, ["availability"]);
    let units: f64 = c
        .query_row(
            "SELECT vacant_units FROM indicators_monthly WHERE area_code = 'XA2' AND period = '2025-01'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(units, 3.0);

    // Other options (more permutations) mean the segregation results are stale.
    let more = AnalyzeOptions {
        segregation: SegregationOptions {
            permutations: 99,
            ..Default::default()
        },
        full: false,
    };
    assert_eq!(
        analyze_with(c, &more, &NoProgress).unwrap().computed,
        ["segregation"]
    );

    // A lost result table is recomputed; `full` recomputes everything.
    c.execute_batch("DROP TABLE indicators_monthly").unwrap();
    assert_eq!(
        analyze_with(c, &more, &NoProgress).unwrap().computed,
        ["availability"]
    );
    let full = AnalyzeOptions { full: true, ..more };
    assert_eq!(
        analyze_with(c, &full, &NoProgress).unwrap().computed,
        ["availability", "segregation"]
    );
}
