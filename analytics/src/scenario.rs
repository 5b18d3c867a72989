//! The preparedness scenario: for an inflow of N persons, how many can be housed within 30 and
//! 90 days, where, at what renovation cost, and the shortfall — once placing households where
//! homes are fastest and cheapest, and once keeping every district's location quotient of
//! persons placed under a cap, so that placements do not concentrate.
//!
//! The persons already placed and the household sizes come from a [`Basis`]: for the public,
//! the latest release's protected figures and a documented default mix (no register figure);
//! for officers, the register itself. The allocation costs at most one pass over the homes per
//! household size, whatever the inflow.

use duckdb::Connection;
use serde::{Deserialize, Serialize};

use crate::segregation as seg;
use crate::{Error, Result};

/// Parameters of a scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioParams {
    /// Persons arriving.
    pub inflow: u32,
    /// Share of households by size, e.g. [(1, 0.3), (4, 0.7)]; default: the placements data.
    #[serde(default)]
    pub household_mix: Option<Vec<(u32, f64)>>,
    /// Highest location quotient of persons placed allowed in any district (default 1.5).
    #[serde(default = "default_cap")]
    pub lq_cap: f64,
}

fn default_cap() -> f64 {
    1.5
}

/// One district in an allocation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DistrictAllocation {
    pub district_code: String,
    pub households: u32,
    pub persons: u32,
    pub within_30_days: u32,
    pub renovation_cost_eur: f64,
    /// Location quotient of persons placed after the allocation.
    pub lq_after: Option<f64>,
}

/// An allocation of the arriving households to homes.
#[derive(Debug, Clone, Serialize)]
pub struct Allocation {
    pub housed_30_days: u32,
    pub housed_90_days: u32,
    pub shortfall_90_days: u32,
    pub renovation_cost_eur: f64,
    /// Dissimilarity of persons placed (existing and new) against the population afterwards.
    pub dissimilarity_after: Option<f64>,
    pub max_lq_after: Option<f64>,
    pub districts: Vec<DistrictAllocation>,
}

/// The result of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub params: ScenarioParams,
    pub households: Vec<(u32, u32)>,
    /// Free reception places counted as places now (officers' scenario only).
    pub reception_places_free: u32,
    pub places_30_days: u32,
    pub places_90_days: u32,
    /// Fastest and cheapest homes first, wherever they are.
    pub fastest: Allocation,
    /// The same, with no district's location quotient of persons placed above the cap.
    pub low_concentration: Allocation,
    /// Districts whose placements already exceed the cap before anyone arrives: the
    /// low-concentration allocation places nobody there, but cannot lower their quotient.
    pub over_cap_already: Vec<String>,
}

/// The persons one household may take of a site's free reception places (a family room).
const RECEPTION_ROOM: u32 = 4;

/// A dwelling unit that could take one household.
#[derive(Debug, Clone)]
struct Slot {
    district: usize,
    capacity: u32,
    days: u32,
    cost: f64,
}

/// Homes usable within 90 days, unit by unit (ready now, or minor renovation: 30 days up to
/// EUR 5,000, else 90), and the basis's free reception places as places now; with the free
/// reception places counted.
fn slots(
    conn: &Connection,
    index: &dyn Fn(&str) -> Option<usize>,
    basis: &Basis,
    n: usize,
) -> Result<(Vec<Slot>, u32)> {
    // Homes usable within 90 days: ready now, or minor renovation (30 days up to EUR 5,000).
    let mut slots = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT district_code, units, coalesce(bedrooms, units), condition, coalesce(renovation_cost_eur, 0)
         FROM vacant_properties
         WHERE status NOT IN ('let', 'withdrawn') AND condition IN ('ready', 'minor_renovation')",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, f64>(4)?,
        ))
    })?;
    for row in rows {
        let (code, units, bedrooms, condition, cost) = row?;
        let Some(district) = index(&code) else {
            continue;
        };
        let units = units.max(1);
        let per_unit = ((2 * bedrooms).max(units) / units).max(1) as u32;
        let days = if condition == "ready" {
            0
        } else if cost <= 5000.0 {
            30
        } else {
            90
        };
        for _ in 0..units {
            slots.push(Slot {
                district,
                capacity: per_unit,
                days,
                cost: cost / units as f64,
            });
        }
    }
    // Free reception places count as places now, at no cost: family rooms of four, and what
    // is left of a district's places as one more.
    let mut reception_free = 0u32;
    if basis.free_reception.len() == n {
        for (district, free) in basis.free_reception.iter().enumerate() {
            let mut left = free.max(0.0).floor() as u32;
            reception_free += left;
            while left > 0 {
                let capacity = left.min(RECEPTION_ROOM);
                slots.push(Slot {
                    district,
                    capacity,
                    days: 0,
                    cost: 0.0,
                });
                left -= capacity;
            }
        }
    }
    Ok((slots, reception_free))
}

