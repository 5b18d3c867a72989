//! The map and segregation reads of the dashboard and researchers: districts with a month's
//! published values, the segregation series with the significance of the latest change, and
//! location quotients. They read published tables only.

use duckdb::types::Value as Db;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Keyset, Page, filters, keyset_page};
use crate::Error;
use crate::geometry::Area;

/// The districts with the published values of `ids` for `period` (default: the latest month),
/// as GeoJSON features (code, boundary, properties); withheld values are null and listed in
/// `withheld`. The month read is returned with them.
#[allow(clippy::type_complexity)]
pub fn districts(
    store: &ingest::Store,
    period: Option<&str>,
    ids: &[&str],
) -> Result<
    (
        Option<String>,
        Vec<(String, Area, serde_json::Map<String, serde_json::Value>)>,
    ),
    Error,
> {
    let conn = store.conn();
    let period: Option<String> = match period {
        Some(p) => Some(p.to_string()),
        None => conn.query_row("SELECT max(period) FROM indicators_published", [], |r| {
            r.get(0)
        })?,
    };
    let columns: String = ids.iter().map(|i| format!(", p.\"{i}\"")).collect();
    let sql = format!(
        "SELECT d.district_code, d.name, d.geometry{columns}, p.withheld
         FROM districts d LEFT JOIN indicators_published p
           ON p.area_code = d.district_code AND p.level = 'district' AND p.period = ?
         ORDER BY d.district_code"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([period.clone().unwrap_or_default()])?;
    let mut features = Vec::new();
    while let Some(r) = rows.next()? {
        let code: String = r.get(0)?;
        let area = Area::parse(&r.get::<_, String>(2)?)?;
        let withheld: Option<String> = r.get(3 + ids.len())?;
        let withheld: Vec<&str> = withheld
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|w| !w.is_empty() && ids.contains(w))
            .collect();
        let mut properties = serde_json::Map::new();
        properties.insert("district_code".into(), json!(code));
        properties.insert("name".into(), json!(r.get::<_, String>(1)?));
        properties.insert("period".into(), json!(period));
        for (i, id) in ids.iter().enumerate() {
            let v: Db = r.get(3 + i)?;
            properties.insert(id.to_string(), crate::json_value(&v));
        }
        properties.insert("withheld".into(), json!(withheld));
        features.push((code, area, properties));
    }
    Ok((period, features))
}

/// The filters and page of the segregation series.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegregationQuery {
    /// A population group, `placed_persons`, or `all` (the multigroup indices).
    pub group: Option<String>,
    /// An index id, e.g. `dissimilarity`.
    pub index: Option<String>,
    /// Months `YYYY-MM`, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct SegregationValue {
    pub period: String,
    pub group: String,
    pub index: String,
    pub value: Option<f64>,
    /// Permutation p-value (999 random labellings), latest period only.
    pub p_value: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct SegregationChange {
    pub group: String,
    pub from_period: String,
    pub to_period: String,
    pub d_from: f64,
    pub d_to: f64,
    pub change: f64,
    /// 95% bootstrap interval of the change.
    pub ci_low: f64,
    pub ci_high: f64,
    /// The interval excludes 0: the change is more than chance.
    pub significant: bool,
}

#[derive(Debug, Serialize)]
pub struct SegregationPage {
    #[serde(flatten)]
    pub page: Page<SegregationValue>,
    /// The change of dissimilarity over the last year, per group (first page only).
    pub changes: Vec<SegregationChange>,
}

/// The version of the segregation results: when they were last computed, and from what.
pub fn segregation_version(store: &ingest::Store) -> Result<String, Error> {
    Ok(store.conn().query_row(
        "SELECT coalesce(max(computed_at)::VARCHAR || ' ' || max(md5(fingerprint)), '') FROM analysis_runs WHERE part = 'segregation'",
        [],
        |r| r.get(0),
    )?)
}

