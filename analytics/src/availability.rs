//! Availability indicators per district and month, and for the whole municipality, computed with
//! Polars from the loaded tables and written to `indicators_monthly` (one column per indicator
//! of the registry).
//!
//! Stock measures are intervals of months: a property counts as vacant from the month of
//! `vacant_since` until the month it was let or withdrawn; each age bucket is a sub-interval.
//! Polars turns every interval into a +value and a −value event and sums events per district
//! and month; a running sum over the months gives the series.

use std::collections::HashMap;
use std::sync::Arc;

use duckdb::Connection;
use duckdb::arrow::array::{ArrayRef, Float64Array, StringArray};
use duckdb::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use polars::prelude::*;
use serde::Serialize;

use crate::registry::{Aggregate, HELPERS, INDICATORS};
use crate::{Error, Result, frame};

/// At most this many months, the latest ones, are computed.
const MAX_MONTHS: i64 = 120;

/// What an availability run produced.
#[derive(Debug, Clone, Serialize)]
pub struct AvailabilitySummary {
    pub districts: usize,
    pub months: usize,
    pub first_period: Option<String>,
    pub last_period: Option<String>,
}

/// The months covered: month numbers `base .. base + n` (year × 12 + month − 1).
#[derive(Debug, Clone, Copy)]
struct Months {
    base: i64,
    n: i64,
}

impl Months {
    fn label(&self, m: i64) -> String {
        let v = self.base + m;
        format!("{:04}-{:02}", v.div_euclid(12), v.rem_euclid(12) + 1)
    }

    /// SQL for the month index of a date expression.
    fn sql(&self, date: &str) -> String {
        format!(
            "(year({date}) * 12 + month({date}) - 1 - {})::BIGINT",
            self.base
        )
    }
}

const PERIOD_MONTH: &str =
    "(CAST(substr(period, 1, 4) AS BIGINT) * 12 + CAST(substr(period, 6, 2) AS BIGINT) - 1)";

fn coverage(conn: &Connection) -> Result<Option<Months>> {
    let sql = format!(
        "SELECT min(m), max(m) FROM (
            SELECT {PERIOD_MONTH} AS m FROM population WHERE length(period) = 7
            UNION ALL SELECT {PERIOD_MONTH} FROM social_housing_waiting_list WHERE length(period) = 7
            UNION ALL SELECT year(referral_date) * 12 + month(referral_date) - 1 FROM placements
            UNION ALL SELECT year(start_date) * 12 + month(start_date) - 1 FROM landlord_incentives
        )"
    );
    let (lo, hi): (Option<i64>, Option<i64>) =
        conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(match (lo, hi) {
        (Some(lo), Some(hi)) if hi >= lo => {
            let lo = lo.max(hi - MAX_MONTHS + 1);
            Some(Months {
                base: lo,
                n: hi - lo + 1,
            })
        }
        _ => None,
    })
}

/// District index `d` (by code order) joined to a dataset.
const DISTRICT_INDEX: &str = "WITH di AS (SELECT district_code, (row_number() OVER (ORDER BY district_code) - 1)::BIGINT AS d FROM districts)";

/// Values per district and month, in a dense `districts × months` grid.
struct Grid {
    districts: usize,
    months: usize,
    columns: HashMap<&'static str, Vec<f64>>,
}

impl Grid {
    fn zeros(&self) -> Vec<f64> {
        vec![0.0; self.districts * self.months]
    }

    /// Sums `value` per (d, m) of the frame's events into a grid column.
    fn events(&self, lf: LazyFrame, value: Expr) -> Result<Vec<f64>> {
        let n = self.months as i64;
        let agg = lf
            .select([col("d"), col("m"), value.cast(DataType::Float64).alias("v")])
            .filter(
                col("m")
                    .gt_eq(lit(0))
                    .and(col("m").lt(lit(n)))
                    .and(col("v").is_not_null()),
            )
            .group_by([col("d"), col("m")])
            .agg([col("v").sum()])
            .collect()?;
        let mut out = self.zeros();
        let (d, m, v) = (
            agg.column("d")?.i64()?,
            agg.column("m")?.i64()?,
            agg.column("v")?.f64()?,
        );
        for ((d, m), v) in d.iter().zip(m.iter()).zip(v.iter()) {
            if let (Some(d), Some(m), Some(v)) = (d, m, v) {
                out[d as usize * self.months + m as usize] += v;
            }
        }
        Ok(out)
    }

