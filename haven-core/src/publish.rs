//! Open-data releases. `haven publish` (or the release schedule of `haven serve`) first passes
//! the data through the disclosure step (the `disclosure` crate: release policy, protection and
//! audit, written to `staged_*` tables), then writes every published dataset into a new
//! version folder — CSV, Parquet (GeoParquet for the districts), GeoJSON for the districts, a
//! Frictionless `datapackage.json` and a `manifest.json` with each file's size and SHA-256 —
//! and records the release in the `releases` table, in the transaction that makes the staged
//! tables the published ones. A folder is written aside and renamed into place, never changed
//! afterwards; every version stays downloadable. Only the staged tables and the public district
//! boundaries are read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use analytics::registry::{Class, INDICATORS, Indicator, Publication};
use duckdb::Connection;
use duckdb::types::Value as Db;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::geometry::{Area, Bbox};

/// Creative Commons Attribution 4.0, as the EU licence vocabulary names it.
pub const DEFAULT_LICENCE: &str =
    "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0";

/// EU data themes (http://publications.europa.eu/resource/authority/data-theme/…).
const SOCI: &str = "SOCI";
const REGI: &str = "REGI";
const ECON: &str = "ECON";

/// A published dataset: what it holds, and where its rows come from.
#[derive(Debug)]
pub struct Spec {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub keywords: &'static [&'static str],
    /// EU data-theme codes.
    pub themes: &'static [&'static str],
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// The districts with their boundaries and the indicators of the latest month.
    Districts,
    /// Indicators per area and month from these source datasets (empty: all of them).
    Indicators(&'static [&'static str]),
    Segregation,
    /// The placement figures of each complete calendar year, for the municipality.
    Years,
    /// The activation pipeline's homes entering and leaving each stage, per month and district.
    PipelineMonthly,
    /// The activation pipeline's conversions and median days per stage and scope.
    PipelineStages,
}

impl Spec {
    /// The loaded datasets this one is built from.
    pub fn sources(&self) -> Vec<&'static str> {
        let all = || {
            ingest::schema::all()
                .iter()
                .map(|s| s.name.as_str())
                .filter(|n| *n != "population" && *n != crate::outreach::DATASET)
                .collect::<Vec<_>>()
        };
        match self.kind {
            Kind::Districts => all(),
            Kind::Indicators([]) => all(),
            Kind::Indicators(s) => s.to_vec(),
            Kind::Segregation => vec!["districts", "population", "placements"],
            Kind::Years => vec!["placements"],
            Kind::PipelineMonthly | Kind::PipelineStages => {
                vec!["vacant_properties", crate::outreach::DATASET]
            }
        }
    }
}

