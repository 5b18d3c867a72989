//! District boundaries as the outputs need them: GeoJSON (RFC 7946: WGS84, exterior rings
//! counter-clockwise, holes clockwise) and WKB for GeoParquet, with bounding boxes. The store
//! holds each boundary as a GeoJSON Polygon or MultiPolygon, already in WGS84.

use serde_json::{Value, json};

use crate::Error;

/// A ring of (longitude, latitude) points, closed (first = last).
type Ring = Vec<[f64; 2]>;

/// A Polygon or MultiPolygon: polygons of rings, the first ring of each the exterior.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub polygons: Vec<Vec<Ring>>,
    multi: bool,
}

/// `[min_lon, min_lat, max_lon, max_lat]`.
pub type Bbox = [f64; 4];

fn ring(v: &Value) -> Option<Ring> {
    v.as_array()?
        .iter()
        .map(|p| {
            let p = p.as_array()?;
            Some([p.first()?.as_f64()?, p.get(1)?.as_f64()?])
        })
        .collect()
}

fn polygon(v: &Value) -> Option<Vec<Ring>> {
    v.as_array()?.iter().map(ring).collect()
}

/// Twice the signed area (positive when counter-clockwise).
fn signed_area(r: &Ring) -> f64 {
    r.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum()
}

impl Area {
    /// Parses a stored boundary.
    pub fn parse(text: &str) -> Result<Area, Error> {
        let bad = || Error::Internal(format!("stored boundary is not a polygon: {text:.80}"));
        let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
        let coords = v.get("coordinates").ok_or_else(bad)?;
        let (polygons, multi) = match v.get("type").and_then(Value::as_str) {
            Some("Polygon") => (vec![polygon(coords).ok_or_else(bad)?], false),
            Some("MultiPolygon") => (
                coords
                    .as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(polygon)
                    .collect::<Option<_>>()
                    .ok_or_else(bad)?,
                true,
            ),
            _ => return Err(bad()),
        };
        let mut area = Area { polygons, multi };
        area.orient();
        Ok(area)
    }

    /// Exterior rings counter-clockwise, holes clockwise (RFC 7946 §3.1.6).
    fn orient(&mut self) {
        for p in &mut self.polygons {
            for (i, r) in p.iter_mut().enumerate() {
                if (signed_area(r) > 0.0) != (i == 0) {
                    r.reverse();
                }
            }
        }
    }

    pub fn bbox(&self) -> Bbox {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for p in self.polygons.iter().flatten().flatten() {
            b = [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ];
        }
        b
    }

    pub fn geometry_type(&self) -> &'static str {
        if self.multi {
            "MultiPolygon"
        } else {
            "Polygon"
        }
    }

    /// The GeoJSON geometry object.
    pub fn geojson(&self) -> Value {
        let coordinates = if self.multi {
            json!(self.polygons)
        } else {
            json!(self.polygons[0])
        };
        json!({"type": self.geometry_type(), "coordinates": coordinates})
    }

    /// Reads a Polygon or MultiPolygon from well-known binary (either byte order), as
    /// GeoParquet files and DuckDB's `ST_AsWKB` give them.
    pub fn from_wkb(bytes: &[u8]) -> Result<Area, Error> {
        let mut r = Wkb { bytes, at: 0 };
        let bad = |what: &str| Error::Internal(format!("a boundary's WKB: {what}"));
        let (little, kind) = r.header().ok_or_else(|| bad("cut short"))?;
        let (polygons, multi) = match kind {
            3 => (
                vec![r.polygon(little).ok_or_else(|| bad("cut short"))?],
                false,
            ),
            6 => {
                let n = r.u32(little).ok_or_else(|| bad("cut short"))?;
                let mut polygons = Vec::new();
                for _ in 0..n {
                    let (le, kind) = r.header().ok_or_else(|| bad("cut short"))?;
                    if kind != 3 {
                        return Err(bad("a MultiPolygon member is not a polygon"));
                    }
                    polygons.push(r.polygon(le).ok_or_else(|| bad("cut short"))?);
                }
                (polygons, true)
            }
            k => return Err(bad(&format!("geometry type {k} is not a polygon"))),
        };
        if polygons.is_empty() || r.at != bytes.len() {
            return Err(bad("empty, or bytes left over"));
        }
        let mut area = Area { polygons, multi };
        area.orient();
        Ok(area)
    }

    /// Several areas as one MultiPolygon: their polygons side by side (a municipality drawn
    /// as its districts, without their inner borders dissolved). `None` when there are none.
    pub fn merged(areas: impl IntoIterator<Item = Area>) -> Option<Area> {
        let polygons: Vec<Vec<Ring>> = areas.into_iter().flat_map(|a| a.polygons).collect();
        (!polygons.is_empty()).then_some(Area {
            polygons,
            multi: true,
        })
    }

    /// Well-known binary, little-endian (ISO 19125 / OGC simple features).
    pub fn wkb(&self) -> Vec<u8> {
        fn polygon(out: &mut Vec<u8>, rings: &[Ring]) {
            out.push(1);
            out.extend(3u32.to_le_bytes());
            out.extend((rings.len() as u32).to_le_bytes());
            for r in rings {
                out.extend((r.len() as u32).to_le_bytes());
                for p in r {
                    out.extend(p[0].to_le_bytes());
                    out.extend(p[1].to_le_bytes());
                }
            }
        }
        let mut out = Vec::new();
        if self.multi {
            out.push(1);
            out.extend(6u32.to_le_bytes());
            out.extend((self.polygons.len() as u32).to_le_bytes());
            for p in &self.polygons {
                polygon(&mut out, p);
            }
        } else {
            polygon(&mut out, &self.polygons[0]);
        }
        out
    }
}

