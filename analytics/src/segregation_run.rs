//! Segregation of every population group (and of persons placed) against the total population,
//! per period, from the loaded tables; written to `segregation_indices`,
//! `segregation_changes` and `location_quotients`.

use std::collections::HashMap;

use duckdb::{Connection, params};
use polars::prelude::*;
use serde::Serialize;

use crate::segregation::{self as seg, Contiguity};
use crate::{Error, Result, frame};
use ingest::validate::days_from_civil;

/// Choices of a segregation run.
#[derive(Debug, Clone)]
pub struct SegregationOptions {
    /// Groups that together make up the total, for the multigroup indices.
    pub partition: Vec<String>,
    /// Permutations of the significance tests (0 to skip them).
    pub permutations: usize,
    pub seed: u64,
}

impl Default for SegregationOptions {
    fn default() -> Self {
        SegregationOptions {
            partition: vec![
                "national".into(),
                "eu_national".into(),
                "non_eu_national".into(),
            ],
            permutations: 999,
            seed: 20_261_122,
        }
    }
}

/// What a run computed.
#[derive(Debug, Clone, Serialize)]
pub struct SegregationSummary {
    pub periods: usize,
    pub groups: Vec<String>,
    pub index_rows: usize,
    pub latest_period: Option<String>,
}

/// The group name under which persons in active placements are measured.
pub const PLACED: &str = "placed_persons";

struct Grid {
    codes: Vec<String>,
    index: HashMap<String, usize>,
}

impl Grid {
    fn load(conn: &Connection) -> Result<(Grid, Contiguity)> {
        let mut stmt =
            conn.prepare("SELECT district_code, geometry FROM districts ORDER BY district_code")?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let rings: Vec<Vec<Vec<(f64, f64)>>> = rows.iter().map(|(_, g)| rings_of(g)).collect();
        let codes: Vec<String> = rows.into_iter().map(|(c, _)| c).collect();
        let index = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        Ok((Grid { codes, index }, Contiguity::queen(&rings)))
    }
}

fn rings_of(geometry: &str) -> Vec<Vec<(f64, f64)>> {
    let v: serde_json::Value = serde_json::from_str(geometry).unwrap_or_default();
    let polys: Vec<&serde_json::Value> = match v["type"].as_str() {
        Some("Polygon") => vec![&v["coordinates"]],
        Some("MultiPolygon") => v["coordinates"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    polys
        .iter()
        .filter_map(|p| p.as_array())
        .flatten()
        .filter_map(|r| r.as_array())
        .map(|r| {
            r.iter()
                .filter_map(|c| Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?)))
                .collect()
        })
        .collect()
}

