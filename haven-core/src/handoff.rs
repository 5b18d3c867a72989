//! How a running server announces itself to `haven` commands on the same machine: a file
//! beside the database, readable only by the user who runs the server, with the loopback
//! address and a secret that identifies the local operator.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a running server announces.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerFile {
    pub pid: u32,
    pub url: String,
    pub token: String,
    pub instance: String,
}

/// `<database>.server.json`.
pub fn server_file_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".server.json");
    db.with_file_name(name)
}

/// Writes the announcement, readable only by this user.
pub fn write_server_file(path: &Path, info: &ServerFile) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    // Written under another name, then renamed: a reader never meets half of it.
    let partial = path.with_extension("json.partial");
    let mut f = opts.open(&partial)?;
    f.write_all(serde_json::to_string(info).unwrap_or_default().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&partial, path)
}

/// The server announced for `db`, if its file is there and readable.
pub fn read_server_file(db: &Path) -> Option<ServerFile> {
    let text = std::fs::read_to_string(server_file_path(db)).ok()?;
    serde_json::from_str(&text).ok()
}
