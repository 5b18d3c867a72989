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
}
