//! The regional view, read from the lake's public catalogue by the stateless readers of a
//! region (`haven serve --region`): each municipality's headline figures and boundary, and one
//! municipality's districts.
//!
//! A reader holds no database of its own: it attaches the public catalogue read-only, with
//! the public readers' credentials, and pins its answers to one snapshot of the lake until it
//! moves on (every answer names it). So two readers pinned to the same snapshot give the same
//! answers, and a reader never mixes two releases of a municipality in one answer.
//!
//! Every figure is a published one, as its release published it: a withheld value stays
//! withheld (`value: null, withheld: true`). Nothing is computed across municipalities here,
//! so the regional view gives an outsider no relation the releases do not already give.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use duckdb::Connection;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::geometry::{self, Area, Bbox};
use crate::report::HEADLINES;

/// Connections kept between answers (one per reading thread at most).
const IDLE: usize = 8;

/// A figure of a municipality or district: its value as published, or withheld.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub indicator: &'static str,
    pub value: Option<f64>,
    pub withheld: bool,
}

/// A headline indicator and its unit (as the indicator registry gives it).
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub id: &'static str,
    pub unit: &'static str,
}

/// The headline indicators, the dashboard overview's.
pub fn headlines() -> Vec<Headline> {
    HEADLINES
        .iter()
        .map(|id| Headline {
            id,
            unit: analytics::registry::get(id).map_or("count", |r| r.unit),
        })
        .collect()
}

/// A municipality of the region as its latest release in the lake describes it.
#[derive(Debug, Clone, Serialize)]
pub struct Municipality {
    pub code: String,
    /// Who published it (its release's publisher).
    pub name: String,
    pub release: u32,
    pub published_at: String,
    /// The latest month of its figures.
    pub period: Option<String>,
    /// The headline figures of that month (the dashboard overview's).
    pub figures: Vec<Figure>,
    pub bbox: Option<Bbox>,
}

/// The region at one snapshot of the lake.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub snapshot: i64,
    pub indicators: Vec<Headline>,
    pub municipalities: Vec<Municipality>,
}

/// The persons placed in a municipality against its dwellings, as its release published them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Share {
    pub code: String,
    pub period: String,
    /// Persons in active placements; `None` when withheld or not published.
    pub persons: Option<f64>,
    pub withheld: bool,
    pub dwellings: Option<f64>,
    /// The municipality's share of the persons placed over its share of the dwellings, among
    /// the municipalities counted; `None` when it is not counted.
    pub location_quotient: Option<f64>,
}

/// How persons placed spread across the region's municipalities, against the housing stock:
/// the dissimilarity index between municipalities and each one's location quotient. Built
/// from published figures alone (a function of what anyone may download), over the
/// municipalities whose persons and dwellings are both published; the others are named, not
/// guessed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub snapshot: i64,
    pub indicator: &'static str,
    pub base: &'static str,
    /// ½ Σ |pᵢ/P − dᵢ/D| over the municipalities counted; `None` with fewer than two.
    pub dissimilarity: Option<f64>,
    pub counted: usize,
    /// Municipalities left out: their persons withheld or not published.
    pub left_out: Vec<String>,
    pub municipalities: Vec<Share>,
}

/// The spread of `shares` (their location quotients filled in).
pub fn spread_of(snapshot: i64, mut shares: Vec<Share>) -> Spread {
    let counted =
        |s: &Share| s.persons.is_some() && !s.withheld && s.dwellings.is_some_and(|d| d > 0.0);
    let (p, d) = shares
        .iter()
        .filter(|s| counted(s))
        .fold((0.0, 0.0), |(p, d), s| {
            (p + s.persons.unwrap_or(0.0), d + s.dwellings.unwrap_or(0.0))
        });
    let n = shares.iter().filter(|s| counted(s)).count();
    let usable = n >= 2 && p > 0.0 && d > 0.0;
    let mut sum = 0.0;
    for s in &mut shares {
        s.location_quotient = None;
        if usable && counted(s) {
            let (pi, di) = (s.persons.unwrap_or(0.0) / p, s.dwellings.unwrap_or(0.0) / d);
            sum += (pi - di).abs();
            s.location_quotient = Some(pi / di);
        }
    }
    Spread {
        snapshot,
        indicator: PLACED,
        base: BASE,
        dissimilarity: usable.then_some(sum / 2.0),
        counted: if usable { n } else { 0 },
        left_out: shares
            .iter()
            .filter(|s| !(usable && counted(s)))
            .map(|s| s.code.clone())
            .collect(),
        municipalities: shares,
    }
}

