//! Segregation indices, with the definitions and zero conventions of PySAL's `segregation`
//! (2.5) and `esda` (2.9): `x` is the group count and `t` the total of each district.
//!
//! Zero-population districts: the group share is 0 in dissimilarity, Gini and Atkinson; they are
//! skipped in isolation, exposure and multigroup information theory; NaN becomes 0 in the other
//! multigroup indices.

use ingest::rng::SplitMix64;

/// Σ f(i) for i in 0..len, on four accumulators: the additions overlap instead of each
/// waiting for the one before, a quarter of the latency of one running sum.
fn sum_of(len: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut acc = [0.0; 4];
    let whole = len / 4 * 4;
    for i in (0..whole).step_by(4) {
        acc[0] += f(i);
        acc[1] += f(i + 1);
        acc[2] += f(i + 2);
        acc[3] += f(i + 3);
    }
    for i in whole..len {
        acc[0] += f(i);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Σ of a slice.
fn total(v: &[f64]) -> f64 {
    sum_of(v.len(), |i| v[i])
}

/// Σx and Σt.
fn sums(x: &[f64], t: &[f64]) -> (f64, f64) {
    (total(x), total(t))
}

/// A whole, non-negative count. Conversions to and from i64 are one instruction each, where
/// `fract` calls into libm on baseline x86-64 (and u64 conversions take several).
fn is_count(v: f64) -> bool {
    (0.0..9.0e15).contains(&v) && (v as i64) as f64 == v
}

/// The group share of a district, 0 where it has nobody.
fn share(x: f64, t: f64) -> f64 {
    if t == 0.0 { 0.0 } else { x / t }
}

/// Dissimilarity D = Σ t_i |p_i − P| / (2 T P (1 − P)).
pub fn dissimilarity(x: &[f64], t: &[f64]) -> f64 {
    let (big_x, big_t) = sums(x, t);
    let p = big_x / big_t;
    // t_i |p_i − P| = |x_i − P t_i|, and 0 where t_i = 0.
    let t = &t[..x.len()];
    let num = sum_of(x.len(), |i| (x[i] - p * t[i]).abs());
    num / (2.0 * big_t * p * (1.0 - p))
}

/// Σ_i Σ_j w_i w_j |v_i − v_j| over all ordered pairs, in O(n log n): after sorting by v,
/// each pair counts once as w_j w_i (v_j − v_i), then doubled.
fn pairwise_abs(values: &mut [(f64, f64)]) -> f64 {
    values.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (mut before_w, mut before_wv, mut num) = (0.0, 0.0, 0.0);
    for &(v, w) in values.iter() {
        num += w * (v * before_w - before_wv);
        before_w += w;
        before_wv += w * v;
    }
    2.0 * num
}

/// Gini G = Σ_i Σ_j t_i t_j |p_i − p_j| / (2 T² P (1 − P)).
pub fn gini(x: &[f64], t: &[f64]) -> f64 {
    let (big_x, big_t) = sums(x, t);
    let p = big_x / big_t;
    let mut v: Vec<(f64, f64)> = x
        .iter()
        .zip(t)
        .map(|(&xi, &ti)| (share(xi, ti), ti))
        .collect();
    pairwise_abs(&mut v) / (2.0 * big_t * big_t * p * (1.0 - p))
}

/// −[p ln p + (1 − p) ln(1 − p)], with 0 ln 0 = 0.
fn binary_entropy(p: f64) -> f64 {
    let h = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 };
    h(p) + h(1.0 - p)
}

/// Two-group entropy (Theil's H) = Σ t_i (E − E_i) / (E T).
pub fn entropy(x: &[f64], t: &[f64]) -> f64 {
    let (big_x, big_t) = sums(x, t);
    let e = binary_entropy(big_x / big_t);
    let num: f64 = match XLnXTable::for_counts(x, t) {
        // Whole persons: t_i E_i = t ln t − x ln x − (t − x) ln(t − x), so the numerator is
        // E T − Σ [t ln t − x ln x − (t − x) ln(t − x)], from a table of k ln k: no logarithm
        // and no division per district.
        Some(l) => {
            let lost = sum_of(x.len(), |i| {
                // Checked whole and non-negative, so the i64 conversion is exact.
                let (xi, ti) = (x[i] as i64 as usize, t[i] as i64 as usize);
                l.get(ti) - l.get(xi) - l.get(ti - xi)
            });
            e * big_t - lost
        }
        None => sum_of(x.len(), |i| t[i] * (e - binary_entropy(share(x[i], t[i])))),
    };
    num / (e * big_t)
}

/// k ln k for k = 0..=max (0 ln 0 = 0), when every count is a whole number with x ≤ t and no
/// total is larger than a few times the number of districts (so the table costs less than the
/// logarithms it saves).
struct XLnXTable(Vec<f64>);

impl XLnXTable {
    fn for_counts(x: &[f64], t: &[f64]) -> Option<XLnXTable> {
        let mut max = 0.0;
        for (&xi, &ti) in x.iter().zip(t) {
            if !(is_count(xi) && is_count(ti) && xi <= ti) {
                return None;
            }
            if ti > max {
                max = ti;
            }
        }
        (max <= (8 * t.len()).max(64) as f64 && max < 1e7).then(|| {
            XLnXTable(
                (0..=max as usize)
                    .map(|k| {
                        if k == 0 {
                            0.0
                        } else {
                            k as f64 * (k as f64).ln()
                        }
                    })
                    .collect(),
            )
        })
    }
    fn get(&self, k: usize) -> f64 {
        self.0[k]
    }
}

/// Isolation xPx = Σ (x_i / X)(x_i / t_i).
pub fn isolation(x: &[f64], t: &[f64]) -> f64 {
    let big_x: f64 = x.iter().sum();
    x.iter()
        .zip(t)
        .filter(|(_, ti)| **ti > 0.0)
        .map(|(&xi, &ti)| (xi / big_x) * (xi / ti))
        .sum()
}

/// Exposure (PySAL's Interaction) xPy = Σ (x_i / X)((t_i − x_i) / t_i).
pub fn exposure(x: &[f64], t: &[f64]) -> f64 {
    let big_x: f64 = x.iter().sum();
    x.iter()
        .zip(t)
        .filter(|(_, ti)| **ti > 0.0)
        .map(|(&xi, &ti)| (xi / big_x) * ((ti - xi) / ti))
        .sum()
}

/// Atkinson A = 1 − P/(1 − P) · |Σ (1 − p_i)^(1−b) p_i^b t_i / (P T)|^(1/(1−b)).
pub fn atkinson(x: &[f64], t: &[f64], b: f64) -> f64 {
    let (big_x, big_t) = sums(x, t);
    let p = big_x / big_t;
    let s: f64 = x
        .iter()
        .zip(t)
        .map(|(&xi, &ti)| {
            let pi = share(xi, ti);
            (1.0 - pi).powf(1.0 - b) * pi.powf(b) * ti / (p * big_t)
        })
        .sum();
    1.0 - p / (1.0 - p) * s.abs().powf(1.0 / (1.0 - b))
}

/// Location quotients LQ_i = p_i / P (`None` where a district has nobody).
pub fn location_quotients(x: &[f64], t: &[f64]) -> Vec<Option<f64>> {
    let (big_x, big_t) = sums(x, t);
    let p = big_x / big_t;
    x.iter()
        .zip(t)
        .map(|(&xi, &ti)| (ti > 0.0).then(|| xi / ti / p))
        .collect()
}

/// Districts' totals over all groups, and the groups' shares of the whole population.
fn multi_totals(groups: &[&[f64]]) -> (Vec<f64>, f64, Vec<f64>) {
    let mut t: Vec<f64> = groups.first().map(|g| g.to_vec()).unwrap_or_default();
    for g in groups.iter().skip(1) {
        for (ti, x) in t.iter_mut().zip(g.iter()) {
            *ti += x;
        }
    }
    let big_t = total(&t);
    let shares = groups.iter().map(|g| total(g) / big_t).collect();
    (t, big_t, shares)
}

/// Multigroup dissimilarity Σ_i Σ_k t_i |p_ik − P_k| / (2 T I), I = Σ_k P_k (1 − P_k).
pub fn multi_dissimilarity(groups: &[&[f64]]) -> f64 {
    let (t, big_t, pk) = multi_totals(groups);
    let interaction: f64 = pk.iter().map(|p| p * (1.0 - p)).sum();
    // t_i |p_ik − P_k| = |x_ik − P_k t_i|.
    let num: f64 = groups
        .iter()
        .zip(&pk)
        .map(|(g, &p)| {
            let g = &g[..t.len()];
            sum_of(t.len(), |i| (g[i] - p * t[i]).abs())
        })
        .sum();
    num / (2.0 * big_t * interaction)
}

/// Multigroup Gini Σ_k Σ_i Σ_j t_i t_j |p_ik − p_jk| / (2 T² I).
pub fn multi_gini(groups: &[&[f64]]) -> f64 {
    let (t, big_t, pk) = multi_totals(groups);
    let interaction: f64 = pk.iter().map(|p| p * (1.0 - p)).sum();
    let num: f64 = groups
        .iter()
        .map(|g| {
            let mut v: Vec<(f64, f64)> = g
                .iter()
                .zip(&t)
                .map(|(&x, &ti)| (share(x, ti), ti))
                .collect();
            pairwise_abs(&mut v)
        })
        .sum();
    num / (2.0 * big_t * big_t * interaction)
}

/// Multigroup information theory (Theil's H) Σ_i Σ_k t_i p_ik ln(p_ik / P_k) / (T E),
/// E = −Σ_k P_k ln P_k.
pub fn multi_information_theory(groups: &[&[f64]]) -> f64 {
    let (t, big_t, pk) = multi_totals(groups);
    let e: f64 = pk.iter().filter(|p| **p > 0.0).map(|p| -p * p.ln()).sum();
    let num: f64 = groups
        .iter()
        .zip(&pk)
        .map(|(g, &p)| {
            g.iter()
                .zip(&t)
                .filter(|(x, ti)| **x > 0.0 && **ti > 0.0)
                .map(|(&x, &ti)| ti * (x / ti) * ((x / ti) / p).ln())
                .sum::<f64>()
        })
        .sum();
    num / (big_t * e)
}

/// Binary contiguity between districts: `neighbours[i]` lists the districts touching i.
#[derive(Debug, Clone, Default)]
pub struct Contiguity {
    pub neighbours: Vec<Vec<u32>>,
}

impl Contiguity {
    /// Queen contiguity: districts that share at least one boundary vertex. Coordinates are
    /// matched on a 1e-9 grid, so vertices written from both sides of a border coincide.
    pub fn queen(rings: &[Vec<Vec<(f64, f64)>>]) -> Contiguity {
        use std::collections::HashMap;
        let key = |(x, y): (f64, f64)| ((x * 1e9).round() as i64, (y * 1e9).round() as i64);
        let mut at: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
        for (i, unit) in rings.iter().enumerate() {
            for ring in unit {
                for &v in ring {
                    let owners = at.entry(key(v)).or_default();
                    if owners.last() != Some(&(i as u32)) {
                        owners.push(i as u32);
                    }
                }
            }
        }
        let mut neighbours = vec![Vec::new(); rings.len()];
        for owners in at.values() {
            for &a in owners {
                for &b in owners {
                    if a != b {
                        neighbours[a as usize].push(b);
                    }
                }
            }
        }
        for n in &mut neighbours {
            n.sort_unstable();
            n.dedup();
        }
        Contiguity { neighbours }
    }

    /// Number of (directed) links, S0 of the binary weights.
    pub fn links(&self) -> usize {
        self.neighbours.iter().map(Vec::len).sum()
    }
}

/// Spatial dissimilarity (Morrill): D − Σ_ij c_ij |p_i − p_j| / Σ_ij c_ij, binary c.
pub fn spatial_dissimilarity(x: &[f64], t: &[f64], w: &Contiguity) -> f64 {
    let p: Vec<f64> = x.iter().zip(t).map(|(&xi, &ti)| share(xi, ti)).collect();
    let num: f64 = w
        .neighbours
        .iter()
        .enumerate()
        .map(|(i, n)| n.iter().map(|&j| (p[i] - p[j as usize]).abs()).sum::<f64>())
        .sum();
    dissimilarity(x, t) - num / w.links() as f64
}

/// Global Moran's I with row-standardised weights, its expectation and its variance and
/// z-score under normality (esda's `EI`, `VI_norm`, `z_norm`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Moran {
    pub i: f64,
    pub expected: f64,
    pub variance_normal: f64,
    pub z_normal: f64,
}

