//! The personal table: what Haven publishes of the placements register, its true values, and
//! which cells a release withholds.
//!
//! Published cells:
//! - per district and month, the households and persons in active placements (a *unit*: both
//!   are withheld together);
//! - per month for the municipality, the same two counts;
//! - per complete calendar year for the municipality, the households whose placement started and
//!   ended, those started per programme, the share of exits to autonomy and the median days
//!   from referral to placement;
//! - per complete calendar year for the municipality, the end of the activation pipeline, which
//!   is built on placements: the households housed in homes of the vacancy register, the homes
//!   let for the first time, the tenancies in those homes sustained for
//!   [`analytics::pipeline::SUSTAINED_DAYS`] days, and what bringing the homes let back into
//!   use cost per home and per household housed.
//!
//! Flows are published per year and for the municipality only: monthly flows beside monthly
//! district stocks would leave the district flows, and through them the withheld stocks, to a
//! solver (see docs/disclosure.md).

use serde::Serialize;

pub use analytics::registry::PROGRAMMES;

/// The true values of the personal table, from the placements register.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// District codes, in order; unit `d * months + m` is district `d` in month `m`.
    pub districts: Vec<String>,
    /// Month labels (`YYYY-MM`), consecutive.
    pub months: Vec<String>,
    /// Households in active placements per unit.
    pub households: Vec<i64>,
    /// Persons in active placements per unit.
    pub persons: Vec<i64>,
    /// The complete calendar years whose flows are published.
    pub years: Vec<Year>,
    /// The largest household the schema allows: persons ≤ this × households.
    pub max_household: i64,
}

/// The flows of one complete calendar year, for the municipality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Year {
    pub label: String,
    /// The first month of the year and the one after its last, as month numbers of the table.
    pub first: usize,
    pub end: usize,
    pub started: i64,
    pub ended: i64,
    pub ended_autonomy: i64,
    /// Households started per programme, in [`PROGRAMMES`] order.
    pub started_by_programme: Vec<i64>,
    pub median_days_to_start: Option<f64>,
    /// Households whose placement in a home of the vacancy register started in the year (at
    /// most `started`: each is a placement started).
    pub housed: i64,
    /// Homes of the register whose first placement started in the year (at most `housed`).
    pub homes_let: i64,
    /// Placements in homes of the register that reached their sustained day in the year: each
    /// started in the year or was active at the end of the year before.
    pub sustained: i64,
    /// Renovation and incentives of the homes let for the first time in the year.
    pub cost_homes_let_eur: f64,
}

/// Where the activation figures sit in [`crate::view::year_values`]: after the programmes.
pub const HOUSED: usize = 3 + PROGRAMMES.len();
pub const HOMES_LET: usize = HOUSED + 1;
pub const SUSTAINED: usize = HOUSED + 2;

impl Truth {
    pub fn n_districts(&self) -> usize {
        self.districts.len()
    }
    pub fn n_months(&self) -> usize {
        self.months.len()
    }
    pub fn unit(&self, d: usize, m: usize) -> usize {
        d * self.months.len() + m
    }
    /// Households of the municipality in month `m`.
    pub fn total_households(&self, m: usize) -> i64 {
        (0..self.n_districts())
            .map(|d| self.households[self.unit(d, m)])
            .sum()
    }
    pub fn total_persons(&self, m: usize) -> i64 {
        (0..self.n_districts())
            .map(|d| self.persons[self.unit(d, m)])
            .sum()
    }
    /// The published year that month `m` falls in.
    pub fn year_of(&self, m: usize) -> Option<usize> {
        self.years.iter().position(|y| y.first <= m && m < y.end)
    }
    /// Checks the shape; a table that fails this is a programming error upstream.
    pub fn check(&self) -> Result<(), String> {
        let units = self.districts.len() * self.months.len();
        if self.households.len() != units || self.persons.len() != units {
            return Err(format!(
                "the personal table has {} household and {} person cells for {units} units",
                self.households.len(),
                self.persons.len()
            ));
        }
        if self.max_household < 1 {
            return Err("the largest household must be at least 1".into());
        }
        for (h, p) in self.households.iter().zip(&self.persons) {
            if *h < 0 || *p < *h || *p > h * self.max_household {
                return Err(format!(
                    "a unit holds {h} households and {p} persons, outside what households allow"
                ));
            }
        }
        for y in &self.years {
            if y.homes_let > y.housed || y.housed > y.started || y.sustained < 0 || y.homes_let < 0
            {
                return Err(format!(
                    "year {}: {} homes let, {} households housed in them and {} started do not nest",
                    y.label, y.homes_let, y.housed, y.started
                ));
            }
            if y.first == 0 || y.end > self.months.len() || y.first >= y.end {
                return Err(format!("year {} lies outside the months", y.label));
            }
            if y.started_by_programme.len() != PROGRAMMES.len() {
                return Err(format!("year {} lacks programmes", y.label));
            }
        }
        Ok(())
    }
}

