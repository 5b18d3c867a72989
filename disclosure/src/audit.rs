//! The audit: for every withheld cell, proof that an outsider who solves every published
//! relation of this release and of every earlier one at once cannot narrow the cell below the
//! protection level.
//!
//! A cell is protected when two tables that the attacker cannot tell apart from the true one
//! (every published figure of every release the same, every relation holding, every withheld
//! count at least 1) give it values at least `protection` apart. The audit finds such tables:
//!
//! 1. by a *move*: households and persons moved between two withheld districts over the months
//!    both are withheld, with the flows of the months where the move starts and ends paid from
//!    the year's flow slack, checked in every release where the cells have the same value;
//! 2. where no move is found, by solving the linear model (microlp) for the cell's least and
//!    greatest value, in integers where the linear optimum is not whole.
//!
//! Both work on a *restriction* of the attacker's model (some unknowns held at their true
//! values): every table found is one the attacker cannot rule out, so a width proven there
//! holds for the whole model.

use rayon::prelude::*;
use serde::Serialize;
use smallvec::{SmallVec, smallvec};

use crate::lp::{Cmp, Model};
use crate::table::{HOMES_LET, HOUSED, PROGRAMMES, Pattern, SUSTAINED, Truth, least_started};
use crate::view::{Known, View, year_values, year_withheld};

/// A withheld cell the audit could not prove protected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The cell, as the published tables name it.
    pub cell: String,
    /// How wide its interval was proven (the interval found, where the solver ran).
    pub width: f64,
    #[serde(skip)]
    pub at: At,
}

/// Where a failing cell is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum At {
    #[default]
    None,
    Unit(usize),
    Total(usize),
    Year(usize),
}

/// What the audit proved.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Audit {
    /// Withheld cells checked (households and persons counted apart).
    pub cells: usize,
    /// Proven by a move.
    pub by_move: usize,
    /// Proven by the solver.
    pub by_solver: usize,
    /// Cells published before with the value they have now: public already.
    pub known: usize,
    pub failures: Vec<Failure>,
    pub protection: i64,
    pub releases_compared: usize,
    /// Milliseconds of the protection with its audit (of the audit alone when run apart).
    pub millis: u64,
    /// The cells proven by a move (a later, larger pattern keeps them proven).
    #[serde(skip)]
    pub(crate) proven: Vec<Cell>,
}

/// Partners a move is tried with before the solver takes over.
const PARTNERS_TRIED: usize = 48;

/// Units up to which the solver tries the whole model when the months around a cell do not
/// prove it.
const WHOLE_MODEL_LIMIT: usize = 4_000;

pub(crate) struct Ctx<'a> {
    pub t: &'a Truth,
    pub pat: &'a Pattern,
    /// The release being made first, then the earlier ones.
    pub views: Vec<View>,
    pub known: Known,
    pub protection: i64,
    /// Per month, the withheld units' districts by households, most first.
    partners: Vec<Vec<usize>>,
}

/// A move over months `a..=b`: each district's households and persons change by its amounts,
/// which add up to nothing (the municipality's totals stay as published).
#[derive(Debug, Clone)]
struct Move {
    a: usize,
    b: usize,
    /// (district, households, persons).
    parts: Parts,
}