/// Row-standardised weight of each of district i's links.
fn row_weight(w: &Contiguity, i: usize) -> f64 {
    let k = w.neighbours[i].len();
    if k == 0 { 0.0 } else { 1.0 / k as f64 }
}

/// I = (n / S0) Σ_ij w_ij z_i z_j / Σ z_i², S0 = n less the districts without neighbours.
fn moran_statistic(y: &[f64], w: &Contiguity) -> f64 {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let z = |i: usize| y[i] - mean;
    let s0 = w.neighbours.iter().filter(|ns| !ns.is_empty()).count() as f64;
    let lag: f64 = (0..y.len())
        .map(|i| {
            z(i) * row_weight(w, i) * w.neighbours[i].iter().map(|&j| z(j as usize)).sum::<f64>()
        })
        .sum();
    n / s0 * lag / (0..y.len()).map(|i| z(i) * z(i)).sum::<f64>()
}

pub fn morans_i(y: &[f64], w: &Contiguity) -> Moran {
    let n = y.len() as f64;
    let i = moran_statistic(y, w);
    let s0 = w.neighbours.iter().filter(|ns| !ns.is_empty()).count() as f64;
    let weight = |i: usize| row_weight(w, i);
    let expected = -1.0 / (n - 1.0);
    // S1 = ½ Σ (w_ij + w_ji)², S2 = Σ_i (w_i. + w_.i)².
    let mut s1 = 0.0;
    let mut col = vec![0.0; y.len()];
    for (a, ns) in w.neighbours.iter().enumerate() {
        for &b in ns {
            let b = b as usize;
            let wab = weight(a);
            let wba = if w.neighbours[b].binary_search(&(a as u32)).is_ok() {
                weight(b)
            } else {
                0.0
            };
            s1 += (wab + wba).powi(2);
            col[b] += wab;
        }
    }
    s1 /= 2.0;
    let s2: f64 = (0..y.len())
        .map(|a| (if w.neighbours[a].is_empty() { 0.0 } else { 1.0 } + col[a]).powi(2))
        .sum();
    let variance_normal =
        (n * n * s1 - n * s2 + 3.0 * s0 * s0) / ((n * n - 1.0) * s0 * s0) - expected * expected;
    Moran {
        i,
        expected,
        variance_normal,
        z_normal: (i - expected) / variance_normal.sqrt(),
    }
}

