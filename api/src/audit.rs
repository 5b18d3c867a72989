//! The audit log of restricted reads and uploads. Requests hand their entry over and go on;
//! entries are written in batches, one transaction every tenth of a second, before the admin
//! route reads the log, and when the server stops. (A map session asks for hundreds of tiles:
//! one insert each would make every restricted request wait for the database.)

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ingest::migrate::Migrations;

use crate::{ApiError, AppState};

/// The migrations of the HTTP layer's one table, the audit log.
pub const MIGRATIONS: Migrations = ingest::migrations!(
    "api",
    1 => "the audit log", "0001_audit_log.sql";
    2 => "the client address of each entry", "0002_audit_client.sql";
);

/// One restricted request.
pub(crate) struct Entry {
    /// Microseconds since 1970, when the request was answered.
    pub micros: i64,
    pub actor: String,
    pub role: &'static str,
    /// The client's address, as the rate limit sees it.
    pub client: String,
    pub action: String,
    pub target: String,
    pub query: String,
    pub status: u16,
}

#[derive(Default)]
pub(crate) struct Log {
    pending: Mutex<Vec<Entry>>,
    flusher: std::sync::atomic::AtomicBool,
}

const EVERY: Duration = Duration::from_millis(100);

impl Log {
    fn take(&self) -> Vec<Entry> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// The refusals of tokens already throttled (a flood: answered 429 without any check) of one
/// batch become one entry per client, route and status, its query saying how many there
/// were; every other entry stays as it is. A flood of made-up tokens then adds a few rows a
/// tenth of a second to the log, not one per request.
fn coalesce(entries: Vec<Entry>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut floods: std::collections::HashMap<(String, String, String, u16), (usize, usize)> =
        std::collections::HashMap::new();
    for e in entries {
        if e.role != "refused" || e.actor != THROTTLED {
            out.push(e);
            continue;
        }
        let key = (
            e.client.clone(),
            e.action.clone(),
            e.target.clone(),
            e.status,
        );
        match floods.get_mut(&key) {
            Some((at, n)) => {
                *n += 1;
                out[*at].micros = e.micros;
            }
            None => {
                floods.insert(key, (out.len(), 1));
                out.push(e);
            }
        }
    }
    for (at, n) in floods.into_values() {
        if n > 1 {
            out[at].query = format!("{n} requests refused in this tenth of a second");
        }
    }
    out
}

/// The actor of a refused token that was not checked: its client is over its refusals.
pub(crate) const THROTTLED: &str = "throttled-token";

/// Writes the entries waiting, in one transaction (on the caller's thread: inside
/// `with_store`).
pub(crate) fn flush(log: &Log, store: &ingest::Store) -> Result<usize, ApiError> {
    let entries = coalesce(log.take());
    if entries.is_empty() {
        return Ok(0);
    }
    let conn = store.conn();
    // Appended (a prepared insert per entry could not keep up with a busy map session, and
    // the writer would be held while the backlog drains), then moved in one statement.
    let write = || -> duckdb::Result<()> {
        conn.execute_batch(
            "BEGIN;
             CREATE TEMP TABLE IF NOT EXISTS audit_pending (micros BIGINT, actor VARCHAR, role VARCHAR,
               client VARCHAR, action VARCHAR, target VARCHAR, query VARCHAR, status INTEGER);",
        )?;
        {
            let mut app = conn.appender("audit_pending")?;
            for e in &entries {
                app.append_row(duckdb::params![
                    e.micros, e.actor, e.role, e.client, e.action, e.target, e.query, e.status
                ])?;
            }
            app.flush()?;
        }
        conn.execute_batch(
            "INSERT INTO audit_log (occurred_at, actor, role, client, action, target, query, status)
               SELECT to_timestamp(micros::DOUBLE / 1000000), actor, role, client, action, target, query, status
               FROM audit_pending;
             DELETE FROM audit_pending;
             COMMIT;",
        )
    };
    if let Err(e) = write() {
        let _ = conn.execute_batch("ROLLBACK");
        // Keep them for the next attempt rather than lose them.
        if let Ok(mut p) = log.pending.lock() {
            let mut back = entries;
            back.append(&mut p);
            *p = back;
        }
        return Err(ApiError::from(ingest::Error::from(e)));
    }
    Ok(entries.len())
}

impl AppState {
    /// Records a restricted request; written within a tenth of a second.
    pub(crate) fn audit(&self, mut entry: Entry) {
        entry.micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        if let Ok(mut p) = self.audit.pending.lock() {
            p.push(entry);
        }
        let started = self
            .audit
            .flusher
            .swap(true, std::sync::atomic::Ordering::SeqCst);
        if !started {
            let state = self.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(EVERY).await;
                    state.flush_audit().await;
                }
            });
        }
    }

    /// Writes the audit entries waiting.
    pub(crate) async fn flush_audit(&self) {
        let log = self.audit.clone();
        let written = self.with_writer(move |store| flush(&log, store)).await;
        if let Err(e) = written {
            tracing::error!(cause = %e.detail(), "audit log write failed; will retry");
        }
    }
}

#[derive(Debug, serde::Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub role: String,
    /// The client's address (absent on entries from before it was recorded).
    pub client: Option<String>,
    pub action: String,
    pub target: String,
    pub query: String,
    pub status: i32,
}

/// The latest entries (of one actor, or all), newest first; what is still pending is written
/// first by the caller (`flush`).
pub(crate) fn entries(
    store: &ingest::Store,
    actor: Option<&str>,
    limit: usize,
) -> duckdb::Result<Vec<AuditEntry>> {
    let mut stmt = store
        .conn()
        .prepare(&format!(
            "SELECT strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), actor, role, action, target, query, status, client
             FROM audit_log WHERE ? IS NULL OR actor = ? ORDER BY occurred_at DESC LIMIT {limit}"
        ))?;
    let rows = stmt.query_map([actor, actor], |r| {
        Ok(AuditEntry {
            at: r.get(0)?,
            actor: r.get(1)?,
            role: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            query: r.get(5)?,
            status: r.get(6)?,
            client: r.get(7)?,
        })
    })?;
    rows.collect::<Result<Vec<_>, _>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actor: &str, client: &str, micros: i64) -> Entry {
        Entry {
            micros,
            actor: actor.into(),
            role: "refused",
            client: client.into(),
            action: "GET".into(),
            target: "/api/v1/status".into(),
            query: String::new(),
            status: 429,
        }
    }

    #[test]
    fn a_flood_of_throttled_tokens_is_one_row_per_client() {
        let mut batch: Vec<Entry> = (0..5000)
            .map(|i| {
                entry(
                    THROTTLED,
                    if i % 2 == 0 { "10.0.0.1" } else { "10.0.0.2" },
                    i,
                )
            })
            .collect();
        batch.push(entry("unknown-token", "10.0.0.1", 9000));
        batch.push(entry("ana (wrong token)", "10.0.0.3", 9001));
        let out = coalesce(batch);
        assert_eq!(out.len(), 4);
        let flood: Vec<&Entry> = out.iter().filter(|e| e.actor == THROTTLED).collect();
        assert!(
            flood
                .iter()
                .all(|e| e.query == "2500 requests refused in this tenth of a second")
        );
        assert!(
            flood.iter().all(|e| e.micros >= 4998),
            "the last one's time"
        );
        // Checked refusals are kept one by one.
        assert!(out.iter().any(|e| e.actor == "unknown-token"));
        assert!(out.iter().any(|e| e.actor == "ana (wrong token)"));
    }
}
