//! The needs forecast: persons in placements over the next 3 to 12 months with 80 % and 95 %
//! prediction intervals, announced arrivals added, turned into homes and bedrooms and set
//! against the places available now and within 30 and 90 days. Two bases, as for the scenario:
//!
//! - **published**: the latest release's monthly persons in placements for the municipality
//!   (the disclosure step's output), the default household mix and the homes (not built on
//!   placements). It is computed from published figures only, so it tells nobody anything the
//!   release does not; arrivals per month are not among them (flows are published per year);
//! - **live**: the register's own monthly figures and household mix, the free reception places,
//!   and the households arriving per month: for officers and the command line of whoever holds
//!   the database, never published.

use analytics::forecast::{self as model, Announced};
use serde::Serialize;

use crate::Error;

pub use analytics::forecast::{Backtest, Band, Forecast, HORIZON, NeedMonth, Places};

/// Whose figures the forecast starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Published,
    Live,
}

/// Announced arrivals a forecast takes at most.
pub const MAX_ANNOUNCED: usize = 24;
/// Persons one announcement may bring.
pub const MAX_ANNOUNCED_PERSONS: u32 = 100_000;

/// A forecast and what it asks for.
#[derive(Debug, Clone, Serialize)]
pub struct NeedsForecast {
    /// `published` or `register`.
    pub basis: &'static str,
    /// Persons in placements in the whole municipality, month by month.
    pub persons_placed: Forecast,
    /// Households whose placement starts, per month (the register's basis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<Forecast>,
    pub announced: Vec<AnnouncedArrival>,
    /// Households by size (size, share) that turn persons into homes and bedrooms.
    pub household_mix: Vec<(u32, f64)>,
    pub places: Places,
    pub needs: Vec<NeedMonth>,
}

/// Persons announced to arrive in a month.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnnouncedArrival {
    pub month: String,
    pub persons: u32,
}

/// Announced arrivals written `YYYY-MM:persons`, separated by commas (`2027-01:120,2027-03:80`).
pub fn parse_announced(text: &str) -> Result<Vec<AnnouncedArrival>, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.len() > MAX_ANNOUNCED {
        return Err(Error::Invalid(format!(
            "at most {MAX_ANNOUNCED} announced arrivals; there are {}",
            items.len()
        )));
    }
    items
        .iter()
        .map(|item| {
            let bad = || {
                Error::Invalid(format!(
                    "announced arrivals are written YYYY-MM:persons (for example 2027-01:120), \
                     not {item:?}"
                ))
            };
            let (month, persons) = item.split_once(':').ok_or_else(bad)?;
            let month = month.trim();
            if month.len() != 7 || model::month_after(month, 0).ok().as_deref() != Some(month) {
                return Err(bad());
            }
            let persons: u32 = persons.trim().parse().map_err(|_| bad())?;
            if persons == 0 || persons > MAX_ANNOUNCED_PERSONS {
                return Err(Error::Invalid(format!(
                    "announced persons must be from 1 to {MAX_ANNOUNCED_PERSONS}, not {persons}"
                )));
            }
            Ok(AnnouncedArrival {
                month: month.to_string(),
                persons,
            })
        })
        .collect()
}

/// The month in progress (`YYYY-MM`), by the database's clock: it is not complete, so no
/// history includes it.
fn this_month(store: &ingest::Store) -> Result<String, Error> {
    Ok(store
        .conn()
        .query_row("SELECT strftime(current_date, '%Y-%m')", [], |r| r.get(0))?)
}

