//! The needs forecast: persons in placements (or households arriving) over the next months,
//! with 80 % and 95 % prediction intervals, and what that asks of the homes the municipality
//! can mobilise.
//!
//! The model is automatic exponential smoothing (AutoETS from `augurs-ets`: additive or
//! multiplicative error, no, additive or damped trend, chosen by AICc), fitted to the monthly
//! series as given. It is judged by a rolling-origin backtest ([`backtest`]): from every month
//! with at least [`MIN_HISTORY`] months behind it, the model is fitted on the past alone and its
//! forecasts for the next 1 to 12 months are compared with what happened, beside two baselines
//! (the last value, and the value twelve months before). The error is the MASE: the mean
//! absolute error scaled by the mean absolute month-to-month change of the training months, so
//! 1 means "as good as the last value one month ahead", and the coverage of the intervals is the
//! share of outcomes that fell inside them.
//!
//! The model's own intervals assume it is the true model; on short, trending histories they are
//! too narrow (on the demo they held 40 to 60 % of outcomes at 80 %). So the intervals Haven
//! gives are calibrated on the backtest's errors: each error over the model's standard error,
//! and each horizon's standard errors scaled by the root mean square of its ratios (never
//! narrowed; a horizon with too few errors grows from the last one calibrated). In the backtest every origin is
//! calibrated on the outcomes known at that origin only, so the coverage it reports is the
//! coverage a user would have had.
//!
//! Everything here is a function of the series it is handed; the caller decides whose figures
//! that is (the release's, for the public).

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use serde::Serialize;

use crate::{Error, Result};

/// Months ahead forecast.
pub const HORIZON: usize = 12;
/// Months of history a forecast (and every backtest origin) needs.
pub const MIN_HISTORY: usize = 12;
/// The season of the seasonal-naive baseline, in months.
const SEASON: usize = 12;

/// One month ahead: the point forecast and its intervals.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Band {
    /// `YYYY-MM`.
    pub month: String,
    pub mean: f64,
    pub lower_80: f64,
    pub upper_80: f64,
    pub lower_95: f64,
    pub upper_95: f64,
}

impl Band {
    /// The band moved by `d` (a constant added to every value), none below zero.
    fn shifted(&self, d: f64) -> Band {
        self.map(|v| (v + d).max(0.0))
    }

    /// Every value mapped by an increasing function.
    fn map(&self, f: impl Fn(f64) -> f64) -> Band {
        Band {
            month: self.month.clone(),
            mean: f(self.mean),
            lower_80: f(self.lower_80),
            upper_80: f(self.upper_80),
            lower_95: f(self.lower_95),
            upper_95: f(self.upper_95),
        }
    }
}

/// A forecast of one series.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    /// The model chosen: error, trend and season as ETS names them (`ETS(AAN, damped)`: additive
    /// error, additive damped trend, no season).
    pub model: String,
    /// The last month of the history.
    pub last_month: String,
    pub last_value: f64,
    /// The months of history used.
    pub history_months: usize,
    /// The history itself, `[YYYY-MM, value]` oldest first.
    pub history: Vec<(String, f64)>,
    pub months: Vec<Band>,
}

/// The month after `YYYY-MM`, `k` times.
pub fn month_after(month: &str, k: usize) -> Result<String> {
    let bad = || Error::Data(format!("not a month (YYYY-MM): {month:?}"));
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i64, i64) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) {
        return Err(bad());
    }
    let i = y * 12 + (m - 1) + k as i64;
    Ok(format!(
        "{:04}-{:02}",
        i.div_euclid(12),
        i.rem_euclid(12) + 1
    ))
}

/// The series a forecast may use, from rows `(YYYY-MM, value or withheld)` oldest first: the
/// longest run of consecutive months with a value that ends at the last row (a withheld or
/// missing month ends the run: no value is guessed).
pub fn trailing_run(rows: &[(String, Option<f64>)]) -> Vec<(String, f64)> {
    let mut run: Vec<(String, f64)> = Vec::new();
    for (month, value) in rows.iter().rev() {
        let Some(v) = value else { break };
        if let Some((next, _)) = run.last()
            && month_after(month, 1).ok().as_deref() != Some(next.as_str())
        {
            break;
        }
        run.push((month.clone(), *v));
    }
    run.reverse();
    run
}