type Parts = SmallVec<[(usize, i64, i64); 4]>;
impl<'a> Ctx<'a> {
    pub fn new(t: &'a Truth, pat: &'a Pattern, earlier: &[View], protection: i64) -> Ctx<'a> {
        let mut views = vec![View::current(t, pat)];
        views.extend(earlier.iter().cloned());
        let known = Known::from(t, earlier);
        let months = t.n_months();
        let partners = (0..months)
            .map(|m| {
                let mut ds: Vec<usize> = (0..t.n_districts())
                    .filter(|d| pat.units[d * months + m])
                    .collect();
                ds.sort_by_key(|d| std::cmp::Reverse(t.households[d * months + m]));
                ds
            })
            .collect();
        Ctx {
            t,
            pat,
            views,
            known,
            protection,
            partners,
        }
    }

    fn movable_h(&self, u: usize) -> bool {
        self.pat.units[u] && !self.known.households[u]
    }
    fn movable_p(&self, u: usize) -> bool {
        self.pat.units[u] && !self.known.persons[u]
    }

    /// Whether the move gives a table the attacker cannot rule out, in every release.
    fn fits(&self, mv: &Move) -> bool {
        let months = self.t.n_months();
        for m in mv.a..=mv.b {
            for &(d, du, dv) in &mv.parts {
                let u = d * months + m;
                if (du != 0 && !self.movable_h(u)) || (dv != 0 && !self.movable_p(u)) {
                    return false;
                }
            }
        }
        self.views
            .iter()
            .all(|view| self.fits_in(view, mv, months, self.t.max_household))
    }

    fn fits_in(&self, view: &View, mv: &Move, months: usize, max: i64) -> bool {
        let t = self.t;
        // Where the cells are the same unknowns as now the move applies in this release too;
        // it must apply to all its districts or none, or a published total would change.
        let applied = |d: usize, du: i64, dv: i64, m: usize| -> (bool, bool) {
            let u = d * months + m;
            (
                du != 0 && view.households[u] == Some(t.households[u]),
                dv != 0 && view.persons[u] == Some(t.persons[u]),
            )
        };
        let mut on: SmallVec<[(bool, bool); 16]> = smallvec![(false, false); mv.b - mv.a + 1];
        for m in mv.a..=mv.b {
            let mut h: Option<bool> = None;
            let mut p: Option<bool> = None;
            for &(d, du, dv) in &mv.parts {
                let (ah, ap) = applied(d, du, dv, m);
                if du != 0 && *h.get_or_insert(ah) != ah {
                    return false;
                }
                if dv != 0 && *p.get_or_insert(ap) != ap {
                    return false;
                }
            }
            let (ah, ap) = (h.unwrap_or(false), p.unwrap_or(false));
            on[m - mv.a] = (ah, ap);
            if !(ah || ap) {
                continue;
            }
            for &(d, du, dv) in &mv.parts {
                let u = d * months + m;
                let (Some(hh), Some(pp)) = (view.households[u], view.persons[u]) else {
                    return false;
                };
                if !view.units[u] {
                    return false;
                }
                let low = i64::from(hh >= 1);
                let (hh, pp) = (hh + if ah { du } else { 0 }, pp + if ap { dv } else { 0 });
                if hh < low || hh > pp || pp > max * hh {
                    return false;
                }
            }
        }
        // The flows of every month where the moved amounts change, paid from the year's slack.
        let mut cost: SmallVec<[(&str, i64); 4]> = SmallVec::new();
        let last = (mv.b + 1).min(months - 1);
        for &(d, du, dv) in &mv.parts {
            let delta = |m: usize| -> (i64, i64) {
                if m < mv.a || m > mv.b {
                    return (0, 0);
                }
                let (ah, ap) = on[m - mv.a];
                (if ah { du } else { 0 }, if ap { dv } else { 0 })
            };
            for m in mv.a.max(1)..=last {
                let (now, before) = (delta(m), delta(m - 1));
                let change = (now.0 - before.0, now.1 - before.1);
                if change == (0, 0) {
                    continue;
                }
                let label = &t.months[m][..4];
                if !view.slack.contains_key(label) {
                    continue;
                }
                let (u, w) = (d * months + m, d * months + m - 1);
                let (Some(h1), Some(h0), Some(p1), Some(p0)) = (
                    view.households[u],
                    view.households[w],
                    view.persons[u],
                    view.persons[w],
                ) else {
                    continue;
                };
                let (dh, dp) = (h1 - h0, p1 - p0);
                let c =
                    least_started(dh + change.0, dp + change.1, max) - least_started(dh, dp, max);
                match cost.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, x)) => *x += c,
                    None => cost.push((label, c)),
                }
            }
        }
        cost.iter().all(|(label, c)| *c <= view.slack[*label])
    }

    /// The months around `m` in which every given district can move.
    fn common_run(&self, ds: &[usize], m: usize, h: bool, p: bool) -> (usize, usize) {
        let months = self.t.n_months();
        let ok = |t: usize| {
            ds.iter().all(|d| {
                let x = d * months + t;
                (!h || self.movable_h(x)) && (!p || self.movable_p(x))
            })
        };
        let (mut a, mut b) = (m, m);
        while a > 0 && ok(a - 1) {
            a -= 1;
        }
        while b + 1 < months && ok(b + 1) {
            b += 1;
        }
        (a, b)
    }

    /// The largest amount (up to `cap`) by which unit (d, m) can rise (`up`) or fall, in
    /// households (`persons` false) or persons: a move with one other withheld district, or
    /// failing that, with several at once.
    fn reach(&self, d: usize, m: usize, persons: bool, up: bool, cap: i64) -> i64 {
        if cap <= 0 {
            return 0;
        }
        let months = self.t.n_months();
        let sign = if up { 1 } else { -1 };
        let mut best = 0;
        let partners = || {
            self.partners[m]
                .iter()
                .copied()
                .filter(move |e| *e != d)
                .take(PARTNERS_TRIED)
        };
        for e in partners() {
            for amount in (best + 1..=cap).rev() {
                if self.pair(d, e, m, persons, sign * amount, months) {
                    best = amount;
                    break;
                }
            }
            if best >= cap {
                return best;
            }
        }
        // Several partners at once, each giving what it can over one month.
        let mut parts: Parts = smallvec![(d, 0, 0)];
        let mut total = 0;
        for e in partners() {
            for amount in (1..=cap - total).rev() {
                let (du, dv) = self.shape(if up { e } else { d }, m, persons, amount, months);
                let mut trial = parts.clone();
                trial[0].1 += sign * du;
                trial[0].2 += sign * dv;
                trial.push((e, -sign * du, -sign * dv));
                let mv = Move {
                    a: m,
                    b: m,
                    parts: trial,
                };
                if self.fits(&mv) {
                    parts = mv.parts;
                    total += amount;
                    break;
                }
            }
            if total >= cap {
                break;
            }
        }
        best.max(total)
    }

    /// Households and persons a move of `amount` (households, or persons) takes from or gives
    /// to district `e`: households carry persons at `e`'s own ratio.
    fn shape(&self, e: usize, m: usize, persons: bool, amount: i64, months: usize) -> (i64, i64) {
        if persons {
            (0, amount)
        } else {
            let q = e * months + m;
            let ratio =
                (self.t.persons[q] as f64 / self.t.households[q].max(1) as f64).round() as i64;
            (amount, amount * ratio.clamp(1, self.t.max_household))
        }
    }

    /// Whether `amount` (signed: up for unit d) can move between d and e in a run covering m.
    fn pair(
        &self,
        d: usize,
        e: usize,
        m: usize,
        persons: bool,
        amount: i64,
        months: usize,
    ) -> bool {
        let max = self.t.max_household;
        let size = amount.abs();
        let sign = amount.signum();
        let mut shapes: SmallVec<[(i64, i64); 4]> = SmallVec::new();
        if persons {
            shapes.push((0, size));
            for u in 1..=size.min(3) {
                if size <= max * u {
                    shapes.push((u, size));
                }
            }
        } else {
            let (_, v) = self.shape(if sign > 0 { e } else { d }, m, false, size, months);
            let mut vs: SmallVec<[i64; 3]> = smallvec![v, size, size * max];
            vs.dedup();
            shapes.extend(vs.into_iter().map(|v| (size, v)));
        }
        for (u, v) in shapes {
            let (a, b) = self.common_run(&[d, e], m, u > 0, v > 0);
            let runs = [(m, m), (a, b)];
            for &(a, b) in &runs[..if a == b { 1 } else { 2 }] {
                let mv = Move {
                    a,
                    b,
                    parts: smallvec![(d, sign * u, sign * v), (e, -sign * u, -sign * v)],
                };
                if self.fits(&mv) {
                    return true;
                }
            }
        }
        false
    }

    /// Proven widths of unit (d, m): households and persons, each up to the protection level.
    pub(crate) fn prove_unit(&self, d: usize, m: usize) -> (i64, i64) {
        let p = self.protection;
        let width = |persons: bool| {
            let down = self.reach(d, m, persons, false, p);
            down + self.reach(d, m, persons, true, p - down)
        };
        (width(false), width(true))
    }
}

