//! The preparedness scenario: how many of an inflow can be housed within 30 and 90 days,
//! where, at what cost, with and without a cap on concentration. One rule for its parameters,
//! two bases: what the public may see (persons placed as the latest release publishes them)
//! and what the register's holders see (the register itself).

pub use analytics::scenario::Scenario;

use crate::Error;

/// Whose figures the scenario starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Persons placed as the latest release publishes them and the default household mix;
    /// the location quotients after the allocation are left out (with the allocation and the
    /// public population they would give away the persons placed in a district today).
    Published,
    /// The register's own figures: current placements and their household mix. For admins
    /// and the command line of whoever holds the database.
    Live,
}

/// Persons an inflow may have.
pub const MAX_INFLOW: u32 = 100_000;
/// The location-quotient cap when none is given.
pub const DEFAULT_LQ_CAP: f64 = 1.5;

/// The scenario for `inflow` persons under `lq_cap` (default [`DEFAULT_LQ_CAP`]).
pub fn scenario(
    store: &ingest::Store,
    inflow: u32,
    lq_cap: Option<f64>,
    basis: Basis,
) -> Result<Scenario, Error> {
    if inflow == 0 || inflow > MAX_INFLOW {
        return Err(Error::Invalid(format!(
            "inflow must be between 1 and {MAX_INFLOW} persons"
        )));
    }
    let lq_cap = lq_cap.unwrap_or(DEFAULT_LQ_CAP);
    if !(lq_cap.is_finite() && (1.0..=10.0).contains(&lq_cap)) {
        return Err(Error::Invalid(
            "lq_cap must be a number from 1 to 10".into(),
        ));
    }
    let conn = store.conn();
    let params = analytics::scenario::ScenarioParams {
        inflow,
        household_mix: None,
        lq_cap,
    };
    let mut result = match basis {
        Basis::Live => {
            let live = analytics::scenario::Basis::live(conn)?;
            analytics::scenario::scenario(conn, &params, &live)?
        }
        Basis::Published => {
            let published =
                analytics::scenario::Basis::published(disclosure::release::scenario_basis(conn)?);
            analytics::scenario::scenario(conn, &params, &published)?
        }
    };
    if basis == Basis::Published {
        for a in [&mut result.fastest, &mut result.low_concentration] {
            a.max_lq_after = None;
            for d in &mut a.districts {
                d.lq_after = None;
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_out_of_range_are_refused_before_any_work() {
        let store = ingest::Store::open_in_memory().unwrap();
        for (inflow, cap) in [
            (0, None),
            (MAX_INFLOW + 1, None),
            (10, Some(0.5)),
            (10, Some(f64::NAN)),
        ] {
            let e = scenario(&store, inflow, cap, Basis::Live).unwrap_err();
            assert!(matches!(e, Error::Invalid(_)), "{e}");
        }
    }
}