/// What the register's holders forecast (never published): the municipality's monthly figure
/// `indicator` as computed, before the disclosure step, up to `until` (exclusive: the month in
/// progress is not complete).
pub fn history_live(
    conn: &duckdb::Connection,
    indicator: &str,
    until: &str,
) -> Result<Vec<(String, f64)>> {
    if !["placements_active_persons", "placements_started"].contains(&indicator) {
        return Err(Error::Unsupported(format!("no forecast of {indicator}")));
    }
    if !ingest::store::has_table(conn, "indicators_monthly")
        .map_err(|e| Error::Data(e.to_string()))?
    {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT period, \"{indicator}\"::DOUBLE FROM indicators_monthly
         WHERE level = 'municipality' AND period < ? ORDER BY period"
    ))?;
    let rows: Vec<(String, Option<f64>)> = stmt
        .query_map([until], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(trailing_run(&rows))
}

/// The normal quantiles of the two-sided 80 % and 95 % intervals.
const Z: [f64; 2] = [1.281_551_565_545, 1.959_963_984_540];
/// Outcomes of one horizon the backtest must have seen before their errors set the width of
/// that horizon's intervals.
const MIN_CALIBRATION: usize = 8;

/// One month ahead as the model gives it: its mean and its standard error.
#[derive(Debug, Clone, Copy)]
struct Step {
    mean: f64,
    se: f64,
}

/// Fits the model to `values` and returns its mean and standard error for each of `horizon`
/// months (the standard error from the model's own 95 % interval).
fn predict(values: &[f64], horizon: usize) -> Result<(String, Vec<Step>)> {
    let fail = |e: augurs_ets::Error| Error::Data(format!("the forecast model: {e}"));
    let fitted = AutoETS::new(1, "ZZN")
        .map_err(fail)?
        .fit(values)
        .map_err(fail)?;
    let p = fitted.predict(horizon, 0.95).map_err(fail)?;
    let Some(i) = p.intervals else {
        return Err(Error::Data("the forecast model gave no intervals".into()));
    };
    let steps = (0..horizon)
        .map(|h| Step {
            mean: p.point[h],
            se: ((i.upper[h] - i.lower[h]) / (2.0 * Z[1])).max(0.0),
        })
        .collect();
    let model = fitted.model();
    let damped = if model.damped() { ", damped" } else { "" };
    Ok((format!("ETS({}{damped})", model.model_type()), steps))
}

/// How many standard errors the 80 % and 95 % intervals span on each side: the model's normal
/// quantiles, scaled by how much larger than the model expected its errors were in the
/// backtest. `ratios` are the absolute errors over their standard errors of forecasts whose
/// outcome is known; their root mean square is the scale (1 when the model is right about its
/// own uncertainty), never below 1. With fewer than [`MIN_CALIBRATION`] of them the model's own
/// widths stand.
fn widths(ratios: &[f64]) -> [f64; 2] {
    if ratios.len() < MIN_CALIBRATION {
        return Z;
    }
    let scale = (ratios.iter().map(|r| r * r).sum::<f64>() / ratios.len() as f64)
        .sqrt()
        .max(1.0);
    [Z[0] * scale, Z[1] * scale]
}

/// The widths for each of `horizon` months ahead from the known errors `(h, ratio)`: each
/// horizon calibrated on its own errors where it has [`MIN_CALIBRATION`] of them; a horizon
/// beyond the last calibrated one, `c`, takes `c`'s widths grown in proportion (`h / c`: errors
/// of a trend that is misjudged grow with the months ahead); with none calibrated, the model's.
fn horizon_widths(known: &[(usize, f64)], horizon: usize) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(horizon);
    let mut last: Option<(usize, [f64; 2])> = None;
    for h in 1..=horizon {
        let ratios: Vec<f64> = known
            .iter()
            .filter(|(k, _)| *k == h)
            .map(|(_, r)| *r)
            .collect();
        let w = if ratios.len() >= MIN_CALIBRATION {
            let w = widths(&ratios);
            last = Some((h, w));
            w
        } else if let Some((c, w)) = last {
            let grow = h as f64 / c as f64;
            [Z[0].max(w[0] * grow), Z[1].max(w[1] * grow)]
        } else {
            Z
        };
        out.push(w);
    }
    out
}

/// A month's band from the model's step and the widths, none below zero (these are counts).
fn band(month: String, step: Step, widths: [f64; 2]) -> Band {
    let z = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    Band {
        month,
        mean: z(step.mean),
        lower_80: z(step.mean - widths[0] * step.se),
        upper_80: z(step.mean + widths[0] * step.se),
        lower_95: z(step.mean - widths[1] * step.se),
        upper_95: z(step.mean + widths[1] * step.se),
    }
}

