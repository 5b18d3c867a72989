//! The published indicators in memory, a read model for the public indicator route.
//!
//! `indicators_published` changes only with an analysis or a release, and every visitor asks
//! it something different (a district and a month, a district and an indicator): answered by
//! SQL, each query scans the table, about 13 ms of CPU on the 10,000-district scale set. So a
//! server keeps the table as a read model: rows sorted by area and month, their values in one
//! flat array, and the row range of each area, read in one transaction (the rows, their release
//! and their data version from the same snapshot). The answers are the SQL path's
//! ([`super::indicators::page`]), item for item: the test below compares both on every query
//! shape, page after page. When to read it again is the server's business (`api`).

use std::collections::HashMap;

use super::indicators::{IndicatorQuery, IndicatorValue};
use super::{Page, data_version, encode_cursor};
use crate::Error;

/// One area and month.
struct Row {
    area: u32,
    district: bool,
    period: u16,
    /// Columns withheld by the disclosure step.
    withheld: Box<[u16]>,
}

/// The published indicators of one data version.
pub struct Model {
    /// `data_version` of the snapshot the rows were read from (the ETag's base).
    pub version: String,
    /// The release the rows belong to.
    pub release: i64,
    /// Indicator columns, and where each id is.
    ids: Vec<String>,
    column: HashMap<String, usize>,
    areas: Vec<String>,
    periods: Vec<String>,
    /// Sorted by area code, then month.
    rows: Vec<Row>,
    /// `rows.len() × ids.len()`, NaN where the value is null.
    values: Vec<f64>,
    /// The rows of each area: start and end in `rows`.
    by_area: HashMap<String, (usize, usize)>,
}

/// The latest release (0 before the first).
pub fn release_version(store: &ingest::Store) -> Result<i64, Error> {
    if !store.has_table("releases")? {
        return Ok(0);
    }
    Ok(store
        .conn()
        .query_row("SELECT coalesce(max(version), 0) FROM releases", [], |r| {
            r.get(0)
        })?)
}

impl Model {
    /// Reads the published indicators on `store`, in one transaction; `None` before the first
    /// release.
    pub fn build(store: &ingest::Store) -> Result<Option<Model>, Error> {
        let conn = store.conn();
        conn.execute_batch("BEGIN TRANSACTION")?;
        let built = Model::read(store);
        let _ = conn.execute_batch("COMMIT");
        built
    }

