//! The lake: what the Haven servers of a region share, in DuckLake.
//!
//! Two DuckLake catalogues live in one PostgreSQL database, their data files under two prefixes
//! of one bucket (or folder):
//! - **public** (metadata schema `haven_public`, files under `<data>/public/`): each
//!   municipality's latest release, table by table, each row with its `municipality` and
//!   `release`, and the `releases` table (the release's manifest). Public readers attach only
//!   this one, read-only, with credentials that reach nothing else.
//! - **restricted** (`haven_restricted`, `<data>/restricted/`): the true figures behind a
//!   release, before the disclosure step, for the region's own analysis. It is a catalogue of
//!   its own because a DuckLake catalogue keeps every file's column statistics (minimum and
//!   maximum): in one catalogue with the public tables, whoever may read the catalogue would
//!   read bounds of restricted values.
//!
//! Data inlining is off, so every row lives in a Parquet file under its prefix and none in the
//! catalogue, where the prefix's credentials would not guard it.
//!
//! A push is one DuckLake commit per catalogue, that is one snapshot: the municipality's rows of
//! every table are replaced whole or not at all. Every push also updates the catalogue's `head`
//! row, so two pushes at the same moment always conflict (also two first pushes, which would
//! otherwise both insert); the one that loses has applied nothing, rolls back and tries again
//! after a pause, up to [`MAX_ATTEMPTS`] times, then fails with a clear message. Snapshots are
//! the history: each push's commit names its release, so a reader can stay on release N
//! (`AT (VERSION => snapshot)`) while N + 1 lands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use duckdb::Connection;
use serde::Serialize;

pub mod objects;

/// Attempts of one commit before a push gives up on conflicting writers.
pub const MAX_ATTEMPTS: u32 = 40;

/// The public catalogue's alias on a connection (and its schema in PostgreSQL, `haven_public`).
pub const PUBLIC: &str = "haven_lake";
/// The restricted catalogue's alias (`haven_restricted` in PostgreSQL).
pub const RESTRICTED: &str = "haven_lake_restricted";

/// Tables every catalogue holds besides the pushed ones.
const OWN_TABLES: &[&str] = &["releases", "head"];

