//! Backups: a consistent snapshot of the database and the releases, with checksums, taken
//! while the server runs; and a restore that checks everything before anything is put in
//! place.
//!
//! The snapshot is DuckDB's own `COPY FROM DATABASE` into a new database file, run on the
//! writer: it sees one committed state (no write is half in it), and readers go on meanwhile.
//! The release folders are immutable once written, so they are copied as files. The folder
//! holds `haven.duckdb`, `published/`, and `MANIFEST.json`: every file's size and SHA-256, and
//! every table's row count and content hash (an order-independent hash of its rows, which
//! the restore recomputes on what it restored). The snapshot of an encrypted database is
//! encrypted with the same key, and is checked and restored with it.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// The manifest of a backup folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub haven_version: String,
    pub created_at: String,
    /// Whether the snapshot is encrypted (with the database's key).
    #[serde(default)]
    pub encrypted: bool,
    pub files: Vec<FileSum>,
    pub tables: Vec<TableSum>,
}

/// A file of the backup, by its path inside the folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileSum {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A table of the snapshot: its rows and the hash of their contents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableSum {
    pub name: String,
    pub rows: i64,
    pub hash: String,
}

const FORMAT: &str = "haven-backup/1";
const DATABASE: &str = "haven.duckdb";
const PUBLISHED: &str = "published";
const MANIFEST: &str = "MANIFEST.json";

fn io(what: &Path, e: &std::io::Error) -> Error {
    Error::Invalid(format!("{}: {e}", what.display()))
}

