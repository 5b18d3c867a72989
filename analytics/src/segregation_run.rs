//! Segregation of every population group (and of persons placed) against the total population,
//! per period, from the loaded tables; written to `segregation_indices`,
//! `segregation_changes` and `location_quotients`.

use std::collections::HashMap;

use duckdb::{Connection, params};
use rayon::prelude::*;
use serde::Serialize;

use crate::segregation::{self as seg, Contiguity};
use crate::{DISTRICT_INDEX, Error, Result, frame};
use ingest::validate::days_from_civil;

/// Choices of a segregation run.
#[derive(Debug, Clone)]
pub struct SegregationOptions {
    /// Groups that together make up the total, for the multigroup indices; `None`: found in
    /// the data (the largest set of the population's groups whose counts add up to `total` in
    /// every district).
    pub partition: Option<Vec<String>>,
    /// Permutations of the significance tests (0 to skip them).
    pub permutations: usize,
    pub seed: u64,
}

impl Default for SegregationOptions {
    fn default() -> Self {
        SegregationOptions {
            partition: None,
            permutations: 999,
            seed: 20_261_122,
        }
    }
}

/// What a run computed.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SegregationSummary {
    pub periods: usize,
    pub groups: Vec<String>,
    pub index_rows: usize,
    pub latest_period: Option<String>,
    /// The groups of the multigroup indices.
    #[serde(default)]
    pub partition: Vec<String>,
    /// Where the partition does not add up to the total (districts and periods), or why there
    /// is none: the multigroup indices are left out there, and this says so.
    #[serde(default)]
    pub partition_problems: Vec<String>,
}

/// The group name under which persons in active placements are measured.
pub const PLACED: &str = "placed_persons";

struct Grid {
    codes: Vec<String>,
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
        Ok((Grid { codes }, Contiguity::queen(&rings)))
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

/// Distinct values of a text column, in order, and SQL that numbers them from 0 as `name`.
fn numbered(
    conn: &Connection,
    table: &str,
    column: &str,
    name: &str,
) -> Result<(Vec<String>, String)> {
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT \"{column}\" FROM {table} ORDER BY 1"
    ))?;
    let values: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let sql = format!(
        "(SELECT \"{column}\", (row_number() OVER (ORDER BY \"{column}\") - 1)::BIGINT AS {name}
          FROM (SELECT DISTINCT \"{column}\" FROM {table}))"
    );
    Ok((values, sql))
}

fn counts(conn: &Connection, grid: &Grid) -> Result<Counts> {
    // Periods, groups and districts travel as numbers; the texts are looked up once.
    let (periods, period_ids) = numbered(conn, "population", "period", "p")?;
    let (groups, group_ids) = numbered(conn, "population", "group", "g")?;
    let pop = frame::query(
        conn,
        &format!(
            r#"{DISTRICT_INDEX}
            SELECT di.d, pi.p, gi.g, persons FROM population
            JOIN di USING (district_code) JOIN {period_ids} pi USING (period) JOIN {group_ids} gi USING ("group")"#
        ),
    )?;
    let n = grid.codes.len();
    let mut cells = vec![vec![vec![0.0; n]; groups.len()]; periods.len()];
    let (d, p, g, v) = (
        pop.column("d")?.i64()?,
        pop.column("p")?.i64()?,
        pop.column("g")?.i64()?,
        pop.column("persons")?.i64()?,
    );
    // Summed, in case a period holds the same group twice under different spellings upstream.
    for (((d, p), g), v) in d.iter().zip(p.iter()).zip(g.iter()).zip(v.iter()) {
        if let (Some(d), Some(p), Some(g), Some(v)) = (d, p, g, v) {
            cells[p as usize][g as usize][d as usize] += v as f64;
        }
    }
    let mut totals: HashMap<String, Vec<f64>> = HashMap::new();
    let mut by_group: HashMap<(String, String), Vec<f64>> = HashMap::new();
    for (period, row) in periods.iter().zip(cells) {
        for (group, x) in groups.iter().zip(row) {
            if group == "total" {
                totals.insert(period.clone(), x);
            } else {
                by_group.insert((period.clone(), group.clone()), x);
            }
        }
    }
    // Persons in placements active at the end of each period, by district: a placement counts
    // in every period that ends on or after its start and before its end.
    let placements = frame::query(
        conn,
        &format!(
            "{DISTRICT_INDEX}
             SELECT di.d, household_size::DOUBLE AS persons, (start_date - DATE '1970-01-01')::BIGINT AS start_day,
                    (end_date - DATE '1970-01-01')::BIGINT AS end_day
             FROM placements JOIN di USING (district_code) WHERE start_date IS NOT NULL"
        ),
    )?;
    let mut ends: Vec<(i64, &String)> = totals
        .keys()
        .filter_map(|p| Some((i64::from(period_end(p)?), p)))
        .collect();
    ends.sort();
    let first_ending_from = |day: i64| ends.partition_point(|(e, _)| *e < day);
    let mut delta = vec![vec![0.0; n]; ends.len() + 1];
    let (d, persons, start, end) = (
        placements.column("d")?.i64()?,
        placements.column("persons")?.f64()?,
        placements.column("start_day")?.i64()?,
        placements.column("end_day")?.i64()?,
    );
    for i in 0..placements.height() {
        let (Some(d), Some(size), Some(start)) = (d.get(i), persons.get(i), start.get(i)) else {
            continue;
        };
        let from = first_ending_from(start);
        let to = end.get(i).map_or(ends.len(), first_ending_from);
        if from < to {
            delta[from][d as usize] += size;
            delta[to][d as usize] -= size;
        }
    }
    let mut running = vec![0.0; n];
    for ((_, period), step) in ends.iter().zip(delta) {
        for (r, s) in running.iter_mut().zip(step) {
            *r += s;
        }
        by_group.insert(((*period).clone(), PLACED.to_string()), running.clone());
    }
    Ok(Counts {
        totals,
        groups: by_group,
    })
}

