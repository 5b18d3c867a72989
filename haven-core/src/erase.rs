//! Erasure as the program runs it: the rows go (`ingest::erase`), and the indicators are
//! brought up to date at once, so no figure built on the erased rows is served. What the
//! public sees changes at the next release, which the disclosure step treats like any other
//! change: a deleted placement is a changed record, counted against `min_changed_records`,
//! and the new release is checked against every earlier one, so the difference of two releases
//! around an erasure cannot single the household out.

use serde::{Deserialize, Serialize};

use crate::{Error, Settings, pipeline};

/// What an erasure did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErasureReport {
    pub erased: ingest::erase::Erased,
    /// Whether the indicators were recomputed without the erased rows.
    pub analysed: bool,
}

/// Erases one household on a data subject's request (see [`ingest::erase::household`]).
pub fn household(
    store: &ingest::Store,
    settings: &Settings,
    household_ref: &str,
    actor: &str,
) -> Result<ErasureReport, Error> {
    let erased = ingest::erase::household(store, household_ref, actor)?;
    follow(store, settings, erased)
}

/// Applies the retention period of placements, when `haven.toml` sets one.
pub fn retention(
    store: &ingest::Store,
    settings: &Settings,
    actor: &str,
) -> Result<Option<ErasureReport>, Error> {
    let Some(months) = settings.retention.placements_months else {
        return Ok(None);
    };
    let erased = ingest::erase::retention(store, months, actor)?;
    follow(store, settings, erased).map(Some)
}

fn follow(
    store: &ingest::Store,
    settings: &Settings,
    erased: ingest::erase::Erased,
) -> Result<ErasureReport, Error> {
    let done = pipeline::follow_up(
        store,
        settings,
        erased.placements > 0,
        pipeline::After::Analyze,
        &analytics::NoProgress,
    )?;
    Ok(ErasureReport {
        erased,
        analysed: done.analysis.is_some(),
    })
}
