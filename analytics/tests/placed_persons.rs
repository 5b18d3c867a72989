//! Segregation of persons placed, on a hand-made municipality worked out by hand: which
//! placements are active at the end of each period, their location quotients and their D.

use analytics::{SegregationOptions, analyze};
use duckdb::Connection;

fn lq(conn: &Connection, period: &str, district: &str) -> Option<f64> {
    conn.query_row(
        "SELECT placed_persons FROM location_quotients WHERE period = ? AND district_code = ?",
        [period, district],
        |r| r.get(0),
    )
    .unwrap()
}

fn index(conn: &Connection, period: &str, group: &str, index: &str) -> f64 {
    conn.query_row(
        r#"SELECT value FROM segregation_indices WHERE period = ? AND "group" = ? AND "index" = ?"#,
        [period, group, index],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn persons_placed_count_at_the_end_of_each_period() {
    let store = ingest::Store::open_in_memory().unwrap();
    let c = store.conn();
    // Two districts of 100 residents in January and February 2024.
    // h1 (4 persons, A): from 10 January, still placed  → January and February.
    // h2 (2 persons, B): 20 January to 5 February       → January only.
    // h3 (3 persons, B): from 10 February               → February only.
    // h4 (5 persons, A): 1 December to 31 January       → ends on January's last day: neither.
    c.execute_batch(
        "INSERT INTO districts VALUES ('XA1', 'A', 'XA', '{}', 100, NULL, 1), ('XA2', 'B', 'XA', '{}', 50, NULL, 1);
         INSERT INTO population SELECT d, p, g, n, 1 FROM (VALUES ('XA1'), ('XA2')) a(d), (VALUES ('2024-01'), ('2024-02')) b(p),
             (VALUES ('total', 100), ('national', 60), ('non_eu_national', 40)) c(g, n);
         UPDATE population SET persons = 90 WHERE district_code = 'XA2' AND \"group\" = 'national';
         UPDATE population SET persons = 10 WHERE district_code = 'XA2' AND \"group\" = 'non_eu_national';
         INSERT INTO placements (placement_id, household_ref, household_size, programme, district_code, referral_date, start_date, end_date, end_reason, _batch_id) VALUES
           ('h1', 'r1', 4, 'public_reception', 'XA1', '2024-01-01', '2024-01-10', NULL, NULL, 1),
           ('h2', 'r2', 2, 'public_reception', 'XA2', '2024-01-01', '2024-01-20', '2024-02-05', 'autonomy', 1),
           ('h3', 'r3', 3, 'community_sponsorship', 'XA2', '2024-02-01', '2024-02-10', NULL, NULL, 1),
           ('h4', 'r4', 5, 'public_reception', 'XA1', '2023-11-01', '2023-12-01', '2024-01-31', 'autonomy', 1);",
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

    // January: A 4, B 2 of 200 residents (share 0.03) → LQ 0.04/0.03 and 0.02/0.03.
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
    assert!(close(lq(c, "2024-01", "XA1"), 4.0 / 3.0));
    assert!(close(lq(c, "2024-01", "XA2"), 2.0 / 3.0));
    // February: A 4, B 3 (share 0.035).
    assert!(close(lq(c, "2024-02", "XA1"), 0.04 / 0.035));
    assert!(close(lq(c, "2024-02", "XA2"), 0.03 / 0.035));
    // D = ½ Σ |x_i/X − (t_i − x_i)/(T − X)|: January ½ (|4/6 − 96/194| + |2/6 − 98/194|).
    let d_jan = 0.5 * ((4.0 / 6.0 - 96.0 / 194.0_f64).abs() + (2.0 / 6.0 - 98.0 / 194.0_f64).abs());
    let d_feb = 0.5 * ((4.0 / 7.0 - 96.0 / 193.0_f64).abs() + (3.0 / 7.0 - 97.0 / 193.0_f64).abs());
    assert!((index(c, "2024-01", "placed_persons", "dissimilarity") - d_jan).abs() < 1e-12);
    assert!((index(c, "2024-02", "placed_persons", "dissimilarity") - d_feb).abs() < 1e-12);
    // The population groups sit beside it in the same table: non-EU nationals 40 and 10.
    let non_eu: f64 = c
        .query_row(
            "SELECT non_eu_national FROM location_quotients WHERE period = '2024-02' AND district_code = 'XA1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!((non_eu - 0.4 / 0.25).abs() < 1e-12);
}
