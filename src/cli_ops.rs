//! `haven erase`, `haven backup` and `haven restore`: running a Haven for years. Beside a
//! running server each is handed to it (the server holds the database), as `haven users` is.

use std::path::{Path, PathBuf};
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

/// Who the command is, for `erasures` (the audit log names the server's callers itself).
fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

pub fn erase(db: &Path, settings: &Settings, cmd: &EraseCmd) -> Result<ExitCode> {
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
    let store = crate::open_store(db)?;
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

pub fn backup(db: &Path, settings: &Settings, args: &BackupArgs) -> Result<ExitCode> {
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
        let store = crate::open_store(db)?;
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

pub fn restore(db: &Path, settings: &Settings, args: &RestoreArgs) -> Result<ExitCode> {
    if args.check {
        let m = haven_core::backup::verify(&args.dir)?;
        eprintln!(
            "the backup of {} is whole: {} files and {} tables match their checksums",
            m.created_at,
            m.files.len(),
            m.tables.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let m = haven_core::backup::restore(&args.dir, db, &settings.release.root)?;
    eprintln!(
        "restored the backup of {} into {} (releases in {}): {} tables match their hashes",
        m.created_at,
        db.display(),
        settings.release.root.display(),
        m.tables.len()
    );
    Ok(ExitCode::SUCCESS)
}
