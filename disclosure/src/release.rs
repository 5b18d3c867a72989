//! The disclosure step of a release, on the database. [`stage`] reads the true personal table
//! (`indicators_monthly` and the placements register), refuses a release that differs from the
//! last by too few placement records, protects and audits the table against every earlier
//! release, and writes what the release will publish into `staged_*` tables: the indicators,
//! the placements per year and the segregation tables, whose figures of persons placed are
//! computed from the protected counts only. [`commit`] makes them the published tables and
//! records what was published, with the true values behind it, in the ledger the next release
//! is audited against; the caller runs it in the transaction that records the release.

use std::collections::HashMap;

use analytics::registry::{Class, INDICATORS, Publication};
use duckdb::{Connection, params};
use serde::Serialize;

use crate::audit::{Audit, year_figure};
use crate::suppress::{DEFAULT_K, DEFAULT_PROTECTION, MIN_K, Params, protect};
use crate::table::{HOMES_LET, HOUSED, PROGRAMMES, Pattern, SUSTAINED, Truth, Year, YearPattern};
use crate::view::{View, slack, year_values, year_withheld};

/// The published tables a release replaces, each written first as `staged_<name>`.
pub const PUBLISHED_TABLES: &[&str] = &[
    "indicators_published",
    "placements_years",
    "segregation_published",
    "location_quotients_published",
    "segregation_changes_published",
    "pipeline_published",
    "pipeline_stages_published",
];

/// How releases are protected and when one may be made.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Counts from 1 to k−1 are never published (never below 3).
    pub k: i64,
    /// The width every withheld cell's interval must keep over everything published.
    pub protection: i64,
    /// A release whose placements differ from the last release's by fewer records than this,
    /// but by some, is held back.
    pub min_changed_records: i64,
    #[serde(skip)]
    pub segregation: analytics::SegregationOptions,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            k: DEFAULT_K,
            protection: DEFAULT_PROTECTION,
            min_changed_records: 10,
            segregation: analytics::SegregationOptions::default(),
        }
    }
}

/// The one error type of the disclosure step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] duckdb::Error),
    #[error("{0}")]
    Analytics(#[from] analytics::Error),
    #[error("nothing to publish yet: load data and run `haven analyze` first")]
    NotAnalysed,
    #[error(
        "release held back: the placements differ from release v{last} by {changed} record(s); a new release needs none or at least {needed}, so that no release describes a few households"
    )]
    HeldBack {
        last: u32,
        changed: i64,
        needed: i64,
    },
    #[error("release refused: the audit could not prove {} withheld cell(s) protected: {}", .failures.len(), list(.failures))]
    Audit { failures: Vec<crate::Failure> },
    #[error("{0}")]
    Data(String),
}

fn list(f: &[crate::Failure]) -> String {
    let mut s: Vec<String> = f
        .iter()
        .take(8)
        .map(|f| format!("{} (interval {} wide)", f.cell, f.width))
        .collect();
    if f.len() > 8 {
        s.push(format!("and {} more", f.len() - 8));
    }
    s.join("; ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A release made ready: what it will publish is in the `staged_*` tables.
#[derive(Debug, Clone, Serialize)]
pub struct Staged {
    pub audit: Audit,
    /// Placement records added, changed or removed since the last release.
    pub changed_records: i64,
    pub withheld_cells: usize,
    /// Milliseconds spent reading the personal table and the ledger, protecting (suppression
    /// with its audit) and writing the staged tables (indices from protected counts included).
    pub millis: Timings,
    #[serde(skip)]
    truth: Truth,
    #[serde(skip)]
    pattern: Pattern,
}

/// Where the time of a stage went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub read: u64,
    pub protect: u64,
    pub write: u64,
}

/// Creates the tables of the disclosure step.
pub fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS disclosure_key (key UBIGINT NOT NULL);
         CREATE TABLE IF NOT EXISTS disclosure_cells (version INTEGER NOT NULL, kind VARCHAR NOT NULL,
           area VARCHAR NOT NULL, period VARCHAR NOT NULL, value BIGINT NOT NULL, withheld BOOLEAN NOT NULL);
         CREATE TABLE IF NOT EXISTS disclosure_slack (version INTEGER NOT NULL, year VARCHAR NOT NULL, slack BIGINT NOT NULL);
         CREATE TABLE IF NOT EXISTS disclosure_records (placement_id VARCHAR NOT NULL, digest VARCHAR NOT NULL);",
    )?;
    Ok(())
}

