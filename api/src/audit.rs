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

/// Writes the entries waiting, in one transaction (on the caller's thread: inside
/// `with_store`).
pub(crate) fn flush(log: &Log, store: &ingest::Store) -> Result<usize, ApiError> {
    let entries = log.take();
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
