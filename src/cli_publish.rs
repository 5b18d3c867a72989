//! `haven publish`: a new open-data release when anything changed since the last one, made
//! through the disclosure step (release policy, protection and audit).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Args;

/// Who publishes and where (also read from the environment by the automatic release after
/// each analysis).
#[derive(Args, Debug, Clone, Default)]
pub struct PublishArgs {
    /// Folder of the release folders (default: `published/` beside the database).
    #[arg(long, env = "HAVEN_PUBLISHED")]
    pub published: Option<PathBuf>,
    /// The publisher named in the catalogue.
    #[arg(long, env = "HAVEN_PUBLISHER")]
    pub publisher: Option<String>,
    /// E-mail address of the catalogue's contact point.
    #[arg(long, env = "HAVEN_CONTACT")]
    pub contact: Option<String>,
    /// Licence IRI (default: CC BY 4.0 from the EU licence vocabulary).
    #[arg(long, env = "HAVEN_LICENCE")]
    pub licence: Option<String>,
    /// k of the disclosure step: counts of placements from 1 to k−1 are never published
    /// (never below 3).
    #[arg(long = "min-count", env = "HAVEN_MIN_COUNT", default_value_t = disclosure::DEFAULT_K,
          value_parser = clap::value_parser!(i64).range(3..))]
    pub k: i64,
    /// How wide the interval of every withheld count must stay for someone who solves every
    /// published figure of every release at once.
    #[arg(long, env = "HAVEN_PROTECTION_LEVEL", default_value_t = disclosure::DEFAULT_PROTECTION,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub protection_level: i64,
    /// A release whose placements differ from the last release's by fewer records than this
    /// (but by some) is held back (never below --min-count).
    #[arg(long, env = "HAVEN_MIN_CHANGED_RECORDS", default_value_t = 10,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub min_changed_records: i64,
}

impl PublishArgs {
    /// The same settings from the environment only.
    pub fn from_env() -> PublishArgs {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let number = |k: &str, default: i64| var(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        PublishArgs {
            published: var("HAVEN_PUBLISHED").map(PathBuf::from),
            publisher: var("HAVEN_PUBLISHER"),
            contact: var("HAVEN_CONTACT"),
            licence: var("HAVEN_LICENCE"),
            k: number("HAVEN_MIN_COUNT", disclosure::DEFAULT_K).max(disclosure::MIN_K),
            protection_level: number("HAVEN_PROTECTION_LEVEL", disclosure::DEFAULT_PROTECTION)
                .max(1),
            min_changed_records: number("HAVEN_MIN_CHANGED_RECORDS", 10).max(1),
        }
    }

    pub fn options(&self, db: &Path) -> api::publish::PublishOptions {
        let mut o = api::publish::PublishOptions::new(
            self.published
                .clone()
                .unwrap_or_else(|| api::publish::default_root(db)),
        );
        if let Some(p) = &self.publisher {
            o.publisher = p.clone();
        }
        if let Some(c) = &self.contact {
            o.contact = c.clone();
        }
        if let Some(l) = &self.licence {
            o.licence = l.clone();
        }
        o.disclosure.k = self.k;
        o.disclosure.protection = self.protection_level;
        o.disclosure.min_changed_records = self.min_changed_records;
        o
    }
}

/// Publishes and prints what was written; exit code 2 when the disclosure step held the
/// release back or refused it.
pub fn publish(store: &ingest::Store, args: &PublishArgs, force: bool) -> Result<ExitCode> {
    let mut opts = args.options(store.path());
    opts.force = force;
    let r = match api::publish::publish(store, &opts) {
        Ok(r) => r,
        Err(api::ApiError::Refused(why)) => {
            eprintln!("publish: {why}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(anyhow!(e.detail())),
    };
    if r.unchanged {
        eprintln!(
            "publish: nothing changed since release {} ({})",
            r.version,
            r.dir.display()
        );
    } else {
        eprintln!(
            "publish: release {} in {}: {} files, {:.1} MB",
            r.version,
            r.dir.display(),
            r.files,
            r.bytes as f64 / 1e6
        );
        if let Some(d) = &r.disclosure {
            let a = &d.audit;
            eprintln!(
                "  disclosure: {} placement figures withheld; every one proven at least {} wide against {} earlier release(s): {} by moves, {} by the solver, {} public already ({} ms)",
                d.withheld_cells,
                a.protection,
                a.releases_compared,
                a.by_move,
                a.by_solver,
                a.known,
                a.millis
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
