//! A layer of a Mapbox vector tile (MVT 2.1), written directly as protobuf: keys and values are
//! deduplicated through hash maps, so a tile of 10,000 districts with their indicators, or of
//! thousands of properties, encodes in linear time (a linear search of the value table for
//! every tag is quadratic at low zooms over a region). Features are polygons or points, in
//! tile pixels. Polygon rings are wound as the specification asks (exterior rings positive
//! area in tile coordinates, interior rings negative) and rings without area are left out.

use std::collections::HashMap;

/// A tag value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Value {
    Text(String),
    /// The bits of a finite double.
    Double(u64),
    Int(i64),
}

/// A layer being written.
pub(crate) struct Layer {
    name: String,
    extent: u32,
    keys: HashMap<String, u32>,
    key_list: Vec<String>,
    values: HashMap<Value, u32>,
    value_list: Vec<Value>,
    features: Vec<u8>,
}

/// A feature being written: its tags and geometry commands.
pub(crate) struct Feature<'a> {
    layer: &'a mut Layer,
    id: u64,
    /// The geometry type: 1 point, 3 polygon.
    kind: u64,
    tags: Vec<u32>,
    geometry: Vec<u32>,
    /// Where the last ring ended (the origin before the first): moves are relative to it.
    cursor: (i32, i32),
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field(out: &mut Vec<u8>, number: u32, wire: u32) {
    varint(out, u64::from((number << 3) | wire));
}