    /// The month-end total of `value` over intervals [from, to) of months (to null = open).
    fn intervals(&self, lf: LazyFrame, from: &str, to: &str, value: Expr) -> Result<Vec<f64>> {
        let n = self.months as i64;
        let clamp = |e: Expr| {
            when(e.clone().lt(lit(0)))
                .then(lit(0i64))
                .otherwise(when(e.clone().gt(lit(n))).then(lit(n)).otherwise(e))
        };
        let v = value.cast(DataType::Float64);
        let starts =
            lf.clone()
                .select([col("d"), clamp(col(from)).alias("m"), v.clone().alias("x")]);
        let ends = lf.select([
            col("d"),
            clamp(col(to).fill_null(lit(n))).alias("m"),
            (lit(0.0) - v).alias("x"),
        ]);
        let events = concat([starts, ends], UnionArgs::default())?;
        let mut out = self.events(events, col("x"))?;
        for d in 0..self.districts {
            let row = &mut out[d * self.months..(d + 1) * self.months];
            let mut acc = 0.0;
            for x in row.iter_mut() {
                acc += *x;
                *x = acc;
            }
        }
        Ok(out)
    }
}

/// Median days to placement per (district, month), and for the municipality per month.
type Medians = (HashMap<(usize, usize), f64>, HashMap<usize, f64>);

/// Computes every registry indicator and replaces `indicators_monthly`.
pub fn run_availability(conn: &Connection) -> Result<AvailabilitySummary> {
    let t0 = std::time::Instant::now();
    let Some(months) = coverage(conn)? else {
        return Ok(AvailabilitySummary {
            districts: 0,
            months: 0,
            first_period: None,
            last_period: None,
        });
    };
    let districts = frame::query(
        conn,
        "SELECT district_code, dwellings_total::DOUBLE AS dwellings, parent_code FROM districts ORDER BY district_code",
    )?;
    let codes: Vec<String> = districts
        .column("district_code")?
        .str()?
        .iter()
        .map(|c| c.unwrap_or_default().to_string())
        .collect();
    let municipality = districts
        .column("parent_code")?
        .str()?
        .get(0)
        .unwrap_or("ALL")
        .to_string();
    let mut g = Grid {
        districts: codes.len(),
        months: months.n as usize,
        columns: HashMap::new(),
    };
    let dwell: Vec<f64> = districts
        .column("dwellings")?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    g.columns.insert(
        "dwellings",
        (0..g.districts * g.months)
            .map(|i| dwell[i / g.months])
            .collect(),
    );

    vacant_stock(conn, &mut g, months)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "vacant_stock",
        "availability"
    );
    social_housing(conn, &mut g, months)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "social_housing",
        "availability"
    );
    incentives(conn, &mut g, months)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "incentives",
        "availability"
    );
    let medians = placements(conn, &mut g, months)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "placements",
        "availability"
    );
    ratios(&mut g);
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "ratios",
        "availability"
    );
    write(conn, &g, &codes, &municipality, months, &medians)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "write",
        "availability"
    );
    Ok(AvailabilitySummary {
        districts: g.districts,
        months: g.months,
        first_period: Some(months.label(0)),
        last_period: Some(months.label(months.n - 1)),
    })
}

