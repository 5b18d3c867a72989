//! Geography: national grids reprojected to WGS84, and districts found by point-in-polygon
//! over an R-tree of their bounding boxes.

use geo::{Coord, Intersects, MultiPolygon, Point, Polygon};
use proj4rs::proj::Proj;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use serde_json::Value;

use crate::error::{Error, Result};

/// The coordinate reference systems files arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    Wgs84,
    BelgianLambert72,
    UtmZone32N,
    UtmZone33N,
    Lks94,
    RdNew,
}

/// (crs, EPSG code, name, PROJ definition (as in PROJ's `epsg` init file), x range, y range of
/// values seen in its area)
type CrsDef = (Crs, u32, &'static str, &'static str, (f64, f64), (f64, f64));

const GRIDS: &[CrsDef] = &[
    (
        Crs::BelgianLambert72,
        31370,
        "Belgian Lambert 72",
        "+proj=lcc +lat_0=90 +lon_0=4.36748666666667 +lat_1=51.1666672333333 +lat_2=49.8333339 +x_0=150000.013 +y_0=5400088.438 +ellps=intl +towgs84=-106.869,52.2978,-103.724,0.3366,-0.457,1.8422,-1.2747 +units=m +no_defs",
        (0.0, 310_000.0),
        (0.0, 260_000.0),
    ),
    (
        Crs::RdNew,
        28992,
        "Amersfoort / RD New",
        "+proj=sterea +lat_0=52.1561605555556 +lon_0=5.38763888888889 +k=0.9999079 +x_0=155000 +y_0=463000 +ellps=bessel +towgs84=565.417,50.3319,465.552,-0.398957,0.343988,-1.8774,4.0725 +units=m +no_defs",
        (-10_000.0, 300_000.0),
        (280_000.0, 630_000.0),
    ),
    (
        Crs::Lks94,
        3346,
        "LKS94 / Lithuania TM",
        "+proj=tmerc +lat_0=0 +lon_0=24 +k=0.9998 +x_0=500000 +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
        (270_000.0, 710_000.0),
        (5_960_000.0, 6_280_000.0),
    ),
    (
        Crs::UtmZone32N,
        32632,
        "WGS 84 / UTM zone 32N",
        "+proj=utm +zone=32 +datum=WGS84 +units=m +no_defs",
        (160_000.0, 840_000.0),
        (0.0, 9_350_000.0),
    ),
    (
        Crs::UtmZone33N,
        32633,
        "WGS 84 / UTM zone 33N",
        "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs",
        (160_000.0, 840_000.0),
        (0.0, 9_350_000.0),
    ),
];

const WGS84_DEF: &str = "+proj=longlat +ellps=WGS84 +datum=WGS84 +no_defs";

impl Crs {
    pub fn epsg(self) -> u32 {
        match self {
            Crs::Wgs84 => 4326,
            other => def(other).1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Crs::Wgs84 => "WGS 84",
            other => def(other).2,
        }
    }

    /// `EPSG:31370`, `31370`, `urn:ogc:def:crs:EPSG::31370`, `CRS84`…
    pub fn from_name(name: &str) -> Option<Crs> {
        let n = name.trim().to_ascii_uppercase();
        if n.ends_with("CRS84") || n.ends_with("4326") {
            return Some(Crs::Wgs84);
        }
        let code: u32 = n.rsplit([':', '/']).next()?.parse().ok()?;
        GRIDS.iter().find(|d| d.1 == code).map(|d| d.0)
    }

    pub fn label(self) -> String {
        format!("EPSG:{} ({})", self.epsg(), self.name())
    }

    fn is_utm(self) -> bool {
        matches!(self, Crs::UtmZone32N | Crs::UtmZone33N)
    }

    fn fits(self, x: f64, y: f64) -> bool {
        match self {
            Crs::Wgs84 => (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y),
            other => {
                let d = def(other);
                (d.4.0..=d.4.1).contains(&x) && (d.5.0..=d.5.1).contains(&y)
            }
        }
    }

