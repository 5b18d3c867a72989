//! Availability indicators per district and month, and for the whole municipality, computed with
//! Polars from the loaded tables and written to `indicators_monthly`: one column per indicator of
//! the registry and per helper, every value as computed. It never leaves the server as it is:
//! officers read it, and `haven publish` makes the public `indicators_published` from it through
//! the disclosure step.
//!
//! Stock measures are intervals of months: a property counts as vacant from the month of
//! `vacant_since` until the month it was let or withdrawn; each age bucket is a sub-interval.
//! Polars turns every interval into a +value and a −value event and sums events per district
//! and month; a running sum over the months gives the series.

use std::collections::HashMap;
use std::sync::Arc;

use duckdb::Connection;
use duckdb::arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use duckdb::arrow::buffer::NullBuffer;
use duckdb::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use polars::prelude::*;
use serde::Serialize;

use crate::registry::{Aggregate, HELPERS, INDICATORS};
use crate::{DISTRICT_INDEX, Error, Result, frame};

/// At most this many months, the latest ones, are computed.
const MAX_MONTHS: i64 = 120;

/// What an availability run produced.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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

/// The months the indicators cover, from the first to the last month the data reaches, at
/// most the last `MAX_MONTHS`. The months come from the most precise dates the municipality
/// has: monthly periods, placements and incentives; else periods given by year (`YYYY`, as
/// statistics offices publish population: a year covers January to December, up to the
/// current month); else the vacancy register's own vacancy and status dates, up to today. So
/// a municipality with only districts and a register still gets its vacancy indicators, and
/// one with monthly data never gets months its data does not reach.
fn coverage(conn: &Connection) -> Result<Option<Months>> {
    let current = "(year(current_date) * 12 + month(current_date) - 1)";
    let sql = format!(
        "WITH monthly AS (
             SELECT {PERIOD_MONTH} AS m FROM population WHERE length(period) = 7
             UNION ALL SELECT {PERIOD_MONTH} FROM social_housing_waiting_list WHERE length(period) = 7
             UNION ALL SELECT year(referral_date) * 12 + month(referral_date) - 1 FROM placements
             UNION ALL SELECT year(start_date) * 12 + month(start_date) - 1 FROM landlord_incentives
             UNION ALL SELECT year(opened) * 12 + month(opened) - 1 FROM reception_sites),
         years AS (
             SELECT CAST(period AS BIGINT) AS y FROM population WHERE length(period) = 4
             UNION ALL SELECT CAST(period AS BIGINT) FROM social_housing_waiting_list WHERE length(period) = 4),
         yearly AS (
             SELECT least(y * 12 + k, {current}) AS m FROM years, (VALUES (0), (11)) t(k)),
         register AS (
             SELECT year(d) * 12 + month(d) - 1 AS m FROM (
                 SELECT vacant_since AS d FROM vacant_properties
                 UNION ALL SELECT status_date FROM vacant_properties) WHERE d <= current_date)
         SELECT 1 AS tier, min(m), max(m) FROM monthly
         UNION ALL SELECT 2, min(m), max(m) FROM yearly
         UNION ALL SELECT 3, min(m), max(m) FROM register
         ORDER BY tier"
    );
    let tiers: Vec<(Option<i64>, Option<i64>)> = conn
        .prepare(&sql)?
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?
        .collect::<std::result::Result<_, _>>()?;
    let (lo, hi) = tiers
        .into_iter()
        .find(|(lo, hi)| lo.is_some() && hi.is_some())
        .unwrap_or((None, None));
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

    /// Sums each value per district and month of the frame's events (columns `d` and `m`)
    /// into a grid column: Polars evaluates the values in one pass, and each lands in its cell.
    fn events(&mut self, lf: LazyFrame, values: Vec<(&'static str, Expr)>) -> Result<()> {
        let n = self.months as i64;
        let mut exprs = vec![col("d"), col("m")];
        exprs.extend(values.iter().enumerate().map(|(k, (_, v))| {
            v.clone()
                .cast(DataType::Float64)
                .fill_null(lit(0.0))
                .alias(format!("v{k}"))
        }));
        let df = lf.select(exprs).collect()?;
        let cells: Vec<Option<usize>> = df
            .column("d")?
            .i64()?
            .iter()
            .zip(df.column("m")?.i64()?.iter())
            .map(|(d, m)| match (d, m) {
                (Some(d), Some(m)) if (0..n).contains(&m) => {
                    Some(d as usize * self.months + m as usize)
                }
                _ => None,
            })
            .collect();
        for (k, (id, _)) in values.into_iter().enumerate() {
            let mut out = self.zeros();
            let v = df.column(&format!("v{k}"))?.f64()?;
            for (cell, v) in cells.iter().zip(v.into_no_null_iter()) {
                if let Some(c) = cell {
                    out[*c] += v;
                }
            }
            self.columns.insert(id, out);
        }
        Ok(())
    }

    /// Month-end totals of interval measures: a span's value counts in every month from its
    /// `from` month up to, not including, its `to` month (a null `to` is still open). Polars
    /// evaluates every boundary and value in one pass; each span then adds +value at its start
    /// and −value at its end into the dense district × month grid, and a running sum over the
    /// months turns those events into the series.
    fn spans(&mut self, lf: LazyFrame, spans: &[Span]) -> Result<()> {
        let n = self.months as i64;
        let mut bounds: Vec<&str> = Vec::new();
        for s in spans {
            for b in [s.from, s.to] {
                if !bounds.contains(&b) {
                    bounds.push(b);
                }
            }
        }
        let mut exprs = vec![col("d")];
        exprs.extend(bounds.iter().enumerate().map(|(i, b)| {
            let e = col(*b).fill_null(lit(n));
            when(e.clone().lt(lit(0)))
                .then(lit(0i64))
                .otherwise(when(e.clone().gt(lit(n))).then(lit(n)).otherwise(e))
                .alias(format!("b{i}"))
        }));
        // A span without a start, or ending before it starts, counts nowhere.
        exprs.extend(spans.iter().enumerate().map(|(k, s)| {
            let valid = col(s.from)
                .is_not_null()
                .and(col(s.to).is_null().or(col(s.to).gt_eq(col(s.from))));
            when(valid)
                .then(s.value.clone().cast(DataType::Float64))
                .otherwise(lit(0.0))
                .fill_null(lit(0.0))
                .alias(format!("v{k}"))
        }));
        let df = lf.select(exprs).collect()?;
        let months = self.months;
        let d: Vec<usize> = df
            .column("d")?
            .i64()?
            .iter()
            .map(|d| d.map_or(usize::MAX, |d| d as usize))
            .collect();
        let slot = |b: &str| -> Result<Vec<usize>> {
            let i = bounds.iter().position(|x| *x == b).unwrap_or_default();
            Ok(df
                .column(&format!("b{i}"))?
                .i64()?
                .iter()
                .zip(&d)
                .map(|(m, d)| match m {
                    Some(m) if m < n && *d != usize::MAX => d * months + m as usize,
                    _ => usize::MAX,
                })
                .collect())
        };
        let slots: HashMap<&str, Vec<usize>> = bounds
            .iter()
            .map(|b| Ok((*b, slot(b)?)))
            .collect::<Result<_>>()?;
        for (k, s) in spans.iter().enumerate() {
            let mut series = self.zeros();
            let values = df.column(&format!("v{k}"))?.f64()?;
            let (from, to) = (&slots[s.from], &slots[s.to]);
            for ((v, a), b) in values.into_no_null_iter().zip(from).zip(to) {
                if v != 0.0 {
                    if *a != usize::MAX {
                        series[*a] += v;
                    }
                    if *b != usize::MAX {
                        series[*b] -= v;
                    }
                }
            }
            for row in series.chunks_mut(months) {
                let mut acc = 0.0;
                for x in row.iter_mut() {
                    acc += *x;
                    *x = acc;
                }
            }
            self.columns.insert(s.id, series);
        }
        Ok(())
    }
}