/// Takes a backup of `store` (on its writer: a write waits for the snapshot, readers do not)
/// and of the release folders under `published` into `dir`, which must not exist or be empty.
pub fn backup(store: &ingest::Store, published: &Path, dir: &Path) -> Result<Manifest, Error> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| io(dir, &e))?
            .next()
            .is_some()
    {
        return Err(Error::Invalid(format!(
            "{} is not empty: a backup goes into a new folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    let snapshot = dir.join(DATABASE);
    let conn = store.conn();
    let current: String = conn.query_row("SELECT current_database()", [], |r| r.get(0))?;
    let encryption = store.encryption();
    copy_database(conn, &current, &snapshot, encryption)?;
    if published.is_dir() {
        copy_tree(published, &dir.join(PUBLISHED))?;
    }
    let tables = table_sums(&snapshot, encryption)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        haven_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now_utc(conn)?,
        encrypted: encryption.is_on(),
        files: file_sums(dir)?,
        tables,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    std::fs::write(dir.join(MANIFEST), text).map_err(|e| io(dir, &e))?;
    Ok(manifest)
}

/// Copies the database `current` of `conn` into a new file at `to`, encrypted as `encryption`
/// says, in one committed state.
fn copy_database(
    conn: &duckdb::Connection,
    current: &str,
    to: &Path,
    encryption: &ingest::Encryption,
) -> Result<(), Error> {
    encryption.attach(conn, to, "haven_copy", false)?;
    conn.execute_batch(&format!(
        "COPY FROM DATABASE \"{}\" TO haven_copy; DETACH haven_copy;",
        current.replace('"', "\"\"")
    ))
    .map_err(|e| {
        let _ = conn.execute_batch("DETACH DATABASE IF EXISTS haven_copy");
        Error::from(e)
    })
}

/// Copies the database into a new file encrypted with `to` (or plain, when `to` has no key),
/// checks the copy table by table, and only then puts it in the database's place: how a key
/// is rotated, a plain database encrypted, or an encrypted one decrypted. The database must
/// not be in use.
pub fn rekey(store: ingest::Store, to: &ingest::Encryption) -> Result<Vec<TableSum>, Error> {
    let db = store.path().to_path_buf();
    let conn = store.conn();
    conn.execute_batch("CHECKPOINT")?;
    let current: String = conn.query_row("SELECT current_database()", [], |r| r.get(0))?;
    let partial = db.with_extension("rekeying");
    for leftover in [partial.clone(), partial.with_extension("rekeying.wal")] {
        if leftover.exists() {
            std::fs::remove_file(&leftover).map_err(|e| io(&leftover, &e))?;
        }
    }
    // The store's connection writes the copy, so it needs what writing with the new key needs.
    to.prepare(conn)?;
    copy_database(conn, &current, &partial, to)?;
    let before = table_sums_on(conn)?;
    let after = table_sums(&partial, to)?;
    if before != after {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Internal(
            "the re-encrypted copy does not hold the same rows; the database is unchanged".into(),
        ));
    }
    drop(store);
    std::fs::rename(&partial, &db).map_err(|e| io(&db, &e))?;
    let wal = PathBuf::from(format!("{}.wal", db.display()));
    if wal.exists() {
        std::fs::remove_file(&wal).map_err(|e| io(&wal, &e))?;
    }
    Ok(after)
}

/// Checks a backup folder: its manifest, every file's size and SHA-256, no file missing or
/// added, and the snapshot's tables against their recorded hashes (opened with the key of
/// `encryption` when the backup is encrypted).
pub fn verify(dir: &Path, encryption: &ingest::Encryption) -> Result<Manifest, Error> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, &e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}: not a Haven backup manifest: {e}",
            path.display()
        ))
    })?;
    if manifest.format != FORMAT {
        return Err(Error::Invalid(format!(
            "{}: format {} is not {FORMAT}",
            path.display(),
            manifest.format
        )));
    }
    let found = file_sums(dir)?;
    for want in &manifest.files {
        match found.iter().find(|f| f.path == want.path) {
            None => {
                return Err(Error::Invalid(format!(
                    "the backup is damaged: {} is missing",
                    want.path
                )));
            }
            Some(f) if f != want => {
                return Err(Error::Invalid(format!(
                    "the backup is damaged: {} does not match its checksum",
                    want.path
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found
        .iter()
        .find(|f| !manifest.files.iter().any(|w| w.path == f.path))
    {
        return Err(Error::Invalid(format!(
            "the backup has a file its manifest does not list: {}",
            extra.path
        )));
    }
    if manifest.encrypted && !encryption.is_on() {
        return Err(Error::Invalid(
            "the backup is encrypted: give the database's key (HAVEN_DB_KEY_FILE, [database] key_file, ...) to check or restore it".into(),
        ));
    }
    let plain = ingest::Encryption::none();
    let key = if manifest.encrypted {
        encryption
    } else {
        &plain
    };
    check_tables(&dir.join(DATABASE), &manifest.tables, key)?;
    Ok(manifest)
}

/// Restores a checked backup: the database to `db` and the releases to `published`, neither
/// of which may exist. The database is written beside its place, checked table by table, and
/// only then moved into place.
pub fn restore(
    dir: &Path,
    db: &Path,
    published: &Path,
    encryption: &ingest::Encryption,
) -> Result<Manifest, Error> {
    let manifest = verify(dir, encryption)?;
    if !manifest.encrypted && encryption.is_on() {
        return Err(Error::Invalid(
            "the backup is not encrypted but a database key is set: restore it with the key unset, then encrypt it with `haven rekey`".into(),
        ));
    }
    for target in [db, published] {
        if target.exists() {
            return Err(Error::Invalid(format!(
                "{} exists: restore into a new place (or move it away first)",
                target.display()
            )));
        }
    }
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, &e))?;
    }
    let partial = db.with_extension("restoring");
    std::fs::copy(dir.join(DATABASE), &partial).map_err(|e| io(&partial, &e))?;
    if let Err(e) = check_tables(&partial, &manifest.tables, encryption) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    if dir.join(PUBLISHED).is_dir() {
        copy_tree(&dir.join(PUBLISHED), published)?;
    }
    std::fs::rename(&partial, db).map_err(|e| io(db, &e))?;
    Ok(manifest)
}

/// Every table of a database file with its rows and content hash.
pub fn table_sums(db: &Path, encryption: &ingest::Encryption) -> Result<Vec<TableSum>, Error> {
    let store = ingest::Store::open_read_only_with(db, encryption)?;
    table_sums_on(store.conn())
}

/// Every table of the default database of `conn` with its rows and content hash.
fn table_sums_on(conn: &duckdb::Connection) -> Result<Vec<TableSum>, Error> {
    let names: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT table_name FROM information_schema.tables
             WHERE table_catalog = current_database() AND table_schema = 'main'
               AND table_type = 'BASE TABLE' ORDER BY table_name",
        )?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<duckdb::Result<_>>()?
    };
    names
        .into_iter()
        .map(|name| {
            let (rows, hash): (i64, String) = conn.query_row(
                &format!(
                    "SELECT count(*), coalesce(bit_xor(hash(haven_row)), 0)::VARCHAR FROM main.\"{}\" haven_row",
                    name.replace('"', "\"\"")
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(TableSum { name, rows, hash })
        })
        .collect()
}

fn check_tables(
    db: &Path,
    want: &[TableSum],
    encryption: &ingest::Encryption,
) -> Result<(), Error> {
    let got = table_sums(db, encryption)?;
    if got != want {
        let differ: Vec<String> = want
            .iter()
            .filter(|w| !got.contains(w))
            .map(|w| w.name.clone())
            .collect();
        return Err(Error::Invalid(format!(
            "the backup's database does not hold what its manifest says (tables: {})",
            if differ.is_empty() {
                "added ones".to_string()
            } else {
                differ.join(", ")
            }
        )));
    }
    Ok(())
}

fn now_utc(conn: &duckdb::Connection) -> Result<String, Error> {
    Ok(conn.query_row(
        "SELECT strftime(now() AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')",
        [],
        |r| r.get(0),
    )?)
}

/// Every file under `dir` (but the manifest), by its path with `/`, sorted.
fn file_sums(dir: &Path) -> Result<Vec<FileSum>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, &e))? {
            let path = entry.map_err(|e| io(&d, &e))?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .map_err(|e| Error::Internal(e.to_string()))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if rel == MANIFEST {
                continue;
            }
            let (bytes, sha256) = sha256_file(&path)?;
            out.push(FileSum {
                path: rel,
                bytes,
                sha256,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<(u64, String), Error> {
    let mut f = std::fs::File::open(path).map_err(|e| io(path, &e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(|e| io(path, &e))?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, format!("{:x}", h.finalize())))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to).map_err(|e| io(to, &e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io(from, &e))? {
        let path: PathBuf = entry.map_err(|e| io(from, &e))?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(|e| io(&target, &e))?;
        }
    }
    Ok(())
}
