//! Haven's application core, below every front end (the `haven` command line, the HTTP API,
//! the job scheduler): the database and its connections ([`Database`]), the one load → analyse
//! → publish use case ([`pipeline`]), open-data releases and their DCAT catalogue
//! ([`publish`], [`catalog`]), the preparedness [`scenario`], the council [`report`], users ([`users`]), the local hand-off between a running server
//! and the command line ([`handoff`]) and the one [`Settings`]. It never reads the environment
//! and knows nothing of HTTP.

pub mod backup;
pub mod catalog;
pub mod erase;
mod error;
pub mod forecast;
pub mod geometry;
pub mod handoff;
pub mod intake;
pub mod letters;
pub mod outreach;
mod pdf;
pub mod pipeline;
mod pool;
pub mod provenance;
pub mod publish;
pub mod read;
pub mod region;
pub mod regional;
pub mod report;
pub mod scenario;
pub mod settings;
pub mod users;

pub use error::{Error, Result};
pub use pool::{Database, MAX_READERS};
pub use settings::Settings;

use ingest::migrate::Migrations;

/// The migrations of the core's own tables: the release ledger, the users, the outreach cases.
pub const MIGRATIONS: Migrations = ingest::migrations!(
    "haven-core",
    1 => "open-data releases", "0001_releases.sql";
    2 => "users", "0002_users.sql";
    3 => "token expiry and rotation", "0003_token_expiry.sql";
    4 => "owner outreach cases", "0004_outreach.sql";
    5 => "users of one municipality (tenants)", "0005_tenants.sql";
);

/// Brings the tables of every crate up to the core up to date: ingest's (applied on open),
/// the analyses' and the core's. Front ends above the core apply their own after it.
pub fn migrate(store: &ingest::Store) -> Result<()> {
    analytics::MIGRATIONS.apply(store.conn())?;
    MIGRATIONS.apply(store.conn())?;
    Ok(())
}

/// Opens (creating if needed) the plain database for writing, its tables up to date to the
/// core.
pub fn open(path: impl AsRef<std::path::Path>) -> Result<ingest::Store> {
    open_with(path, &ingest::Encryption::none())
}

/// [`open`], encrypted as `encryption` says.
pub fn open_with(
    path: impl AsRef<std::path::Path>,
    encryption: &ingest::Encryption,
) -> Result<ingest::Store> {
    let store = ingest::Store::open_with(path, encryption)?;
    migrate(&store)?;
    Ok(store)
}

/// A DuckDB value as JSON: numbers, text, booleans, dates as `YYYY-MM-DD`; NaN and the rest
/// as null.
pub fn json_value(v: &duckdb::types::Value) -> serde_json::Value {
    use duckdb::types::Value;
    use serde_json::json;
    match v {
        Value::Boolean(b) => json!(b),
        Value::BigInt(i) => json!(i),
        Value::Int(i) => json!(i),
        Value::Double(f) if f.is_finite() => json!(f),
        Value::Text(s) => json!(s),
        Value::Date32(d) => json!(ingest::validate::format_date(*d)),
        _ => serde_json::Value::Null,
    }
}