/// An interval measure for [`Grid::spans`].
struct Span {
    id: &'static str,
    from: &'static str,
    to: &'static str,
    value: Expr,
}

fn span(id: &'static str, from: &'static str, to: &'static str, value: Expr) -> Span {
    Span {
        id,
        from,
        to,
        value,
    }
}

/// `value` where `cond` holds, else 0.
fn only(cond: Expr, value: Expr) -> Expr {
    when(cond).then(value).otherwise(lit(0.0))
}

/// Median days to placement per (district, month), and for the municipality per month.
type Medians = (HashMap<(usize, usize), f64>, HashMap<usize, f64>);

/// Computes every registry indicator and replaces `indicators_published` (personal counts after
/// suppression, with the withheld indicators of each row: what every output reads) and
/// `indicators_restricted` (what suppression withheld from, for signed-in officers).
pub fn run_availability(
    conn: &Connection,
    progress: &dyn crate::Progress,
) -> Result<AvailabilitySummary> {
    let t0 = std::time::Instant::now();
    crate::migrate(conn)?;
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
    progress.step("vacant stock");
    social_housing(conn, &mut g, months)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "social_housing",
        "availability"
    );
    progress.step("social housing");
    incentives(conn, &mut g, months)?;
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "incentives",
        "availability"
    );
    progress.step("landlord incentives");
    reception(conn, &mut g, months)?;
    let medians = placements(conn, &mut g, months)?;
    free_places(&mut g);
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        step = "placements",
        "availability"
    );
    progress.step("placements");
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
    progress.step("indicators written");
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
                {m0} AS m0, CASE WHEN v.status IN ('let', 'withdrawn') THEN {mend} END AS m_end
         FROM vacant_properties v JOIN di USING (district_code)",
        m0 = mi("v.vacant_since"),
        mend = mi("coalesce(v.status_date, v.vacant_since)"),
    );
    let n = mo.n;
    let df = frame::query(conn, &sql)?;
    // The month the property stops counting (open while still vacant), and the age buckets.
    let end = col("m_end").fill_null(lit(n));
    let least = |a: Expr, b: Expr| when(a.clone().lt(b.clone())).then(a).otherwise(b);
    // Adding k months to a date adds exactly k to its month number.
    let after = |k: i64| least(col("m0") + lit(k), end.clone());
    let lf = df.lazy().with_columns([
        end.clone().alias("end"),
        after(6).alias("b6"),
        after(12).alias("b12"),
        after(24).alias("b24"),
    ]);
    let units = || col("units");
    let owner = |o: &str| col("owner_type").eq(lit(o));
    let ready = || col("condition").eq(lit("ready"));
    let minor = || col("condition").eq(lit("minor_renovation"));
    let public = owner("municipal")
        .or(owner("state"))
        .or(owner("social_housing_provider"));
    let quick = ready().or(minor().and(col("cost").lt_eq(lit(5000.0))));
    let mut spans = vec![
        span("vacant_units", "m0", "end", units()),
        span("long_term_vacant_units", "b6", "end", units()),
        span("vacant_units_under_6m", "m0", "b6", units()),
        span("vacant_units_6_12m", "b6", "b12", units()),
        span("vacant_units_1_2y", "b12", "b24", units()),
        span("vacant_units_over_2y", "b24", "end", units()),
        span("public_vacant_units", "m0", "end", only(public, units())),
        span("ready_units", "m0", "end", only(ready(), units())),
        span(
            "activatable_90d_units",
            "m0",
            "end",
            only(ready().or(minor()), units()),
        ),
        span(
            "cost_to_activate_90d_eur",
            "m0",
            "end",
            only(minor(), col("cost")),
        ),
        span("places_now", "m0", "end", only(ready(), col("places"))),
        span("places_30d", "m0", "end", only(quick, col("places"))),
        span(
            "places_90d",
            "m0",
            "end",
            only(ready().or(minor()), col("places")),
        ),
    ];
    for (o, id) in [
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
        spans.push(span(id, "m0", "end", only(owner(o), units())));
    }
    g.spans(lf, &spans)
}

