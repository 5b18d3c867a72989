//! `haven.toml`: the scheduled import jobs. Every key is known (an unknown one is refused with
//! its line), every schedule is a cron expression and every timezone an IANA name, checked
//! before anything runs; `haven.example.toml` documents each key.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use crate::{Error, Result};

/// The configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, rename = "job")]
    pub jobs: Vec<Job>,
    /// The sections of the settings (`haven_core::Settings` reads them).
    #[serde(default, rename = "release")]
    _release: Option<toml::Table>,
    #[serde(default, rename = "analysis")]
    _analysis: Option<toml::Table>,
    #[serde(default, rename = "server")]
    _server: Option<toml::Table>,
    #[serde(default, rename = "retention")]
    _retention: Option<toml::Table>,
    #[serde(default, rename = "database")]
    _database: Option<toml::Table>,
    #[serde(default, rename = "lake")]
    _lake: Option<toml::Table>,
}

/// What to do with a file that has rejected rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRejected {
    /// Load the valid rows; report the rejected ones.
    #[default]
    LoadValid,
    /// Load nothing if any row is rejected.
    LoadNothing,
}

/// What runs after a load that changed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum After {
    Analyze,
    Publish,
}

/// One scheduled import.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub name: Spanned<String>,
    pub dataset: Spanned<String>,
    pub source: Source,
    /// Cron expression with seconds: second minute hour day month weekday (`0 30 2 * * *`).
    pub schedule: Spanned<String>,
    #[serde(default = "utc")]
    pub timezone: Spanned<String>,
    #[serde(default)]
    pub format: Format,
    /// What runs after a load that changed data (default: analyze). `publish` asks for a
    /// release, which the release policy may hold back.
    #[serde(default = "analyze_only")]
    pub after: Vec<After>,
    #[serde(default)]
    pub on_rejected: OnRejected,
    /// The source is stale when it has not changed for longer than this many hours.
    pub stale_after_hours: Option<u32>,
}

fn utc() -> Spanned<String> {
    Spanned::new(0..0, "UTC".into())
}

fn analyze_only() -> Vec<After> {
    vec![After::Analyze]
}

/// Where a job's file comes from: exactly one of `path`, `watch` and `url`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A file, or a glob whose newest match is loaded.
    pub path: Option<String>,
    /// A folder: every file that appears in it is loaded once.
    pub watch: Option<String>,
    /// An http(s) URL, fetched with conditional requests.
    pub url: Option<String>,
    /// Header sent with the URL, its value read from `auth_env` (never written in the file).
    pub auth_header: Option<String>,
    pub auth_env: Option<String>,
    /// The value of `auth_env`, as [`Config::resolve_secrets`] found it.
    #[serde(skip)]
    pub auth_value: Option<String>,
    /// Seconds before a request is abandoned.
    #[serde(default = "timeout")]
    pub timeout_seconds: u64,
    /// Further attempts after a failed request, with doubling waits.
    #[serde(default = "retries")]
    pub retries: u32,
    /// Larger answers are refused.
    #[serde(default = "max_megabytes")]
    pub max_megabytes: u64,
}

fn timeout() -> u64 {
    60
}
fn retries() -> u32 {
    3
}
fn max_megabytes() -> u64 {
    500
}

/// Read options, as `haven ingest` takes them; detected when absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub decimal: Option<String>,
    pub sheet: Option<String>,
    pub header_row: Option<u64>,
    /// File columns mapped to dataset columns, `FILE_COLUMN=COLUMN` each.
    #[serde(default)]
    pub map: Vec<String>,
    pub crs: Option<String>,
}

/// A schedule as the scheduler reads it: six fields, seconds first.
pub fn cron(expr: &str) -> std::result::Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .build()
        .parse(expr)
}

/// Line number (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Config::parse(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Parses and checks the text of a configuration; the message names the line at fault.
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("line {}: ", line_of(text, s.start)))
                .unwrap_or_default();
            Error::Invalid(format!("{at}{}", e.message()))
        })?;
        let at = |s: std::ops::Range<usize>| line_of(text, s.start);
        let mut names = std::collections::HashSet::new();
        for job in &config.jobs {
            let name = job.name.get_ref();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(Error::Invalid(format!(
                    "line {}: job name '{name}' must be letters, digits, - _ or .",
                    at(job.name.span())
                )));
            }
            if !names.insert(name.clone()) {
                return Err(Error::Invalid(format!(
                    "line {}: a second job named '{name}'",
                    at(job.name.span())
                )));
            }
            if ingest::schema::get(job.dataset.get_ref()).is_err() {
                let known: Vec<&str> = ingest::schema::all()
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                return Err(Error::Invalid(format!(
                    "line {}: job '{name}': unknown dataset '{}' (one of {})",
                    at(job.dataset.span()),
                    job.dataset.get_ref(),
                    known.join(", ")
                )));
            }
            if let Err(e) = cron(job.schedule.get_ref()) {
                return Err(Error::Invalid(format!(
                    "line {}: job '{name}': schedule '{}' is not a cron expression: {e}",
                    at(job.schedule.span()),
                    job.schedule.get_ref()
                )));
            }
            if chrono_tz::Tz::from_str(job.timezone.get_ref()).is_err() {
                return Err(Error::Invalid(format!(
                    "line {}: job '{name}': timezone '{}' is not an IANA name such as Europe/Brussels",
                    at(job.timezone.span()),
                    job.timezone.get_ref()
                )));
            }
            let s = &job.source;
            let given = [&s.path, &s.watch, &s.url]
                .iter()
                .filter(|v| v.is_some())
                .count();
            if given != 1 {
                return Err(Error::Invalid(format!(
                    "line {}: job '{name}': give exactly one source: path, watch or url",
                    at(job.name.span())
                )));
            }
            if let Some(url) = &s.url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(Error::Invalid(format!(
                    "line {}: job '{name}': url '{}' is not http(s)",
                    at(job.name.span()),
                    crate::http::redact_url(url)
                )));
            }
            if s.auth_header.is_some() != s.auth_env.is_some() {
                return Err(Error::Invalid(format!(
                    "line {}: job '{name}': auth_header and auth_env go together",
                    at(job.name.span())
                )));
            }
        }
        Ok(config)
    }

    /// Reads the secrets the jobs name (`auth_env`) with `env`: the program reads the
    /// environment once, the jobs never do. A variable that is not set fails that job's runs.
    pub fn resolve_secrets(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        for job in &mut self.jobs {
            job.source.auth_value = job.source.auth_env.as_deref().and_then(env);
        }
    }

    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name.get_ref() == name)
    }
}

