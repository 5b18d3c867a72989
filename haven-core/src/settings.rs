//! One `Settings`, built once by the program from `haven.toml`, the environment and its flags
//! (in that order of strength: a flag beats the environment, which beats the file), and handed
//! down. No library reads the environment.
//!
//! `haven.toml` holds the scheduled imports (`[[job]]`, read by the `jobs` crate) and these
//! sections, each optional:
//!
//! ```toml
//! [release]
//! published = "published"        # folder of the release folders (relative to this file)
//! publisher = "City of Example"
//! contact = "opendata@example.org"
//! licence = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
//! min_count = 5                  # k of the disclosure step (never below 3)
//! protection_level = 2
//! min_changed_records = 10
//!
//! [analysis]
//! permutations = 999             # of the segregation significance tests
//! groups = ["national", "eu_national", "non_eu_national"]  # the multigroup partition;
//!                                # absent: the groups of the data that add up to total
//!
//! [server]
//! rate_limit = 100               # requests per second per client; 0: none
//! basemap_style = ""             # a MapLibre style URL; empty: no outside basemap
//! base_url = ""                  # the public address, for absolute IRIs in the catalogue
//! max_upload_megabytes = 1024    # larger uploads are refused while they arrive
//! trusted_proxies = []           # addresses (or CIDR ranges) of reverse proxies whose
//!                                # X-Forwarded-For names the client; none: the peer is
//!
//! [retention]
//! placements_months = 60         # placements are deleted this long after they end; absent
//!                                # or 0: kept
//!
//! [database]
//! key_file = "/etc/haven/db.key" # encrypt the database with the key in this file, or:
//! key_command = "pass show haven/db"  # the key a command prints (a secrets manager)
//! extensions = ""                # DuckDB's extension folder (default: the setup script's)
//! memory_limit = "1GB"            # DuckDB's memory for this process (default: 80 % of RAM);
//!                                # a server that runs for months keeps a flat footprint
//!
//! [lake]                         # the region's lake (docs/scale.md); releases go to it
//! catalog = "postgres://haven@db.example.org/lake"  # DuckLake's catalogue in PostgreSQL
//! data = "s3://haven-region/lake" # its data files (public/ and restricted/ under it)
//! s3_endpoint = "https://s3.example.org"  # an S3-compatible server; absent: AWS
//! s3_region = "eu-west-1"
//! s3_key_id = "…"                # with s3_secret_file, or HAVEN_S3_KEY_ID and HAVEN_S3_SECRET
//! s3_secret_file = "/etc/haven/s3.secret"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::publish::PublishOptions;

/// Everything a Haven process is told.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The DuckDB database file.
    pub database: PathBuf,
    /// Who publishes, where releases go and how they are protected.
    pub release: PublishOptions,
    pub analysis: AnalysisSettings,
    pub server: ServerSettings,
    pub retention: RetentionSettings,
    /// Whether the database file is encrypted, and with which key.
    pub encryption: ingest::Encryption,
    /// DuckDB's memory limit for the process (`512MB`, `2GB`); `None`: DuckDB's default.
    pub memory_limit: Option<String>,
    /// The region's lake, when one is set: each release is pushed to it.
    pub lake: Option<lake::Settings>,
}

/// How long personal data is kept.
#[derive(Debug, Clone, Default)]
pub struct RetentionSettings {
    /// Months after its end that a placement is deleted; `None`: kept.
    pub placements_months: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    /// Permutations of the segregation significance tests.
    pub permutations: usize,
    /// The population groups that make up the total, for the multigroup indices; `None`:
    /// found in the data.
    pub groups: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Requests per second per client (0: no limit); a client may burst ten seconds' worth.
    pub rate_limit: f64,
    /// MapLibre style URL of the basemap; empty: the districts over a plain background.
    pub basemap_style: String,
    /// The public address (scheme and host) for absolute IRIs; `None`: the request's Host.
    pub base_url: Option<String>,
    /// Uploads larger than this many bytes are refused while they arrive.
    pub max_upload: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client of a request is the
    /// address nearest the server in that header that is not one of them. Empty: the peer.
    pub trusted_proxies: Vec<Cidr>,
}

