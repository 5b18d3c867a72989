//! Mapbox vector tiles (MVT 2.1, web mercator, 4096 extent) for the maps: the districts with
//! their published indicators of the latest month for everyone, the vacant properties as points
//! for signed-in officers. The public layer carries no address at all.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use haven_core::geometry::Bbox;
use haven_core::read;
use haven_core::read::tiles::{self, TileDistrict, TileWindow, VacantMark};
use serde_json::{Value, json};

use super::Access::{Officer, Public};
use super::{Route, route};
use crate::http::{etag, holds};
use crate::vector_tile::Layer;
use crate::{ApiError, AppState, openapi};

const EXTENT: u32 = 4096;
/// Geometry is clipped this far outside the tile, so edges join without seams.
const BUFFER: f64 = 64.0;

/// A tile address, checked.
#[derive(Debug, Clone, Copy)]
struct TileId {
    z: u32,
    x: u32,
    y: u32,
}

impl TileId {
    fn parse(z: u32, x: u32, y: &str) -> Result<TileId, ApiError> {
        let y: u32 = y
            .strip_suffix(".mvt")
            .and_then(|y| y.parse().ok())
            .ok_or_else(|| ApiError::BadRequest(format!("tile '{y}' is not a number.mvt")))?;
        if z > 22 {
            return Err(ApiError::BadRequest(format!(
                "zoom {z} is beyond 22, the deepest served"
            )));
        }
        let n = 1u32 << z;
        if x >= n || y >= n {
            return Err(ApiError::BadRequest(format!(
                "tile {z}/{x}/{y} does not exist: x and y run from 0 to {}",
                n - 1
            )));
        }
        Ok(TileId { z, x, y })
    }

    /// Tile pixel coordinates of a longitude and latitude.
    fn pixel(&self, lon: f64, lat: f64) -> (f64, f64) {
        let n = f64::from(1u32 << self.z);
        let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
        let wx = (lon + 180.0) / 360.0 * n;
        let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
        (
            (wx - f64::from(self.x)) * f64::from(EXTENT),
            (wy - f64::from(self.y)) * f64::from(EXTENT),
        )
    }

    /// The tile's box in longitude and latitude, with the buffer.
    fn bbox(&self) -> Bbox {
        let n = f64::from(1u32 << self.z);
        let pad = BUFFER / f64::from(EXTENT);
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| {
            (std::f64::consts::PI * (1.0 - 2.0 * y / n))
                .sinh()
                .atan()
                .to_degrees()
        };
        let (x0, x1) = (f64::from(self.x) - pad, f64::from(self.x) + 1.0 + pad);
        let (y0, y1) = (f64::from(self.y) - pad, f64::from(self.y) + 1.0 + pad);
        [lon(x0), lat(y1), lon(x1), lat(y0)]
    }
}

/// The tile a request names.
fn tile_of(
    path: Result<UrlPath<(String, String, String)>, PathRejection>,
) -> Result<TileId, ApiError> {
    let UrlPath((z, x, y)) = path?;
    let number = |what: &str, v: &str| {
        v.parse::<u32>()
            .map_err(|_| ApiError::BadRequest(format!("tile {what} '{v}' is not a whole number")))
    };
    TileId::parse(number("zoom", &z)?, number("column", &x)?, &y)
}

fn overlaps(a: &Bbox, b: &Bbox) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// The districts of the latest analysis, parsed once per data generation.
pub(crate) fn load_districts(store: &ingest::Store) -> Result<Vec<TileDistrict>, ApiError> {
    Ok(tiles::districts(store)?)
}

