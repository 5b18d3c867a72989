//! `haven erase`, `haven backup`, `haven restore` and `haven rekey`: running a Haven for
//! years. Beside a running server the first two are handed to it (the server holds the
//! database), as `haven users` is.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use haven_core::Settings;

use crate::cli_ingest;

#[derive(Args)]
pub struct EraseCmd {
    #[command(subcommand)]
    what: EraseWhat,
}

#[derive(Subcommand)]
enum EraseWhat {
    /// Erase one household on its request: its placements, and the rejected rows that name
    /// it. A file loaded later does not bring it back (its reference is kept only as a SHA-256,
    /// in `erasures`). The indicators are recomputed at once; the public figures change at the
    /// next release, which the disclosure step checks against every earlier one.
    Household {
        /// The household's reference, as the placements file gives it.
        reference: String,
    },
    /// Delete now the placements past the retention period ([retention] placements_months in
    /// haven.toml); `haven serve` does it every day.
    Expired,
}

#[derive(Args)]
pub struct BackupArgs {
    /// A new folder for the backup: the database snapshot, the releases and MANIFEST.json with
    /// every file's checksum and every table's content hash.
    pub dir: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A folder written by `haven backup`; checked whole before anything is restored.
    pub dir: PathBuf,
    /// Only check the backup; restore nothing.
    #[arg(long)]
    pub check: bool,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("to").required(true).args(["new_key_file", "new_key_command", "decrypt"])))]
pub struct RekeyArgs {
    /// The new key is the text of this file (make one with `openssl rand -base64 32 > FILE`
    /// and `chmod 600 FILE`).
    #[arg(long, value_name = "FILE")]
    pub new_key_file: Option<PathBuf>,
    /// The new key is what this command prints (a secrets manager).
    #[arg(long, value_name = "COMMAND")]
    pub new_key_command: Option<String>,
    /// Write the database back in plain form.
    #[arg(long)]
    pub decrypt: bool,
}

/// Who the command is, for `erasures` (the audit log names the server's callers itself).
fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

pub fn erase(settings: &Settings, cmd: &EraseCmd) -> Result<ExitCode> {
    let db = settings.database.as_path();
    if let Some(info) = cli_ingest::running_server(db) {
        let answer = match &cmd.what {
            EraseWhat::Household { reference } => cli_ingest::server_call(
                &info,
                "POST",
                "/api/v1/admin/erase",
                Some(serde_json::json!({ "household_ref": reference })),
            )?,
            EraseWhat::Expired => {
                cli_ingest::server_call(&info, "POST", "/api/v1/admin/retention", None)?
            }
        };
        let report = serde_json::from_value(answer).ok();
        return Ok(said(&cmd.what, report));
    }
    let store = crate::open_store(settings)?;
    let report = match &cmd.what {
        EraseWhat::Household { reference } => Some(haven_core::erase::household(
            &store,
            settings,
            reference,
            &actor(),
        )?),
        EraseWhat::Expired => haven_core::erase::retention(&store, settings, &actor())?,
    };
    Ok(said(&cmd.what, report))
}

fn said(what: &EraseWhat, report: Option<haven_core::erase::ErasureReport>) -> ExitCode {
    match (what, report) {
        (EraseWhat::Expired, None) => {
            eprintln!("no retention period is set ([retention] placements_months in haven.toml)");
        }
        (_, None) => eprintln!("erased (the server gave no report)"),
        (_, Some(r)) => {
            eprintln!(
                "erased {} placements and {} rejected rows{}",
                r.erased.placements,
                r.erased.rejected_rows,
                if r.analysed {
                    "; the indicators are up to date without them"
                } else {
                    ""
                }
            );
            if let EraseWhat::Household { .. } = what {
                eprintln!(
                    "the household is not loaded again from any file; the public figures change at the next release"
                );
            }
        }
    }
    ExitCode::SUCCESS
}

pub fn backup(settings: &Settings, args: &BackupArgs) -> Result<ExitCode> {
    let db = settings.database.as_path();
    let dir = std::path::absolute(&args.dir)?;
    let manifest: haven_core::backup::Manifest = if let Some(info) = cli_ingest::running_server(db)
    {
        let answer = cli_ingest::server_call(
            &info,
            "POST",
            "/api/v1/admin/backup",
            Some(serde_json::json!({ "dir": dir.to_string_lossy() })),
        )?;
        serde_json::from_value(answer).context("the server's backup manifest")?
    } else {
        let store = crate::open_store(settings)?;
        haven_core::backup::backup(&store, &settings.release.root, &dir)?
    };
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let rows: i64 = manifest.tables.iter().map(|t| t.rows).sum();
    eprintln!(
        "backed up {} tables ({rows} rows) and {} files ({:.1} MB) into {}; `haven restore {}` checks and restores it",
        manifest.tables.len(),
        manifest.files.len(),
        bytes as f64 / 1e6,
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn restore(settings: &Settings, args: &RestoreArgs) -> Result<ExitCode> {
    let db = settings.database.as_path();
    if args.check {
        let m = haven_core::backup::verify(&args.dir, &settings.encryption)?;
        eprintln!(
            "the backup of {} is whole: {} files and {} tables match their checksums",
            m.created_at,
            m.files.len(),
            m.tables.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let m =
        haven_core::backup::restore(&args.dir, db, &settings.release.root, &settings.encryption)?;
    eprintln!(
        "restored the backup of {} into {} (releases in {}): {} tables match their hashes",
        m.created_at,
        db.display(),
        settings.release.root.display(),
        m.tables.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn rekey(settings: &Settings, args: &RekeyArgs) -> Result<ExitCode> {
    use ingest::encryption::KeySource;
    let db = settings.database.as_path();
    if cli_ingest::running_server(db).is_some() {
        anyhow::bail!(
            "a Haven server holds {}: stop it first (a new key needs the database to itself)",
            db.display()
        );
    }
    anyhow::ensure!(
        db.exists(),
        "no database at {}; nothing to re-encrypt",
        db.display()
    );
    let to = match (&args.new_key_file, &args.new_key_command) {
        (Some(f), _) => ingest::Encryption::with_key(KeySource::File(f.clone())),
        (_, Some(c)) => ingest::Encryption::with_key(KeySource::Command(c.clone())),
        _ => ingest::Encryption::none(),
    }
    .extensions(settings.encryption.extension_folder());
    // Read the new key before anything is touched, so a mistake in it changes nothing.
    to.key()?;
    let store = crate::open_store(settings)?;
    let was = if settings.encryption.is_on() {
        "encrypted"
    } else {
        "plain"
    };
    let tables = haven_core::backup::rekey(store, &to)?;
    let rows: i64 = tables.iter().map(|t| t.rows).sum();
    match to.source() {
        Some(source) => eprintln!(
            "{} ({was} before) is now encrypted with the key from {}: {} tables, {rows} rows, checked. \
             Give Haven that key from now on ([database] key_file or key_command, or HAVEN_DB_KEY_FILE), \
             and keep the old key until the backups made with it have expired.",
            db.display(),
            source.describe(),
            tables.len()
        ),
        None => eprintln!(
            "{} ({was} before) is now plain: {} tables, {rows} rows, checked. Unset the database key.",
            db.display(),
            tables.len()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