    pub fn supported() -> String {
        std::iter::once("EPSG:4326".to_string())
            .chain(GRIDS.iter().map(|d| format!("EPSG:{}", d.1)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn def(crs: Crs) -> &'static CrsDef {
    GRIDS
        .iter()
        .find(|d| d.0 == crs)
        .expect("every grid CRS is defined")
}

/// Transforms coordinates between a grid and WGS84 (degrees).
pub struct Reprojector {
    grid: Proj,
    wgs84: Proj,
}

impl Reprojector {
    pub fn new(crs: Crs) -> Result<Option<Reprojector>> {
        if crs == Crs::Wgs84 {
            return Ok(None);
        }
        let bad = |e| Error::Invalid(format!("projection {}: {e:?}", crs.label()));
        Ok(Some(Reprojector {
            grid: Proj::from_proj_string(def(crs).3).map_err(bad)?,
            wgs84: Proj::from_proj_string(WGS84_DEF).map_err(bad)?,
        }))
    }

    /// Grid easting/northing to longitude/latitude in degrees.
    pub fn to_wgs84(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.grid, &self.wgs84, &mut p).ok()?;
        let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
        (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
    }

    /// Longitude/latitude in degrees to grid easting/northing.
    pub fn from_wgs84(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&self.wgs84, &self.grid, &mut p).ok()?;
        (p.0.is_finite() && p.1.is_finite()).then_some((p.0, p.1))
    }
}

/// Picks the CRS of sample coordinates: WGS84 when they are degrees, else the grid whose value
/// ranges hold them; when several grids fit, the one that puts most points in `area` (the
/// loaded districts' bounding box) wins.
pub fn detect_crs(sample: &[(f64, f64)], area: Option<[f64; 4]>) -> Result<Crs> {
    if sample.is_empty() || sample.iter().all(|&(x, y)| Crs::Wgs84.fits(x, y)) {
        return Ok(Crs::Wgs84);
    }
    let candidates: Vec<Crs> = GRIDS
        .iter()
        .map(|d| d.0)
        .filter(|c| sample.iter().filter(|&&(x, y)| c.fits(x, y)).count() * 10 >= sample.len() * 9)
        .collect();
    let unknown = || {
        Error::Refused(format!(
            "the coordinates (for example {:.1}, {:.1}) are neither degrees nor in a known grid; \
             declare the CRS with --crs (supported: {})",
            sample[0].0,
            sample[0].1,
            Crs::supported()
        ))
    };
    match (candidates.as_slice(), area) {
        ([], _) => Err(unknown()),
        ([one], _) => Ok(*one),
        (many, Some([x0, y0, x1, y1])) => {
            let mut best: Option<(usize, Crs)> = None;
            for &c in many {
                let r = Reprojector::new(c)?.expect("grids reproject");
                let inside = sample
                    .iter()
                    .filter_map(|&(x, y)| r.to_wgs84(x, y))
                    .filter(|&(lon, lat)| lon >= x0 && lon <= x1 && lat >= y0 && lat <= y1)
                    .count();
                if inside > 0 && best.is_none_or(|(n, _)| inside > n) {
                    best = Some((inside, c));
                }
            }
            best.map(|(_, c)| c).ok_or_else(unknown)
        }
        // Without districts, a national grid is more telling than a UTM zone that also fits.
        (many, None) if many.iter().filter(|c| !c.is_utm()).count() == 1 => Ok(*many
            .iter()
            .find(|c| !c.is_utm())
            .expect("one national grid")),
        (many, None) => Err(Error::Refused(format!(
            "the coordinates fit several grids ({}); declare the CRS with --crs",
            many.iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Districts by code, with an R-tree over their bounding boxes.
pub struct DistrictIndex {
    codes: Vec<String>,
    shapes: Vec<MultiPolygon<f64>>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    bbox: Option<[f64; 4]>,
}

impl DistrictIndex {
    /// Builds the index from (code, GeoJSON geometry) pairs.
    pub fn new(districts: impl IntoIterator<Item = (String, String)>) -> Result<DistrictIndex> {
        let mut codes = Vec::new();
        let mut shapes = Vec::new();
        let mut boxes = Vec::new();
        let mut bbox: Option<[f64; 4]> = None;
        for (code, geometry) in districts {
            let shape = parse_area(&geometry)
                .map_err(|e| Error::Invalid(format!("district {code}: {e}")))?;
            let Some(b) = bounds(&shape) else { continue };
            bbox = Some(match bbox {
                None => b,
                Some(a) => [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ],
            });
            boxes.push(GeomWithData::new(
                Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                codes.len(),
            ));
            codes.push(code);
            shapes.push(shape);
        }
        Ok(DistrictIndex {
            codes,
            shapes,
            tree: RTree::bulk_load(boxes),
            bbox,
        })
    }

    /// The district containing the point. The crossing test is half-open, so a point on a
    /// border shared by two districts belongs to exactly one of them.
    /// A point on the municipality's outer boundary belongs to the district it touches.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&str> {
        let candidates = || self.tree.locate_all_at_point(&[lon, lat]).map(|g| g.data);
        candidates()
            .find(|&i| contains(&self.shapes[i], lon, lat))
            .or_else(|| candidates().find(|&i| self.shapes[i].intersects(&Point::new(lon, lat))))
            .map(|i| self.codes[i].as_str())
    }

    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.bbox
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Envelope query helper for tests and callers that want candidates only.
    pub fn candidates(&self, lon: f64, lat: f64) -> usize {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .count()
    }
}

/// Even-odd crossing test over every ring (holes included) of the shape.
fn contains(shape: &MultiPolygon<f64>, x: f64, y: f64) -> bool {
    let mut inside = false;
    for ring in shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    {
        for w in ring.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y) {
                inside = !inside;
            }
        }
    }
    inside
}

fn bounds(shape: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    let mut it = shape.0.iter().flat_map(|p| p.exterior().0.iter());
    let first = it.next()?;
    Some(it.fold([first.x, first.y, first.x, first.y], |b, c| {
        [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)]
    }))
}

/// Parses a GeoJSON Polygon or MultiPolygon (text) into a geo MultiPolygon.
pub fn parse_area(geometry: &str) -> Result<MultiPolygon<f64>, String> {
    let v: Value = serde_json::from_str(geometry).map_err(|e| format!("not GeoJSON: {e}"))?;
    area_from_value(&v)
}

/// Checks that a GeoJSON geometry value is a well-formed Polygon or MultiPolygon.
pub fn area_check(v: &Value) -> Result<(), String> {
    area_from_value(v).map(|_| ())
}

fn area_from_value(v: &Value) -> Result<MultiPolygon<f64>, String> {
    let coords = v.get("coordinates").ok_or("geometry without coordinates")?;
    match v.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(MultiPolygon(vec![polygon(coords)?])),
        Some("MultiPolygon") => Ok(MultiPolygon(
            coords
                .as_array()
                .ok_or("MultiPolygon coordinates are not an array")?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
        )),
        Some(t) => Err(format!("expected a Polygon or MultiPolygon, found {t}")),
        None => Err("geometry without type".to_string()),
    }
}

fn polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v.as_array().ok_or("polygon coordinates are not an array")?;
    let mut rings = rings.iter().map(|r| {
        let pts = r.as_array().ok_or("ring is not an array")?;
        let ring: Vec<Coord<f64>> = pts
            .iter()
            .map(|p| {
                match p.as_array().map(|a| {
                    (
                        a.first().and_then(Value::as_f64),
                        a.get(1).and_then(Value::as_f64),
                    )
                }) {
                    Some((Some(x), Some(y))) if x.is_finite() && y.is_finite() => {
                        Ok(Coord { x, y })
                    }
                    _ => Err(format!("bad position {p}")),
                }
            })
            .collect::<Result<_, String>>()?;
        if ring.len() < 4 {
            return Err(format!(
                "a ring needs at least 4 positions, found {}",
                ring.len()
            ));
        }
        if ring.first() != ring.last() {
            return Err("a ring must end where it starts".to_string());
        }
        Ok(geo::LineString(ring))
    });
    let exterior = rings.next().ok_or("polygon without rings")??;
    let holes = rings.collect::<Result<Vec<_>, String>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// Rewrites every position of a GeoJSON geometry with `f`; fails if `f` does.
pub fn map_positions(
    v: &mut Value,
    f: &dyn Fn(f64, f64) -> Option<(f64, f64)>,
) -> Result<(), String> {
    match v {
        Value::Array(items) if items.first().is_some_and(Value::is_number) => {
            let (Some(x), Some(y)) = (items[0].as_f64(), items.get(1).and_then(Value::as_f64))
            else {
                return Err("bad position".into());
            };
            let (nx, ny) = f(x, y).ok_or_else(|| format!("cannot reproject position {x}, {y}"))?;
            items[0] = round7(nx).into();
            items[1] = round7(ny).into();
            items.truncate(2);
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| map_positions(i, f)),
        Value::Object(map) => match map.get_mut("coordinates") {
            Some(c) => map_positions(c, f),
            None => Err("geometry without coordinates".into()),
        },
        _ => Err("bad geometry".into()),
    }
}

/// Degrees to 7 decimals (about 1 cm), the precision RFC 7946 suggests is ample.
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Every position of a GeoJSON geometry (for CRS detection).
pub fn positions(v: &Value, out: &mut Vec<(f64, f64)>) {
    match v {
        Value::Array(items) if items.first().is_some_and(Value::is_number) => {
            if let (Some(x), Some(y)) = (items[0].as_f64(), items.get(1).and_then(Value::as_f64)) {
                out.push((x, y));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| positions(i, out)),
        Value::Object(map) => {
            if let Some(c) = map.get("coordinates") {
                positions(c, out)
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol
    }

    #[test]
    fn rd_new_origin_is_amersfoort() {
        // Amersfoort, the RD origin, at 52.15517440 N 5.38720621 E in WGS84 (Kadaster).
        let r = Reprojector::new(Crs::RdNew).unwrap().unwrap();
        let p = r.to_wgs84(155_000.0, 463_000.0).unwrap();
        assert!(close(p, (5.38720621, 52.15517440), 2e-5), "{p:?}");
    }

    #[test]
    fn utm_central_meridians_and_lks94() {
        let r = Reprojector::new(Crs::UtmZone33N).unwrap().unwrap();
        assert!(close(
            r.to_wgs84(500_000.0, 0.0).unwrap(),
            (15.0, 0.0),
            1e-9
        ));
        let r = Reprojector::new(Crs::UtmZone32N).unwrap().unwrap();
        let (lon, lat) = r.to_wgs84(500_000.0, 5_000_000.0).unwrap();
        // 5,000 km north on the central meridian: meridian arc 5,002,000.8 m (k0 = 0.9996), 45.1535°.
        assert!(
            (lon - 9.0).abs() < 1e-9 && (lat - 45.1535).abs() < 1e-3,
            "{lon} {lat}"
        );
        let r = Reprojector::new(Crs::Lks94).unwrap().unwrap();
        let (lon, _) = r.to_wgs84(500_000.0, 6_100_000.0).unwrap();
        assert!((lon - 24.0).abs() < 1e-6);
    }

    #[test]
    fn lambert72_round_trips_and_lands_in_belgium() {
        let r = Reprojector::new(Crs::BelgianLambert72).unwrap().unwrap();
        // Brussels, Grand-Place, is close to x 148 900, y 170 700 in Lambert 72.
        let (lon, lat) = r.to_wgs84(148_900.0, 170_700.0).unwrap();
        assert!(close((lon, lat), (4.3525, 50.8467), 0.01), "{lon} {lat}");
        let (x, y) = r.from_wgs84(lon, lat).unwrap();
        assert!(close((x, y), (148_900.0, 170_700.0), 1e-3));
    }

    #[test]
    fn detects_grids_from_value_ranges() {
        assert_eq!(detect_crs(&[(4.4, 51.0)], None).unwrap(), Crs::Wgs84);
        assert_eq!(
            detect_crs(&[(152_000.0, 190_000.0)], None).unwrap(),
            Crs::BelgianLambert72
        );
        assert_eq!(
            detect_crs(&[(121_000.0, 487_000.0)], None).unwrap(),
            Crs::RdNew
        );
        assert_eq!(
            detect_crs(&[(580_000.0, 6_060_000.0)], None).unwrap(),
            Crs::Lks94
        );
        // UTM 32N and 33N share value ranges: the districts decide.
        let milan_32n = (514_000.0, 5_034_000.0);
        assert!(detect_crs(&[milan_32n], None).is_err());
        let near_milan = Some([9.0, 45.3, 9.4, 45.6]);
        assert_eq!(
            detect_crs(&[milan_32n], near_milan).unwrap(),
            Crs::UtmZone32N
        );
        assert!(detect_crs(&[(9.9e9, 1.0)], None).is_err());
    }

    #[test]
    fn locates_points_in_irregular_districts() {
        let a = r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[1,1],[2,2],[0,2],[0,0]]]}"#;
        let b = r#"{"type":"Polygon","coordinates":[[[2,0],[3,0],[3,2],[2,2],[1,1],[2,0]]]}"#;
        let idx = DistrictIndex::new([
            ("AA1".to_string(), a.to_string()),
            ("AA2".to_string(), b.to_string()),
        ])
        .unwrap();
        assert_eq!(idx.locate(0.5, 1.0), Some("AA1"));
        assert_eq!(idx.locate(1.8, 1.0), Some("AA2"));
        assert_eq!(idx.locate(5.0, 1.0), None);
        assert_eq!(idx.candidates(1.8, 1.0), 2);
    }
}
