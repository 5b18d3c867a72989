//! The activation pipeline: each vacant home's way from *identified* to *tenancy sustained*,
//! joined by `property_id` from the register's status history, the owner contacts (imported
//! and recorded in the workspace), the landlord incentives and the placements; then homes
//! entering and leaving each stage per month, conversions between stages, the median days
//! spent in each, and what bringing a home back into use cost.
//!
//! A stage a home passed without a date (a register loaded once, with the home already let)
//! counts as reached, and stays out of the days. A home leaves a stage when it reaches a later
//! one or drops out: withdrawn from the register, or an owner who refuses, sold or is exempt.
//!
//! The stages from *let* on are built on placements (who moved in, for how long); they stay in
//! the restricted tables, and only the disclosure layer may publish figures built on them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use duckdb::Connection;
use duckdb::types::Value;
use serde::Serialize;

use crate::Result;

/// The stages, in order.
pub const STAGES: [&str; 7] = [
    "identified",
    "owner_contacted",
    "owner_answered",
    "renovation",
    "offered",
    "let",
    "tenancy_sustained",
];

/// Stages before this one are about homes and owners only and are published as computed; the
/// later ones are built on placements.
pub const FIRST_PERSONAL_STAGE: usize = 5;

/// A tenancy counts as sustained once it has lasted this many days.
pub const SUSTAINED_DAYS: i32 = 182;

/// Owners' answers that end a case.
const EXIT_ANSWERS: [&str; 3] = ["refuses", "sold", "exempt"];

const IDENTIFIED: usize = 0;
const CONTACTED: usize = 1;
const ANSWERED: usize = 2;
const RENOVATION: usize = 3;
const OFFERED: usize = 4;
const LET: usize = 5;
const SUSTAINED: usize = 6;

/// One home on its way through the stages; dates are days since 1970-01-01.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Home {
    pub property_id: String,
    pub district_code: String,
    pub owner_type: String,
    /// Renovation cost from the register plus the incentives paid for the home, in euro.
    pub cost_eur: f64,
    pub incentive_types: BTreeSet<String>,
    /// Households placed in the home.
    pub households: i64,
    /// The day each stage was entered, where known.
    pub entered: [Option<i32>; 7],
    /// Stages reached, with or without a date.
    pub reached: [bool; 7],
    /// The day and the reason the home dropped out.
    pub exit: Option<(i32, String)>,
    /// The same, even where the home was let after all (what the public view goes by).
    pub dropped: Option<(i32, String)>,
}

impl Home {
    /// What may be published of the home: the stages about homes and owners only. No stage is
    /// reached, left or timed through one built on placements (a home let without a recorded
    /// offer does not count as offered; a withdrawn home let after all still left), so nothing
    /// published moves when a placement does.
    pub fn public(&self) -> Home {
        let mut entered = self.entered;
        for e in &mut entered[FIRST_PERSONAL_STAGE..] {
            *e = None;
        }
        Home {
            property_id: self.property_id.clone(),
            district_code: self.district_code.clone(),
            owner_type: self.owner_type.clone(),
            cost_eur: 0.0,
            incentive_types: self.incentive_types.clone(),
            households: 0,
            entered,
            reached: reach(&entered),
            exit: self.dropped.clone(),
            dropped: self.dropped.clone(),
        }
    }

    /// The day the home left stage `s`: it entered a later stage or dropped out.
    pub fn left(&self, s: usize) -> Option<i32> {
        let from = self.entered[s]?;
        let next = self.entered[s + 1..].iter().flatten().copied().min();
        let out = self.exit.as_ref().map(|e| e.0).filter(|d| *d >= from);
        match (next, out) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    /// Days spent in stage `s`, when it was entered and the next stage is dated.
    pub fn days_in(&self, s: usize) -> Option<i32> {
        let from = self.entered[s]?;
        let to = self.entered[s + 1..].iter().flatten().copied().next()?;
        (to >= from).then_some(to - from)
    }
}

/// What the register and the case files say of one home, before the stages are derived.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub property_id: String,
    pub district_code: String,
    pub owner_type: String,
    pub vacant_since: i32,
    pub renovation_cost_eur: f64,
    /// Every (status, day) the register has had for the home.
    pub statuses: Vec<(String, i32)>,
    /// Contacts: day and the owner's answer if one was given.
    pub contacts: Vec<(i32, Option<String>)>,
    /// Incentives paid (active or ended): type and amount.
    pub incentives: Vec<(String, f64)>,
    /// Placements in the home: start day, days it lasted (None while it goes on), persons.
    pub placements: Vec<(i32, Option<i32>)>,
}