/// An address range, `10.0.0.0/8` or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    bits: u8,
}

impl Cidr {
    /// Whether `ip` is in the range (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let ip = match ip {
            V6(v6) => v6.to_ipv4_mapped().map_or(V6(v6), V4),
            v4 => v4,
        };
        let (a, b, width) = match (self.addr, ip) {
            (V4(a), V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
            (V6(a), V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let bits = u32::from(self.bits.min(width as u8));
        let shift = width - bits;
        bits == 0 || (a >> shift) == (b >> shift)
    }
}

impl std::str::FromStr for Cidr {
    type Err = Error;
    fn from_str(text: &str) -> Result<Cidr, Error> {
        let bad = || Error::Settings(format!("{text:?} is not an address or CIDR range"));
        let (addr, bits) = text.trim().split_once('/').unwrap_or((text.trim(), ""));
        let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let bits = if bits.is_empty() {
            width
        } else {
            bits.parse::<u8>()
                .ok()
                .filter(|b| *b <= width)
                .ok_or_else(bad)?
        };
        Ok(Cidr { addr, bits })
    }
}

/// Uploads refused above this unless the settings say otherwise (1 GiB; the largest benchmark
/// file is about 150 MB).
pub const DEFAULT_MAX_UPLOAD: usize = 1 << 30;

/// Requests per second per client unless the settings say otherwise.
pub const DEFAULT_RATE_LIMIT: f64 = 100.0;

/// The sections of `haven.toml` the settings read (the `jobs` crate reads `[[job]]` and
/// accepts these beside it).
pub const SECTIONS: &[&str] = &[
    "release",
    "analysis",
    "server",
    "retention",
    "database",
    "lake",
];

/// The environment variables read, with what each sets.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("HAVEN_PUBLISHED", "release.published"),
    ("HAVEN_PUBLISHER", "release.publisher"),
    ("HAVEN_CONTACT", "release.contact"),
    ("HAVEN_LICENCE", "release.licence"),
    ("HAVEN_MIN_COUNT", "release.min_count"),
    ("HAVEN_PROTECTION_LEVEL", "release.protection_level"),
    ("HAVEN_MIN_CHANGED_RECORDS", "release.min_changed_records"),
    ("HAVEN_PERMUTATIONS", "analysis.permutations"),
    ("HAVEN_RATE_LIMIT", "server.rate_limit"),
    ("HAVEN_BASEMAP_STYLE", "server.basemap_style"),
    ("HAVEN_BASE_URL", "server.base_url"),
    (
        "HAVEN_TRUSTED_PROXIES",
        "server.trusted_proxies (comma-separated)",
    ),
    (
        "HAVEN_RETENTION_PLACEMENTS_MONTHS",
        "retention.placements_months",
    ),
    ("HAVEN_DB_KEY_FILE", "database.key_file"),
    ("HAVEN_DB_KEY_COMMAND", "database.key_command"),
    (
        "HAVEN_DB_KEY",
        "the database key itself (prefer a file or a command)",
    ),
    ("HAVEN_DUCKDB_EXTENSIONS", "database.extensions"),
    ("HAVEN_DUCKDB_MEMORY_LIMIT", "database.memory_limit"),
    ("HAVEN_LAKE", "lake.catalog"),
    ("HAVEN_LAKE_DATA", "lake.data"),
    ("HAVEN_S3_ENDPOINT", "lake.s3_endpoint"),
    ("HAVEN_S3_REGION", "lake.s3_region"),
    ("HAVEN_S3_KEY_ID", "lake.s3_key_id"),
    (
        "HAVEN_S3_SECRET",
        "the object storage's secret itself (or lake.s3_secret_file)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    release: ReleaseSection,
    #[serde(default)]
    analysis: AnalysisSection,
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    retention: RetentionSection,
    #[serde(default)]
    database: DatabaseSection,
    #[serde(default)]
    lake: LakeSection,
    /// The scheduled imports: the `jobs` crate reads them.
    #[serde(default, rename = "job")]
    _jobs: Vec<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseSection {
    published: Option<PathBuf>,
    publisher: Option<String>,
    contact: Option<String>,
    licence: Option<String>,
    min_count: Option<i64>,
    protection_level: Option<i64>,
    min_changed_records: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisSection {
    permutations: Option<usize>,
    groups: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    key_file: Option<PathBuf>,
    key_command: Option<String>,
    extensions: Option<PathBuf>,
    memory_limit: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LakeSection {
    catalog: Option<String>,
    data: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_key_id: Option<String>,
    s3_secret_file: Option<PathBuf>,
}

/// The lake's parts as the file and the environment give them, before they are checked.
#[derive(Debug, Default)]
struct LakeParts {
    catalog: Option<String>,
    data: Option<String>,
    s3: lake::S3,
}

impl LakeParts {
    fn settings(self, extensions: Option<PathBuf>) -> Result<Option<lake::Settings>, Error> {
        match (self.catalog, self.data) {
            (None, None) => Ok(None),
            (Some(catalog), Some(data)) => Ok(Some(lake::Settings {
                catalog,
                data,
                s3: self.s3,
                extensions: extensions
                    .or_else(ingest::encryption::default_extension_dir)
                    .unwrap_or_default(),
            })),
            (Some(_), None) => Err(Error::Settings(
                "the lake's catalogue is set but not where its data goes: give --data s3://bucket/prefix ([lake] data, HAVEN_LAKE_DATA)".into(),
            )),
            (None, Some(_)) => Err(Error::Settings(
                "the lake's data is set but not its catalogue: give --lake postgres://… ([lake] catalog, HAVEN_LAKE)".into(),
            )),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionSection {
    placements_months: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    rate_limit: Option<f64>,
    basemap_style: Option<String>,
    base_url: Option<String>,
    max_upload_megabytes: Option<u64>,
    trusted_proxies: Option<Vec<String>>,
}

/// The one source of the database key among a file, a command and a value (two are an error).
fn database_key(
    file: Option<PathBuf>,
    command: Option<String>,
    value: Option<String>,
) -> Result<Option<ingest::encryption::KeySource>, Error> {
    use ingest::encryption::{DatabaseKey, KeySource};
    let given =
        usize::from(file.is_some()) + usize::from(command.is_some()) + usize::from(value.is_some());
    if given > 1 {
        return Err(Error::Settings(
            "give the database key one way: a key file, a key command or HAVEN_DB_KEY".into(),
        ));
    }
    Ok(match (file, command, value) {
        (Some(p), _, _) => Some(KeySource::File(p)),
        (_, Some(c), _) => Some(KeySource::Command(c)),
        (_, _, Some(v)) => Some(KeySource::Value {
            variable: "HAVEN_DB_KEY".into(),
            key: DatabaseKey::new(&v, "HAVEN_DB_KEY")
                .map_err(|e| Error::Settings(e.to_string()))?,
        }),
        _ => None,
    })
}

/// Where releases go by default: `published/` beside the database file.
pub fn default_published(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("published")
}

/// A memory limit as DuckDB reads it: a number and a unit (`512MB`, `1.5GB`, `2GiB`).
fn memory_limit(text: &str) -> Result<String, Error> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    let units = ["KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];
    match number.parse::<f64>() {
        Ok(n) if n > 0.0 && units.iter().any(|u| u.eq_ignore_ascii_case(unit)) => {
            Ok(format!("{number}{unit}"))
        }
        _ => Err(Error::Settings(format!(
            "memory_limit {text:?} is not a size: a number and one of {}",
            units.join(", ")
        ))),
    }
}

impl Settings {
    /// The defaults for a database file.
    pub fn defaults(database: &Path) -> Settings {
        Settings {
            database: database.to_path_buf(),
            release: PublishOptions::new(default_published(database)),
            analysis: AnalysisSettings {
                permutations: 999,
                groups: None,
            },
            server: ServerSettings {
                rate_limit: DEFAULT_RATE_LIMIT,
                basemap_style: String::new(),
                base_url: None,
                max_upload: DEFAULT_MAX_UPLOAD,
                trusted_proxies: Vec::new(),
            },
            retention: RetentionSettings::default(),
            encryption: ingest::Encryption::none(),
            memory_limit: None,
            lake: None,
        }
    }

    /// The defaults, then `file` (its path and text, when there is one), then the environment
    /// as `env` gives it. A mistake names the key or variable at fault.
    pub fn build(
        database: &Path,
        file: Option<(&Path, &str)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let mut s = Settings::defaults(database);
        // The key's source and the extension folder, file first, then the environment.
        let mut key: Option<ingest::encryption::KeySource> = None;
        let mut extensions: Option<PathBuf> = None;
        let mut lake = LakeParts::default();
        if let Some((path, text)) = file {
            let f: File = toml::from_str(text)
                .map_err(|e| Error::Settings(format!("{}: {e}", path.display())))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let r = f.release;
            if let Some(p) = r.published {
                s.release.root = dir.join(p);
            }
            s.set_release(r.publisher, r.contact, r.licence);
            s.set_disclosure(r.min_count, r.protection_level, r.min_changed_records)
                .map_err(|e| Error::Settings(format!("{}: [release] {e}", path.display())))?;
            if let Some(n) = f.analysis.permutations {
                s.analysis.permutations = n;
            }
            if let Some(g) = f.analysis.groups {
                if g.len() < 2 || g.iter().any(|x| x == "total") {
                    return Err(Error::Settings(format!(
                        "{}: [analysis] groups: name two or more population groups that add up to total (not total itself)",
                        path.display()
                    )));
                }
                s.analysis.groups = Some(g);
            }
            s.set_server(
                f.server.rate_limit,
                f.server.basemap_style,
                f.server.base_url,
            )
            .map_err(|e| Error::Settings(format!("{}: [server] {e}", path.display())))?;
            if let Some(mb) = f.server.max_upload_megabytes {
                if mb == 0 {
                    return Err(Error::Settings(format!(
                        "{}: [server] max_upload_megabytes must be 1 or more",
                        path.display()
                    )));
                }
                s.server.max_upload =
                    usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
            }
            s.retention.placements_months = f.retention.placements_months.filter(|m| *m > 0);
            key = database_key(
                f.database.key_file.map(|p| dir.join(p)),
                f.database.key_command,
                None,
            )
            .map_err(|e| Error::Settings(format!("{}: [database] {e}", path.display())))?;
            extensions = f.database.extensions.map(|p| dir.join(p));
            let l = f.lake;
            lake.catalog = l.catalog;
            lake.data = l.data;
            lake.s3.endpoint = l.s3_endpoint;
            lake.s3.region = l.s3_region;
            lake.s3.key_id = l.s3_key_id;
            if let Some(p) = l.s3_secret_file {
                let p = dir.join(p);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    Error::Settings(format!(
                        "{}: [lake] s3_secret_file {}: {e}",
                        path.display(),
                        p.display()
                    ))
                })?;
                lake.s3.secret = Some(lake::Secret::new(text.trim()));
            }
            if let Some(m) = f.database.memory_limit {
                s.memory_limit =
                    Some(memory_limit(&m).map_err(|e| {
                        Error::Settings(format!("{}: [database] {e}", path.display()))
                    })?);
            }
            if let Some(list) = f.server.trusted_proxies {
                s.server.trusted_proxies = list
                    .iter()
                    .map(|p| p.parse())
                    .collect::<Result<_, Error>>()
                    .map_err(|e| {
                        Error::Settings(format!(
                            "{}: [server] trusted_proxies: {e}",
                            path.display()
                        ))
                    })?;
            }
        }
        let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        fn number<T: std::str::FromStr>(k: &str, v: Option<String>) -> Result<Option<T>, Error> {
            v.map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| Error::Settings(format!("{k}={v:?} is not a number")))
            })
            .transpose()
        }
        if let Some(p) = var("HAVEN_PUBLISHED") {
            s.release.root = PathBuf::from(p);
        }
        s.set_release(
            var("HAVEN_PUBLISHER"),
            var("HAVEN_CONTACT"),
            var("HAVEN_LICENCE"),
        );
        s.set_disclosure(
            number("HAVEN_MIN_COUNT", var("HAVEN_MIN_COUNT"))?,
            number("HAVEN_PROTECTION_LEVEL", var("HAVEN_PROTECTION_LEVEL"))?,
            number(
                "HAVEN_MIN_CHANGED_RECORDS",
                var("HAVEN_MIN_CHANGED_RECORDS"),
            )?,
        )
        .map_err(|e| Error::Settings(format!("environment: {e}")))?;
        if let Some(n) = number("HAVEN_PERMUTATIONS", var("HAVEN_PERMUTATIONS"))? {
            s.analysis.permutations = n;
        }
        s.set_server(
            number("HAVEN_RATE_LIMIT", var("HAVEN_RATE_LIMIT"))?,
            var("HAVEN_BASEMAP_STYLE"),
            var("HAVEN_BASE_URL"),
        )
        .map_err(|e| Error::Settings(format!("environment: {e}")))?;
        if let Some(m) = number::<u32>(
            "HAVEN_RETENTION_PLACEMENTS_MONTHS",
            var("HAVEN_RETENTION_PLACEMENTS_MONTHS"),
        )? {
            s.retention.placements_months = Some(m).filter(|m| *m > 0);
        }
        if let Some(list) = var("HAVEN_TRUSTED_PROXIES") {
            s.server.trusted_proxies = list
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(str::parse)
                .collect::<Result<_, Error>>()
                .map_err(|e| Error::Settings(format!("HAVEN_TRUSTED_PROXIES: {e}")))?;
        }
        // A key given in the environment replaces the file's (whichever form either takes).
        let env_key = database_key(
            var("HAVEN_DB_KEY_FILE").map(PathBuf::from),
            var("HAVEN_DB_KEY_COMMAND"),
            env("HAVEN_DB_KEY").filter(|k| !k.is_empty()),
        )
        .map_err(|e| Error::Settings(format!("environment: {e}")))?;
        if let Some(k) = env_key {
            key = Some(k);
        }
        if let Some(dir) = var("HAVEN_DUCKDB_EXTENSIONS") {
            extensions = Some(PathBuf::from(dir));
        }
        if let Some(m) = var("HAVEN_DUCKDB_MEMORY_LIMIT") {
            s.memory_limit = Some(
                memory_limit(&m)
                    .map_err(|e| Error::Settings(format!("HAVEN_DUCKDB_MEMORY_LIMIT: {e}")))?,
            );
        }
        for (k, slot) in [
            ("HAVEN_LAKE", &mut lake.catalog),
            ("HAVEN_LAKE_DATA", &mut lake.data),
            ("HAVEN_S3_ENDPOINT", &mut lake.s3.endpoint),
            ("HAVEN_S3_REGION", &mut lake.s3.region),
            ("HAVEN_S3_KEY_ID", &mut lake.s3.key_id),
        ] {
            if let Some(v) = var(k) {
                *slot = Some(v);
            }
        }
        if let Some(v) = var("HAVEN_S3_SECRET") {
            lake.s3.secret = Some(lake::Secret::new(v));
        }
        s.lake = lake.settings(extensions.clone())?;
        s.encryption = key
            .map_or_else(ingest::Encryption::none, ingest::Encryption::with_key)
            .extensions(extensions);
        s.set_permutations(s.analysis.permutations);
        Ok(s)
    }

    /// The lake as the command line's `--lake` and `--data` give it (each beats the file and
    /// the environment).
    pub fn set_lake(&mut self, catalog: Option<String>, data: Option<String>) -> Result<(), Error> {
        if catalog.is_none() && data.is_none() {
            return Ok(());
        }
        let current = self.lake.take();
        let parts = LakeParts {
            catalog: catalog.or_else(|| current.as_ref().map(|l| l.catalog.clone())),
            data: data.or_else(|| current.as_ref().map(|l| l.data.clone())),
            s3: current.as_ref().map(|l| l.s3.clone()).unwrap_or_default(),
        };
        self.lake = parts.settings(
            current
                .map(|l| l.extensions)
                .or_else(|| self.encryption.extension_folder()),
        )?;
        Ok(())
    }

    /// Permutations of the significance tests, in the analysis and in the release's indices.
    pub fn set_permutations(&mut self, n: usize) {
        self.analysis.permutations = n;
        self.release.disclosure.segregation.permutations = n;
    }

    /// Publisher, contact and licence, where given.
    pub fn set_release(
        &mut self,
        publisher: Option<String>,
        contact: Option<String>,
        licence: Option<String>,
    ) {
        if let Some(v) = publisher {
            self.release.publisher = v;
        }
        if let Some(v) = contact {
            self.release.contact = v;
        }
        if let Some(v) = licence {
            self.release.licence = v;
        }
    }

    /// The disclosure parameters, where given; out of range is an error, never clamped.
    pub fn set_disclosure(
        &mut self,
        min_count: Option<i64>,
        protection_level: Option<i64>,
        min_changed_records: Option<i64>,
    ) -> Result<(), Error> {
        let d = &mut self.release.disclosure;
        if let Some(k) = min_count {
            if k < disclosure::MIN_K {
                return Err(Error::Settings(format!(
                    "min_count {k} is below {}",
                    disclosure::MIN_K
                )));
            }
            d.k = k;
        }
        if let Some(p) = protection_level {
            if p < 1 {
                return Err(Error::Settings(format!("protection_level {p} is below 1")));
            }
            d.protection = p;
        }
        if let Some(m) = min_changed_records {
            if m < 1 {
                return Err(Error::Settings(format!(
                    "min_changed_records {m} is below 1"
                )));
            }
            d.min_changed_records = m;
        }
        Ok(())
    }

    fn set_server(
        &mut self,
        rate_limit: Option<f64>,
        basemap_style: Option<String>,
        base_url: Option<String>,
    ) -> Result<(), Error> {
        if let Some(r) = rate_limit {
            if !(r.is_finite() && r >= 0.0) {
                return Err(Error::Settings(format!(
                    "rate_limit {r} must be 0 (none) or more"
                )));
            }
            self.server.rate_limit = r;
        }
        if let Some(b) = basemap_style {
            self.server.basemap_style = b;
        }
        if let Some(u) = base_url.filter(|u| !u.is_empty()) {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(Error::Settings(format!(
                    "base_url {u:?} must start with http:// or https://"
                )));
            }
            self.server.base_url = Some(u.trim_end_matches('/').to_string());
        }
        Ok(())
    }

    /// The options of an analysis run under these settings.
    pub fn analyze_options(&self, full: bool) -> analytics::AnalyzeOptions {
        analytics::AnalyzeOptions {
            segregation: analytics::SegregationOptions {
                permutations: self.analysis.permutations,
                partition: self.analysis.groups.clone(),
                ..Default::default()
            },
            full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_matched_by_range() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy.local".parse::<Cidr>().is_err());
    }

    /// The sections the jobs' parser lets through are exactly those the settings read.
    #[test]
    fn the_sections_are_the_ones_read() {
        let path = Path::new("haven.toml");
        for section in SECTIONS {
            Settings::build(
                Path::new("h.duckdb"),
                Some((path, &format!("[{section}]\n"))),
                &|_| None,
            )
            .unwrap_or_else(|e| panic!("[{section}]: {e}"));
        }
        assert!(
            Settings::build(Path::new("h.duckdb"), Some((path, "[nonsense]\n")), &|_| {
                None
            })
            .is_err()
        );
    }

    /// A database key: from a file or the environment, one way only, never shown.
    #[test]
    fn the_database_key_comes_one_way() {
        let path = Path::new("/etc/haven/haven.toml");
        let s = Settings::build(
            Path::new("h.duckdb"),
            Some((path, "[database]\nkey_file = \"db.key\"\n")),
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            s.encryption.source().map(|k| k.describe()),
            Some("the file /etc/haven/db.key".to_string())
        );
        let both = Settings::build(
            Path::new("h.duckdb"),
            Some((path, "[database]\nkey_file = \"a\"\nkey_command = \"b\"\n")),
            &|_| None,
        );
        assert!(both.unwrap_err().to_string().contains("one way"));
        let from_env = Settings::build(
            Path::new("h.duckdb"),
            None,
            &env(&[("HAVEN_DB_KEY", "a-key-of-forty-characters-or-so-for-it")]),
        )
        .unwrap();
        assert!(!format!("{:?}", from_env.encryption).contains("forty"));
    }

    #[test]
    fn a_memory_limit_is_a_size() {
        let path = Path::new("/etc/haven/haven.toml");
        let s = Settings::build(
            Path::new("h.duckdb"),
            Some((path, "[database]\nmemory_limit = \"512MB\"\n")),
            &|_| None,
        )
        .unwrap();
        assert_eq!(s.memory_limit.as_deref(), Some("512MB"));
        let from_env = Settings::build(
            Path::new("h.duckdb"),
            Some((path, "[database]\nmemory_limit = \"512MB\"\n")),
            &env(&[("HAVEN_DUCKDB_MEMORY_LIMIT", "1.5 GiB")]),
        )
        .unwrap();
        assert_eq!(from_env.memory_limit.as_deref(), Some("1.5GiB"));
        for bad in ["lots", "512", "-1GB", "1GB'; DROP TABLE users; --"] {
            let e = Settings::build(
                Path::new("h.duckdb"),
                None,
                &env(Box::leak(Box::new([("HAVEN_DUCKDB_MEMORY_LIMIT", bad)]))),
            )
            .unwrap_err();
            assert!(e.to_string().contains("not a size"), "{bad}: {e}");
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_beats_the_file_which_beats_the_defaults() {
        let text = "[release]\npublished = \"out\"\npublisher = \"From the file\"\nmin_count = 7\n\n[server]\nrate_limit = 5\n\n[[job]]\nname = \"x\"\n";
        let s = Settings::build(
            Path::new("/data/haven.duckdb"),
            Some((Path::new("/etc/haven/haven.toml"), text)),
            &env(&[
                ("HAVEN_PUBLISHER", "From the environment"),
                ("HAVEN_RATE_LIMIT", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(s.release.root, Path::new("/etc/haven/out"));
        assert_eq!(s.release.publisher, "From the environment");
        assert_eq!(s.release.disclosure.k, 7);
        assert_eq!(s.server.rate_limit, 0.0);
        let d = Settings::defaults(Path::new("/data/haven.duckdb"));
        assert_eq!(d.release.root, Path::new("/data/published"));
        assert_eq!(d.release.disclosure.k, disclosure::DEFAULT_K);
    }

    /// The documented example is read as it says.
    #[test]
    fn the_example_file_reads() {
        let text = include_str!("../../haven.example.toml");
        let s = Settings::build(
            Path::new("haven.duckdb"),
            Some((Path::new("/etc/haven/haven.toml"), text)),
            &env(&[]),
        )
        .unwrap();
        assert_eq!(s.release.publisher, "Stad Voorbeeld");
        assert_eq!(s.release.root, Path::new("/etc/haven/published"));
        assert_eq!(s.release.disclosure.protection, 5);
        assert_eq!(s.analysis.permutations, 999);
        assert_eq!(s.retention.placements_months, Some(60));
        assert_eq!(s.server.trusted_proxies, vec!["127.0.0.1".parse().unwrap()]);
        assert_eq!(
            s.server.base_url.as_deref(),
            Some("https://haven.voorbeeld.be")
        );
    }

    #[test]
    fn mistakes_are_named_not_ignored() {
        let db = Path::new("haven.duckdb");
        let bad = |text: &'static str, vars: &'static [(&'static str, &'static str)]| {
            Settings::build(db, Some((Path::new("haven.toml"), text)), &env(vars))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("[release]\nmin_count = 2\n", &[]).contains("min_count 2 is below 3"));
        assert!(bad("[server]\nrate = 1\n", &[]).contains("unknown field `rate`"));
        assert!(bad("", &[("HAVEN_MIN_COUNT", "five")]).contains("HAVEN_MIN_COUNT=\"five\""));
        assert!(bad("", &[("HAVEN_BASE_URL", "example.org")]).contains("http://"));
    }
}