/// Last day (days since 1970-01-01) of a period written `YYYY` or `YYYY-MM`.
fn period_end(period: &str) -> Option<i32> {
    let (y, m) = match period.split_once('-') {
        Some((y, m)) => (y.parse::<i64>().ok()?, m.parse::<i64>().ok()?),
        None => (period.parse::<i64>().ok()?, 12),
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((days_from_civil(ny, nm, 1) - 1) as i32)
}

/// Counts per (period, group) aligned to the district grid, with the period totals.
struct Counts {
    totals: HashMap<String, Vec<f64>>,
    groups: HashMap<(String, String), Vec<f64>>,
}

fn counts(conn: &Connection, grid: &Grid) -> Result<Counts> {
    let pop = frame::query(
        conn,
        r#"SELECT district_code, period, "group", persons FROM population"#,
    )?;
    // Sum in case a period holds the same group twice under different spellings upstream.
    let agg = pop
        .lazy()
        .group_by([col("period"), col("group"), col("district_code")])
        .agg([col("persons").sum().alias("persons")])
        .collect()?;
    let (periods, groups, districts, persons) = (
        agg.column("period")?.str()?.clone(),
        agg.column("group")?.str()?.clone(),
        agg.column("district_code")?.str()?.clone(),
        agg.column("persons")?.i64()?.clone(),
    );
    let n = grid.codes.len();
    let mut totals: HashMap<String, Vec<f64>> = HashMap::new();
    let mut by_group: HashMap<(String, String), Vec<f64>> = HashMap::new();
    for i in 0..agg.height() {
        let (Some(p), Some(g), Some(d), Some(v)) = (
            periods.get(i),
            groups.get(i),
            districts.get(i),
            persons.get(i),
        ) else {
            continue;
        };
        let Some(&di) = grid.index.get(d) else {
            continue;
        };
        let slot = if g == "total" {
            totals.entry(p.to_string()).or_insert_with(|| vec![0.0; n])
        } else {
            by_group
                .entry((p.to_string(), g.to_string()))
                .or_insert_with(|| vec![0.0; n])
        };
        slot[di] += v as f64;
    }
    // Persons in placements active at the end of each period, by district.
    let placements = frame::query(
        conn,
        "SELECT district_code, household_size, start_date - DATE '1970-01-01' AS start_day,
                end_date - DATE '1970-01-01' AS end_day
         FROM placements WHERE start_date IS NOT NULL AND district_code IS NOT NULL",
    )?;
    for period in totals.keys().cloned().collect::<Vec<_>>() {
        let Some(end) = period_end(&period) else {
            continue;
        };
        let active = placements
            .clone()
            .lazy()
            .filter(
                col("start_day").lt_eq(lit(end as i64)).and(
                    col("end_day")
                        .is_null()
                        .or(col("end_day").gt(lit(end as i64))),
                ),
            )
            .group_by([col("district_code")])
            .agg([col("household_size").sum().alias("persons")])
            .collect()?;
        let mut x = vec![0.0; n];
        let (codes, persons) = (
            active.column("district_code")?.str()?,
            active.column("persons")?.i64()?,
        );
        for (c, v) in codes.iter().zip(persons.iter()) {
            if let (Some(c), Some(v)) = (c, v)
                && let Some(&di) = grid.index.get(c)
            {
                x[di] += v as f64;
            }
        }
        by_group.insert((period, PLACED.to_string()), x);
    }
    Ok(Counts {
        totals,
        groups: by_group,
    })
}

struct IndexRow {
    period: String,
    group: String,
    index: &'static str,
    value: f64,
    p_value: Option<f64>,
}

/// Computes every index for every period and group and replaces the result tables.
pub fn run_segregation(conn: &Connection, opts: &SegregationOptions) -> Result<SegregationSummary> {
    let t0 = std::time::Instant::now();
    let (grid, w) = Grid::load(conn)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        "segregation: districts and contiguity"
    );
    let counts = counts(conn, &grid)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: counts");
    let mut periods: Vec<String> = counts.totals.keys().cloned().collect();
    periods.sort();
    let latest = periods.last().cloned();
    let mut groups: Vec<String> = counts.groups.keys().map(|(_, g)| g.clone()).collect();
    groups.sort();
    groups.dedup();
    let mut rows: Vec<IndexRow> = Vec::new();
    let mut lqs: Vec<(String, String, usize, Option<f64>)> = Vec::new();
    for period in &periods {
        let t = &counts.totals[period];
        if t.iter().sum::<f64>() <= 0.0 {
            continue;
        }
        let test = opts.permutations > 0 && Some(period) == latest.as_ref();
        for group in &groups {
            let Some(x) = counts.groups.get(&(period.clone(), group.clone())) else {
                continue;
            };
            let big_x: f64 = x.iter().sum();
            if big_x <= 0.0 || x.iter().zip(t).any(|(a, b)| a > b) {
                continue;
            }
            let p = |v: f64, pv: Option<f64>| (v, pv);
            let share: Vec<f64> = x
                .iter()
                .zip(t)
                .map(|(a, b)| if *b > 0.0 { a / b } else { 0.0 })
                .collect();
            let moran = seg::morans_i(&share, &w);
            let values = [
                (
                    "dissimilarity",
                    p(
                        seg::dissimilarity(x, t),
                        test.then(|| {
                            seg::dissimilarity_p_value(x, t, opts.permutations, opts.seed)
                        }),
                    ),
                ),
                ("gini", p(seg::gini(x, t), None)),
                ("entropy", p(seg::entropy(x, t), None)),
                ("isolation", p(seg::isolation(x, t), None)),
                ("exposure", p(seg::exposure(x, t), None)),
                ("atkinson_0_5", p(seg::atkinson(x, t, 0.5), None)),
                (
                    "spatial_dissimilarity",
                    p(seg::spatial_dissimilarity(x, t, &w), None),
                ),
                (
                    "morans_i",
                    p(
                        moran.i,
                        test.then(|| {
                            seg::morans_i_p_value(&share, &w, opts.permutations, opts.seed)
                        }),
                    ),
                ),
            ];
            // Spatial indices need contiguity; districts without boundaries have none.
            let spatial = ["spatial_dissimilarity", "morans_i"];
            for (index, (value, p_value)) in values
                .into_iter()
                .filter(|(i, _)| w.links() > 0 || !spatial.contains(i))
            {
                rows.push(IndexRow {
                    period: period.clone(),
                    group: group.clone(),
                    index,
                    value,
                    p_value,
                });
            }
            for (i, lq) in seg::location_quotients(x, t).into_iter().enumerate() {
                lqs.push((period.clone(), group.clone(), i, lq));
            }
        }
        let parts: Vec<&[f64]> = opts
            .partition
            .iter()
            .filter_map(|g| {
                counts
                    .groups
                    .get(&(period.clone(), g.clone()))
                    .map(Vec::as_slice)
            })
            .collect();
        if parts.len() >= 2 {
            rows.push(IndexRow {
                period: period.clone(),
                group: "all".into(),
                index: "multi_dissimilarity",
                value: seg::multi_dissimilarity(&parts),
                p_value: None,
            });
            rows.push(IndexRow {
                period: period.clone(),
                group: "all".into(),
                index: "multi_information_theory",
                value: seg::multi_information_theory(&parts),
                p_value: None,
            });
        }
    }
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: indices");
    let changes = changes(&counts, &periods, &groups, opts);
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: changes");
    write(conn, &rows, &lqs, &grid, &changes)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: written");
    Ok(SegregationSummary {
        periods: periods.len(),
        groups,
        index_rows: rows.len(),
        latest_period: latest,
    })
}