/// Derives a home's stages from its facts; `as_of` is the last day the placements cover.
pub fn home(f: &Facts, as_of: i32) -> Home {
    let first = |status: &str| {
        f.statuses
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, d)| *d)
            .min()
    };
    let min2 = |a: Option<i32>, b: Option<i32>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let mut entered = [None; 7];
    entered[IDENTIFIED] = Some(f.vacant_since);
    let first_contact = f.contacts.iter().map(|c| c.0).min();
    entered[CONTACTED] = min2(first("owner_contacted"), first_contact);
    entered[ANSWERED] = f
        .contacts
        .iter()
        .filter(|c| c.1.is_some())
        .map(|c| c.0)
        .min();
    entered[RENOVATION] = first("in_renovation");
    entered[OFFERED] = first("offered");
    let first_placement = f.placements.iter().map(|p| p.0).min();
    entered[LET] = min2(first("let"), first_placement);
    entered[SUSTAINED] = f
        .placements
        .iter()
        .filter(|(start, lasted)| match lasted {
            Some(days) => *days >= SUSTAINED_DAYS,
            None => as_of - start >= SUSTAINED_DAYS,
        })
        .map(|(start, _)| start + SUSTAINED_DAYS)
        .min();
    let reached = reach(&entered);
    // The owner's last answer, and whether it ends the case.
    let last_answer = f
        .contacts
        .iter()
        .filter_map(|(d, a)| a.as_ref().map(|a| (*d, a)))
        .max_by_key(|(d, _)| *d);
    let mut exit = first("withdrawn").map(|d| (d, "withdrawn".to_string()));
    if let Some((d, a)) = last_answer
        && EXIT_ANSWERS.contains(&a.as_str())
        && exit.is_none()
    {
        exit = Some((d, format!("owner_{a}")));
    }
    let dropped = exit.clone();
    if reached[LET] {
        exit = None; // let after all: the home came back into use
    }
    let incentives: f64 = f.incentives.iter().map(|i| i.1).sum();
    Home {
        property_id: f.property_id.clone(),
        district_code: f.district_code.clone(),
        owner_type: f.owner_type.clone(),
        cost_eur: f.renovation_cost_eur + incentives,
        incentive_types: f.incentives.iter().map(|i| i.0.clone()).collect(),
        households: f.placements.len() as i64,
        entered,
        reached,
        exit,
        dropped,
    }
}

/// Stages reached: those entered, and every stage before a stage reached.
fn reach(entered: &[Option<i32>; 7]) -> [bool; 7] {
    let mut reached = [false; 7];
    for s in (0..7).rev() {
        reached[s] = entered[s].is_some() || (s < 6 && reached[s + 1]);
    }
    reached
}

/// Homes entering and leaving a stage in one month of one district.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub period: String,
    pub district_code: String,
    pub stage: &'static str,
    pub entered: i64,
    pub left: i64,
}

/// One stage for one scope (the municipality, a district, an owner type, an incentive type).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageSummary {
    pub scope_type: &'static str,
    pub scope: String,
    pub stage: &'static str,
    pub reached: i64,
    /// Of those, the homes that reached the next stage (none for the last).
    pub converted: Option<i64>,
    pub conversion: Option<f64>,
    pub median_days: Option<f64>,
    /// Homes whose days in the stage are known.
    pub timed: i64,
}

/// What bringing homes back into use cost, for one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub scope_type: &'static str,
    pub scope: String,
    pub homes_let: i64,
    pub households: i64,
    pub cost_eur: f64,
    pub cost_per_home_eur: Option<f64>,
    pub cost_per_household_eur: Option<f64>,
}

/// A month label (`YYYY-MM`) of a day.
fn period(day: i32) -> String {
    let (y, m, _) = ingest::validate::civil_from_days(i64::from(day));
    format!("{y:04}-{m:02}")
}

