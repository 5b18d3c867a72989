//! Haven dashboard: the web assets embedded in the `haven` binary and served at `/`.

/// The status page: what is loaded, read from `/api/v1/status`.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
