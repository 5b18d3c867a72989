//! The officers' reads: vacant property rows with address and location.

use duckdb::types::Value as Db;
use serde::Deserialize;
use serde_json::Value;

use super::Page;
use crate::Error;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertiesQuery {
    /// Only this district.
    pub district: Option<String>,
    /// Only this status (e.g. vacant, owner_contacted).
    pub status: Option<String>,
    /// Only this owner type (e.g. municipal, private).
    pub owner_type: Option<String>,
    /// Only this condition (e.g. ready, minor_renovation).
    pub condition: Option<String>,
    /// Only properties vacant for at least this many months.
    pub min_months_vacant: Option<u32>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

impl PropertiesQuery {
    /// Checks the bounds, and gives the property id a cursor holds.
    pub fn check(&self) -> Result<Option<String>, Error> {
        if self.min_months_vacant.is_some_and(|m| m > 1200) {
            return Err(Error::Invalid(
                "min_months_vacant must be from 0 to 1200".into(),
            ));
        }
        self.cursor
            .as_deref()
            .map(|c| {
                super::decode_cursor(c)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::Invalid("bad cursor".into()))
            })
            .transpose()
    }
}

/// Vacant property rows (every column of the schema) matching `q`, ordered by property id and
/// paged by keyset after the property id `after`.
pub fn vacant_properties(
    store: &ingest::Store,
    q: &PropertiesQuery,
    after: Option<&str>,
    limit: usize,
) -> Result<Page<Value>, Error> {
    let schema = ingest::schema::get("vacant_properties")?;
    let columns: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    let (mut filters, mut params) = super::filters(&[
        ("district_code = ?", &q.district),
        ("status = ?", &q.status),
        ("owner_type = ?", &q.owner_type),
        ("condition = ?", &q.condition),
    ]);
    if let Some(months) = q.min_months_vacant {
        filters.push_str(" AND vacant_since <= current_date - to_months(?::INTEGER)");
        params.push(Db::BigInt(i64::from(months)));
    }
    let conn = store.conn();
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM vacant_properties WHERE {filters}"),
        duckdb::params_from_iter(params.iter()),
        |r| r.get(0),
    )?;
    if let Some(a) = after {
        filters.push_str(" AND property_id > ?");
        params.push(Db::Text(a.to_string()));
    }
    let sql = format!(
        "SELECT {} FROM vacant_properties WHERE {} ORDER BY property_id LIMIT {}",
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        filters,
        limit + 1
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(duckdb::params_from_iter(params.iter()))?;
    let mut items = Vec::new();
    while let Some(r) = rows.next()? {
        let mut o = serde_json::Map::new();
        for (i, c) in columns.iter().enumerate() {
            o.insert(c.to_string(), crate::json_value(&r.get(i)?));
        }
        items.push(Value::Object(o));
    }
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        super::encode_cursor(&[
            items[limit - 1]["property_id"].as_str().unwrap_or(""),
            "",
            "",
        ])
    });
    Ok(Page {
        items,
        total: total as u64,
        next_cursor,
    })
}