/// Homes entering and leaving each stage, per month and district.
pub fn flows(homes: &[Home]) -> Vec<Flow> {
    let mut by: BTreeMap<(String, String, usize), (i64, i64)> = BTreeMap::new();
    for h in homes {
        for s in 0..STAGES.len() {
            if let Some(d) = h.entered[s] {
                by.entry((period(d), h.district_code.clone(), s))
                    .or_default()
                    .0 += 1;
            }
            if s + 1 < STAGES.len()
                && let Some(d) = h.left(s)
            {
                by.entry((period(d), h.district_code.clone(), s))
                    .or_default()
                    .1 += 1;
            }
        }
    }
    by.into_iter()
        .map(|((period, district_code, s), (entered, left))| Flow {
            period,
            district_code,
            stage: STAGES[s],
            entered,
            left,
        })
        .collect()
}

fn median(v: &mut [i32]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        f64::from(v[n / 2])
    } else {
        (f64::from(v[n / 2 - 1]) + f64::from(v[n / 2])) / 2.0
    })
}

/// The scopes a home belongs to.
fn scopes(h: &Home, municipality: &str) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("municipality", municipality.to_string()),
        ("district", h.district_code.clone()),
        ("owner_type", h.owner_type.clone()),
    ];
    v.extend(
        h.incentive_types
            .iter()
            .map(|t| ("incentive_type", t.clone())),
    );
    v
}

