//! `haven jobs list | run NAME | history NAME`: the scheduled imports of `haven.toml`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use haven_core::Settings;

#[derive(Args)]
pub struct JobsCmd {
    #[command(subcommand)]
    pub action: JobsAction,
}

#[derive(Subcommand)]
pub enum JobsAction {
    /// The jobs: dataset, source, schedule, next run and last outcome.
    List,
    /// Run a job now, as the schedule would: fetch, load, analyse and publish. When `haven
    /// serve` holds the database, the server runs it.
    Run { name: String },
    /// The latest runs of a job: when, outcome, batch, rejected rows, message.
    History {
        name: String,
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn config(path: Option<&Path>) -> Result<(PathBuf, jobs::Config)> {
    let Some(path) = path else {
        bail!(
            "there is no haven.toml here: copy haven.example.toml to it and adapt the jobs, or name one with --config"
        );
    };
    if !path.exists() {
        bail!(
            "{} does not exist: copy haven.example.toml to it and adapt the jobs",
            path.display()
        );
    }
    let mut config = jobs::Config::load(path)?;
    config.resolve_secrets(&|k| std::env::var(k).ok());
    Ok((path.to_path_buf(), config))
}

/// The exit code of a run: 1 failed or skipped, 2 refused or rows rejected.
fn exit_of(outcome: &str) -> ExitCode {
    match outcome {
        "failed" | "skipped" => ExitCode::from(1),
        "refused" | "loaded_with_rejections" => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    }
}

fn print_run(r: &serde_json::Value) {
    let batches = r["batches"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    eprintln!(
        "{}: {} (run {}){}{}",
        r["job"].as_str().unwrap_or_default(),
        r["outcome"].as_str().unwrap_or_default(),
        r["run_id"],
        if batches.is_empty() {
            String::new()
        } else {
            format!(", batch {}", r["batches"])
        },
        r["message"]
            .as_str()
            .map(|m| format!("\n  {m}"))
            .unwrap_or_default()
    );
}

pub fn run(settings: &Settings, config_path: Option<&Path>, cmd: &JobsCmd) -> Result<ExitCode> {
    let db = settings.database.as_path();
    let (path, config) = config(config_path)?;
    let find = |name: &str| {
        config.job(name).ok_or_else(|| {
            let names: Vec<&str> = config.jobs.iter().map(jobs::Job::name).collect();
            anyhow!(
                "no job '{name}' in {} (jobs: {})",
                path.display(),
                names.join(", ")
            )
        })
    };
    match &cmd.action {
        JobsAction::List => {
            let store = crate::open_read_only(settings).ok();
            let server = store
                .is_none()
                .then(|| crate::cli_ingest::running_server(db))
                .flatten();
            let now = chrono::Utc::now();
            for j in &config.jobs {
                let last = match (&store, &server) {
                    (Some(s), _) => jobs::history(s, j.name(), 1).ok(),
                    (None, Some(info)) => runs_from_server(info, j.name(), 1).ok(),
                    (None, None) => None,
                }
                .and_then(|h| h.into_iter().next())
                .map(|h| format!("{} at {}", h.outcome, h.started_at))
                .unwrap_or_else(|| "never run".into());
                let next = j
                    .next_run(now)
                    .map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
                    .unwrap_or_default();
                println!(
                    "{}\n  dataset {} · {}\n  schedule \"{}\" ({}) · next {next}\n  last: {last}",
                    j.name(),
                    j.dataset(),
                    j.source_text(),
                    j.schedule.get_ref(),
                    j.timezone.get_ref()
                );
            }
            if store.is_none() && server.is_none() && db.exists() {
                eprintln!(
                    "(the last runs are not shown: {} is held by the server)",
                    db.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsAction::Run { name } => {
            let job = find(name)?;
            if let Some(info) = crate::cli_ingest::running_server(db) {
                eprintln!("A Haven server holds {}; it runs the job", db.display());
                let r = crate::cli_ingest::server_call(
                    &info,
                    "POST",
                    &format!("/api/v1/admin/jobs/{}/run", job.name()),
                    Some(serde_json::json!({})),
                )?;
                print_run(&r);
                return Ok(exit_of(r["outcome"].as_str().unwrap_or_default()));
            }
            let store = crate::open_store(settings)?;
            let r = jobs::run_job(&store, job, settings);
            print_run(&serde_json::to_value(&r)?);
            Ok(exit_of(r.outcome.as_str()))
        }
        JobsAction::History { name, limit } => {
            find(name)?;
            let rows = match crate::cli_ingest::running_server(db) {
                Some(info) => runs_from_server(&info, name, *limit)?,
                None => {
                    let store = crate::open_read_only(settings)
                        .with_context(|| format!("opening {}", db.display()))?;
                    jobs::history(&store, name, *limit)?
                }
            };
            if rows.is_empty() {
                println!("{name} has not run yet");
            }
            for h in rows {
                println!(
                    "{:>5}  {}  {:<22} batch {:<6} rejected {:<5} {}",
                    h.run_id,
                    h.started_at,
                    h.outcome,
                    h.batch_id.map(|b| b.to_string()).unwrap_or("-".into()),
                    h.rows_rejected.unwrap_or(0),
                    h.message.unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The latest runs of a job, from the server that holds the database.
fn runs_from_server(
    info: &haven_core::handoff::ServerFile,
    job: &str,
    limit: usize,
) -> Result<Vec<jobs::JobRun>> {
    let path = format!("/api/v1/officer/jobs?job={}&limit={limit}", encode(job));
    let runs = crate::cli_ingest::server_call(info, "GET", &path, None)?;
    Ok(serde_json::from_value(runs)?)
}

/// A job name as a query value (names are letters, digits, `-` and `_`; anything else is
/// percent-encoded).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