/// The one error type of the lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Settings(String),
    #[error(
        "DuckDB's signed {name} extension could not be loaded from {dir}: {reason}. Run scripts/setup-duckdb.sh, or point [database] extensions (HAVEN_DUCKDB_EXTENSIONS) at the folder that holds it"
    )]
    Extension {
        name: &'static str,
        dir: String,
        reason: String,
    },
    #[error("the lake's {catalogue} catalogue at {at} refused: {reason}")]
    Catalogue {
        catalogue: &'static str,
        at: String,
        reason: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error(
        "other writers kept changing the lake: {attempts} attempts to commit release {version} of {municipality} to the {catalogue} catalogue conflicted with theirs, and nothing of it was applied; push it again (`haven lake push`)"
    )]
    Conflict {
        catalogue: &'static str,
        municipality: String,
        version: u32,
        attempts: u32,
    },
    #[error("lake: {context}: {source}")]
    Db {
        context: String,
        source: duckdb::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A DuckDB error in `context`; the object storage's refusal of the credentials is named as
/// such.
fn db(context: impl Into<String>) -> impl FnOnce(duckdb::Error) -> Error {
    let context = context.into();
    move |source| {
        let text = source.to_string();
        if text.contains("HTTP 403") || text.contains("AccessDenied") {
            Error::Refused(format!(
                "the object storage refused these credentials ({context}): {}",
                first_line(&text)
            ))
        } else {
            Error::Db { context, source }
        }
    }
}

/// A secret that never shows in logs or errors.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the one place that must send it on (never to a log).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How the object storage is reached (an S3-compatible server).
#[derive(Debug, Clone, Default)]
pub struct S3 {
    /// `http://host:port` or `https://host:port` of an S3-compatible server; `None`: AWS.
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`).
    pub region: Option<String>,
    pub key_id: Option<String>,
    pub secret: Option<Secret>,
}

/// Where the lake is: its catalogue, its data and the extensions that reach them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The PostgreSQL database of the catalogues: `postgres://user@host:port/db` or libpq's
    /// `host=… dbname=…` (a password is best left to `PGPASSWORD` or `~/.pgpass`).
    pub catalog: String,
    /// Where the data files go: `s3://bucket/prefix`, or a local folder.
    pub data: String,
    pub s3: S3,
    /// DuckDB's extension folder (with `ducklake`, `postgres_scanner` and `httpfs`).
    pub extensions: PathBuf,
}

impl Settings {
    fn is_s3(&self) -> bool {
        self.data.starts_with("s3://")
    }

    /// The catalogue is a PostgreSQL database (a `postgres://` or `postgresql://` URI, or
    /// libpq's `key=value` form); anything else is a DuckDB file on this machine (one writer
    /// process at a time: for a single machine and for trying the lake out).
    fn is_postgres(&self) -> bool {
        self.catalog.starts_with("postgres://")
            || self.catalog.starts_with("postgresql://")
            || self.catalog.contains('=')
    }

    /// DuckLake's address of a catalogue: one PostgreSQL database holds both (in their own
    /// schemas); on this machine each is a file of its own.
    fn ducklake(&self, catalogue: &str) -> String {
        if self.is_postgres() {
            format!("ducklake:postgres:{}", self.catalog)
        } else {
            format!(
                "ducklake:{}/{catalogue}.ducklake",
                self.catalog.trim_end_matches('/')
            )
        }
    }

    /// The data folder of a catalogue, ending in `/`.
    fn data_path(&self, catalogue: &str) -> String {
        format!("{}/{catalogue}/", self.data.trim_end_matches('/'))
    }

    /// The catalogue's address with any password left out, for messages.
    pub fn catalog_shown(&self) -> String {
        redact(&self.catalog)
    }
}

/// A connection string without its password (`postgres://u:pw@h/db`, `password=pw`).
fn redact(catalog: &str) -> String {
    let mut out = catalog.to_string();
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        if let Some(at) = out[rest..].find('@').map(|i| i + rest)
            && let Some(colon) = out[rest..at].find(':').map(|i| i + rest)
        {
            out.replace_range(colon..at, ":…");
        }
    }
    out.split_whitespace()
        .map(|part| {
            if part.to_ascii_lowercase().starts_with("password=") {
                "password=…"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a connection may do in the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Both catalogues, read and write (a municipality's Haven, a regional administrator).
    Writer,
    /// The public catalogue, read-only (the public readers).
    Public,
}

/// A Parquet file to be one table of the lake.
#[derive(Debug, Clone)]
pub struct Table {
    /// `[a-z0-9_]+`.
    pub name: String,
    pub parquet: PathBuf,
    /// The key the file is encrypted with (Parquet modular encryption), if it is.
    pub key: Option<Secret>,
}

impl Table {
    /// `read_parquet` of the file, with its key when it has one.
    fn source(&self) -> String {
        let path = sql_text(&self.parquet.display().to_string());
        match self.key {
            Some(_) => format!(
                "read_parquet({path}, encryption_config = {{footer_key: '{}'}})",
                self.key_name()
            ),
            None => format!("read_parquet({path})"),
        }
    }

    fn key_name(&self) -> String {
        format!("haven_lake_{}", self.name)
    }
}

/// A municipality's release as it goes to the lake.
#[derive(Debug, Clone)]
pub struct Release {
    /// The municipality's code (the tenant).
    pub municipality: String,
    pub version: u32,
    /// RFC 3339, UTC.
    pub published_at: String,
    /// The release's manifest (JSON), kept in the public `releases` table.
    pub manifest: String,
    /// The published tables.
    pub public: Vec<Table>,
    /// The true figures behind them.
    pub restricted: Vec<Table>,
    /// The release folder's files as they are (name, path), kept as immutable objects beside
    /// the tables for readers and CDNs to serve ([`objects`]).
    pub files: Vec<(String, PathBuf)>,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub municipality: String,
    pub version: u32,
    /// The public catalogue's snapshot that holds the release.
    pub snapshot: i64,
    /// The restricted catalogue's snapshot.
    pub restricted_snapshot: i64,
    /// Tables and rows written (0 when the lake already held the release).
    pub tables: usize,
    pub rows: u64,
    /// Commits that conflicted with another writer's and were tried again.
    pub retries: u32,
    /// The lake held this release already; nothing was written.
    pub already: bool,
}

/// A release as the lake's history holds it.
#[derive(Debug, Clone, Serialize)]
pub struct LakeRelease {
    pub municipality: String,
    pub version: u32,
    pub published_at: String,
    /// The public snapshot that holds it.
    pub snapshot: i64,
    /// When it was committed to the lake (UTC).
    pub committed_at: String,
    /// It is the municipality's latest release in the lake.
    pub current: bool,
}

/// A connection to the lake: an in-memory DuckDB with the catalogues attached.
pub struct Lake {
    conn: Connection,
    access: Access,
    shown: String,
    settings: Settings,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("catalog", &self.shown)
            .field("access", &self.access)
            .finish()
    }
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A municipality code as a tenant is named: letters, digits, `-` and `_`, at most 32.
pub fn check_municipality(code: &str) -> Result<()> {
    let ok = !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{code:?} is not a municipality code: letters, digits, - and _, at most 32"
        )))
    }
}

/// A public table as it stood at `snapshot`, for a reader's query (`releases` included).
pub fn public_table_at(name: &str, snapshot: i64) -> Result<String> {
    check_name(name)?;
    Ok(format!(
        "{PUBLIC}.main.\"{name}\" AT (VERSION => {snapshot})"
    ))
}

/// A table's name as the lake spells them: a-z, 0-9 and `_`.
fn check_name(name: &str) -> Result<()> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{name:?} is not a table of the lake"
        )))
    }
}