/// A withheld cell to prove: where it is, and whether its persons (else households or the
/// year figure).
pub(crate) type Cell = (At, bool);

/// Every withheld cell of a pattern.
pub(crate) fn withheld_cells(t: &Truth, pat: &Pattern) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (u, w) in pat.units.iter().enumerate() {
        if *w {
            cells.push((At::Unit(u), false));
            cells.push((At::Unit(u), true));
        }
    }
    for (m, w) in pat.totals.iter().enumerate() {
        if *w {
            cells.push((At::Total(m), false));
            cells.push((At::Total(m), true));
        }
    }
    for (y, p) in pat.years.iter().enumerate() {
        for (i, w) in year_withheld(p).iter().enumerate() {
            if *w {
                cells.push((At::Year(y * 16 + i), false));
            }
        }
    }
    let _ = t;
    cells
}

/// Audits a pattern: every withheld cell of the new release against this release and every
/// earlier one, by moves first and the solver for the rest.
pub fn audit(t: &Truth, pat: &Pattern, earlier: &[View], protection: i64) -> Audit {
    let cx = Ctx::new(t, pat, earlier, protection);
    check(&cx, &withheld_cells(t, pat), true)
}

/// Proves the given cells: by a move, else (with `solver`) by solving the model around the
/// cell, else the whole model where it is small.
pub(crate) fn check(cx: &Ctx, cells: &[Cell], solver: bool) -> Audit {
    let started = std::time::Instant::now();
    let (t, protection) = (cx.t, cx.protection);
    let months = t.n_months();
    let mut audit = Audit {
        protection,
        releases_compared: cx.views.len() - 1,
        ..Default::default()
    };
    let mut solve: Vec<Cell> = Vec::new();
    // The moves of every withheld unit, on every core: the proofs are independent.
    let mut units: Vec<usize> = cells
        .iter()
        .filter_map(|(at, _)| match at {
            At::Unit(u) => Some(*u),
            _ => None,
        })
        .collect();
    units.sort_unstable();
    units.dedup();
    let proven_units: std::collections::HashMap<usize, (i64, i64)> = units
        .par_iter()
        .map(|&u| (u, cx.prove_unit(u / months, u % months)))
        .collect();
    for &(at, persons) in cells {
        let known = match at {
            At::Unit(u) => {
                if persons {
                    cx.known.persons[u]
                } else {
                    cx.known.households[u]
                }
            }
            At::Total(m) => {
                if persons {
                    cx.known.total_persons[m]
                } else {
                    cx.known.total_households[m]
                }
            }
            At::Year(code) => cx.known.years[code / 16][code % 16],
            At::None => true,
        };
        if known {
            audit.known += 1;
            continue;
        }
        audit.cells += 1;
        if let At::Unit(u) = at {
            let (wh, wp) = proven_units[&u];
            if (if persons { wp } else { wh }) >= protection {
                audit.by_move += 1;
                audit.proven.push((at, persons));
                continue;
            }
        }
        solve.push((at, persons));
    }
    if !solver {
        // Without the solver only the year figures, whose model is small, are solved.
        solve.retain(|(at, persons)| {
            let year = matches!(at, At::Year(_));
            if !year {
                audit.failures.push(Failure {
                    cell: name_of(t, *at, *persons),
                    width: 0.0,
                    at: *at,
                });
            }
            year
        });
    }
    let years = solve
        .iter()
        .any(|(at, _)| matches!(at, At::Year(_)))
        .then(|| year_model(cx));
    let mut whole: Option<(Model, UnitVars)> = None;
    for (at, persons) in solve {
        let name = name_of(t, at, persons);
        let width = match at {
            At::Unit(_) | At::Total(_) => {
                let m = match at {
                    At::Unit(u) => u % months,
                    At::Total(m) => m,
                    _ => 0,
                };
                let pick = |vars: &UnitVars| match (at, persons) {
                    (At::Unit(u), false) => vars.households[u],
                    (At::Unit(u), true) => vars.persons[u],
                    (At::Total(m), false) => vars.total_households[m],
                    (_, _) => vars.total_persons[m],
                };
                let truth = match (at, persons) {
                    (At::Unit(u), false) => t.households[u],
                    (At::Unit(u), true) => t.persons[u],
                    (_, false) => t.total_households(m),
                    (_, true) => t.total_persons(m),
                };
                let (local, vars) = unit_model(cx, Some(m));
                let mut w = width_of(&local, pick(&vars), truth, &name);
                if w < protection as f64 && t.households.len() <= WHOLE_MODEL_LIMIT {
                    let (model, vars) = whole.get_or_insert_with(|| unit_model(cx, None));
                    w = w.max(width_of(model, pick(vars), truth, &name));
                }
                w
            }
            At::Year(code) => match &years {
                Some((model, vars)) => {
                    let truth = year_values(&t.years[code / 16])[code % 16];
                    width_of(model, vars[code / 16][code % 16], truth, &name)
                }
                None => 0.0,
            },
            At::None => continue,
        };
        if width >= protection as f64 {
            audit.by_solver += 1;
        } else {
            audit.failures.push(Failure {
                cell: name,
                width,
                at,
            });
        }
    }
    audit.millis = started.elapsed().as_millis() as u64;
    audit
}