impl Job {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    pub fn dataset(&self) -> &str {
        self.dataset.get_ref()
    }

    /// The source, as one line.
    pub fn source_text(&self) -> String {
        let s = &self.source;
        match (&s.path, &s.watch, &s.url) {
            (Some(p), _, _) => format!("path {p}"),
            (_, Some(w), _) => format!("watch {w}"),
            (_, _, Some(u)) => format!("url {}", crate::http::redact_url(u)),
            _ => String::new(),
        }
    }

    /// The next time the schedule fires after `now`, in the job's timezone.
    pub fn next_run(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono_tz::Tz>> {
        let tz = chrono_tz::Tz::from_str(self.timezone.get_ref()).ok()?;
        let cron = cron(self.schedule.get_ref()).ok()?;
        cron.find_next_occurrence(&now.with_timezone(&tz), false)
            .ok()
    }

    /// The last time the schedule fired before `now`.
    pub fn previous_run(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono_tz::Tz>> {
        let tz = chrono_tz::Tz::from_str(self.timezone.get_ref()).ok()?;
        let cron = cron(self.schedule.get_ref()).ok()?;
        cron.find_previous_occurrence(&now.with_timezone(&tz), false)
            .ok()
    }
}

/// The configuration file by default: `haven.toml` in the working directory.
pub fn default_path() -> PathBuf {
    PathBuf::from("haven.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../haven.example.toml");

    #[test]
    fn every_section_of_the_settings_is_accepted_beside_the_jobs() {
        for section in haven_core::settings::SECTIONS {
            Config::parse(&format!("[{section}]\n")).unwrap_or_else(|e| panic!("[{section}]: {e}"));
        }
        assert!(Config::parse("[nonsense]\n").is_err());
    }

    #[test]
    fn the_example_parses_and_documents_every_key() {
        let config = Config::parse(EXAMPLE).unwrap();
        assert!(
            config.jobs.len() >= 3,
            "the example shows each kind of source"
        );
        // Every key a job can have appears in the example with a comment line above it.
        let keys = [
            "name",
            "dataset",
            "schedule",
            "timezone",
            "after",
            "on_rejected",
            "stale_after_hours",
            "path",
            "watch",
            "url",
            "auth_header",
            "auth_env",
            "timeout_seconds",
            "retries",
            "max_megabytes",
            "delimiter",
            "encoding",
            "decimal",
            "sheet",
            "header_row",
            "map",
            "crs",
        ];
        let lines: Vec<&str> = EXAMPLE.lines().collect();
        for key in keys {
            let at = lines
                .iter()
                .position(|l| {
                    let l = l.trim_start_matches('#').trim();
                    l.starts_with(&format!("{key} ")) || l.starts_with(&format!("{key}="))
                })
                .unwrap_or_else(|| panic!("haven.example.toml does not show '{key}'"));
            assert!(
                at > 0 && lines[at - 1].trim_start().starts_with('#'),
                "'{key}' has no comment above it"
            );
        }
        // And no key the parser does not know: each struct refuses unknown keys, so a key
        // added to the parser but not here fails the list above, one removed fails parsing.
    }

    #[test]
    fn mistakes_stop_with_the_line() {
        let bad = |text: &str, want: &str| {
            let e = Config::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        let job = |extra: &str| {
            format!(
                "[[job]]\nname = \"a\"\ndataset = \"placements\"\nschedule = \"0 0 2 * * *\"\n{extra}[job.source]\npath = \"x.csv\"\n"
            )
        };
        bad(&job("colour = \"blue\"\n"), "line 5");
        bad(&job("colour = \"blue\"\n"), "colour");
        bad(
            &job("").replace("0 0 2 * * *", "every night"),
            "line 4: job 'a': schedule 'every night' is not a cron expression",
        );
        bad(
            &job("timezone = \"Mars/Olympus\"\n"),
            "line 5: job 'a': timezone",
        );
        bad(
            &job("").replace("placements", "refugees"),
            "line 3: job 'a': unknown dataset",
        );
        bad(
            &job("").replace("path = \"x.csv\"", "path = \"x.csv\"\nurl = \"http://x\""),
            "exactly one source",
        );
        bad(
            &format!("{}{}", job(""), job("")),
            "line 8: a second job named 'a'",
        );
        assert_eq!(Config::parse(&job("")).unwrap().jobs.len(), 1);
    }
}