/// The secret that orders the choice of further withheld cells: drawn once from the operating
/// system and kept in the database, never published.
fn key(conn: &Connection) -> Result<u64> {
    let existing: Option<u64> = conn
        .query_row("SELECT key FROM disclosure_key LIMIT 1", [], |r| r.get(0))
        .ok();
    if let Some(k) = existing {
        return Ok(k);
    }
    let mut bytes = [0u8; 8];
    let drawn = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    if !drawn {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = ((t as u64) ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    let k = u64::from_le_bytes(bytes);
    conn.execute("INSERT INTO disclosure_key VALUES (?)", params![k])?;
    Ok(k)
}

/// The placements columns a record's digest covers: every schema field.
fn digest_sql() -> String {
    let fields: Vec<String> = ingest::schema::get("placements")
        .map(|s| {
            s.fields
                .iter()
                .map(|f| format!("coalesce(\"{}\"::VARCHAR, '\u{1}')", f.name))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "SELECT placement_id::VARCHAR AS placement_id, md5(concat_ws('|', {})) AS digest FROM placements",
        fields.join(", ")
    )
}

/// Placement records added, changed or removed since the last release's snapshot.
fn changed_records(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        &format!(
            "SELECT count(*) FROM ({}) now FULL OUTER JOIN disclosure_records r USING (placement_id)
             WHERE now.digest IS DISTINCT FROM r.digest",
            digest_sql()
        ),
        [],
        |r| r.get(0),
    )?)
}

/// The largest household the placements schema allows.
fn max_household() -> i64 {
    ingest::schema::get("placements")
        .ok()
        .and_then(|s| {
            s.fields
                .iter()
                .find(|f| f.name == "household_size")
                .and_then(|f| f.constraints.maximum)
        })
        .map_or(30, |m| m as i64)
}

/// The true personal table: stocks from `indicators_monthly`, the flows of every complete
/// calendar year from the register (the same placements, those with a district).
pub fn truth(conn: &Connection) -> Result<Truth> {
    if !ingest::store::has_table(conn, "indicators_monthly")
        .map_err(|e| Error::Data(e.to_string()))?
    {
        return Err(Error::NotAnalysed);
    }
    let mut t = Truth {
        max_household: max_household(),
        ..Default::default()
    };
    let mut stmt = conn.prepare(
        "SELECT area_code, period, coalesce(placements_active_households, 0), coalesce(placements_active_persons, 0)
         FROM indicators_monthly WHERE level = 'district' ORDER BY area_code, period",
    )?;
    let rows: Vec<(String, String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (code, period, _, _) in &rows {
        if t.districts.last() != Some(code) {
            t.districts.push(code.clone());
        }
        if t.districts.len() == 1 {
            t.months.push(period.clone());
        }
    }
    if t.districts.is_empty() || t.months.is_empty() {
        return Err(Error::NotAnalysed);
    }
    if rows.len() != t.districts.len() * t.months.len() {
        return Err(Error::Data(
            "indicators_monthly does not hold every district in every month: run `haven analyze --full`".into(),
        ));
    }
    t.households = rows.iter().map(|r| r.2).collect();
    t.persons = rows.iter().map(|r| r.3).collect();
    // Complete calendar years after the first month (that month's starts are not tied to any
    // change of the stocks).
    let index: HashMap<&str, usize> = t
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut labels: Vec<&str> = t.months.iter().map(|m| &m[..4]).collect();
    labels.dedup();
    let mut years: Vec<(String, usize, usize)> = Vec::new();
    for y in labels {
        let (Some(&a), Some(&b)) = (
            index.get(format!("{y}-01").as_str()),
            index.get(format!("{y}-12").as_str()),
        ) else {
            continue;
        };
        if a >= 1 && b == a + 11 {
            years.push((y.to_string(), a, b + 1));
        }
    }
    let programmes: String = PROGRAMMES
        .iter()
        .map(|p| format!(", count(*) FILTER (WHERE programme = '{p}')"))
        .collect();
    let placed = "SELECT p.* FROM placements p JOIN districts USING (district_code) WHERE p.start_date IS NOT NULL";
    let mut started: HashMap<String, (i64, Vec<i64>, Option<f64>)> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT year(start_date)::VARCHAR, count(*){programmes}, median(start_date - referral_date)::DOUBLE
         FROM ({placed}) GROUP BY 1"
    ))?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        let by: Vec<i64> = (0..PROGRAMMES.len())
            .map(|i| r.get(2 + i))
            .collect::<Result<_, _>>()?;
        started.insert(r.get(0)?, (r.get(1)?, by, r.get(2 + PROGRAMMES.len())?));
    }
    let mut ended: HashMap<String, (i64, i64)> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT year(end_date)::VARCHAR, count(*), count(*) FILTER (WHERE end_reason = 'autonomy')
         FROM ({placed}) WHERE end_date IS NOT NULL GROUP BY 1"
    ))?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        ended.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
    }
    let activation = activation(conn, placed)?;
    for (label, first, end) in years {
        let (housed, homes_let, sustained, cost) =
            activation.get(&label).copied().unwrap_or_default();
        let (s, by, median) =
            started
                .get(&label)
                .cloned()
                .unwrap_or((0, vec![0; PROGRAMMES.len()], None));
        let (e, a) = ended.get(&label).copied().unwrap_or((0, 0));
        t.years.push(Year {
            label,
            first,
            end,
            started: s,
            ended: e,
            ended_autonomy: a,
            started_by_programme: by,
            median_days_to_start: median,
            housed,
            homes_let,
            sustained,
            cost_homes_let_eur: cost,
        });
    }
    t.check().map_err(Error::Data)?;
    // The flows must account for the stocks, or the attacker's model would not hold.
    for y in &t.years {
        let change = t.total_households(y.end - 1) - t.total_households(y.first - 1);
        if change != y.started - y.ended {
            return Err(Error::Data(format!(
                "the placements of {} do not add up: households changed by {change}, {} started and {} ended; run `haven analyze --full`",
                y.label, y.started, y.ended
            )));
        }
    }
    Ok(t)
}

