//! `haven report`: the council report of the latest release as PDF and HTML files. Beside a
//! running server it asks the server (which holds the database) for the same files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use haven_core::Settings;
use haven_core::report::{self, Format};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The month reported on, YYYY-MM (default: the latest month the release publishes).
    #[arg(long)]
    pub period: Option<String>,
    /// The language: any of the dashboard's (en, nl, fr).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Write only this format (pdf or html); both by default.
    #[arg(long, value_parser = ["pdf", "html"])]
    pub format: Option<String>,
    /// The folder the files are written to (created if needed).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

pub fn report(db: &Path, settings: &Settings, args: &ReportArgs) -> Result<ExitCode> {
    let formats = match args.format.as_deref() {
        Some(f) => vec![Format::parse(f)?],
        None => vec![Format::Pdf, Format::Html],
    };
    let server = crate::cli_ingest::running_server(db);
    let store = match server {
        Some(_) => None,
        None => Some(crate::open_read_only(settings)?),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for format in formats {
        let rendered = match (&server, &store) {
            (Some(info), _) => {
                let mut query = format!("lang={}&format={}", args.lang, format.extension());
                if let Some(p) = &args.period {
                    query.push_str(&format!("&period={p}"));
                }
                crate::cli_ingest::server_file(info, &format!("/api/v1/report?{query}"))?
            }
            (None, Some(store)) => {
                let r = report::render(store, args.period.as_deref(), &args.lang, format)?;
                (r.file_name, r.bytes)
            }
            (None, None) => unreachable!("a store is opened when no server answers"),
        };
        let (name, bytes) = rendered;
        let path = args.out.join(&name);
        // Written whole or not at all: a half-written report is never left under its name.
        let tmp = args.out.join(format!(".{name}.partial"));
        std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(ExitCode::SUCCESS)
}