/// What the spread counts, and against what.
const PLACED: &str = "placements_active_persons";
const BASE: &str = "dwellings";

/// A stateless reader of the region's lake.
pub struct Reader {
    lake: Mutex<lake::Lake>,
    settings: lake::Settings,
    idle: Mutex<Vec<Connection>>,
    pinned: AtomicI64,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("pinned", &self.pinned())
            .finish()
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Reader {
    /// Attaches the lake's public catalogue read-only and pins its latest snapshot.
    pub fn open(settings: &lake::Settings) -> Result<Reader, Error> {
        let lake = lake::Lake::open(settings, lake::Access::Public)?;
        let pinned = lake.latest_snapshot()?;
        Ok(Reader {
            lake: Mutex::new(lake),
            settings: settings.clone(),
            idle: Mutex::new(Vec::new()),
            pinned: AtomicI64::new(pinned),
        })
    }

    /// The snapshot answers are read at.
    pub fn pinned(&self) -> i64 {
        self.pinned.load(Ordering::Acquire)
    }

    /// Moves on to the lake's latest snapshot; the new one when it changed.
    pub fn move_on(&self) -> Result<Option<i64>, Error> {
        let latest = locked(&self.lake).latest_snapshot()?;
        let before = self.pinned.swap(latest, Ordering::AcqRel);
        Ok((before != latest).then_some(latest))
    }

    /// Runs `f` on an idle connection of the lake (or a new one).
    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let taken = locked(&self.idle).pop();
        let conn = match taken {
            Some(c) => c,
            None => locked(&self.lake).connection()?,
        };
        let out = f(&conn);
        let mut idle = locked(&self.idle);
        if idle.len() < IDLE {
            idle.push(conn);
        }
        out
    }

    fn has_table(&self, table: &str) -> Result<bool, Error> {
        Ok(locked(&self.lake)
            .public_tables()?
            .iter()
            .any(|t| t == table))
    }