    fn read(store: &ingest::Store) -> Result<Option<Model>, Error> {
        if !store.has_table("indicators_published")? {
            return Ok(None);
        }
        let conn = store.conn();
        let version = data_version(conn)?;
        let release = release_version(store)?;
        let mut stmt = conn.prepare(
            "SELECT column_name FROM information_schema.columns
                 WHERE table_name = 'indicators_published'
                   AND column_name NOT IN ('area_code', 'level', 'period', 'withheld')
                 ORDER BY column_name",
        )?;
        let ids: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let column: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let select: String = ids.iter().map(|i| format!(", \"{i}\"::DOUBLE")).collect();
        let mut stmt = conn.prepare(&format!(
            "SELECT area_code, level, period, withheld{select} FROM indicators_published
                 ORDER BY area_code, period"
        ))?;
        let mut query = stmt.query([])?;
        let mut m = Model {
            version,
            release,
            column,
            areas: Vec::new(),
            periods: Vec::new(),
            rows: Vec::new(),
            values: Vec::new(),
            by_area: HashMap::new(),
            ids,
        };
        let mut period_index: HashMap<String, u16> = HashMap::new();
        while let Some(r) = query.next()? {
            let area: String = r.get(0)?;
            let level: String = r.get(1)?;
            let period: String = r.get(2)?;
            let withheld: Option<String> = r.get(3)?;
            if m.areas.last() != Some(&area) {
                let at = m.rows.len();
                m.by_area.insert(area.clone(), (at, at));
                m.areas.push(area.clone());
            }
            let next = period_index.len();
            let p = *period_index.entry(period.clone()).or_insert_with(|| {
                m.periods.push(period);
                next as u16
            });
            let withheld: Box<[u16]> = withheld
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| m.column.get(id).map(|&c| c as u16))
                .collect();
            for c in 0..m.ids.len() {
                let v: Option<f64> = r.get(4 + c)?;
                m.values.push(v.unwrap_or(f64::NAN));
            }
            m.rows.push(Row {
                area: (m.areas.len() - 1) as u32,
                district: level == "district",
                period: p,
                withheld,
            });
            if let Some(range) = m.by_area.get_mut(&area) {
                range.1 = m.rows.len();
            }
        }
        Ok(Some(m))
    }

    /// The page the SQL path gives for `q`, or `None` when this model cannot answer it the same
    /// way (an indicator that is not a column, an id twice, a cursor of another shape).
    pub fn answer(
        &self,
        q: &IndicatorQuery,
        ids: &[&str],
        after: Option<&[String]>,
        limit: usize,
    ) -> Option<Page<IndicatorValue>> {
        // The SQL path unpivots the columns and orders the items by indicator id.
        let mut columns: Vec<(&str, usize)> = Vec::with_capacity(ids.len());
        for id in ids {
            columns.push((id, *self.column.get(*id)?));
        }
        columns.sort_unstable();
        if columns.windows(2).any(|w| w[0].0 == w[1].0) {
            return None;
        }
        let after = match after {
            Some([a, p, i]) => Some((a.as_str(), p.as_str(), i.as_str())),
            Some(_) => return None,
            None => None,
        };
        let range = match &q.area {
            Some(a) => match self.by_area.get(a) {
                Some(&r) => r,
                None => (0, 0),
            },
            None => (0, self.rows.len()),
        };
        let level = q.level.as_deref().map(|l| l == "district");
        let mut items = Vec::new();
        let mut total = 0u64;
        for (at, row) in self.rows[range.0..range.1].iter().enumerate() {
            let period = self.periods[row.period as usize].as_str();
            if level.is_some_and(|d| d != row.district)
                || q.period.as_deref().is_some_and(|p| p != period)
                || q.from.as_deref().is_some_and(|f| period < f)
                || q.to.as_deref().is_some_and(|t| period > t)
            {
                continue;
            }
            total += columns.len() as u64;
            if items.len() > limit {
                continue;
            }
            let area = self.areas[row.area as usize].as_str();
            let values = &self.values[(range.0 + at) * self.ids.len()..];
            for &(id, c) in &columns {
                if items.len() > limit {
                    break;
                }
                if let Some(k) = after
                    && (area, period, id) <= k
                {
                    continue;
                }
                let v = values[c];
                items.push(IndicatorValue {
                    area_code: area.to_string(),
                    level: if row.district {
                        "district"
                    } else {
                        "municipality"
                    }
                    .to_string(),
                    period: period.to_string(),
                    indicator: id.to_string(),
                    value: (!v.is_nan()).then_some(v),
                    withheld: row.withheld.contains(&(c as u16)),
                });
            }
        }
        let next_cursor = (items.len() > limit).then(|| {
            items.truncate(limit);
            let last = &items[limit - 1];
            encode_cursor(&[&last.area_code, &last.period, &last.indicator])
        });
        Some(Page {
            items,
            total,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::indicators::page as sql_page;
    use crate::read::{decode_cursor, indicator_ids};

    /// Every query shape, page after page, answered by the model exactly as by SQL.
    #[test]
    fn the_model_answers_as_sql_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::open(dir.path().join("haven.duckdb")).unwrap();
        ingest::demo::generate_and_load(
            &ingest::demo::DemoSpec::standard(42),
            &dir.path().join("demo"),
            &store,
        )
        .unwrap();
        let settings = crate::Settings::defaults(&dir.path().join("haven.duckdb"));
        crate::pipeline::analyze(&store, &settings, true, &analytics::NoProgress).unwrap();
        crate::pipeline::release(&store, &settings, false).unwrap();
        let m = Model::build(&store).unwrap().unwrap();
        assert_eq!(m.version, data_version(store.conn()).unwrap());
        let (held_area, held_period): (String, String) = store
            .conn()
            .query_row(
                "SELECT area_code, period FROM indicators_published WHERE withheld <> '' ORDER BY ALL LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let (district, municipality, first, last): (String, String, String, String) = store
            .conn()
            .query_row(
                "SELECT min(area_code) FILTER (level = 'district'), min(area_code) FILTER (level = 'municipality'),
                        min(period), max(period) FROM indicators_published",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        let q = |area: Option<&str>,
                 level: Option<&str>,
                 period: Option<&str>,
                 range: bool,
                 indicator: Option<&str>| IndicatorQuery {
            area: area.map(String::from),
            level: level.map(String::from),
            period: period.map(String::from),
            from: range.then(|| first.clone()),
            to: range.then(|| last.clone()),
            indicator: indicator.map(String::from),
            cursor: None,
            limit: None,
        };
        let shapes = [
            q(None, None, None, false, None),
            q(Some(&district), None, None, false, None),
            q(Some(&district), None, Some(&last), false, None),
            q(
                Some(&district),
                None,
                None,
                false,
                Some("placements_active_persons"),
            ),
            q(
                Some(&municipality),
                Some("municipality"),
                None,
                true,
                Some("vacant_units,placements_active_households"),
            ),
            q(
                None,
                Some("district"),
                Some(&first),
                false,
                Some("placements_active_persons"),
            ),
            q(Some("XX0"), None, None, false, None),
            q(None, None, None, true, Some("vacant_units")),
            q(Some(&held_area), None, Some(&held_period), false, None),
        ];
        let mut compared = 0;
        for shape in &shapes {
            let ids = indicator_ids(&shape.indicator).unwrap();
            for limit in [7, 100, 1000] {
                let mut cursor: Option<Vec<String>> = None;
                for _page in 0..4 {
                    let from_sql =
                        sql_page(&store, shape, &ids, cursor.as_deref(), limit, false).unwrap();
                    let from_model = m.answer(shape, &ids, cursor.as_deref(), limit).unwrap();
                    assert_eq!(
                        serde_json::to_value(&from_model).unwrap(),
                        serde_json::to_value(&from_sql).unwrap(),
                        "{shape:?}, limit {limit}, after {cursor:?}"
                    );
                    compared += from_sql.items.len();
                    match from_sql.next_cursor {
                        Some(c) => cursor = Some(decode_cursor(&c).unwrap()),
                        None => break,
                    }
                }
            }
        }
        assert!(compared > 5_000, "{compared} items compared");
        // Withheld values are among them.
        let all = m
            .answer(&shapes[8], &indicator_ids(&None).unwrap(), None, 1000)
            .unwrap();
        assert!(
            all.items.iter().any(|v| v.withheld),
            "no withheld value was compared"
        );
    }
}