fn width_of(model: &Model, var: Option<usize>, truth: i64, name: &str) -> f64 {
    match var {
        Some(v) if model.consistent() => match model.interval(v, truth as f64) {
            Ok(i) => i.width(),
            Err(e) => {
                tracing::warn!(cell = %name, error = %e, "audit: the solver failed");
                0.0
            }
        },
        _ => 0.0,
    }
}

/// A cell as the published tables name it.
fn name_of(t: &Truth, at: At, persons: bool) -> String {
    let months = t.n_months();
    let what = if persons { "persons" } else { "households" };
    match at {
        At::Unit(u) => format!(
            "{} {} {what}",
            t.districts[u / months],
            t.months[u % months]
        ),
        At::Total(m) => format!("municipality {} {what}", t.months[m]),
        At::Year(code) => format!("{} {}", t.years[code / 16].label, year_figure(code % 16)),
        At::None => String::new(),
    }
}

/// The name of a year figure in [`year_values`] order.
pub fn year_figure(i: usize) -> String {
    match i {
        0 => "placements_started".into(),
        1 => "placements_ended".into(),
        2 => "placements_ended_autonomy".into(),
        HOUSED => "households_housed_in_register_homes".into(),
        HOMES_LET => "register_homes_let".into(),
        SUSTAINED => "tenancies_sustained".into(),
        i => format!("placements_started_{}", PROGRAMMES[i - 3]),
    }
}

