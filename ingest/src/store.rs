//! The DuckDB store: one embedded file, versioned migrations, dataset tables derived from the
//! schemas, and the load history.

use std::path::{Path, PathBuf};

use duckdb::{AccessMode, Config, Connection, params};
use sha2::{Digest, Sha256};

use crate::encryption::{self, Encryption};
use crate::error::{Error, Result};
use crate::migrate::Migrations;
use crate::schema;

/// The migrations of ingest's own tables: the load history and the rows each load set aside.
/// Every other crate keeps its own (`crate::migrate`).
pub const MIGRATIONS: Migrations = crate::migrations!(
    "ingest",
    1 => "ingest batches and rejected rows", "0001_batches.sql";
    2 => "erasures", "0002_erasures.sql";
    3 => "status history", "0003_status_history.sql";
);

/// The default database file, relative to the working directory.
pub const DEFAULT_DB: &str = "data/haven.duckdb";

/// One rejected row of a load (`rejected_rows`): where an officer finds it and why.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RejectedRow {
    pub line: i64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    /// The row as read.
    pub raw: Option<String>,
}

/// One load, as the load history lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Batch {
    pub batch_id: i64,
    pub dataset: String,
    pub source: String,
    /// cli, server, demo or job.
    pub origin: String,
    pub outcome: String,
    pub rows_read: i64,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub message: Option<String>,
}