/// The forecast of a monthly series (`YYYY-MM`, value), consecutive months, oldest first. Its
/// intervals are as wide as the backtest of the same history showed they must be (never
/// narrower than the model's own).
pub fn forecast(history: &[(String, f64)], horizon: usize) -> Result<Forecast> {
    if history.len() < MIN_HISTORY {
        return Err(Error::Data(format!(
            "a forecast needs {MIN_HISTORY} consecutive months of history; there are {}",
            history.len()
        )));
    }
    let (last_month, last_value) = history[history.len() - 1].clone();
    let values: Vec<f64> = history.iter().map(|(_, v)| *v).collect();
    let widths = horizon_widths(&run(&values)?.ratios(), horizon);
    let (model, steps) = predict(&values, horizon)?;
    let months = steps
        .iter()
        .enumerate()
        .map(|(h, step)| Ok(band(month_after(&last_month, h + 1)?, *step, widths[h])))
        .collect::<Result<_>>()?;
    Ok(Forecast {
        model,
        last_month,
        last_value,
        history_months: history.len(),
        history: history.to_vec(),
        months,
    })
}

/// How one method did in the backtest, over the horizons up to `horizon`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Score {
    pub method: &'static str,
    /// Months ahead: the errors of forecasts 1 to `horizon` months ahead.
    pub horizon: usize,
    pub mase: f64,
    /// Share of outcomes inside the 80 % and 95 % intervals as published (the model only),
    /// each calibrated on the errors known at its origin.
    pub coverage_80: Option<f64>,
    pub coverage_95: Option<f64>,
    /// The same for the model's own intervals, before calibration.
    pub model_coverage_80: Option<f64>,
    pub model_coverage_95: Option<f64>,
    /// Forecasts compared.
    pub forecasts: usize,
}

/// A rolling-origin backtest of the model against the two baselines.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub months: usize,
    pub origins: usize,
    /// For each method, at 3, 6 and 12 months ahead.
    pub scores: Vec<Score>,
}

/// What one forecast made at an origin scored `h` months ahead.
struct Outcome {
    /// The origin: the forecast knew the months before it.
    t: usize,
    h: usize,
    scaled: [Option<f64>; 3],
    /// Its absolute error over its standard error.
    ratio: Option<f64>,
    /// Inside the model's own 80 % and 95 % intervals, and inside the calibrated ones.
    model: [bool; 2],
    calibrated: [bool; 2],
}

/// Every forecast of the backtest, in the order of their origins.
struct Run {
    outcomes: Vec<Outcome>,
    origins: usize,
}

impl Run {
    /// The errors over their standard errors, by months ahead.
    fn ratios(&self) -> Vec<(usize, f64)> {
        self.outcomes
            .iter()
            .filter_map(|o| o.ratio.map(|r| (o.h, r)))
            .collect()
    }
}

/// The forecasts from an origin at every month with [`MIN_HISTORY`] months behind it and at
/// least one after it, each fitted on the months before its origin alone and its intervals
/// calibrated on the outcomes known at its origin (those of earlier forecasts whose month has
/// passed).
fn run(values: &[f64]) -> Result<Run> {
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut origins = 0;
    for t in MIN_HISTORY..values.len() {
        let train = &values[..t];
        let ahead = HORIZON.min(values.len() - t);
        // The scale: the mean absolute change from month to month in the training months.
        let scale = train.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (t - 1) as f64;
        if scale <= 0.0 {
            continue; // a flat history scales nothing
        }
        let known: Vec<(usize, f64)> = outcomes
            .iter()
            .filter(|o| o.t + o.h <= t)
            .filter_map(|o| o.ratio.map(|r| (o.h, r)))
            .collect();
        let widths = horizon_widths(&known, ahead);
        let (_, steps) = predict(train, ahead)?;
        origins += 1;
        for h in 1..=ahead {
            let actual = values[t + h - 1];
            let seasonal = (t >= SEASON).then(|| {
                let back = SEASON * h.div_ceil(SEASON);
                values[t + h - 1 - back]
            });
            let step = steps[h - 1];
            let inside = |w: [f64; 2]| {
                let b = band(String::new(), step, w);
                [
                    (b.lower_80..=b.upper_80).contains(&actual),
                    (b.lower_95..=b.upper_95).contains(&actual),
                ]
            };
            outcomes.push(Outcome {
                t,
                h,
                scaled: [
                    Some((step.mean - actual).abs() / scale),
                    Some((train[t - 1] - actual).abs() / scale),
                    seasonal.map(|s| (s - actual).abs() / scale),
                ],
                ratio: (step.se > 0.0).then(|| (step.mean - actual).abs() / step.se),
                model: inside(Z),
                calibrated: inside(widths[h - 1]),
            });
        }
    }
    Ok(Run { outcomes, origins })
}