fn social_housing(conn: &Connection, g: &mut Grid, mo: Months) -> Result<()> {
    let last = mo.n - 1;
    let units = frame::query(
        conn,
        &format!(
            "{DISTRICT_INDEX} SELECT di.d, {last}::BIGINT AS m, 1 AS one, (status = 'vacant')::INTEGER AS vacant FROM social_housing JOIN di USING (district_code)"
        ),
    )?;
    g.events(
        units.lazy(),
        vec![
            ("social_units", col("one")),
            ("social_vacant_units", col("vacant")),
        ],
    )?;
    let wl = frame::query(
        conn,
        &format!(
            "{DISTRICT_INDEX} SELECT di.d, ({PERIOD_MONTH} - {base})::BIGINT AS m, applicants::DOUBLE AS a,
                    applicants_international_protection::DOUBLE AS ip, median_wait_days * applicants AS wd
             FROM social_housing_waiting_list JOIN di USING (district_code) WHERE length(period) = 7",
            base = mo.base
        ),
    )?;
    g.events(
        wl.lazy(),
        vec![
            ("waiting_applicants", col("a")),
            ("waiting_applicants_international_protection", col("ip")),
            ("waiting_days_weighted", col("wd")),
        ],
    )?;
    Ok(())
}

/// The programmes reception sites serve (the `reception_sites` schema's list): persons placed
/// through them occupy reception places.
pub const RECEPTION_PROGRAMMES: &[&str] = &[
    "public_reception",
    "community_sponsorship",
    "humanitarian_corridor",
    "other",
];