struct Change {
    group: String,
    from: String,
    to: String,
    d_from: f64,
    d_to: f64,
    low: f64,
    high: f64,
}

/// Change of D from a year before the latest period (or the first period) to the latest, with a
/// 95% bootstrap interval (199 draws): each district's count is redrawn around its share.
fn changes(
    counts: &Counts,
    periods: &[String],
    groups: &[String],
    opts: &SegregationOptions,
) -> Vec<Change> {
    let Some(to) = periods.last() else {
        return Vec::new();
    };
    let from = periods
        .iter()
        .rev()
        .nth(12)
        .or(periods.first())
        .filter(|p| *p != to);
    let Some(from) = from else { return Vec::new() };
    // A 95% interval needs far fewer draws than a p-value of 0.001 does.
    let draws = opts.permutations.clamp(1, 199);
    groups
        .iter()
        .filter_map(|g| {
            let (xa, ta) = (
                counts.groups.get(&(from.clone(), g.clone()))?,
                counts.totals.get(from)?,
            );
            let (xb, tb) = (
                counts.groups.get(&(to.clone(), g.clone()))?,
                counts.totals.get(to)?,
            );
            if xa.iter().sum::<f64>() <= 0.0 || xb.iter().sum::<f64>() <= 0.0 {
                return None;
            }
            let mut diffs: Vec<f64> = (0..draws)
                .map(|k| {
                    let seed = opts.seed ^ (k as u64).wrapping_mul(0x9E37_79B9);
                    seg::dissimilarity(&seg::resample(xb, tb, seed), tb)
                        - seg::dissimilarity(&seg::resample(xa, ta, seed ^ 1), ta)
                })
                .collect();
            diffs.sort_by(f64::total_cmp);
            let q = |f: f64| diffs[((draws as f64 - 1.0) * f).round() as usize];
            Some(Change {
                group: g.clone(),
                from: from.clone(),
                to: to.clone(),
                d_from: seg::dissimilarity(xa, ta),
                d_to: seg::dissimilarity(xb, tb),
                low: q(0.025),
                high: q(0.975),
            })
        })
        .collect()
}

fn write(
    conn: &Connection,
    rows: &[IndexRow],
    lqs: &[(String, String, usize, Option<f64>)],
    grid: &Grid,
    changes: &[Change],
) -> Result<()> {
    let setup = "DELETE FROM segregation_indices; DELETE FROM location_quotients; DELETE FROM segregation_changes;";
    crate::in_transaction(conn, setup, || {
        let mut app = conn.appender("segregation_indices")?;
        for r in rows {
            app.append_row(params![r.period, r.group, r.index, r.value, r.p_value])?;
        }
        app.flush()?;
        let mut app = conn.appender("location_quotients")?;
        app.append_record_batch(lq_batch(lqs, grid)?)?;
        app.flush()?;
        let mut app = conn.appender("segregation_changes")?;
        for c in changes {
            let significant = c.low > 0.0 || c.high < 0.0;
            app.append_row(params![
                c.group,
                c.from,
                c.to,
                c.d_from,
                c.d_to,
                c.d_to - c.d_from,
                c.low,
                c.high,
                significant
            ])?;
        }
        app.flush()?;
        Ok(())
    })
}

/// The location quotients as one Arrow batch (millions of rows at scale).
fn lq_batch(
    lqs: &[(String, String, usize, Option<f64>)],
    grid: &Grid,
) -> Result<duckdb::arrow::record_batch::RecordBatch> {
    use duckdb::arrow::array::{ArrayRef, Float64Array, StringArray};
    use duckdb::arrow::datatypes::{DataType as A, Field, Schema};
    use std::sync::Arc;
    let schema = Schema::new(vec![
        Field::new("period", A::Utf8, false),
        Field::new("group", A::Utf8, false),
        Field::new("district_code", A::Utf8, false),
        Field::new("lq", A::Float64, true),
    ]);
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            lqs.iter().map(|l| l.0.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            lqs.iter().map(|l| l.1.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            lqs.iter().map(|l| grid.codes[l.2].as_str()),
        )),
        Arc::new(lqs.iter().map(|l| l.3).collect::<Float64Array>()),
    ];
    duckdb::arrow::record_batch::RecordBatch::try_new(Arc::new(schema), arrays)
        .map_err(|e| Error::Data(e.to_string()))
}

impl From<std::num::ParseIntError> for Error {
    fn from(e: std::num::ParseIntError) -> Self {
        Error::Data(e.to_string())
    }
}