/// Places (persons, two a bedroom) in homes usable now, within 30 and within 90 days, as the
/// scenario counts them.
pub fn places(conn: &Connection, basis: &Basis) -> Result<crate::forecast::Places> {
    let mut stmt = conn.prepare("SELECT district_code FROM districts ORDER BY district_code")?;
    let codes: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let index = |c: &str| codes.binary_search_by(|x| x.as_str().cmp(c)).ok();
    let (slots, _) = slots(conn, &index, basis, codes.len())?;
    Ok(crate::forecast::Places {
        now: within(&slots, 0),
        within_30_days: within(&slots, 30),
        within_90_days: within(&slots, 90),
    })
}

/// The places (persons) of the slots usable within `limit` days.
fn within(slots: &[Slot], limit: u32) -> u32 {
    slots
        .iter()
        .filter(|s| s.days <= limit)
        .map(|s| s.capacity)
        .sum()
}

/// Households by size from the mix, adding up to about `inflow` persons.
fn households(inflow: u32, mix: &[(u32, f64)]) -> Vec<(u32, u32)> {
    let total: f64 = mix.iter().map(|(_, s)| s).sum();
    let mean: f64 = mix.iter().map(|(k, s)| f64::from(*k) * s / total).sum();
    let hh = f64::from(inflow) / mean;
    let mut out: Vec<(u32, u32)> = mix
        .iter()
        .map(|(k, s)| (*k, (hh * s / total).round() as u32))
        .collect();
    // Adjust singles so that the persons add up to the inflow exactly where possible.
    let persons: i64 = out.iter().map(|(k, n)| i64::from(*k) * i64::from(*n)).sum();
    let diff = i64::from(inflow) - persons;
    match out.iter_mut().find(|(k, _)| *k == 1) {
        Some((_, n)) => *n = (i64::from(*n) + diff).max(0) as u32,
        None => out.push((1, diff.max(0) as u32)),
    }
    out.retain(|(_, n)| *n > 0);
    out.sort_by_key(|h| std::cmp::Reverse(h.0));
    out
}

/// Household sizes assumed when none are given (share of households by persons), used by the
/// public scenario so that it reads nothing of the placements register.
pub const DEFAULT_MIX: &[(u32, f64)] = &[
    (1, 0.30),
    (2, 0.15),
    (3, 0.15),
    (4, 0.20),
    (5, 0.12),
    (6, 0.08),
];

/// What the scenario takes as given about placements.
#[derive(Debug, Clone)]
pub struct Basis {
    /// Persons already placed per district, in district-code order (empty: none).
    pub placed: Vec<f64>,
    /// Free reception places per district, in district-code order, usable now (empty: none
    /// known; the public basis knows none, as they are built on placements).
    pub free_reception: Vec<f64>,
    /// Households by size when the parameters give no mix.
    pub mix: Vec<(u32, f64)>,
}

