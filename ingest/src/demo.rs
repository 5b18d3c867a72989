//! The demo municipality: a deterministic, synthetic "Meerhaven" written as the raw files an
//! officer would hand over (GeoJSON, `;`/Windows-1252 CSV with decimal commas and Lambert 72
//! coordinates, XLSX, tab-separated, UTF-8 with BOM), including a few invalid rows.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use encoding_rs::WINDOWS_1252;
use geo::{Contains, Coord, LineString, Point, Polygon};
use serde_json::json;

use crate::error::{Error, Result};
use crate::geo::{Crs, Reprojector, round7};
use crate::rng::SplitMix64;
use crate::validate::{days_from_civil, format_date};

/// The municipality's centre (WGS84) and its fictional statistical code.
const CENTRE: (f64, f64) = (4.478, 51.027);
pub const MUNICIPALITY: &str = "BE12099";
/// The demo covers the 36 months from November 2023 to October 2026.
const FIRST_MONTH: (i64, i64) = (2023, 11);
const MONTHS: i64 = 36;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub seed: u64,
    /// The municipality's code; its districts are this code and a number.
    pub municipality: String,
    /// Where it lies, in kilometres east and north of the demo's centre (see
    /// [`region_place`]: the demo municipalities of a region side by side).
    pub origin_km: (f64, f64),
    pub districts: usize,
    pub vacant: usize,
    pub dwellings: u64,
    pub residents: u64,
    pub social_units: usize,
    pub incentives: usize,
    pub placements: usize,
    /// Large sets for benchmarks: plain UTF-8 CSV with WGS84 coordinates, no invalid rows.
    pub scaled: bool,
}

impl DemoSpec {
    /// About 30 districts, 120,000 residents, 55,000 dwellings, 2,500 vacant properties.
    pub fn standard(seed: u64) -> DemoSpec {
        DemoSpec {
            seed,
            municipality: MUNICIPALITY.into(),
            origin_km: (0.0, 0.0),
            districts: 30,
            vacant: 2_500,
            dwellings: 55_000,
            residents: 120_000,
            social_units: 4_000,
            incentives: 300,
            placements: 600,
            scaled: false,
        }
    }

    /// `vacant` vacant properties and everything else in proportion (1,000,000 gives 10,000
    /// districts).
    pub fn scaled(seed: u64, vacant: usize) -> DemoSpec {
        let f = vacant as f64 / 2_500.0;
        DemoSpec {
            seed,
            municipality: MUNICIPALITY.into(),
            origin_km: (0.0, 0.0),
            districts: (vacant / 100).clamp(30, 10_000),
            vacant,
            dwellings: (55_000.0 * f) as u64,
            residents: (120_000.0 * f) as u64,
            social_units: (4_000.0 * f) as usize,
            incentives: (300.0 * f).max(10.0) as usize,
            placements: (600.0 * f).max(20.0) as usize,
            scaled: true,
        }
    }
}

/// One generated file, in load order.
#[derive(Debug, Clone)]
pub struct DemoFile {
    pub dataset: &'static str,
    pub path: PathBuf,
    pub description: &'static str,
}

/// The demo's random choices, on the shared SplitMix64 generator.
struct Rng(SplitMix64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn unit(&mut self) -> f64 {
        self.0.unit()
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
    fn pick<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let w: Vec<f64> = items.iter().map(|(_, w)| *w).collect();
        &items[self.weighted(&w)].0
    }
}

/// Cumulative weights for fast repeated draws over many items.
struct Table(Vec<f64>);

impl Table {
    fn new(weights: impl Iterator<Item = f64>) -> Table {
        let mut acc = 0.0;
        Table(
            weights
                .map(|w| {
                    acc += w;
                    acc
                })
                .collect(),
        )
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let x = rng.unit() * self.0.last().copied().unwrap_or(0.0);
        self.0.partition_point(|c| *c <= x).min(self.0.len() - 1)
    }
}

struct District {
    code: String,
    name: String,
    /// Boundary in local kilometres east/north of the centre.
    ring: Vec<(f64, f64)>,
    shape: Polygon<f64>,
    bbox: [f64; 4],
    deprivation: f64,
    dwellings: u64,
    residents: u64,
}

const NAMES: &[&str] = &[
    "Centrum",
    "Stationswijk",
    "Oud-Meerhaven",
    "Nekkerspoel",
    "Kapellekensbaan",
    "Hoogveld",
    "Ter Heide",
    "Sint-Gérardus",
    "Brouwerijwijk",
    "Vaartkant",
    "De Koekoek",
    "Kruisveld",
    "Zandhoven-Noord",
    "Bosdal",
    "Molenbeek",
    "Groenhof",
    "Havenkwartier",
    "Begijnhof",
    "Beausart",
    "Ter Elst",
    "Rozendaal",
    "Kerkeveld",
    "Ieperbroek",
    "Vrijbroek",
    "Kauwenberg",
    "Den Bell",
    "Mélanie-Park",
    "Dijlekant",
    "Heikant",
    "Stuivenberg",
];

const STREETS: &[&str] = &[
    "Kerkstraat",
    "Stationsstraat",
    "Chaussée de Louvain",
    "Rue de la Gare",
    "Sint-Gérardusplein",
    "Frédéric de Merodestraat",
    "Désiré Mergaertstraat",
    "Kardinaal Mercierplein",
    "Begijnhof",
    "Brouwerijstraat",
    "Zénobe Grammestraat",
    "Mélanie Kleinstraat",
    "Vaartdijk",
    "Molenstraat",
    "Rue du Marché",
    "Avenue Émile Zola",
    "Hoogstraat",
    "Kapucijnenvoer",
    "Nekkerspoelstraat",
    "Place Sainte-Gudule",
    "Dijlekaai",
    "Leopoldstraat",
    "Geërfdeweg",
    "Gérard Walschapstraat",
    "Rue de l'Église",
];

/// Where a demo municipality of a region lies (see [`DemoSpec::origin_km`]): on a grid of ten
/// by ten places by the last two digits of its code, 20 km apart east to west and 16 km north
/// to south (a standard demo municipality is about 19 by 15 km), so that the municipalities of
/// a generated region sit side by side on its map. The demo's own code stays at the centre.
pub fn region_place(code: &str) -> (f64, f64) {
    if code == MUNICIPALITY {
        return (0.0, 0.0);
    }
    let digits: String = code
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let n: u32 = digits.parse().unwrap_or(0);
    (f64::from(n % 10) * 20.0, -f64::from(n / 10) * 16.0)
}