/// Each district's share of the group (0 where the district is empty).
fn shares(x: &[f64], t: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(t)
        .map(|(a, b)| if *b > 0.0 { a / b } else { 0.0 })
        .collect()
}

/// Every index of one group in one period, with the permutation p-values of D and Moran's I
/// where `test` holds them. The spatial indices need contiguity: districts without boundaries
/// have none.
fn index_values(
    x: &[f64],
    t: &[f64],
    w: &Contiguity,
    test: Option<(f64, f64)>,
) -> Vec<(&'static str, f64, Option<f64>)> {
    let share = shares(x, t);
    let moran = seg::morans_i(&share, w);
    let values = [
        ("dissimilarity", seg::dissimilarity(x, t), test.map(|t| t.0)),
        ("gini", seg::gini(x, t), None),
        ("entropy", seg::entropy(x, t), None),
        ("isolation", seg::isolation(x, t), None),
        ("exposure", seg::exposure(x, t), None),
        ("atkinson_0_5", seg::atkinson(x, t, 0.5), None),
        (
            "spatial_dissimilarity",
            seg::spatial_dissimilarity(x, t, w),
            None,
        ),
        ("morans_i", moran.i, test.map(|t| t.1)),
    ];
    let spatial = ["spatial_dissimilarity", "morans_i"];
    values
        .into_iter()
        .filter(|(i, _, _)| w.links() > 0 || !spatial.contains(i))
        .collect()
}

/// The indices of one group from counts given per period (districts in code order) against the
/// population totals, with the permutation tests of the latest period and the bootstrap of the
/// change of D over the last year: what `haven publish` computes for persons placed from the
/// protected counts. Periods without population totals, or with a count above its total, are
/// left out.
pub fn indices_for(
    conn: &Connection,
    group: &str,
    counts: &[(String, Vec<f64>)],
    opts: &SegregationOptions,
) -> Result<GroupIndices> {
    let (grid, w) = Grid::load(conn)?;
    let all = self::counts(conn, &grid)?;
    let usable: Vec<&(String, Vec<f64>)> = counts
        .iter()
        .filter(|(p, x)| {
            all.totals.get(p).is_some_and(|t| {
                t.len() == x.len()
                    && t.iter().sum::<f64>() > 0.0
                    && x.iter().sum::<f64>() > 0.0
                    && x.iter().zip(t).all(|(a, b)| a <= b)
            })
        })
        .collect();
    let latest = usable.iter().map(|(p, _)| p).max().cloned();
    let mut out = GroupIndices::default();
    for (period, x) in &usable {
        let t = &all.totals[period];
        let test = (opts.permutations > 0 && Some(period) == latest.as_ref()).then(|| {
            (
                seg::dissimilarity_p_value(x, t, opts.permutations, opts.seed),
                seg::morans_i_p_value(&shares(x, t), &w, opts.permutations, opts.seed),
            )
        });
        for (index, value, p_value) in index_values(x, t, &w, test) {
            out.rows.push(IndexRow {
                period: period.clone(),
                group: group.to_string(),
                index,
                value,
                p_value,
            });
        }
        out.lqs
            .push((period.clone(), seg::location_quotients(x, t)));
    }
    let periods: Vec<String> = {
        let mut p: Vec<String> = usable.iter().map(|(p, _)| p.clone()).collect();
        p.sort();
        p
    };
    let mut one = Counts {
        totals: all.totals.clone(),
        groups: HashMap::new(),
    };
    for (p, x) in &usable {
        one.groups.insert((p.clone(), group.to_string()), x.clone());
    }
    out.change = changes(&one, &periods, &[group.to_string()], opts)
        .into_iter()
        .next();
    Ok(out)
}