/// The model's unknowns for the current release's cells (None where the cell is a constant).
pub(crate) struct UnitVars {
    pub households: Vec<Option<usize>>,
    pub persons: Vec<Option<usize>>,
    pub total_households: Vec<Option<usize>>,
    pub total_persons: Vec<Option<usize>>,
}

/// A value or an unknown of the model.
#[derive(Clone, Copy)]
enum Term {
    Value(f64),
    Var(usize),
}

/// The attacker's model of the district and municipal stocks, in every release: the totals,
/// households against persons, and the flows each year's published starts and ends allow,
/// through one unknown number of starts per district and month. The year figures are held at
/// their true values (a restriction). With `around`, only the months within two of it are
/// unknown (a smaller restriction, solved first).
fn unit_model(cx: &Ctx, around: Option<usize>) -> (Model, UnitVars) {
    let t = cx.t;
    let (months, districts) = (t.n_months(), t.n_districts());
    let max = t.max_household as f64;
    let window = match around {
        Some(m) => (m.saturating_sub(2), (m + 2).min(months - 1)),
        None => (0, months - 1),
    };
    let free = |m: usize| m >= window.0 && m <= window.1;
    let mut model = Model::default();
    let mut vars = UnitVars {
        households: vec![None; t.households.len()],
        persons: vec![None; t.households.len()],
        total_households: vec![None; months],
        total_persons: vec![None; months],
    };
    for (w, view) in cx.views.iter().enumerate() {
        // This release's terms: shared with the current unknowns where the value is the same.
        let mut h = vec![Term::Value(0.0); t.households.len()];
        let mut p = vec![Term::Value(0.0); t.households.len()];
        let mut present = vec![false; t.households.len()];
        for u in 0..t.households.len() {
            let (Some(hv), Some(pv)) = (view.households[u], view.persons[u]) else {
                continue;
            };
            present[u] = true;
            let withheld = view.units[u] && free(u % months);
            let low = f64::from(u8::from(hv >= 1));
            if w == 0 {
                h[u] = fresh(&mut model, withheld && !cx.known.households[u], hv, low);
                p[u] = fresh(&mut model, withheld && !cx.known.persons[u], pv, low);
                vars.households[u] = as_var(h[u]);
                vars.persons[u] = as_var(p[u]);
            } else {
                h[u] = earlier(
                    &mut model,
                    withheld,
                    hv,
                    low,
                    t.households[u],
                    vars.households[u],
                );
                p[u] = earlier(&mut model, withheld, pv, low, t.persons[u], vars.persons[u]);
            }
        }
        let mut th = vec![Term::Value(0.0); months];
        let mut tp = vec![Term::Value(0.0); months];
        for m in 0..months {
            let (Some(hv), Some(pv)) = (view.total_households[m], view.total_persons[m]) else {
                continue;
            };
            let withheld = view.totals[m] && free(m);
            let low = f64::from(u8::from(hv >= 1));
            if w == 0 {
                th[m] = fresh(
                    &mut model,
                    withheld && !cx.known.total_households[m],
                    hv,
                    low,
                );
                tp[m] = fresh(&mut model, withheld && !cx.known.total_persons[m], pv, low);
                vars.total_households[m] = as_var(th[m]);
                vars.total_persons[m] = as_var(tp[m]);
            } else {
                let (nh, np) = (t.total_households(m), t.total_persons(m));
                th[m] = earlier(&mut model, withheld, hv, low, nh, vars.total_households[m]);
                tp[m] = earlier(&mut model, withheld, pv, low, np, vars.total_persons[m]);
            }
        }
        // Households against persons, in every unit and total with an unknown.
        let mut persons_rows = |hh: Term, pp: Term| {
            if matches!(hh, Term::Var(_)) || matches!(pp, Term::Var(_)) {
                add(&mut model, &[(pp, 1.0), (hh, -1.0)], Cmp::Ge, 0.0);
                add(&mut model, &[(pp, 1.0), (hh, -max)], Cmp::Le, 0.0);
            }
        };
        for u in 0..t.households.len() {
            persons_rows(h[u], p[u]);
        }
        for m in 0..months {
            persons_rows(th[m], tp[m]);
        }
        // The districts add up to the municipality.
        for m in 0..months {
            if view.total_households[m].is_none() {
                continue;
            }
            for (cells, total) in [(&h, th[m]), (&p, tp[m])] {
                let mut terms: Vec<(Term, f64)> = (0..districts)
                    .filter(|d| present[d * months + m])
                    .map(|d| (cells[d * months + m], 1.0))
                    .collect();
                terms.push((total, -1.0));
                add(&mut model, &terms, Cmp::Eq, 0.0);
            }
        }
        // Flows: in every published year, the starts the stocks require stay within those
        // published. District-months without an unknown keep their least starts (a constant).
        let is_var = |x: Term| matches!(x, Term::Var(_));
        for year in &t.years {
            let label = &year.label;
            let Some(&slack) = view.slack.get(label) else {
                continue;
            };
            if slack == i64::MAX {
                continue;
            }
            let mut budget: Vec<(Term, f64)> = Vec::new();
            let mut least_true = 0i64;
            for d in 0..districts {
                for m in year.first..year.end {
                    let (u, v) = (d * months + m, d * months + m - 1);
                    if !(present[u] && present[v]) {
                        continue;
                    }
                    if !(is_var(h[u]) || is_var(h[v]) || is_var(p[u]) || is_var(p[v])) {
                        continue;
                    }
                    let dh = view.households[u].unwrap_or(0) - view.households[v].unwrap_or(0);
                    let dp = view.persons[u].unwrap_or(0) - view.persons[v].unwrap_or(0);
                    least_true += least_started(dh, dp, t.max_household);
                    let s = model.var(0.0, f64::INFINITY);
                    let s = Term::Var(s);
                    // Ended = started − Δhouseholds ≥ 0.
                    add(
                        &mut model,
                        &[(s, 1.0), (h[u], -1.0), (h[v], 1.0)],
                        Cmp::Ge,
                        0.0,
                    );
                    // (max−1)·S ≥ max·Δh − Δp and (max−1)·S ≥ Δp − Δh.
                    add(
                        &mut model,
                        &[
                            (s, max - 1.0),
                            (h[u], -max),
                            (h[v], max),
                            (p[u], 1.0),
                            (p[v], -1.0),
                        ],
                        Cmp::Ge,
                        0.0,
                    );
                    add(
                        &mut model,
                        &[
                            (s, max - 1.0),
                            (p[u], -1.0),
                            (p[v], 1.0),
                            (h[u], 1.0),
                            (h[v], -1.0),
                        ],
                        Cmp::Ge,
                        0.0,
                    );
                    budget.push((s, 1.0));
                }
            }
            if !budget.is_empty() {
                add(
                    &mut model,
                    &budget,
                    Cmp::Le,
                    (slack.saturating_add(least_true)) as f64,
                );
            }
        }
    }
    (model, vars)
}