    /// The headline indicators a table of the lake has, in the overview's order.
    fn headlines_in(&self, table: &str) -> Result<Vec<&'static str>, Error> {
        let columns = locked(&self.lake).public_columns(table)?;
        Ok(HEADLINES
            .iter()
            .copied()
            .filter(|h| columns.iter().any(|c| c == h))
            .collect())
    }

    /// Every municipality of the region at `snapshot`, by code.
    pub fn overview(&self, snapshot: i64) -> Result<Overview, Error> {
        let municipalities = self.municipalities(snapshot, None, false)?;
        Ok(Overview {
            snapshot,
            indicators: headlines(),
            municipalities: municipalities.into_iter().map(|(m, _)| m).collect(),
        })
    }

    /// The municipalities as a GeoJSON FeatureCollection: each its districts' polygons, its
    /// headline values (null when withheld or missing) and the list of those withheld.
    pub fn map(&self, snapshot: i64) -> Result<Value, Error> {
        let features = self
            .municipalities(snapshot, None, true)?
            .into_iter()
            .filter_map(|(m, area)| {
                let area = area?;
                let mut p = Map::new();
                p.insert("code".into(), json!(m.code));
                p.insert("name".into(), json!(m.name));
                p.insert("release".into(), json!(m.release));
                p.insert("period".into(), json!(m.period));
                properties(&mut p, &m.figures);
                Some((m.code, area, p))
            })
            .collect();
        let mut collection = geometry::collection(features);
        collection["snapshot"] = json!(snapshot);
        Ok(collection)
    }

    /// One municipality: its headline figures and its districts as GeoJSON features with
    /// their headline values.
    pub fn municipality(&self, snapshot: i64, code: &str) -> Result<Value, Error> {
        lake::check_municipality(code)?;
        let Some((m, _)) = self
            .municipalities(snapshot, Some(code), false)?
            .into_iter()
            .next()
        else {
            return Err(Error::NotFound(format!(
                "the region's lake holds no municipality {code}"
            )));
        };
        let present = self.headlines_in("districts")?;
        let districts = if self.has_table("districts")? {
            let table = lake::public_table_at("districts", snapshot)?;
            let columns: String = present
                .iter()
                .map(|h| format!(", \"{h}\"::DOUBLE"))
                .collect();
            let rows = self.with_conn(|conn| {
                let mut stmt = conn.prepare(&format!(
                    "SELECT district_code, name, period{columns}, coalesce(withheld, ''), ST_AsWKB(geometry)
                     FROM {table} WHERE municipality = ? ORDER BY district_code"
                ))?;
                let n = present.len();
                let rows = stmt
                    .query_map([code], |r| {
                        let values = (0..n)
                            .map(|i| r.get::<_, Option<f64>>(3 + i))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            values,
                            r.get::<_, String>(3 + n)?,
                            r.get::<_, Vec<u8>>(4 + n)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })?;
            let features = rows
                .into_iter()
                .map(|(district, name, period, values, withheld, wkb)| {
                    let mut p = Map::new();
                    p.insert("district_code".into(), json!(district));
                    p.insert("name".into(), json!(name));
                    p.insert("period".into(), json!(period));
                    properties(&mut p, &figures(&present, values, &withheld));
                    Ok((district, Area::from_wkb(&wkb)?, p))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            geometry::collection(features)
        } else {
            geometry::collection(Vec::<(String, Area, Map<String, Value>)>::new())
        };
        Ok(json!({
            "snapshot": snapshot,
            "indicators": headlines(),
            "municipality": m,
            "districts": districts,
        }))
    }

    /// How persons placed spread across the municipalities at `snapshot`, each at the latest
    /// month of its release.
    pub fn spread(&self, snapshot: i64) -> Result<Spread, Error> {
        let has = self.has_table("indicators")?
            && [PLACED, BASE].iter().all(|c| {
                locked(&self.lake)
                    .public_columns("indicators")
                    .is_ok_and(|cols| cols.iter().any(|x| x == c))
            });
        if !has {
            return Ok(spread_of(snapshot, Vec::new()));
        }
        let table = lake::public_table_at("indicators", snapshot)?;
        let shares = self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT municipality, period, \"{PLACED}\"::DOUBLE, \"{BASE}\"::DOUBLE, coalesce(withheld, '')
                 FROM {table} WHERE level = 'municipality'
                 QUALIFY row_number() OVER (PARTITION BY municipality ORDER BY period DESC) = 1
                 ORDER BY municipality"
            ))?;
            let rows = stmt
                .query_map([], |r| {
                    let withheld: String = r.get(4)?;
                    let held = withheld.split(',').any(|w| w.trim() == PLACED);
                    Ok(Share {
                        code: r.get(0)?,
                        period: r.get(1)?,
                        persons: if held { None } else { r.get(2)? },
                        withheld: held,
                        dwellings: r.get(3)?,
                        location_quotient: None,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        Ok(spread_of(snapshot, shares))
    }

    /// A file of release `version` of `code` as the bucket keeps it (byte for byte what the
    /// release folder held), with its media type: for a release no newer than the one the lake
    /// holds at `snapshot`, so a reader never shows what it has not moved on to.
    pub fn release_file(
        &self,
        snapshot: i64,
        code: &str,
        version: u32,
        file: &str,
    ) -> Result<(Vec<u8>, &'static str), Error> {
        let missing = || Error::NotFound(format!("{code} has no release file {version}/{file}"));
        lake::check_municipality(code)?;
        let key = lake::objects::release_key(code, version, file).map_err(|_| missing())?;
        let releases = lake::public_table_at("releases", snapshot)?;
        let current: Option<i64> = self.with_conn(|conn| {
            Ok(conn.query_row(
                &format!("SELECT max(version) FROM {releases} WHERE municipality = ?"),
                [code],
                |r| r.get(0),
            )?)
        })?;
        if current.is_none_or(|c| i64::from(version) > c) {
            return Err(missing());
        }
        let bytes = lake::objects::get(&self.settings, &key)?.ok_or_else(missing)?;
        let media = match file.rsplit('.').next().unwrap_or("") {
            "csv" => "text/csv; charset=utf-8",
            "parquet" => "application/vnd.apache.parquet",
            "geojson" => "application/geo+json",
            "json" => "application/json",
            _ => "application/octet-stream",
        };
        Ok((bytes, media))
    }

    /// Every municipality's current release (its manifest), by code: what the region's
    /// catalogue describes.
    pub fn releases(&self, snapshot: i64) -> Result<Vec<crate::catalog::RegionRelease>, Error> {
        let releases = lake::public_table_at("releases", snapshot)?;
        let rows: Vec<(String, String)> = self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT municipality, manifest FROM {releases} WHERE manifest IS NOT NULL ORDER BY municipality"
            ))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(code, manifest)| {
                let manifest = serde_json::from_str(&manifest).map_err(|e| {
                    Error::Internal(format!("the manifest of {code} in the lake: {e}"))
                })?;
                Ok(crate::catalog::RegionRelease { code, manifest })
            })
            .collect()
    }

    /// A published dataset of a municipality's current release as CSV (UTF-8, header row),
    /// its rows as the lake holds them at `snapshot`, with their `municipality` and `release`
    /// columns (boundaries left out, as in the release's own CSV).
    pub fn dataset_csv(&self, snapshot: i64, code: &str, dataset: &str) -> Result<Vec<u8>, Error> {
        lake::check_municipality(code)?;
        let table = dataset.replace('-', "_");
        let known = crate::publish::DATASETS.iter().any(|d| d.id == dataset);
        if !known || !self.has_table(&table)? {
            return Err(Error::NotFound(format!(
                "the region's lake has no dataset {dataset:?}"
            )));
        }
        let columns = locked(&self.lake).public_columns(&table)?;
        let exclude = if columns.iter().any(|c| c == "geometry") {
            " EXCLUDE (geometry)"
        } else {
            ""
        };
        let at = lake::public_table_at(&table, snapshot)?;
        let dir =
            tempfile::tempdir().map_err(|e| Error::Internal(format!("a temporary folder: {e}")))?;
        let path = dir.path().join("out.csv");
        let rows = self.with_conn(|conn| {
            Ok(conn.execute(
                &format!(
                    "COPY (SELECT *{exclude} FROM {at} WHERE municipality = '{code}' ORDER BY ALL) TO '{}' (FORMAT csv, HEADER)",
                    path.display().to_string().replace('\'', "''")
                ),
                [],
            )?)
        })?;
        if rows == 0 {
            // An empty dataset of a municipality the lake holds is a header alone.
            let releases = lake::public_table_at("releases", snapshot)?;
            let held: i64 = self.with_conn(|conn| {
                Ok(conn.query_row(
                    &format!("SELECT count(*) FROM {releases} WHERE municipality = ?"),
                    [code],
                    |r| r.get(0),
                )?)
            })?;
            if held == 0 {
                return Err(Error::NotFound(format!(
                    "the region's lake holds no municipality {code}"
                )));
            }
        }
        std::fs::read(&path).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))
    }

    /// The municipalities (all, or `only` one) by code, with their boxes, and with their
    /// boundaries (their districts' polygons) when `areas`.
    fn municipalities(
        &self,
        snapshot: i64,
        only: Option<&str>,
        areas: bool,
    ) -> Result<Vec<(Municipality, Option<Area>)>, Error> {
        let filter = |column: &str| {
            only.map(|_| format!(" AND {column} = $1"))
                .unwrap_or_default()
        };
        let args: Vec<&str> = only.into_iter().collect();
        let releases = lake::public_table_at("releases", snapshot)?;
        let mut out: Vec<(Municipality, Option<Area>)> = self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT municipality, version, coalesce(published_at, ''), coalesce(manifest, '{{}}')
                 FROM {releases} WHERE true{} ORDER BY municipality",
                filter("municipality")
            ))?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(&args), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i32>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .map(|(code, version, published_at, manifest)| {
                    let manifest: Value = serde_json::from_str(&manifest).unwrap_or(Value::Null);
                    let name = manifest["publisher"]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| code.clone());
                    let m = Municipality {
                        code,
                        name,
                        release: version as u32,
                        published_at,
                        period: None,
                        figures: Vec::new(),
                        bbox: None,
                    };
                    (m, None)
                })
                .collect())
        })?;
        if out.is_empty() {
            return Ok(out);
        }
        if self.has_table("indicators")? {
            let headlines = self.headlines_in("indicators")?;
            let table = lake::public_table_at("indicators", snapshot)?;
            let columns: String = headlines
                .iter()
                .map(|h| format!(", \"{h}\"::DOUBLE"))
                .collect();
            let n = headlines.len();
            let rows = self.with_conn(|conn| {
                let mut stmt = conn.prepare(&format!(
                    "SELECT municipality, period{columns}, coalesce(withheld, '') FROM {table}
                     WHERE level = 'municipality'{}
                     QUALIFY row_number() OVER (PARTITION BY municipality ORDER BY period DESC) = 1",
                    filter("municipality")
                ))?;
                let rows = stmt
                    .query_map(duckdb::params_from_iter(&args), |r| {
                        let values = (0..n)
                            .map(|i| r.get::<_, Option<f64>>(2 + i))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            values,
                            r.get::<_, String>(2 + n)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })?;
            for (code, period, values, withheld) in rows {
                if let Some((m, _)) = out.iter_mut().find(|(m, _)| m.code == code) {
                    m.period = Some(period);
                    m.figures = figures(&headlines, values, &withheld);
                }
            }
        }
        if !self.has_table("districts")? {
            return Ok(out);
        }
        let table = lake::public_table_at("districts", snapshot)?;
        let rows = self.with_conn(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT municipality, ST_AsWKB(geometry) FROM {table}
                 WHERE geometry IS NOT NULL{} ORDER BY municipality, district_code",
                filter("municipality")
            ))?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(&args), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        // Each municipality's districts, by code (one pass, not one per municipality); the
        // polygons are kept only when asked for, the boxes always.
        let mut parts: HashMap<String, (Vec<Area>, Option<Bbox>)> = HashMap::new();
        for (code, wkb) in rows {
            let district = Area::from_wkb(&wkb)?;
            let (kept, bbox) = parts.entry(code).or_default();
            let b = district.bbox();
            *bbox = Some(bbox.map_or(b, |a| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            }));
            if areas {
                kept.push(district);
            }
        }
        for (m, area) in &mut out {
            let (kept, bbox) = parts.remove(&m.code).unwrap_or_default();
            m.bbox = bbox;
            if areas {
                *area = Area::merged(kept);
            }
        }
        Ok(out)
    }
}