fn vacant_stock(conn: &Connection, g: &mut Grid, mo: Months) -> Result<()> {
    let mi = |e: &str| mo.sql(e);
    let sql = format!(
        "{DISTRICT_INDEX}
         SELECT di.d, v.units::DOUBLE AS units, v.owner_type, v.condition, coalesce(v.renovation_cost_eur, 0) AS cost,
                (CASE WHEN v.bedrooms IS NULL THEN 2 * v.units ELSE greatest(v.units, 2 * v.bedrooms) END)::DOUBLE AS places,
                {m0} AS m0, {m6} AS m6, {m12} AS m12, {m24} AS m24,
                CASE WHEN v.status IN ('let', 'withdrawn') THEN {mend} END AS m_end
         FROM vacant_properties v JOIN di USING (district_code)",
        m0 = mi("v.vacant_since"),
        m6 = mi("(v.vacant_since + INTERVAL 6 MONTH)"),
        m12 = mi("(v.vacant_since + INTERVAL 12 MONTH)"),
        m24 = mi("(v.vacant_since + INTERVAL 24 MONTH)"),
        mend = mi("coalesce(v.status_date, v.vacant_since)"),
    );
    let n = mo.n;
    let df = frame::query(conn, &sql)?;
    // The month the property stops counting (open while still vacant), and the age buckets.
    let end = col("m_end").fill_null(lit(n));
    let least = |a: Expr, b: Expr| when(a.clone().lt(b.clone())).then(a).otherwise(b);
    let lf = df.lazy().with_columns([
        end.clone().alias("end"),
        least(col("m6"), end.clone()).alias("b6"),
        least(col("m12"), end.clone()).alias("b12"),
        least(col("m24"), end).alias("b24"),
    ]);
    let units = || col("units");
    let only = |e: Expr| lf.clone().filter(e);
    g.columns.insert(
        "vacant_units",
        g.intervals(lf.clone(), "m0", "end", units())?,
    );
    g.columns.insert(
        "long_term_vacant_units",
        g.intervals(lf.clone(), "b6", "end", units())?,
    );
    g.columns.insert(
        "vacant_units_under_6m",
        g.intervals(lf.clone(), "m0", "b6", units())?,
    );
    g.columns.insert(
        "vacant_units_6_12m",
        g.intervals(lf.clone(), "b6", "b12", units())?,
    );
    g.columns.insert(
        "vacant_units_1_2y",
        g.intervals(lf.clone(), "b12", "b24", units())?,
    );
    g.columns.insert(
        "vacant_units_over_2y",
        g.intervals(lf.clone(), "b24", "end", units())?,
    );
    for (owner, id) in [
        ("municipal", "vacant_units_municipal"),
        ("state", "vacant_units_state"),
        (
            "social_housing_provider",
            "vacant_units_social_housing_provider",
        ),
        ("private", "vacant_units_private"),
        ("non_profit", "vacant_units_non_profit"),
        ("religious", "vacant_units_religious"),
    ] {
        g.columns.insert(
            id,
            g.intervals(only(col("owner_type").eq(lit(owner))), "m0", "end", units())?,
        );
    }
    let public = col("owner_type")
        .eq(lit("municipal"))
        .or(col("owner_type").eq(lit("state")))
        .or(col("owner_type").eq(lit("social_housing_provider")));
    g.columns.insert(
        "public_vacant_units",
        g.intervals(only(public), "m0", "end", units())?,
    );
    let ready = col("condition").eq(lit("ready"));
    let minor = col("condition").eq(lit("minor_renovation"));
    g.columns.insert(
        "ready_units",
        g.intervals(only(ready.clone()), "m0", "end", units())?,
    );
    g.columns.insert(
        "activatable_90d_units",
        g.intervals(only(ready.clone().or(minor.clone())), "m0", "end", units())?,
    );
    g.columns.insert(
        "cost_to_activate_90d_eur",
        g.intervals(only(minor.clone()), "m0", "end", col("cost"))?,
    );
    g.columns.insert(
        "places_now",
        g.intervals(only(ready.clone()), "m0", "end", col("places"))?,
    );
    let quick = ready
        .clone()
        .or(minor.clone().and(col("cost").lt_eq(lit(5000.0))));
    g.columns.insert(
        "places_30d",
        g.intervals(only(quick), "m0", "end", col("places"))?,
    );
    g.columns.insert(
        "places_90d",
        g.intervals(only(ready.or(minor)), "m0", "end", col("places"))?,
    );
    Ok(())
}

fn social_housing(conn: &Connection, g: &mut Grid, mo: Months) -> Result<()> {
    let last = mo.n - 1;
    let units = frame::query(
        conn,
        &format!(
            "{DISTRICT_INDEX} SELECT di.d, {last}::BIGINT AS m, 1 AS one, (status = 'vacant')::INTEGER AS vacant FROM social_housing JOIN di USING (district_code)"
        ),
    )?;
    g.columns
        .insert("social_units", g.events(units.clone().lazy(), col("one"))?);
    g.columns.insert(
        "social_vacant_units",
        g.events(units.lazy(), col("vacant"))?,
    );
    let wl = frame::query(
        conn,
        &format!(
            "{DISTRICT_INDEX} SELECT di.d, ({PERIOD_MONTH} - {base})::BIGINT AS m, applicants::DOUBLE AS a,
                    applicants_international_protection::DOUBLE AS ip, median_wait_days * applicants AS wd
             FROM social_housing_waiting_list JOIN di USING (district_code) WHERE length(period) = 7",
            base = mo.base
        ),
    )?;
    g.columns
        .insert("waiting_applicants", g.events(wl.clone().lazy(), col("a"))?);
    g.columns.insert(
        "waiting_applicants_international_protection",
        g.events(wl.clone().lazy(), col("ip"))?,
    );
    g.columns
        .insert("waiting_days_weighted", g.events(wl.lazy(), col("wd"))?);
    Ok(())
}

