//! What the front ends read: every query behind a public or officer answer, with its rules
//! (filters, keyset pages, cursors), so the HTTP layer only parses requests and writes
//! responses. Each function reads through the `ingest::Store` it is given (a pooled reader in
//! the server) and answers typed rows or `Error::Invalid` for a request that cannot be met.

pub mod explore;
pub mod indicators;
pub mod officer;
pub mod pipeline;
pub mod published;
pub mod tiles;

use duckdb::types::Value;
use serde::Serialize;

use crate::Error;

/// Lists return at most this many items per page.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items matching the filters, over all pages.
    pub total: u64,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The version of the published indicators: when availability last ran, with what, and the
/// latest release.
pub fn data_version(conn: &duckdb::Connection) -> Result<String, Error> {
    let v: Option<String> = conn.query_row(
        "SELECT max(computed_at)::VARCHAR || ' ' || max(md5(fingerprint)) || ' ' || coalesce((SELECT max(version) FROM releases), 0)
         FROM analysis_runs WHERE part = 'availability'",
        [],
        |r| r.get(0),
    )?;
    Ok(v.unwrap_or_default())
}

/// The version of the published analysis; `NotFound` while nothing has been released.
pub fn released_version(store: &ingest::Store) -> Result<String, Error> {
    if !store.has_table("indicators_published")? {
        return Err(Error::NotFound(
            "nothing has been released yet: load the data, run `haven analyze`, then `haven publish`"
                .into(),
        ));
    }
    data_version(store.conn())
}

/// Opaque, URL-safe cursor: the hex of the last item's key.
pub fn encode_cursor(key: &[&str]) -> String {
    key.join("\u{1f}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key a cursor of [`encode_cursor`] holds.
pub fn decode_cursor(cursor: &str) -> Result<Vec<String>, Error> {
    let bad = || Error::Invalid(format!("cursor '{cursor}' is not one this API gave out"));
    if !cursor.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let parts: Vec<String> = text.split('\u{1f}').map(String::from).collect();
    if parts.len() == 3 {
        Ok(parts)
    } else {
        Err(bad())
    }
}

/// Checks that `v`, the parameter `name`, is a month written `YYYY-MM`.
pub fn month(name: &str, v: &Option<String>) -> Result<(), Error> {
    match v {
        Some(p)
            if !(p.len() == 7
                && p.as_bytes()[4] == b'-'
                && p.bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_digit())) =>
        {
            Err(Error::Invalid(format!(
                "{name} '{p}' is not a month written YYYY-MM"
            )))
        }
        _ => Ok(()),
    }
}

/// The indicator ids of a comma-separated list (default: every indicator of the registry).
pub fn indicator_ids(list: &Option<String>) -> Result<Vec<&'static str>, Error> {
    match list {
        None => Ok(analytics::registry::INDICATORS
            .iter()
            .map(|i| i.id)
            .collect()),
        Some(list) => list
            .split(',')
            .map(|id| {
                analytics::registry::get(id.trim())
                    .map(|i| i.id)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "unknown indicator '{id}'; GET /api/v1/indicators/registry lists them"
                        ))
                    })
            })
            .collect(),
    }
}

/// What DuckDB holds in memory for one component (its `duckdb_memory()`), in bytes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryUse {
    pub tag: String,
    pub memory_bytes: i64,
    pub temporary_bytes: i64,
}

/// DuckDB's memory in this process, by component (the buffer pool, the catalogue, allocator
/// caches...), for operators watching a long-running server.
pub fn duckdb_memory(store: &ingest::Store) -> Result<Vec<MemoryUse>, Error> {
    let mut stmt = store.conn().prepare(
        "SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory() ORDER BY tag",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(MemoryUse {
            tag: r.get(0)?,
            memory_bytes: r.get(1)?,
            temporary_bytes: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<duckdb::Result<_>>()?)
}

/// A page size from 1 to [`MAX_LIMIT`] ([`DEFAULT_LIMIT`] when not given).
pub fn limit_of(limit: Option<usize>) -> Result<usize, Error> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::Invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

/// A page to read: `base` (a query with `params`) ordered by the three `key` columns, after the
/// key a cursor holds.
#[derive(Clone, Copy)]
pub(crate) struct Keyset<'a> {
    pub base: &'a str,
    pub params: &'a [Value],
    pub key: [&'a str; 3],
    pub after: Option<&'a [String]>,
    pub limit: usize,
}

/// One page, with the total of all pages.
pub(crate) fn keyset_page<T>(
    conn: &duckdb::Connection,
    page: Keyset<'_>,
    row: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
    key_of: impl Fn(&T) -> [&str; 3],
) -> Result<Page<T>, Error> {
    let Keyset {
        base,
        params,
        key,
        after,
        limit,
    } = page;
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM ({base})"),
        duckdb::params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    let mut page_params = params.to_vec();
    let [a, b, c] = key;
    let keyset = match after {
        Some(k) => {
            for v in [&k[0], &k[0], &k[1], &k[1], &k[2]] {
                page_params.push(Value::Text(v.clone()));
            }
            format!("WHERE {a} > ? OR ({a} = ? AND ({b} > ? OR ({b} = ? AND {c} > ?)))")
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT * FROM ({base}) {keyset} ORDER BY {a}, {b}, {c} LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut items: Vec<T> = stmt
        .query_map(duckdb::params_from_iter(page_params.iter()), row)?
        .collect::<Result<_, _>>()?;
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        encode_cursor(&key_of(&items[limit - 1]))
    });
    Ok(Page {
        items,
        total: total as u64,
        next_cursor,
    })
}

/// Equality and range filters as SQL (`TRUE AND …`) with their parameters, for the given ones.
pub(crate) fn filters(given: &[(&str, &Option<String>)]) -> (String, Vec<Value>) {
    let mut sql = vec!["TRUE".to_string()];
    let mut params = Vec::new();
    for (clause, v) in given {
        if let Some(v) = v {
            sql.push((*clause).into());
            params.push(Value::Text(v.clone()));
        }
    }
    (sql.join(" AND "), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let c = encode_cursor(&["D01", "2026-10", "vacant_units"]);
        assert_eq!(
            decode_cursor(&c).unwrap(),
            ["D01", "2026-10", "vacant_units"]
        );
        for bad in ["abc", "zz", &encode_cursor(&["only", "two"])] {
            assert!(
                matches!(decode_cursor(bad), Err(Error::Invalid(_))),
                "{bad}"
            );
        }
    }
}
