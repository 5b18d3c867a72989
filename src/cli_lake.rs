//! `haven lake`: the region's lake (DuckLake over PostgreSQL and object storage): push a
//! release to it, list what it holds, read a table from it, also as it stood at a release.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use haven_core::Settings;

#[derive(Args)]
pub struct LakeCmd {
    #[command(subcommand)]
    action: LakeAction,
}

#[derive(Subcommand)]
enum LakeAction {
    /// Send a release of this database (default: the latest) to the lake: its published tables
    /// to the public catalogue, the true figures behind them to the restricted one, each in one
    /// commit. A release already there is left alone; a conflicting writer's commit makes this
    /// one try again. Beside a running server, the server sends it. (`haven publish` sends
    /// every new release by itself when a lake is set.)
    Push {
        /// The release's version.
        #[arg(long)]
        release: Option<u32>,
        /// Send it through the region's intake at this URL (a Haven that holds the lake's
        /// writer credentials) instead of writing to the lake: then this municipality needs no
        /// lake credentials, only the token of one of its users on the intake, in
        /// HAVEN_INTAKE_TOKEN.
        #[arg(long, env = "HAVEN_INTAKE", value_name = "URL")]
        intake: Option<String>,
        /// The token (better left to the environment: HAVEN_INTAKE_TOKEN).
        #[arg(long, env = "HAVEN_INTAKE_TOKEN", hide_env_values = true, hide = true)]
        intake_token: Option<String>,
    },
    /// Upkeep (schedule it, for example weekly): expire snapshots older than --keep-days
    /// (their releases can then no longer be read as they stood; each municipality's current
    /// release stays), delete the files only they used, and the files no snapshot names (what
    /// a killed push left) once older than --orphan-minutes. Needs the writers' credentials.
    Maintain {
        #[arg(long, default_value_t = 90)]
        keep_days: u32,
        /// Younger files may belong to a push in flight.
        #[arg(long, default_value_t = 60)]
        orphan_minutes: u32,
    },
    /// List the releases the lake's history holds (public catalogue): municipality, version,
    /// its snapshot, when it landed, and whether it is the municipality's current one.
    Releases {
        /// As JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Write a table of the lake as CSV (to standard output, or --out): every municipality's
    /// current rows, one municipality's, or with --release the rows of that release as its
    /// snapshot holds them, whatever landed since.
    Read {
        /// The table (a dataset of the releases, with - as _: indicators, vacant_stock, …).
        table: String,
        #[arg(long)]
        municipality: Option<String>,
        /// A release of the municipality (needs --municipality).
        #[arg(long)]
        release: Option<u32>,
        /// Read the restricted catalogue (needs the lake's writer credentials).
        #[arg(long)]
        restricted: bool,
        /// The CSV file to write.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn lake(db: &std::path::Path, settings: &Settings, cmd: &LakeCmd) -> Result<ExitCode> {
    if let LakeAction::Push {
        release,
        intake: Some(url),
        intake_token,
    } = &cmd.action
    {
        return push_to_intake(db, settings, *release, url, intake_token.as_deref());
    }
    let lake_settings = haven_core::region::settings(settings)?;
    match &cmd.action {
        LakeAction::Push { release, .. } => {
            let pushed = if let Some(info) = crate::cli_ingest::running_server(db) {
                eprintln!(
                    "A Haven server holds {}; asking it to push the release",
                    db.display()
                );
                let v = crate::cli_ingest::server_call(
                    &info,
                    "POST",
                    "/api/v1/admin/lake/push",
                    Some(serde_json::json!({"release": release})),
                )?;
                serde_json::from_value(v)?
            } else {
                let store = crate::open_read_only(settings)?;
                let p = haven_core::region::push(&store, settings, *release)?;
                serde_json::to_value(p)?
            };
            print_pushed(&pushed);
            Ok(ExitCode::SUCCESS)
        }
        LakeAction::Maintain {
            keep_days,
            orphan_minutes,
        } => {
            let lake = lake::Lake::open(lake_settings, lake::Access::Writer)?;
            let m = lake.maintain(*keep_days, *orphan_minutes)?;
            eprintln!(
                "lake: {} snapshots expired, {} files of theirs and {} orphaned files deleted",
                m.snapshots_expired, m.files_deleted, m.orphans_deleted
            );
            Ok(ExitCode::SUCCESS)
        }
        LakeAction::Releases { json } => {
            let lake = lake::Lake::open(lake_settings, lake::Access::Public)?;
            let releases = lake.releases()?;
            if *json {
                for r in &releases {
                    println!("{}", serde_json::to_string(r)?);
                }
            } else if releases.is_empty() {
                eprintln!("The lake holds no release yet.");
            } else {
                println!(
                    "{:<14} {:>7} {:>9}  {:<20}  {:<20}  current",
                    "municipality", "release", "snapshot", "published", "landed"
                );
                for r in &releases {
                    println!(
                        "{:<14} {:>7} {:>9}  {:<20}  {:<20}  {}",
                        r.municipality,
                        r.version,
                        r.snapshot,
                        r.published_at,
                        r.committed_at,
                        if r.current { "yes" } else { "" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LakeAction::Read {
            table,
            municipality,
            release,
            restricted,
            out,
        } => {
            let access = if *restricted {
                lake::Access::Writer
            } else {
                lake::Access::Public
            };
            let lake = lake::Lake::open(lake_settings, access)?;
            let target = out.clone().unwrap_or_else(|| PathBuf::from("/dev/stdout"));
            let rows = match lake.export(
                table,
                municipality.as_deref(),
                *release,
                *restricted,
                &target,
            ) {
                Ok(n) => n,
                // A reader that stopped reading (`| head`) is not an error.
                Err(e) if out.is_none() && e.to_string().contains("Broken pipe") => {
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) => return Err(e.into()),
            };
            if out.is_some() {
                eprintln!("lake: {rows} rows of {table} in {}", target.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line on what reached the lake, from the core's answer or the server's.
/// `haven lake push --intake URL`: the release packed here (or by the running server), sent
/// to the region's intake with the token of one of this municipality's users there.
fn push_to_intake(
    db: &std::path::Path,
    settings: &Settings,
    release: Option<u32>,
    url: &str,
    token: Option<&str>,
) -> Result<ExitCode> {
    let token = token.context(
        "the intake needs the token of one of this municipality's users on it: set HAVEN_INTAKE_TOKEN",
    )?;
    let url = url.trim_end_matches('/');
    let packed = if let Some(info) = crate::cli_ingest::running_server(db) {
        eprintln!(
            "A Haven server holds {}; asking it to pack the release",
            db.display()
        );
        let path = match release {
            Some(v) => format!("/api/v1/admin/lake/package?release={v}"),
            None => "/api/v1/admin/lake/package".to_string(),
        };
        crate::cli_ingest::server_file(&info, &path)?.1
    } else {
        let store = crate::open_read_only(settings)?;
        let prepared = haven_core::region::prepare(&store, settings, release)?;
        haven_core::intake::pack(&prepared.release)?
    };
    eprintln!(
        "sending the release ({:.1} MiB) to the region's intake at {url}",
        packed.len() as f64 / (1 << 20) as f64
    );
    let (_, answer) = crate::cli_ingest::request(
        url,
        token,
        "POST",
        "/api/v1/region/releases",
        Some(("application/zip", packed)),
    )
    .with_context(|| format!("the region's intake at {url}"))?;
    print_pushed(&serde_json::from_slice(&answer)?);
    Ok(ExitCode::SUCCESS)
}

pub fn print_pushed(p: &serde_json::Value) {
    if p["already"] == true {
        eprintln!(
            "lake: release {} of {} is there already (snapshot {})",
            p["version"],
            p["municipality"].as_str().unwrap_or_default(),
            p["snapshot"]
        );
    } else {
        eprintln!(
            "lake: release {} of {} landed as snapshot {} (restricted: {}): {} tables, {} rows, {} retries after conflicts with other writers",
            p["version"],
            p["municipality"].as_str().unwrap_or_default(),
            p["snapshot"],
            p["restricted_snapshot"],
            p["tables"],
            p["rows"],
            p["retries"]
        );
    }
}
