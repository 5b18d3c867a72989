//! A municipality's releases in its region's lake (`[lake]` in haven.toml; see docs/scale.md).
//!
//! A release goes to the lake as it was released: each published table from the release's own
//! Parquet file (so the lake holds what the version folder holds), and beside it, in the
//! restricted catalogue, the true figures behind it (`indicators_monthly`, before the
//! disclosure step) for the region's own analysis. Those leave the database only through a
//! temporary Parquet file, removed when the push is done, and encrypted with a key of this
//! push alone when the database is encrypted.

use std::path::Path;

use crate::publish::Manifest;
use crate::{Error, Settings};

/// The restricted tables a release takes to the lake.
const RESTRICTED: &[&str] = &["indicators_monthly"];

impl From<lake::Error> for Error {
    fn from(e: lake::Error) -> Self {
        match e {
            lake::Error::Settings(m) => Error::Settings(m),
            lake::Error::Refused(m) => Error::Invalid(m),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// The lake's settings, or a message naming what to set.
pub fn settings(settings: &Settings) -> Result<&lake::Settings, Error> {
    settings.lake.as_ref().ok_or_else(|| {
        Error::Settings(
            "no lake is set: give --lake postgres://… and --data s3://bucket/prefix (or [lake] catalog and data in haven.toml)"
                .into(),
        )
    })
}

/// Pushes release `version` (default: the latest) of this database to the lake.
pub fn push(
    store: &ingest::Store,
    settings: &Settings,
    version: Option<u32>,
) -> Result<lake::Pushed, Error> {
    let lake_settings = self::settings(settings)?;
    let prepared = prepare(store, settings, version)?;
    let lake = lake::Lake::open(lake_settings, lake::Access::Writer)?;
    Ok(lake.push(&prepared.release)?)
}

/// A release ready to go to the lake: its published tables' files in the version folder, and
/// the restricted ones in a temporary folder of this push alone (removed when dropped).
pub struct Prepared {
    pub release: lake::Release,
    _tmp: tempfile::TempDir,
}

/// Gathers release `version` (default: the latest) of this database for the lake.
pub fn prepare(
    store: &ingest::Store,
    settings: &Settings,
    version: Option<u32>,
) -> Result<Prepared, Error> {
    let manifests = crate::publish::manifests(store)?;
    let manifest = match version {
        Some(v) => manifests
            .iter()
            .find(|m| m.version == v)
            .ok_or_else(|| Error::NotFound(format!("there is no release {v}")))?,
        None => manifests.last().ok_or_else(|| {
            Error::NotFound("there is no release yet: `haven publish` makes the first".into())
        })?,
    };
    let dir = settings.release.root.join(format!("v{}", manifest.version));
    let municipality = municipality_of(store.conn(), &dir.join("indicators.parquet"))?;
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::Internal(format!("a temporary folder for the push: {e}")))?;
    let key = export_restricted(store, tmp.path())?;
    let release = lake::Release {
        municipality,
        version: manifest.version,
        published_at: manifest.published_at.clone(),
        manifest: serde_json::to_string(manifest)
            .map_err(|e| Error::Internal(format!("manifest: {e}")))?,
        public: public_tables(manifest, &dir)?,
        files: release_files(manifest, &dir)?,
        restricted: RESTRICTED
            .iter()
            .map(|t| lake::Table {
                name: (*t).to_string(),
                parquet: tmp.path().join(format!("{t}.parquet")),
                key: key.clone().map(lake::Secret::new),
            })
            .collect(),
    };
    Ok(Prepared { release, _tmp: tmp })
}

/// Every file of the release folder, as its manifest lists them, and the manifest itself; each
/// file the manifest gives a SHA-256 has it (a changed or damaged folder is not pushed: the
/// bucket keeps a release's files for good).
fn release_files(
    manifest: &Manifest,
    dir: &Path,
) -> Result<Vec<(String, std::path::PathBuf)>, Error> {
    use sha2::{Digest, Sha256};
    for f in manifest.datasets.iter().flat_map(|d| &d.files) {
        let path = dir.join(&f.name);
        let bytes =
            std::fs::read(&path).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        let sum = format!("{:x}", Sha256::digest(&bytes));
        if sum != f.sha256 || bytes.len() as u64 != f.bytes {
            return Err(Error::Invalid(format!(
                "{} is not the file release {} published ({} bytes, SHA-256 {sum}; its manifest says {} bytes, {}): restore it from a backup before pushing",
                path.display(),
                manifest.version,
                bytes.len(),
                f.bytes,
                f.sha256
            )));
        }
    }
    let mut names: Vec<String> = manifest
        .datasets
        .iter()
        .flat_map(|d| d.files.iter().map(|f| f.name.clone()))
        .chain([manifest.package.name.clone(), "manifest.json".to_string()])
        .collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|n| {
            let path = dir.join(&n);
            (n, path)
        })
        .collect())
}

