//! The indicator query: published values (or, for officers, every value as computed), one
//! item per area, month and indicator, ordered by that key and paged by keyset.

use serde::{Deserialize, Serialize};

use super::{Keyset, Page, filters, keyset_page, month};
use crate::Error;

/// The filters and page of `GET /api/v1/indicators`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorQuery {
    /// District code, or the municipality's code.
    pub area: Option<String>,
    /// `district` or `municipality`.
    pub level: Option<String>,
    /// Month `YYYY-MM`; `from`/`to` bound a range (inclusive).
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Indicator ids, comma-separated (default: all).
    pub indicator: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct IndicatorValue {
    pub area_code: String,
    pub level: String,
    pub period: String,
    pub indicator: String,
    /// Null when withheld (or not defined, as a rate over nothing).
    pub value: Option<f64>,
    /// Withheld by small-cell suppression: never shown as 0.
    pub withheld: bool,
}

impl IndicatorQuery {
    /// Checks the level and the months.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(level) = &self.level
            && level != "district"
            && level != "municipality"
        {
            return Err(Error::Invalid(format!(
                "level '{level}' is neither district nor municipality"
            )));
        }
        month("period", &self.period)?;
        month("from", &self.from)?;
        month("to", &self.to)
    }
}

/// The indicator query in SQL, on the published values or (`restricted`) on every value before
/// suppression.
pub fn page(
    store: &ingest::Store,
    q: &IndicatorQuery,
    ids: &[&str],
    after: Option<&[String]>,
    limit: usize,
    restricted: bool,
) -> Result<Page<IndicatorValue>, Error> {
    let (table, withheld) = if restricted {
        ("indicators_monthly", "'' AS withheld")
    } else {
        ("indicators_published", "withheld")
    };
    let conn = store.conn();
    let columns: String = ids.iter().map(|i| format!(", \"{i}\"")).collect();
    let on: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    let (filters, params) = filters(&[
        ("area_code = ?", &q.area),
        ("level = ?", &q.level),
        ("period = ?", &q.period),
        ("period >= ?", &q.from),
        ("period <= ?", &q.to),
    ]);
    let base = format!(
        "WITH f AS (SELECT area_code, level, period, {withheld}{columns}
                    FROM {table} WHERE {}),
              long AS (FROM f UNPIVOT INCLUDE NULLS (value FOR indicator IN ({})))
         SELECT area_code, level, period, indicator, value::DOUBLE, list_contains(string_split(withheld, ','), indicator) FROM long",
        filters,
        on.join(", ")
    );
    keyset_page(
        conn,
        Keyset {
            base: &base,
            params: &params,
            key: ["area_code", "period", "indicator"],
            after,
            limit,
        },
        |r| {
            Ok(IndicatorValue {
                area_code: r.get(0)?,
                level: r.get(1)?,
                period: r.get(2)?,
                indicator: r.get(3)?,
                value: r.get(4)?,
                withheld: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
            })
        },
        |v| [&v.area_code, &v.period, &v.indicator],
    )
}
