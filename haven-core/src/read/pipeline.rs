//! The activation pipeline as published: the funnel of its public stages over a period, for the
//! municipality or one district, with each stage's conversion and median days.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The parameters of `GET /api/v1/pipeline`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineQuery {
    /// First month (inclusive), `YYYY-MM`; default: the first published.
    pub from: Option<String>,
    /// Last month (inclusive); default: the last published.
    pub to: Option<String>,
    /// A district code; default: the whole municipality.
    pub district: Option<String>,
}

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStage {
    pub stage: String,
    /// Homes entering the stage in the period.
    pub entered: i64,
    /// Homes leaving it in the period (none published for the last public stage).
    pub left: Option<i64>,
    /// Over all published months: homes that reached the stage, the share of them that
    /// reached the next one, and the median days spent in it.
    pub reached: Option<i64>,
    pub converted: Option<i64>,
    pub conversion: Option<f64>,
    pub median_days: Option<f64>,
    pub timed: Option<i64>,
}

/// The funnel of a period.
#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    pub from: Option<String>,
    pub to: Option<String>,
    pub district: Option<String>,
    /// Every published month, for a period slider.
    pub months: Vec<String>,
    pub stages: Vec<FunnelStage>,
    /// The end of the pipeline per complete calendar year, for the municipality (none for a
    /// district): built on placements, so published per year through the disclosure step.
    pub years: Vec<ActivationYear>,
}

/// Homes let, households housed and tenancies sustained in one year, with what bringing the
/// homes back into use cost; a withheld figure is `null` and named in `withheld`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivationYear {
    pub year: String,
    pub households_housed: Option<i64>,
    pub homes_let: Option<i64>,
    pub tenancies_sustained: Option<i64>,
    pub cost_per_home_let_eur: Option<f64>,
    pub cost_per_household_housed_eur: Option<f64>,
    pub withheld: Vec<String>,
}

/// The published columns [`ActivationYear`] reads, in its order.
const ACTIVATION_COLUMNS: [&str; 5] = [
    "households_housed_in_register_homes",
    "register_homes_let",
    "tenancies_sustained",
    "cost_per_home_let_eur",
    "cost_per_household_housed_eur",
];

