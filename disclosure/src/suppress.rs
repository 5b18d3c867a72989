//! Which cells a release withholds: the small counts (primary suppression), what earlier
//! releases withheld, and further cells until the audit proves every withheld one protected.
//!
//! Further cells are chosen in an order drawn from a secret key among those that can protect
//! (nonzero, not public already), never by their size: an attacker who knows the method but
//! not the key learns nothing from which cells were chosen.

use serde::Serialize;

use crate::audit::{At, Audit, Ctx, check, withheld_cells};
use crate::table::{HOMES_LET, HOUSED, PROGRAMMES, Pattern, SUSTAINED, Truth};
use crate::view::Known;
use crate::view::{View, year_values, year_withheld};

/// The parameters of the protection.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// Counts from 1 to k−1 are never published (k ≥ 3).
    pub k: i64,
    /// The width a withheld cell's interval must have, over everything published.
    pub protection: i64,
    /// The secret that orders the choice of further cells (never published).
    #[serde(skip)]
    pub key: u64,
}

/// k is never below this.
pub const MIN_K: i64 = 3;
pub const DEFAULT_K: i64 = 5;
pub const DEFAULT_PROTECTION: i64 = 5;

/// Rounds of repair before the release is refused.
const ROUNDS: usize = 40;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn text_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The primary pattern: every count from 1 to k−1, with the persons behind households, the
/// flows that give each other away, and the shares and medians built on small counts.
pub fn primary(t: &Truth, k: i64) -> Pattern {
    let small = |x: i64| (1..k).contains(&x);
    let mut pat = Pattern::empty(t);
    for u in 0..t.households.len() {
        // Persons are judged by the households behind them: a unit goes with its households.
        pat.units[u] = small(t.households[u]) || small(t.persons[u]);
    }
    for m in 0..t.n_months() {
        pat.totals[m] = small(t.total_households(m)) || small(t.total_persons(m));
    }
    for (y, year) in t.years.iter().enumerate() {
        let p = &mut pat.years[y];
        p.started = small(year.started);
        p.ended = small(year.ended);
        for (w, x) in p.by_programme.iter_mut().zip(&year.started_by_programme) {
            *w = small(*x);
        }
        p.housed = small(year.housed);
        p.homes_let = small(year.homes_let);
        p.sustained = small(year.sustained);
    }
    pat
}

/// Brings a year's figures into line: started and ended go together (their difference is the
/// change of the published households), a withheld start count takes a programme with it, a
/// lone withheld programme takes another, and shares and medians follow their counts.
fn settle_year(t: &Truth, pat: &mut Pattern, known: &Known, y: usize, key: u64, k: i64) {
    let year = &t.years[y];
    let p = &mut pat.years[y];
    if p.started || p.ended {
        p.started = true;
        p.ended = true;
    }
    let withheld = p.by_programme.iter().filter(|w| **w).count();
    let need = if p.started {
        usize::from(withheld == 0)
    } else {
        usize::from(withheld == 1)
    };
    for _ in 0..need {
        let pick = (0..PROGRAMMES.len())
            .filter(|&i| {
                !p.by_programme[i] && year.started_by_programme[i] > 0 && !known.years[y][3 + i]
            })
            .min_by_key(|&i| mix(key ^ text_hash(&year.label) ^ i as u64));
        if let Some(i) = pick {
            p.by_programme[i] = true;
        }
    }
    let small = |x: i64| (1..k).contains(&x);
    p.autonomy_share =
        p.ended || small(year.ended_autonomy) || small(year.ended - year.ended_autonomy);
    p.median_days = p.started || year.started < k;
    // Each count bounds the one it nests in from below: a withheld count takes those nested in
    // it along.
    p.housed |= p.started;
    p.homes_let |= p.housed;
    p.costs = p.housed || p.homes_let;
}

