//! Availability indicators on a hand-made table worked out by hand, and on the demo
//! municipality, where the municipality row is the sum (or ratio of sums) of its districts.

use analytics::registry::{Aggregate, INDICATORS};
use analytics::{SegregationOptions, analyze};
use duckdb::Connection;

fn value(conn: &Connection, area: &str, period: &str, id: &str) -> Option<f64> {
    conn.query_row(
        &format!("SELECT \"{id}\" FROM indicators_monthly WHERE area_code = ? AND period = ?"),
        [area, period],
        |r| r.get(0),
    )
    .unwrap_or_else(|e| panic!("{id} {area} {period}: {e}"))
}

fn series(conn: &Connection, area: &str, id: &str) -> Vec<Option<f64>> {
    ["2025-01", "2025-02", "2025-03", "2025-04"]
        .iter()
        .map(|p| value(conn, area, p, id))
        .collect()
}

fn s(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|x| Some(*x)).collect()
}

#[test]
fn a_hand_made_municipality_worked_out_by_hand() {
    let store = ingest::Store::open_in_memory().unwrap();
    let c = store.conn();
    c.execute_batch(
        "INSERT INTO districts VALUES ('XA1', 'A', 'XA', '{}', 100, NULL, 1), ('XA2', 'B', 'XA', '{}', 50, NULL, 1);
         INSERT INTO population SELECT d, p, 'total', 1000, 1 FROM (VALUES ('XA1'), ('XA2')) a(d), (VALUES ('2025-01'), ('2025-04')) b(p);
         -- p1: 2 ready units vacant since mid-2024; p2: minor renovation, vacant Feb-Mar, let 1 April;
         -- p3: vacant from 31 March (counts at the end of March).
         INSERT INTO vacant_properties (property_id, district_code, owner_type, property_type, units, bedrooms, vacant_since, condition, renovation_cost_eur, status, status_date, _batch_id) VALUES
           ('p1', 'XA1', 'municipal', 'building', 2, 1, '2024-06-15', 'ready', 0, 'vacant', NULL, 1),
           ('p2', 'XA1', 'private', 'house', 1, 3, '2025-02-10', 'minor_renovation', 4000, 'let', '2025-04-01', 1),
           ('p3', 'XA2', 'private', 'house', 1, NULL, '2025-03-31', 'major_renovation', 90000, 'vacant', NULL, 1);
         INSERT INTO placements (placement_id, household_ref, household_size, programme, district_code, referral_date, start_date, end_date, end_reason, _batch_id) VALUES
           ('h1', 'r1', 4, 'public_reception', 'XA2', '2025-01-05', '2025-01-20', '2025-03-10', 'autonomy', 1),
           ('h2', 'r2', 2, 'community_sponsorship', 'XA2', '2025-02-01', '2025-03-03', NULL, NULL, 1);
         INSERT INTO landlord_incentives (incentive_id, landlord_ref, district_code, incentive_type, amount_eur, units, start_date, end_date, status, _batch_id) VALUES
           ('i1', 'l1', 'XA1', 'rent_guarantee', 1200, 1, '2025-01-01', '2025-07-01', 'active', 1),
           ('i2', 'l2', 'XA1', 'signing_bonus', 500, 1, '2025-03-01', NULL, 'offered', 1);
         INSERT INTO social_housing_waiting_list VALUES ('XA1', '2025-02', 10, 2, 100, 1), ('XA2', '2025-02', 30, 3, 200, 1);",
    )
    .unwrap();
    analyze(
        c,
        &SegregationOptions {
            permutations: 0,
            ..Default::default()
        },
    )
    .unwrap();

    assert_eq!(series(c, "XA1", "vacant_units"), s(&[2.0, 3.0, 3.0, 2.0]));
    assert_eq!(series(c, "XA2", "vacant_units"), s(&[0.0, 0.0, 1.0, 1.0]));
    assert_eq!(series(c, "XA", "vacant_units"), s(&[2.0, 3.0, 4.0, 3.0]));
    assert_eq!(value(c, "XA", "2025-03", "vacancy_rate"), Some(4.0 / 150.0));
    assert_eq!(
        series(c, "XA1", "long_term_vacant_units"),
        s(&[2.0, 2.0, 2.0, 2.0])
    );
    assert_eq!(
        series(c, "XA1", "vacant_units_6_12m"),
        s(&[2.0, 2.0, 2.0, 2.0])
    );
    assert_eq!(
        series(c, "XA1", "vacant_units_under_6m"),
        s(&[0.0, 1.0, 1.0, 0.0])
    );
    assert_eq!(
        series(c, "XA1", "public_vacant_units"),
        s(&[2.0, 2.0, 2.0, 2.0])
    );
    assert_eq!(
        series(c, "XA1", "activatable_90d_units"),
        s(&[2.0, 3.0, 3.0, 2.0])
    );
    assert_eq!(
        series(c, "XA1", "cost_to_activate_90d_eur"),
        s(&[0.0, 4000.0, 4000.0, 0.0])
    );
    // Places: p1 max(2 units, 2 × 1 bedroom) = 2; p2 max(1, 2 × 3) = 6, within 30 days (≤ EUR 5,000).
    assert_eq!(series(c, "XA1", "places_now"), s(&[2.0, 2.0, 2.0, 2.0]));
    assert_eq!(series(c, "XA1", "places_30d"), s(&[2.0, 8.0, 8.0, 2.0]));

    assert_eq!(
        series(c, "XA2", "placements_active_households"),
        s(&[1.0, 1.0, 1.0, 1.0])
    );
    assert_eq!(
        series(c, "XA2", "placements_active_persons"),
        s(&[4.0, 4.0, 2.0, 2.0])
    );
    assert_eq!(
        series(c, "XA2", "placements_started"),
        s(&[1.0, 0.0, 1.0, 0.0])
    );
    assert_eq!(
        series(c, "XA2", "placements_ended"),
        s(&[0.0, 0.0, 1.0, 0.0])
    );
    assert_eq!(
        value(c, "XA2", "2025-03", "placements_exit_autonomy_share"),
        Some(1.0)
    );
    assert_eq!(
        value(c, "XA2", "2025-02", "placements_exit_autonomy_share"),
        None,
        "no exits: no share, not 0"
    );
    assert_eq!(
        series(c, "XA", "placements_median_days_to_start"),
        vec![Some(15.0), None, Some(30.0), None]
    );
    assert_eq!(
        series(c, "XA2", "placements_active_community_sponsorship"),
        s(&[0.0, 0.0, 1.0, 1.0])
    );

    // EUR 1,200 over the 6 months January-June: 200 a month for 1 unit.
    assert_eq!(
        series(c, "XA1", "incentive_spend_eur"),
        s(&[200.0, 200.0, 200.0, 200.0])
    );
    assert_eq!(
        value(c, "XA1", "2025-02", "incentive_cost_per_unit_month_eur"),
        Some(200.0)
    );
    assert_eq!(
        series(c, "XA1", "incentive_uptake"),
        s(&[1.0, 1.0, 0.5, 0.5])
    );

    assert_eq!(value(c, "XA", "2025-02", "waiting_applicants"), Some(40.0));
    assert_eq!(
        value(c, "XA", "2025-02", "waiting_median_days"),
        Some(175.0),
        "(10 × 100 + 30 × 200) / 40"
    );
}