fn incentives(conn: &Connection, g: &mut Grid, mo: Months) -> Result<()> {
    let sql = format!(
        "{DISTRICT_INDEX}
         SELECT di.d, {m0} AS m0, CASE WHEN end_date IS NOT NULL THEN {m1} END AS m1,
                status IN ('active', 'ended') AS accepted, units::DOUBLE AS units,
                amount_eur / CASE WHEN end_date IS NULL THEN 12 ELSE greatest(1, {m1} - {m0}) END AS monthly,
                {m0} + CASE WHEN end_date IS NULL THEN 12 ELSE greatest(1, {m1} - {m0}) END AS spend_end
         FROM landlord_incentives JOIN di USING (district_code)",
        m0 = mo.sql("start_date"),
        m1 = mo.sql("end_date"),
    );
    let lf = frame::query(conn, &sql)?.lazy();
    let accepted = lf.clone().filter(col("accepted"));
    g.columns.insert(
        "active_incentives",
        g.intervals(accepted.clone(), "m0", "m1", lit(1.0))?,
    );
    g.columns.insert(
        "active_incentive_units",
        g.intervals(accepted.clone(), "m0", "m1", col("units"))?,
    );
    g.columns.insert(
        "incentive_spend_eur",
        g.intervals(accepted, "m0", "spend_end", col("monthly"))?,
    );
    let open = lf.with_column(lit(NULL).cast(DataType::Int64).alias("never"));
    g.columns.insert(
        "incentives_offered",
        g.intervals(open.clone(), "m0", "never", lit(1.0))?,
    );
    g.columns.insert(
        "incentives_accepted",
        g.intervals(open.filter(col("accepted")), "m0", "never", lit(1.0))?,
    );
    Ok(())
}

/// Placement series; returns the median days to placement per district-month and for the
/// municipality per month (medians do not add up).
fn placements(conn: &Connection, g: &mut Grid, mo: Months) -> Result<Medians> {
    let sql = format!(
        "{DISTRICT_INDEX}
         SELECT di.d, programme, household_size::DOUBLE AS persons, {ms} AS m0,
                CASE WHEN end_date IS NOT NULL THEN {me} END AS m1,
                (start_date - referral_date)::DOUBLE AS wait_days, end_reason = 'autonomy' AS autonomy
         FROM placements JOIN di USING (district_code) WHERE start_date IS NOT NULL",
        ms = mo.sql("start_date"),
        me = mo.sql("end_date"),
    );
    let lf = frame::query(conn, &sql)?.lazy();
    g.columns.insert(
        "placements_active_households",
        g.intervals(lf.clone(), "m0", "m1", lit(1.0))?,
    );
    g.columns.insert(
        "placements_active_persons",
        g.intervals(lf.clone(), "m0", "m1", col("persons"))?,
    );
    for p in [
        "public_reception",
        "community_sponsorship",
        "humanitarian_corridor",
        "social_housing",
        "private_rental_incentive",
        "other",
    ] {
        let id = INDICATORS
            .iter()
            .find(|i| i.id == format!("placements_active_{p}"))
            .map(|i| i.id)
            .ok_or_else(|| Error::Data(p.into()))?;
        g.columns.insert(
            id,
            g.intervals(
                lf.clone().filter(col("programme").eq(lit(p))),
                "m0",
                "m1",
                lit(1.0),
            )?,
        );
    }
    g.columns.insert(
        "placements_started",
        g.events(lf.clone().with_column(col("m0").alias("m")), lit(1.0))?,
    );
    let ended = lf
        .clone()
        .filter(col("m1").is_not_null())
        .with_column(col("m1").alias("m"));
    g.columns
        .insert("placements_ended", g.events(ended.clone(), lit(1.0))?);
    g.columns.insert(
        "placements_ended_autonomy",
        g.events(ended.filter(col("autonomy")), lit(1.0))?,
    );

    let started = lf
        .with_column(col("m0").alias("m"))
        .filter(col("m").gt_eq(lit(0)).and(col("m").lt(lit(mo.n))));
    let by_district = started
        .clone()
        .group_by([col("d"), col("m")])
        .agg([col("wait_days").median().alias("med")])
        .collect()?;
    let mut district = HashMap::new();
    let (d, m, v) = (
        by_district.column("d")?.i64()?,
        by_district.column("m")?.i64()?,
        by_district.column("med")?.f64()?,
    );
    for ((d, m), v) in d.iter().zip(m.iter()).zip(v.iter()) {
        if let (Some(d), Some(m), Some(v)) = (d, m, v) {
            district.insert((d as usize, m as usize), v);
        }
    }
    let whole = started
        .group_by([col("m")])
        .agg([col("wait_days").median().alias("med")])
        .collect()?;
    let mut municipality = HashMap::new();
    for (m, v) in whole
        .column("m")?
        .i64()?
        .iter()
        .zip(whole.column("med")?.f64()?.iter())
    {
        if let (Some(m), Some(v)) = (m, v) {
            municipality.insert(m as usize, v);
        }
    }
    Ok((district, municipality))
}