/// Reproducible draws on the shared SplitMix64 generator, keeping the spare normal of each
/// Box–Muller pair.
struct Rng(SplitMix64, Option<f64>);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(SplitMix64(seed), None)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.0.unit() * n as f64) as usize
    }
    fn unit(&mut self) -> f64 {
        self.0.unit()
    }
    fn normal(&mut self) -> f64 {
        if let Some(spare) = self.1.take() {
            return spare;
        }
        // Marsaglia's polar method: two independent normals per accepted pair of uniforms in
        // the unit disc, with one logarithm and no sine or cosine.
        loop {
            let (u, v) = (2.0 * self.unit() - 1.0, 2.0 * self.unit() - 1.0);
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * s.ln() / s).sqrt();
                self.1 = Some(v * f);
                return u * f;
            }
        }
    }
}

/// Pseudo p-value of Moran's I by random permutation of the values over the districts, as
/// esda's `p_sim`: the share of permutations at least as extreme, in the observed direction.
/// The mean and Σz² do not change under permutation, so only the spatial lag is recomputed.
pub fn morans_i_p_value(y: &[f64], w: &Contiguity, permutations: usize, seed: u64) -> f64 {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let mut z: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let weights: Vec<f64> = (0..n).map(|i| row_weight(w, i)).collect();
    let lag = |z: &[f64]| -> f64 {
        (0..n)
            .map(|i| {
                z[i] * weights[i] * w.neighbours[i].iter().map(|&j| z[j as usize]).sum::<f64>()
            })
            .sum()
    };
    let observed = lag(&z);
    let mut rng = Rng::new(seed);
    let mut larger = 0usize;
    for _ in 0..permutations {
        for i in (1..n).rev() {
            z.swap(i, rng.below(i + 1));
        }
        if lag(&z) >= observed {
            larger += 1;
        }
    }
    let extreme = larger.min(permutations - larger);
    (extreme as f64 + 1.0) / (permutations as f64 + 1.0)
}

