//! Erasure of personal data: one household on a data subject's request, and every placement
//! past the retention period. Each deletes the placements and the rejected rows that hold them
//! (a rejected row keeps its raw line), in one transaction, and records itself in `erasures`.
//! An erased household's reference is kept only as its SHA-256, so a file loaded later does
//! not bring it back: its rows are left out, and the load says so by line number only.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::store::{Store, has_table};

/// What an erasure deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Erased {
    pub placements: u64,
    pub rejected_rows: u64,
}

/// The SHA-256 of a household reference, as `erasures` keeps it.
pub fn subject_digest(household_ref: &str) -> String {
    format!("{:x}", Sha256::digest(household_ref.trim().as_bytes()))
}

/// The household references erased on request, as digests.
pub fn erased_subjects(store: &Store) -> Result<HashSet<String>> {
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT DISTINCT subject_sha256 FROM erasures WHERE subject_sha256 IS NOT NULL")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<duckdb::Result<_>>()?)
}

/// Deletes every placement of the household and every rejected placements row that names it,
/// and records the request (by the reference's digest) so it is not loaded again.
pub fn household(store: &Store, household_ref: &str, actor: &str) -> Result<Erased> {
    let r = household_ref.trim();
    if r.is_empty() {
        return Err(crate::Error::Invalid(
            "name the household reference to erase".into(),
        ));
    }
    crate::store::transaction(store.conn(), |conn| {
        let mut erased = Erased::default();
        if has_table(conn, "placements")? {
            erased.placements =
                conn.execute("DELETE FROM main.placements WHERE household_ref = ?", [r])? as u64;
        }
        erased.rejected_rows = conn.execute(
            "DELETE FROM rejected_rows WHERE batch_id IN
               (SELECT batch_id FROM ingest_batches WHERE dataset = 'placements')
             AND (value = ? OR strpos(coalesce(raw, ''), ?) > 0)",
            [r, r],
        )? as u64;
        conn.execute(
            "INSERT INTO erasures VALUES (now(), 'request', ?, ?, ?)",
            duckdb::params![subject_digest(r), erased.placements, actor],
        )?;
        Ok(erased)
    })
}

/// Deletes the placements that ended more than `months` months ago, and the rejected rows of
/// placements loads older than that.
pub fn retention(store: &Store, months: u32, actor: &str) -> Result<Erased> {
    crate::store::transaction(store.conn(), |conn| {
        let mut erased = Erased::default();
        if has_table(conn, "placements")? {
            erased.placements = conn.execute(
                &format!(
                    "DELETE FROM main.placements
                     WHERE end_date IS NOT NULL AND end_date < current_date - INTERVAL {months} MONTH"
                ),
                [],
            )? as u64;
        }
        erased.rejected_rows = conn.execute(
            &format!(
                "DELETE FROM rejected_rows WHERE batch_id IN
                   (SELECT batch_id FROM ingest_batches
                    WHERE dataset = 'placements' AND started_at < now() - INTERVAL {months} MONTH)"
            ),
            [],
        )? as u64;
        if erased != Erased::default() {
            conn.execute(
                "INSERT INTO erasures VALUES (now(), 'retention', NULL, ?, ?)",
                duckdb::params![erased.placements, actor],
            )?;
        }
        Ok(erased)
    })
}