/// A cell of the release being made: an unknown where it is withheld and not public already.
fn fresh(model: &mut Model, unknown: bool, value: i64, low: f64) -> Term {
    if unknown {
        Term::Var(model.var(low, f64::INFINITY))
    } else {
        Term::Value(value as f64)
    }
}

/// A cell of an earlier release: the current unknown (or value) where the value is the same as
/// now, else an unknown of its own where that release withheld it.
fn earlier(
    model: &mut Model,
    withheld: bool,
    value: i64,
    low: f64,
    now: i64,
    current: Option<usize>,
) -> Term {
    if !withheld {
        Term::Value(value as f64)
    } else if value == now {
        current.map_or(Term::Value(value as f64), Term::Var)
    } else {
        Term::Var(model.var(low, f64::INFINITY))
    }
}

fn as_var(t: Term) -> Option<usize> {
    match t {
        Term::Var(v) => Some(v),
        Term::Value(_) => None,
    }
}

/// Adds a row over terms, moving values to the right-hand side.
fn add(model: &mut Model, terms: &[(Term, f64)], cmp: Cmp, rhs: f64) {
    let mut rhs = rhs;
    let mut vars = Vec::with_capacity(terms.len());
    for (term, c) in terms {
        match term {
            Term::Value(x) => rhs -= c * x,
            Term::Var(v) => vars.push((*v, *c)),
        }
    }
    model.row(vars, cmp, rhs);
}