/// Reception places and sites open at each month's end, in all and per programme.
fn reception(conn: &Connection, g: &mut Grid, mo: Months) -> Result<()> {
    let sql = format!(
        "{DISTRICT_INDEX}
         SELECT di.d, programme, places::DOUBLE AS places, {m0} AS m0,
                CASE WHEN closes IS NOT NULL THEN {m1} END AS m1
         FROM reception_sites JOIN di USING (district_code)",
        m0 = mo.sql("opened"),
        m1 = mo.sql("closes"),
    );
    let lf = frame::query(conn, &sql)?.lazy();
    let mut spans = vec![
        span("reception_sites_open", "m0", "m1", lit(1.0)),
        span("reception_places", "m0", "m1", col("places")),
    ];
    spans.extend(per_programme(
        "reception_places",
        RECEPTION_PROGRAMMES,
        &col("places"),
    )?);
    g.spans(lf, &spans)
}

/// One span per programme, `{prefix}_{programme}`, of `value` where the row's programme is it
/// (`m0` to `m1`); every id must be in the registry.
fn per_programme(prefix: &str, programmes: &[&str], value: &Expr) -> Result<Vec<Span>> {
    programmes
        .iter()
        .map(|&p| {
            let id = INDICATORS
                .iter()
                .find(|i| i.id == format!("{prefix}_{p}"))
                .map(|i| i.id)
                .ok_or_else(|| Error::Data(format!("no indicator {prefix}_{p}")))?;
            Ok(span(
                id,
                "m0",
                "m1",
                only(col("programme").eq(lit(p)), value.clone()),
            ))
        })
        .collect()
}