/// The indices of one group: rows of `segregation_indices`, location quotients per period, and
/// the change of D over the last year.
#[derive(Debug, Default)]
pub struct GroupIndices {
    pub rows: Vec<IndexRow>,
    pub lqs: Vec<(String, Vec<Option<f64>>)>,
    pub change: Option<Change>,
}

/// One row of `segregation_indices`.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub period: String,
    pub group: String,
    pub index: &'static str,
    pub value: f64,
    pub p_value: Option<f64>,
}

/// Computes every index for every period and group and replaces the result tables.
pub fn run_segregation(
    conn: &Connection,
    opts: &SegregationOptions,
    progress: &dyn crate::Progress,
) -> Result<SegregationSummary> {
    let t0 = std::time::Instant::now();
    crate::migrate(conn)?;
    let (grid, w) = Grid::load(conn)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        "segregation: districts and contiguity"
    );
    progress.step("district contiguity");
    let counts = counts(conn, &grid)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: counts");
    progress.step("population counts");
    let mut periods: Vec<String> = counts.totals.keys().cloned().collect();
    periods.sort();
    let latest = periods.last().cloned();
    let mut groups: Vec<String> = counts.groups.keys().map(|(_, g)| g.clone()).collect();
    groups.sort();
    groups.dedup();
    // The permutation tests of the latest period, one group per worker.
    let tests: HashMap<&String, (f64, f64)> = match &latest {
        Some(period) if opts.permutations > 0 => groups
            .par_iter()
            .filter_map(|group| {
                let t = counts.totals.get(period)?;
                let x = counts.groups.get(&(period.clone(), group.clone()))?;
                let share = shares(x, t);
                Some((
                    group,
                    (
                        seg::dissimilarity_p_value(x, t, opts.permutations, opts.seed),
                        seg::morans_i_p_value(&share, &w, opts.permutations, opts.seed),
                    ),
                ))
            })
            .collect(),
        _ => HashMap::new(),
    };
    let partition = partition_of(
        &counts,
        &grid.codes,
        &periods,
        &groups,
        opts.partition.as_deref(),
    );
    let mut rows: Vec<IndexRow> = Vec::new();
    let mut lqs: Vec<PeriodLqs> = Vec::new();
    for period in &periods {
        let t = &counts.totals[period];
        if t.iter().sum::<f64>() <= 0.0 {
            continue;
        }
        let test = opts.permutations > 0 && Some(period) == latest.as_ref();
        let mut period_lqs = HashMap::new();
        for group in &groups {
            let Some(x) = counts.groups.get(&(period.clone(), group.clone())) else {
                continue;
            };
            let big_x: f64 = x.iter().sum();
            if big_x <= 0.0 || x.iter().zip(t).any(|(a, b)| a > b) {
                continue;
            }
            let test = test.then(|| tests.get(group)).flatten().copied();
            for (index, value, p_value) in index_values(x, t, &w, test) {
                rows.push(IndexRow {
                    period: period.clone(),
                    group: group.clone(),
                    index,
                    value,
                    p_value,
                });
            }
            period_lqs.insert(group.clone(), seg::location_quotients(x, t));
        }
        lqs.push((period.clone(), period_lqs));
        let parts: Vec<&[f64]> = if partition.periods.contains(period) {
            partition
                .groups
                .iter()
                .filter_map(|g| {
                    counts
                        .groups
                        .get(&(period.clone(), g.clone()))
                        .map(Vec::as_slice)
                })
                .collect()
        } else {
            Vec::new()
        };
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
    progress.step("segregation indices");
    let changes = changes(&counts, &periods, &groups, opts);
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: changes");
    progress.step("changes over the year");
    write(conn, &rows, &lqs, &groups, &grid, &changes)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "segregation: written");
    progress.step("segregation written");
    Ok(SegregationSummary {
        periods: periods.len(),
        groups,
        index_rows: rows.len(),
        latest_period: latest,
        partition: partition.groups,
        partition_problems: partition.problems,
    })
}