/// Pseudo p-value of D under random labelling: the group's members are spread over the
/// districts at random (each district keeps its total; counts drawn as binomial(t_i, P), with
/// a normal approximation for large districts). One-sided: how often random spreading gives a D
/// at least as large.
pub fn dissimilarity_p_value(x: &[f64], t: &[f64], permutations: usize, seed: u64) -> f64 {
    let observed = dissimilarity(x, t);
    let (big_x, big_t) = sums(x, t);
    let p = big_x / big_t;
    let draws: Vec<Binomial> = t.iter().map(|&ti| Binomial::new(ti, p)).collect();
    let mut rng = Rng::new(seed);
    let mut sim_x = vec![0.0; x.len()];
    let mut at_least = 0;
    for _ in 0..permutations {
        for (s, b) in sim_x.iter_mut().zip(&draws) {
            *s = b.draw(&mut rng);
        }
        if dissimilarity(&sim_x, t) >= observed {
            at_least += 1;
        }
    }
    (at_least as f64 + 1.0) / (permutations as f64 + 1.0)
}

/// Binomial(n, p) draws for a fixed n and p, with the constants of each draw worked out once:
/// a normal approximation when the variance exceeds 25, else inversion of the distribution
/// function from 0 upwards on the rarer outcome (O(mean) steps).
#[derive(Debug, Clone, Copy)]
enum Binomial {
    Constant(f64),
    Normal {
        n: f64,
        mean: f64,
        sd: f64,
    },
    Inversion {
        n: f64,
        pmf0: f64,
        ratio: f64,
        flip: bool,
    },
}