/// Per year label: households housed in homes of the vacancy register, homes let for the first
/// time, tenancies in them sustained, and the cost of the homes let (from the pipeline's homes).
type Activation = HashMap<String, (i64, i64, i64, f64)>;

/// The end of the activation pipeline per year, from the same placements as the flows.
fn activation(conn: &Connection, placed: &str) -> Result<Activation> {
    let mut out: Activation = HashMap::new();
    let has = |t: &str| ingest::store::has_table(conn, t).unwrap_or(false);
    if !has("vacant_properties") {
        return Ok(out);
    }
    let cost = if has("pipeline_homes") {
        "(SELECT property_id, cost_eur FROM pipeline_homes)"
    } else {
        "(SELECT NULL::VARCHAR AS property_id, 0::DOUBLE AS cost_eur LIMIT 0)"
    };
    let days = analytics::pipeline::SUSTAINED_DAYS;
    let reg = format!(
        "(SELECT p.* FROM ({placed}) p WHERE p.property_id IN (SELECT property_id FROM vacant_properties))"
    );
    let sql = format!(
        "WITH reg AS {reg},
         firsts AS (SELECT property_id, min(start_date) AS first_start FROM reg GROUP BY 1),
         housed AS (SELECT year(start_date)::VARCHAR AS y, count(*) AS n FROM reg GROUP BY 1),
         let AS (SELECT year(first_start)::VARCHAR AS y, count(*) AS n,
                        coalesce(sum(c.cost_eur), 0)::DOUBLE AS cost
                 FROM firsts f LEFT JOIN {cost} c USING (property_id) GROUP BY 1),
         sustained AS (SELECT year(start_date + {days})::VARCHAR AS y, count(*) AS n FROM reg
                       WHERE end_date IS NULL OR end_date - start_date >= {days} GROUP BY 1),
         ys AS (SELECT y FROM housed UNION SELECT y FROM sustained)
         SELECT ys.y, coalesce(housed.n, 0), coalesce(let.n, 0), coalesce(sustained.n, 0),
                coalesce(let.cost, 0)
         FROM ys LEFT JOIN housed USING (y) LEFT JOIN let USING (y) LEFT JOIN sustained USING (y)"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        out.insert(r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
    }
    Ok(out)
}

const HOUSEHOLDS: &str = "households";
const PERSONS: &str = "persons";