/// Every published dataset, in catalogue order.
pub static DATASETS: &[Spec] = &[
    Spec {
        id: "districts",
        title: "Districts with housing-preparedness indicators",
        description: "The districts of the municipality with their boundaries and every published indicator for the latest month: vacancy, readiness and cost, social housing and waiting lists, landlord incentives, and placements after small-cell suppression.",
        keywords: &[
            "districts",
            "housing",
            "vacancy",
            "preparedness",
            "boundaries",
        ],
        themes: &[REGI, SOCI],
        kind: Kind::Districts,
    },
    Spec {
        id: "indicators",
        title: "Housing-preparedness indicators by district and month",
        description: "Every indicator of the registry per district and month, with a municipality row per month. Counts built on personal data (placements) from 1 to k-1 are withheld, with the cells that would give them away; a withheld value is empty and named in the withheld column.",
        keywords: &[
            "indicators",
            "housing",
            "vacancy",
            "social housing",
            "refugees",
        ],
        themes: &[SOCI, REGI],
        kind: Kind::Indicators(&[]),
    },
    Spec {
        id: "segregation",
        title: "Residential segregation indices",
        description: "Dissimilarity, Gini, entropy, isolation, exposure, Atkinson, spatial dissimilarity and Moran's I per period for every population group and for persons placed, against the total population, with the multigroup indices; permutation p-values for the latest period.",
        keywords: &["segregation", "dissimilarity", "integration", "population"],
        themes: &[SOCI],
        kind: Kind::Segregation,
    },
    Spec {
        id: "vacant-stock",
        title: "Vacant housing stock by district and month",
        description: "Vacant dwelling units by district and month: vacancy rate, long-term vacancy, vacancy age, owner types, units ready now or within 90 days, renovation cost and places available.",
        keywords: &["vacancy", "vacant housing", "renovation"],
        themes: &[REGI, SOCI],
        kind: Kind::Indicators(&["vacant_properties"]),
    },
    Spec {
        id: "social-housing",
        title: "Social housing and waiting lists by district and month",
        description: "Social housing units, vacant social units, applicants on the waiting list (international protection among them) and waiting times by district and month.",
        keywords: &["social housing", "waiting list"],
        themes: &[SOCI],
        kind: Kind::Indicators(&["social_housing", "social_housing_waiting_list"]),
    },
    Spec {
        id: "landlord-incentives",
        title: "Landlord incentive schemes by district and month",
        description: "Incentive agreements with landlords by district and month: active agreements, spend, cost per unit-month and uptake.",
        keywords: &["landlord incentives", "housing policy"],
        themes: &[ECON, SOCI],
        kind: Kind::Indicators(&["landlord_incentives"]),
    },
    Spec {
        id: "placements",
        title: "Placements of newcomers by district and month (aggregated)",
        description: "Households and persons in active placements by district and month, protected by the disclosure step (docs/disclosure.md): a withheld value is empty and named in the withheld column. Starts, ends, days from referral and exits to autonomy are published per year in placements-years; no row of the placements register is published.",
        keywords: &[
            "placements",
            "refugees",
            "community sponsorship",
            "resettlement",
        ],
        themes: &[SOCI],
        kind: Kind::Indicators(&["placements"]),
    },
    Spec {
        id: "placements-years",
        title: "Placements of newcomers by year (aggregated)",
        description: "For the municipality and each complete calendar year: households whose placement started and ended, households started per programme, the share of exits to autonomy and the median days from referral to placement; and the end of the activation pipeline of vacant homes: households housed in homes of the vacancy register, homes let for the first time, tenancies sustained, and the cost per home let and per household housed. Protected by the disclosure step: a withheld value is empty and named in the withheld column.",
        keywords: &["placements", "refugees", "reception", "annual"],
        themes: &[SOCI],
        kind: Kind::Years,
    },
    Spec {
        id: "activation-pipeline",
        title: "Vacant homes brought back into use: the activation pipeline by district and month",
        description: "Homes entering and leaving each stage of the way from vacant to let (identified, owner contacted, owner answered, renovation, offered), per district and month, from the vacancy register's status history and the owner outreach cases. The stages from let on are built on placements and are not published here; nor are the homes leaving the offered stage.",
        keywords: &["vacancy", "empty homes", "owner outreach", "activation"],
        themes: &[REGI, SOCI],
        kind: Kind::PipelineMonthly,
    },
    Spec {
        id: "activation-pipeline-stages",
        title: "Vacant homes brought back into use: conversions and days per stage",
        description: "For the municipality, each district, each owner type and each incentive type: the homes that reached each stage of the activation pipeline, the share of them that reached the next one and the median days spent in the stage (over the homes whose both dates are known). Up to the offered stage.",
        keywords: &["vacancy", "empty homes", "owner outreach", "conversion"],
        themes: &[REGI, SOCI],
        kind: Kind::PipelineStages,
    },
];

/// Who publishes, under what licence, and where releases are written.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The folder of version folders.
    pub root: PathBuf,
    pub publisher: String,
    /// E-mail address of the contact point.
    pub contact: String,
    /// Licence IRI.
    pub licence: String,
    /// Publish even when nothing changed since the last release.
    pub force: bool,
    /// How the personal figures are protected and when a release may be made.
    pub disclosure: disclosure::release::Settings,
}

impl PublishOptions {
    pub fn new(root: PathBuf) -> PublishOptions {
        PublishOptions {
            root,
            publisher: "Municipal housing preparedness (Haven)".into(),
            contact: "opendata@haven.invalid".into(),
            licence: DEFAULT_LICENCE.into(),
            force: false,
            disclosure: disclosure::release::Settings::default(),
        }
    }
}

/// One file of a release.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    /// EU file-type code: CSV, PARQUET, GEOJSON, JSON.
    pub format: String,
    pub media_type: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetFiles {
    pub id: String,
    pub rows: u64,
    pub files: Vec<FileEntry>,
}

