//! `haven publish`: a new open-data release when anything changed since the last one, made
//! through the disclosure step (release policy, protection and audit).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use haven_core::Settings;

/// Who publishes, where, and how the release is protected. Each flag overrides the settings
/// (`[release]` of haven.toml, then the environment variable named below).
#[derive(Args, Debug, Clone, Default)]
pub struct PublishArgs {
    /// Folder of the release folders (default: `published/` beside the database) [env: HAVEN_PUBLISHED]
    #[arg(long)]
    pub published: Option<PathBuf>,
    /// The publisher named in the catalogue [env: HAVEN_PUBLISHER]
    #[arg(long)]
    pub publisher: Option<String>,
    /// E-mail address of the catalogue's contact point [env: HAVEN_CONTACT]
    #[arg(long)]
    pub contact: Option<String>,
    /// Licence IRI (default: CC BY 4.0 from the EU licence vocabulary) [env: HAVEN_LICENCE]
    #[arg(long)]
    pub licence: Option<String>,
    /// k of the disclosure step: counts of placements from 1 to k−1 are never published
    /// (default 5, never below 3) [env: HAVEN_MIN_COUNT]
    #[arg(long = "min-count", value_parser = clap::value_parser!(i64).range(3..))]
    pub k: Option<i64>,
    /// How wide the interval of every withheld count must stay for someone who solves every
    /// published figure of every release at once [env: HAVEN_PROTECTION_LEVEL]
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub protection_level: Option<i64>,
    /// A release whose placements differ from the last release's by fewer records than this
    /// (but by some) is held back (default 10, never below --min-count)
    /// [env: HAVEN_MIN_CHANGED_RECORDS]
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub min_changed_records: Option<i64>,
}

impl PublishArgs {
    /// Whether any flag was given.
    pub fn any(&self) -> bool {
        self.published.is_some()
            || self.publisher.is_some()
            || self.contact.is_some()
            || self.licence.is_some()
            || self.k.is_some()
            || self.protection_level.is_some()
            || self.min_changed_records.is_some()
    }

    /// The flags over the settings.
    pub fn apply(&self, settings: &mut Settings) -> Result<()> {
        if let Some(p) = &self.published {
            settings.release.root = p.clone();
        }
        settings.set_release(
            self.publisher.clone(),
            self.contact.clone(),
            self.licence.clone(),
        );
        Ok(settings.set_disclosure(self.k, self.protection_level, self.min_changed_records)?)
    }
}

/// Publishes and prints what was written; exit code 2 when the disclosure step held the
/// release back or refused it.
pub fn publish(store: &ingest::Store, settings: &Settings, force: bool) -> Result<ExitCode> {
    let released = haven_core::pipeline::release(store, settings, force)?;
    Ok(print_release(&serde_json::to_value(&released)?))
}

/// The summary of a release (the JSON of [`haven_core::pipeline::Released`], made here or
/// answered by a running server), and its exit code.
pub fn print_release(r: &serde_json::Value) -> ExitCode {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    if r["outcome"] == "held_back" {
        eprintln!("publish: {}", text(&r["reason"]));
        return ExitCode::from(2);
    }
    if r["unchanged"] == true {
        eprintln!(
            "publish: nothing changed since release {} ({})",
            r["version"],
            text(&r["dir"])
        );
    } else {
        eprintln!(
            "publish: release {} in {}: {} files, {:.1} MB",
            r["version"],
            text(&r["dir"]),
            r["files"],
            r["bytes"].as_f64().unwrap_or(0.0) / 1e6
        );
        let (d, a) = (&r["disclosure"], &r["disclosure"]["audit"]);
        if d.is_object() {
            eprintln!(
                "  disclosure: {} placement figures withheld; every one proven at least {} wide against {} earlier release(s): {} by moves, {} by the solver, {} public already ({} ms)",
                d["withheld_cells"],
                a["protection"],
                a["releases_compared"],
                a["by_move"],
                a["by_solver"],
                a["known"],
                a["millis"]
            );
        }
        if r["lake"].is_object() {
            crate::cli_lake::print_pushed(&r["lake"]);
        }
    }
    ExitCode::SUCCESS
}