/// Every earlier release, oldest first, aligned on the current table.
fn views(conn: &Connection, t: &Truth) -> Result<Vec<View>> {
    let months = t.n_months();
    let district: HashMap<&str, usize> = t
        .districts
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let month: HashMap<&str, usize> = t
        .months
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let year: HashMap<&str, usize> = t
        .years
        .iter()
        .enumerate()
        .map(|(i, y)| (y.label.as_str(), i))
        .collect();
    let mut out: Vec<View> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT version, kind, area, period, value, withheld FROM disclosure_cells ORDER BY version",
    )?;
    let mut q = stmt.query([])?;
    let mut current: Option<i64> = None;
    let blank = |version: i64| View {
        version: format!("v{version}"),
        households: vec![None; t.households.len()],
        persons: vec![None; t.households.len()],
        units: vec![false; t.households.len()],
        total_households: vec![None; months],
        total_persons: vec![None; months],
        totals: vec![false; months],
        years: vec![None; t.years.len()],
        slack: HashMap::new(),
    };
    let mut years: Vec<HashMap<String, (i64, bool)>> = Vec::new();
    while let Some(r) = q.next()? {
        let (version, kind, area, period, value, withheld): (
            i64,
            String,
            String,
            String,
            i64,
            bool,
        ) = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        );
        if current != Some(version) {
            out.push(blank(version));
            years.push(HashMap::new());
            current = Some(version);
        }
        let v = out.last_mut().expect("a view was pushed");
        let figures = years.last_mut().expect("pushed with the view");
        match (kind.as_str(), area.is_empty()) {
            (HOUSEHOLDS | PERSONS, false) => {
                let (Some(&d), Some(&m)) =
                    (district.get(area.as_str()), month.get(period.as_str()))
                else {
                    continue;
                };
                let u = d * months + m;
                if kind == HOUSEHOLDS {
                    v.households[u] = Some(value);
                } else {
                    v.persons[u] = Some(value);
                }
                v.units[u] |= withheld;
            }
            (HOUSEHOLDS | PERSONS, true) => {
                let Some(&m) = month.get(period.as_str()) else {
                    continue;
                };
                if kind == HOUSEHOLDS {
                    v.total_households[m] = Some(value);
                } else {
                    v.total_persons[m] = Some(value);
                }
                v.totals[m] |= withheld;
            }
            _ => {
                figures.insert(format!("{kind}|{period}"), (value, withheld));
            }
        }
    }
    // Year figures and slack.
    for (v, figures) in out.iter_mut().zip(&years) {
        for (label, &y) in &year {
            let get = |name: &str| figures.get(&format!("{name}|{label}")).copied();
            let Some((started, ws)) = get("placements_started") else {
                continue;
            };
            let (ended, we) = get("placements_ended").unwrap_or((0, false));
            let (autonomy, wa) = get("placements_ended_autonomy").unwrap_or((0, false));
            let mut by = Vec::new();
            let mut wb = Vec::new();
            for i in 0..PROGRAMMES.len() {
                let (x, w) = get(&year_figure(3 + i)).unwrap_or((0, false));
                by.push(x);
                wb.push(w);
            }
            // A release made before these were published counts as having withheld them.
            let (housed, wh) = get(&year_figure(HOUSED)).unwrap_or((0, true));
            let (homes_let, wl) = get(&year_figure(HOMES_LET)).unwrap_or((0, true));
            let (sustained, wsu) = get(&year_figure(SUSTAINED)).unwrap_or((0, true));
            let now = &t.years[y];
            v.years[y] = Some((
                Year {
                    label: label.to_string(),
                    first: now.first,
                    end: now.end,
                    started,
                    ended,
                    ended_autonomy: autonomy,
                    started_by_programme: by,
                    median_days_to_start: None,
                    housed,
                    homes_let,
                    sustained,
                    cost_homes_let_eur: 0.0,
                },
                YearPattern {
                    started: ws,
                    ended: we,
                    autonomy_share: wa,
                    median_days: ws,
                    by_programme: wb,
                    housed: wh,
                    homes_let: wl,
                    sustained: wsu,
                    costs: wh || wl,
                },
            ));
        }
    }
    let mut stmt = conn.prepare("SELECT version, year, slack FROM disclosure_slack")?;
    let slacks: Vec<(i64, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (version, label, s) in slacks {
        if let Some(v) = out.iter_mut().find(|v| v.version == format!("v{version}")) {
            v.slack.insert(label, s);
        }
    }
    Ok(out)
}

/// Makes a release ready: checks the release policy, protects and audits the personal table
/// against every earlier release, and writes the `staged_*` tables.
pub fn stage(conn: &Connection, settings: &Settings) -> Result<Staged> {
    let started = std::time::Instant::now();
    migrate(conn)?;
    let t = truth(conn)?;
    let last: Option<u32> = conn
        .query_row("SELECT max(version) FROM disclosure_cells", [], |r| {
            r.get(0)
        })
        .ok()
        .flatten();
    let changed = changed_records(conn)?;
    let needed = settings.min_changed_records.max(settings.k.max(MIN_K));
    if let Some(last) = last
        && changed > 0
        && changed < needed
    {
        return Err(Error::HeldBack {
            last,
            changed,
            needed,
        });
    }
    let earlier = views(conn, &t)?;
    let params = Params {
        k: settings.k.max(MIN_K),
        protection: settings.protection.max(1),
        key: key(conn)?,
    };
    let read = started.elapsed();
    let (pattern, audit) = protect(&t, &earlier, &params);
    let protected = started.elapsed();
    tracing::info!(
        cells = audit.cells,
        by_move = audit.by_move,
        by_solver = audit.by_solver,
        failures = audit.failures.len(),
        ms = audit.millis,
        "disclosure audit"
    );
    if !audit.failures.is_empty() {
        return Err(Error::Audit {
            failures: audit.failures,
        });
    }
    write_indicators(conn, &t, &pattern)?;
    write_years(conn, &t, &pattern)?;
    write_segregation(conn, &t, &pattern, &settings.segregation)?;
    write_pipeline(conn)?;
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    Ok(Staged {
        millis: Timings {
            read: ms(read),
            protect: ms(protected - read),
            write: ms(started.elapsed() - protected),
        },
        withheld_cells: pattern.withheld_cells(),
        audit,
        changed_records: changed,
        truth: t,
        pattern,
    })
}