impl Binomial {
    fn new(n: f64, p: f64) -> Binomial {
        if n <= 0.0 || p <= 0.0 {
            return Binomial::Constant(0.0);
        }
        if p >= 1.0 {
            return Binomial::Constant(n);
        }
        let var = n * p * (1.0 - p);
        if var > 25.0 {
            return Binomial::Normal {
                n,
                mean: n * p,
                sd: var.sqrt(),
            };
        }
        let (q, flip) = if p > 0.5 { (1.0 - p, true) } else { (p, false) };
        Binomial::Inversion {
            n,
            pmf0: (n * (-q).ln_1p()).exp(),
            ratio: q / (1.0 - q),
            flip,
        }
    }

    fn draw(&self, rng: &mut Rng) -> f64 {
        match *self {
            Binomial::Constant(v) => v,
            // Rounded to the nearest whole count within [0, n] (non-negative, so +0.5 and
            // truncation round as `f64::round` does).
            Binomial::Normal { n, mean, sd } => {
                ((mean + sd * rng.normal()).clamp(0.0, n) + 0.5) as u64 as f64
            }
            Binomial::Inversion {
                n,
                pmf0,
                ratio,
                flip,
            } => {
                let (mut pmf, mut k) = (pmf0, 0.0);
                let mut cdf = pmf;
                let u = rng.unit();
                while u > cdf && k < n {
                    pmf *= (n - k) / (k + 1.0) * ratio;
                    cdf += pmf;
                    k += 1.0;
                    if pmf < 1e-300 {
                        break;
                    }
                }
                if flip { n - k } else { k }
            }
        }
    }
}

/// Counts redrawn around observed shares (binomial(t_i, x_i / t_i)), for bootstrap intervals.
pub struct Resampler {
    draws: Vec<Binomial>,
}

impl Resampler {
    pub fn new(x: &[f64], t: &[f64]) -> Resampler {
        let draws = x
            .iter()
            .zip(t)
            .map(|(&xi, &ti)| {
                if ti > 0.0 {
                    Binomial::new(ti, xi / ti)
                } else {
                    Binomial::Constant(0.0)
                }
            })
            .collect();
        Resampler { draws }
    }

    /// One redrawn set of counts, reproducible from the seed.
    pub fn draw(&self, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        self.draws.iter().map(|b| b.draw(&mut rng)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_draws_have_the_right_mean_and_variance() {
        let mut rng = Rng::new(11);
        for (n, p) in [
            (4800.0, 0.001),
            (4800.0, 0.999),
            (30.0, 0.4),
            (5000.0, 0.3),
            (1.0, 0.5),
        ] {
            let b = Binomial::new(n, p);
            let draws: Vec<f64> = (0..20_000).map(|_| b.draw(&mut rng)).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
            let (m, v) = (n * p, n * p * (1.0 - p));
            assert!(
                (mean - m).abs() < 4.0 * (v / 20_000.0).sqrt() + 1e-9,
                "mean {mean} vs {m} for {n}, {p}"
            );
            assert!(
                (var - v).abs() < 0.1 * v + 0.05,
                "variance {var} vs {v} for {n}, {p}"
            );
            assert!(
                draws
                    .iter()
                    .all(|d| *d >= 0.0 && *d <= n && d.fract() == 0.0)
            );
        }
    }

    #[test]
    fn entropy_from_the_log_table_equals_the_direct_formula() {
        let mut rng = Rng::new(3);
        let t: Vec<f64> = (0..400).map(|_| (rng.unit() * 900.0).floor()).collect();
        let x: Vec<f64> = t.iter().map(|ti| (ti * rng.unit()).floor()).collect();
        assert!(XLnXTable::for_counts(&x, &t).is_some());
        let (big_x, big_t) = sums(&x, &t);
        let e = binary_entropy(big_x / big_t);
        let direct = x
            .iter()
            .zip(&t)
            .map(|(&xi, &ti)| ti * (e - binary_entropy(share(xi, ti))))
            .sum::<f64>()
            / (e * big_t);
        assert!((entropy(&x, &t) - direct).abs() <= 1e-12 * direct);
        // Fractional counts take the direct path.
        let half: Vec<f64> = t.iter().map(|v| v + 0.5).collect();
        assert!(XLnXTable::for_counts(&x, &half).is_none());
    }
}
