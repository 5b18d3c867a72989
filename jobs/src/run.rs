//! One run of a job: fetch the source, load it as `haven ingest` does, then analyse and
//! publish when the data changed. Every run is a row of `job_runs` — written `running` first,
//! so a run cut short by a crash shows as `interrupted` afterwards — with its outcome, batch
//! and rejected rows. A job never runs twice at once in one process.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use haven_core::Settings;
use haven_core::pipeline::{self, LoadParams};

use crate::config::{After, Job, OnRejected};
use crate::http;
use crate::{Error, Result};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Loaded,
    LoadedWithRejections,
    /// The source had the content loaded last time: nothing was loaded.
    Unchanged,
    /// The server answered 304 Not Modified.
    NotModified,
    /// Nothing new in a watched folder, or no file matches the path.
    NoFile,
    /// The file was refused as a whole (bad columns, or rejected rows under load_nothing).
    Refused,
    Failed,
    /// Another run of the same job was under way.
    Skipped,
    /// The process stopped in the middle of the run.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Loaded => "loaded",
            Outcome::LoadedWithRejections => "loaded_with_rejections",
            Outcome::Unchanged => "unchanged",
            Outcome::NotModified => "not_modified",
            Outcome::NoFile => "no_file",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub job: String,
    pub outcome: Outcome,
    /// The load batches (a watched folder may give several).
    pub batches: Vec<i64>,
    pub rows_rejected: u64,
    pub message: Option<String>,
    /// Request attempts (URL sources).
    pub attempts: u32,
}

/// The jobs running in this process.
static RUNNING: Mutex<Option<HashSet<String>>> = Mutex::new(None);

struct Running(String);

