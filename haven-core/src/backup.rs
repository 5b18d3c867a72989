//! Backups: a consistent snapshot of the database and the releases, with checksums, taken
//! while the server runs; and a restore that checks everything before anything is put in
//! place.
//!
//! The snapshot is DuckDB's own `COPY FROM DATABASE` into a new database file, run on the
//! writer: it sees one committed state (no write is half in it), and readers go on meanwhile.
//! The release folders are immutable once written, so they are copied as files. The folder
//! holds `haven.duckdb`, `published/`, and `MANIFEST.json`: every file's size and SHA-256, and
//! every table's row count and content hash (an order-independent hash of its rows, which
//! the restore recomputes on what it restored).

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
    let quoted = snapshot.to_string_lossy().replace('\'', "''");
    conn.execute_batch(&format!(
        "ATTACH '{quoted}' AS haven_backup;
         COPY FROM DATABASE \"{current}\" TO haven_backup;
         DETACH haven_backup;"
    ))
    .map_err(|e| {
        let _ = conn.execute_batch("DETACH DATABASE IF EXISTS haven_backup");
        Error::from(e)
    })?;
    if published.is_dir() {
        copy_tree(published, &dir.join(PUBLISHED))?;
    }
    let tables = table_sums(&snapshot)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        haven_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now_utc(conn)?,
        files: file_sums(dir)?,
        tables,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    std::fs::write(dir.join(MANIFEST), text).map_err(|e| io(dir, &e))?;
    Ok(manifest)
}

/// Checks a backup folder: its manifest, every file's size and SHA-256, no file missing or
/// added, and the snapshot's tables against their recorded hashes.
pub fn verify(dir: &Path) -> Result<Manifest, Error> {
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
    check_tables(&dir.join(DATABASE), &manifest.tables)?;
    Ok(manifest)
}

/// Restores a checked backup: the database to `db` and the releases to `published`, neither
/// of which may exist. The database is written beside its place, checked table by table, and
/// only then moved into place.
pub fn restore(dir: &Path, db: &Path, published: &Path) -> Result<Manifest, Error> {
    let manifest = verify(dir)?;
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
    if let Err(e) = check_tables(&partial, &manifest.tables) {
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
pub fn table_sums(db: &Path) -> Result<Vec<TableSum>, Error> {
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?;
    let conn = duckdb::Connection::open_with_flags(db, config)?;
    let names: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT table_name FROM information_schema.tables
             WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name",
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

fn check_tables(db: &Path, want: &[TableSum]) -> Result<(), Error> {
    let got = table_sums(db)?;
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