impl Basis {
    /// The register as it is: officers' figures, never published.
    pub fn live(conn: &Connection) -> Result<Basis> {
        let mut stmt = conn.prepare(
            "SELECT d.district_code, coalesce(sum(p.household_size), 0)::DOUBLE FROM districts d
             LEFT JOIN placements p ON p.district_code = d.district_code
               AND p.start_date IS NOT NULL AND p.end_date IS NULL
             GROUP BY 1 ORDER BY 1",
        )?;
        let placed: Vec<f64> = stmt
            .query_map([], |r| r.get::<_, f64>(1))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT household_size, count(*)::DOUBLE FROM placements GROUP BY 1 ORDER BY 1",
        )?;
        let mix: Vec<(u32, f64)> = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u32, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        // Places of the sites open today, less the persons placed through the programmes they
        // serve, per district; none below zero.
        let programmes = crate::availability::RECEPTION_PROGRAMMES
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT greatest(coalesce(s.places, 0) - coalesce(p.persons, 0), 0)::DOUBLE
             FROM districts d
             LEFT JOIN (SELECT district_code, sum(places) AS places FROM reception_sites
                        WHERE opened <= current_date AND (closes IS NULL OR closes >= current_date)
                        GROUP BY 1) s USING (district_code)
             LEFT JOIN (SELECT district_code, sum(household_size) AS persons FROM placements
                        WHERE start_date IS NOT NULL AND end_date IS NULL AND programme IN ({programmes})
                        GROUP BY 1) p USING (district_code)
             ORDER BY d.district_code"
        ))?;
        let free_reception: Vec<f64> = stmt
            .query_map([], |r| r.get::<_, f64>(0))?
            .collect::<Result<_, _>>()?;
        Ok(Basis {
            placed,
            free_reception,
            mix: if mix.is_empty() {
                DEFAULT_MIX.to_vec()
            } else {
                mix
            },
        })
    }

    /// Figures already published (persons placed per district, withheld ones filled by the
    /// release's public rule) and the default mix.
    pub fn published(placed: Option<Vec<f64>>) -> Basis {
        Basis {
            placed: placed.unwrap_or_default(),
            free_reception: Vec::new(),
            mix: DEFAULT_MIX.to_vec(),
        }
    }
}

/// Runs a scenario on the current homes and the given basis.
pub fn scenario(conn: &Connection, params: &ScenarioParams, basis: &Basis) -> Result<Scenario> {
    if params.inflow == 0 || params.inflow > 1_000_000 {
        return Err(Error::Data(
            "inflow must be between 1 and 1,000,000 persons".into(),
        ));
    }
    if !(1.0..=100.0).contains(&params.lq_cap) {
        return Err(Error::Data("lq_cap must be between 1 and 100".into()));
    }
    let mut stmt = conn.prepare("SELECT district_code FROM districts ORDER BY district_code")?;
    let codes: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let index = |c: &str| codes.binary_search_by(|x| x.as_str().cmp(c)).ok();
    let n = codes.len();

    // Population (latest total) and persons in active placements, by district.
    let mut t = vec![0.0; n];
    let mut stmt = conn.prepare(
        r#"SELECT district_code, persons FROM population
           WHERE "group" = 'total' AND period = (SELECT max(period) FROM population WHERE "group" = 'total')"#,
    )?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (c, v) = row?;
        if let Some(i) = index(&c) {
            t[i] += v as f64;
        }
    }
    let x0: Vec<f64> = if basis.placed.len() == n {
        basis.placed.clone()
    } else {
        vec![0.0; n]
    };

    let (slots, reception_free) = slots(conn, &index, basis, n)?;
    let places = |limit: u32| within(&slots, limit);

    let mix = match &params.household_mix {
        Some(m)
            if !m.is_empty()
                && m.iter().all(|(k, s)| *k >= 1 && *s >= 0.0)
                && m.iter().any(|(_, s)| *s > 0.0) =>
        {
            m.clone()
        }
        Some(_) => {
            return Err(Error::Data(
                "household_mix needs sizes of at least 1 and non-negative shares".into(),
            ));
        }
        None => basis.mix.clone(),
    };
    let hh = households(params.inflow, &mix);
    let persons_total: f64 = hh.iter().map(|(k, c)| f64::from(*k * *c)).sum();
    let fastest = allocate(&slots, &hh, &codes, &t, &x0, None);
    // The cap applies to the end state: every district's share of all persons placed, new and
    // existing, may be at most `cap` times its share of the population. Quotas assume everyone
    // is housed; when fewer are, they are recomputed from those housed until that settles.
    let big_t: f64 = t.iter().sum();
    let mut housed = persons_total.min(f64::from(places(90)));
    let low = loop {
        let big_x = x0.iter().sum::<f64>() + housed;
        let quota: Vec<f64> = (0..n)
            .map(|i| (params.lq_cap * big_x * t[i] / big_t - x0[i]).max(0.0))
            .collect();
        let a = allocate(&slots, &hh, &codes, &t, &x0, Some(&quota));
        if f64::from(a.housed_90_days) >= housed {
            break a;
        }
        housed = f64::from(a.housed_90_days);
    };
    let before = if x0.iter().sum::<f64>() > 0.0 {
        seg::location_quotients(&x0, &t)
    } else {
        vec![None; n]
    };
    let over_cap_already = before
        .iter()
        .enumerate()
        .filter(|(_, lq)| lq.is_some_and(|v| v > params.lq_cap))
        .map(|(i, _)| codes[i].clone())
        .collect();
    Ok(Scenario {
        over_cap_already,
        params: ScenarioParams {
            household_mix: Some(mix),
            ..params.clone()
        },
        households: hh,
        reception_places_free: reception_free,
        places_30_days: places(30),
        places_90_days: places(90),
        fastest,
        low_concentration: low,
    })
}