/// Protects a table: the pattern a release publishes and the audit that proves it. `earlier`
/// holds every release before, oldest first.
pub fn protect(t: &Truth, earlier: &[View], params: &Params) -> (Pattern, Audit) {
    let started = std::time::Instant::now();
    let k = params.k.max(MIN_K);
    let protection = params.protection.max(1);
    let known = Known::from(t, earlier);
    let mut pat = primary(t, k);
    // What the last release withheld stays withheld while its value is the same: publishing it
    // now would tell what it was then.
    if let Some(last) = earlier.last() {
        for u in 0..t.households.len() {
            if last.units[u]
                && (last.households[u] == Some(t.households[u])
                    || last.persons[u] == Some(t.persons[u]))
            {
                pat.units[u] = true;
            }
        }
        for m in 0..t.n_months() {
            if last.totals[m]
                && (last.total_households[m] == Some(t.total_households(m))
                    || last.total_persons[m] == Some(t.total_persons(m)))
            {
                pat.totals[m] = true;
            }
        }
        for (y, year) in t.years.iter().enumerate() {
            if let Some((then, p)) = &last.years[y] {
                let (now, then, w) = (year_values(year), year_values(then), year_withheld(p));
                let keep: Vec<bool> = (0..now.len()).map(|i| w[i] && now[i] == then[i]).collect();
                let q = &mut pat.years[y];
                q.started |= keep[0];
                q.ended |= keep[1];
                q.autonomy_share |= keep[2];
                for (i, kept) in keep[3..HOUSED].iter().enumerate() {
                    q.by_programme[i] |= kept;
                }
                q.housed |= keep[HOUSED];
                q.homes_let |= keep[HOMES_LET];
                q.sustained |= keep[SUSTAINED];
            }
        }
    }
    for y in 0..t.years.len() {
        settle_year(t, &mut pat, &known, y, params.key, k);
    }
    let rank = |d: usize| mix(params.key ^ text_hash(&t.districts[d]));
    let mut attempts: std::collections::HashMap<At, usize> = Default::default();
    // Rounds of moves only: withholding more never narrows an interval, so a cell proven stays
    // proven and only the failures and the newly withheld cells are checked again. The solver
    // runs on what moves leave, at the end.
    let mut dirty = withheld_cells(t, &pat);
    let mut solver = false;
    let mut result;
    let mut round = 0;
    // Cells proven by a move in any round: proven for every larger pattern.
    let mut proven: std::collections::HashSet<Cell> = Default::default();
    // With the solver, every withheld cell that no move has proven is checked.
    let unproven = |pat: &Pattern, proven: &std::collections::HashSet<Cell>| -> Vec<Cell> {
        withheld_cells(t, pat)
            .into_iter()
            .filter(|c| !proven.contains(c))
            .collect()
    };
    loop {
        let cx = Ctx::new(t, &pat, earlier, protection);
        result = check(&cx, &dirty, solver);
        proven.extend(result.proven.iter().copied());
        // Cells that moves failed twice get the solver before anything more is withheld.
        if !solver {
            let again: Vec<Cell> = dirty
                .iter()
                .filter(|(at, _)| {
                    attempts.get(at).copied().unwrap_or(0) >= 1
                        && result.failures.iter().any(|f| f.at == *at)
                })
                .copied()
                .collect();
            if !again.is_empty() {
                let solved = check(&cx, &again, true);
                result.failures.retain(|f| {
                    !again.iter().any(|(at, _)| *at == f.at)
                        || solved.failures.iter().any(|g| g.at == f.at)
                });
            }
        }
        tracing::debug!(
            round,
            solver,
            checked = dirty.len(),
            failures = result.failures.len(),
            withheld = pat.withheld_cells(),
            ms = result.millis,
            first = ?result.failures.iter().take(4).map(|f| &f.cell).collect::<Vec<_>>(),
            "suppression round"
        );
        if result.failures.is_empty() {
            if solver {
                break;
            }
            // Moves proved everything checked: the final audit covers every cell the moves
            // have not proven.
            solver = true;
            dirty = unproven(&pat, &proven);
            continue;
        }
        if round >= ROUNDS {
            break;
        }
        round += 1;
        let before = pat.clone();
        repair(
            t,
            &mut pat,
            &known,
            &result,
            &mut attempts,
            params,
            protection,
            &rank,
        );
        if pat == before {
            if solver {
                break;
            }
            // Nothing left to withhold for the moves: let the solver judge the rest.
            solver = true;
            dirty = unproven(&pat, &proven);
            continue;
        }
        if solver {
            dirty = unproven(&pat, &proven);
            continue;
        }
        let was: std::collections::HashSet<Cell> = withheld_cells(t, &before).into_iter().collect();
        let failed: std::collections::HashSet<At> = result.failures.iter().map(|f| f.at).collect();
        dirty = withheld_cells(t, &pat)
            .into_iter()
            .filter(|c| !was.contains(c) || failed.contains(&c.0))
            .collect();
    }
    if solver && result.failures.is_empty() {
        // The final check covered every cell no move had proven; the moves' proofs hold for
        // the final pattern, which contains the patterns they were found for.
        let fresh: std::collections::HashSet<Cell> = result.proven.iter().copied().collect();
        let carried: Vec<Cell> = withheld_cells(t, &pat)
            .into_iter()
            .filter(|c| proven.contains(c) && !fresh.contains(c))
            .collect();
        result.cells += carried.len();
        result.by_move += carried.len();
        result.proven.extend(carried);
        result.millis = started.elapsed().as_millis() as u64;
        (pat, result)
    } else {
        let mut full = crate::audit::audit(t, &pat, earlier, protection);
        full.millis = started.elapsed().as_millis() as u64;
        (pat, full)
    }
}

type Cell = (At, bool);