/// Free reception places: places less the persons placed through the programmes they serve
/// (negative where more persons are placed than there are places).
fn free_places(g: &mut Grid) {
    let zeros = g.zeros();
    let places = g.columns.get("reception_places").unwrap_or(&zeros);
    let occupied = g.columns.get("reception_places_occupied").unwrap_or(&zeros);
    let free: Vec<f64> = places.iter().zip(occupied).map(|(p, o)| p - o).collect();
    g.columns.insert("reception_places_free", free);
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
    let lf = frame::query(conn, &sql)?
        .lazy()
        .with_column(lit(NULL).cast(DataType::Int64).alias("never"));
    let accepted = || col("accepted");
    g.spans(
        lf,
        &[
            span("active_incentives", "m0", "m1", only(accepted(), lit(1.0))),
            span(
                "active_incentive_units",
                "m0",
                "m1",
                only(accepted(), col("units")),
            ),
            span(
                "incentive_spend_eur",
                "m0",
                "spend_end",
                only(accepted(), col("monthly")),
            ),
            span("incentives_offered", "m0", "never", lit(1.0)),
            span(
                "incentives_accepted",
                "m0",
                "never",
                only(accepted(), lit(1.0)),
            ),
        ],
    )
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
    let mut spans = vec![
        span("placements_active_households", "m0", "m1", lit(1.0)),
        span("placements_active_persons", "m0", "m1", col("persons")),
        span(
            "reception_places_occupied",
            "m0",
            "m1",
            only(
                RECEPTION_PROGRAMMES
                    .iter()
                    .map(|p| col("programme").eq(lit(*p)))
                    .reduce(|a, b| a.or(b))
                    .unwrap_or(lit(false)),
                col("persons"),
            ),
        ),
    ];
    spans.extend(per_programme(
        "placements_active",
        crate::registry::PROGRAMMES,
        &lit(1.0),
    )?);
    g.spans(lf.clone(), &spans)?;
    g.events(
        lf.clone().with_column(col("m0").alias("m")),
        vec![("placements_started", lit(1.0))],
    )?;
    g.events(
        lf.clone().with_column(col("m1").alias("m")),
        vec![
            ("placements_ended", lit(1.0)),
            ("placements_ended_autonomy", only(col("autonomy"), lit(1.0))),
        ],
    )?;

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

/// One stored column: BIGINT for counts, DOUBLE otherwise; null for NaN.
fn column(id: &str, values: &[f64]) -> ArrayRef {
    let valid: Vec<bool> = values.iter().map(|x| !x.is_nan()).collect();
    let nulls = valid.contains(&false).then(|| NullBuffer::from(valid));
    if crate::registry::is_count(id) {
        let whole: Vec<i64> = values
            .iter()
            .map(|x| if x.is_nan() { 0 } else { x.round() as i64 })
            .collect();
        Arc::new(Int64Array::new(whole.into(), nulls))
    } else {
        Arc::new(Float64Array::new(values.to_vec().into(), nulls))
    }
}

/// A wide batch: the three key columns and the given columns.
fn wide_batch(keys: [&ArrayRef; 3], columns: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    let mut fields = vec![
        Field::new("area_code", ArrowType::Utf8, false),
        Field::new("level", ArrowType::Utf8, false),
        Field::new("period", ArrowType::Utf8, false),
    ];
    let mut arrays: Vec<ArrayRef> = keys.iter().map(|a| Arc::clone(a)).collect();
    for (id, array) in columns {
        fields.push(Field::new(id, array.data_type().clone(), true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::Data(e.to_string()))
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
    let labels: Vec<String> = (0..mo.n).map(|m| mo.label(m)).collect();
    for code in codes.iter().take(g.districts) {
        for label in &labels {
            area.push(code.as_str());
            level.push("district");
            period.push(label.as_str());
        }
    }
    for label in &labels {
        area.push(municipality);
        level.push("municipality");
        period.push(label.as_str());
    }
    // District rows are the grid columns as they are (district-major, then month), NaN for
    // null; the municipality rows follow: sums, ratios of sums, or computed directly.
    let cells = g.districts * g.months;
    let sums: HashMap<&str, Vec<f64>> = g
        .columns
        .iter()
        .map(|(id, c)| {
            let mut s = vec![0.0; g.months];
            for (i, x) in c[..cells].iter().enumerate() {
                s[i % g.months] += x;
            }
            (*id, s)
        })
        .collect();
    let sum = |id: &str, m: usize| sums.get(id).map_or(0.0, |s| s[m]);
    let values: Vec<Vec<f64>> = ids
        .iter()
        .map(|id| {
            let mut v = Vec::with_capacity(rows);
            if *id == "placements_median_days_to_start" {
                v.resize(cells, f64::NAN);
                for (&(d, m), x) in &medians.0 {
                    v[d * g.months + m] = *x;
                }
            } else if let Some(c) = g.columns.get(id) {
                v.extend_from_slice(&c[..cells]);
            } else {
                v.resize(cells, f64::NAN);
            }
            let aggregate = crate::registry::get(id).map(|i| i.aggregate);
            v.extend((0..g.months).map(|m| match aggregate {
                Some(Aggregate::Ratio {
                    numerator,
                    denominator,
                }) => {
                    let den = sum(denominator, m);
                    if den > 0.0 {
                        sum(numerator, m) / den
                    } else {
                        f64::NAN
                    }
                }
                Some(Aggregate::Direct) => medians.1.get(&m).copied().unwrap_or(f64::NAN),
                _ => sum(id, m),
            }));
            v
        })
        .collect();
    // Every value as computed, personal ones included: officers read this table; what leaves
    // the server is made from it by the disclosure step of `haven publish`.
    let columns: Vec<(&str, ArrayRef)> = ids
        .iter()
        .zip(&values)
        .map(|(id, v)| (*id, column(id, v)))
        .collect();
    let sql_type = |id: &str| {
        if crate::registry::is_count(id) {
            "BIGINT"
        } else {
            "DOUBLE"
        }
    };
    let declared: String = columns
        .iter()
        .map(|(id, _)| format!(", \"{id}\" {}", sql_type(id)))
        .collect();
    let kind: Option<String> = conn
        .query_row(
            "SELECT table_type FROM information_schema.tables WHERE table_name = 'indicators_monthly'",
            [],
            |r| r.get(0),
        )
        .ok();
    let drop = match kind.as_deref() {
        Some("VIEW") => "DROP VIEW indicators_monthly;",
        Some(_) => "DROP TABLE indicators_monthly;",
        None => "",
    };
    let setup = format!(
        "{drop}
         CREATE TABLE indicators_monthly (area_code VARCHAR NOT NULL, level VARCHAR NOT NULL, period VARCHAR NOT NULL{declared});"
    );
    let area: ArrayRef = Arc::new(StringArray::from(area));
    let level: ArrayRef = Arc::new(StringArray::from(level));
    let period: ArrayRef = Arc::new(StringArray::from(period));
    let batch = wide_batch([&area, &level, &period], columns)?;
    let t = std::time::Instant::now();
    let r = crate::in_transaction(conn, &setup, || {
        let mut app = conn.appender("indicators_monthly")?;
        app.append_record_batch(batch)?;
        app.flush()?;
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "indicator tables appended"
        );
        Ok(())
    });
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "indicator tables committed"
    );
    r
}