fn bytes_field(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    field(out, number, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed(out: &mut Vec<u8>, number: u32, values: &[u32]) {
    let mut body = Vec::with_capacity(values.len() * 2);
    for v in values {
        varint(&mut body, u64::from(*v));
    }
    bytes_field(out, number, &body);
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Twice the signed area of a ring (surveyor's formula, tile coordinates).
fn area2(ring: &[(i32, i32)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

impl Layer {
    pub(crate) fn new(name: &str, extent: u32) -> Layer {
        Layer {
            name: name.to_string(),
            extent,
            keys: HashMap::new(),
            key_list: Vec::new(),
            values: HashMap::new(),
            value_list: Vec::new(),
            features: Vec::new(),
        }
    }

    pub(crate) fn feature(&mut self, id: u64) -> Feature<'_> {
        Feature {
            layer: self,
            id,
            kind: 3,
            tags: Vec::new(),
            geometry: Vec::new(),
            cursor: (0, 0),
        }
    }

    fn key(&mut self, k: &str) -> u32 {
        if let Some(i) = self.keys.get(k) {
            return *i;
        }
        let i = self.key_list.len() as u32;
        self.keys.insert(k.to_string(), i);
        self.key_list.push(k.to_string());
        i
    }

    fn value(&mut self, v: Value) -> u32 {
        if let Some(i) = self.values.get(&v) {
            return *i;
        }
        let i = self.value_list.len() as u32;
        self.values.insert(v.clone(), i);
        self.value_list.push(v);
        i
    }

    /// The tile holding this one layer.
    pub(crate) fn into_tile(self) -> Vec<u8> {
        let mut layer = Vec::with_capacity(self.features.len() + 1024);
        field(&mut layer, 15, 0);
        varint(&mut layer, 2);
        bytes_field(&mut layer, 1, self.name.as_bytes());
        layer.extend_from_slice(&self.features);
        for k in &self.key_list {
            bytes_field(&mut layer, 3, k.as_bytes());
        }
        for v in &self.value_list {
            let mut body = Vec::new();
            match v {
                Value::Text(s) => bytes_field(&mut body, 1, s.as_bytes()),
                Value::Double(bits) => {
                    field(&mut body, 3, 1);
                    body.extend_from_slice(&bits.to_le_bytes());
                }
                Value::Int(i) => {
                    field(&mut body, 6, 0); // sint64
                    varint(&mut body, ((i << 1) ^ (i >> 63)) as u64);
                }
            }
            bytes_field(&mut layer, 4, &body);
        }
        field(&mut layer, 5, 0);
        varint(&mut layer, u64::from(self.extent));
        let mut tile = Vec::with_capacity(layer.len() + 8);
        bytes_field(&mut tile, 3, &layer);
        tile
    }
}

impl Feature<'_> {
    pub(crate) fn text(&mut self, key: &str, value: &str) {
        let (k, v) = (
            self.layer.key(key),
            self.layer.value(Value::Text(value.to_string())),
        );
        self.tags.extend([k, v]);
    }

    /// A number; NaN and infinities are left out (a tile cannot say them usefully).
    pub(crate) fn number(&mut self, key: &str, value: f64) {
        if value.is_finite() {
            let (k, v) = (
                self.layer.key(key),
                self.layer.value(Value::Double(value.to_bits())),
            );
            self.tags.extend([k, v]);
        }
    }

    /// A whole number.
    pub(crate) fn integer(&mut self, key: &str, value: i64) {
        let (k, v) = (self.layer.key(key), self.layer.value(Value::Int(value)));
        self.tags.extend([k, v]);
    }

    /// Makes the feature a point at tile pixel (`x`, `y`).
    pub(crate) fn point(&mut self, x: i32, y: i32) {
        self.kind = 1;
        self.geometry = vec![1 | (1 << 3), zigzag(x), zigzag(y)]; // MoveTo, 1 point
    }

    /// A ring in tile pixels (not closed: the closing point is implied); `exterior` says
    /// which way it must wind. A ring without area is left out; whether it was kept is
    /// answered.
    pub(crate) fn ring(&mut self, points: &[(i32, i32)], exterior: bool) -> bool {
        let area = area2(points);
        if points.len() < 3 || area == 0 {
            return false;
        }
        let reversed: Vec<(i32, i32)>;
        let ring = if (area > 0) == exterior {
            points
        } else {
            reversed = points.iter().rev().copied().collect();
            &reversed
        };
        let (mut cx, mut cy) = self.cursor;
        let g = &mut self.geometry;
        g.push(1 | (1 << 3)); // MoveTo, 1 point
        g.extend([zigzag(ring[0].0 - cx), zigzag(ring[0].1 - cy)]);
        (cx, cy) = ring[0];
        g.push(2 | (((ring.len() - 1) as u32) << 3)); // LineTo
        for &(x, y) in &ring[1..] {
            g.extend([zigzag(x - cx), zigzag(y - cy)]);
            (cx, cy) = (x, y);
        }
        g.push(7 | (1 << 3)); // ClosePath
        self.cursor = (cx, cy);
        true
    }

    /// Adds the feature to its layer, when it has any geometry.
    pub(crate) fn finish(self) {
        if self.geometry.is_empty() {
            return;
        }
        let mut body = Vec::with_capacity(self.geometry.len() * 2 + self.tags.len() * 2 + 16);
        field(&mut body, 1, 0);
        varint(&mut body, self.id);
        packed(&mut body, 2, &self.tags);
        field(&mut body, 3, 0);
        varint(&mut body, self.kind);
        packed(&mut body, 4, &self.geometry);
        bytes_field(&mut self.layer.features, 2, &body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example polygon (MVT 2.1, 4.3.5.1): its exact bytes.
    #[test]
    fn a_polygon_encodes_as_the_specification_shows() {
        let mut layer = Layer::new("l", 4096);
        let mut f = layer.feature(1);
        assert!(f.ring(&[(3, 6), (8, 12), (20, 34)], true));
        assert_eq!(f.geometry, [9, 6, 12, 18, 10, 12, 24, 44, 15]);
        f.finish();
        // And a ring given the other way round is wound as an exterior ring must be.
        let mut g = layer.feature(2);
        assert!(g.ring(&[(20, 34), (8, 12), (3, 6)], true));
        assert_eq!(area2(&[(3, 6), (8, 12), (20, 34)]).signum(), 1);
        assert!(
            !g.ring(&[(0, 0), (1, 1), (2, 2)], false),
            "no area: left out"
        );
    }

    /// The specification's example point (4.3.5.1: a point at 25, 17 is `[9, 50, 34]`), and
    /// an integer tag as a zigzag sint64.
    #[test]
    fn a_point_encodes_as_the_specification_shows() {
        let mut layer = Layer::new("p", 4096);
        let mut f = layer.feature(7);
        f.point(25, 17);
        f.integer("units", -3);
        assert_eq!(f.geometry, [9, 50, 34]);
        assert_eq!(f.kind, 1);
        f.finish();
        let tile = layer.into_tile();
        // The value message: field 6, varint, zigzag(-3) = 5.
        assert!(tile.windows(3).any(|w| w == [2, 0x30, 5]), "{tile:?}");
    }
}