/// A point in kilometres east and north of the municipality's own centre, which lies `origin`
/// kilometres from the demo's centre, as WGS84 longitude and latitude.
fn km_to_deg(origin: (f64, f64), x: f64, y: f64) -> (f64, f64) {
    let (x, y) = (x + origin.0, y + origin.1);
    let lat = CENTRE.1 + y / 111.32;
    let lon = CENTRE.0 + x / (111.32 * CENTRE.1.to_radians().cos());
    (round7(lon), round7(lat))
}

/// Keeps the part of `poly` on the side of the bisector of `a`–`b` nearer to `a`.
fn clip(poly: &[(f64, f64)], a: (f64, f64), b: (f64, f64)) -> Vec<(f64, f64)> {
    let (nx, ny) = (b.0 - a.0, b.1 - a.1);
    let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    let side = |p: (f64, f64)| (p.0 - mid.0) * nx + (p.1 - mid.1) * ny; // <= 0 keeps
    let mut out = Vec::with_capacity(poly.len() + 2);
    for i in 0..poly.len() {
        let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
        let (sp, sq) = (side(p), side(q));
        if sp <= 0.0 {
            out.push(p);
        }
        if (sp <= 0.0) != (sq <= 0.0) {
            let t = sp / (sp - sq);
            out.push((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)));
        }
    }
    out
}

fn polygon_km(ring: &[(f64, f64)]) -> Polygon<f64> {
    let mut coords: Vec<Coord<f64>> = ring.iter().map(|&(x, y)| Coord { x, y }).collect();
    coords.push(coords[0]);
    Polygon::new(LineString(coords), vec![])
}

fn area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| ring[i].0 * ring[(i + 1) % n].1 - ring[(i + 1) % n].0 * ring[i].1)
        .sum::<f64>()
        .abs()
        / 2.0
}

/// Seeds, the outline they tile, and which seeds may share a border with seed i.
type Layout = (
    Vec<(f64, f64)>,
    Vec<(f64, f64)>,
    Box<dyn Fn(usize) -> Vec<usize>>,
);