/// A ring in whole tile pixels (what the 4096 extent can hold), within the buffer around the
/// tile, without the points that fall on the pixel of the one before: at low zooms a
/// district's thousands of vertices become a handful. The closing point is implied in MVT.
fn ring_pixels(t: TileId, ring: &[[f64; 2]]) -> Vec<(i32, i32)> {
    let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
    let mut out: Vec<(i32, i32)> = Vec::new();
    for p in &ring[..ring.len().saturating_sub(1)] {
        let (x, y) = t.pixel(p[0], p[1]);
        let q = (
            x.clamp(lo, hi).round() as i32,
            y.clamp(lo, hi).round() as i32,
        );
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// The districts tile: every district whose box meets the tile, with its published values.
fn district_tile(t: TileId, districts: &[TileDistrict]) -> Vec<u8> {
    let mut layer = Layer::new("districts", EXTENT);
    let bbox = t.bbox();
    for (n, d) in districts.iter().enumerate() {
        if !overlaps(&d.bbox, &bbox) {
            continue;
        }
        let mut f = layer.feature(n as u64 + 1);
        for polygon in &d.area.polygons {
            let mut rings = polygon.iter().map(|r| ring_pixels(t, r));
            let Some(outer) = rings.next() else { continue };
            if !f.ring(&outer, true) {
                // A district smaller than a pixel at this zoom stays on the map as one.
                let (x, y) = outer.first().copied().unwrap_or_default();
                f.ring(&[(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)], true);
                continue;
            }
            for hole in rings {
                f.ring(&hole, false);
            }
        }
        f.text("district_code", &d.code);
        f.text("name", &d.name);
        f.text("period", &d.period);
        for (id, v) in &d.values {
            if let Some(v) = v {
                f.number(id, *v);
            }
        }
        f.text("withheld", &d.withheld);
        f.finish();
    }
    layer.into_tile()
}

fn answer(headers: &HeaderMap, tag: &str, bytes: Vec<u8>, cache: &'static str) -> Response {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if holds(headers, tag) {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
    );
    (h, bytes).into_response()
}

/// `GET /tiles/districts/{z}/{x}/{y}.mvt`: district boundaries with the published indicators
/// of the latest month (withheld ones absent and named in `withheld`).
pub async fn districts(
    State(s): State<AppState>,
    path: Result<UrlPath<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = tile_of(path)?;
    let (version, districts) = s.tile_districts().await?;
    let tag = etag(&version, &format!("districts {}/{}/{}", t.z, t.x, t.y));
    let bytes = s.blocking(move || district_tile(t, &districts)).await?;
    Ok(answer(
        &headers,
        &tag,
        bytes,
        "public, max-age=60, must-revalidate",
    ))
}

/// A tile pixel within the buffer around the tile, in whole pixels.
fn pixel_in_buffer(x: f64, y: f64) -> (i32, i32) {
    let (lo, hi) = (-BUFFER, f64::from(EXTENT) + BUFFER);
    (
        x.clamp(lo, hi).round() as i32,
        y.clamp(lo, hi).round() as i32,
    )
}

/// From this zoom on, vacant properties are drawn one by one; below it, as clusters.
pub const POINTS_FROM_ZOOM: u32 = 14;
/// Clusters are cells of this many tile pixels.
const CELL: f64 = 64.0;

/// `GET /tiles/vacant-properties/{z}/{x}/{y}.mvt` (officers): from zoom 14 the vacant
/// properties as points with id, address, status, condition, owner type, units and cost;
/// below, clusters of 64 × 64 tile pixels with the count of properties, units and those ready
/// now, placed at their mean position.
pub async fn vacant_properties(
    State(s): State<AppState>,
    path: Result<UrlPath<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = tile_of(path)?;
    let b = t.bbox();
    let (tag, bytes) = s
        .with_store(move |store| {
            let tag = etag(
                &read::data_version(store.conn())?,
                &format!("vacant {}/{}/{}", t.z, t.x, t.y),
            );
            let window = TileWindow {
                z: t.z,
                x: t.x,
                y: t.y,
                extent: f64::from(EXTENT),
                bbox: b,
            };
            let marks = tiles::vacant_properties(store, window, t.z >= POINTS_FROM_ZOOM, CELL)?;
            let mut layer = Layer::new("vacant_properties", EXTENT);
            for (n, mark) in (1u64..).zip(marks) {
                let mut f = layer.feature(n);
                match mark {
                    VacantMark::Property {
                        x,
                        y,
                        property_id,
                        status,
                        condition,
                        owner_type,
                        address,
                        units,
                        renovation_cost_eur,
                    } => {
                        let (px, py) = pixel_in_buffer(x, y);
                        f.point(px, py);
                        for (key, v) in [
                            ("property_id", property_id),
                            ("status", status),
                            ("condition", condition),
                            ("owner_type", owner_type),
                            ("address", address),
                        ] {
                            if let Some(v) = v {
                                f.text(key, &v);
                            }
                        }
                        if let Some(u) = units {
                            f.integer("units", u);
                        }
                        if let Some(c) = renovation_cost_eur {
                            f.number("renovation_cost_eur", c);
                        }
                    }
                    VacantMark::Cluster {
                        x,
                        y,
                        properties,
                        units,
                        ready,
                    } => {
                        let (px, py) = pixel_in_buffer(x, y);
                        f.point(px, py);
                        f.integer("properties", properties);
                        f.integer("units", units);
                        f.integer("ready", ready);
                    }
                }
                f.finish();
            }
            Ok((tag, layer.into_tile()))
        })
        .await?;
    Ok(answer(&headers, &tag, bytes, "private, no-store"))
}

/// The parsed districts of one data generation, with the data version they were read at.
type Parsed = (u64, String, Arc<Vec<TileDistrict>>);

/// The parsed districts, kept while the data generation stays the same. The lock is held
/// while they are read, so requests arriving meanwhile wait for that one read.
#[derive(Default)]
pub(crate) struct DistrictCache {
    inner: tokio::sync::Mutex<Option<Parsed>>,
}

impl AppState {
    /// Reads the districts of the map now (at start-up), not at the first tile.
    pub(crate) async fn warm_tiles(&self) -> Result<(), ApiError> {
        self.tile_districts().await.map(|_| ())
    }

    async fn tile_districts(&self) -> Result<(String, Arc<Vec<TileDistrict>>), ApiError> {
        let generation = self.generation();
        let mut c = self.tile_cache.inner.lock().await;
        if let Some((g, version, d)) = c.as_ref()
            && *g == generation
        {
            return Ok((version.clone(), Arc::clone(d)));
        }
        let (version, districts) = self
            .with_store(|store| Ok((read::data_version(store.conn())?, load_districts(store)?)))
            .await?;
        let districts = Arc::new(districts);
        *c = Some((generation, version.clone(), Arc::clone(&districts)));
        Ok((version, districts))
    }
}

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/tiles/districts/{z}/{x}/{y}",
        Public,
        || get(districts),
        district_tile_doc,
    ),
    route(
        "GET",
        "/tiles/vacant-properties/{z}/{x}/{y}",
        Officer,
        || get(vacant_properties),
        vacant_property_tile_doc,
    ),
];