/// Makes the staged tables the published ones and records the release in the ledger; run it in
/// the transaction that records the release.
pub fn commit(conn: &Connection, version: u32, staged: &Staged) -> Result<()> {
    for table in PUBLISHED_TABLES {
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS {table}; ALTER TABLE staged_{table} RENAME TO {table};"
        ))?;
    }
    let (t, pat) = (&staged.truth, &staged.pattern);
    let months = t.n_months();
    let municipality = "";
    let mut app = conn.appender("disclosure_cells")?;
    let v = i64::from(version);
    for u in 0..t.households.len() {
        let (d, m) = (u / months, u % months);
        let (area, period) = (&t.districts[d], &t.months[m]);
        app.append_row(params![
            v,
            HOUSEHOLDS,
            area,
            period,
            t.households[u],
            pat.units[u]
        ])?;
        app.append_row(params![
            v,
            PERSONS,
            area,
            period,
            t.persons[u],
            pat.units[u]
        ])?;
    }
    for m in 0..months {
        let period = &t.months[m];
        app.append_row(params![
            v,
            HOUSEHOLDS,
            municipality,
            period,
            t.total_households(m),
            pat.totals[m]
        ])?;
        app.append_row(params![
            v,
            PERSONS,
            municipality,
            period,
            t.total_persons(m),
            pat.totals[m]
        ])?;
    }
    for (y, year) in t.years.iter().enumerate() {
        let (values, withheld) = (year_values(year), year_withheld(&pat.years[y]));
        for i in 0..values.len() {
            app.append_row(params![
                v,
                year_figure(i),
                municipality,
                year.label,
                values[i],
                withheld[i]
            ])?;
        }
    }
    app.flush()?;
    drop(app);
    let mut app = conn.appender("disclosure_slack")?;
    for (label, s) in slack(t, pat) {
        app.append_row(params![v, label, s])?;
    }
    app.flush()?;
    drop(app);
    conn.execute_batch(&format!(
        "DELETE FROM disclosure_records; INSERT INTO disclosure_records {};",
        digest_sql()
    ))?;
    Ok(())
}

/// Drops what an unfinished release staged.
pub fn discard(conn: &Connection) {
    for table in PUBLISHED_TABLES {
        let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS staged_{table}"));
    }
}

/// The monthly indicators as published: every public value as computed; households and
/// persons placed where the pattern does not withhold them; the other placement figures
/// withheld from every monthly row (they are published per year).
fn write_indicators(conn: &Connection, t: &Truth, pat: &Pattern) -> Result<()> {
    let months = t.n_months();
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE disclosure_mask (area_code VARCHAR, level VARCHAR, period VARCHAR, withheld BOOLEAN)",
    )?;
    {
        let mut app = conn.appender("disclosure_mask")?;
        for u in 0..t.households.len() {
            let (d, m) = (u / months, u % months);
            app.append_row(params![
                t.districts[d],
                "district",
                t.months[m],
                pat.units[u]
            ])?;
        }
        let municipality: String = conn.query_row(
            "SELECT min(area_code) FROM indicators_monthly WHERE level = 'municipality'",
            [],
            |r| r.get(0),
        )?;
        for m in 0..months {
            app.append_row(params![
                municipality,
                "municipality",
                t.months[m],
                pat.totals[m]
            ])?;
        }
        app.flush()?;
    }
    let mut select = Vec::new();
    let mut flags = Vec::new();
    for i in INDICATORS {
        let kind = if i.is_count() { "BIGINT" } else { "DOUBLE" };
        let id = i.id;
        if i.class == Class::Public {
            select.push(format!("m.\"{id}\""));
        } else if i.publication() == Publication::Monthly {
            select.push(format!(
                "CASE WHEN coalesce(k.withheld, true) THEN NULL ELSE m.\"{id}\" END AS \"{id}\""
            ));
            flags.push(format!(
                "CASE WHEN coalesce(k.withheld, true) THEN '{id}' END"
            ));
        } else {
            select.push(format!("NULL::{kind} AS \"{id}\""));
            flags.push(format!("'{id}'"));
        }
    }
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE staged_indicators_published AS
         SELECT m.area_code, m.level, m.period, {}, concat_ws(',', {}) AS withheld
         FROM indicators_monthly m LEFT JOIN disclosure_mask k USING (area_code, level, period);
         DROP TABLE disclosure_mask;",
        select.join(", "),
        flags.join(", ")
    ))?;
    Ok(())
}

