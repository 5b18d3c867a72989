//! The preparedness scenario on a table worked out by hand.

use analytics::scenario::{Basis, ScenarioParams, scenario};

#[test]
fn the_low_concentration_allocation_keeps_the_cap_and_reports_the_shortfall() {
    let store = ingest::Store::open_in_memory().unwrap();
    let c = store.conn();
    c.execute_batch(
        "INSERT INTO districts VALUES ('XA1', 'A', 'XA', '{}', 400, NULL, 1), ('XA2', 'B', 'XA', '{}', 400, NULL, 1);
         INSERT INTO population VALUES ('XA1', '2025', 'total', 1000, 1), ('XA2', '2025', 'total', 1000, 1);
         -- A: three ready 2-bedroom flats (4 places each). B: two 1-bedroom flats, one quick fix
         -- (EUR 3,000, 30 days) and one larger job (EUR 20,000, 90 days).
         INSERT INTO vacant_properties (property_id, district_code, owner_type, property_type, units, bedrooms, vacant_since, condition, renovation_cost_eur, status, _batch_id) VALUES
           ('a1', 'XA1', 'municipal', 'apartment', 1, 2, '2025-01-01', 'ready', 0, 'vacant', 1),
           ('a2', 'XA1', 'municipal', 'apartment', 1, 2, '2025-01-01', 'ready', 0, 'vacant', 1),
           ('a3', 'XA1', 'municipal', 'apartment', 1, 2, '2025-01-01', 'ready', 0, 'vacant', 1),
           ('b1', 'XA2', 'private', 'apartment', 1, 1, '2025-01-01', 'minor_renovation', 3000, 'vacant', 1),
           ('b2', 'XA2', 'private', 'apartment', 1, 1, '2025-01-01', 'minor_renovation', 20000, 'vacant', 1),
           ('b3', 'XA2', 'private', 'house', 1, 3, '2025-01-01', 'major_renovation', 90000, 'vacant', 1);",
    )
    .unwrap();
    // 10 persons, half the households of 4 and half single: 2 × 4 + 2 × 1.
    let live = Basis::live(c).unwrap();
    let s = scenario(
        c,
        &ScenarioParams {
            inflow: 10,
            household_mix: Some(vec![(4, 0.5), (1, 0.5)]),
            lq_cap: 1.5,
        },
        &live,
    )
    .unwrap();
    assert_eq!(s.households, vec![(4, 2), (1, 2)]);
    assert_eq!(
        (s.places_30_days, s.places_90_days),
        (14, 16),
        "3 × 4 ready + 2 quick; + 2 within 90 days"
    );

    // Fastest: everyone in A's ready flats but one single in B's quick fix.
    let f = &s.fastest;
    assert_eq!(
        (f.housed_30_days, f.housed_90_days, f.shortfall_90_days),
        (10, 10, 0)
    );
    assert_eq!(f.renovation_cost_eur, 3000.0);
    // x = (9, 1) of t = (1000, 1000): P = 0.005, D = (1000 × 0.004 × 2) / (2 × 2000 × 0.005 × 0.995).
    assert!((f.dissimilarity_after.unwrap() - 8.0 / 19.9).abs() < 1e-12);
    assert!((f.max_lq_after.unwrap() - 1.8).abs() < 1e-12);

    // Capped at 1.5: one family of 4 cannot be housed without concentrating in A (B's flats are
    // too small), so 6 are housed: a family of 4 in A, both singles in B. LQ of A = 0.004 / 0.003.
    let l = &s.low_concentration;
    assert_eq!((l.housed_90_days, l.shortfall_90_days), (6, 4));
    assert!((l.max_lq_after.unwrap() - 4.0 / 3.0).abs() < 1e-12);
    assert!(l.max_lq_after.unwrap() <= 1.5);
    assert!((l.dissimilarity_after.unwrap() - 2.0 / 11.964).abs() < 1e-12);
    assert_eq!(l.renovation_cost_eur, 23000.0);

    assert!(s.over_cap_already.is_empty(), "nobody was placed before");
    assert!(
        scenario(
            c,
            &ScenarioParams {
                inflow: 0,
                household_mix: None,
                lq_cap: 1.5
            },
            &live,
        )
        .is_err()
    );

    // A basis with 9 persons already placed in A (LQ 2 against the population): A is over the
    // cap before anyone arrives, and without a mix the default one is used.
    let placed = Basis::published(Some(vec![9.0, 0.0]));
    let s = scenario(
        c,
        &ScenarioParams {
            inflow: 10,
            household_mix: None,
            lq_cap: 1.5,
        },
        &placed,
    )
    .unwrap();
    assert_eq!(s.over_cap_already, vec!["XA1".to_string()]);
    assert_eq!(
        s.params.household_mix.as_deref(),
        Some(analytics::scenario::DEFAULT_MIX)
    );
}