/// Whether `name` may be one of the lake's tables: a-z, 0-9 and _, at most 64, and not one of
/// its own (`releases`, `head`). Names from outside (an archive, a URL) are checked here
/// before they become a file's or a table's name.
pub fn check_table(name: &str) -> Result<()> {
    if check_name(name).is_ok() && !OWN_TABLES.contains(&name) {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{name:?} cannot be a table of the lake (a-z, 0-9 and _, at most 64, and not {})",
            OWN_TABLES.join(" or ")
        )))
    }
}

impl Lake {
    /// Opens the lake with `access`: loads DuckDB's signed extensions, gives the object
    /// storage's credentials, attaches the catalogues (a writer creates them on first use).
    pub fn open(settings: &Settings, access: Access) -> Result<Lake> {
        let conn = Connection::open_in_memory().map_err(db("opening DuckDB"))?;
        conn.execute_batch(
            "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false;",
        )
        .map_err(db("extension settings"))?;
        let dir = settings.extensions.display().to_string();
        conn.execute_batch(&format!("SET extension_directory = {}", sql_text(&dir)))
            .map_err(db("extension folder"))?;
        for name in ["httpfs", "postgres", "ducklake"] {
            conn.execute_batch(&format!("LOAD {name}"))
                .map_err(|e| Error::Extension {
                    name,
                    dir: dir.clone(),
                    reason: e.to_string(),
                })?;
        }
        if settings.is_s3() {
            conn.execute_batch(&s3_secret(&settings.s3)?)
                .map_err(db("object storage credentials"))?;
        }
        if !settings.is_postgres() {
            std::fs::create_dir_all(&settings.catalog).map_err(|e| {
                Error::Settings(format!(
                    "the lake's catalogue folder {}: {e}",
                    settings.catalog
                ))
            })?;
        }
        let shown = settings.catalog_shown();
        let lake = Lake {
            conn,
            access,
            shown,
            settings: settings.clone(),
        };
        lake.attach(settings, PUBLIC, "public")?;
        if access == Access::Writer {
            lake.attach(settings, RESTRICTED, "restricted")?;
        }
        Ok(lake)
    }