/// The activation pipeline as published: the public view of the stages about homes and owners
/// (identified to offered; `analytics::pipeline::Home::public`), per month and district and
/// summed up per scope. The stages from *let* on are built
/// on placements (a home let is, most often, a placement started in it, and monthly flows per
/// district would give a solver what the personal table withholds); they are not published, nor
/// is anything of the last public stage that its homes' letting ends (homes leaving it, its
/// conversion and days). Empty tables before the first analysis.
fn write_pipeline(conn: &Connection) -> Result<()> {
    let public: String = analytics::pipeline::STAGES[..analytics::pipeline::FIRST_PERSONAL_STAGE]
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let last = analytics::pipeline::STAGES[analytics::pipeline::FIRST_PERSONAL_STAGE - 1];
    let has = |t: &str| ingest::store::has_table(conn, t).unwrap_or(false);
    let monthly = if has("pipeline_monthly_public") {
        format!(
            "SELECT period, district_code, stage, entered,
                    CASE WHEN stage = '{last}' THEN NULL ELSE left_stage END AS left_stage
             FROM pipeline_monthly_public
             WHERE stage IN ({public}) ORDER BY period, district_code, stage"
        )
    } else {
        "SELECT NULL::VARCHAR AS period, NULL::VARCHAR AS district_code, NULL::VARCHAR AS stage,
                NULL::BIGINT AS entered, NULL::BIGINT AS left_stage LIMIT 0"
            .into()
    };
    let stages = if has("pipeline_summary_public") {
        format!(
            "SELECT scope_type, scope, stage, reached,
                    CASE WHEN stage = '{last}' THEN NULL ELSE converted END AS converted,
                    CASE WHEN stage = '{last}' THEN NULL ELSE conversion END AS conversion,
                    CASE WHEN stage = '{last}' THEN NULL ELSE median_days END AS median_days,
                    CASE WHEN stage = '{last}' THEN NULL ELSE timed END AS timed
             FROM pipeline_summary_public WHERE stage IN ({public}) ORDER BY scope_type, scope"
        )
    } else {
        "SELECT NULL::VARCHAR AS scope_type, NULL::VARCHAR AS scope, NULL::VARCHAR AS stage,
                NULL::BIGINT AS reached, NULL::BIGINT AS converted, NULL::DOUBLE AS conversion,
                NULL::DOUBLE AS median_days, NULL::BIGINT AS timed LIMIT 0"
            .into()
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE staged_pipeline_published AS {monthly};
         CREATE OR REPLACE TABLE staged_pipeline_stages_published AS {stages};"
    ))?;
    Ok(())
}

/// The placement figures of every complete calendar year, for the municipality.
fn write_years(conn: &Connection, t: &Truth, pat: &Pattern) -> Result<()> {
    let programmes: String = PROGRAMMES
        .iter()
        .map(|p| format!(", placements_started_{p} BIGINT"))
        .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE staged_placements_years (year VARCHAR NOT NULL,
           placements_started BIGINT, placements_ended BIGINT, placements_exit_autonomy_share DOUBLE,
           placements_median_days_to_start DOUBLE{programmes},
           households_housed_in_register_homes BIGINT, register_homes_let BIGINT,
           tenancies_sustained BIGINT, cost_per_home_let_eur DOUBLE,
           cost_per_household_housed_eur DOUBLE, withheld VARCHAR NOT NULL)"
    ))?;
    let mut app = conn.appender("staged_placements_years")?;
    for (y, year) in t.years.iter().enumerate() {
        let p = &pat.years[y];
        let keep = |w: bool, x: i64| (!w).then_some(x);
        let share = (!p.autonomy_share && year.ended > 0)
            .then(|| year.ended_autonomy as f64 / year.ended as f64);
        let median = (!p.median_days)
            .then_some(year.median_days_to_start)
            .flatten();
        let mut withheld: Vec<String> = Vec::new();
        for (w, id) in [
            (p.started, "placements_started"),
            (p.ended, "placements_ended"),
            (p.autonomy_share, "placements_exit_autonomy_share"),
            (p.median_days, "placements_median_days_to_start"),
        ] {
            if w {
                withheld.push(id.into());
            }
        }
        // In euro and cents.
        let per = |n: i64| {
            (!p.costs && year.homes_let > 0 && n > 0)
                .then(|| (year.cost_homes_let_eur / n as f64 * 100.0).round() / 100.0)
        };
        let (per_home, per_household) = (per(year.homes_let), per(year.housed));
        let by: Vec<Option<i64>> = p
            .by_programme
            .iter()
            .zip(&year.started_by_programme)
            .zip(PROGRAMMES)
            .map(|((w, x), name)| {
                if *w {
                    withheld.push(format!("placements_started_{name}"));
                }
                keep(*w, *x)
            })
            .collect();
        for (w, id) in [
            (p.housed, "households_housed_in_register_homes"),
            (p.homes_let, "register_homes_let"),
            (p.sustained, "tenancies_sustained"),
            (p.costs && year.homes_let > 0, "cost_per_home_let_eur"),
            (
                p.costs && year.homes_let > 0,
                "cost_per_household_housed_eur",
            ),
        ] {
            if w {
                withheld.push(id.into());
            }
        }
        app.append_row(params![
            year.label,
            keep(p.started, year.started),
            keep(p.ended, year.ended),
            share,
            median,
            by[0],
            by[1],
            by[2],
            by[3],
            by[4],
            by[5],
            keep(p.housed, year.housed),
            keep(p.homes_let, year.homes_let),
            keep(p.sustained, year.sustained),
            per_home,
            per_household,
            withheld.join(",")
        ])?;
    }
    app.flush()?;
    Ok(())
}