/// Conversions and median days per stage, for every scope (`municipality`: its code).
pub fn summaries(homes: &[Home], municipality: &str) -> Vec<StageSummary> {
    let mut groups: BTreeMap<(&'static str, String), Vec<&Home>> = BTreeMap::new();
    for h in homes {
        for key in scopes(h, municipality) {
            groups.entry(key).or_default().push(h);
        }
    }
    let mut out = Vec::new();
    for ((scope_type, scope), hs) in groups {
        for (s, stage) in STAGES.iter().enumerate() {
            let reached = hs.iter().filter(|h| h.reached[s]).count() as i64;
            let converted = (s + 1 < STAGES.len()).then(|| {
                hs.iter()
                    .filter(|h| h.reached[s] && h.reached[s + 1])
                    .count() as i64
            });
            let mut days: Vec<i32> = if s + 1 < STAGES.len() {
                hs.iter().filter_map(|h| h.days_in(s)).collect()
            } else {
                Vec::new()
            };
            out.push(StageSummary {
                scope_type,
                scope: scope.clone(),
                stage,
                reached,
                converted,
                conversion: converted
                    .filter(|_| reached > 0)
                    .map(|c| c as f64 / reached as f64),
                timed: days.len() as i64,
                median_days: median(&mut days),
            });
        }
    }
    out
}

/// Cost per home let and per household housed, for every scope.
pub fn costs(homes: &[Home], municipality: &str) -> Vec<Cost> {
    let mut by: BTreeMap<(&'static str, String), (i64, i64, f64)> = BTreeMap::new();
    for h in homes {
        for key in scopes(h, municipality) {
            let e = by.entry(key).or_default();
            if h.reached[LET] {
                e.0 += 1;
                e.1 += h.households;
                e.2 += h.cost_eur;
            }
        }
    }
    by.into_iter()
        .map(
            |((scope_type, scope), (homes_let, households, cost))| Cost {
                scope_type,
                scope,
                homes_let,
                households,
                cost_eur: cost,
                cost_per_home_eur: (homes_let > 0).then(|| cost / homes_let as f64),
                cost_per_household_eur: (households > 0).then(|| cost / households as f64),
            },
        )
        .collect()
}

/// Reads every home's facts from the loaded tables (the workspace's outreach tables where they
/// exist) and the last day the placements cover.
pub fn read(conn: &Connection) -> Result<(Vec<Facts>, i32)> {
    let has = |t: &str| ingest::store::has_table(conn, t).unwrap_or(false);
    let day = |col: &str| format!("date_diff('day', DATE '1970-01-01', {col})::INTEGER");
    let mut facts: Vec<Facts> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT property_id, district_code, owner_type, {}, coalesce(renovation_cost_eur, 0)
             FROM vacant_properties WHERE district_code IS NOT NULL ORDER BY property_id",
            day("vacant_since")
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let f = Facts {
                property_id: r.get(0)?,
                district_code: r.get(1)?,
                owner_type: r.get(2)?,
                vacant_since: r.get(3)?,
                renovation_cost_eur: r.get(4)?,
                ..Facts::default()
            };
            index.insert(f.property_id.clone(), facts.len());
            facts.push(f);
        }
    }
    // Statuses: every one the loads saw, and the current one (a register loaded before the
    // history was kept).
    let mut statuses = vec![format!(
        "SELECT property_id, status, {} FROM vacant_properties WHERE status_date IS NOT NULL",
        day("status_date")
    )];
    if has("status_history") {
        statuses.push(format!(
            "SELECT record_id, status, {} FROM status_history WHERE dataset = 'vacant_properties'",
            day("status_date")
        ));
    }
    let mut stmt = conn.prepare(&statuses.join(" UNION ALL "))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = index.get(&r.get::<_, String>(0)?) {
            facts[i].statuses.push((r.get(1)?, r.get(2)?));
        }
    }
    let mut contacts = vec![format!(
        "SELECT property_id, {}, owner_answer FROM owner_contacts",
        day("contact_date")
    )];
    if has("outreach_contacts") {
        contacts.push(format!(
            "SELECT property_id, {}, NULL FROM outreach_contacts",
            day("contact_date")
        ));
    }
    if has("outreach_changes") {
        contacts.push(format!(
            "SELECT property_id, {}, new_value FROM outreach_changes
             WHERE field = 'owner_answer' AND new_value IS NOT NULL",
            day("CAST(changed_at AS DATE)")
        ));
    }
    let mut stmt = conn.prepare(&contacts.join(" UNION ALL "))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = index.get(&r.get::<_, String>(0)?) {
            facts[i].contacts.push((r.get(1)?, r.get(2)?));
        }
    }
    let mut stmt = conn.prepare(
        "SELECT property_id, incentive_type, coalesce(amount_eur, 0) FROM landlord_incentives
         WHERE property_id IS NOT NULL AND status IN ('active', 'ended')",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = index.get(&r.get::<_, String>(0)?) {
            facts[i].incentives.push((r.get(1)?, r.get(2)?));
        }
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT property_id, {}, date_diff('day', start_date, end_date)::INTEGER FROM placements
         WHERE property_id IS NOT NULL AND start_date IS NOT NULL",
        day("start_date")
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&i) = index.get(&r.get::<_, String>(0)?) {
            facts[i].placements.push((r.get(1)?, r.get(2)?));
        }
    }
    let as_of: Option<i32> = conn.query_row(
        &format!(
            "SELECT max({}) FROM placements",
            day("greatest(start_date, coalesce(end_date, start_date))")
        ),
        [],
        |r| r.get(0),
    )?;
    Ok((facts, as_of.unwrap_or(i32::MIN / 2)))
}

/// What a pipeline run wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PipelineSummary {
    pub homes: i64,
    /// Homes that reached each stage, in [`STAGES`] order.
    pub reached: Vec<i64>,
}