/// The groups of the multigroup indices, the periods where they add up to the total, and what
/// went wrong elsewhere.
struct Partition {
    groups: Vec<String>,
    periods: std::collections::HashSet<String>,
    problems: Vec<String>,
}

/// Groups found in the data are tried in every combination up to this many groups.
const MAX_SEARCHED_GROUPS: usize = 12;

/// Districts where `parts` do not add up to the total in `period`: (district, parts, total).
fn mismatches(counts: &Counts, period: &str, parts: &[String]) -> Option<Vec<(usize, f64, f64)>> {
    let t = counts.totals.get(period)?;
    let mut sum = vec![0.0; t.len()];
    for g in parts {
        let x = counts.groups.get(&(period.to_string(), g.clone()))?;
        for (s, v) in sum.iter_mut().zip(x) {
            *s += v;
        }
    }
    Some(
        sum.into_iter()
            .zip(t)
            .enumerate()
            .filter(|(_, (s, t))| (s - **t).abs() > 0.5)
            .map(|(d, (s, t))| (d, s, *t))
            .collect(),
    )
}

/// The partition of the multigroup indices: `given` (haven.toml), checked period by period; or
/// the largest set of groups that adds up to the total in every district of the latest period,
/// then checked on every period. Periods where it does not add up are named with their
/// districts, never skipped in silence.
fn partition_of(
    counts: &Counts,
    codes: &[String],
    periods: &[String],
    groups: &[String],
    given: Option<&[String]>,
) -> Partition {
    let candidates: Vec<String> = groups.iter().filter(|g| *g != PLACED).cloned().collect();
    let mut problems = Vec::new();
    let chosen: Vec<String> = match given {
        Some(g) => g.to_vec(),
        None => {
            let Some(latest) = periods.last() else {
                return Partition {
                    groups: Vec::new(),
                    periods: Default::default(),
                    problems,
                };
            };
            let n = candidates.len();
            let fits =
                |set: &[String]| mismatches(counts, latest, set).is_some_and(|m| m.is_empty());
            let mut found = None;
            if n <= MAX_SEARCHED_GROUPS {
                'size: for k in (2..=n).rev() {
                    for mask in 0u32..(1 << n) {
                        if mask.count_ones() as usize != k {
                            continue;
                        }
                        let set: Vec<String> = (0..n)
                            .filter(|i| mask & (1 << i) != 0)
                            .map(|i| candidates[i].clone())
                            .collect();
                        if fits(&set) {
                            found = Some(set);
                            break 'size;
                        }
                    }
                }
            } else if fits(&candidates) {
                found = Some(candidates.clone());
            }
            match found {
                Some(set) => set,
                None => {
                    if n >= 2 {
                        problems.push(format!(
                            "no set of the groups ({}) adds up to total in {latest}, so there are no \
                             multigroup indices; name the groups that do in haven.toml \
                             ([analysis] groups)",
                            candidates.join(", ")
                        ));
                    }
                    return Partition {
                        groups: Vec::new(),
                        periods: Default::default(),
                        problems,
                    };
                }
            }
        }
    };
    let mut ok = std::collections::HashSet::new();
    let mut failing = 0usize;
    for period in periods {
        let found = mismatches(counts, period, &chosen);
        if found.as_ref().is_some_and(|m| m.is_empty()) {
            ok.insert(period.clone());
            continue;
        }
        failing += 1;
        if failing > 6 {
            continue;
        }
        match found {
            Some(m) => {
                let shown: Vec<String> = m
                    .iter()
                    .take(5)
                    .map(|(d, s, t)| format!("{} ({s} against {t})", codes[*d]))
                    .collect();
                problems.push(format!(
                    "{period}: {} do not add up to total in {} districts: {}{}",
                    chosen.join(" + "),
                    m.len(),
                    shown.join(", "),
                    if m.len() > 5 { ", …" } else { "" }
                ));
            }
            None => problems.push(format!(
                "{period}: not every group of {} is given",
                chosen.join(" + ")
            )),
        }
    }
    if failing > 6 {
        problems.push(format!("and {} more periods", failing - 6));
    }
    Partition {
        groups: chosen,
        periods: ok,
        problems,
    }
}