/// The persons placed per district at the end of month `m` as the release publishes them, with
/// the withheld ones filled in by a public rule: the municipality's published total less the
/// published districts, shared among the withheld districts in proportion to their population.
/// None where the month's total is withheld. Anyone can compute this from the release, so
/// nothing built on it says more than the release does.
pub fn filled(
    published: &[Option<f64>],
    total: Option<f64>,
    population: &[f64],
) -> Option<Vec<f64>> {
    let total = total?;
    let known: f64 = published.iter().flatten().sum();
    let rest = (total - known).max(0.0);
    let weight: f64 = published
        .iter()
        .zip(population)
        .filter(|(p, _)| p.is_none())
        .map(|(_, t)| t)
        .sum();
    let hidden = published.iter().filter(|p| p.is_none()).count() as f64;
    Some(
        published
            .iter()
            .zip(population)
            .map(|(p, t)| match p {
                Some(x) => *x,
                None if weight > 0.0 => rest * t / weight,
                None => rest / hidden,
            })
            .collect(),
    )
}

/// The segregation tables as published: the population groups as computed (public data), and
/// persons placed computed from the protected counts ([`filled`]); location quotients of
/// persons placed only for the districts whose count is published.
fn write_segregation(
    conn: &Connection,
    t: &Truth,
    pat: &Pattern,
    opts: &analytics::SegregationOptions,
) -> Result<()> {
    let months = t.n_months();
    let month: HashMap<&str, usize> = t
        .months
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    // Population totals per period, per district (in code order).
    let mut stmt = conn.prepare(
        "SELECT period, district_code, sum(persons)::DOUBLE FROM population WHERE \"group\" = 'total' GROUP BY 1, 2",
    )?;
    let mut totals: HashMap<String, Vec<f64>> = HashMap::new();
    let district: HashMap<&str, usize> = t
        .districts
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let rows: Vec<(String, String, f64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (period, code, persons) in rows {
        if let Some(&d) = district.get(code.as_str()) {
            totals
                .entry(period)
                .or_insert_with(|| vec![0.0; t.n_districts()])[d] += persons;
        }
    }
    let mut counts: Vec<(String, Vec<f64>)> = Vec::new();
    let mut shown: HashMap<String, Vec<bool>> = HashMap::new();
    let mut periods: Vec<&String> = totals.keys().collect();
    periods.sort();
    for period in periods {
        let end = if period.len() == 4 {
            format!("{period}-12")
        } else {
            period.clone()
        };
        let Some(&m) = month.get(end.as_str()) else {
            continue;
        };
        let published: Vec<Option<f64>> = (0..t.n_districts())
            .map(|d| {
                let u = d * months + m;
                (!pat.units[u]).then_some(t.persons[u] as f64)
            })
            .collect();
        let total = (!pat.totals[m]).then_some(t.total_persons(m) as f64);
        if let Some(x) = filled(&published, total, &totals[period]) {
            shown.insert(
                period.clone(),
                published.iter().map(Option::is_some).collect(),
            );
            counts.push((period.clone(), x));
        }
    }
    let placed = analytics::indices_for(conn, analytics::PLACED, &counts, opts)?;
    let has = |table: &str| ingest::store::has_table(conn, table).unwrap_or(false);
    conn.execute_batch(
        "CREATE OR REPLACE TABLE staged_segregation_published (period VARCHAR NOT NULL, \"group\" VARCHAR NOT NULL,
           \"index\" VARCHAR NOT NULL, value DOUBLE, p_value DOUBLE);
         CREATE OR REPLACE TABLE staged_segregation_changes_published AS SELECT * FROM segregation_changes WHERE false;",
    )?;
    conn.execute_batch(&format!(
        "INSERT INTO staged_segregation_published SELECT period, \"group\", \"index\", value, p_value
           FROM segregation_indices WHERE \"group\" <> '{p}';
         INSERT INTO staged_segregation_changes_published SELECT * FROM segregation_changes WHERE \"group\" <> '{p}';",
        p = analytics::PLACED
    ))?;
    {
        let mut app = conn.appender("staged_segregation_published")?;
        for r in &placed.rows {
            app.append_row(params![r.period, r.group, r.index, r.value, r.p_value])?;
        }
        app.flush()?;
    }
    if let Some(c) = &placed.change {
        let significant = c.low > 0.0 || c.high < 0.0;
        conn.execute(
            "INSERT INTO staged_segregation_changes_published VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                c.group,
                c.from,
                c.to,
                c.d_from,
                c.d_to,
                c.d_to - c.d_from,
                c.low,
                c.high,
                significant
            ],
        )?;
    }
    // Location quotients: the population groups' columns as computed, persons placed where the
    // district's count is published.
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE disclosure_lq (period VARCHAR, district_code VARCHAR, lq DOUBLE)",
    )?;
    {
        let mut app = conn.appender("disclosure_lq")?;
        for (period, lqs) in &placed.lqs {
            let show = &shown[period];
            for (d, lq) in lqs.iter().enumerate() {
                app.append_row(params![period, t.districts[d], lq.filter(|_| show[d])])?;
            }
        }
        app.flush()?;
    }
    // The computed table has a persons-placed column only when persons were placed in a period
    // with population groups; without population it has none to replace.
    let placed_column: i64 = conn.query_row(
        "SELECT count(*) FROM information_schema.columns
         WHERE table_name = 'location_quotients' AND column_name = ?",
        [analytics::PLACED],
        |r| r.get(0),
    )?;
    let source = if has("location_quotients") {
        format!(
            "SELECT l.*{}, q.lq AS {p} FROM location_quotients l
               LEFT JOIN disclosure_lq q USING (period, district_code)",
            if placed_column > 0 {
                format!(" EXCLUDE ({})", analytics::PLACED)
            } else {
                String::new()
            },
            p = analytics::PLACED
        )
    } else {
        format!(
            "SELECT period, district_code, lq AS {} FROM disclosure_lq",
            analytics::PLACED
        )
    };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE staged_location_quotients_published AS {source};
         DROP TABLE disclosure_lq;"
    ))?;
    Ok(())
}

