//! The jobs on their schedules inside `haven serve` (tokio-cron-scheduler). Each trigger runs
//! on a connection of its own beside the server's, in a blocking thread, so a slow download
//! holds up no request; afterwards the server is told the data changed. Runs a stopped server
//! left `running` are marked `interrupted`, and a run whose time passed while the server was
//! down is made once at start-up.

use std::str::FromStr;
use std::sync::Arc;

use haven_core::{Database, Settings};
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

use crate::config::{Config, Job};
use crate::{Error, Result, run_job};

/// What the scheduler needs from the process that runs it: the database, the settings, and
/// whom to tell that data changed (the server's answer cache).
#[derive(Clone)]
pub struct Context {
    pub db: Arc<Database>,
    pub settings: Arc<Settings>,
    pub changed: Arc<dyn Fn() + Send + Sync>,
}

fn sched_err(e: impl std::fmt::Display) -> Error {
    Error::Schedule(e.to_string())
}

/// Runs one job on a connection of its own, off the async runtime.
async fn trigger(cx: Context, job: Job) {
    let (db, settings) = (cx.db.clone(), cx.settings.clone());
    let done = tokio::task::spawn_blocking(move || {
        let store = db.connect()?;
        Ok::<_, haven_core::Error>(run_job(&store, &job, &settings))
    })
    .await;
    match done {
        // Loads change answers, and any run may change a dataset's freshness.
        Ok(Ok(_)) => (cx.changed)(),
        Ok(Err(e)) => tracing::error!(cause = %e, "a scheduled run could not start"),
        Err(e) => tracing::error!(cause = %e, "a scheduled run stopped"),
    }
}

/// Applies the retention period of the settings (`[retention] placements_months`) now and
/// every day after, on the writer, off the async runtime; nothing when no period is set.
pub fn start_retention(cx: Context) -> Option<tokio::task::JoinHandle<()>> {
    cx.settings.retention.placements_months?;
    Some(tokio::spawn(async move {
        loop {
            let (db, settings) = (cx.db.clone(), cx.settings.clone());
            let done = tokio::task::spawn_blocking(move || {
                db.write(|store| haven_core::erase::retention(store, &settings, "retention"))
            })
            .await;
            match done {
                Ok(Ok(Some(r))) if r.erased.placements > 0 => {
                    tracing::info!(placements = r.erased.placements, "retention period applied");
                    (cx.changed)();
                }
                Ok(Err(e)) => {
                    tracing::error!(cause = %e, "the retention period could not be applied")
                }
                Err(e) => tracing::error!(cause = %e, "the retention task stopped"),
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)).await;
        }
    }))
}

/// Starts the scheduler for the jobs of `config`; each run takes a connection of its own.
pub async fn start(config: &Config, cx: Context) -> Result<JobScheduler> {
    let store = cx.db.connect().map_err(sched_err)?;
    let recovered = crate::recover(&store)?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "job runs cut short by a stop are marked interrupted"
        );
    }
    let sched = JobScheduler::new().await.map_err(sched_err)?;
    let now = chrono::Utc::now();
    for job in &config.jobs {
        let tz = chrono_tz::Tz::from_str(job.timezone.get_ref()).map_err(sched_err)?;
        let (c, j) = (cx.clone(), job.clone());
        let cron = CronJob::new_async_tz(job.schedule.get_ref().as_str(), tz, move |_, _| {
            Box::pin(trigger(c.clone(), j.clone()))
        })
        .map_err(sched_err)?;
        sched.add(cron).await.map_err(sched_err)?;
        // Missed while down: the last scheduled time is after the last run's start.
        let last: Option<i64> = store
            .conn()
            .query_row(
                "SELECT epoch(max(started_at))::BIGINT FROM job_runs WHERE job = ?",
                [job.name()],
                |r| r.get(0),
            )
            .map_err(|e| Error::Schedule(e.to_string()))?;
        if let (Some(due), Some(last)) = (job.previous_run(now), last)
            && due.timestamp() > last
        {
            tracing::info!(
                job = job.name(),
                "a run was missed while the server was down: running it once now"
            );
            tokio::spawn(trigger(cx.clone(), job.clone()));
        }
        tracing::info!(
            job = job.name(),
            next = %job.next_run(now).map(|t| t.to_rfc3339()).unwrap_or_default(),
            "job scheduled"
        );
    }
    sched.start().await.map_err(sched_err)?;
    Ok(sched)
}
