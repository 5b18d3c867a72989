//! Encryption at rest: DuckDB's own database encryption (AES-256-GCM, every block of the file,
//! its write-ahead log and its temporary files), with a key that Haven is given from a file,
//! the environment or a command (so a secrets manager can supply it), never written anywhere
//! by Haven and never part of a message.
//!
//! An encrypted database is opened as DuckDB requires: an in-memory connection that
//! `ATTACH`es the file with its key and makes it the default catalogue (`USE`). A connection
//! cloned from it starts on the in-memory catalogue again, so every clone goes through
//! [`clone_connection`]. Writing an encrypted file needs DuckDB's httpfs extension (its
//! OpenSSL; DuckDB refuses to write with its built-in read-only cipher), loaded from the
//! folder `scripts/setup-duckdb.sh` fills, with DuckDB's signature check on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use duckdb::Connection;

use crate::error::{Error, Result};

/// The catalogue name of an attached encrypted database.
pub const CATALOG: &str = "haven";

/// Keys shorter than this are refused: DuckDB derives the AES key from the text, so the text
/// must carry the strength (`openssl rand -base64 32` gives 44 characters).
pub const MIN_KEY_CHARS: usize = 16;

/// A database key. It prints as `DatabaseKey(…)`, never its text.
#[derive(Clone)]
pub struct DatabaseKey(Arc<str>);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(…)")
    }
}

impl DatabaseKey {
    /// A key from its text (a trailing line break is not part of it).
    pub fn new(text: &str, from: &str) -> Result<DatabaseKey> {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.chars().count() < MIN_KEY_CHARS {
            return Err(Error::Invalid(format!(
                "the database key from {from} is shorter than {MIN_KEY_CHARS} characters; \
                 make one with `openssl rand -base64 32`"
            )));
        }
        if text.contains('\0') {
            return Err(Error::Invalid(format!(
                "the database key from {from} holds a NUL character"
            )));
        }
        Ok(DatabaseKey(text.into()))
    }

    /// The key as an SQL string literal.
    fn literal(&self) -> String {
        format!("'{}'", self.0.replace('\'', "''"))
    }

    /// `text` with the key (and its SQL-quoted form) cut out, for messages that might echo it.
    fn scrub(&self, text: &str) -> String {
        let quoted = self.0.replace('\'', "''");
        text.replace(&quoted, "…").replace(&*self.0, "…")
    }
}

/// Where the database key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// Given whole, by the environment variable named.
    Value { variable: String, key: DatabaseKey },
    /// The text of a file (its trailing line break aside).
    File(PathBuf),
    /// What a command prints on its standard output, run with `sh -c` (`pass show haven/db`,
    /// `vault kv get -field=key secret/haven`, `systemd-creds cat haven-db-key`).
    Command(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl KeySource {
    /// Where the key comes from, for messages (never the key).
    pub fn describe(&self) -> String {
        match self {
            KeySource::Value { variable, .. } => variable.clone(),
            KeySource::File(p) => format!("the file {}", p.display()),
            KeySource::Command(c) => format!("the command `{c}`"),
        }
    }

    /// Reads the key: the file, or the command's output.
    pub fn read(&self) -> Result<DatabaseKey> {
        let from = self.describe();
        match self {
            KeySource::Value { key, .. } => Ok(key.clone()),
            KeySource::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                DatabaseKey::new(&text, &from)
            }
            KeySource::Command(c) => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(c)
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .map_err(|e| Error::Invalid(format!("cannot run {from}: {e}")))?;
                if !out.status.success() {
                    return Err(Error::Invalid(format!(
                        "{from} failed ({}); it should print the database key",
                        out.status
                    )));
                }
                let text = String::from_utf8(out.stdout).map_err(|_| {
                    Error::Invalid(format!("{from} printed a key that is not UTF-8 text"))
                })?;
                DatabaseKey::new(&text, &from)
            }
        }
    }
}