/// The backtest of `values` (consecutive months): MASE of the model and of the baselines at 3,
/// 6 and 12 months ahead, and the coverage of the model's intervals.
pub fn backtest(values: &[f64]) -> Result<Backtest> {
    if values.len() <= MIN_HISTORY {
        return Err(Error::Data(format!(
            "a backtest needs more than {MIN_HISTORY} months; there are {}",
            values.len()
        )));
    }
    let run = run(values)?;
    if run.outcomes.is_empty() {
        return Err(Error::Data(
            "the backtest found no month to forecast from (the history is flat)".into(),
        ));
    }
    let mut scores = Vec::new();
    for (m, method) in ["ets", "naive", "seasonal_naive"].into_iter().enumerate() {
        for horizon in [3, 6, 12] {
            let within: Vec<&Outcome> = run.outcomes.iter().filter(|o| o.h <= horizon).collect();
            let errors: Vec<f64> = within.iter().filter_map(|o| o.scaled[m]).collect();
            if errors.is_empty() {
                continue;
            }
            let share = |f: &dyn Fn(&Outcome) -> bool| {
                (m == 0)
                    .then(|| within.iter().filter(|o| f(o)).count() as f64 / within.len() as f64)
            };
            scores.push(Score {
                method,
                horizon,
                mase: errors.iter().sum::<f64>() / errors.len() as f64,
                coverage_80: share(&|o| o.calibrated[0]),
                coverage_95: share(&|o| o.calibrated[1]),
                model_coverage_80: share(&|o| o.model[0]),
                model_coverage_95: share(&|o| o.model[1]),
                forecasts: errors.len(),
            });
        }
    }
    Ok(Backtest {
        months: values.len(),
        origins: run.origins,
        scores,
    })
}

/// Persons announced to arrive in a month (a humanitarian corridor, a relocation).
#[derive(Debug, Clone, PartialEq)]
pub struct Announced {
    pub month: String,
    pub persons: u32,
}

/// Places in homes that can take people, by when (persons: two a bedroom).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Places {
    pub now: u32,
    pub within_30_days: u32,
    pub within_90_days: u32,
}

/// What one month ahead asks for.
#[derive(Debug, Clone, Serialize)]
pub struct NeedMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Persons to house beyond those in placements in the last month of history: the growth of
    /// the forecast plus the announced arrivals up to this month.
    pub persons: Band,
    pub homes: Band,
    pub bedrooms: Band,
    /// Places available by this month: now (month 0), within 30 days (months 1 and 2), within
    /// 90 days (from month 3).
    pub places: u32,
    /// Persons who would have no place (0 where the places suffice).
    pub shortfall_persons: Band,
}

/// Households and bedrooms per person of a household mix (size, share): a household of `s`
/// needs one home and `ceil(s / 2)` bedrooms, as the scenario counts two persons a bedroom.
pub fn per_person(mix: &[(u32, f64)]) -> Result<(f64, f64)> {
    let total: f64 = mix.iter().map(|(_, w)| w).sum();
    let persons: f64 = mix.iter().map(|(s, w)| f64::from(*s) * w).sum();
    if !(total > 0.0 && persons > 0.0) {
        return Err(Error::Data("the household mix is empty".into()));
    }
    let bedrooms: f64 = mix.iter().map(|(s, w)| f64::from(s.div_ceil(2)) * w).sum();
    Ok((total / persons, bedrooms / persons))
}