/// A reader of well-known binary.
struct Wkb<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Wkb<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(b)
    }

    fn u32(&mut self, little: bool) -> Option<u32> {
        let b = self.take::<4>()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, little: bool) -> Option<f64> {
        let b = self.take::<8>()?;
        Some(if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    /// Byte order and geometry type.
    fn header(&mut self) -> Option<(bool, u32)> {
        let little = match self.take::<1>()?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some((little, self.u32(little)?))
    }

    fn polygon(&mut self, little: bool) -> Option<Vec<Ring>> {
        let rings = self.u32(little)?;
        // Every point takes 16 bytes: a count larger than the bytes left is refused before
        // anything is allocated for it.
        let left = (self.bytes.len() - self.at) / 16;
        (0..rings)
            .map(|_| {
                let n = self.u32(little)? as usize;
                if n > left {
                    return None;
                }
                (0..n)
                    .map(|_| Some([self.f64(little)?, self.f64(little)?]))
                    .collect()
            })
            .collect()
    }
}

/// A GeoJSON FeatureCollection of (id, boundary, properties), with the box around them all.
pub fn collection<A: std::borrow::Borrow<Area>>(
    features: Vec<(String, A, serde_json::Map<String, Value>)>,
) -> Value {
    let bbox = union(features.iter().map(|(_, a, _)| a.borrow().bbox()));
    let features: Vec<Value> = features
        .into_iter()
        .map(|(id, area, properties)| {
            json!({"type": "Feature", "id": id, "geometry": area.borrow().geojson(), "properties": properties})
        })
        .collect();
    json!({"type": "FeatureCollection", "bbox": bbox, "features": features})
}

/// The box around all the boxes.
pub fn union(boxes: impl IntoIterator<Item = Bbox>) -> Option<Bbox> {
    boxes.into_iter().reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_oriented_and_wkb_is_well_formed() {
        // A clockwise square with a counter-clockwise hole: both get reversed.
        let a = Area::parse(
            r#"{"type":"Polygon","coordinates":[[[0,0],[0,2],[2,2],[2,0],[0,0]],[[0.5,0.5],[1,0.5],[1,1],[0.5,0.5]]]}"#,
        )
        .unwrap();
        assert!(signed_area(&a.polygons[0][0]) > 0.0);
        assert!(signed_area(&a.polygons[0][1]) < 0.0);
        assert_eq!(a.bbox(), [0.0, 0.0, 2.0, 2.0]);
        let wkb = a.wkb();
        // byte order, type 3, 2 rings, 5 points, then 5 × 16 bytes, 4 points, 4 × 16 bytes.
        assert_eq!(&wkb[..9], &[1, 3, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(wkb.len(), 9 + 4 + 5 * 16 + 4 + 4 * 16);
        let m = Area::parse(
            r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}"#,
        )
        .unwrap();
        assert_eq!(m.geometry_type(), "MultiPolygon");
        assert_eq!(&m.wkb()[..9], &[1, 6, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(m.bbox(), [0.0, 0.0, 6.0, 6.0]);
        assert!(Area::parse(r#"{"type":"Point","coordinates":[0,0]}"#).is_err());
    }

    #[test]
    fn wkb_is_read_back_in_either_byte_order_and_refused_when_cut() {
        let m = Area::parse(
            r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}"#,
        )
        .unwrap();
        assert_eq!(Area::from_wkb(&m.wkb()).unwrap(), m);
        // A big-endian triangle, written by hand: order 0, type 3, one ring of four points.
        let mut be = vec![0u8];
        be.extend(3u32.to_be_bytes());
        be.extend(1u32.to_be_bytes());
        be.extend(4u32.to_be_bytes());
        for p in [[0.0f64, 0.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]] {
            be.extend(p[0].to_be_bytes());
            be.extend(p[1].to_be_bytes());
        }
        let t = Area::from_wkb(&be).unwrap();
        assert_eq!(t.geometry_type(), "Polygon");
        assert_eq!(t.bbox(), [0.0, 0.0, 2.0, 2.0]);
        assert!(Area::from_wkb(&be[..be.len() - 1]).is_err());
        // A ring claiming four billion points in a few bytes is refused, not allocated.
        let mut huge = vec![1u8];
        huge.extend(3u32.to_le_bytes());
        huge.extend(1u32.to_le_bytes());
        huge.extend(u32::MAX.to_le_bytes());
        assert!(Area::from_wkb(&huge).is_err());
        let both = Area::merged([t, m]).unwrap();
        assert_eq!(both.geometry_type(), "MultiPolygon");
        assert_eq!(both.polygons.len(), 3);
        assert_eq!(both.bbox(), [0.0, 0.0, 6.0, 6.0]);
        assert!(Area::merged([]).is_none());
    }
}
