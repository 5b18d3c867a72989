//! Small-cell suppression: the one step every published count built on personal data passes.

use std::collections::HashMap;

use serde::Serialize;

use crate::registry::{Aggregate, Class, INDICATORS};

/// The smallest count published; counts from 1 to K-1 are withheld.
pub const DEFAULT_K: u64 = 5;
/// K may be configured, never below this.
pub const MIN_K: u64 = 3;

/// A published count: the value, or withheld (never shown as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: Option<u64>,
    pub withheld: bool,
}

/// Withholds a count from 1 to k−1 (k is raised to [`MIN_K`] if set lower).
pub fn suppress(n: u64, k: u64) -> Count {
    let k = k.max(MIN_K);
    if n > 0 && n < k {
        Count {
            value: None,
            withheld: true,
        }
    } else {
        Count {
            value: Some(n),
            withheld: false,
        }
    }
}

/// Indicator values per area and month, as `indicators_monthly` holds them: for `districts`
/// districts and `months` months, row `d * months + m` is district `d` in month `m` and row
/// `districts * months + m` the municipality; NaN is null.
pub struct Table<'a> {
    pub districts: usize,
    pub months: usize,
    pub columns: HashMap<&'a str, &'a [f64]>,
    /// What the previous release published, aligned with these rows.
    pub prior: Option<&'a Prior>,
}

/// What the previous release published of the personal counts, aligned with the rows of a
/// [`Table`]: per indicator, the value published (NaN where withheld or not in that release)
/// and whether it was withheld. A cell withheld once stays withheld in later releases, and a
/// value published before and unchanged is known to everyone: it protects no other cell.
#[derive(Debug, Default)]
pub struct Prior {
    pub values: HashMap<String, Vec<f64>>,
    pub withheld: HashMap<String, Vec<bool>>,
}

impl Table<'_> {
    fn rows(&self) -> usize {
        (self.districts + 1) * self.months
    }
}

/// Which values of a [`Table`] are withheld, per indicator.
pub type Withheld = HashMap<&'static str, Vec<bool>>;

const HOUSEHOLDS: &str = "placements_active_households";
const PERSONS: &str = "placements_active_persons";
const STARTED: &str = "placements_started";
const ENDED: &str = "placements_ended";
const AUTONOMY: &str = "placements_ended_autonomy";
const SHARE_AUTONOMY: &str = "placements_exit_autonomy_share";
const MEDIAN_DAYS: &str = "placements_median_days_to_start";

/// The counts of households or persons built on placements (the personal counts of the
/// registry and the helper the autonomy share is built on).
pub(crate) fn personal_counts() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = INDICATORS
        .iter()
        .filter(|i| i.class == Class::Personal && i.aggregate == Aggregate::Sum)
        .map(|i| i.id)
        .collect();
    ids.push(AUTONOMY);
    ids
}

/// The relations an outsider knows among the personal counts, each a set of cells (column,
/// row) whose sum, with signs, is published or follows from other published figures. They are
/// numbered and worked out on the fly rather than stored: at 10,000 districts there are some
/// 700,000 of them.
struct Relations {
    columns: usize,
    districts: usize,
    months: usize,
    /// The active households column and the programme columns that add up to it.
    households: Option<usize>,
    programmes: Vec<usize>,
    /// Households, started and ended: active(m) = active(m−1) + started(m) − ended(m).
    flows: Option<(usize, usize, usize)>,
}

impl Relations {
    fn rows(&self) -> usize {
        (self.districts + 1) * self.months
    }
    /// Relations 0..columns×months: one column's districts against the municipality in one
    /// month; then one per row for the programmes against households; then one per row for the
    /// flow from the month before.
    fn len(&self) -> usize {
        self.columns * self.months + 2 * self.rows()
    }
    fn cells(&self, relation: usize, out: &mut Vec<(usize, usize)>) {
        out.clear();
        let totals = self.columns * self.months;
        if relation < totals {
            let (c, m) = (relation / self.months, relation % self.months);
            out.extend((0..=self.districts).map(|d| (c, d * self.months + m)));
        } else if relation < totals + self.rows() {
            let row = relation - totals;
            if let Some(h) = self.households
                && !self.programmes.is_empty()
            {
                out.push((h, row));
                out.extend(self.programmes.iter().map(|p| (*p, row)));
            }
        } else {
            let row = relation - totals - self.rows();
            if let Some((h, s, e)) = self.flows
                && !row.is_multiple_of(self.months)
            {
                out.extend([(h, row), (h, row - 1), (s, row), (e, row)]);
            }
        }
    }
    /// Calls `f` with every relation the cell is part of.
    fn of(&self, c: usize, row: usize, mut f: impl FnMut(usize)) {
        let m = row % self.months;
        let totals = self.columns * self.months;
        f(c * self.months + m);
        if self.households.is_some()
            && !self.programmes.is_empty()
            && (self.households == Some(c) || self.programmes.contains(&c))
        {
            f(totals + row);
        }
        if let Some((h, s, e)) = self.flows {
            let flow = totals + self.rows();
            if (c == h || c == s || c == e) && m > 0 {
                f(flow + row);
            }
            if c == h && m + 1 < self.months {
                f(flow + row + 1);
            }
        }
    }
}

