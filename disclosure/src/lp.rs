//! A linear model of what an outsider knows, and the interval of one variable over it, solved
//! with microlp (pure Rust). Integer optima are checked: where the linear optimum is not whole,
//! the bound is solved again with integer variables, so the interval holds for an integer
//! solver too.

use microlp::{ComparisonOp, OptimizationDirection, Problem};

/// A variable's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub low: f64,
    pub high: f64,
}

/// Equality, at most, at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Le,
    Ge,
}

/// One linear row: its terms (variable, coefficient), the comparison and the right-hand side.
pub type Row = (Vec<(usize, f64)>, Cmp, f64);

/// Variables with bounds and linear rows over them.
#[derive(Debug, Default, Clone)]
pub struct Model {
    pub vars: Vec<Bounds>,
    pub rows: Vec<Row>,
}

/// The least and greatest value of a variable over a model (infinite where unbounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn width(&self) -> f64 {
        self.high - self.low
    }
}

impl Model {
    pub fn var(&mut self, low: f64, high: f64) -> usize {
        self.vars.push(Bounds { low, high });
        self.vars.len() - 1
    }
    /// Adds `Σ terms (cmp) rhs`, dropping zero coefficients and merging repeated variables; a
    /// row left without variables must hold as it is (checked by [`Model::consistent`]).
    pub fn row(&mut self, terms: Vec<(usize, f64)>, cmp: Cmp, rhs: f64) {
        let mut merged: Vec<(usize, f64)> = Vec::with_capacity(terms.len());
        let mut sorted = terms;
        sorted.sort_by_key(|t| t.0);
        for (v, c) in sorted {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += c,
                _ => merged.push((v, c)),
            }
        }
        merged.retain(|(_, c)| *c != 0.0);
        self.rows.push((merged, cmp, rhs));
    }

    /// Whether every row without variables holds (the model's constants agree).
    pub fn consistent(&self) -> bool {
        self.rows.iter().all(|(t, cmp, rhs)| {
            !t.is_empty()
                || match cmp {
                    Cmp::Eq => rhs.abs() < 1e-9,
                    Cmp::Le => *rhs >= -1e-9,
                    Cmp::Ge => *rhs <= 1e-9,
                }
        })
    }

    /// The interval of variable `v`, each end reached by a whole-number solution: the linear
    /// optimum where its solution is whole, else the integer optimum (solved with a time limit;
    /// where it runs out, the best whole solution found, or `truth`, a whole solution too). So
    /// the width is proven for an attacker who solves in integers.
    pub fn interval(&self, v: usize, truth: f64) -> Result<Interval, String> {
        let mut ends = [truth, truth];
        for (i, maximise) in [false, true].into_iter().enumerate() {
            let (value, whole) = self.optimum(v, maximise, false)?;
            ends[i] = if whole || !value.is_finite() {
                value
            } else {
                match self.optimum(v, maximise, true) {
                    Ok((x, _)) => x,
                    Err(_) => truth,
                }
            };
        }
        Ok(Interval {
            low: ends[0],
            high: ends[1],
        })
    }

    /// The optimum of variable `target`, and whether the solution reaching it is whole.
    fn optimum(&self, target: usize, maximise: bool, integer: bool) -> Result<(f64, bool), String> {
        let direction = if maximise {
            OptimizationDirection::Maximize
        } else {
            OptimizationDirection::Minimize
        };
        let mut pb = Problem::new(direction);
        if integer {
            pb.set_time_limit(std::time::Duration::from_millis(INTEGER_MILLIS));
        }
        let vars: Vec<microlp::Variable> = self
            .vars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let c = if i == target { 1.0 } else { 0.0 };
                if integer {
                    let clamp = |x: f64| x.clamp(-1e9, 1e9) as i32;
                    pb.add_integer_var(c, (clamp(b.low), clamp(b.high)))
                } else {
                    pb.add_var(c, (b.low, b.high))
                }
            })
            .collect();
        for (terms, cmp, rhs) in &self.rows {
            if terms.is_empty() {
                continue;
            }
            let op = match cmp {
                Cmp::Eq => ComparisonOp::Eq,
                Cmp::Le => ComparisonOp::Le,
                Cmp::Ge => ComparisonOp::Ge,
            };
            let expr: Vec<(microlp::Variable, f64)> =
                terms.iter().map(|(v, c)| (vars[*v], *c)).collect();
            pb.add_constraint(expr.as_slice(), op, *rhs);
        }
        match pb.solve() {
            Ok(outcome) => match outcome.into_solution() {
                Ok(s) => {
                    let whole = vars
                        .iter()
                        .all(|v| (s.var_value(*v) - s.var_value(*v).round()).abs() < 1e-6);
                    let x = s.var_value(vars[target]);
                    Ok((if integer { x.round() } else { x }, whole))
                }
                Err(_) => Err("the solver stopped before a whole solution".into()),
            },
            Err(microlp::Error::Unbounded) => Ok((
                if maximise {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                },
                true,
            )),
            Err(e) => Err(format!("the solver failed: {e}")),
        }
    }
}

/// Time allowed to each integer solve.
const INTEGER_MILLIS: u64 = 1_500;

#[cfg(test)]
mod tests {
    use super::*;

    /// Two withheld cells of a published total of 9, each at least 1, one at most 3 by another
    /// relation: x ∈ [6, 8], y ∈ [1, 3].
    #[test]
    fn an_interval_by_hand() {
        let mut m = Model::default();
        let x = m.var(1.0, f64::INFINITY);
        let y = m.var(1.0, f64::INFINITY);
        m.row(vec![(x, 1.0), (y, 1.0)], Cmp::Eq, 9.0);
        m.row(vec![(y, 1.0)], Cmp::Le, 3.0);
        assert_eq!(
            m.interval(x, 7.0).unwrap(),
            Interval {
                low: 6.0,
                high: 8.0
            }
        );
        assert_eq!(m.interval(y, 2.0).unwrap().width(), 2.0);
        // Without the total, x is unbounded above.
        let mut open = Model::default();
        let x = open.var(1.0, f64::INFINITY);
        assert_eq!(open.interval(x, 1.0).unwrap().high, f64::INFINITY);
    }

    /// 2x = 3 has no whole solution; x + y = 3, 2x ≤ 3 has x ≤ 1.5 linearly and x ≤ 1 in
    /// integers: the integer bound is the one reported.
    #[test]
    fn a_fractional_optimum_is_solved_in_integers() {
        let mut m = Model::default();
        let x = m.var(0.0, f64::INFINITY);
        let y = m.var(0.0, f64::INFINITY);
        m.row(vec![(x, 1.0), (y, 1.0)], Cmp::Eq, 3.0);
        m.row(vec![(x, 2.0)], Cmp::Le, 3.0);
        assert_eq!(m.interval(x, 0.0).unwrap().high, 1.0);
    }
}