/// District ratios from their parts (null where the denominator is 0).
fn ratios(g: &mut Grid) {
    for ind in INDICATORS {
        if let Aggregate::Ratio {
            numerator,
            denominator,
        } = ind.aggregate
        {
            let (num, den) = (&g.columns[numerator], &g.columns[denominator]);
            let r: Vec<f64> = num
                .iter()
                .zip(den)
                .map(|(a, b)| if *b > 0.0 { a / b } else { f64::NAN })
                .collect();
            g.columns.insert(ind.id, r);
        }
    }
}

fn write(
    conn: &Connection,
    g: &Grid,
    codes: &[String],
    municipality: &str,
    mo: Months,
    medians: &Medians,
) -> Result<()> {
    let ids: Vec<&str> = INDICATORS
        .iter()
        .map(|i| i.id)
        .chain(HELPERS.iter().copied())
        .collect();
    let rows = (g.districts + 1) * g.months;
    let mut area = Vec::with_capacity(rows);
    let mut level = Vec::with_capacity(rows);
    let mut period = Vec::with_capacity(rows);
    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(rows); ids.len()];
    let labels: Vec<String> = (0..mo.n).map(|m| mo.label(m)).collect();
    let clean = |v: f64| (!v.is_nan()).then_some(v);
    for code in codes.iter().take(g.districts) {
        for label in &labels {
            area.push(code.as_str());
            level.push("district");
            period.push(label.as_str());
        }
    }
    for (k, id) in ids.iter().enumerate() {
        let column = g.columns.get(id);
        for d in 0..g.districts {
            for m in 0..g.months {
                let v = if *id == "placements_median_days_to_start" {
                    medians.0.get(&(d, m)).copied()
                } else {
                    column.and_then(|c| clean(c[d * g.months + m]))
                };
                values[k].push(v);
            }
        }
    }
    // The municipality: sums, ratios of sums, or computed directly.
    let sum = |id: &str, m: usize| -> f64 {
        g.columns
            .get(id)
            .map(|c| (0..g.districts).map(|d| c[d * g.months + m]).sum())
            .unwrap_or(0.0)
    };
    for (m, label) in labels.iter().enumerate() {
        area.push(municipality);
        level.push("municipality");
        period.push(label.as_str());
        for (k, id) in ids.iter().enumerate() {
            let v = match crate::registry::get(id).map(|i| i.aggregate) {
                Some(Aggregate::Ratio {
                    numerator,
                    denominator,
                }) => {
                    let den = sum(denominator, m);
                    (den > 0.0).then(|| sum(numerator, m) / den)
                }
                Some(Aggregate::Direct) => medians.1.get(&m).copied(),
                _ => Some(sum(id, m)),
            };
            values[k].push(v);
        }
    }
    let mut fields = vec![
        Field::new("area_code", ArrowType::Utf8, false),
        Field::new("level", ArrowType::Utf8, false),
        Field::new("period", ArrowType::Utf8, false),
    ];
    fields.extend(
        ids.iter()
            .map(|id| Field::new(*id, ArrowType::Float64, true)),
    );
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(area)),
        Arc::new(StringArray::from(level)),
        Arc::new(StringArray::from(period)),
    ];
    arrays.extend(
        values
            .into_iter()
            .map(|v| Arc::new(Float64Array::from(v)) as ArrayRef),
    );
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::Data(e.to_string()))?;
    let columns = ids
        .iter()
        .map(|id| format!("\"{id}\" DOUBLE"))
        .collect::<Vec<_>>()
        .join(", ");
    let setup = format!(
        "DROP TABLE IF EXISTS indicators_monthly;
         CREATE TABLE indicators_monthly (area_code VARCHAR NOT NULL, level VARCHAR NOT NULL, period VARCHAR NOT NULL, {columns});"
    );
    crate::in_transaction(conn, &setup, || {
        let mut app = conn.appender("indicators_monthly")?;
        app.append_record_batch(batch)?;
        app.flush()?;
        Ok(())
    })
}