#[test]
fn the_demo_municipality_row_is_the_sum_of_its_districts() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest::Store::open_in_memory().unwrap();
    ingest::demo::generate_and_load(&ingest::demo::DemoSpec::standard(42), dir.path(), &store)
        .unwrap();
    let c = store.conn();
    analyze(
        c,
        &SegregationOptions {
            permutations: 19,
            ..Default::default()
        },
    )
    .unwrap();
    let months: i64 = c
        .query_row(
            "SELECT count(DISTINCT period) FROM indicators_monthly",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(months, 36);
    for ind in INDICATORS {
        let id = ind.id;
        let check = match ind.aggregate {
            Aggregate::Sum => format!("sum(d.\"{id}\")"),
            Aggregate::Ratio {
                numerator,
                denominator,
            } => {
                format!(
                    "CASE WHEN sum(d.\"{denominator}\") > 0 THEN sum(d.\"{numerator}\") / sum(d.\"{denominator}\") END"
                )
            }
            Aggregate::Direct => continue,
        };
        let off: i64 = c
            .query_row(
                &format!(
                    "SELECT count(*) FROM (
                        SELECT m.period, any_value(m.\"{id}\") AS whole, {check} AS parts
                        FROM indicators_monthly m JOIN indicators_monthly d ON d.period = m.period AND d.level = 'district'
                        WHERE m.level = 'municipality' GROUP BY m.period)
                     WHERE NOT (whole IS NULL AND parts IS NULL) AND (whole IS NULL OR parts IS NULL OR abs(whole - parts) > 1e-9 * greatest(1, abs(parts)))"
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            off, 0,
            "{id}: municipality differs from its districts in {off} months"
        );
    }
    // The last month agrees with the headline overview computed separately from the rows.
    let o = analytics::overview(c).unwrap();
    let last = |id: &str| value(c, "BE12099", "2026-10", id).unwrap() as i64;
    assert_eq!(
        (
            last("vacant_units"),
            last("ready_units"),
            last("activatable_90d_units")
        ),
        (o.vacant_units, o.ready_units, o.activatable_90d_units)
    );
    assert!(last("placements_active_households") > 0);
}