/// What a release holds: written as `manifest.json` and kept in `releases`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// RFC 3339, UTC.
    pub published_at: String,
    pub publisher: String,
    pub contact: String,
    pub licence: String,
    /// First and last month covered (`YYYY-MM`).
    pub temporal: Option<[String; 2]>,
    /// Around every district (WGS84).
    pub bbox: Option<Bbox>,
    pub datasets: Vec<DatasetFiles>,
    /// The Frictionless data package describing every CSV.
    pub package: FileEntry,
    /// The datasets and loads its figures were computed from (none in releases made before
    /// they were recorded).
    #[serde(default)]
    pub sources: Vec<crate::provenance::Source>,
    /// When each part of the analysis behind it ran.
    #[serde(default)]
    pub analyses: Vec<crate::provenance::Analysis>,
}

/// What `publish` did.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    pub version: u32,
    /// Nothing changed since this release; no new one was written.
    pub unchanged: bool,
    pub dir: PathBuf,
    pub files: usize,
    pub bytes: u64,
    /// The disclosure step of a new release: what it withheld and how the audit proved it.
    pub disclosure: Option<disclosure::release::Staged>,
    /// What reached the region's lake, when one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lake: Option<lake::Pushed>,
}

fn internal(what: &str) -> impl Fn(duckdb::Error) -> Error + '_ {
    move |e| Error::Internal(format!("{what}: {e}"))
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Internal(format!("{}: {e}", what.display()))
}

/// The indicators a dataset of this kind holds.
fn indicators_of(sources: &[&str]) -> Vec<&'static Indicator> {
    INDICATORS
        .iter()
        .filter(|i| sources.is_empty() || i.datasets.iter().any(|d| sources.contains(d)))
        .collect()
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

/// Writes a query's result with DuckDB's COPY and returns the rows written.
fn copy(conn: &Connection, select: &str, path: &Path, options: &str) -> Result<u64, Error> {
    let n = conn
        .execute(
            &format!("COPY ({select}) TO {} ({options})", quoted(path)),
            [],
        )
        .map_err(internal("writing a release file"))?;
    Ok(n as u64)
}

/// A table as CSV and Parquet (`path` names a file of the dataset by its extension): its rows
/// and the two files' entries.
fn tabular(
    conn: &Connection,
    select: &str,
    path: &dyn Fn(&str) -> PathBuf,
) -> Result<(u64, Vec<FileEntry>), Error> {
    let rows = copy(conn, select, &path("csv"), CSV)?;
    copy(conn, select, &path("parquet"), PARQUET)?;
    let files = vec![
        entry(&path("csv"), "CSV", "text/csv")?,
        entry(
            &path("parquet"),
            "PARQUET",
            "application/vnd.apache.parquet",
        )?,
    ];
    Ok((rows, files))
}

fn entry(path: &Path, format: &str, media_type: &str) -> Result<FileEntry, Error> {
    let bytes = fs::read(path).map_err(io(path))?;
    Ok(FileEntry {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        format: format.into(),
        media_type: media_type.into(),
        bytes: bytes.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    })
}

const CSV: &str = "FORMAT CSV, HEADER";
const PARQUET: &str = "FORMAT PARQUET, COMPRESSION ZSTD";

/// Every release's manifest, oldest first.
pub fn manifests(store: &ingest::Store) -> Result<Vec<Manifest>, Error> {
    let mut stmt = store
        .conn()
        .prepare("SELECT manifest FROM releases ORDER BY version")?;
    let texts: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    texts
        .iter()
        .map(|t| {
            serde_json::from_str(t).map_err(|e| Error::Internal(format!("release manifest: {e}")))
        })
        .collect()
}