    fn attach(&self, settings: &Settings, alias: &str, catalogue: &'static str) -> Result<()> {
        let read_only = if self.access == Access::Public {
            ", READ_ONLY"
        } else {
            ""
        };
        let sql = format!(
            "ATTACH {} AS {alias} (DATA_PATH {}, METADATA_SCHEMA 'haven_{catalogue}', DATA_INLINING_ROW_LIMIT 0{read_only})",
            sql_text(&settings.ducklake(catalogue)),
            sql_text(&settings.data_path(catalogue)),
        );
        // Writers that meet a new lake at the same moment race to create its catalogue in
        // PostgreSQL; the one that loses attaches to the winner's on a later attempt.
        let mut attempt = 1;
        loop {
            match self.conn.execute_batch(&sql) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let text = e.to_string();
                    let raced =
                        text.contains("duplicate key value") || text.contains("already exists");
                    if raced && attempt < 5 {
                        std::thread::sleep(pause(attempt));
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::Catalogue {
                        catalogue,
                        at: self.shown.clone(),
                        // A password in the connection string never reaches a message.
                        reason: first_line(&text).replace(&settings.catalog, &self.shown),
                    });
                }
            }
        }
    }

    /// The `releases` and `head` tables of a catalogue, and head's one row.
    fn own_tables(&self, alias: &str) -> Result<()> {
        self.conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {alias}.main.releases (municipality VARCHAR NOT NULL,
                     version INTEGER NOT NULL, published_at VARCHAR, manifest VARCHAR,
                     pushed_at TIMESTAMP);
                 CREATE TABLE IF NOT EXISTS {alias}.main.head (pushes BIGINT, municipality VARCHAR,
                     version INTEGER);
                 INSERT INTO {alias}.main.head SELECT 0, '', 0
                     WHERE NOT EXISTS (SELECT 1 FROM {alias}.main.head);"
            ))
            .map_err(db(format!("creating the lake's tables in {alias}")))
    }

    /// Pushes a release: the restricted figures, then the public tables, each one commit.
    /// A catalogue that holds the release already is left as it is; one that holds a newer
    /// release of the municipality refuses it.
    pub fn push(&self, release: &Release) -> Result<Pushed> {
        if self.access != Access::Writer {
            return Err(Error::Refused(
                "pushing a release needs the lake's writer credentials".into(),
            ));
        }
        check_municipality(&release.municipality)?;
        for t in release.public.iter().chain(&release.restricted) {
            check_table(&t.name)?;
        }
        // The files first: a release the catalogue names has its files in the bucket. Files
        // that a failed commit leaves are the same bytes the next push finds there.
        for (name, path) in &release.files {
            let key = objects::release_key(&release.municipality, release.version, name)?;
            let bytes = std::fs::read(path)
                .map_err(|e| Error::Refused(format!("{}: {e}", path.display())))?;
            objects::put_immutable(&self.settings, &key, &bytes)?;
        }
        for alias in [PUBLIC, RESTRICTED] {
            self.retrying(alias, &release.municipality, release.version, || {
                self.own_tables(alias)
            })?;
        }
        let mut retries = 0;
        let mut rows = 0;
        let mut written = false;
        let mut snapshots = [0i64; 2];
        for (i, (alias, tables)) in [(RESTRICTED, &release.restricted), (PUBLIC, &release.public)]
            .into_iter()
            .enumerate()
        {
            let (outcome, tried) =
                self.retrying_counted(alias, &release.municipality, release.version, || {
                    self.commit(alias, tables, release)
                })?;
            retries += tried - 1;
            if let Some(n) = outcome.rows {
                rows += n;
                written = true;
            }
            snapshots[i] = outcome.snapshot;
        }
        Ok(Pushed {
            municipality: release.municipality.clone(),
            version: release.version,
            snapshot: snapshots[1],
            restricted_snapshot: snapshots[0],
            tables: if written {
                release.public.len() + release.restricted.len()
            } else {
                0
            },
            rows,
            retries,
            already: !written,
        })
    }

    fn retrying<T>(
        &self,
        alias: &str,
        municipality: &str,
        version: u32,
        f: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        self.retrying_counted(alias, municipality, version, f)
            .map(|(t, _)| t)
    }

    /// Runs `f` until it does not conflict with another writer (at most [`MAX_ATTEMPTS`]),
    /// rolling back after each failure; returns its answer and the attempts made.
    fn retrying_counted<T>(
        &self,
        alias: &str,
        municipality: &str,
        version: u32,
        mut f: impl FnMut() -> Result<T>,
    ) -> Result<(T, u32)> {
        for attempt in 1..=MAX_ATTEMPTS {
            match f() {
                Ok(t) => return Ok((t, attempt)),
                Err(e) => {
                    // Nothing of a failed attempt stays: its transaction is rolled back.
                    let _ = self.conn.execute_batch("ROLLBACK");
                    if !is_conflict(&e) {
                        return Err(e);
                    }
                    tracing::info!(
                        alias,
                        municipality,
                        version,
                        attempt,
                        "lake commit conflicted; trying again"
                    );
                    std::thread::sleep(pause(attempt));
                }
            }
        }
        Err(Error::Conflict {
            catalogue: if alias == PUBLIC {
                "public"
            } else {
                "restricted"
            },
            municipality: municipality.to_string(),
            version,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// One attempt at committing a release's tables to one catalogue.
    fn commit(&self, alias: &str, tables: &[Table], release: &Release) -> Result<Committed> {
        let m = &release.municipality;
        let v = release.version;
        for t in tables {
            if let Some(key) = &t.key {
                self.conn
                    .execute_batch(&format!(
                        "PRAGMA add_parquet_key({}, {})",
                        sql_text(&t.key_name()),
                        sql_text(&key.0)
                    ))
                    .map_err(db(format!("the key of {}", t.name)))?;
            }
        }
        // Tables come first, each in its own commit (a conflict here is retried like any).
        for t in tables {
            self.conn
                .execute_batch(&format!(
                    "CREATE TABLE IF NOT EXISTS {alias}.main.\"{}\" AS SELECT ''::VARCHAR AS municipality,
                         0::INTEGER AS release, * FROM {} LIMIT 0",
                    t.name,
                    t.source()
                ))
                .map_err(db(format!("creating table {} in {alias}", t.name)))?;
            self.add_new_columns(alias, t)?;
        }
        let message = commit_message(m, v);
        self.conn
            .execute_batch("BEGIN TRANSACTION")
            .map_err(db("beginning a commit"))?;
        let held = self.current_version(alias, m)?;
        match held {
            Some(h) if h == v => {
                self.conn
                    .execute_batch("ROLLBACK")
                    .map_err(db("ending a read"))?;
                return Ok(Committed {
                    rows: None,
                    snapshot: self.snapshot_of(alias, m, v)?.unwrap_or(0),
                });
            }
            Some(h) if h > v => {
                return Err(Error::Refused(format!(
                    "the lake holds release {h} of {m}, newer than release {v}; it keeps the newer one"
                )));
            }
            _ => {}
        }
        let extra = serde_json::json!({"municipality": m, "version": v, "published_at": release.published_at});
        self.conn
            .execute_batch(&format!(
                "CALL {alias}.set_commit_message('haven', {}, extra_info => {});
                 UPDATE {alias}.main.head SET pushes = pushes + 1, municipality = {}, version = {v};",
                sql_text(&message),
                sql_text(&extra.to_string()),
                sql_text(m),
            ))
            .map_err(db("starting the commit"))?;
        let mut rows = 0u64;
        let pushed: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        // Tables of an earlier release that this one no longer has lose the municipality's rows.
        for name in self.tables(alias)? {
            if !pushed.contains(&name.as_str()) {
                self.conn
                    .execute_batch(&format!(
                        "DELETE FROM {alias}.main.\"{name}\" WHERE municipality = {}",
                        sql_text(m)
                    ))
                    .map_err(db(format!("clearing {name}")))?;
            }
        }
        for t in tables {
            self.conn
                .execute_batch(&format!(
                    "DELETE FROM {alias}.main.\"{}\" WHERE municipality = {}",
                    t.name,
                    sql_text(m)
                ))
                .map_err(db(format!("replacing {}", t.name)))?;
            let n = self
                .conn
                .execute(
                    &format!(
                        "INSERT INTO {alias}.main.\"{}\" BY NAME SELECT {}::VARCHAR AS municipality,
                             {v}::INTEGER AS release, * FROM {}",
                        t.name,
                        sql_text(m),
                        t.source()
                    ),
                    [],
                )
                .map_err(db(format!("writing {}", t.name)))?;
            rows += n as u64;
        }
        self.conn
            .execute_batch(&format!(
                "DELETE FROM {alias}.main.releases WHERE municipality = {m_};
                 INSERT INTO {alias}.main.releases VALUES ({m_}, {v}, {p}, {man}, (now() AT TIME ZONE 'UTC')::TIMESTAMP);",
                m_ = sql_text(m),
                p = sql_text(&release.published_at),
                man = sql_text(if alias == PUBLIC {
                    &release.manifest
                } else {
                    ""
                }),
            ))
            .map_err(db("recording the release"))?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(db(format!("committing release {v} of {m}")))?;
        Ok(Committed {
            rows: Some(rows),
            snapshot: self.snapshot_of(alias, m, v)?.unwrap_or(0),
        })
    }

    /// Columns a newer release has that the lake's table does not get added (a column a
    /// release no longer has stays, empty for it), so the lake follows Haven's versions.
    fn add_new_columns(&self, alias: &str, t: &Table) -> Result<()> {
        let context = || format!("the columns of {}", t.name);
        let have = self.names(
            &format!(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = {} AND table_name = {}",
                sql_text(alias),
                sql_text(&t.name)
            ),
            &context(),
        )?;
        let wanted: Vec<(String, String)> = {
            let mut stmt = self
                .conn
                .prepare(&format!("DESCRIBE SELECT * FROM {}", t.source()))
                .map_err(db(context()))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db(context()))?
                .collect::<Result<_, _>>()
                .map_err(db(context()))?
        };
        for (name, kind) in wanted {
            if !have.contains(&name) {
                self.conn
                    .execute_batch(&format!(
                        "ALTER TABLE {alias}.main.\"{}\" ADD COLUMN \"{}\" {kind}",
                        t.name,
                        name.replace('"', "\"\"")
                    ))
                    .map_err(db(format!("adding column {name} to {}", t.name)))?;
            }
        }
        Ok(())
    }

    /// The tables a catalogue holds besides its own.
    fn tables(&self, alias: &str) -> Result<Vec<String>> {
        let names = self.names(
            &format!(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = {} ORDER BY 1",
                sql_text(alias)
            ),
            "listing the lake's tables",
        )?;
        Ok(names
            .into_iter()
            .filter(|n| !OWN_TABLES.contains(&n.as_str()))
            .collect())
    }

    /// The first column of a query's rows, as text.
    fn names(&self, sql: &str, context: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(sql).map_err(db(context))?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map_err(db(context))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db(context))
    }

    /// The municipality's current release in a catalogue.
    fn current_version(&self, alias: &str, municipality: &str) -> Result<Option<u32>> {
        let v: Option<i32> = self
            .conn
            .query_row(
                &format!(
                    "SELECT max(version) FROM {alias}.main.releases WHERE municipality = {}",
                    sql_text(municipality)
                ),
                [],
                |r| r.get(0),
            )
            .map_err(db("reading the lake's releases"))?;
        Ok(v.map(|v| v as u32))
    }

    /// The snapshot whose commit holds release `version` of `municipality`.
    fn snapshot_of(&self, alias: &str, municipality: &str, version: u32) -> Result<Option<i64>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT max(snapshot_id) FROM {alias}.snapshots() WHERE commit_message = {}",
                    sql_text(&commit_message(municipality, version))
                ),
                [],
                |r| r.get(0),
            )
            .map_err(db("reading the lake's snapshots"))
    }

    /// Upkeep of both catalogues: snapshots older than `keep_days` are expired (their releases
    /// can no longer be read as they stood; each municipality's current release always stays),
    /// the files only they used are deleted, and so are files no snapshot names (what a killed
    /// push left) once older than `orphan_minutes` (a push in flight writes its files before it
    /// commits, so they must not be taken for orphans).
    pub fn maintain(&self, keep_days: u32, orphan_minutes: u32) -> Result<Maintained> {
        if self.access != Access::Writer {
            return Err(Error::Refused(
                "upkeep of the lake needs the lake's writer credentials".into(),
            ));
        }
        let mut done = Maintained::default();
        for alias in [PUBLIC, RESTRICTED] {
            let count = |sql: String, context: &str| -> Result<u64> {
                let mut stmt = self.conn.prepare(&sql).map_err(db(context))?;
                let mut rows = stmt.query([]).map_err(db(context))?;
                let mut n = 0u64;
                while rows.next().map_err(db(context))?.is_some() {
                    n += 1;
                }
                Ok(n)
            };
            done.snapshots_expired += self.retrying(alias, "", 0, || {
                count(
                    format!(
                        "CALL ducklake_expire_snapshots('{alias}', older_than => now() - INTERVAL {keep_days} DAY)"
                    ),
                    "expiring snapshots",
                )
            })?;
            done.files_deleted += count(
                format!("CALL ducklake_cleanup_old_files('{alias}', cleanup_all => true)"),
                "deleting the files of expired snapshots",
            )?;
            done.orphans_deleted += count(
                format!(
                    "CALL ducklake_delete_orphaned_files('{alias}', older_than => now() - INTERVAL {orphan_minutes} MINUTE)"
                ),
                "deleting orphaned files",
            )?;
        }
        Ok(done)
    }

    /// The public catalogue's latest snapshot: what a reader pins its answers to until it
    /// moves on.
    pub fn latest_snapshot(&self) -> Result<i64> {
        let latest: Option<i64> = self
            .conn
            .query_row(
                &format!("SELECT max(snapshot_id) FROM {PUBLIC}.snapshots()"),
                [],
                |r| r.get(0),
            )
            .map_err(db("reading the lake's snapshots"))?;
        Ok(latest.unwrap_or(0))
    }

    /// Another connection to the same lake (the catalogues already attached), for a reading
    /// thread: one DuckDB connection serves one thread at a time.
    pub fn connection(&self) -> Result<Connection> {
        self.conn
            .try_clone()
            .map_err(db("another connection to the lake"))
    }

    /// The public catalogue's tables (besides its own `releases` and `head`).
    pub fn public_tables(&self) -> Result<Vec<String>> {
        self.tables(PUBLIC)
    }

    /// The columns of a public table, in order.
    pub fn public_columns(&self, table: &str) -> Result<Vec<String>> {
        check_name(table)?;
        self.names(
            &format!(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = {} AND table_name = {} ORDER BY column_index",
                sql_text(PUBLIC),
                sql_text(table)
            ),
            "listing a table's columns",
        )
    }

    /// Every release the public catalogue's history holds, oldest first.
    pub fn releases(&self) -> Result<Vec<LakeRelease>> {
        let current: Vec<(String, i32)> = {
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT municipality, version FROM {PUBLIC}.main.releases"
                ))
                .map_err(db("reading the lake's releases"))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db("reading the lake's releases"))?
                .collect::<Result<_, _>>()
                .map_err(db("reading the lake's releases"))?
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT snapshot_id, strftime(snapshot_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                        commit_extra_info
                 FROM {PUBLIC}.snapshots() WHERE author = 'haven' ORDER BY snapshot_id"
            ))
            .map_err(db("reading the lake's snapshots"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(db("reading the lake's snapshots"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db("reading the lake's snapshots"))?;
        let latest: i64 = self
            .conn
            .query_row(
                &format!("SELECT max(snapshot_id) FROM {PUBLIC}.snapshots()"),
                [],
                |r| r.get(0),
            )
            .map_err(db("reading the lake's snapshots"))?;
        let mut history: Vec<LakeRelease> = rows
            .into_iter()
            .filter_map(|(snapshot, committed_at, extra)| {
                let v: serde_json::Value = serde_json::from_str(extra.as_deref()?).ok()?;
                let municipality = v["municipality"].as_str()?.to_string();
                let version = u32::try_from(v["version"].as_u64()?).ok()?;
                let current = current
                    .iter()
                    .any(|(m, c)| *m == municipality && *c as u32 == version);
                Some(LakeRelease {
                    published_at: v["published_at"].as_str().unwrap_or_default().to_string(),
                    municipality,
                    version,
                    snapshot,
                    committed_at,
                    current,
                })
            })
            .collect();
        // A current release whose own snapshot upkeep expired is read at the latest one.
        for (m, v) in &current {
            if !history
                .iter()
                .any(|r| r.municipality == *m && r.version == *v as u32)
            {
                let (published_at, pushed_at): (String, String) = self
                    .conn
                    .query_row(
                        &format!(
                            "SELECT published_at, strftime(pushed_at, '%Y-%m-%dT%H:%M:%SZ')
                             FROM {PUBLIC}.main.releases WHERE municipality = {}",
                            sql_text(m)
                        ),
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(db("reading the lake's releases"))?;
                history.push(LakeRelease {
                    municipality: m.clone(),
                    version: *v as u32,
                    published_at,
                    snapshot: latest,
                    committed_at: pushed_at,
                    current: true,
                });
            }
        }
        history.sort_by_key(|r| r.snapshot);
        Ok(history)
    }

    /// Writes a table as CSV to `out`: every municipality's current rows, or one
    /// municipality's, or (with `version`) the rows of that release of the municipality as
    /// its snapshot holds them, whatever has landed since. `restricted` reads the restricted
    /// catalogue (writer access only).
    pub fn export(
        &self,
        table: &str,
        municipality: Option<&str>,
        version: Option<u32>,
        restricted: bool,
        out: &Path,
    ) -> Result<u64> {
        check_name(table)?;
        let alias = if restricted {
            if self.access != Access::Writer {
                return Err(Error::Refused(
                    "the restricted catalogue needs the lake's writer credentials".into(),
                ));
            }
            RESTRICTED
        } else {
            PUBLIC
        };
        let known = self.tables(alias)?;
        if !known.iter().any(|t| t == table) && !OWN_TABLES.contains(&table) {
            return Err(Error::Refused(format!(
                "the {} catalogue has no table {table:?}; it has {}",
                if restricted { "restricted" } else { "public" },
                known.join(", ")
            )));
        }
        if let Some(m) = municipality {
            check_municipality(m)?;
        }
        let at = match (version, municipality) {
            (Some(v), Some(m)) => match self.snapshot_of(alias, m, v)? {
                Some(s) => format!(" AT (VERSION => {s})"),
                // Upkeep may have expired the snapshot of a release that is still current.
                None if self.current_version(alias, m)? == Some(v) => String::new(),
                None => {
                    return Err(Error::Refused(format!(
                        "the lake holds no release {v} of {m} (upkeep expires old snapshots)"
                    )));
                }
            },
            (Some(_), None) => {
                return Err(Error::Refused(
                    "a release is a municipality's: name the municipality too".into(),
                ));
            }
            _ => String::new(),
        };
        let filter = municipality
            .map(|m| format!(" WHERE municipality = {}", sql_text(m)))
            .unwrap_or_default();
        let n = self
            .conn
            .execute(
                &format!(
                    "COPY (SELECT * FROM {alias}.main.\"{table}\"{at}{filter} ORDER BY ALL) TO {} (FORMAT csv, HEADER)",
                    sql_text(&out.display().to_string())
                ),
                [],
            )
            .map_err(db(format!("reading {table}")))?;
        Ok(n as u64)
    }
}

/// What an upkeep did, over both catalogues.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Maintained {
    pub snapshots_expired: u64,
    pub files_deleted: u64,
    pub orphans_deleted: u64,
}

struct Committed {
    /// Rows written; `None`: the catalogue held the release already.
    rows: Option<u64>,
    snapshot: i64,
}

fn commit_message(municipality: &str, version: u32) -> String {
    format!("release {version} of {municipality}")
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// A commit that lost to another writer's (DuckLake's conflict check, or PostgreSQL's on the
/// snapshot's number).
fn is_conflict(e: &Error) -> bool {
    match e {
        Error::Db { source, .. } => {
            let t = source.to_string();
            t.contains("Transaction conflict")
                || t.contains("conflict")
                || t.contains("duplicate key value")
                || t.contains("could not serialize")
        }
        _ => false,
    }
}

/// The pause before attempt `attempt + 1`: growing, with jitter so that writers part.
fn pause(attempt: u32) -> Duration {
    let base = 20u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as u64;
    let jitter = (nanos ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9)) % (base + 1);
    Duration::from_millis(base / 2 + jitter)
}

/// The `CREATE SECRET` of the object storage.
fn s3_secret(s3: &S3) -> Result<String> {
    let (Some(key), Some(secret)) = (&s3.key_id, &s3.secret) else {
        return Err(Error::Settings(
            "the lake's data is in object storage: give its credentials (HAVEN_S3_KEY_ID and HAVEN_S3_SECRET, or [lake] s3_key_id and s3_secret_file)".into(),
        ));
    };
    let mut parts = vec![
        "TYPE s3".to_string(),
        format!("KEY_ID {}", sql_text(key)),
        format!("SECRET {}", sql_text(&secret.0)),
        format!(
            "REGION {}",
            sql_text(s3.region.as_deref().unwrap_or("us-east-1"))
        ),
    ];
    if let Some(endpoint) = &s3.endpoint {
        let (ssl, host) = if let Some(h) = endpoint.strip_prefix("http://") {
            (false, h)
        } else if let Some(h) = endpoint.strip_prefix("https://") {
            (true, h)
        } else {
            return Err(Error::Settings(format!(
                "[lake] s3_endpoint {endpoint:?}: write it as http://host:port or https://host:port"
            )));
        };
        parts.push(format!("ENDPOINT {}", sql_text(host.trim_end_matches('/'))));
        // S3-compatible servers answer on paths, not on bucket host names.
        parts.push("URL_STYLE 'path'".into());
        parts.push(format!("USE_SSL {ssl}"));
    }
    Ok(format!(
        "CREATE OR REPLACE SECRET haven_lake_s3 ({})",
        parts.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://haven:hunter2@127.0.0.1:5432/lake"),
            "postgres://haven:…@127.0.0.1:5432/lake"
        );
        assert_eq!(
            redact("host=db user=haven password=hunter2 dbname=lake"),
            "host=db user=haven password=… dbname=lake"
        );
        assert_eq!(
            redact("postgres://haven@127.0.0.1/lake"),
            "postgres://haven@127.0.0.1/lake"
        );
        let s = s3_secret(&S3 {
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: None,
            key_id: Some("k".into()),
            secret: Some(Secret::new("s3cr'et")),
        })
        .unwrap();
        assert!(s.contains("ENDPOINT '127.0.0.1:9000'") && s.contains("USE_SSL false"));
        assert!(s.contains("SECRET 's3cr''et'"));
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }

    /// A lake on this machine (DuckDB file catalogues, a data folder): a push lands whole, a
    /// second is found there, a newer release replaces the rows and adds its new column, an
    /// older one is refused, release 1 still reads as it stood until upkeep expires it.
    #[test]
    fn a_local_lake_keeps_releases_whole_and_follows_new_columns() {
        let Some(extensions) = option_env!("DUCKDB_EXTENSION_DIR") else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("haven-lake-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conn = Connection::open_in_memory().unwrap();
        let parquet = |name: &str, select: &str| {
            let p = dir.join(name);
            conn.execute_batch(&format!(
                "COPY ({select}) TO '{}' (FORMAT parquet)",
                p.display()
            ))
            .unwrap();
            p
        };
        let v1 = parquet("v1.parquet", "SELECT range AS n, 'a' AS s FROM range(5)");
        let v2 = parquet(
            "v2.parquet",
            "SELECT range AS n, 'b' AS s, 1.5 AS x FROM range(3)",
        );
        let settings = Settings {
            catalog: dir.join("catalog").display().to_string(),
            data: dir.join("files").display().to_string(),
            s3: S3::default(),
            extensions: PathBuf::from(extensions),
        };
        let release = |version: u32, file: &Path| Release {
            municipality: "XX001".into(),
            version,
            published_at: "2026-01-01T00:00:00Z".into(),
            manifest: "{}".into(),
            public: vec![Table {
                name: "t".into(),
                parquet: file.to_path_buf(),
                key: None,
            }],
            restricted: vec![],
            files: vec![("t.parquet".into(), file.to_path_buf())],
        };
        let lake = Lake::open(&settings, Access::Writer).unwrap();
        let first = lake.push(&release(1, &v1)).unwrap();
        assert_eq!(
            objects::get(&settings, "releases/XX001/v1/t.parquet")
                .unwrap()
                .unwrap(),
            std::fs::read(&v1).unwrap(),
            "the release's file is kept as it is"
        );
        assert_eq!((first.rows, first.already), (5, false));
        assert!(lake.push(&release(1, &v1)).unwrap().already);
        let second = lake.push(&release(2, &v2)).unwrap();
        assert_eq!(second.rows, 3);
        assert!(matches!(
            lake.push(&release(1, &v1)),
            Err(Error::Refused(_))
        ));
        let count = |sql: &str| -> i64 { lake.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count(
                "SELECT count(*) FROM haven_lake.main.t WHERE x = 1.5 AND s = 'b' AND release = 2"
            ),
            3
        );
        assert_eq!(count("SELECT count(*) FROM haven_lake.main.t"), 3);
        let out = dir.join("pinned.csv");
        assert_eq!(
            lake.export("t", Some("XX001"), Some(1), false, &out)
                .unwrap(),
            5
        );
        let history = || -> Vec<(u32, bool)> {
            let releases = lake.releases().unwrap();
            releases.iter().map(|r| (r.version, r.current)).collect()
        };
        assert_eq!(history(), vec![(1, false), (2, true)]);
        // Upkeep expires release 1's snapshot and deletes its files and what a killed push
        // left; release 2, current, still reads and is listed.
        let orphan = dir.join("files/public/main/t/left-by-a-killed-push.parquet");
        std::fs::copy(&v1, &orphan).unwrap();
        let kept = lake.maintain(0, 0).unwrap();
        assert!(
            kept.snapshots_expired > 0 && kept.files_deleted > 0 && kept.orphans_deleted > 0,
            "{kept:?}"
        );
        assert!(!orphan.exists());
        assert!(matches!(
            lake.export("t", Some("XX001"), Some(1), false, &out),
            Err(Error::Refused(_))
        ));
        assert_eq!(
            lake.export("t", Some("XX001"), Some(2), false, &out)
                .unwrap(),
            3
        );
        assert_eq!(history(), vec![(2, true)]);
        drop(lake);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_municipality("BE12099").is_ok());
        assert!(check_municipality("x'; DROP").is_err());
        assert!(check_municipality("").is_err());
        assert!(check_table("vacant_stock").is_ok());
        assert!(check_table("releases").is_err());
        assert!(check_table("a\"b").is_err());
        assert!(s3_secret(&S3::default()).is_err());
    }
}