/// Index values per period and group, ordered by (period, group, index) and paged by keyset
/// after `after`, with the significance of the latest change of D on the first page.
pub fn segregation(
    store: &ingest::Store,
    q: &SegregationQuery,
    after: Option<&[String]>,
    limit: usize,
) -> Result<SegregationPage, Error> {
    let conn = store.conn();
    let (filters, params) = filters(&[
        ("\"group\" = ?", &q.group),
        ("\"index\" = ?", &q.index),
        ("period >= ?", &q.from),
        ("period <= ?", &q.to),
    ]);
    let base = format!(
        "SELECT period, \"group\", \"index\", value, p_value FROM segregation_published WHERE {filters}"
    );
    let page = keyset_page(
        conn,
        Keyset {
            base: &base,
            params: &params,
            key: ["period", "\"group\"", "\"index\""],
            after,
            limit,
        },
        |r| {
            Ok(SegregationValue {
                period: r.get(0)?,
                group: r.get(1)?,
                index: r.get(2)?,
                value: r.get::<_, Option<f64>>(3)?.filter(|v| v.is_finite()),
                p_value: r.get(4)?,
            })
        },
        |v| [&v.period, &v.group, &v.index],
    )?;
    let changes = if after.is_none() {
        let mut stmt = conn.prepare(
            "SELECT \"group\", from_period, to_period, d_from, d_to, change, ci_low, ci_high, significant
             FROM segregation_changes_published WHERE ? IS NULL OR \"group\" = ? ORDER BY \"group\"",
        )?;
        stmt.query_map([&q.group, &q.group], |r| {
            Ok(SegregationChange {
                group: r.get(0)?,
                from_period: r.get(1)?,
                to_period: r.get(2)?,
                d_from: r.get(3)?,
                d_to: r.get(4)?,
                change: r.get(5)?,
                ci_low: r.get(6)?,
                ci_high: r.get(7)?,
                significant: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    Ok(SegregationPage { page, changes })
}

/// One district's location quotient; null where withheld or not defined.
#[derive(Debug, Serialize)]
pub struct LocationQuotient {
    pub district_code: String,
    pub lq: Option<f64>,
    pub withheld: bool,
}

#[derive(Debug, Serialize)]
pub struct LocationQuotients {
    pub group: String,
    pub period: Option<String>,
    pub items: Vec<LocationQuotient>,
}

/// Per district, `group`'s share of the district's population over its share of the
/// municipality's (`LQ_i = p_i / P`) in `period` (default: the latest). For persons placed the
/// quotient is built on a personal count, so it is withheld wherever that count
/// (`placements_active_persons`) is withheld.
pub fn location_quotients(
    store: &ingest::Store,
    group: &str,
    period: Option<&str>,
) -> Result<LocationQuotients, Error> {
    let conn = store.conn();
    let groups: Vec<String> = conn
        .prepare(
            "SELECT column_name FROM information_schema.columns
             WHERE table_name = 'location_quotients_published' AND column_name NOT IN ('period', 'district_code')
             ORDER BY column_name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !groups.iter().any(|g| g == group) {
        return Err(Error::Invalid(format!(
            "unknown group {group:?}: one of {}",
            groups.join(", ")
        )));
    }
    let period: Option<String> = match period {
        Some(p) => Some(p.to_string()),
        None => conn.query_row(
            "SELECT max(period) FROM location_quotients_published",
            [],
            |r| r.get(0),
        )?,
    };
    let personal = group == analytics::PLACED;
    let sql = format!(
        "SELECT d.district_code, l.\"{group}\",
                {personal} AND p.placements_active_persons IS NULL
         FROM districts d
         LEFT JOIN location_quotients_published l ON l.district_code = d.district_code AND l.period = ?1
         LEFT JOIN indicators_published p
           ON p.area_code = d.district_code AND p.level = 'district' AND p.period = ?1
         ORDER BY d.district_code"
    );
    let items = conn
        .prepare(&sql)?
        .query_map([period.clone().unwrap_or_default()], |r| {
            let withheld: bool = r.get(2)?;
            Ok(LocationQuotient {
                district_code: r.get(0)?,
                lq: r
                    .get::<_, Option<f64>>(1)?
                    .filter(|v| v.is_finite() && !withheld),
                withheld,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(LocationQuotients {
        group: group.to_string(),
        period,
        items,
    })
}
