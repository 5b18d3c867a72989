//! The one use case: load a file into a dataset, then analyse and publish under one policy.
//! The upload route, a scheduled job, `haven ingest` and `haven demo` all go through here, so
//! they follow the same rules:
//!
//! - a load that changed no row (the same content again, or a refused file) is followed by
//!   nothing;
//! - a load that changed rows is followed by an analysis (the parts whose inputs changed), once
//!   districts are loaded, unless the caller asked for nothing after it;
//! - a release is asked for only when the caller asks for it (`haven publish`, a job with
//!   `after = ["publish"]`, the demo); a release the disclosure step holds back or refuses is
//!   the policy at work, reported as [`Released::HeldBack`], never a failed load;
//! - the load is committed before anything follows: when the analysis or the release then
//!   fails, the error says that the batch was loaded.

use serde::{Deserialize, Serialize};

use crate::publish::{Release, publish};
use crate::{Error, Settings};

/// What follows a load that changed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum After {
    /// Nothing (`haven ingest --no-analyze`): the indicators catch up at the next analysis.
    Nothing,
    /// The indicators catch up; the public figures change at the next release.
    #[default]
    Analyze,
    /// The indicators catch up and a release is asked for.
    Publish,
}

/// What followed a load (or several).
#[derive(Debug, Default, Serialize)]
pub struct FollowUp {
    /// The analysis run, when one ran.
    pub analysis: Option<analytics::AnalyzeReport>,
    /// The release asked for, when one was.
    pub release: Option<Released>,
}

/// The answer of the disclosure step to a request for a release.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Released {
    /// A new release, or nothing changed since the last one (`unchanged`).
    Made(Box<Release>),
    /// Held back or refused by the release policy, with its reason.
    HeldBack { reason: String },
}

/// Options of a load, as the command line's flags and the upload route's query parameters
/// name them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadParams {
    pub source: Option<String>,
    pub format: Option<String>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub decimal: Option<String>,
    pub sheet: Option<String>,
    /// The header's line (CSV) or row (Excel), when it is not found by itself.
    pub header_row: Option<u64>,
    /// File columns mapped to dataset columns: `FILE_COLUMN=COLUMN`, comma-separated.
    pub map: Option<String>,
    pub crs: Option<String>,
    #[serde(default)]
    pub strict: bool,
    #[serde(default)]
    pub allow_extra_columns: bool,
    #[serde(default)]
    pub force: bool,
}

/// `FILE_COLUMN=COLUMN` pairs, comma-separated (a file column may hold `=`: the last one
/// splits).
pub fn parse_map(text: &str) -> Result<Vec<(String, String)>, Error> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            pair.rsplit_once('=')
                .map(|(f, c)| (f.trim().to_string(), c.trim().to_string()))
                .filter(|(f, c)| !f.is_empty() && !c.is_empty())
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "--map {pair}: write FILE_COLUMN=COLUMN, e.g. --map \"Adres=address\""
                    ))
                })
        })
        .collect()
}

impl LoadParams {
    /// The ingest options, with `origin` (who loads: `cli`, `server`, `job:NAME`) recorded.
    pub fn to_options(&self, origin: &str) -> Result<ingest::IngestOptions, Error> {
        Ok(ingest::IngestOptions {
            read: ingest::read::ReadOptions {
                format: self.format.as_deref().map(str::parse).transpose()?,
                delimiter: self.delimiter.as_deref().map(parse_delimiter).transpose()?,
                encoding: self.encoding.clone(),
                decimal: self.decimal.as_deref().map(str::parse).transpose()?,
                sheet: self.sheet.clone(),
                header_row: self.header_row,
                known_columns: Vec::new(),
            },
            crs: self
                .crs
                .as_deref()
                .map(|c| {
                    ingest::geo::Crs::from_name(c).ok_or_else(|| {
                        Error::Invalid(format!(
                            "unsupported CRS '{c}'; supported: {}",
                            ingest::geo::Crs::supported()
                        ))
                    })
                })
                .transpose()?,
            map: self
                .map
                .as_deref()
                .map(parse_map)
                .transpose()?
                .unwrap_or_default(),
            strict: self.strict,
            allow_extra_columns: self.allow_extra_columns,
            force: self.force,
            origin: origin.to_string(),
        })
    }
}