/// How a database file is opened: plain, or encrypted with a key from a [`KeySource`].
/// Cloning shares the key once read, so a command runs once per process.
#[derive(Clone, Debug, Default)]
pub struct Encryption {
    source: Option<KeySource>,
    /// DuckDB's extension folder (holding `v1.5.5/linux_amd64/httpfs.duckdb_extension`).
    extensions: Option<PathBuf>,
    read: Arc<Mutex<Option<DatabaseKey>>>,
}

/// Where `scripts/setup-duckdb.sh` puts DuckDB's extensions, as the build recorded it.
pub fn default_extension_dir() -> Option<PathBuf> {
    option_env!("DUCKDB_EXTENSION_DIR").map(PathBuf::from)
}

impl Encryption {
    /// No encryption: the database file is plain.
    pub fn none() -> Encryption {
        Encryption::default()
    }

    /// Encrypted with the key from `source`.
    pub fn with_key(source: KeySource) -> Encryption {
        Encryption {
            source: Some(source),
            ..Encryption::default()
        }
    }

    /// The folder of DuckDB's extensions (default: where the setup script puts them).
    pub fn extensions(mut self, dir: Option<PathBuf>) -> Encryption {
        self.extensions = dir;
        self
    }

    pub fn is_on(&self) -> bool {
        self.source.is_some()
    }

    pub fn source(&self) -> Option<&KeySource> {
        self.source.as_ref()
    }

    /// The key, read from its source the first time.
    pub fn key(&self) -> Result<Option<DatabaseKey>> {
        let Some(source) = &self.source else {
            return Ok(None);
        };
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if read.is_none() {
            *read = Some(source.read()?);
        }
        Ok(read.clone())
    }

    /// The extension folder as set (`None`: the default).
    pub fn extension_folder(&self) -> Option<PathBuf> {
        self.extensions.clone()
    }

    fn extension_dir(&self) -> Option<PathBuf> {
        self.extensions.clone().or_else(default_extension_dir)
    }

    /// An in-memory connection ready to open this database (see [`Encryption::prepare`]).
    pub(crate) fn loaded_connection(&self, writing: bool) -> Result<Connection> {
        let conn = Connection::open_in_memory()?;
        self.load(&conn, writing)?;
        Ok(conn)
    }

    /// Makes `conn` able to write files with this key: loads DuckDB's httpfs extension (its
    /// OpenSSL) when there is a key. Nothing to do for a plain database.
    pub fn prepare(&self, conn: &Connection) -> Result<()> {
        if self.is_on() {
            self.load(conn, true)?;
        }
        Ok(())
    }

    fn load(&self, conn: &Connection, writing: bool) -> Result<()> {
        conn.execute_batch(
            "SET autoinstall_known_extensions = false; SET autoload_known_extensions = false;",
        )?;
        let dir = self.extension_dir();
        let loaded = match &dir {
            Some(d) => conn
                .execute_batch(&format!(
                    "SET extension_directory = {}; LOAD httpfs;",
                    sql_text(&d.to_string_lossy())
                ))
                .map_err(|e| e.to_string()),
            None => Err("no extension folder is set".to_string()),
        };
        // Reading needs no httpfs (DuckDB decrypts with its built-in cipher); writing does.
        // With it, what DuckDB spills to disk (large sorts and joins) is encrypted too.
        if loaded.is_ok() {
            conn.execute_batch("SET temp_file_encryption = true")?;
        }
        if let (Err(reason), true) = (loaded, writing) {
            return Err(Error::Invalid(format!(
                "writing an encrypted database needs DuckDB's signed httpfs extension (for OpenSSL), \
                 which is not in {}: {reason}. Run scripts/setup-duckdb.sh, or point [database] \
                 extensions (HAVEN_DUCKDB_EXTENSIONS) at the folder that holds it",
                dir.map_or("any folder".into(), |d| d.display().to_string())
            )));
        }
        Ok(())
    }