/// The change of D from a year before the latest period to the latest, with its 95% bootstrap
/// interval.
#[derive(Debug, Clone)]
pub struct Change {
    pub group: String,
    pub from: String,
    pub to: String,
    pub d_from: f64,
    pub d_to: f64,
    pub low: f64,
    pub high: f64,
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
        .par_iter()
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
            let (ra, rb) = (seg::Resampler::new(xa, ta), seg::Resampler::new(xb, tb));
            let mut diffs: Vec<f64> = (0..draws)
                .map(|k| {
                    let seed = opts.seed ^ (k as u64).wrapping_mul(0x9E37_79B9);
                    seg::dissimilarity(&rb.draw(seed), tb)
                        - seg::dissimilarity(&ra.draw(seed ^ 1), ta)
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

/// The location quotients of one period: per group, one value per district (in code order).
type PeriodLqs = (String, HashMap<String, Vec<Option<f64>>>);

fn write(
    conn: &Connection,
    rows: &[IndexRow],
    lqs: &[PeriodLqs],
    groups: &[String],
    grid: &Grid,
    changes: &[Change],
) -> Result<()> {
    // One row per period and district, one column per group: a fifth of the rows of the long
    // form, and the table the map reads one column of.
    let columns: String = groups.iter().map(|g| format!(", \"{g}\" DOUBLE")).collect();
    let setup = format!(
        "DELETE FROM segregation_indices; DELETE FROM segregation_changes;
         DROP TABLE IF EXISTS location_quotients;
         CREATE TABLE location_quotients (period VARCHAR NOT NULL, district_code VARCHAR NOT NULL{columns});"
    );
    crate::in_transaction(conn, &setup, || {
        let mut app = conn.appender("segregation_indices")?;
        for r in rows {
            app.append_row(params![r.period, r.group, r.index, r.value, r.p_value])?;
        }
        app.flush()?;
        let mut app = conn.appender("location_quotients")?;
        app.append_record_batch(lq_batch(lqs, groups, grid)?)?;
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

/// The location quotients as one Arrow batch (hundreds of thousands of rows at scale).
fn lq_batch(
    lqs: &[PeriodLqs],
    groups: &[String],
    grid: &Grid,
) -> Result<duckdb::arrow::record_batch::RecordBatch> {
    use duckdb::arrow::array::{ArrayRef, Float64Array, StringArray};
    use duckdb::arrow::datatypes::{DataType as A, Field, Schema};
    use std::sync::Arc;
    let n = grid.codes.len();
    let mut fields = vec![
        Field::new("period", A::Utf8, false),
        Field::new("district_code", A::Utf8, false),
    ];
    fields.extend(groups.iter().map(|g| Field::new(g, A::Float64, true)));
    let periods: Vec<&str> = lqs
        .iter()
        .flat_map(|(p, _)| std::iter::repeat_n(p.as_str(), n))
        .collect();
    let codes: Vec<&str> = lqs
        .iter()
        .flat_map(|_| grid.codes.iter().map(String::as_str))
        .collect();
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(periods)),
        Arc::new(StringArray::from(codes)),
    ];
    for g in groups {
        let values: Float64Array = lqs
            .iter()
            .flat_map(|(_, by_group)| match by_group.get(g) {
                Some(v) => v.clone(),
                None => vec![None; n],
            })
            .collect();
        arrays.push(Arc::new(values));
    }
    duckdb::arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::Data(e.to_string()))
}

impl From<std::num::ParseIntError> for Error {
    fn from(e: std::num::ParseIntError) -> Self {
        Error::Data(e.to_string())
    }
}