/// An open Haven database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    encryption: Encryption,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the plain database for writing and brings it up to date:
    /// migrations, dataset tables, and loads that a killed process left `running`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &Encryption::none())
    }

    /// [`Store::open`], encrypted as `encryption` says (a new database is created encrypted).
    pub fn open_with(path: impl AsRef<Path>, encryption: &Encryption) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = if encryption.is_on() {
            Store::attached(&path, encryption, false)?
        } else {
            Connection::open(&path).map_err(|e| locked_or(e, &path, encryption))?
        };
        let store = Store {
            conn,
            path,
            encryption: encryption.clone(),
        };
        store.migrate()?;
        store.conn.execute(
            "UPDATE ingest_batches SET outcome = 'interrupted', finished_at = now(),
                    message = 'the loading process stopped before it finished; nothing of this load was kept'
             WHERE outcome = 'running'",
            [],
        )?;
        Ok(store)
    }

    /// Opens an existing plain database read-only (for serving and inspection).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_read_only_with(path, &Encryption::none())
    }

    /// [`Store::open_read_only`], with the key `encryption` gives when it is encrypted.
    pub fn open_read_only_with(path: impl AsRef<Path>, encryption: &Encryption) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(Error::Invalid(format!(
                "no database at {}; load data first (haven ingest, or haven demo)",
                path.display()
            )));
        }
        let conn = if encryption.is_on() {
            Store::attached(&path, encryption, true)?
        } else {
            let config = Config::default().access_mode(AccessMode::ReadOnly)?;
            Connection::open_with_flags(&path, config)
                .map_err(|e| locked_or(e, &path, encryption))?
        };
        Ok(Store {
            conn,
            path,
            encryption: encryption.clone(),
        })
    }

    /// An in-memory connection with the encrypted file attached and made its default.
    fn attached(path: &Path, encryption: &Encryption, read_only: bool) -> Result<Connection> {
        let conn = encryption.loaded_connection(!read_only)?;
        encryption
            .attach(&conn, path, encryption::CATALOG, read_only)
            .map_err(|e| match e {
                Error::Invalid(m) => locked_or_message(m, path),
                other => other,
            })?;
        conn.execute_batch(&format!("USE {}", encryption::CATALOG))?;
        Ok(conn)
    }

    /// How this database is encrypted (or that it is not).
    pub fn encryption(&self) -> &Encryption {
        &self.encryption
    }

    /// The latest loads (of one dataset, or all), newest first.
    pub fn batches(&self, dataset: Option<&str>, limit: usize) -> Result<Vec<Batch>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT batch_id, dataset, source, origin, outcome, rows_read, rows_accepted, rows_rejected,
                    strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                    strftime(finished_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), message
             FROM ingest_batches WHERE ?::VARCHAR IS NULL OR dataset = ? ORDER BY batch_id DESC LIMIT {limit}"
        ))?;
        let rows = stmt.query_map([dataset, dataset], |r| {
            Ok(Batch {
                batch_id: r.get(0)?,
                dataset: r.get(1)?,
                source: r.get(2)?,
                origin: r.get(3)?,
                outcome: r.get(4)?,
                rows_read: r.get(5)?,
                rows_accepted: r.get(6)?,
                rows_rejected: r.get(7)?,
                started_at: r.get(8)?,
                finished_at: r.get(9)?,
                message: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// When each dataset last loaded rows (`YYYY-MM-DD HH:MM UTC`).
    pub fn last_loaded(&self) -> Result<std::collections::HashMap<String, String>> {
        let mut stmt = self.conn.prepare(
            "SELECT dataset, strftime(max(finished_at), '%Y-%m-%d %H:%M UTC') FROM ingest_batches
             WHERE outcome IN ('loaded', 'loaded_with_rejections') GROUP BY dataset",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The rejected rows of a load, in line order; `None` when there is no such load.
    pub fn rejected_rows(&self, batch_id: i64) -> Result<Option<Vec<RejectedRow>>> {
        let known: i64 = self.conn.query_row(
            "SELECT count(*) FROM ingest_batches WHERE batch_id = ?",
            [batch_id],
            |r| r.get(0),
        )?;
        if known == 0 {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(
            "SELECT line, \"column\", value, reason, raw FROM rejected_rows
             WHERE batch_id = ? ORDER BY line, \"column\"",
        )?;
        let rows = stmt.query_map([batch_id], |r| {
            Ok(RejectedRow {
                line: r.get(0)?,
                column: r.get(1)?,
                value: r.get(2)?,
                reason: r.get(3)?,
                raw: r.get(4)?,
            })
        })?;
        Ok(Some(rows.collect::<std::result::Result<_, _>>()?))
    }

    /// Another connection to the same open database (for work that runs beside the server's
    /// own connection, such as scheduled imports); DuckDB keeps their transactions apart.
    pub fn try_clone(&self) -> Result<Store> {
        Ok(Store {
            conn: encryption::clone_connection(&self.conn)?,
            path: self.path.clone(),
            encryption: self.encryption.clone(),
        })
    }

    /// An in-memory store, for tests and scratch work.
    pub fn open_in_memory() -> Result<Store> {
        let store = Store {
            conn: Connection::open_in_memory()?,
            path: PathBuf::from(":memory:"),
            encryption: Encryption::none(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Another connection to the same database (for readers in other threads).
    pub fn reader(&self) -> Result<Connection> {
        encryption::clone_connection(&self.conn)
    }

    fn migrate(&self) -> Result<()> {
        let c = &self.conn;
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS dataset_schemas (
                 dataset VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL);",
        )?;
        MIGRATIONS.apply(c)?;
        for s in schema::all() {
            self.sync_dataset_table(s)?;
        }
        Ok(())
    }

    /// Creates the dataset's table, or adds the columns a newer schema introduced. A changed
    /// column type is refused: that needs a written migration, not a silent rewrite.
    fn sync_dataset_table(&self, s: &schema::Schema) -> Result<()> {
        let hash = hex(&Sha256::digest(s.source_json.as_bytes()));
        let known: i64 = self.conn.query_row(
            "SELECT count(*) FROM dataset_schemas WHERE dataset = ? AND sha256 = ?",
            params![s.name, hash],
            |r| r.get(0),
        )?;
        if known > 0 {
            return Ok(());
        }
        self.conn.execute_batch(&s.create_table_sql())?;
        let mut stmt = self.conn.prepare(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
        )?;
        let existing: Vec<(String, String)> = stmt
            .query_map([&s.name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for f in &s.fields {
            match existing.iter().find(|(n, _)| *n == f.name) {
                None => self.conn.execute_batch(&format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    schema::quote_ident(&s.name),
                    schema::quote_ident(&f.name),
                    f.field_type.duckdb_type()
                ))?,
                Some((_, ty)) if ty != f.field_type.duckdb_type() => {
                    return Err(Error::Invalid(format!(
                        "column {}.{} is {ty} in the database but {} in the schema; write a migration",
                        s.name,
                        f.name,
                        f.field_type.duckdb_type()
                    )));
                }
                Some(_) => {}
            }
        }
        self.conn.execute(
            "INSERT INTO dataset_schemas VALUES (?, ?, now())",
            params![s.name, hash],
        )?;
        Ok(())
    }

    /// Limits the memory DuckDB keeps for this database in this process (`512MB`, `2GB`: a
    /// size as the settings check it); past it, DuckDB spills to its temporary files.
    pub fn set_memory_limit(&self, limit: &str) -> Result<()> {
        if !limit.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            return Err(Error::Invalid(format!(
                "memory limit {limit:?} is not a size"
            )));
        }
        self.conn
            .execute_batch(&format!("SET memory_limit = '{limit}'"))?;
        Ok(())
    }

    /// Settings for a process that holds the database for months (`haven serve`): DuckDB's
    /// allocator gives back what a task used once the task used more than a little, and its
    /// background threads return freed memory to the system, so the peaks of loads, analyses and
    /// checkpoints do not stay resident. DuckDB's defaults keep up to 128 MiB per task.
    ///
    /// The write-ahead log is also folded into the file once it holds 4 MiB (DuckDB's default is
    /// 16 MiB): each checkpoint then rewrites less at once, and a server that loads a file every
    /// few minutes reaches its working size within its first loads instead of stepping up at the
    /// first checkpoint an hour later. Recovery after a crash replays less.
    pub fn return_memory_promptly(&self) -> Result<()> {
        self.conn.execute_batch(
            "SET allocator_background_threads = true; SET allocator_flush_threshold = '16MB'; \
             SET checkpoint_threshold = '4MB';",
        )?;
        Ok(())
    }

    /// Whether a table of that name exists (result tables appear after the first analysis).
    pub fn has_table(&self, name: &str) -> Result<bool> {
        has_table(&self.conn, name)
    }

    /// Row count of each dataset table, in load order.
    pub fn dataset_counts(&self) -> Result<Vec<(String, i64)>> {
        schema::all()
            .iter()
            .map(|s| {
                let n: i64 = self.conn.query_row(
                    &format!("SELECT count(*) FROM {}", schema::quote_ident(&s.name)),
                    [],
                    |r| r.get(0),
                )?;
                Ok((s.name.clone(), n))
            })
            .collect()
    }
}

fn locked_or(e: duckdb::Error, path: &Path, encryption: &Encryption) -> Error {
    let msg = e.to_string();
    if let Some(explained) = encryption.explain(path, &msg) {
        return explained;
    }
    match locked_or_message(msg, path) {
        Error::Invalid(_) => Error::Db(e),
        locked => locked,
    }
}

/// `Error::Locked` when DuckDB's message says another process holds the file, else the
/// message as it is.
fn locked_or_message(msg: String, path: &Path) -> Error {
    if msg.contains("Could not set lock") || msg.contains("Conflicting lock") {
        let detail = msg
            .split("Conflicting lock is held in ")
            .nth(1)
            .map(|d| format!("held by {}", d.lines().next().unwrap_or(d).trim()))
            .unwrap_or_else(|| "it holds the write lock".to_string());
        Error::Locked {
            path: path.to_path_buf(),
            detail,
        }
    } else {
        Error::Invalid(msg)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a table of that name exists on this connection's database.
/// Runs `f` in one transaction on `conn`: committed when it succeeds, rolled back when it
/// fails (nothing of it is kept).
pub fn transaction<T, E: From<duckdb::Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

pub fn has_table(conn: &Connection, name: &str) -> Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
        [name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent_and_create_every_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.duckdb");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let counts = store.dataset_counts().unwrap();
        assert_eq!(counts.len(), 9);
        assert!(counts.iter().all(|(_, n)| *n == 0));
        let versions: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM schema_migrations WHERE owner = 'ingest'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(versions, MIGRATIONS.steps.len() as i64);
    }
}