/// Largest households first; each to the usable home that is soonest ready, then cheapest,
/// then wastes the fewest places — within the district quotas when given.
fn allocate(
    slots: &[Slot],
    hh: &[(u32, u32)],
    codes: &[String],
    t: &[f64],
    x0: &[f64],
    quota: Option<&[f64]>,
) -> Allocation {
    let n = codes.len();
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by(|&a, &b| {
        let (p, q) = (&slots[a], &slots[b]);
        p.days
            .cmp(&q.days)
            .then(p.cost.total_cmp(&q.cost))
            .then(p.capacity.cmp(&q.capacity))
            .then(a.cmp(&b))
    });
    let mut used = vec![false; slots.len()];
    let mut added = vec![0.0; n];
    let mut per = vec![
        DistrictAllocation {
            district_code: String::new(),
            households: 0,
            persons: 0,
            within_30_days: 0,
            renovation_cost_eur: 0.0,
            lq_after: None
        };
        n
    ];
    let (mut housed30, mut housed90, mut shortfall, mut cost) = (0u32, 0u32, 0u32, 0.0);
    for &(size, count) in hh {
        // One cursor per size: a home passed over for this size (taken, too small, or in a
        // district whose quota it would exceed, which only fills up) stays passed over.
        let mut at = 0;
        for _ in 0..count {
            while at < order.len() && {
                let s = order[at];
                let slot = &slots[s];
                used[s]
                    || slot.capacity < size
                    || quota.is_some_and(|q| {
                        added[slot.district] + f64::from(size) > q[slot.district] + 1e-9
                    })
            } {
                at += 1;
            }
            let pick = (at < order.len()).then(|| order[at]);
            match pick {
                Some(s) => {
                    used[s] = true;
                    let d = slots[s].district;
                    added[d] += f64::from(size);
                    per[d].households += 1;
                    per[d].persons += size;
                    per[d].renovation_cost_eur += slots[s].cost;
                    cost += slots[s].cost;
                    housed90 += size;
                    if slots[s].days <= 30 {
                        housed30 += size;
                        per[d].within_30_days += size;
                    }
                }
                None => shortfall += size,
            }
        }
    }
    let x: Vec<f64> = (0..n).map(|i| x0[i] + added[i]).collect();
    let any = x.iter().sum::<f64>() > 0.0
        && t.iter().sum::<f64>() > 0.0
        && x.iter().zip(t).all(|(a, b)| a <= b);
    let lq = if any {
        seg::location_quotients(&x, t)
    } else {
        vec![None; n]
    };
    for (i, d) in per.iter_mut().enumerate() {
        d.district_code = codes[i].clone();
        d.lq_after = lq[i];
    }
    Allocation {
        housed_30_days: housed30,
        housed_90_days: housed90,
        shortfall_90_days: shortfall,
        renovation_cost_eur: cost,
        dissimilarity_after: any.then(|| seg::dissimilarity(&x, t)),
        max_lq_after: lq.iter().flatten().copied().reduce(f64::max),
        districts: per.into_iter().filter(|d| d.households > 0).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn household_mix_adds_up_to_the_inflow() {
        let hh = households(100, &[(1, 0.5), (4, 0.5)]);
        assert_eq!(hh.iter().map(|(k, n)| k * n).sum::<u32>(), 100);
        assert_eq!(hh[0].0, 4, "largest households first");
    }
}
