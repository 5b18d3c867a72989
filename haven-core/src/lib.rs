//! Haven's application core, below every front end (the `haven` command line, the HTTP API,
//! the job scheduler): the database and its connections ([`Database`]), the one load → analyse
//! → publish use case ([`pipeline`]), open-data releases and their DCAT catalogue
//! ([`publish`], [`catalog`]), users ([`users`]), the local hand-off between a running server
//! and the command line ([`handoff`]) and the one [`Settings`]. It never reads the environment
//! and knows nothing of HTTP.

pub mod catalog;
mod error;
pub mod geometry;
pub mod handoff;
pub mod pipeline;
mod pool;
pub mod publish;
pub mod settings;
pub mod users;

pub use error::{Error, Result};
pub use pool::{Database, MAX_READERS};
pub use settings::Settings;

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