/// The basis of the public preparedness scenario, from the latest release only: persons placed
/// per district in its latest month as published, the withheld ones filled in by [`filled`]
/// (districts in code order), or None before the first release.
pub fn scenario_basis(conn: &Connection) -> Result<Option<Vec<f64>>> {
    if !ingest::store::has_table(conn, "indicators_published")
        .map_err(|e| Error::Data(e.to_string()))?
    {
        return Ok(None);
    }
    let mut stmt = conn.prepare(
        "WITH latest AS (SELECT max(period) AS p FROM indicators_published)
         SELECT d.district_code, i.placements_active_persons::DOUBLE,
                (SELECT placements_active_persons::DOUBLE FROM indicators_published, latest
                  WHERE level = 'municipality' AND period = latest.p LIMIT 1),
                coalesce((SELECT sum(persons)::DOUBLE FROM population q WHERE q.district_code = d.district_code
                  AND q.\"group\" = 'total' AND q.period = (SELECT max(period) FROM population WHERE \"group\" = 'total')), 0)
         FROM districts d CROSS JOIN latest
         LEFT JOIN indicators_published i ON i.area_code = d.district_code AND i.level = 'district' AND i.period = latest.p
         ORDER BY d.district_code",
    )?;
    let rows: Vec<(String, Option<f64>, Option<f64>, f64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let published: Vec<Option<f64>> = rows.iter().map(|r| r.1).collect();
    let population: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let total = rows.first().and_then(|r| r.2);
    Ok(filled(&published, total, &population))
}

/// The history of the public needs forecast, from the latest release only: persons in
/// placements in the whole municipality per month as published, before `until` (the month in
/// progress), in the longest run of consecutive published months that ends at the latest (a
/// withheld month ends it). Empty before the first release.
pub fn forecast_history(conn: &Connection, until: &str) -> Result<Vec<(String, f64)>> {
    if !ingest::store::has_table(conn, "indicators_published")
        .map_err(|e| Error::Data(e.to_string()))?
    {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT period, placements_active_persons::DOUBLE FROM indicators_published
         WHERE level = 'municipality' AND period < ? ORDER BY period",
    )?;
    let rows: Vec<(String, Option<f64>)> = stmt
        .query_map([until], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(analytics::forecast::trailing_run(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_districts_share_the_rest_by_population() {
        let x = filled(
            &[Some(10.0), None, None],
            Some(16.0),
            &[100.0, 200.0, 100.0],
        )
        .unwrap();
        assert_eq!(x, vec![10.0, 4.0, 2.0]);
        assert!(filled(&[Some(10.0), None], None, &[1.0, 1.0]).is_none());
    }
}