/// Withholds more for the cells an audit could not prove.
#[allow(clippy::too_many_arguments)]
fn repair(
    t: &Truth,
    pat: &mut Pattern,
    known: &Known,
    result: &Audit,
    attempts: &mut std::collections::HashMap<At, usize>,
    params: &Params,
    protection: i64,
    rank: &impl Fn(usize) -> u64,
) {
    let months = t.n_months();
    let districts = t.n_districts();
    let k = params.k.max(MIN_K);
    // One partner per month and round: it often protects every failing cell of the month.
    let mut partnered: std::collections::HashSet<usize> = Default::default();
    for f in &result.failures {
        let tries = attempts.entry(f.at).or_default();
        *tries += 1;
        match f.at {
            At::Unit(u) => {
                let (d, m) = (u / months, u % months);
                // The years whose flows bound this month's moves.
                let years: Vec<usize> = [t.year_of(m), t.year_of(m + 1)]
                    .into_iter()
                    .flatten()
                    .filter(|y| !pat.budget_open(*y))
                    .collect();
                // From the third failure on, open those years' flows rather than take more
                // districts.
                if *tries >= 3 && !years.is_empty() {
                    for y in years {
                        pat.years[y].started = true;
                        settle_year(t, pat, known, y, params.key, k);
                    }
                    continue;
                }
                if !partnered.insert(m) {
                    *tries -= 1;
                    continue;
                }
                // The months around m in which d is withheld.
                let (mut a, mut b) = (m, m);
                while a > 0 && pat.units[d * months + a - 1] {
                    a -= 1;
                }
                while b + 1 < months && pat.units[d * months + b + 1] {
                    b += 1;
                }
                for x in a..=b {
                    partnered.insert(x);
                }
                if !add_partner(t, pat, known, d, m, (a, b), protection, rank) {
                    // No district left to share with: the months' totals go (the withheld
                    // districts no longer add up to a published figure), then the flows.
                    let totals: Vec<usize> = (a..=b)
                        .filter(|&x| {
                            !pat.totals[x]
                                && !known.total_households[x]
                                && !known.total_persons[x]
                                && t.total_households(x) > 0
                        })
                        .collect();
                    if totals.is_empty() {
                        for y in years {
                            pat.years[y].started = true;
                            settle_year(t, pat, known, y, params.key, k);
                        }
                    } else {
                        for x in totals {
                            pat.totals[x] = true;
                        }
                    }
                }
            }
            At::Total(m) => {
                let any = (0..districts).any(|d| {
                    let u = d * months + m;
                    !pat.units[u] && t.households[u] > 0
                });
                if any {
                    let _ = add_partner(t, pat, known, usize::MAX, m, (m, m), 1, rank);
                } else if let Some(y) = t.year_of(m).or_else(|| t.year_of(m + 1))
                    && !pat.budget_open(y)
                {
                    pat.years[y].started = true;
                    settle_year(t, pat, known, y, params.key, k);
                }
            }
            At::Year(code) => {
                let (y, figure) = (code / 16, code % 16);
                let p = &mut pat.years[y];
                // A count of the activation pipeline is bounded by the one it nests in: withhold
                // that one first.
                if matches!(figure, HOMES_LET | SUSTAINED) && !p.housed {
                    p.housed = true;
                } else if !p.started {
                    p.started = true;
                } else {
                    // Another programme to share the unknown with.
                    let year = &t.years[y];
                    let pick = (0..PROGRAMMES.len())
                        .filter(|&i| {
                            !p.by_programme[i]
                                && year.started_by_programme[i] > 0
                                && !known.years[y][3 + i]
                        })
                        .min_by_key(|&i| mix(params.key ^ text_hash(&year.label) ^ i as u64));
                    if let Some(i) = pick {
                        p.by_programme[i] = true;
                    }
                }
                settle_year(t, pat, known, y, params.key, k);
            }
            At::None => {}
        }
    }
}

/// Withholds a partner for unit (d, m) over months `a..=b`: the district first in the key's
/// order that holds more than `need` households in month m and is not public already, over
/// the months of the run where it holds anyone. `d` may be `usize::MAX` (a month's total).
#[allow(clippy::too_many_arguments)]
fn add_partner(
    t: &Truth,
    pat: &mut Pattern,
    known: &Known,
    d: usize,
    m: usize,
    (a, b): (usize, usize),
    need: i64,
    rank: &impl Fn(usize) -> u64,
) -> bool {
    let months = t.n_months();
    let usable = |e: usize, x: usize| {
        let u = e * months + x;
        e != d && t.households[u] > 0 && !known.households[u] && !known.persons[u]
    };
    let candidates = |min: i64| {
        (0..t.n_districts())
            .filter(|&e| {
                let u = e * months + m;
                !pat.units[u] && usable(e, m) && t.households[u] > min
            })
            .min_by_key(|&e| rank(e))
    };
    let Some(e) = candidates(need).or_else(|| candidates(0)) else {
        return false;
    };
    for x in a..=b {
        if usable(e, x) {
            pat.units[e * months + x] = true;
        }
    }
    true
}
