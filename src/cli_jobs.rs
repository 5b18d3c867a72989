//! `haven jobs list | run NAME | history NAME`: the scheduled imports of `haven.toml`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct JobsCmd {
    /// The configuration file with the jobs.
    #[arg(long, env = "HAVEN_CONFIG", default_value = "haven.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub action: JobsAction,
}

#[derive(Subcommand)]
pub enum JobsAction {
    /// The jobs: dataset, source, schedule, next run and last outcome.
    List,
    /// Run a job now, as the schedule would: fetch, load, analyse and publish.
    Run { name: String },
    /// The latest runs of a job: when, outcome, batch, rejected rows, message.
    History {
        name: String,
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn config(path: &Path) -> Result<jobs::Config> {
    if !path.exists() {
        bail!(
            "{} does not exist: copy haven.example.toml to it and adapt the jobs",
            path.display()
        );
    }
    Ok(jobs::Config::load(path)?)
}

pub fn run(db: &Path, cmd: &JobsCmd) -> Result<ExitCode> {
    let config = config(&cmd.config)?;
    let find = |name: &str| {
        config.job(name).ok_or_else(|| {
            let names: Vec<&str> = config.jobs.iter().map(jobs::Job::name).collect();
            anyhow!(
                "no job '{name}' in {} (jobs: {})",
                cmd.config.display(),
                names.join(", ")
            )
        })
    };
    match &cmd.action {
        JobsAction::List => {
            let store = ingest::Store::open_read_only(db).ok();
            let now = chrono::Utc::now();
            for j in &config.jobs {
                let last = store
                    .as_ref()
                    .and_then(|s| jobs::history(s, j.name(), 1).ok())
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
            if store.is_none() && db.exists() {
                eprintln!(
                    "(the last runs are not shown: {} is held by the server)",
                    db.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsAction::Run { name } => {
            let job = find(name)?;
            let store = ingest::Store::open(db).with_context(|| {
                format!(
                    "opening {} (while `haven serve` runs, it runs the jobs on schedule)",
                    db.display()
                )
            })?;
            let root = crate::cli_publish::PublishArgs::from_env()
                .published
                .unwrap_or_else(|| api::publish::default_root(db));
            let r = jobs::run_job(&store, job, &root);
            eprintln!(
                "{}: {} (run {}){}{}",
                r.job,
                r.outcome.as_str(),
                r.run_id,
                if r.batches.is_empty() {
                    String::new()
                } else {
                    format!(", batch {:?}", r.batches)
                },
                r.message
                    .as_deref()
                    .map(|m| format!("\n  {m}"))
                    .unwrap_or_default()
            );
            Ok(match r.outcome {
                jobs::Outcome::Failed | jobs::Outcome::Skipped => ExitCode::from(1),
                jobs::Outcome::Refused | jobs::Outcome::LoadedWithRejections => ExitCode::from(2),
                _ => ExitCode::SUCCESS,
            })
        }
        JobsAction::History { name, limit } => {
            find(name)?;
            let store = ingest::Store::open_read_only(db)
                .with_context(|| format!("opening {}", db.display()))?;
            let rows = jobs::history(&store, name, *limit).map_err(|e| anyhow!(e))?;
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