/// Derives every home's stages and writes, in one transaction, the restricted pipeline tables
/// (`pipeline_homes`, `pipeline_monthly`, `pipeline_summary`, `pipeline_costs`) and the public
/// view of the stages before *let* that releases publish (`pipeline_monthly_public`,
/// `pipeline_summary_public`: see [`Home::public`]).
pub fn run_pipeline(conn: &Connection) -> Result<PipelineSummary> {
    let (facts, as_of) = read(conn)?;
    let homes: Vec<Home> = facts.iter().map(|f| home(f, as_of)).collect();
    let public: Vec<Home> = homes.iter().map(Home::public).collect();
    let municipality: String = conn.query_row(
        "SELECT coalesce(min(parent_code), 'ALL') FROM districts",
        [],
        |r| r.get(0),
    )?;
    let is_public = |stage: &str| STAGES[..FIRST_PERSONAL_STAGE].contains(&stage);
    let mut public_flows = flows(&public);
    public_flows.retain(|f| is_public(f.stage));
    let mut public_summaries = summaries(&public, &municipality);
    public_summaries.retain(|s| is_public(s.stage));
    let costs = costs(&homes, &municipality);
    const FLOWS: &str = "(period VARCHAR, district_code VARCHAR, stage VARCHAR, entered BIGINT,
        left_stage BIGINT)";
    const SUMMARY: &str = "(scope_type VARCHAR, scope VARCHAR, stage VARCHAR, reached BIGINT,
        converted BIGINT, conversion DOUBLE, median_days DOUBLE, timed BIGINT)";
    crate::in_transaction(
        conn,
        &format!(
            "CREATE OR REPLACE TABLE pipeline_homes (property_id VARCHAR, district_code VARCHAR,
                owner_type VARCHAR, identified DATE, owner_contacted DATE, owner_answered DATE,
                renovation DATE, offered DATE, let DATE, tenancy_sustained DATE,
                furthest_stage VARCHAR, exit_reason VARCHAR, exit_date DATE, cost_eur DOUBLE,
                households BIGINT);
             CREATE OR REPLACE TABLE pipeline_monthly {FLOWS};
             CREATE OR REPLACE TABLE pipeline_monthly_public {FLOWS};
             CREATE OR REPLACE TABLE pipeline_summary {SUMMARY};
             CREATE OR REPLACE TABLE pipeline_summary_public {SUMMARY};
             CREATE OR REPLACE TABLE pipeline_costs (scope_type VARCHAR, scope VARCHAR,
                homes_let BIGINT, households BIGINT, cost_eur DOUBLE, cost_per_home_eur DOUBLE,
                cost_per_household_eur DOUBLE);"
        ),
        || {
            let date = |d: Option<i32>| d.map_or(Value::Null, Value::Date32);
            let mut app = conn.appender("pipeline_homes")?;
            for h in &homes {
                let furthest = (0..STAGES.len()).rev().find(|s| h.reached[*s]).unwrap_or(0);
                app.append_row(duckdb::params![
                    h.property_id,
                    h.district_code,
                    h.owner_type,
                    date(h.entered[0]),
                    date(h.entered[1]),
                    date(h.entered[2]),
                    date(h.entered[3]),
                    date(h.entered[4]),
                    date(h.entered[5]),
                    date(h.entered[6]),
                    STAGES[furthest],
                    h.exit.as_ref().map(|e| e.1.clone()),
                    date(h.exit.as_ref().map(|e| e.0)),
                    h.cost_eur,
                    h.households
                ])?;
            }
            app.flush()?;
            drop(app);
            write_flows(conn, "pipeline_monthly", &flows(&homes))?;
            write_flows(conn, "pipeline_monthly_public", &public_flows)?;
            write_summaries(conn, "pipeline_summary", &summaries(&homes, &municipality))?;
            write_summaries(conn, "pipeline_summary_public", &public_summaries)?;
            let mut app = conn.appender("pipeline_costs")?;
            for c in &costs {
                app.append_row(duckdb::params![
                    c.scope_type,
                    c.scope,
                    c.homes_let,
                    c.households,
                    c.cost_eur,
                    c.cost_per_home_eur,
                    c.cost_per_household_eur
                ])?;
            }
            app.flush()?;
            Ok(())
        },
    )?;
    Ok(PipelineSummary {
        homes: homes.len() as i64,
        reached: (0..STAGES.len())
            .map(|s| homes.iter().filter(|h| h.reached[s]).count() as i64)
            .collect(),
    })
}

fn write_flows(conn: &Connection, table: &str, flows: &[Flow]) -> Result<()> {
    let mut app = conn.appender(table)?;
    for f in flows {
        app.append_row(duckdb::params![
            f.period,
            f.district_code,
            f.stage,
            f.entered,
            f.left
        ])?;
    }
    app.flush()?;
    Ok(())
}

fn write_summaries(conn: &Connection, table: &str, summaries: &[StageSummary]) -> Result<()> {
    let mut app = conn.appender(table)?;
    for s in summaries {
        app.append_row(duckdb::params![
            s.scope_type,
            s.scope,
            s.stage,
            s.reached,
            s.converted,
            s.conversion,
            s.median_days,
            s.timed
        ])?;
    }
    app.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_of_days() {
        assert_eq!(period(0), "1970-01");
        assert_eq!(period(20_513), "2026-03");
    }
}