/// The least number of households that can have started in one district and month, given the
/// change of its households (`dh`) and persons (`dp`) from the month before, where every
/// household has from 1 to `max` persons. The attacker knows this much: for started `S` and
/// ended `E = S − dh` households, with started persons in `[S, max·S]` and ended persons in
/// `[E, max·E]`, every constraint is a lower bound on `S`; any larger `S` is possible too.
pub fn least_started(dh: i64, dp: i64, max: i64) -> i64 {
    if max <= 1 {
        // Every household is one person: persons move with households, or not at all.
        return if dp == dh { dh.max(0) } else { i64::MAX / 4 };
    }
    let k = max - 1;
    0.max(dh)
        .max(ceil_div(max * dh - dp, k))
        .max(ceil_div(dp - dh, k))
}

fn ceil_div(a: i64, b: i64) -> i64 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 { q } else { q + 1 }
}

/// Which cells of a [`Truth`] a release withholds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pattern {
    /// Per unit: households and persons withheld together.
    pub units: Vec<bool>,
    /// Per month: the municipality's households and persons withheld together.
    pub totals: Vec<bool>,
    /// Per year, in [`Truth::years`] order.
    pub years: Vec<YearPattern>,
}

/// Which figures of a year are withheld.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct YearPattern {
    pub started: bool,
    pub ended: bool,
    /// The share of exits to autonomy (its count is published only through the share).
    pub autonomy_share: bool,
    pub median_days: bool,
    pub by_programme: Vec<bool>,
    pub housed: bool,
    pub homes_let: bool,
    pub sustained: bool,
    /// The costs per home let and per household housed: withheld with either count (their
    /// ratio is households housed per home let).
    pub costs: bool,
}

impl Pattern {
    pub fn empty(t: &Truth) -> Pattern {
        Pattern {
            units: vec![false; t.households.len()],
            totals: vec![false; t.n_months()],
            years: t
                .years
                .iter()
                .map(|_| YearPattern {
                    by_programme: vec![false; PROGRAMMES.len()],
                    ..Default::default()
                })
                .collect(),
        }
    }
    /// Cells withheld, counting a unit or a month's total as two (households and persons).
    pub fn withheld_cells(&self) -> usize {
        let y: usize = self
            .years
            .iter()
            .map(|y| {
                usize::from(y.started)
                    + usize::from(y.ended)
                    + usize::from(y.autonomy_share)
                    + usize::from(y.median_days)
                    + y.by_programme.iter().filter(|w| **w).count()
                    + usize::from(y.housed)
                    + usize::from(y.homes_let)
                    + usize::from(y.sustained)
                    + 2 * usize::from(y.costs)
            })
            .sum();
        2 * self.units.iter().filter(|w| **w).count()
            + 2 * self.totals.iter().filter(|w| **w).count()
            + y
    }
    /// Whether the year's flow budget is open: the started and ended households are withheld
    /// and a withheld programme can take any change of them, so no solver can bound them from
    /// above.
    pub fn budget_open(&self, y: usize) -> bool {
        let p = &self.years[y];
        p.started && p.ended && p.by_programme.iter().any(|w| *w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (S, E, started persons, ended persons) of one district-month enumerated by hand:
    /// the least S found is the formula's.
    #[test]
    fn least_started_is_the_smallest_feasible_by_enumeration() {
        let max = 4;
        for dh in -3..=3 {
            for dp in -12..=12 {
                let mut least = None;
                'search: for s in 0..=8i64 {
                    let e = s - dh;
                    if e < 0 {
                        continue;
                    }
                    for sp in s..=max * s {
                        let ep = sp - dp;
                        if ep >= e && ep <= max * e {
                            least = Some(s);
                            break 'search;
                        }
                    }
                }
                match least {
                    Some(s) => assert_eq!(least_started(dh, dp, max), s, "dh {dh} dp {dp}"),
                    None => assert!(least_started(dh, dp, max) > 8, "dh {dh} dp {dp}"),
                }
            }
        }
        // One household of five arrives: at least one start.
        assert_eq!(least_started(1, 5, 30), 1);
        // Nothing changes: no start needed.
        assert_eq!(least_started(0, 0, 30), 0);
        // Same households, 3 more persons: one household left and a larger one came.
        assert_eq!(least_started(0, 3, 30), 1);
    }
}