impl Running {
    fn claim(name: &str) -> Option<Running> {
        let mut set = RUNNING.lock().ok()?;
        let set = set.get_or_insert_with(HashSet::new);
        set.insert(name.to_string())
            .then(|| Running(name.to_string()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut set) = RUNNING.lock()
            && let Some(set) = set.as_mut()
        {
            set.remove(&self.0);
        }
    }
}

fn db(e: duckdb::Error) -> Error {
    Error::Run(ingest::Error::from(e).to_string())
}

fn fail(message: String) -> Error {
    Error::Run(message)
}

/// Marks the runs a stopped process left `running` as `interrupted` (at start-up).
pub fn recover(store: &ingest::Store) -> Result<usize> {
    crate::migrate(store)?;
    store
        .conn()
        .execute(
            "UPDATE job_runs SET outcome = 'interrupted', finished_at = now(),
                    message = 'the process stopped during the run' WHERE outcome = 'running'",
            [],
        )
        .map_err(db)
}

/// A file fetched from a source.
struct Fetched {
    name: String,
    bytes: Vec<u8>,
}

/// What the source gave.
enum Got {
    Files(Vec<Fetched>),
    NotModified,
    Nothing,
}

/// Validators of the last successful fetch of a URL.
#[derive(Default)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// Runs a job now, under `settings` (where releases go when the job publishes, the analysis).
pub fn run_job(store: &ingest::Store, job: &Job, settings: &Settings) -> RunReport {
    let conn = store.conn();
    let name = job.name().to_string();
    let record = |outcome: &str| -> Result<i64> {
        crate::migrate(store)?;
        conn.query_row(
            "INSERT INTO job_runs (run_id, job, started_at, outcome, dataset, stale_after_hours)
             SELECT coalesce(max(run_id), 0) + 1, ?, now(), ?, ?, ? FROM job_runs RETURNING run_id",
            duckdb::params![name, outcome, job.dataset(), job.stale_after_hours],
            |r| r.get(0),
        )
        .map_err(db)
    };
    let Some(_claim) = Running::claim(&name) else {
        let run_id = record("skipped").unwrap_or(0);
        let _ = conn.execute(
            "UPDATE job_runs SET finished_at = now(), message = 'another run of this job was under way' WHERE run_id = ?",
            [run_id],
        );
        return RunReport {
            run_id,
            job: name,
            outcome: Outcome::Skipped,
            batches: Vec::new(),
            rows_rejected: 0,
            message: Some("another run of this job was under way".into()),
            attempts: 0,
        };
    };
    let run_id = match record("running") {
        Ok(id) => id,
        Err(e) => {
            return RunReport {
                run_id: 0,
                job: name,
                outcome: Outcome::Failed,
                batches: Vec::new(),
                rows_rejected: 0,
                message: Some(format!("recording the run: {e}")),
                attempts: 0,
            };
        }
    };
    let mut report = RunReport {
        run_id,
        job: name.clone(),
        outcome: Outcome::Failed,
        batches: Vec::new(),
        rows_rejected: 0,
        message: None,
        attempts: 0,
    };
    let mut validators = Validators::default();
    match execute(store, job, settings, &mut report, &mut validators) {
        Ok(outcome) => report.outcome = outcome,
        Err(e) => {
            report.outcome = Outcome::Failed;
            report.message = Some(e.to_string());
        }
    }
    let finished = conn.execute(
        "UPDATE job_runs SET finished_at = now(), outcome = ?, batch_id = ?, rows_rejected = ?,
                message = ?, attempts = ?, etag = ?, last_modified = ? WHERE run_id = ?",
        duckdb::params![
            report.outcome.as_str(),
            report.batches.last(),
            report.rows_rejected,
            report.message,
            report.attempts,
            validators.etag,
            validators.last_modified,
            run_id
        ],
    );
    if let Err(e) = finished {
        tracing::error!(job = %name, cause = %e, "recording the end of a run failed");
    }
    tracing::info!(job = %name, run = run_id, outcome = report.outcome.as_str(), "job run");
    report
}

fn execute(
    store: &ingest::Store,
    job: &Job,
    settings: &Settings,
    report: &mut RunReport,
    validators: &mut Validators,
) -> Result<Outcome> {
    let got = fetch(store, job, report, validators)?;
    let files = match got {
        Got::NotModified => return Ok(Outcome::NotModified),
        Got::Nothing => return Ok(Outcome::NoFile),
        Got::Files(f) => f,
    };
    let f = &job.format;
    let params = LoadParams {
        delimiter: f.delimiter.clone(),
        encoding: f.encoding.clone(),
        decimal: f.decimal.clone(),
        sheet: f.sheet.clone(),
        header_row: f.header_row,
        map: (!f.map.is_empty()).then(|| f.map.join(",")),
        crs: f.crs.clone(),
        strict: job.on_rejected == OnRejected::LoadNothing,
        ..Default::default()
    };
    let opts = params
        .to_options(&format!("job:{}", job.name()))
        .map_err(|e| fail(e.to_string()))?;
    let mut outcome = Outcome::Unchanged;
    let mut changed = false;
    for file in files {
        let input = ingest::Input {
            name: file.name.clone(),
            path: None,
            bytes: file.bytes,
        };
        let r = pipeline::load_only(store, job.dataset(), &input, &opts, &ingest::NoProgress)
            .map_err(|e| fail(format!("{}: {e}", file.name)))?;
        report.batches.push(r.batch_id);
        report.rows_rejected += r.rows_rejected;
        changed |= pipeline::changed(&r);
        let this = match r.outcome {
            ingest::Outcome::Loaded => Outcome::Loaded,
            ingest::Outcome::LoadedWithRejections => Outcome::LoadedWithRejections,
            ingest::Outcome::Unchanged => Outcome::Unchanged,
            ingest::Outcome::Refused => Outcome::Refused,
            ingest::Outcome::Failed => Outcome::Failed,
        };
        if this != Outcome::Unchanged {
            outcome = this;
        }
        let mut parts: Vec<String> = r.message.iter().cloned().collect();
        if r.rows_rejected > 0 {
            let reasons: Vec<String> = r
                .rejected
                .iter()
                .take(3)
                .map(|x| format!("line {}: {}", x.line, x.reason))
                .collect();
            parts.push(format!(
                "{} rows rejected ({})",
                r.rows_rejected,
                reasons.join("; ")
            ));
        }
        if !parts.is_empty() {
            report.message = Some(format!("{}: {}", file.name, parts.join("; ")));
        }
        if job.source.watch.is_some() {
            store
                .conn()
                .execute(
                    "INSERT INTO job_files VALUES (?, ?, ?, ?)",
                    duckdb::params![job.name(), sha256(&input.bytes), file.name, report.run_id],
                )
                .map_err(db)?;
        }
    }
    // The pipeline's policy: analysed when rows changed; a release the disclosure step holds
    // back (too few placement records changed) is the policy at work, not a failed run.
    let after = if job.after.contains(&After::Publish) {
        pipeline::After::Publish
    } else if job.after.contains(&After::Analyze) {
        pipeline::After::Analyze
    } else {
        pipeline::After::Nothing
    };
    let done = pipeline::follow_up(store, settings, changed, after, &analytics::NoProgress)
        .map_err(|e| fail(format!("the load was made, but {e}")))?;
    if let Some(pipeline::Released::HeldBack { reason }) = done.release {
        tracing::info!(job = %job.name.get_ref(), %reason, "no release after the load");
    }
    Ok(outcome)
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn fetch(
    store: &ingest::Store,
    job: &Job,
    report: &mut RunReport,
    validators: &mut Validators,
) -> Result<Got> {
    let s = &job.source;
    if let Some(pattern) = &s.path {
        let newest = glob::glob(pattern)
            .map_err(|e| fail(format!("path '{pattern}': {e}")))?
            .filter_map(std::result::Result::ok)
            .filter(|p| p.is_file())
            .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        let Some(path) = newest else {
            return Ok(Got::Nothing);
        };
        let bytes = std::fs::read(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        return Ok(Got::Files(vec![Fetched {
            name: path.display().to_string(),
            bytes,
        }]));
    }
    if let Some(folder) = &s.watch {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(|e| fail(format!("watch '{folder}': {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') || n.ends_with(".part") || n.ends_with('~'))
            })
            .collect();
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let bytes =
                std::fs::read(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
            let seen: i64 = store
                .conn()
                .query_row(
                    "SELECT count(*) FROM job_files WHERE job = ? AND sha256 = ?",
                    [job.name(), &sha256(&bytes)],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if seen == 0 {
                files.push(Fetched {
                    name: path.display().to_string(),
                    bytes,
                });
            }
        }
        return Ok(if files.is_empty() {
            Got::Nothing
        } else {
            Got::Files(files)
        });
    }
    let url = s.url.as_deref().unwrap_or_default();
    // The validators of the last run that fetched the content.
    let last: Option<(Option<String>, Option<String>)> = store
        .conn()
        .query_row(
            "SELECT etag, last_modified FROM job_runs
             WHERE job = ? AND outcome IN ('loaded', 'loaded_with_rejections', 'unchanged', 'not_modified')
               AND (etag IS NOT NULL OR last_modified IS NOT NULL)
             ORDER BY run_id DESC LIMIT 1",
            [job.name()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            duckdb::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(db)?;
    let auth = match (&s.auth_header, &s.auth_env) {
        (Some(h), Some(env)) => Some((
            h.clone(),
            s.auth_value
                .clone()
                .ok_or_else(|| fail(format!("environment variable {env} is not set")))?,
        )),
        _ => None,
    };
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(s.timeout_seconds)))
        // Followed by hand (`http::get`): the credential never goes to another origin.
        .max_redirects(0)
        .build()
        .new_agent();
    // Shown and stored without its user info and query values.
    let shown = http::redact_url(url);
    let limit = s.max_megabytes * 1_000_000;
    let mut wait = Duration::from_secs(1);
    let mut last_error = String::new();
    for attempt in 0..=s.retries {
        report.attempts = attempt + 1;
        if attempt > 0 {
            std::thread::sleep(wait);
            wait *= 2;
        }
        let mut conditional = Vec::new();
        if let Some((etag, lm)) = &last {
            if let Some(e) = etag {
                conditional.push(("If-None-Match", e.as_str()));
            }
            if let Some(l) = lm {
                conditional.push(("If-Modified-Since", l.as_str()));
            }
        }
        let credential = auth.as_ref().map(|(h, v)| (h.as_str(), v.as_str()));
        let mut res = match http::get(&agent, url, &conditional, credential) {
            Ok(r) => r,
            Err(Error::Run(e)) => {
                last_error = e;
                continue;
            }
            Err(e) => return Err(e),
        };
        let status = res.status().as_u16();
        if status == 304 {
            if let Some((etag, lm)) = &last {
                validators.etag = etag.clone();
                validators.last_modified = lm.clone();
            }
            return Ok(Got::NotModified);
        }
        if status >= 500 || status == 429 {
            last_error = format!("{shown} answered {status}");
            continue;
        }
        if status >= 400 {
            return Err(fail(format!("{shown} answered {status}")));
        }
        let length = res
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = length
            && n > limit
        {
            return Err(fail(format!(
                "{shown} is {n} bytes, over the limit of {} MB",
                s.max_megabytes
            )));
        }
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        validators.etag = header("etag");
        validators.last_modified = header("last-modified");
        // Sized by the announced length (already checked against the limit), so a file is
        // held once, not in a buffer doubled past it.
        let mut bytes = Vec::with_capacity(length.unwrap_or(0) as usize);
        let read = res
            .body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes);
        if let Err(e) = read {
            last_error = format!("{shown}: {e}");
            continue;
        }
        if bytes.len() as u64 > limit {
            return Err(fail(format!(
                "{shown} is over the limit of {} MB",
                s.max_megabytes
            )));
        }
        let name = url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("download")
            .split('?')
            .next()
            .unwrap_or("download")
            .to_string();
        return Ok(Got::Files(vec![Fetched { name, bytes }]));
    }
    Err(fail(format!(
        "{last_error} (after {} attempts)",
        s.retries + 1
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_claimed_once_at_a_time() {
        let first = Running::claim("nightly").unwrap();
        assert!(
            Running::claim("nightly").is_none(),
            "a second trigger is turned away"
        );
        assert!(
            Running::claim("other").is_some(),
            "other jobs are not held up"
        );
        drop(first);
        assert!(
            Running::claim("nightly").is_some(),
            "free again once the run ends"
        );
    }
}