/// The history of persons in placements on `basis`, complete months only.
fn history(store: &ingest::Store, basis: Basis) -> Result<Vec<(String, f64)>, Error> {
    let until = this_month(store)?;
    let conn = store.conn();
    let run = match basis {
        Basis::Published => disclosure::release::forecast_history(conn, &until)?,
        Basis::Live => model::history_live(conn, "placements_active_persons", &until)?,
    };
    if run.len() < model::MIN_HISTORY {
        return Err(Error::NotFound(match basis {
            Basis::Published => format!(
                "no forecast: it needs {} consecutive months of persons in placements for the \
                 municipality as published, up to the latest complete one, and the latest release \
                 has {} (a withheld month ends the run)",
                model::MIN_HISTORY,
                run.len()
            ),
            Basis::Live => format!(
                "no forecast: it needs {} consecutive complete months of placements, and the \
                 register has {} (load placements and run haven analyze)",
                model::MIN_HISTORY,
                run.len()
            ),
        }));
    }
    Ok(run)
}

/// The forecast for `months` months ahead (1 to 12) with the announced arrivals.
pub fn forecast(
    store: &ingest::Store,
    basis: Basis,
    months: usize,
    announced: &[AnnouncedArrival],
) -> Result<NeedsForecast, Error> {
    if !(1..=HORIZON).contains(&months) {
        return Err(Error::Invalid(format!(
            "months must be from 1 to {}, not {months}",
            HORIZON
        )));
    }
    let run = history(store, basis)?;
    let persons_placed = model::forecast(&run, months)?;
    let last = &persons_placed.last_month;
    let end = model::month_after(last, months)?;
    if let Some(a) = announced
        .iter()
        .find(|a| a.month.as_str() <= last.as_str() || a.month > end)
    {
        return Err(Error::Invalid(format!(
            "announced arrivals must fall in the months forecast, {} to {end}; {} does not",
            model::month_after(last, 1)?,
            a.month
        )));
    }
    let conn = store.conn();
    let (scenario_basis, arrivals) = match basis {
        Basis::Published => (analytics::scenario::Basis::published(None), None),
        Basis::Live => {
            let until = this_month(store)?;
            let starts = model::history_live(conn, "placements_started", &until)?;
            let arrivals = if starts.len() >= model::MIN_HISTORY {
                Some(model::forecast(&starts, months)?)
            } else {
                None
            };
            (analytics::scenario::Basis::live(conn)?, arrivals)
        }
    };
    let places = analytics::scenario::places(conn, &scenario_basis)?;
    let mix = scenario_basis.mix;
    let given: Vec<Announced> = announced
        .iter()
        .map(|a| Announced {
            month: a.month.clone(),
            persons: a.persons,
        })
        .collect();
    let needs = model::needs(&persons_placed, &given, &mix, places)?;
    Ok(NeedsForecast {
        basis: match basis {
            Basis::Published => "published",
            Basis::Live => "register",
        },
        persons_placed,
        arrivals,
        announced: announced.to_vec(),
        household_mix: mix,
        places,
        needs,
    })
}

/// The rolling-origin backtest of the forecast on `basis`'s history.
pub fn backtest(store: &ingest::Store, basis: Basis) -> Result<Backtest, Error> {
    let run = history(store, basis)?;
    let values: Vec<f64> = run.iter().map(|(_, v)| *v).collect();
    Ok(model::backtest(&values)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_arrivals_are_read_or_refused_with_the_form_they_need() {
        let a = parse_announced(" 2027-01:120, 2027-03:80 ").unwrap();
        assert_eq!(
            a,
            vec![
                AnnouncedArrival {
                    month: "2027-01".into(),
                    persons: 120
                },
                AnnouncedArrival {
                    month: "2027-03".into(),
                    persons: 80
                }
            ]
        );
        assert!(parse_announced("").unwrap().is_empty());
        for bad in [
            "2027-1:5",
            "2027-13:5",
            "2027-01",
            "2027-01:x",
            "2027-01:-3",
        ] {
            let e = parse_announced(bad).unwrap_err().to_string();
            assert!(e.contains("YYYY-MM:persons"), "{bad}: {e}");
        }
        let e = parse_announced("2027-01:0").unwrap_err().to_string();
        assert!(e.contains("from 1 to"), "{e}");
        let many = vec!["2027-01:1"; MAX_ANNOUNCED + 1].join(",");
        assert!(parse_announced(&many).is_err());
    }
}