/// The headline figures of a row: its values, withheld where its `withheld` list names them.
fn figures(headlines: &[&'static str], values: Vec<Option<f64>>, withheld: &str) -> Vec<Figure> {
    let withheld: Vec<&str> = withheld.split(',').map(str::trim).collect();
    headlines
        .iter()
        .zip(values)
        .map(|(h, value)| {
            let held = withheld.contains(h);
            Figure {
                indicator: h,
                value: if held { None } else { value },
                withheld: held,
            }
        })
        .collect()
}

/// A feature's properties: each figure's value (null when withheld) and the withheld list.
fn properties(p: &mut Map<String, Value>, figures: &[Figure]) {
    for f in figures {
        p.insert(f.indicator.into(), json!(f.value));
    }
    let withheld: Vec<&str> = figures
        .iter()
        .filter(|f| f.withheld)
        .map(|f| f.indicator)
        .collect();
    p.insert("withheld".into(), json!(withheld));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(code: &str, persons: Option<f64>, withheld: bool, dwellings: f64) -> Share {
        Share {
            code: code.into(),
            period: "2026-10".into(),
            persons,
            withheld,
            dwellings: Some(dwellings),
            location_quotient: None,
        }
    }

    /// Worked by hand: A places 10 of the 40 persons counted on 100 of the 200 dwellings, B 30
    /// on 100; C's persons are withheld, so C is left out, not guessed.
    /// D = ½ (|10/40 − 100/200| + |30/40 − 100/200|) = ½ (0.25 + 0.25) = 0.25;
    /// LQ(A) = 0.25 / 0.5 = 0.5, LQ(B) = 0.75 / 0.5 = 1.5.
    #[test]
    fn the_spread_of_a_hand_worked_region() {
        let s = spread_of(
            7,
            vec![
                share("A", Some(10.0), false, 100.0),
                share("B", Some(30.0), false, 100.0),
                share("C", None, true, 200.0),
            ],
        );
        assert_eq!(s.dissimilarity, Some(0.25));
        assert_eq!(s.counted, 2);
        assert_eq!(s.left_out, ["C"]);
        let lq: Vec<Option<f64>> = s
            .municipalities
            .iter()
            .map(|m| m.location_quotient)
            .collect();
        assert_eq!(lq, [Some(0.5), Some(1.5), None]);
        // One municipality counted is no spread at all.
        let one = spread_of(
            7,
            vec![
                share("A", Some(10.0), false, 100.0),
                share("C", None, true, 1.0),
            ],
        );
        assert_eq!((one.dissimilarity, one.counted), (None, 0));
        assert_eq!(one.left_out, ["A", "C"]);
    }
}
