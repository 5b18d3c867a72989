//! What the map tiles draw: the districts with the published values of the latest month (for
//! everyone), and the vacant properties of a tile as points or clusters (for officers). The
//! HTTP layer encodes them as vector tiles.

use duckdb::types::Value as Db;

use crate::Error;
use crate::geometry::{Area, Bbox};

/// A district as tiles draw it: boundary, box, and the published values of the latest month.
pub struct TileDistrict {
    pub code: String,
    pub name: String,
    pub area: Area,
    pub bbox: Bbox,
    pub values: Vec<(&'static str, Option<f64>)>,
    pub withheld: String,
    pub period: String,
}

/// The districts with the published values of the latest month (no values before the first
/// release).
pub fn districts(store: &ingest::Store) -> Result<Vec<TileDistrict>, Error> {
    let ids: Vec<&'static str> = analytics::registry::INDICATORS
        .iter()
        .map(|i| i.id)
        .collect();
    let published = store.has_table("indicators_published")?;
    let columns: String = ids
        .iter()
        .map(|i| {
            if published {
                format!(", p.\"{i}\"::DOUBLE")
            } else {
                ", NULL::DOUBLE".to_string()
            }
        })
        .collect();
    let sql = if published {
        format!(
            "SELECT d.district_code, d.name, d.geometry, coalesce(p.withheld, ''), coalesce(p.period, ''){columns}
             FROM districts d LEFT JOIN indicators_published p ON p.area_code = d.district_code
               AND p.level = 'district' AND p.period = (SELECT max(period) FROM indicators_published)
             ORDER BY d.district_code"
        )
    } else {
        format!(
            "SELECT district_code, name, geometry, '', ''{columns} FROM districts ORDER BY district_code"
        )
    };
    let mut stmt = store.conn().prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let get = |i: usize| r.get::<_, String>(i);
        let area = Area::parse(&get(2)?)?;
        let mut values = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let v: Option<f64> = r.get(5 + i)?;
            values.push((*id, v.filter(|v| v.is_finite())));
        }
        out.push(TileDistrict {
            code: get(0)?,
            name: get(1)?,
            bbox: area.bbox(),
            area,
            values,
            withheld: get(3)?,
            period: get(4)?,
        });
    }
    Ok(out)
}

/// A web-mercator tile: its address, its pixel extent, and its box in longitude and latitude
/// (with the buffer the encoder clips to).
#[derive(Debug, Clone, Copy)]
pub struct TileWindow {
    pub z: u32,
    pub x: u32,
    pub y: u32,
    pub extent: f64,
    pub bbox: Bbox,
}

impl TileWindow {
    /// SQL for the tile pixel coordinates of the columns `lon` and `lat`.
    fn pixel_sql(&self) -> (String, String) {
        let n = f64::from(1u32 << self.z);
        let e = self.extent;
        (
            format!("((lon + 180) / 360 * {n} - {x}) * {e}", x = self.x),
            format!(
                "((1 - ln(tan(radians(lat)) + 1 / cos(radians(lat))) / pi()) / 2 * {n} - {y}) * {e}",
                y = self.y
            ),
        )
    }
}

/// A mark on the vacant-properties layer, at tile pixel `x`, `y`.
#[derive(Debug, Clone, PartialEq)]
pub enum VacantMark {
    /// One property, with its address (officers only).
    Property {
        x: f64,
        y: f64,
        property_id: Option<String>,
        status: Option<String>,
        condition: Option<String>,
        owner_type: Option<String>,
        address: Option<String>,
        units: Option<i64>,
        renovation_cost_eur: Option<f64>,
    },
    /// The properties of a cell, at their mean position: how many, their units, ready now.
    Cluster {
        x: f64,
        y: f64,
        properties: i64,
        units: i64,
        ready: i64,
    },
}

fn text(v: Db) -> Option<String> {
    match v {
        Db::Text(s) => Some(s),
        _ => None,
    }
}

fn whole(v: &Db) -> i64 {
    match *v {
        Db::BigInt(v) => v,
        Db::HugeInt(v) => v as i64,
        _ => 0,
    }
}

/// The open (not let, not withdrawn) vacant properties in `tile`: one by one when `detailed`,
/// else clustered in cells of `cell` × `cell` tile pixels.
pub fn vacant_properties(
    store: &ingest::Store,
    tile: TileWindow,
    detailed: bool,
    cell: f64,
) -> Result<Vec<VacantMark>, Error> {
    let (px, py) = tile.pixel_sql();
    let open = "status NOT IN ('let', 'withdrawn')";
    let within = "lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?";
    let b = tile.bbox;
    let params = [b[0], b[2], b[1], b[3]];
    let sql = if detailed {
        format!(
            "SELECT {px}, {py}, property_id, status, condition, owner_type, address, units, renovation_cost_eur
             FROM vacant_properties WHERE {within} AND {open} ORDER BY property_id"
        )
    } else {
        format!(
            "SELECT avg(px), avg(py), count(*), sum(units), count(*) FILTER (WHERE condition = 'ready')
             FROM (SELECT {px} AS px, {py} AS py, units, condition FROM vacant_properties
                   WHERE {within} AND {open})
             GROUP BY floor(px / {cell}), floor(py / {cell})
             ORDER BY floor(py / {cell}), floor(px / {cell})"
        )
    };
    let mut stmt = store.conn().prepare(&sql)?;
    let mut rows = stmt.query(params)?;
    let mut marks = Vec::new();
    while let Some(r) = rows.next()? {
        let (x, y): (f64, f64) = (r.get(0)?, r.get(1)?);
        let value = |i: usize| r.get::<_, Db>(i);
        marks.push(if detailed {
            VacantMark::Property {
                x,
                y,
                property_id: text(value(2)?),
                status: text(value(3)?),
                condition: text(value(4)?),
                owner_type: text(value(5)?),
                address: text(value(6)?),
                units: match value(7)? {
                    Db::BigInt(u) => Some(u),
                    _ => None,
                },
                renovation_cost_eur: match value(8)? {
                    Db::Double(c) => Some(c),
                    _ => None,
                },
            }
        } else {
            VacantMark::Cluster {
                x,
                y,
                properties: whole(&value(2)?),
                units: whole(&value(3)?),
                ready: whole(&value(4)?),
            }
        });
    }
    Ok(marks)
}