/// Publishes a new release unless nothing changed since the last one (or `force`).
pub fn publish(store: &ingest::Store, opts: &PublishOptions) -> Result<Release, Error> {
    crate::migrate(store)?;
    let conn = store.conn();
    if !store.has_table("indicators_monthly")? {
        return Err(Error::Invalid(
            "nothing to publish yet: load data and run `haven analyze` first".into(),
        ));
    }
    let runs: String = conn
        .query_row(
            "SELECT coalesce(string_agg(part || '=' || fingerprint || '@' || computed_at::VARCHAR, ';' ORDER BY part), '') FROM analysis_runs",
            [],
            |r| r.get(0),
        )
        .map_err(internal("reading analysis runs"))?;
    let source = format!(
        "{runs};publisher={};contact={};licence={}",
        opts.publisher, opts.contact, opts.licence
    );
    let last: Option<(u32, String)> = conn
        .query_row(
            "SELECT version, source FROM releases ORDER BY version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            duckdb::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(internal("reading releases"))?;
    if let Some((version, last_source)) = &last
        && *last_source == source
        && !opts.force
    {
        let dir = opts.root.join(format!("v{version}"));
        if dir.is_dir() {
            return Ok(Release {
                version: *version,
                unchanged: true,
                dir,
                files: 0,
                bytes: 0,
                disclosure: None,
                lake: None,
            });
        }
    }
    let version = last.map_or(1, |(v, _)| v + 1);
    let dir = opts.root.join(format!("v{version}"));
    if dir.exists() {
        // A release killed between renaming its folder and committing its record: the record
        // (and the disclosure ledger with it) was rolled back, so the folder is no release and
        // was never served (only recorded releases are). It is set aside, never reused.
        let aside = opts.root.join(format!(".v{version}.unrecorded"));
        if aside.exists() {
            fs::remove_dir_all(&aside).map_err(io(&aside))?;
        }
        fs::rename(&dir, &aside).map_err(io(&dir))?;
        tracing::warn!(
            dir = %dir.display(),
            aside = %aside.display(),
            "a folder of an unrecorded release (a publish cut short) was set aside"
        );
    }
    fs::create_dir_all(&opts.root).map_err(io(&opts.root))?;
    let tmp = opts.root.join(format!(".v{version}.partial"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    // Everything the release publishes passes the disclosure step first.
    let staged = match disclosure::release::stage(conn, &opts.disclosure) {
        Ok(s) => s,
        Err(e) => {
            disclosure::release::discard(conn);
            let _ = fs::remove_dir_all(&tmp);
            return Err(e.into());
        }
    };
    let written = write_release(conn, opts, version, &tmp);
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            disclosure::release::discard(conn);
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let manifest_json = serde_json::to_string_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    let path = tmp.join("manifest.json");
    fs::write(&path, &manifest_json).map_err(io(&path))?;
    // Recorded and renamed together: a release is in the table only if its folder is whole.
    conn.execute_batch("BEGIN")
        .map_err(internal("recording the release"))?;
    let recorded = conn
        .execute(
            "INSERT INTO releases VALUES (?, ?::TIMESTAMPTZ, ?, ?)",
            duckdb::params![version, manifest.published_at, source, manifest_json],
        )
        .map_err(internal("recording the release"))
        .and_then(|_| disclosure::release::commit(conn, version, &staged).map_err(Error::from))
        .and_then(|_| fs::rename(&tmp, &dir).map_err(io(&dir)))
        .and_then(|_| {
            conn.execute_batch("COMMIT")
                .map_err(internal("recording the release"))
        });
    if let Err(e) = recorded {
        let _ = conn.execute_batch("ROLLBACK");
        disclosure::release::discard(conn);
        let _ = fs::remove_dir_all(&tmp);
        if dir.exists() && !tmp.exists() {
            let _ = fs::rename(&dir, &tmp).and_then(|_| fs::remove_dir_all(&tmp));
        }
        return Err(e);
    }
    let files: Vec<&FileEntry> = manifest
        .datasets
        .iter()
        .flat_map(|d| &d.files)
        .chain([&manifest.package])
        .collect();
    tracing::info!(version, files = files.len() + 1, dir = %dir.display(), "release published");
    Ok(Release {
        version,
        unchanged: false,
        dir,
        files: files.len() + 1,
        bytes: files.iter().map(|f| f.bytes).sum(),
        disclosure: Some(staged),
        lake: None,
    })
}

fn write_release(
    conn: &Connection,
    opts: &PublishOptions,
    version: u32,
    dir: &Path,
) -> Result<Manifest, Error> {
    let published_at: String = conn
        .query_row(
            "SELECT strftime(now() AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')",
            [],
            |r| r.get(0),
        )
        .map_err(internal("clock"))?;
    let temporal: Option<(String, String)> = conn
        .query_row(
            "SELECT min(period), max(period) FROM staged_indicators_published",
            [],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            },
        )
        .map(|(a, b)| a.zip(b))
        .map_err(internal("reading periods"))?;
    let mut bbox = None;
    let mut datasets = Vec::new();
    let mut resources = Vec::new();
    for spec in DATASETS {
        let path = |ext: &str| dir.join(format!("{}.{ext}", spec.id));
        let (rows, files, fields, key) = match spec.kind {
            Kind::Districts => {
                let latest = temporal.as_ref().map(|t| t.1.clone());
                let (rows, b) = write_districts(conn, dir, latest.as_deref())?;
                bbox = b;
                let mut fields = vec![
                    district_field("district_code"),
                    district_field("name"),
                    district_field("parent_code"),
                    json!({"name": "period", "type": "yearmonth", "title": "Month of the indicators", "hxl": "#date+month"}),
                ];
                fields.extend(indicator_fields(&indicators_of(&[])));
                fields.push(withheld_field());
                let files = vec![
                    entry(&path("csv"), "CSV", "text/csv")?,
                    entry(&path("geojson"), "GEOJSON", "application/geo+json")?,
                    entry(
                        &path("parquet"),
                        "PARQUET",
                        "application/vnd.apache.parquet",
                    )?,
                ];
                (rows, files, fields, vec!["district_code"])
            }
            Kind::Indicators(sources) => {
                let ids = indicators_of(sources);
                let personal = ids.iter().any(|i| i.class == Class::Personal);
                let columns: String = ids.iter().map(|i| format!(", \"{}\"", i.id)).collect();
                let select = format!(
                    "SELECT area_code, level, period{columns}{} FROM staged_indicators_published
                     ORDER BY level = 'municipality', area_code, period",
                    if personal {
                        ", nullif(withheld, '') AS withheld"
                    } else {
                        ""
                    }
                );
                let (rows, files) = tabular(conn, &select, &path)?;
                let mut fields = vec![
                    json!({"name": "area_code", "type": "string", "title": "Area code", "description": "District code (P-code style), or the municipality's code on municipality rows.", "constraints": {"required": true}, "hxl": "#adm2+code"}),
                    json!({"name": "level", "type": "string", "title": "Level", "description": "district, or municipality for the whole municipality.", "constraints": {"required": true, "enum": ["district", "municipality"]}, "hxl": "#meta+level"}),
                    json!({"name": "period", "type": "yearmonth", "title": "Month", "description": "The month, YYYY-MM; stock figures are at its end.", "constraints": {"required": true}, "hxl": "#date+month"}),
                ];
                fields.extend(indicator_fields(&ids));
                if personal {
                    fields.push(withheld_field());
                }
                (rows, files, fields, vec!["area_code", "period"])
            }
            Kind::Segregation => {
                let select = "SELECT period, \"group\", \"index\", value, p_value FROM staged_segregation_published ORDER BY period, \"group\", \"index\"";
                let (rows, files) = tabular(conn, select, &path)?;
                let fields = vec![
                    json!({"name": "period", "type": "yearmonth", "title": "Month", "constraints": {"required": true}, "hxl": "#date+month"}),
                    json!({"name": "group", "type": "string", "title": "Group", "description": "A population group, placed_persons (persons placed against the total population), or all for the multigroup indices.", "constraints": {"required": true}, "hxl": "#population+group"}),
                    json!({"name": "index", "type": "string", "title": "Index", "description": "dissimilarity, gini, entropy, isolation, exposure, atkinson_0_5, spatial_dissimilarity, morans_i, multi_dissimilarity or multi_information_theory (PySAL segregation and esda definitions).", "constraints": {"required": true}, "hxl": "#indicator+name"}),
                    json!({"name": "value", "type": "number", "title": "Value", "hxl": "#indicator+value+num"}),
                    json!({"name": "p_value", "type": "number", "title": "Permutation p-value", "description": "Share of 999 random labellings at least as extreme (latest period only).", "hxl": "#indicator+pvalue+num"}),
                ];
                (rows, files, fields, vec!["period", "group", "index"])
            }
            Kind::Years => {
                let programmes: String = disclosure::PROGRAMMES
                    .iter()
                    .map(|p| format!(", placements_started_{p}"))
                    .collect();
                let select = format!(
                    "SELECT year, placements_started, placements_ended, placements_exit_autonomy_share,
                            placements_median_days_to_start{programmes},
                            households_housed_in_register_homes, register_homes_let,
                            tenancies_sustained, cost_per_home_let_eur, cost_per_household_housed_eur,
                            nullif(withheld, '') AS withheld
                     FROM staged_placements_years ORDER BY year"
                );
                let (rows, files) = tabular(conn, &select, &path)?;
                let count = |name: &str, title: &str| json!({"name": name, "type": "integer", "title": title, "description": format!("{title}. Built on personal data: withheld (empty) when small or when it would give a small value away."), "hxl": indicator_hxl(name)});
                let mut fields = vec![
                    json!({"name": "year", "type": "year", "title": "Calendar year", "description": "A complete calendar year covered by the data.", "constraints": {"required": true}, "hxl": "#date+year"}),
                    count(
                        "placements_started",
                        "Households whose placement started in the year",
                    ),
                    count(
                        "placements_ended",
                        "Households whose placement ended in the year",
                    ),
                    json!({"name": "placements_exit_autonomy_share", "type": "number", "title": "Share of placements ended in the year that ended in autonomy", "hxl": indicator_hxl("placements_exit_autonomy_share")}),
                    json!({"name": "placements_median_days_to_start", "type": "number", "title": "Median days from referral to placement, for placements started in the year", "hxl": indicator_hxl("placements_median_days_to_start")}),
                ];
                for p in disclosure::PROGRAMMES {
                    fields.push(count(
                        &format!("placements_started_{p}"),
                        &format!("Households placed in the year through the programme {p}"),
                    ));
                }
                let days = analytics::pipeline::SUSTAINED_DAYS;
                fields.extend([
                    count(
                        "households_housed_in_register_homes",
                        "Households whose placement in a home of the vacancy register started in the year",
                    ),
                    count(
                        "register_homes_let",
                        "Homes of the vacancy register let to a placed household for the first time in the year",
                    ),
                    count(
                        "tenancies_sustained",
                        &format!("Placements in homes of the vacancy register that reached {days} days in the year"),
                    ),
                    json!({"name": "cost_per_home_let_eur", "type": "number", "title": "Cost per home let", "description": "Renovation and landlord incentives of the homes let for the first time in the year, per home, in euro. Withheld with the homes let or the households housed.", "constraints": {"minimum": 0}, "hxl": "#value+cost+home+eur"}),
                    json!({"name": "cost_per_household_housed_eur", "type": "number", "title": "Cost per household housed", "description": "Renovation and landlord incentives of the homes let for the first time in the year, per household housed in homes of the register in the year, in euro. Withheld with the homes let or the households housed.", "constraints": {"minimum": 0}, "hxl": "#value+cost+household+eur"}),
                ]);
                fields.push(withheld_field());
                (rows, files, fields, vec!["year"])
            }
            Kind::PipelineMonthly => {
                let select = "SELECT period, district_code, stage, entered, left_stage
                              FROM staged_pipeline_published ORDER BY period, district_code, stage";
                let (rows, files) = tabular(conn, select, &path)?;
                let fields = vec![
                    json!({"name": "period", "type": "yearmonth", "title": "Month", "constraints": {"required": true}, "hxl": "#date+month"}),
                    district_field("district_code"),
                    stage_field(),
                    json!({"name": "entered", "type": "integer", "title": "Homes entering the stage in the month", "constraints": {"minimum": 0}, "hxl": "#indicator+entered+num"}),
                    json!({"name": "left_stage", "type": "integer", "title": "Homes leaving the stage in the month", "description": "To a later stage, or out of the pipeline (withdrawn; an owner who refuses, sold or is exempt). Empty for the offered stage: homes leave it when they are let.", "constraints": {"minimum": 0}, "hxl": "#indicator+left+num"}),
                ];
                (
                    rows,
                    files,
                    fields,
                    vec!["period", "district_code", "stage"],
                )
            }
            Kind::PipelineStages => {
                let select = "SELECT scope_type, scope, stage, reached, converted, conversion,
                                     median_days, timed
                              FROM staged_pipeline_stages_published ORDER BY scope_type, scope, stage";
                let (rows, files) = tabular(conn, select, &path)?;
                let fields = vec![
                    json!({"name": "scope_type", "type": "string", "title": "Scope", "constraints": {"required": true, "enum": ["municipality", "district", "owner_type", "incentive_type"]}, "hxl": "#meta+scope+type"}),
                    json!({"name": "scope", "type": "string", "title": "District code, owner type or incentive type", "description": "Empty for the municipality.", "hxl": "#meta+scope"}),
                    stage_field(),
                    json!({"name": "reached", "type": "integer", "title": "Homes that reached the stage", "constraints": {"minimum": 0}, "hxl": "#indicator+reached+num"}),
                    json!({"name": "converted", "type": "integer", "title": "Of those, homes that reached the next stage", "constraints": {"minimum": 0}, "hxl": "#indicator+converted+num"}),
                    json!({"name": "conversion", "type": "number", "title": "Share of the homes that reached the next stage", "constraints": {"minimum": 0, "maximum": 1}, "hxl": "#indicator+conversion+pct"}),
                    json!({"name": "median_days", "type": "number", "title": "Median days spent in the stage", "constraints": {"minimum": 0}, "hxl": "#indicator+days+median"}),
                    json!({"name": "timed", "type": "integer", "title": "Homes the median is taken over", "constraints": {"minimum": 0}, "hxl": "#indicator+timed+num"}),
                ];
                (rows, files, fields, vec!["scope_type", "scope", "stage"])
            }
        };
        let csv = &files[0];
        resources.push(json!({
            "name": spec.id,
            "title": spec.title,
            "description": spec.description,
            "path": csv.name,
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "bytes": csv.bytes,
            "hash": format!("sha256:{}", csv.sha256),
            "schema": {"fields": fields, "primaryKey": key, "missingValues": [""]},
        }));
        datasets.push(DatasetFiles {
            id: spec.id.into(),
            rows,
            files,
        });
    }
    let sources = crate::provenance::sources(conn)?;
    let analyses = crate::provenance::analyses(conn)?;
    // Frictionless `sources`: a title each; Haven adds the loads (batch, file, time, rows read
    // and rejected) of the datasets that are not personal.
    let package_sources: Vec<Value> = sources
        .iter()
        .map(|s| {
            json!({
                "title": s.title,
                "dataset": s.dataset,
                "personal": s.personal,
                "loads": s.loads,
            })
        })
        .collect();
    let package = json!({
        "name": "haven-open-data",
        "title": "Municipal housing preparedness: open data",
        "description": "Aggregated, privacy-safe open data on vacant housing, social housing, landlord incentives, placements of newcomers and residential segregation.",
        "version": format!("{version}.0.0"),
        "created": published_at,
        "licenses": [licence_of(&opts.licence)],
        "contributors": [{"title": opts.publisher, "email": opts.contact, "role": "publisher"}],
        "resources": resources,
        "sources": package_sources,
        "analyses": analyses,
    });
    let path = dir.join("datapackage.json");
    let text = serde_json::to_string_pretty(&package)
        .map_err(|e| Error::Internal(format!("datapackage: {e}")))?;
    fs::write(&path, text).map_err(io(&path))?;
    Ok(Manifest {
        version,
        published_at,
        publisher: opts.publisher.clone(),
        contact: opts.contact.clone(),
        licence: opts.licence.clone(),
        temporal: temporal.map(|(a, b)| [a, b]),
        bbox,
        datasets,
        package: entry(&path, "JSON", "application/json")?,
        sources,
        analyses,
    })
}

fn licence_of(iri: &str) -> Value {
    if iri == DEFAULT_LICENCE {
        json!({"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/", "title": "Creative Commons Attribution 4.0"})
    } else {
        json!({"path": iri})
    }
}

/// A field of the districts schema, with its description and HXL hashtag.
fn district_field(name: &str) -> Value {
    let schema = ingest::schema::get("districts").ok();
    let field = schema.and_then(|s| s.fields.iter().find(|f| f.name == name));
    let mut v = json!({"name": name, "type": "string"});
    if let Some(f) = field {
        v["description"] = json!(f.description);
        if let Some(tag) = &f.hxl {
            v["hxl"] = json!(tag);
        }
        if f.constraints.required {
            v["constraints"] = json!({"required": true});
        }
    }
    v
}

/// The HXL hashtag of an indicator column.
pub fn indicator_hxl(id: &str) -> String {
    format!("#indicator+num+{id}")
}

fn indicator_fields(ids: &[&'static Indicator]) -> Vec<Value> {
    ids.iter()
        .map(|i| {
            json!({
                "name": i.id,
                "type": if i.is_count() { "integer" } else { "number" },
                "title": i.en,
                "description": format!("{} (NL: {}). Unit: {}.{}", i.en, i.nl, i.unit,
                    match (i.class, i.publication()) {
                        (Class::Public, _) => "",
                        (_, Publication::Monthly) => " Built on personal data: withheld (empty) when small or when it would give a small value away.",
                        (_, Publication::Yearly) => " Built on personal data: published per year for the municipality in placements-years; withheld (empty) here.",
                        _ => " Built on personal data: for signed-in officers only; withheld (empty) here.",
                    }),
                "unit": i.unit,
                "hxl": indicator_hxl(i.id),
            })
        })
        .collect()
}

fn stage_field() -> Value {
    let public = &analytics::pipeline::STAGES[..analytics::pipeline::FIRST_PERSONAL_STAGE];
    json!({"name": "stage", "type": "string", "title": "Stage of the activation pipeline", "constraints": {"required": true, "enum": public}, "hxl": "#status+stage"})
}

fn withheld_field() -> Value {
    json!({"name": "withheld", "type": "string", "title": "Withheld indicators", "description": "Comma-separated ids of the figures of this row withheld to protect privacy (their values are empty, never 0); see docs/disclosure.md.", "hxl": "#meta+withheld"})
}

/// The districts dataset: CSV and GeoParquet through DuckDB, GeoJSON built here. Returns the
/// rows and the bounding box of all districts.
fn write_districts(
    conn: &Connection,
    dir: &Path,
    latest: Option<&str>,
) -> Result<(u64, Option<Bbox>), Error> {
    let ids = indicators_of(&[]);
    let columns: String = ids.iter().map(|i| format!(", p.\"{}\"", i.id)).collect();
    let latest = latest.unwrap_or("").replace('\'', "''");
    let select = format!(
        "SELECT d.district_code, d.name, d.parent_code, '{latest}' AS period{columns}, nullif(p.withheld, '') AS withheld
         FROM districts d LEFT JOIN staged_indicators_published p
           ON p.area_code = d.district_code AND p.level = 'district' AND p.period = '{latest}'
         ORDER BY d.district_code"
    );
    let rows = copy(conn, &select, &dir.join("districts.csv"), CSV)?;
    // Boundaries, oriented as RFC 7946 asks, as GeoJSON and as WKB.
    let mut stmt = conn
        .prepare("SELECT district_code, geometry FROM districts ORDER BY district_code")
        .map_err(internal("reading districts"))?;
    let areas: Vec<(String, Area)> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(internal("reading districts"))?
        .map(|r| {
            let (code, text) = r.map_err(internal("reading districts"))?;
            Ok((code, Area::parse(&text)?))
        })
        .collect::<Result<_, Error>>()?;
    let bbox = crate::geometry::union(areas.iter().map(|(_, a)| a.bbox()));
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE publish_geometry (district_code VARCHAR, geometry BLOB)",
    )
    .map_err(internal("staging boundaries"))?;
    {
        let mut app = conn
            .appender("publish_geometry")
            .map_err(internal("staging boundaries"))?;
        for (code, area) in &areas {
            app.append_row(duckdb::params![code, area.wkb()])
                .map_err(internal("staging boundaries"))?;
        }
        app.flush().map_err(internal("staging boundaries"))?;
    }
    let mut types: Vec<&str> = areas.iter().map(|(_, a)| a.geometry_type()).collect();
    types.sort_unstable();
    types.dedup();
    let geo = json!({
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {
            "encoding": "WKB",
            "geometry_types": types,
            "orientation": "counterclockwise",
            "bbox": bbox,
        }},
    });
    let with_geometry = format!(
        "SELECT q.*, g.geometry FROM ({select}) q JOIN publish_geometry g USING (district_code) ORDER BY district_code"
    );
    copy(
        conn,
        &with_geometry,
        &dir.join("districts.parquet"),
        &format!(
            "{PARQUET}, KV_METADATA {{geo: '{}'}}",
            geo.to_string().replace('\'', "''")
        ),
    )?;
    // GeoJSON: the same rows as features.
    let mut stmt = conn
        .prepare(&select)
        .map_err(internal("reading districts"))?;
    let names: Vec<&str> = ["district_code", "name", "parent_code", "period"]
        .into_iter()
        .chain(ids.iter().map(|i| i.id))
        .chain(["withheld"])
        .collect();
    let mut features = Vec::with_capacity(areas.len());
    let mut query = stmt.query([]).map_err(internal("reading districts"))?;
    let mut i = 0;
    while let Some(row) = query.next().map_err(internal("reading districts"))? {
        let mut properties = serde_json::Map::new();
        for (c, name) in names.iter().enumerate() {
            let v: Db = row.get(c).map_err(internal("reading districts"))?;
            properties.insert(name.to_string(), json_of(&v, *name == "withheld"));
        }
        let (code, area) = &areas[i];
        i += 1;
        features.push((code.clone(), area, properties));
    }
    let collection = crate::geometry::collection(features);
    let path = dir.join("districts.geojson");
    let mut f = fs::File::create(&path).map_err(io(&path))?;
    serde_json::to_writer(&mut f, &collection)
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    f.flush().map_err(io(&path))?;
    conn.execute_batch("DROP TABLE IF EXISTS publish_geometry")
        .map_err(internal("staging boundaries"))?;
    Ok((rows, bbox))
}

/// A DuckDB value as JSON; the withheld list becomes an array of ids.
fn json_of(v: &Db, list: bool) -> Value {
    match v {
        Db::Null if list => json!([]),
        Db::Text(s) if list => json!(s.split(',').filter(|x| !x.is_empty()).collect::<Vec<_>>()),
        other => crate::json_value(other),
    }
}
