//! The jobs on their schedules inside `haven serve` (tokio-cron-scheduler). Each trigger runs
//! on a connection of its own beside the server's, in a blocking thread, so a slow download
//! holds up no request; afterwards the server is told the data changed. Runs a stopped server
//! left `running` are marked `interrupted`, and a run whose time passed while the server was
//! down is made once at start-up.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

use crate::config::{Config, Job};
use crate::{Error, Result, run_job};

fn sched_err(e: impl std::fmt::Display) -> Error {
    Error::Schedule(e.to_string())
}

/// Runs one job on a fresh connection, off the async runtime.
async fn trigger(base: Arc<Mutex<ingest::Store>>, job: Job, state: api::AppState) {
    let root = state.published_root().to_path_buf();
    let done = tokio::task::spawn_blocking(move || {
        let store = base
            .lock()
            .map_err(|_| "store lock poisoned".to_string())?
            .try_clone()
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(run_job(&store, &job, &root))
    })
    .await;
    match done {
        // Loads change answers, and any run may change a dataset's freshness.
        Ok(Ok(_)) => state.data_changed(),
        Ok(Err(e)) => tracing::error!(cause = %e, "a scheduled run could not start"),
        Err(e) => tracing::error!(cause = %e, "a scheduled run stopped"),
    }
}

/// Starts the scheduler for the jobs of `config`, on a connection cloned from `store`.
pub async fn start(
    config: &Config,
    store: &ingest::Store,
    state: api::AppState,
) -> Result<JobScheduler> {
    let base = Arc::new(Mutex::new(
        store
            .try_clone()
            .map_err(|e| Error::Schedule(e.to_string()))?,
    ));
    let recovered = crate::recover(store).map_err(Error::Schedule)?;
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
        let (b, j, s) = (Arc::clone(&base), job.clone(), state.clone());
        let cron = CronJob::new_async_tz(job.schedule.get_ref().as_str(), tz, move |_, _| {
            let (b, j, s) = (Arc::clone(&b), j.clone(), s.clone());
            Box::pin(trigger(b, j, s))
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
            tokio::spawn(trigger(Arc::clone(&base), job.clone(), state.clone()));
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