/// `,` `;` `|`, or `tab`.
pub fn parse_delimiter(s: &str) -> Result<u8, Error> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        d if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
        d => Err(Error::Invalid(format!(
            "delimiter '{d}': give one character, or 'tab'"
        ))),
    }
}

/// Whether a load changed rows.
pub fn changed(report: &ingest::Report) -> bool {
    report.rows_inserted + report.rows_replaced > 0
}

/// Loads one file, then what `after` asks for when the load changed rows.
pub fn load(
    store: &ingest::Store,
    settings: &Settings,
    dataset: &str,
    input: &ingest::Input,
    options: &ingest::IngestOptions,
    after: After,
) -> Result<(ingest::Report, FollowUp), Error> {
    let report = ingest::ingest(store, dataset, input, options, &ingest::NoProgress)?;
    let follow = follow_up(
        store,
        settings,
        changed(&report),
        after,
        &analytics::NoProgress,
    )
    .map_err(|e| Error::Internal(format!("batch {} was loaded, but {e}", report.batch_id)))?;
    Ok((report, follow))
}

/// Loads one file with progress reported; nothing follows (see [`follow_up`], called once
/// after several files).
pub fn load_only(
    store: &ingest::Store,
    dataset: &str,
    input: &ingest::Input,
    options: &ingest::IngestOptions,
    progress: &dyn ingest::Progress,
) -> Result<ingest::Report, Error> {
    Ok(ingest::ingest(store, dataset, input, options, progress)?)
}

/// What follows loads: nothing unless they `changed` rows; then the analysis once districts
/// are loaded, and the release when `after` asks for it.
pub fn follow_up(
    store: &ingest::Store,
    settings: &Settings,
    changed: bool,
    after: After,
    progress: &dyn analytics::Progress,
) -> Result<FollowUp, Error> {
    let mut done = FollowUp::default();
    if !changed || after == After::Nothing || !has_districts(store)? {
        return Ok(done);
    }
    done.analysis = Some(
        analyze(store, settings, false, progress)
            .map_err(|e| Error::Internal(format!("analysing it failed: {e}")))?,
    );
    if after == After::Publish {
        done.release = Some(
            release(store, settings, false)
                .map_err(|e| Error::Internal(format!("its release failed: {e}")))?,
        );
    }
    Ok(done)
}

fn has_districts(store: &ingest::Store) -> Result<bool, Error> {
    Ok(store
        .dataset_counts()?
        .iter()
        .any(|(name, n)| name == "districts" && *n > 0))
}

/// Brings the indicators up to date (every part with `full`).
pub fn analyze(
    store: &ingest::Store,
    settings: &Settings,
    full: bool,
    progress: &dyn analytics::Progress,
) -> Result<analytics::AnalyzeReport, Error> {
    Ok(analytics::analyze_with(
        store.conn(),
        &settings.analyze_options(full),
        progress,
    )?)
}