/// The published form of the personal indicators: every count from 1 to k−1 is withheld
/// (primary suppression); then, until none is left, every relation an outsider could solve for
/// exactly one withheld value gets a second one withheld (secondary suppression): the districts
/// against the municipality in each month, the programmes against all active households of an
/// area, and from one month to the next, active(m) = active(m−1) + started(m) − ended(m). Rates
/// and medians built on a withheld or small count are withheld too. Returns which cells are
/// withheld; public indicators never are.
pub fn suppress_table(table: &Table, k: u64) -> Withheld {
    let k = k.max(MIN_K) as f64;
    let small = |v: f64| v > 0.0 && v < k;
    let rows = table.rows();
    // The personal counts present, by column number.
    let names: Vec<&'static str> = personal_counts()
        .into_iter()
        .filter(|id| table.columns.contains_key(id))
        .collect();
    let number = |id: &str| names.iter().position(|n| *n == id);
    let values: Vec<&[f64]> = names.iter().map(|n| table.columns[n]).collect();
    let mut hidden: Vec<Vec<bool>> = values
        .iter()
        .map(|v| v.iter().map(|x| small(*x)).collect())
        .collect();
    // Exits to autonomy are published through their share of all exits, which also gives away
    // the exits not to autonomy: both must be large enough.
    if let (Some(a), Some(e)) = (number(AUTONOMY), number(ENDED)) {
        for r in 0..rows {
            hidden[a][r] |= small(values[e][r] - values[a][r]);
        }
    }
    // Against the previous release: what it withheld stays withheld, and what it published
    // unchanged is known, so it cannot be what keeps a relation from being solved.
    let mut known: Vec<Vec<bool>> = vec![Vec::new(); names.len()];
    if let Some(prior) = table.prior {
        for (c, id) in names.iter().enumerate() {
            if let Some(w) = prior.withheld.get(*id) {
                for (h, was) in hidden[c].iter_mut().zip(w) {
                    *h |= *was;
                }
            }
            if let Some(before) = prior.values.get(*id) {
                known[c] = values[c]
                    .iter()
                    .zip(before)
                    .map(|(now, before)| now == before)
                    .collect();
            }
        }
    }
    let known = |c: usize, r: usize| known[c].get(r).copied().unwrap_or(false);
    let households = number(HOUSEHOLDS);
    let relations = Relations {
        columns: names.len(),
        districts: table.districts,
        months: table.months,
        households,
        programmes: (0..names.len())
            .filter(|c| {
                let id = names[*c];
                id.starts_with("placements_active_") && id != HOUSEHOLDS && id != PERSONS
            })
            .collect(),
        flows: match (households, number(STARTED), number(ENDED)) {
            (Some(h), Some(s), Some(e)) => Some((h, s, e)),
            _ => None,
        },
    };
    // A worklist: the relations with exactly one withheld cell. Withholding a second cell of
    // one raises the count of every relation that cell is part of, which may add them.
    let started = std::time::Instant::now();
    let mut cells = Vec::new();
    let mut count: Vec<u32> = (0..relations.len())
        .map(|rel| {
            relations.cells(rel, &mut cells);
            cells
                .iter()
                .filter(|(c, r)| hidden[*c][*r] && !known(*c, *r))
                .count() as u32
        })
        .collect();
    let mut work: Vec<usize> = (0..relations.len()).filter(|r| count[*r] == 1).collect();
    let mut secondary = 0usize;
    while let Some(rel) = work.pop() {
        if count[rel] != 1 {
            continue;
        }
        relations.cells(rel, &mut cells);
        // Withhold the smallest published non-zero value of the relation (else a zero) that
        // the previous release did not publish as it is.
        let pick = cells
            .iter()
            .filter(|(c, r)| !hidden[*c][*r] && !known(*c, *r))
            .min_by(|a, b| {
                let (va, vb) = (values[a.0][a.1], values[b.0][b.1]);
                (va == 0.0).cmp(&(vb == 0.0)).then(va.total_cmp(&vb))
            })
            .copied();
        if let Some((c, r)) = pick {
            hidden[c][r] = true;
            secondary += 1;
            relations.of(c, r, |other| {
                count[other] += 1;
                if count[other] == 1 {
                    work.push(other);
                }
            });
        }
    }
    tracing::debug!(
        secondary,
        relations = relations.len(),
        ms = started.elapsed().as_millis() as u64,
        "secondary suppression"
    );
    let mut withheld: Withheld = names.iter().copied().zip(hidden).collect();
    let value = |id: &str, row: usize| table.columns.get(id).map_or(0.0, |c| c[row]);
    // Rates and medians built on withheld or small counts.
    let hidden = |w: &Withheld, id: &str, r: usize| w.get(id).is_some_and(|c| c[r]);
    let share: Vec<bool> = (0..rows)
        .map(|r| hidden(&withheld, ENDED, r) || hidden(&withheld, AUTONOMY, r))
        .collect();
    let median: Vec<bool> = (0..rows)
        .map(|r| hidden(&withheld, STARTED, r) || small(value(STARTED, r)))
        .collect();
    withheld.insert(SHARE_AUTONOMY, share);
    withheld.insert(MEDIAN_DAYS, median);
    withheld
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two districts and the municipality over two months, worked out by hand.
    #[test]
    fn a_lone_small_cell_takes_a_second_one_with_it() {
        // started: month 0: A 3, B 10, total 13; month 1: A 0, B 6, total 6.
        // households: A [8, 8], B [2, 7], total [10, 15].
        let (started, households) = (
            [3.0, 0.0, 10.0, 6.0, 13.0, 6.0],
            [8.0, 8.0, 2.0, 7.0, 10.0, 15.0],
        );
        let table = Table {
            districts: 2,
            months: 2,
            columns: HashMap::from([(STARTED, &started[..]), (HOUSEHOLDS, &households[..])]),
            prior: None,
        };
        let w = suppress_table(&table, 5);
        // Primary: A's 3 started in month 0. Secondary: B's 10, the smallest other non-zero
        // cell of that month (13 − 10 would give A's value away otherwise).
        assert_eq!(w[STARTED], [true, false, true, false, false, false]);
        // Households: B's 2 in month 0, then A's 8 (smaller than the total of 10).
        assert_eq!(w[HOUSEHOLDS], [true, false, true, false, false, false]);
        // The median of A's three starts in month 0 is withheld, so is B's (withheld count).
        assert_eq!(w[MEDIAN_DAYS], [true, false, true, false, false, false]);
        // k is never below 3: with k = 1, 2 is still withheld.
        assert!(suppress_table(&table, 1)[HOUSEHOLDS][2]);
    }

    /// The same two districts in a second release, against what the first one published.
    #[test]
    fn a_second_release_keeps_what_the_first_withheld_and_does_not_lean_on_what_it_published() {
        // started now: month 0: A 3, B 10, total 13; month 1: A 2, B 6, total 8.
        let started = [3.0, 2.0, 10.0, 6.0, 13.0, 8.0];
        // The first release withheld A and B in month 0 and published month 1 as A 0, B 6,
        // total 6 (one late record has since moved A to 2).
        let prior = Prior {
            values: HashMap::from([(
                STARTED.to_string(),
                vec![f64::NAN, 0.0, f64::NAN, 6.0, 13.0, 6.0],
            )]),
            withheld: HashMap::from([(
                STARTED.to_string(),
                vec![true, false, true, false, false, false],
            )]),
        };
        let table = Table {
            districts: 2,
            months: 2,
            columns: HashMap::from([(STARTED, &started[..])]),
            prior: Some(&prior),
        };
        let w = suppress_table(&table, 5);
        // Month 0: A is small and B stays withheld. Month 1: A's 2 is small; B's 6 was published
        // as it is, so withholding it would hide nothing (8 − 6 = 2): the total goes instead.
        assert_eq!(w[STARTED], [true, true, true, false, false, true]);
        // Without the first release, B's 6 (the smaller) would have been chosen.
        let alone = Table {
            prior: None,
            ..table
        };
        assert_eq!(
            suppress_table(&alone, 5)[STARTED],
            [true, true, true, true, false, false]
        );
    }

    #[test]
    fn small_counts_are_withheld_never_zeroed() {
        assert_eq!(
            suppress(0, 5),
            Count {
                value: Some(0),
                withheld: false
            }
        );
        assert_eq!(
            suppress(1, 5),
            Count {
                value: None,
                withheld: true
            }
        );
        assert_eq!(
            suppress(4, 5),
            Count {
                value: None,
                withheld: true
            }
        );
        assert_eq!(
            suppress(5, 5),
            Count {
                value: Some(5),
                withheld: false
            }
        );
        assert_eq!(
            suppress(2, 1),
            Count {
                value: None,
                withheld: true
            },
            "k never below 3"
        );
    }
}