/// The needs of each forecast month: persons, homes and bedrooms, against the places.
pub fn needs(
    forecast: &Forecast,
    announced: &[Announced],
    mix: &[(u32, f64)],
    places: Places,
) -> Result<Vec<NeedMonth>> {
    let (homes_pp, bedrooms_pp) = per_person(mix)?;
    forecast
        .months
        .iter()
        .enumerate()
        .map(|(i, band)| {
            let arriving: f64 = announced
                .iter()
                .filter(|a| a.month.as_str() <= band.month.as_str())
                .map(|a| f64::from(a.persons))
                .sum();
            let persons = band.shifted(arriving - forecast.last_value);
            let available = match i {
                0 | 1 => places.within_30_days,
                _ => places.within_90_days,
            };
            Ok(NeedMonth {
                month: band.month.clone(),
                homes: persons.map(|v| (v * homes_pp).ceil()),
                bedrooms: persons.map(|v| (v * bedrooms_pp).ceil()),
                places: available,
                shortfall_persons: persons.shifted(-f64::from(available)),
                persons,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months(values: &[f64]) -> Vec<(String, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (month_after("2023-12", i + 1).unwrap(), *v))
            .collect()
    }

    #[test]
    fn the_run_ends_at_the_last_month_and_stops_at_a_gap_or_a_withheld_month() {
        let rows = |r: &[(&str, Option<f64>)]| {
            r.iter()
                .map(|(m, v)| (m.to_string(), *v))
                .collect::<Vec<_>>()
        };
        let run = trailing_run(&rows(&[
            ("2026-01", Some(1.0)),
            ("2026-02", None),
            ("2026-03", Some(3.0)),
            ("2026-04", Some(4.0)),
        ]));
        assert_eq!(run, vec![("2026-03".into(), 3.0), ("2026-04".into(), 4.0)]);
        let run = trailing_run(&rows(&[("2025-12", Some(1.0)), ("2026-02", Some(2.0))]));
        assert_eq!(run, vec![("2026-02".into(), 2.0)]);
        assert!(trailing_run(&rows(&[("2026-01", Some(1.0)), ("2026-02", None)])).is_empty());
    }

    #[test]
    fn the_widths_scale_the_models_by_the_root_mean_square_of_its_errors() {
        // Too few outcomes: the model's own normal widths.
        assert_eq!(widths(&[5.0; MIN_CALIBRATION - 1]), Z);
        // Errors of 1, 2, 2 and 3 standard errors, twice: a root mean square of
        // sqrt((1 + 4 + 4 + 9) / 4) = 2.1213...; the normal widths times that.
        let w = widths(&[1.0, 2.0, 2.0, 3.0, 1.0, 2.0, 2.0, 3.0]);
        let scale = (18.0_f64 / 4.0).sqrt();
        assert!((w[0] - Z[0] * scale).abs() < 1e-12 && (w[1] - Z[1] * scale).abs() < 1e-12);
        assert!(w[0] < w[1]);
        // Errors smaller than the model expects leave its widths.
        assert_eq!(widths(&[0.1; 40]), Z);
    }

    #[test]
    fn each_horizon_is_calibrated_on_its_own_errors_and_later_ones_grow_from_the_last() {
        // Horizon 1: 8 errors of 3 standard errors; horizon 2: 8 of 4; horizon 3: 2 only.
        let mut known: Vec<(usize, f64)> = Vec::new();
        known.extend([(1, 3.0); 8]);
        known.extend([(2, 4.0); 8]);
        known.extend([(3, 9.0); 2]);
        let w = horizon_widths(&known, 4);
        let close = |a: [f64; 2], scale: f64| {
            (a[0] - Z[0] * scale).abs() < 1e-12 && (a[1] - Z[1] * scale).abs() < 1e-12
        };
        assert!(close(w[0], 3.0) && close(w[1], 4.0), "{w:?}");
        // Horizons 3 and 4 grow from horizon 2's: 4 · 3/2 and 4 · 4/2.
        assert!(close(w[2], 6.0) && close(w[3], 8.0), "{w:?}");
        assert_eq!(horizon_widths(&[], 2), vec![Z, Z]);
    }

    #[test]
    fn months_roll_over_the_year() {
        assert_eq!(month_after("2026-11", 1).unwrap(), "2026-12");
        assert_eq!(month_after("2026-11", 2).unwrap(), "2027-01");
        assert_eq!(month_after("2026-01", 24).unwrap(), "2028-01");
        assert!(month_after("2026-13", 1).is_err());
        assert!(month_after("26", 1).is_err());
    }

    #[test]
    fn a_straight_line_is_continued_and_its_intervals_widen() {
        let values: Vec<f64> = (0..24).map(|i| 100.0 + 5.0 * f64::from(i)).collect();
        let f = forecast(&months(&values), 12).unwrap();
        assert_eq!(f.last_month, "2025-12");
        assert_eq!(f.months[0].month, "2026-01");
        assert!((f.months[0].mean - 220.0).abs() < 1.0, "{:?}", f.months[0]);
        assert!(
            (f.months[11].mean - 275.0).abs() < 6.0,
            "{:?}",
            f.months[11]
        );
        for b in &f.months {
            assert!(b.lower_95 <= b.lower_80 && b.lower_80 <= b.mean + 1e-9);
            assert!(b.mean <= b.upper_80 + 1e-9 && b.upper_80 <= b.upper_95);
        }
    }

    #[test]
    fn too_short_a_history_is_refused_with_its_length() {
        let e = forecast(&months(&[1.0; 5]), 12).unwrap_err().to_string();
        assert!(
            e.contains("12 consecutive months") && e.contains("there are 5"),
            "{e}"
        );
    }

    #[test]
    fn the_backtest_scores_hand_worked_baselines() {
        // A series that repeats every year: the seasonal-naive baseline is exact and the
        // naive one is off by the hand-counted amounts below.
        let year = [
            10.0, 20.0, 10.0, 20.0, 10.0, 20.0, 10.0, 20.0, 10.0, 20.0, 10.0, 20.0,
        ];
        let values: Vec<f64> = year.iter().chain(year.iter()).copied().collect();
        let b = backtest(&values).unwrap();
        assert_eq!(b.origins, 12);
        let score = |m: &str, h: usize| {
            b.scores
                .iter()
                .find(|s| s.method == m && s.horizon == h)
                .unwrap()
                .clone()
        };
        assert_eq!(score("seasonal_naive", 12).mase, 0.0);
        // Training months alternate, so the scale is 10 at every origin. The naive forecast
        // (the last value) is 10 off one and three months ahead and right two months ahead:
        // origins 12 to 21 give 3 forecasts each (2 errors of 1), origin 22 gives 2 (one
        // error), origin 23 gives 1 (one error): 22 in 33 forecasts, a MASE of 2/3.
        let naive = score("naive", 3);
        assert_eq!(naive.forecasts, 33);
        assert!((naive.mase - 22.0 / 33.0).abs() < 1e-12, "{}", naive.mase);
        assert!(score("ets", 12).coverage_95.is_some());
        assert!(score("naive", 12).coverage_95.is_none());
    }

    #[test]
    fn needs_turn_persons_into_homes_and_bedrooms_against_the_places() {
        let f = Forecast {
            model: "test".into(),
            last_month: "2026-10".into(),
            last_value: 100.0,
            history_months: 24,
            history: Vec::new(),
            months: (1..=4)
                .map(|h| Band {
                    month: month_after("2026-10", h).unwrap(),
                    mean: 100.0 + 10.0 * h as f64,
                    lower_80: 100.0,
                    upper_80: 100.0 + 20.0 * h as f64,
                    lower_95: 90.0,
                    upper_95: 100.0 + 30.0 * h as f64,
                })
                .collect(),
        };
        // Half the households alone, half of four: 1 + 4 = 5 persons in 2 households and
        // 1 + 2 = 3 bedrooms, so 0.4 homes and 0.6 bedrooms a person.
        let mix = [(1, 0.5), (4, 0.5)];
        let (homes, bedrooms) = per_person(&mix).unwrap();
        assert!((homes - 0.4).abs() < 1e-12 && (bedrooms - 0.6).abs() < 1e-12);
        let announced = [Announced {
            month: "2026-12".into(),
            persons: 50,
        }];
        let places = Places {
            now: 5,
            within_30_days: 20,
            within_90_days: 70,
        };
        let n = needs(&f, &announced, &mix, places).unwrap();
        // November: 10 more persons, none announced; 20 places within 30 days.
        assert_eq!(n[0].persons.mean, 10.0);
        assert_eq!(n[0].homes.mean, 4.0);
        assert_eq!(n[0].bedrooms.mean, 6.0);
        assert_eq!(n[0].places, 20);
        assert_eq!(n[0].shortfall_persons.mean, 0.0);
        assert_eq!(
            n[0].persons.lower_95, 0.0,
            "a fall in placements needs no home"
        );
        // December: 20 more and the 50 announced, 20 places: 50 without a place.
        assert_eq!(n[1].persons.mean, 70.0);
        assert_eq!(n[1].shortfall_persons.mean, 50.0);
        assert_eq!(n[1].persons.upper_95, 110.0);
        assert_eq!(n[1].shortfall_persons.upper_95, 90.0);
        // January: the 90-day places count.
        assert_eq!(n[2].places, 70);
        assert_eq!(n[2].persons.mean, 80.0);
        assert_eq!(n[2].shortfall_persons.mean, 10.0);
    }
}