/// The release's published tables: every dataset with a Parquet file.
fn public_tables(manifest: &Manifest, dir: &Path) -> Result<Vec<lake::Table>, Error> {
    let mut tables = Vec::new();
    for d in &manifest.datasets {
        let file = format!("{}.parquet", d.id);
        if !d.files.iter().any(|f| f.name == file) {
            continue;
        }
        let parquet = dir.join(&file);
        if !parquet.exists() {
            return Err(Error::NotFound(format!(
                "{} is missing from release {}; `haven restore` brings back a backup of it",
                parquet.display(),
                manifest.version
            )));
        }
        tables.push(lake::Table {
            name: d.id.replace('-', "_"),
            parquet,
            key: None,
        });
    }
    Ok(tables)
}

/// The municipality a release is about: the code on the municipality rows of its indicators.
pub(crate) fn municipality_of(conn: &duckdb::Connection, path: &Path) -> Result<String, Error> {
    let codes: Vec<String> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT DISTINCT area_code FROM read_parquet('{}') WHERE level = 'municipality' ORDER BY 1",
            path.display().to_string().replace('\'', "''")
        ))?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    match codes.as_slice() {
        [one] => {
            lake::check_municipality(one)?;
            Ok(one.clone())
        }
        [] => Err(Error::Invalid(format!(
            "{} names no municipality (no row of level municipality)",
            path.display()
        ))),
        many => Err(Error::Invalid(format!(
            "{} names several municipalities ({}); a release is one municipality's",
            path.display(),
            many.join(", ")
        ))),
    }
}

/// Writes the restricted tables into `dir`; encrypted with a new key (returned) when the
/// database itself is, so that they are never on disk in the clear when it is not.
fn export_restricted(store: &ingest::Store, dir: &Path) -> Result<Option<String>, Error> {
    let conn = store.conn();
    // Writing an encrypted Parquet file needs the signed httpfs extension (its OpenSSL).
    store.encryption().prepare(conn)?;
    let key = if store.encryption().is_on() {
        let key: String = conn.query_row(
            "SELECT replace(gen_random_uuid()::VARCHAR, '-', '')",
            [],
            |r| r.get(0),
        )?;
        conn.execute_batch(&format!(
            "PRAGMA add_parquet_key('haven_lake_push', '{key}')"
        ))?;
        Some(key)
    } else {
        None
    };
    let encryption = if key.is_some() {
        ", ENCRYPTION_CONFIG {footer_key: 'haven_lake_push'}"
    } else {
        ""
    };
    for t in RESTRICTED {
        if !store.has_table(t)? {
            return Err(Error::Invalid(format!(
                "{t} is missing: run `haven analyze` before pushing"
            )));
        }
        let path = dir.join(format!("{t}.parquet"));
        conn.execute_batch(&format!(
            "COPY {t} TO '{}' (FORMAT parquet{encryption})",
            path.display().to_string().replace('\'', "''")
        ))?;
    }
    Ok(key)
}