/// Asks the disclosure step for a release (`force`: even when nothing changed since the last).
pub fn release(store: &ingest::Store, settings: &Settings, force: bool) -> Result<Released, Error> {
    let mut opts = settings.release.clone();
    opts.force = force;
    match publish(store, &opts) {
        Ok(mut r) => {
            // A new release goes to the region's lake, when one is set.
            if settings.lake.is_some() && !r.unchanged {
                let pushed = crate::region::push(store, settings, Some(r.version)).map_err(|e| {
                    Error::Internal(format!(
                        "release {} was made in {}, but it did not reach the lake: {e}. `haven lake push` sends it",
                        r.version,
                        r.dir.display()
                    ))
                })?;
                r.lake = Some(pushed);
            }
            Ok(Released::Made(Box::new(r)))
        }
        Err(Error::Refused(reason)) => {
            tracing::info!(%reason, "no release");
            Ok(Released::HeldBack { reason })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISTRICTS: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"district_code":"BE01","name":"Noord","dwellings_total":900},"geometry":{"type":"Polygon","coordinates":[[[4,51],[4.1,51],[4.1,51.1],[4,51],[4,51]]]}},{"type":"Feature","properties":{"district_code":"BE02","name":"Zuid","dwellings_total":700},"geometry":{"type":"Polygon","coordinates":[[[4.1,51],[4.2,51],[4.2,51.1],[4.1,51],[4.1,51]]]}}]}"#;

    fn input(name: &str, text: String) -> ingest::Input {
        ingest::Input {
            name: name.into(),
            path: None,
            bytes: text.into_bytes(),
        }
    }

    fn placements(n: usize, from: usize) -> String {
        let mut s = String::from(
            "placement_id,household_ref,household_size,programme,district_code,referral_date,start_date\n",
        );
        for i in from..from + n {
            let d = if i % 3 == 0 { "BE02" } else { "BE01" };
            let m = 1 + i % 12;
            s.push_str(&format!(
                "P{i},H{i},{},public_reception,{d},2025-{m:02}-01,2025-{m:02}-15\n",
                1 + i % 4
            ));
        }
        s
    }

    fn opts() -> ingest::IngestOptions {
        ingest::IngestOptions {
            origin: "test".into(),
            ..Default::default()
        }
    }

    /// The policy, as the upload route, a job, the command line and the demo meet it.
    #[test]
    fn the_pipeline_policy() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("haven.duckdb");
        let store = ingest::Store::open(&db).unwrap();
        let settings = Settings::defaults(&db);
        let analysed = |f: &FollowUp| f.analysis.is_some();

        // Placements before any district: refused, so nothing follows (and no error).
        let (r, f) = load(
            &store,
            &settings,
            "placements",
            &input("p.csv", placements(40, 0)),
            &opts(),
            After::Publish,
        )
        .unwrap();
        assert_eq!(r.outcome, ingest::Outcome::Refused, "{:?}", r.message);
        assert!(!changed(&r) && !analysed(&f) && f.release.is_none());

        // Districts: analysed; no release unless asked for.
        let (r, f) = load(
            &store,
            &settings,
            "districts",
            &input("d.geojson", DISTRICTS.into()),
            &opts(),
            After::Analyze,
        )
        .unwrap();
        assert!(
            changed(&r),
            "{:?} {:?} {:?}",
            r.outcome,
            r.message,
            r.rejected.first()
        );
        assert!(analysed(&f) && f.release.is_none());
        assert!(
            !settings.release.root.exists(),
            "nothing is published without asking"
        );

        // The same file again: nothing changed, nothing follows.
        let (r, f) = load(
            &store,
            &settings,
            "districts",
            &input("d.geojson", DISTRICTS.into()),
            &opts(),
            After::Publish,
        )
        .unwrap();
        assert!(!changed(&r) && !analysed(&f) && f.release.is_none());

        // Nothing after: the load only.
        let (r, f) = load(
            &store,
            &settings,
            "placements",
            &input("p.csv", placements(1, 100)),
            &opts(),
            After::Nothing,
        )
        .unwrap();
        assert!(
            changed(&r) && !analysed(&f),
            "{:?} {:?} {:?}",
            r.outcome,
            r.message,
            r.rejected.first()
        );

        // A release asked for: made.
        let (_, f) = load(
            &store,
            &settings,
            "placements",
            &input("p.csv", placements(60, 0)),
            &opts(),
            After::Publish,
        )
        .unwrap();
        assert!(analysed(&f));
        let Some(Released::Made(first)) = f.release else {
            panic!("a first release: {:?}", f.release)
        };
        assert!(!first.unchanged && first.dir.join("manifest.json").exists());

        // One record more, and a release asked for: held back by the policy, the load stands.
        let (r, f) = load(
            &store,
            &settings,
            "placements",
            &input("p.csv", placements(61, 0)),
            &opts(),
            After::Publish,
        )
        .unwrap();
        assert!(changed(&r), "{r:?}");
        assert!(
            matches!(&f.release, Some(Released::HeldBack { reason }) if reason.contains("held back")),
            "{:?}",
            f.release
        );
    }
}