/// The yearly figures of the last release (none before a release has published them: the
/// column check also finds no table).
fn activation_years(conn: &duckdb::Connection) -> Result<Vec<ActivationYear>, Error> {
    let present: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'placements_years'
           AND column_name IN (SELECT unnest(?::VARCHAR[]))",
        [format!("[{}]", ACTIVATION_COLUMNS.join(","))],
        |r| r.get(0),
    )?;
    if present != ACTIVATION_COLUMNS.len() as i64 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT year, {}, withheld FROM placements_years ORDER BY year",
        ACTIVATION_COLUMNS.join(", ")
    ))?;
    let rows = stmt.query_map([], |r| {
        let withheld: String = r.get(6)?;
        Ok(ActivationYear {
            year: r.get(0)?,
            households_housed: r.get(1)?,
            homes_let: r.get(2)?,
            tenancies_sustained: r.get(3)?,
            cost_per_home_let_eur: r.get(4)?,
            cost_per_household_housed_eur: r.get(5)?,
            withheld: withheld
                .split(',')
                .filter(|w| ACTIVATION_COLUMNS.contains(w))
                .map(str::to_string)
                .collect(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The funnel for `q`, from the published pipeline tables (empty before a release has them).
pub fn funnel(store: &ingest::Store, q: &PipelineQuery) -> Result<Funnel, Error> {
    super::month("from", &q.from)?;
    super::month("to", &q.to)?;
    if let (Some(a), Some(b)) = (&q.from, &q.to)
        && a > b
    {
        return Err(Error::Invalid(format!("from {a} is after to {b}")));
    }
    let public = &analytics::pipeline::STAGES[..analytics::pipeline::FIRST_PERSONAL_STAGE];
    let empty = || Funnel {
        from: q.from.clone(),
        to: q.to.clone(),
        district: q.district.clone(),
        months: Vec::new(),
        stages: Vec::new(),
        years: Vec::new(),
    };
    if !store.has_table("pipeline_published")? {
        return Ok(empty());
    }
    let conn = store.conn();
    if let Some(d) = &q.district {
        let known: i64 = conn.query_row(
            "SELECT count(*) FROM districts WHERE district_code = ?",
            [d],
            |r| r.get(0),
        )?;
        if known == 0 {
            return Err(Error::NotFound(format!("no district {d}")));
        }
    }
    let months: Vec<String> = {
        let mut stmt =
            conn.prepare("SELECT DISTINCT period FROM pipeline_published ORDER BY period")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut flows: HashMap<String, (i64, Option<i64>)> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT stage, sum(entered)::BIGINT,
                CASE WHEN count(left_stage) = 0 THEN NULL ELSE sum(left_stage)::BIGINT END
         FROM pipeline_published
         WHERE (?1::VARCHAR IS NULL OR period >= ?1) AND (?2::VARCHAR IS NULL OR period <= ?2)
           AND (?3::VARCHAR IS NULL OR district_code = ?3)
         GROUP BY stage",
    )?;
    let mut rows = stmt.query(duckdb::params![q.from, q.to, q.district])?;
    while let Some(r) = rows.next()? {
        flows.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
    }
    let mut summary: HashMap<String, FunnelStage> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT stage, reached, converted, conversion, median_days, timed
         FROM pipeline_stages_published
         WHERE scope_type = ?1 AND (?2::VARCHAR IS NULL OR scope = ?2)",
    )?;
    let scope_type = if q.district.is_some() {
        "district"
    } else {
        "municipality"
    };
    let mut rows = stmt.query(duckdb::params![scope_type, q.district])?;
    while let Some(r) = rows.next()? {
        let stage: String = r.get(0)?;
        summary.insert(
            stage.clone(),
            FunnelStage {
                stage,
                entered: 0,
                left: None,
                reached: r.get(1)?,
                converted: r.get(2)?,
                conversion: r.get(3)?,
                median_days: r.get(4)?,
                timed: r.get(5)?,
            },
        );
    }
    let stages = public
        .iter()
        .map(|stage| {
            let mut s = summary.remove(*stage).unwrap_or(FunnelStage {
                stage: (*stage).to_string(),
                entered: 0,
                left: None,
                reached: None,
                converted: None,
                conversion: None,
                median_days: None,
                timed: None,
            });
            if let Some((entered, left)) = flows.get(*stage) {
                s.entered = *entered;
                s.left = *left;
            }
            s
        })
        .collect();
    let mut out = empty();
    out.months = months;
    out.stages = stages;
    if q.district.is_none() {
        out.years = activation_years(conn)?;
    }
    Ok(out)
}

/// One stage for the officers: every stage, those built on placements included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficerStage {
    pub stage: String,
    pub reached: i64,
    pub converted: Option<i64>,
    pub conversion: Option<f64>,
    pub median_days: Option<f64>,
    pub timed: i64,
}

/// What bringing homes back into use cost, for one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficerCost {
    pub scope_type: String,
    pub scope: String,
    pub homes_let: i64,
    pub households: i64,
    pub cost_eur: f64,
    pub cost_per_home_eur: Option<f64>,
    pub cost_per_household_eur: Option<f64>,
}

/// The whole pipeline as the officers see it (restricted: it holds the stages built on
/// placements and the costs per household housed).
#[derive(Debug, Clone, Serialize)]
pub struct OfficerPipeline {
    pub district: Option<String>,
    pub stages: Vec<OfficerStage>,
    /// The scope's cost, then per owner type and per incentive type (municipality only).
    pub costs: Vec<OfficerCost>,
}

/// The officers' pipeline for the municipality or one district, from the last analysis.
pub fn officer(store: &ingest::Store, district: Option<&str>) -> Result<OfficerPipeline, Error> {
    let mut out = OfficerPipeline {
        district: district.map(str::to_string),
        stages: Vec::new(),
        costs: Vec::new(),
    };
    if !store.has_table("pipeline_summary")? {
        return Ok(out);
    }
    let conn = store.conn();
    let scope_type = if district.is_some() {
        "district"
    } else {
        "municipality"
    };
    let mut stmt = conn.prepare(
        "SELECT stage, reached, converted, conversion, median_days, timed FROM pipeline_summary
         WHERE scope_type = ?1 AND (?2::VARCHAR IS NULL OR scope = ?2)",
    )?;
    let mut by: HashMap<String, OfficerStage> = stmt
        .query_map(duckdb::params![scope_type, district], |r| {
            Ok(OfficerStage {
                stage: r.get(0)?,
                reached: r.get(1)?,
                converted: r.get(2)?,
                conversion: r.get(3)?,
                median_days: r.get(4)?,
                timed: r.get(5)?,
            })
        })?
        .map(|s| s.map(|s| (s.stage.clone(), s)))
        .collect::<Result<_, _>>()?;
    if let Some(d) = district
        && by.is_empty()
    {
        let known: i64 = conn.query_row(
            "SELECT count(*) FROM districts WHERE district_code = ?",
            [d],
            |r| r.get(0),
        )?;
        if known == 0 {
            return Err(Error::NotFound(format!("no district {d}")));
        }
    }
    out.stages = analytics::pipeline::STAGES
        .iter()
        .filter_map(|s| by.remove(*s))
        .collect();
    let mut stmt = conn.prepare(
        "SELECT scope_type, scope, homes_let, households, cost_eur, cost_per_home_eur,
                cost_per_household_eur
         FROM pipeline_costs
         WHERE (scope_type = ?1 AND (?2::VARCHAR IS NULL OR scope = ?2))
            OR (?2::VARCHAR IS NULL AND scope_type IN ('owner_type', 'incentive_type'))
         ORDER BY scope_type <> ?1, scope_type, scope",
    )?;
    out.costs = stmt
        .query_map(duckdb::params![scope_type, district], |r| {
            Ok(OfficerCost {
                scope_type: r.get(0)?,
                scope: r.get(1)?,
                homes_let: r.get(2)?,
                households: r.get(3)?,
                cost_eur: r.get(4)?,
                cost_per_home_eur: r.get(5)?,
                cost_per_household_eur: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(out)
}