/// The attacker's model of the year figures in every release: programmes add up to the
/// households started; started minus ended is the change of the municipality's households over
/// the year; exits to autonomy are at most the exits; homes let nest in households housed in
/// register homes, and those in households started; tenancies sustained are at most the starts
/// and the households of the month before the year, and at most the households housed in the
/// year and the one before; the stocks require at least their least starts. The stocks are held
/// at their true values (a restriction).
fn year_model(cx: &Ctx) -> (Model, Vec<Vec<Option<usize>>>) {
    let t = cx.t;
    let mut model = Model::default();
    let mut current: Vec<Vec<Option<usize>>> = t
        .years
        .iter()
        .map(|y| vec![None; year_values(y).len()])
        .collect();
    for (w, view) in cx.views.iter().enumerate() {
        // The year before's terms in this release, for the tenancies sustained.
        let mut prev: Option<(usize, Vec<Term>)> = None;
        for (y, year) in t.years.iter().enumerate() {
            let Some((then, pat)) = &view.years[y] else {
                continue;
            };
            let (values, withheld, now) =
                (year_values(then), year_withheld(pat), year_values(year));
            let terms: Vec<Term> = (0..values.len())
                .map(|i| {
                    if !withheld[i] {
                        return Term::Value(values[i] as f64);
                    }
                    // Exits to autonomy can be 0 when withheld; the other counts are at least 1.
                    let low = if i == 2 {
                        0.0
                    } else {
                        f64::from(u8::from(values[i] >= 1))
                    };
                    if w == 0 {
                        if cx.known.years[y][i] {
                            return Term::Value(values[i] as f64);
                        }
                        let v = model.var(low, f64::INFINITY);
                        current[y][i] = Some(v);
                        Term::Var(v)
                    } else {
                        earlier(&mut model, true, values[i], low, now[i], current[y][i])
                    }
                })
                .collect();
            // Programmes add up to the households started.
            let mut sum: Vec<(Term, f64)> = terms[3..HOUSED].iter().map(|x| (*x, 1.0)).collect();
            sum.push((terms[0], -1.0));
            add(&mut model, &sum, Cmp::Eq, 0.0);
            // Started − ended = the change of the municipality's households over the year.
            let months = t.n_months();
            let stock = |m: usize| view.total_households[m].unwrap_or(0) as f64;
            if year.end <= months && year.first >= 1 {
                let change = stock(year.end - 1) - stock(year.first - 1);
                add(
                    &mut model,
                    &[(terms[0], 1.0), (terms[1], -1.0)],
                    Cmp::Eq,
                    change,
                );
            }
            add(
                &mut model,
                &[(terms[2], 1.0), (terms[1], -1.0)],
                Cmp::Le,
                0.0,
            );
            // Homes let for the first time ≤ households housed in register homes ≤ started.
            add(
                &mut model,
                &[(terms[HOMES_LET], 1.0), (terms[HOUSED], -1.0)],
                Cmp::Le,
                0.0,
            );
            add(
                &mut model,
                &[(terms[HOUSED], 1.0), (terms[0], -1.0)],
                Cmp::Le,
                0.0,
            );
            // A tenancy sustained in the year started in it or was active at the end of the year
            // before: at most the starts and that month's households; and, where the year before
            // is published too, at most the households housed in both years.
            if year.first >= 1 {
                add(
                    &mut model,
                    &[(terms[SUSTAINED], 1.0), (terms[0], -1.0)],
                    Cmp::Le,
                    stock(year.first - 1),
                );
            }
            if let Some((b, before)) = &prev
                && *b + 1 == y
                && t.years[*b].end == year.first
            {
                let housed_before = before[HOUSED];
                add(
                    &mut model,
                    &[
                        (terms[SUSTAINED], 1.0),
                        (terms[HOUSED], -1.0),
                        (housed_before, -1.0),
                    ],
                    Cmp::Le,
                    0.0,
                );
            }
            // At least the starts the stocks require.
            if let Some(&slack) = view.slack.get(&year.label)
                && slack != i64::MAX
            {
                add(
                    &mut model,
                    &[(terms[0], 1.0)],
                    Cmp::Ge,
                    (values[0] - slack) as f64,
                );
            }
            prev = Some((y, terms));
        }
    }
    (model, current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Year;

    /// Two districts over two months, hand-made: a small district beside a large one.
    fn two_districts(small: [i64; 2], large: [i64; 2]) -> Truth {
        Truth {
            districts: vec!["A".into(), "B".into()],
            months: vec!["2025-01".into(), "2025-02".into()],
            households: vec![small[0], small[1], large[0], large[1]],
            persons: vec![small[0] * 2, small[1] * 2, large[0] * 3, large[1] * 3],
            years: Vec::new(),
            max_household: 30,
        }
    }

    #[test]
    fn a_small_cell_beside_a_withheld_large_one_is_protected_by_a_move() {
        let t = two_districts([2, 2], [20, 20]);
        let mut pat = Pattern::empty(&t);
        pat.units = vec![true, true, true, true];
        let a = audit(&t, &pat, &[], 5);
        assert!(a.failures.is_empty(), "{:?}", a.failures);
        assert_eq!(a.by_move, 8);
    }

    #[test]
    fn a_small_cell_alone_fails_and_so_does_a_pair_of_small_ones() {
        let t = two_districts([2, 2], [20, 20]);
        let mut pat = Pattern::empty(&t);
        pat.units = vec![true, true, false, false];
        let a = audit(&t, &pat, &[], 5);
        // Alone in its month, the total gives it away: width 0.
        assert_eq!(a.failures.len(), 4);
        assert!(a.failures.iter().all(|f| f.width == 0.0));
        // Two small districts: 2 + 3 = 5, each between 1 and 4: width 3 < 5.
        let t = two_districts([2, 2], [3, 3]);
        let mut pat = Pattern::empty(&t);
        pat.units = vec![true, true, true, true];
        let a = audit(&t, &pat, &[], 5);
        assert!(
            a.failures
                .iter()
                .any(|f| f.cell.ends_with("households") && f.width == 3.0),
            "{:?}",
            a.failures
        );
    }

    /// The cells an audit could not prove, by name.
    fn failing(a: &Audit) -> Vec<&str> {
        a.failures.iter().map(|f| f.cell.as_str()).collect()
    }

    /// 2025 (January against December): A 2 → 6, B 20 → 20, so 4 households started and none
    /// ended; `housed` of them in homes of the vacancy register, 2 homes let for the first time
    /// (withheld) and 2 tenancies sustained (withheld).
    fn activation_year(housed: i64) -> Truth {
        let mut t = two_districts([2, 6], [20, 20]);
        t.months = vec!["2024-12".into(), "2025-01".into()];
        t.years = vec![Year {
            label: "2025".into(),
            first: 1,
            end: 2,
            started: 4,
            ended: 0,
            ended_autonomy: 0,
            started_by_programme: vec![4, 0, 0, 0, 0, 0],
            median_days_to_start: None,
            housed,
            homes_let: 2,
            sustained: 2,
            cost_homes_let_eur: 30_000.0,
        }];
        t
    }

    #[test]
    fn homes_let_nest_in_households_housed_and_those_in_the_starts() {
        // Housed 4 published: the 2 homes let lie in [1, 4], 3 wide; the 2 tenancies sustained
        // in [1, 4 started + 22 households of December].
        let t = activation_year(4);
        let mut pat = Pattern::empty(&t);
        pat.years[0].homes_let = true;
        pat.years[0].sustained = true;
        let a = audit(&t, &pat, &[], 3);
        assert!(a.failures.is_empty(), "{:?}", a.failures);
        assert!(!audit(&t, &pat, &[], 4).failures.is_empty(), "only 3 wide");
        // Housed 2 published: the homes let are pinned to [1, 2].
        let t = activation_year(2);
        assert_eq!(
            failing(&audit(&t, &pat, &[], 2)),
            ["2025 register_homes_let"]
        );
        // Housed withheld as well: both rise to the 4 started.
        pat.years[0].housed = true;
        assert!(audit(&t, &pat, &[], 3).failures.is_empty());
    }

    #[test]
    fn a_tenancy_sustained_is_bounded_by_the_households_housed_in_its_year_and_the_one_before() {
        // 2025: 1 household housed (published), 2 tenancies sustained (withheld) bounded by the 4
        // started and December's 22 households. 2026: none housed, 1 tenancy sustained
        // (withheld): at most the 1 housed in 2025 and none in 2026, so the cell is known.
        let mut t = activation_year(1);
        t.years[0].homes_let = 1;
        let y = t.years[0].clone();
        let mut pat = Pattern::empty(&t);
        pat.years[0].sustained = true;
        assert!(
            audit(&t, &pat, &[], 2).failures.is_empty(),
            "4 started + 22 then"
        );
        // A second year of the same months' stocks: 26 − 26 households, nothing started.
        t.households = vec![2, 6, 6, 20, 20, 20];
        t.persons = t.households.clone();
        t.months = vec!["2024-12".into(), "2025-01".into(), "2026-01".into()];
        let mut y2 = y.clone();
        (y2.label, y2.first, y2.end) = ("2026".into(), 2, 3);
        (y2.started, y2.started_by_programme) = (0, vec![0; 6]);
        (y2.housed, y2.homes_let, y2.sustained) = (0, 0, 1);
        t.years = vec![y, y2];
        t.check().unwrap();
        let mut pat = Pattern::empty(&t);
        pat.years[1].sustained = true;
        assert_eq!(
            failing(&audit(&t, &pat, &[], 2)),
            ["2026 tenancies_sustained"],
            "at most the 1 housed in 2025 and none in 2026"
        );
    }

    #[test]
    fn the_years_flows_bound_what_a_move_may_change() {
        // A: 2 → 6 households in February, B: 20 → 20; 4 households started in 2025-02 and
        // none ended (the year is published, so starts are bounded by its 4).
        let t = activation_year(4);
        let mut pat = Pattern::empty(&t);
        // Only January withheld for both: moving households in January alone changes the
        // January flows, which must still add up to 4 starts with none ended.
        pat.units = vec![false, true, false, true];
        let a = audit(&t, &pat, &[], 5);
        assert!(!a.failures.is_empty(), "the flows pin January");
        // With December withheld too the move spans both months and costs no flow.
        pat.units = vec![true, true, true, true];
        let a = audit(&t, &pat, &[], 5);
        assert!(a.failures.is_empty(), "{:?}", a.failures);
    }
}