    /// Attaches `path` on `conn` as `alias` with this key (a new file is created encrypted).
    pub fn attach(
        &self,
        conn: &Connection,
        path: &Path,
        alias: &str,
        read_only: bool,
    ) -> Result<()> {
        let key = self.key()?;
        let options = match (&key, read_only) {
            (Some(k), false) => format!(" (ENCRYPTION_KEY {})", k.literal()),
            (Some(k), true) => format!(" (ENCRYPTION_KEY {}, READ_ONLY)", k.literal()),
            (None, false) => String::new(),
            (None, true) => " (READ_ONLY)".to_string(),
        };
        let sql = format!(
            "ATTACH {} AS \"{alias}\"{options}",
            sql_text(&path.to_string_lossy())
        );
        conn.execute_batch(&sql).map_err(|e| {
            let text = match &key {
                Some(k) => k.scrub(&e.to_string()),
                None => e.to_string(),
            };
            self.explain(path, &text)
                .unwrap_or_else(|| Error::Invalid(text))
        })
    }

    /// A clear message for DuckDB's answers about keys; `None` for anything else.
    pub fn explain(&self, path: &Path, message: &str) -> Option<Error> {
        let from = self
            .source
            .as_ref()
            .map_or_else(String::new, KeySource::describe);
        let p = path.display();
        if message.contains("Wrong encryption key") {
            Some(Error::Invalid(format!(
                "the database key from {from} does not open {p}: it is not the key the database was encrypted with"
            )))
        } else if message.contains("without a key") {
            Some(Error::Invalid(format!(
                "{p} is encrypted: give its key with [database] key_file or key_command in haven.toml, \
                 or HAVEN_DB_KEY_FILE, HAVEN_DB_KEY_COMMAND or HAVEN_DB_KEY"
            )))
        } else if message.contains("is not encrypted") {
            Some(Error::Invalid(format!(
                "{p} is not encrypted, but a database key is set ({from}); encrypt it first with \
                 `haven rekey --new-key-file FILE` (with the key unset), or unset the key"
            )))
        } else {
            None
        }
    }
}

/// An SQL string literal.
fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Another connection to the database of `conn`, on the same default catalogue (a plain clone
/// of a connection to an attached database would start on the in-memory one).
pub fn clone_connection(conn: &Connection) -> Result<Connection> {
    let current: String = conn.query_row("SELECT current_database()", [], |r| r.get(0))?;
    let clone = conn.try_clone()?;
    let theirs: String = clone.query_row("SELECT current_database()", [], |r| r.get(0))?;
    if theirs != current {
        clone.execute_batch(&format!("USE \"{}\"", current.replace('"', "\"\"")))?;
    }
    Ok(clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_prints() {
        let k = DatabaseKey::new("correct horse battery staple\n", "test").unwrap();
        assert_eq!(format!("{k:?}"), "DatabaseKey(…)");
        let source = KeySource::Value {
            variable: "HAVEN_DB_KEY".into(),
            key: k.clone(),
        };
        assert_eq!(format!("{source:?}"), "HAVEN_DB_KEY");
        assert_eq!(
            k.scrub("ATTACH 'x' (ENCRYPTION_KEY 'correct horse battery staple')"),
            "ATTACH 'x' (ENCRYPTION_KEY '…')"
        );
        assert!(DatabaseKey::new("short", "test").is_err());
    }

    #[test]
    fn a_key_command_that_fails_is_named() {
        let e = KeySource::Command("exit 3".into()).read().unwrap_err();
        assert!(e.to_string().contains("the command `exit 3` failed"), "{e}");
        let k = KeySource::Command("printf 'k3y-from-a-secrets-manager\\n'".into())
            .read()
            .unwrap();
        assert_eq!(&*k.0, "k3y-from-a-secrets-manager");
    }
}
