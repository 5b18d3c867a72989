//! `haven publish`, also run after every analysis: a new open-data release when anything
//! changed since the last one.

use std::path::{Path, PathBuf};

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
}

impl PublishArgs {
    /// The same settings from the environment only.
    pub fn from_env() -> PublishArgs {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        PublishArgs {
            published: var("HAVEN_PUBLISHED").map(PathBuf::from),
            publisher: var("HAVEN_PUBLISHER"),
            contact: var("HAVEN_CONTACT"),
            licence: var("HAVEN_LICENCE"),
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
        o
    }
}

/// The release after a load or an analysis: skipped while there is nothing to publish; a
/// failure is reported and does not undo the load.
pub fn publish_after(store: &ingest::Store) {
    match store.has_table("indicators_published") {
        Ok(true) => {
            if let Err(e) = publish(store, &PublishArgs::from_env(), false) {
                eprintln!("warning: the data is loaded, but no release was published: {e:#}");
            }
        }
        Ok(false) => {}
        Err(e) => eprintln!("warning: no release was published: {e}"),
    }
}

/// Publishes and prints what was written.
pub fn publish(store: &ingest::Store, args: &PublishArgs, force: bool) -> Result<()> {
    let mut opts = args.options(store.path());
    opts.force = force;
    let r = api::publish::publish(store, &opts).map_err(|e| anyhow!(e.detail()))?;
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
    }
    Ok(())
}
