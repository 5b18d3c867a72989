//! A release as an outsider sees it, with the true values behind it (kept on the server): the
//! release being made and every earlier one, aligned on the cells of the current table. A cell
//! whose true value is the same in two releases is one unknown for the attacker; a cell whose
//! value changed is two.

use std::collections::HashMap;

use crate::table::{Pattern, Truth, Year, YearPattern, least_started};

/// One release: true values and what it withheld, per cell of the current table (`None`
/// where the release did not have the cell).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub version: String,
    pub households: Vec<Option<i64>>,
    pub persons: Vec<Option<i64>>,
    pub units: Vec<bool>,
    pub total_households: Vec<Option<i64>>,
    pub total_persons: Vec<Option<i64>>,
    pub totals: Vec<bool>,
    /// Per year of the current table, by label.
    pub years: Vec<Option<(Year, YearPattern)>>,
    /// Per published year label: how far the households started that year exceed the least
    /// the stocks require ([`i64::MAX`] where the year's flows were withheld).
    pub slack: HashMap<String, i64>,
}

/// The flow slack of each year of a table under a pattern (see [`View::slack`]).
pub fn slack(t: &Truth, pat: &Pattern) -> HashMap<String, i64> {
    let months = t.n_months();
    t.years
        .iter()
        .enumerate()
        .map(|(y, year)| {
            let s = if pat.budget_open(y) {
                i64::MAX
            } else {
                let mut least = 0;
                for d in 0..t.n_districts() {
                    for m in year.first..year.end {
                        let (u, v) = (d * months + m, d * months + m - 1);
                        least += least_started(
                            t.households[u] - t.households[v],
                            t.persons[u] - t.persons[v],
                            t.max_household,
                        );
                    }
                }
                year.started - least
            };
            (year.label.clone(), s)
        })
        .collect()
}

impl View {
    /// The release being made: the table itself under a pattern.
    pub fn current(t: &Truth, pat: &Pattern) -> View {
        View {
            version: "new".into(),
            households: t.households.iter().map(|x| Some(*x)).collect(),
            persons: t.persons.iter().map(|x| Some(*x)).collect(),
            units: pat.units.clone(),
            total_households: (0..t.n_months())
                .map(|m| Some(t.total_households(m)))
                .collect(),
            total_persons: (0..t.n_months())
                .map(|m| Some(t.total_persons(m)))
                .collect(),
            totals: pat.totals.clone(),
            years: t
                .years
                .iter()
                .zip(&pat.years)
                .map(|(y, p)| Some((y.clone(), p.clone())))
                .collect(),
            slack: slack(t, pat),
        }
    }
}

/// What every earlier release tells about the current table's cells: a cell published by any
/// release with the value it has now is known, whatever the new release withholds.
#[derive(Debug, Clone)]
pub struct Known {
    pub households: Vec<bool>,
    pub persons: Vec<bool>,
    pub total_households: Vec<bool>,
    pub total_persons: Vec<bool>,
    /// Per year, in [`year_values`] order.
    pub years: Vec<Vec<bool>>,
}

/// A year's counts in a fixed order: started, ended, exits to autonomy, the programmes, then
/// households housed, homes let and tenancies sustained ([`crate::table::HOUSED`] on).
pub fn year_values(y: &Year) -> Vec<i64> {
    let mut v = vec![y.started, y.ended, y.ended_autonomy];
    v.extend(&y.started_by_programme);
    v.extend([y.housed, y.homes_let, y.sustained]);
    v
}

/// Which of a year's figures (in [`year_values`] order) a pattern withholds; exits to
/// autonomy are withheld with their share.
pub fn year_withheld(p: &YearPattern) -> Vec<bool> {
    let mut v = vec![p.started, p.ended, p.autonomy_share];
    v.extend(&p.by_programme);
    v.extend([p.housed, p.homes_let, p.sustained]);
    v
}

impl Known {
    pub fn from(t: &Truth, views: &[View]) -> Known {
        let cell = |now: i64, then: Option<i64>, withheld: bool| !withheld && then == Some(now);
        let units = t.households.len();
        let mut k = Known {
            households: vec![false; units],
            persons: vec![false; units],
            total_households: vec![false; t.n_months()],
            total_persons: vec![false; t.n_months()],
            years: t
                .years
                .iter()
                .map(|y| vec![false; year_values(y).len()])
                .collect(),
        };
        for v in views {
            for u in 0..units {
                k.households[u] |= cell(t.households[u], v.households[u], v.units[u]);
                k.persons[u] |= cell(t.persons[u], v.persons[u], v.units[u]);
            }
            for m in 0..t.n_months() {
                k.total_households[m] |=
                    cell(t.total_households(m), v.total_households[m], v.totals[m]);
                k.total_persons[m] |= cell(t.total_persons(m), v.total_persons[m], v.totals[m]);
            }
            for (y, year) in t.years.iter().enumerate() {
                if let Some((then, p)) = &v.years[y] {
                    let (now, then, w) = (year_values(year), year_values(then), year_withheld(p));
                    for i in 0..now.len() {
                        k.years[y][i] |= cell(now[i], Some(then[i]), w[i]);
                    }
                }
            }
        }
        k
    }
}