/// The OpenAPI operation of `GET /tiles/districts/{z}/{x}/{y}`.
fn district_tile_doc() -> Value {
    json!({
        "operationId": "districtTile", "summary": "A vector tile (MVT, web mercator) of the districts with the published indicators of the latest month; y is written N.mvt.",
        "parameters": openapi::tile_params(),
        "responses": {
            "200": {"description": "The tile.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}, "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "contentMediaType": "application/vnd.mapbox-vector-tile"}}}},
            "304": openapi::not_modified(), "400": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /tiles/vacant-properties/{z}/{x}/{y}`.
fn vacant_property_tile_doc() -> Value {
    json!({
        "operationId": "vacantPropertyTile", "summary": "Officers: a vector tile of the vacant properties as points, with address.",
        "security": [{"bearer": []}],
        "parameters": openapi::tile_params(),
        "responses": {
            "200": {"description": "The tile.", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "contentMediaType": "application/vnd.mapbox-vector-tile"}}}},
            "304": openapi::not_modified(), "400": openapi::problem(), "403": openapi::problem(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_addresses_and_pixels() {
        assert!(TileId::parse(3, 8, "1.mvt").is_err());
        assert!(TileId::parse(23, 0, "0.mvt").is_err());
        assert!(TileId::parse(2, 1, "1.png").is_err());
        let t = TileId::parse(1, 1, "0.mvt").unwrap();
        // Longitude 0, latitude 0 is the tile's bottom-left corner at zoom 1.
        let (x, y) = t.pixel(0.0, 0.0);
        assert!(
            (x - 0.0).abs() < 1e-6 && (y - 4096.0).abs() < 1e-6,
            "{x} {y}"
        );
        let b = t.bbox();
        assert!(
            b[0] < 0.0 && b[2] > 180.0 && b[1] < 0.0 && b[3] > 85.0,
            "{b:?}"
        );
    }
}