/// Irregular districts: a Voronoi tessellation of scattered seeds, clipped to an irregular
/// municipal boundary (standard) or to a rectangle (scaled sets).
fn districts(spec: &DemoSpec, rng: &mut Rng) -> Vec<District> {
    let n = spec.districts;
    let (seeds, outline, neighbours): Layout = if !spec.scaled {
        let (a, b, c) = (
            rng.range(0.0, 6.3),
            rng.range(0.0, 6.3),
            rng.range(0.0, 6.3),
        );
        let radius = |t: f64| {
            6.0 * (1.0
                + 0.12 * (3.0 * t + a).sin()
                + 0.07 * (5.0 * t + b).sin()
                + 0.04 * (9.0 * t + c).sin())
        };
        let outline: Vec<(f64, f64)> = (0..72)
            .map(|i| {
                let t = 2.0 * PI * i as f64 / 72.0;
                (radius(t) * t.cos() * 1.3, radius(t) * t.sin())
            })
            .collect();
        let shape = polygon_km(&outline);
        let mut seeds: Vec<(f64, f64)> = Vec::new();
        let mut min_d = (area(&outline) / n as f64).sqrt() * 0.8;
        let mut fails = 0;
        while seeds.len() < n {
            let p = (rng.range(-9.0, 9.0), rng.range(-7.5, 7.5));
            let ok = shape.contains(&Point::new(p.0, p.1))
                && seeds
                    .iter()
                    .all(|s| ((s.0 - p.0).powi(2) + (s.1 - p.1).powi(2)).sqrt() >= min_d);
            if ok {
                seeds.push(p);
            } else {
                fails += 1;
                if fails % 200 == 0 {
                    min_d *= 0.97;
                }
            }
        }
        // North to south, west to east: codes read like a map.
        seeds.sort_by(|p, q| q.1.total_cmp(&p.1).then(p.0.total_cmp(&q.0)));
        (
            seeds,
            outline,
            Box::new(move |i| (0..n).filter(|&j| j != i).collect()),
        )
    } else {
        let cols = (n as f64).sqrt().ceil() as usize;
        let rows = n.div_ceil(cols);
        let cell = 0.6;
        let mut seeds = Vec::with_capacity(cols * rows);
        for r in 0..rows {
            for c in 0..cols {
                seeds.push((
                    (c as f64 + 0.5 + rng.range(-0.35, 0.35)) * cell,
                    -((r as f64 + 0.5 + rng.range(-0.35, 0.35)) * cell),
                ));
            }
        }
        seeds.truncate(n);
        let (w, h) = (cols as f64 * cell, rows as f64 * cell);
        let outline = vec![(0.0, 0.0), (0.0, -h), (w, -h), (w, 0.0)];
        let nb = move |i: usize| {
            let (r, c) = ((i / cols) as i64, (i % cols) as i64);
            let mut v = Vec::new();
            for dr in -2..=2 {
                for dc in -2..=2 {
                    let (rr, cc) = (r + dr, c + dc);
                    if (dr, dc) != (0, 0) && rr >= 0 && cc >= 0 && (cc as usize) < cols {
                        let j = rr as usize * cols + cc as usize;
                        if j < n {
                            v.push(j);
                        }
                    }
                }
            }
            v
        };
        (seeds, outline, Box::new(nb))
    };
    // A few deprived, low-rent districts around the old harbour east of the centre.
    let hotspot = if spec.scaled {
        (seeds[n / 2].0, seeds[n / 2].1)
    } else {
        (3.5, -1.0)
    };
    let mut out: Vec<District> = Vec::with_capacity(n);
    for i in 0..n {
        let mut ring = outline.clone();
        for j in neighbours(i) {
            ring = clip(&ring, seeds[i], seeds[j]);
        }
        let ring: Vec<(f64, f64)> = ring
            .iter()
            .map(|&(x, y)| ((x * 1e5).round() / 1e5, (y * 1e5).round() / 1e5))
            .collect();
        let dist = ((seeds[i].0 - hotspot.0).powi(2) + (seeds[i].1 - hotspot.1).powi(2)).sqrt();
        let reach = if spec.scaled { 6.0 } else { 2.2 };
        let deprivation =
            (18.0 + 68.0 * (-dist / reach).exp() + rng.range(-8.0, 8.0)).clamp(2.0, 98.0);
        let bbox = ring
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
                [b[0].min(p.0), b[1].min(p.1), b[2].max(p.0), b[3].max(p.1)]
            });
        out.push(District {
            code: if spec.scaled {
                format!("{}{:05}", spec.municipality, i + 1)
            } else {
                format!("{}{:03}", spec.municipality, i + 1)
            },
            name: if spec.scaled {
                format!("Wijk {:05}", i + 1)
            } else {
                NAMES[i % NAMES.len()].to_string()
            },
            shape: polygon_km(&ring),
            ring,
            bbox,
            deprivation,
            dwellings: 0,
            residents: 0,
        });
    }
    // Dwellings follow area and density (denser towards the centre); residents ~2.2 a dwelling.
    let weights: Vec<f64> = out
        .iter()
        .zip(&seeds)
        .map(|(d, s)| {
            area(&d.ring) * (0.4 + 2.0 * (-(s.0.hypot(s.1)) / 4.0).exp()) * rng.range(0.8, 1.2)
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut left = spec.dwellings;
    for (i, d) in out.iter_mut().enumerate() {
        d.dwellings = if i + 1 == n {
            left
        } else {
            ((spec.dwellings as f64) * weights[i] / total).round() as u64
        };
        left = left.saturating_sub(d.dwellings);
    }
    let people: Vec<f64> = out
        .iter()
        .map(|d| d.dwellings as f64 * (1.9 + d.deprivation / 100.0))
        .collect();
    let total: f64 = people.iter().sum();
    let mut left = spec.residents;
    for (i, d) in out.iter_mut().enumerate() {
        d.residents = if i + 1 == n {
            left
        } else {
            ((spec.residents as f64) * people[i] / total).round() as u64
        };
        left = left.saturating_sub(d.residents);
    }
    out
}

fn point_in(d: &District, rng: &mut Rng) -> (f64, f64) {
    loop {
        let p = (
            rng.range(d.bbox[0], d.bbox[2]),
            rng.range(d.bbox[1], d.bbox[3]),
        );
        if d.shape.contains(&Point::new(p.0, p.1)) {
            return p;
        }
    }
}

fn month_start(m: i64) -> i64 {
    let idx = FIRST_MONTH.0 * 12 + FIRST_MONTH.1 - 1 + m;
    days_from_civil(idx / 12, idx % 12 + 1, 1)
}

fn period(m: i64) -> String {
    let idx = FIRST_MONTH.0 * 12 + FIRST_MONTH.1 - 1 + m;
    format!("{:04}-{:02}", idx / 12, idx % 12 + 1)
}

fn last_day() -> i64 {
    month_start(MONTHS) - 1
}

struct Csv {
    w: csv::Writer<Vec<u8>>,
}

impl Csv {
    fn new(delimiter: u8, header: &[&str]) -> Result<Csv> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        w.write_record(header).map_err(csv_err)?;
        Ok(Csv { w })
    }
    fn row(&mut self, cells: &[String]) -> Result<()> {
        self.w.write_record(cells).map_err(csv_err)
    }
    fn bytes(self) -> Result<Vec<u8>> {
        self.w
            .into_inner()
            .map_err(|e| Error::Invalid(e.to_string()))
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(csv_err)`
fn csv_err(e: csv::Error) -> Error {
    Error::Invalid(format!("writing demo CSV: {e}"))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// A number with a decimal comma, as Belgian spreadsheets write it.
fn comma(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}").replace('.', ",")
}

/// Writes the demo files into `out` and returns them in load order.
pub fn generate(spec: &DemoSpec, out: &Path) -> Result<Vec<DemoFile>> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut rng = Rng(SplitMix64(spec.seed ^ 0x4D45_4552_4841_5645));
    let ds = districts(spec, &mut rng);
    let mut files = Vec::new();
    let end = last_day();

    // Districts (GeoJSON, WGS84).
    let features: Vec<_> = ds
        .iter()
        .map(|d| {
            let mut ring: Vec<[f64; 2]> = d.ring.iter().map(|&(x, y)| { let (lon, lat) = km_to_deg(spec.origin_km, x, y); [lon, lat] }).collect();
            ring.push(ring[0]);
            json!({
                "type": "Feature",
                "properties": {
                    "district_code": d.code, "name": d.name, "parent_code": spec.municipality,
                    "dwellings_total": d.dwellings, "deprivation_index": (d.deprivation * 10.0).round() / 10.0,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            })
        })
        .collect();
    let path = out.join("districts.geojson");
    write(
        &path,
        serde_json::to_string(&json!({"type": "FeatureCollection", "features": features}))
            .unwrap_or_default()
            .as_bytes(),
    )?;
    files.push(DemoFile {
        dataset: "districts",
        path,
        description: "GeoJSON, WGS84",
    });

    // Placements first (in memory): population counts of persons under protection follow them.
    let programmes: &[(&str, f64)] = &[
        ("public_reception", 40.0),
        ("community_sponsorship", 15.0),
        ("humanitarian_corridor", 10.0),
        ("social_housing", 15.0),
        ("private_rental_incentive", 15.0),
        ("other", 5.0),
    ];
    let sizes: &[(i64, f64)] = &[
        (1, 25.0),
        (2, 20.0),
        (3, 18.0),
        (4, 17.0),
        (5, 11.0),
        (6, 6.0),
        (7, 3.0),
    ];
    let reasons: &[(&str, f64)] = &[
        ("autonomy", 55.0),
        ("moved_away", 20.0),
        ("programme_ended", 15.0),
        ("eviction", 3.0),
        ("other", 7.0),
    ];
    let concentrate = Table::new(
        ds.iter()
            .map(|d| (d.dwellings as f64).sqrt() * (d.deprivation / 13.0).exp()),
    );
    struct Placement {
        district: usize,
        size: i64,
        programme: &'static str,
        referral: i64,
        start: Option<i64>,
        end: Option<(i64, &'static str)>,
    }
    let mut placements = Vec::with_capacity(spec.placements);
    for _ in 0..spec.placements {
        let district = concentrate.draw(&mut rng);
        let programme = *rng.pick(programmes);
        let referral = month_start(0) + rng.int(0, end - month_start(0));
        let wait = match programme {
            "community_sponsorship" => rng.int(7, 45),
            "humanitarian_corridor" => rng.int(3, 30),
            "social_housing" => rng.int(60, 200),
            _ => rng.int(14, 120),
        };
        let start = Some(referral + wait).filter(|s| *s <= end);
        let end_of = start.and_then(|s| {
            let e = s + rng.int(150, 800);
            (e <= end && rng.chance(0.6)).then(|| (e, *rng.pick(reasons)))
        });
        placements.push(Placement {
            district,
            size: *rng.pick(sizes),
            programme,
            referral,
            start,
            end: end_of,
        });
    }

    // Population by district, month and group.
    let mut pop = Csv::new(b',', &["district_code", "period", "group", "persons"])?;
    let mut placed_in = vec![Vec::new(); ds.len()];
    for p in &placements {
        placed_in[p.district].push(p);
    }
    for (di, d) in ds.iter().enumerate() {
        let dep = d.deprivation / 100.0;
        let (eu, non_eu, ip0) = (
            rng.range(0.05, 0.09),
            0.04 + 0.2 * dep * rng.range(0.85, 1.15),
            0.003 + 0.02 * dep * dep,
        );
        for m in 0..MONTHS {
            let total =
                (d.residents as f64 * (1.0 - 0.0005 * (MONTHS - 1 - m) as f64)).round() as i64;
            let placed: i64 = placed_in[di]
                .iter()
                .filter(|p| {
                    p.start.is_some_and(|s| s < month_start(m + 1))
                        && p.end.is_none_or(|(e, _)| e >= month_start(m + 1))
                })
                .map(|p| p.size)
                .sum();
            let ip = (total as f64 * ip0).round() as i64 + placed;
            let eu_n = (total as f64 * eu).round() as i64;
            let non_eu_n = ((total as f64 * non_eu).round() as i64).max(ip);
            let national = total - eu_n - non_eu_n;
            for (g, v) in [
                ("total", total),
                ("national", national),
                ("eu_national", eu_n),
                ("non_eu_national", non_eu_n),
                ("international_protection", ip),
            ] {
                pop.row(&[d.code.clone(), period(m), g.to_string(), v.to_string()])?;
            }
        }
    }
    let path = out.join("population.csv");
    write(&path, &pop.bytes()?)?;
    files.push(DemoFile {
        dataset: "population",
        path,
        description: "CSV, UTF-8, comma-separated",
    });

    // Vacant properties.
    let owners: &[(&str, f64)] = &[
        ("private", 60.0),
        ("municipal", 12.0),
        ("social_housing_provider", 10.0),
        ("state", 5.0),
        ("non_profit", 8.0),
        ("religious", 5.0),
    ];
    let conditions: &[(&str, f64)] = &[
        ("ready", 25.0),
        ("minor_renovation", 35.0),
        ("major_renovation", 28.0),
        ("uninhabitable", 12.0),
    ];
    let statuses: &[(&str, f64)] = &[
        ("vacant", 45.0),
        ("owner_contacted", 20.0),
        ("in_renovation", 12.0),
        ("offered", 8.0),
        ("let", 10.0),
        ("withdrawn", 5.0),
    ];
    let lambert = Reprojector::new(Crs::BelgianLambert72)?.expect("a grid");
    let header = [
        "property_id",
        "address",
        "lon",
        "lat",
        "owner_type",
        "property_type",
        "units",
        "bedrooms",
        "floor_area_m2",
        "vacant_since",
        "condition",
        "renovation_cost_eur",
        "accessible",
        "status",
        "status_date",
    ];
    let mut vac = Csv::new(if spec.scaled { b',' } else { b';' }, &header)?;
    let where_vacant = Table::new(
        ds.iter()
            .map(|d| d.dwellings as f64 * (1.0 + d.deprivation / 40.0)),
    );
    let mut let_props: Vec<(String, usize)> = Vec::new();
    let mut private_props: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(spec.vacant);
    // Each property's id, status, vacant since and status date, for the owner contacts.
    let mut outreach: Vec<(String, &str, i64, i64)> = Vec::new();
    for i in 0..spec.vacant {
        let di = where_vacant.draw(&mut rng);
        let (x, y) = point_in(&ds[di], &mut rng);
        let (lon, lat) = km_to_deg(spec.origin_km, x, y);
        let owner = *rng.pick(owners);
        let kind = *rng.pick(&[
            ("apartment", 45.0),
            ("house", 35.0),
            ("studio", 10.0),
            ("building", if owner == "private" { 4.0 } else { 12.0 }),
            ("room", 3.0),
        ]);
        let units = if kind == "building" {
            rng.int(2, 12)
        } else {
            1
        };
        let bedrooms = match kind {
            "studio" => 0,
            "room" => 1,
            "apartment" => rng.int(1, 3),
            "house" => rng.int(2, 4),
            _ => units * rng.int(1, 2),
        };
        let area = match kind {
            "studio" => rng.range(24.0, 40.0),
            "room" => rng.range(12.0, 22.0),
            "apartment" => rng.range(50.0, 110.0),
            "house" => rng.range(90.0, 180.0),
            _ => units as f64 * rng.range(55.0, 80.0),
        };
        let vacant_since = end - (rng.unit().powf(1.6) * 2400.0) as i64 - 1;
        let condition = *rng.pick(conditions);
        let cost = match condition {
            "ready" => rng.range(0.0, 1500.0),
            "minor_renovation" => rng.range(3000.0, 25000.0),
            "major_renovation" => rng.range(30000.0, 140000.0),
            _ => rng.range(120000.0, 400000.0),
        } * (units as f64).powf(0.8);
        let status = *rng.pick(statuses);
        let status_date = vacant_since + (rng.unit() * (end - vacant_since) as f64) as i64;
        let id = format!("VP-{:06}", i + 1);
        if status == "let" {
            let_props.push((id.clone(), di));
        }
        if owner == "private" {
            private_props.push(id.clone());
        }
        outreach.push((id.clone(), status, vacant_since, status_date));
        let street = STREETS[rng.int(0, STREETS.len() as i64 - 1) as usize];
        let address = format!("{street} {}", rng.int(1, 180));
        let accessible = rng.chance(0.15);
        let (cx, cy, num) = if spec.scaled {
            (
                format!("{lon:.6}"),
                format!("{lat:.6}"),
                format!("{area:.1}"),
            )
        } else {
            let (ex, ny) = lambert.from_wgs84(lon, lat).expect("Belgium projects");
            (comma(ex, 2), comma(ny, 2), comma(area, 1))
        };
        rows.push(vec![
            id,
            address,
            cx,
            cy,
            owner.into(),
            kind.into(),
            units.to_string(),
            bedrooms.to_string(),
            num,
            format_date(vacant_since as i32),
            condition.into(),
            if spec.scaled {
                format!("{cost:.2}")
            } else {
                comma(cost, 2)
            },
            if spec.scaled {
                accessible.to_string()
            } else {
                (if accessible { "ja" } else { "nee" }).to_string()
            },
            status.into(),
            format_date(status_date as i32),
        ]);
    }
    // The register as it stood at the end of each of the last four half-years: loaded first,
    // they leave the path each home took in the status history.
    let earlier: Vec<(String, Vec<u8>)> = if spec.scaled {
        Vec::new()
    } else {
        register_history(spec.seed, &header, &rows, &outreach)?
    };
    if !spec.scaled {
        // The rows an officer's export really contains: each is rejected with its reason.
        let bad: [(usize, usize, &str); 5] = [
            (10, 10, "gerenoveerd"),
            (250, 6, "-2"),
            (600, 9, "31/02/2024"),
            (1200, 4, ""),
            (1800, 2, "152000,00"),
        ];
        for (k, (at, col, value)) in bad.iter().enumerate() {
            let mut row = rows[*at].clone();
            row[0] = format!("VP-9{:05}", k + 1);
            row[*col] = value.to_string();
            if *col == 2 {
                row[3] = "212000,00".into(); // Antwerp: outside the municipality
            }
            rows.insert(at + k + 1, row);
        }
        let dup = rows[40].clone();
        rows.insert(2000, dup);
    }
    for r in &rows {
        vac.row(r)?;
    }
    let bytes = vac.bytes()?;
    let path;
    if spec.scaled {
        path = out.join("vacant_properties.csv");
        write(&path, &bytes)?;
        files.push(DemoFile {
            dataset: "vacant_properties",
            path,
            description: "CSV, UTF-8, WGS84",
        });
    } else {
        path = out.join("leegstand_vacant_properties.csv");
        let text = String::from_utf8(bytes).map_err(|e| Error::Invalid(e.to_string()))?;
        let (encoded, _, unmappable) = WINDOWS_1252.encode(&text);
        debug_assert!(!unmappable);
        write(&path, &encoded)?;
        let history = out.join("history");
        std::fs::create_dir_all(&history).map_err(|e| Error::io(&history, e))?;
        for (day, bytes) in earlier {
            let path = history.join(format!("leegstand_vacant_properties_{day}.csv"));
            write(&path, &bytes)?;
            files.push(DemoFile {
                dataset: "vacant_properties",
                path,
                description: "the same register as it stood at an earlier half-year's end",
            });
        }
        files.push(DemoFile { dataset: "vacant_properties", path, description: "CSV, ';', Windows-1252, decimal commas, Belgian Lambert 72, with 6 invalid rows" });
    }

    // Social housing units (XLSX; CSV at scale, beyond a sheet's row limit).
    let providers = [
        "Woonhaven Meerhaven",
        "De Meerse Woning",
        "Sociale Huisvesting Rupel-Dijle",
    ];
    let where_social = Table::new(
        ds.iter()
            .map(|d| d.dwellings as f64 * (0.3 + d.deprivation / 50.0)),
    );
    let mut units_in = vec![0u64; ds.len()];
    let soc_header = [
        "unit_id",
        "provider",
        "district_code",
        "bedrooms",
        "rent_eur",
        "status",
    ];
    let unit_rows: Vec<(String, &str, usize, i64, f64, &str)> = (0..spec.social_units)
        .map(|i| {
            let di = where_social.draw(&mut rng);
            units_in[di] += 1;
            let bedrooms = rng.int(0, 4);
            let rent = 190.0 + 105.0 * bedrooms as f64 + rng.range(-40.0, 60.0);
            let status = *rng.pick(&[
                ("occupied", 88.0),
                ("vacant", 4.0),
                ("allocated", 3.0),
                ("under_renovation", 5.0),
            ]);
            (
                format!("SH-{:06}", i + 1),
                providers[i % 3],
                di,
                bedrooms,
                (rent * 100.0).round() / 100.0,
                status,
            )
        })
        .collect();
    if spec.scaled {
        let mut c = Csv::new(b',', &soc_header)?;
        for (id, p, di, b, r, s) in &unit_rows {
            c.row(&[
                id.clone(),
                (*p).into(),
                ds[*di].code.clone(),
                b.to_string(),
                format!("{r:.2}"),
                (*s).into(),
            ])?;
        }
        let path = out.join("social_housing.csv");
        write(&path, &c.bytes()?)?;
        files.push(DemoFile {
            dataset: "social_housing",
            path,
            description: "CSV, UTF-8",
        });
    } else {
        let path = out.join("social_housing.xlsx");
        write_xlsx(&path, &soc_header, &unit_rows, &ds)?;
        files.push(DemoFile {
            dataset: "social_housing",
            path,
            description: "XLSX, sheet 'Units'",
        });
    }

    // Waiting list per district and month (tab-separated).
    let mut wl = Csv::new(
        b'\t',
        &[
            "district_code",
            "period",
            "applicants",
            "applicants_international_protection",
            "median_wait_days",
        ],
    )?;
    for (di, d) in ds.iter().enumerate() {
        let base = (units_in[di] as f64 * rng.range(0.3, 0.6)).max(3.0);
        for m in 0..MONTHS {
            let applicants =
                (base * (1.0 + 0.008 * m as f64) * rng.range(0.93, 1.07)).round() as i64;
            let ip =
                (applicants as f64 * (0.05 + 0.2 * d.deprivation / 100.0) * rng.range(0.8, 1.2))
                    .round() as i64;
            wl.row(&[
                d.code.clone(),
                period(m),
                applicants.to_string(),
                ip.min(applicants).to_string(),
                format!("{:.0}", rng.range(220.0, 1400.0)),
            ])?;
        }
    }
    let path = out.join("social_housing_waiting_list.tsv");
    write(&path, &wl.bytes()?)?;
    files.push(DemoFile {
        dataset: "social_housing_waiting_list",
        path,
        description: "tab-separated, UTF-8",
    });

    // Landlord incentives (UTF-8 with BOM, as Excel's "CSV UTF-8" writes).
    let types: &[(&str, f64)] = &[
        ("tax_credit", 15.0),
        ("vacancy_payment", 15.0),
        ("signing_bonus", 20.0),
        ("damage_fund", 15.0),
        ("deposit_guarantee", 20.0),
        ("rent_guarantee", 15.0),
    ];
    let mut inc = Csv::new(
        b',',
        &[
            "incentive_id",
            "landlord_ref",
            "property_id",
            "district_code",
            "incentive_type",
            "amount_eur",
            "units",
            "rent_eur",
            "start_date",
            "end_date",
            "status",
        ],
    )?;
    for i in 0..spec.incentives {
        let kind = *rng.pick(types);
        let (property, district) = if !private_props.is_empty() && rng.chance(0.5) {
            (
                private_props[rng.int(0, private_props.len() as i64 - 1) as usize].clone(),
                String::new(),
            )
        } else {
            (String::new(), ds[where_vacant.draw(&mut rng)].code.clone())
        };
        let amount = match kind {
            "tax_credit" => rng.range(1000.0, 4000.0),
            "vacancy_payment" => rng.range(500.0, 3000.0),
            "signing_bonus" => rng.range(500.0, 2000.0),
            "damage_fund" => rng.range(1000.0, 5000.0),
            "deposit_guarantee" => rng.range(1500.0, 3000.0),
            _ => rng.range(3000.0, 9000.0),
        };
        let start = month_start(0) + rng.int(0, end - month_start(0));
        let stop = start + rng.int(365, 1095);
        let status = if stop < end {
            *rng.pick(&[("ended", 80.0), ("declined", 20.0)])
        } else {
            *rng.pick(&[("offered", 25.0), ("active", 65.0), ("declined", 10.0)])
        };
        inc.row(&[
            format!("LI-{:05}", i + 1),
            format!("LL-{:08x}", rng.next_u64() as u32),
            property,
            district,
            kind.into(),
            format!("{amount:.2}"),
            rng.int(1, 3).to_string(),
            format!("{:.2}", rng.range(550.0, 950.0)),
            format_date(start as i32),
            if rng.chance(0.15) && status != "ended" {
                String::new()
            } else {
                format_date(stop as i32)
            },
            status.into(),
        ])?;
    }
    let path = out.join("landlord_incentives.csv");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(inc.bytes()?);
    write(&path, &bytes)?;
    files.push(DemoFile {
        dataset: "landlord_incentives",
        path,
        description: "CSV, UTF-8 with BOM",
    });

    // Placements.
    let mut pl = Csv::new(
        b',',
        &[
            "placement_id",
            "household_ref",
            "household_size",
            "programme",
            "property_id",
            "district_code",
            "referral_date",
            "start_date",
            "end_date",
            "end_reason",
        ],
    )?;
    for (i, p) in placements.iter().enumerate() {
        let via_property = (p.programme == "private_rental_incentive")
            .then(|| {
                let_props
                    .iter()
                    .find(|(_, d)| *d == p.district)
                    .map(|(id, _)| id.clone())
            })
            .flatten();
        let date = |d: Option<i64>| d.map(|d| format_date(d as i32)).unwrap_or_default();
        pl.row(&[
            format!("PL-{:05}", i + 1),
            format!("HH-{:08x}", rng.next_u64() as u32),
            p.size.to_string(),
            p.programme.into(),
            via_property.clone().unwrap_or_default(),
            if via_property.is_some() {
                String::new()
            } else {
                ds[p.district].code.clone()
            },
            date(Some(p.referral)),
            date(p.start),
            date(p.end.map(|e| e.0)),
            p.end.map(|e| e.1.to_string()).unwrap_or_default(),
        ])?;
    }
    let path = out.join("placements.csv");
    write(&path, &pl.bytes()?)?;
    files.push(DemoFile {
        dataset: "placements",
        path,
        description: "CSV, UTF-8",
    });
    let path = out.join("reception_sites.csv");
    write(
        &path,
        &reception_sites(spec.seed, spec.origin_km, &ds, end)?,
    )?;
    files.push(DemoFile {
        dataset: "reception_sites",
        path,
        description: "CSV, UTF-8, WGS84, with 1 invalid row",
    });
    if !spec.scaled {
        let path = out.join("owner_contacts.csv");
        write(&path, &owner_contacts(spec.seed, &outreach, end)?)?;
        files.push(DemoFile {
            dataset: "owner_contacts",
            path,
            description: "CSV, UTF-8, the empty-homes officers' case file",
        });
    }
    Ok(files)
}

/// Each home's path to its current status (identified, owner contacted, works, offered, let;
/// or withdrawn), dated between its vacancy and its status date, and the register as it stood
/// at the end of each of the last four half-years (homes not yet vacant left out); on a
/// generator of its own, so the other files do not change with it. `rows` are the register's
/// rows, formatted (`header` order), and `dates` their ids, statuses, vacancy and status dates.
fn register_history(
    seed: u64,
    header: &[&str],
    rows: &[Vec<String>],
    dates: &[(String, &str, i64, i64)],
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut rng = Rng(SplitMix64(seed ^ 0x4849_5354_4F52_5921));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .expect("a register column")
    };
    let (cond_col, st_col, sd_col) = (col("condition"), col("status"), col("status_date"));
    let mut paths: Vec<Vec<(&str, i64)>> = Vec::with_capacity(rows.len());
    for (r, (_, status, vs, sd)) in rows.iter().zip(dates) {
        let (vs, sd) = (*vs, *sd);
        let ready = r[cond_col] == "ready";
        let between: Vec<&str> = match *status {
            "in_renovation" => vec!["owner_contacted"],
            "offered" if ready => vec!["owner_contacted"],
            "offered" => vec!["owner_contacted", "in_renovation"],
            "let" if ready => vec!["owner_contacted", "offered"],
            "let" => vec!["owner_contacted", "in_renovation", "offered"],
            "withdrawn" if rng.chance(0.5) => vec!["owner_contacted"],
            _ => Vec::new(),
        };
        let mut when: Vec<i64> = between
            .iter()
            .map(|_| vs + (rng.unit() * (sd - vs) as f64) as i64)
            .collect();
        when.sort_unstable();
        let mut path = vec![("vacant", vs)];
        path.extend(between.into_iter().zip(when));
        path.push((*status, sd));
        paths.push(path);
    }
    let mut out = Vec::new();
    for half_years_back in (1..=4).rev() {
        let at = month_start(MONTHS - 6 * half_years_back) - 1;
        let mut csv = Csv::new(b';', header)?;
        for (r, path) in rows.iter().zip(&paths) {
            let Some(&(status, date)) = path.iter().rev().find(|(_, d)| *d <= at) else {
                continue; // not vacant yet
            };
            let mut row = r.clone();
            row[st_col] = status.to_string();
            row[sd_col] = format_date(date as i32);
            csv.row(&row)?;
        }
        let text = String::from_utf8(csv.bytes()?).map_err(|e| Error::Invalid(e.to_string()))?;
        let (encoded, _, _) = WINDOWS_1252.encode(&text);
        out.push((format_date(at as i32), encoded.into_owned()));
    }
    Ok(out)
}

/// The reception sites: centres of the public reception agency, corridor and sponsored housing,
/// opened over the demo's years (one closed since), one for every four districts and at least
/// eight; on a generator of its own, so the other files do not change with it. One row offers
/// no places: it is rejected.
fn reception_sites(seed: u64, origin: (f64, f64), ds: &[District], end: i64) -> Result<Vec<u8>> {
    let mut rng = Rng(SplitMix64(seed ^ 0x5245_4345_5054_494F));
    let mut csv = Csv::new(
        b',',
        &[
            "site_id",
            "site_name",
            "programme",
            "lon",
            "lat",
            "places",
            "opened",
            "closes",
            "operator",
        ],
    )?;
    let kinds: &[(&str, f64)] = &[
        ("public_reception", 60.0),
        ("humanitarian_corridor", 20.0),
        ("community_sponsorship", 15.0),
        ("other", 5.0),
    ];
    let n = (ds.len() / 4).max(8);
    for i in 0..n {
        let d = &ds[rng.int(0, ds.len() as i64 - 1) as usize];
        let (x, y) = point_in(d, &mut rng);
        let (lon, lat) = km_to_deg(origin, x, y);
        let programme = if i == 0 {
            "public_reception"
        } else {
            *rng.pick(kinds)
        };
        let (places, operator, name) = match programme {
            "public_reception" => (
                rng.int(40, 160),
                "Federal reception agency",
                "Opvangcentrum",
            ),
            "humanitarian_corridor" => (rng.int(12, 40), "Corridor partners", "Corridorwoningen"),
            "community_sponsorship" => (rng.int(4, 16), "Sponsorship circle", "Gastgezinnen"),
            _ => (rng.int(6, 30), "Municipality", "Noodopvang"),
        };
        // The first sites open with the data; the others over its years.
        let opened = month_start(if i < 3 { 0 } else { rng.int(0, MONTHS - 6) });
        let closes = if i == 3 {
            format_date((month_start(MONTHS - 4) - 1) as i32)
        } else {
            String::new()
        };
        csv.row(&[
            format!("RS-{:03}", i + 1),
            format!("{name} {}", d.name),
            programme.to_string(),
            format!("{lon:.6}"),
            format!("{lat:.6}"),
            places.to_string(),
            format_date(opened.min(end) as i32),
            closes,
            operator.to_string(),
        ])?;
    }
    // A site entered before its places were known.
    let (lon, lat) = km_to_deg(origin, ds[0].ring[0].0 * 0.5, ds[0].ring[0].1 * 0.5);
    csv.row(&[
        format!("RS-{:03}", n + 1),
        "Noodopvang in voorbereiding".to_string(),
        "other".to_string(),
        format!("{lon:.6}"),
        format!("{lat:.6}"),
        "0".to_string(),
        format_date(month_start(MONTHS - 1) as i32),
        String::new(),
        "Municipality".to_string(),
    ])?;
    csv.bytes()
}

/// When a next action is due: some days after `from`, none without an action.
fn due_after(rng: &mut Rng, action: &str, from: i64, days: (i64, i64)) -> String {
    if action.is_empty() {
        String::new()
    } else {
        format_date((from + rng.int(days.0, days.1)) as i32)
    }
}

/// The empty-homes officers' case file: letters, calls and visits to the owners of the
/// properties whose status says they were contacted (and a few still only written to), with
/// the owners' answers and the next actions; on a generator of its own, so the other files do
/// not change with it. One row names a property the register does not have: it is rejected.
fn owner_contacts(seed: u64, props: &[(String, &str, i64, i64)], end: i64) -> Result<Vec<u8>> {
    let mut rng = Rng(SplitMix64(seed ^ 0x4F55_5452_4541_4348));
    let officers = [("olivia", 50.0), ("marc", 30.0), ("sofie", 20.0)];
    let mut csv = Csv::new(
        b',',
        &[
            "contact_id",
            "property_id",
            "contact_date",
            "channel",
            "letter",
            "outcome",
            "owner_answer",
            "next_action",
            "next_action_due",
            "officer",
            "note",
        ],
    )?;
    let mut n = 0;
    let mut row = |csv: &mut Csv, cells: [&str; 10]| -> Result<()> {
        n += 1;
        let mut all = vec![format!("OC-{n:05}")];
        all.extend(cells.iter().map(|c| c.to_string()));
        csv.row(&all)
    };
    for (id, status, vacant_since, status_date) in props {
        let contacted = matches!(
            *status,
            "owner_contacted" | "in_renovation" | "offered" | "let"
        );
        // Of the homes still only vacant, some have had a first letter.
        let written_to = !contacted && *status == "vacant" && rng.chance(0.15);
        if !contacted && !written_to {
            continue;
        }
        let officer = *rng.pick(&officers);
        let first = (*status_date - rng.int(20, 120))
            .max(vacant_since + 30)
            .min(end);
        let day = |d: i64| format_date(d.min(end) as i32);
        // The first letter; written to and no answer yet: a follow-up is due.
        let (action, due) = if contacted {
            ("", String::new())
        } else {
            let due = first + rng.int(21, 60);
            ("send the follow-up letter", format_date(due as i32))
        };
        row(
            &mut csv,
            [
                id,
                &day(first),
                "letter",
                "first_contact",
                "sent",
                "",
                action,
                &due,
                officer,
                "",
            ],
        )?;
        if !contacted {
            continue;
        }
        let second = (first + rng.int(14, 45)).min(end);
        if *status == "owner_contacted" {
            let answer = *rng.pick(&[
                ("", 30.0),
                ("willing", 25.0),
                ("needs_renovation_support", 20.0),
                ("refuses", 12.0),
                ("sold", 5.0),
                ("exempt", 4.0),
                ("appeal", 4.0),
            ]);
            let (outcome, action) = match answer {
                "" => ("no_response", "call the owner"),
                "willing" => ("reached", "visit the home with the owner"),
                "needs_renovation_support" => ("reached", "send the renovation grant forms"),
                "refuses" => ("reached", "write again in six months"),
                "appeal" => ("reached", "answer the appeal"),
                _ => ("reached", ""),
            };
            let channel = *rng.pick(&[("phone", 60.0), ("email", 25.0), ("visit", 15.0)]);
            let due = due_after(&mut rng, action, second, (7, 75));
            row(
                &mut csv,
                [
                    id,
                    &day(second),
                    channel,
                    "",
                    outcome,
                    answer,
                    action,
                    &due,
                    officer,
                    "",
                ],
            )?;
        } else {
            let answer = *rng.pick(&[("willing", 60.0), ("needs_renovation_support", 40.0)]);
            row(
                &mut csv,
                [
                    id,
                    &day(second),
                    "phone",
                    "",
                    "reached",
                    answer,
                    "",
                    "",
                    officer,
                    "",
                ],
            )?;
            let third = (second + rng.int(7, 30)).min(end);
            let action = if *status == "in_renovation" {
                "check the renovation's progress"
            } else {
                ""
            };
            let due = due_after(&mut rng, action, third, (30, 90));
            row(
                &mut csv,
                [
                    id,
                    &day(third),
                    "meeting",
                    "",
                    "meeting_arranged",
                    answer,
                    action,
                    &due,
                    officer,
                    "agreement on the works and the letting",
                ],
            )?;
        }
    }
    row(
        &mut csv,
        [
            "VP-999999",
            &format_date(end as i32),
            "letter",
            "first_contact",
            "sent",
            "",
            "",
            "",
            "olivia",
            "a property the register does not have",
        ],
    )?;
    csv.bytes()
}

/// Writes the demo files into `out` and loads each into `store` with the default options, in
/// load order (the way tests and benchmarks set up a municipality).
pub fn generate_and_load(
    spec: &DemoSpec,
    out: &Path,
    store: &crate::Store,
) -> Result<Vec<crate::Report>> {
    generate(spec, out)?
        .iter()
        .map(|f| {
            crate::ingest(
                store,
                f.dataset,
                &crate::Input::from_path(&f.path)?,
                &crate::IngestOptions::default(),
                &crate::NoProgress,
            )
        })
        .collect()
}

/// Writes `n` late-recorded placements to a CSV at `path`: copies of the first `n` loaded
/// placements under new ids (`…L`), so every month stays in range. Loading it changes the
/// placement counts the way a late batch from a sponsorship NGO does (tests of releases).
pub fn write_late_placements(conn: &duckdb::Connection, path: &Path, n: usize) -> Result<()> {
    conn.execute_batch(&format!(
        "COPY (SELECT placement_id || 'L' AS placement_id, household_ref || 'L' AS household_ref,
                      household_size, programme, property_id, district_code, referral_date,
                      start_date, end_date, end_reason
               FROM placements ORDER BY placement_id LIMIT {n})
         TO '{}' (HEADER)",
        path.display().to_string().replace('\'', "''")
    ))?;
    Ok(())
}

fn write_xlsx(
    path: &Path,
    header: &[&str],
    rows: &[(String, &str, usize, i64, f64, &str)],
    ds: &[District],
) -> Result<()> {
    let x =
        |e: rust_xlsxwriter::XlsxError| Error::Invalid(format!("writing {}: {e}", path.display()));
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Units").map_err(x)?;
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).map_err(x)?;
    }
    for (r, (id, provider, di, bedrooms, rent, status)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, id).map_err(x)?;
        sheet.write_string(r, 1, *provider).map_err(x)?;
        sheet.write_string(r, 2, &ds[*di].code).map_err(x)?;
        sheet.write_number(r, 3, *bedrooms as f64).map_err(x)?;
        sheet.write_number(r, 4, *rent).map_err(x)?;
        sheet.write_string(r, 5, *status).map_err(x)?;
    }
    book.save(path).map_err(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_writes_the_same_files() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let fa = generate(&DemoSpec::standard(7), a.path()).unwrap();
        generate(&DemoSpec::standard(7), b.path()).unwrap();
        for f in &fa {
            let name = f.path.strip_prefix(a.path()).unwrap();
            if f.path.extension().is_some_and(|e| e == "xlsx") {
                continue; // the workbook stores its creation time
            }
            assert_eq!(
                std::fs::read(&f.path).unwrap(),
                std::fs::read(b.path().join(name)).unwrap(),
                "{name:?}"
            );
        }
        // Nine datasets, the register also as it stood at four earlier half-years' ends.
        assert_eq!(fa.len(), 13);
    }

    #[test]
    fn districts_tile_without_gaps() {
        let spec = DemoSpec::standard(1);
        let ds = districts(&spec, &mut Rng(SplitMix64(1)));
        assert_eq!(ds.len(), 30);
        assert!(
            ds.iter().all(|d| d.ring.len() >= 3 && area(&d.ring) > 0.5),
            "irregular, non-trivial cells"
        );
        assert_eq!(ds.iter().map(|d| d.dwellings).sum::<u64>(), 55_000);
        assert_eq!(ds.iter().map(|d| d.residents).sum::<u64>(), 120_000);
    }
}
