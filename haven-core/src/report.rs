//! The council report: what a mayor takes into a council meeting, as PDF and HTML, in any
//! language the dashboard speaks. It is built from what the public may see and nothing else:
//! the latest release's published figures (the same reads as the public API), the public
//! scenario and forecast, and the loads the release records. So it can be handed to anyone,
//! and `pdftotext` of it agrees with the API.

use std::fmt::Write;

use analytics::registry;
use report::{Block, Catalogue, Document, Section};

use crate::Error;
use crate::geometry::Area;
use crate::publish::Manifest;
use crate::read::explore::{self, SegregationQuery};
use crate::read::indicators::{IndicatorQuery, IndicatorValue};
use crate::read::pipeline::PipelineQuery;

/// The headline figures, as the dashboard's overview shows them.
pub const HEADLINES: [&str; 6] = [
    "vacant_units",
    "ready_units",
    "activatable_90d_units",
    "cost_to_activate_90d_eur",
    "placements_active_households",
    "placements_active_persons",
];

/// The inflow of the report's scenario (the dashboard's default).
pub const SCENARIO_INFLOW: u32 = 100;

/// The indicator the district map is coloured by.
const MAP_INDICATOR: &str = "vacant_units";

/// Light to dark: five classes of the map.
const CLASSES: [&str; 5] = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
const NO_VALUE: &str = "#d9d9d9";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, Error> {
        match s {
            "pdf" => Ok(Format::Pdf),
            "html" => Ok(Format::Html),
            other => Err(Error::Invalid(format!(
                "format '{other}' is neither pdf nor html"
            ))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

impl From<report::Error> for Error {
    fn from(e: report::Error) -> Self {
        match e {
            report::Error::Language(m) => Error::Invalid(m),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// A report rendered, with the name it is saved under (`haven-report-2026-10-nl.pdf`).
#[derive(Debug)]
pub struct Rendered {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The report for `period` (default: the latest published month) in `lang`, rendered.
pub fn render(
    store: &ingest::Store,
    period: Option<&str>,
    lang: &str,
    format: Format,
) -> Result<Rendered, Error> {
    let (period, doc) = document(store, period, lang)?;
    Ok(Rendered {
        file_name: format!("haven-report-{period}-{lang}.{}", format.extension()),
        bytes: match format {
            Format::Pdf => report::pdf(&doc)?,
            Format::Html => report::html(&doc).into_bytes(),
        },
    })
}

/// The month `k` months before `period`.
fn months_before(period: &str, k: i64) -> Option<String> {
    let (y, m) = period.split_once('-')?;
    let i = y.parse::<i64>().ok()? * 12 + m.parse::<i64>().ok()? - 1 - k;
    Some(format!(
        "{:04}-{:02}",
        i.div_euclid(12),
        i.rem_euclid(12) + 1
    ))
}

/// The published months of the municipality, first and last.
fn published_months(store: &ingest::Store) -> Result<Option<(String, String)>, Error> {
    if !store.has_table("indicators_published")? {
        return Ok(None);
    }
    let r: (Option<String>, Option<String>) = store.conn().query_row(
        "SELECT min(period), max(period) FROM indicators_published WHERE level = 'municipality'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(r.0.zip(r.1))
}

/// The report for `period` (default: the latest published month) in `lang`, as a document,
/// with the month it reports on.
pub fn document(
    store: &ingest::Store,
    period: Option<&str>,
    lang: &str,
) -> Result<(String, Document), Error> {
    let c = Catalogue::get(lang)?;
    crate::read::month("period", &period.map(str::to_string))?;
    let manifests = crate::publish::manifests(store)?;
    let release = manifests.last().ok_or_else(|| {
        Error::NotFound(
            "no release has been published yet: the report shows published figures only (haven publish)"
                .into(),
        )
    })?;
    let Some((first, last)) = published_months(store)? else {
        return Err(Error::NotFound(
            "the latest release has no municipal figures".into(),
        ));
    };
    let period = match period {
        None => last,
        Some(p) if p < first.as_str() || p > last.as_str() => {
            return Err(Error::NotFound(format!(
                "release {} has figures from {first} to {last}, not for {p}",
                release.version
            )));
        }
        Some(p) => p.to_string(),
    };
    let municipality = release.publisher.clone();
    let when = c.date(&release.published_at);
    let version = release.version.to_string();
    let month = c.month(&period);
    let sections = vec![
        headlines(store, c, &period)?,
        map(store, c, &period)?,
        segregation(store, c, &period)?,
        scenario(store, c)?,
        forecast(store, c)?,
        pipeline(store, c, &period)?,
        freshness(c, release),
        methods(c),
    ];
    let doc = Document {
        lang: c.lang.to_string(),
        title: c.t("report_title", &[]),
        subtitle: c.t(
            "report_subtitle",
            &[("municipality", &municipality), ("period", &month)],
        ),
        lead: vec![c.t("report_lead", &[("version", &version), ("when", &when)])],
        sections,
        footer: c.t(
            "report_footer",
            &[
                ("municipality", &municipality),
                ("version", &version),
                ("period", &month),
            ],
        ),
        ident: format!("haven-report-{}-{period}-{lang}", release.version),
    };
    Ok((period, doc))
}

fn dataset_names(c: &Catalogue, datasets: &[&str]) -> String {
    datasets
        .iter()
        .map(|d| named(c, "dataset", d))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The catalogue's word for `prefix_v`, else `v`.
fn named(c: &Catalogue, prefix: &str, v: &str) -> String {
    let key = format!("{prefix}_{v}");
    if c.has(&key) {
        c.t(&key, &[])
    } else {
        v.to_string()
    }
}

/// An indicator's description in the language: the registry's own (English, Dutch), else the
/// catalogue's `indicator_<id>`.
fn label(c: &Catalogue, i: &registry::Indicator) -> String {
    match c.lang {
        "en" => i.en.to_string(),
        "nl" => i.nl.to_string(),
        _ => {
            let key = format!("indicator_{}", i.id);
            if c.has(&key) {
                c.t(&key, &[])
            } else {
                i.en.to_string()
            }
        }
    }
}

fn signed(c: &Catalogue, d: f64, unit: &str) -> String {
    let sign = if d > 0.0 {
        "+"
    } else if d < 0.0 {
        "−"
    } else {
        "±"
    };
    format!("{sign}{}", c.value(Some(d.abs()), unit))
}

fn headlines(store: &ingest::Store, c: &Catalogue, period: &str) -> Result<Section, Error> {
    let from = months_before(period, 12).unwrap_or_default();
    let q = IndicatorQuery {
        level: Some("municipality".into()),
        from: Some(from.clone()),
        to: Some(period.to_string()),
        ..Default::default()
    };
    let values =
        crate::read::indicators::page(store, &q, &HEADLINES, None, 13 * HEADLINES.len(), false)?
            .items;
    let mut rows = Vec::new();
    for id in HEADLINES {
        let Some(entry) = registry::get(id) else {
            continue;
        };
        let series: Vec<&IndicatorValue> = values.iter().filter(|v| v.indicator == id).collect();
        let Some(now) = series.iter().find(|v| v.period == period) else {
            continue;
        };
        let shown = if now.withheld {
            c.t("withheld", &[])
        } else {
            c.value(now.value, entry.unit)
        };
        let change = match (series.iter().find(|v| v.period == from), now.value) {
            (Some(before), Some(v)) if !before.withheld && before.value.is_some() => c.t(
                "report_since",
                &[
                    (
                        "change",
                        &signed(c, v - before.value.unwrap_or(v), entry.unit),
                    ),
                    ("since", &c.month(&from)),
                ],
            ),
            _ => "–".into(),
        };
        rows.push(vec![
            c.t(&format!("fig_{id}"), &[]),
            shown,
            change,
            c.month(period),
            dataset_names(c, entry.datasets),
        ]);
    }
    Ok(Section {
        id: "headlines".into(),
        heading: c.t("headline_figures", &[]),
        blocks: vec![Block::Table {
            caption: c.t("report_headlines_caption", &[("period", &c.month(period))]),
            header: vec![
                c.t("report_figure", &[]),
                c.t("value", &[]),
                c.t("report_change_year", &[]),
                c.t("period", &[]),
                c.t("source", &[]),
            ],
            rows,
            numeric: vec![false, true, true, false, false],
            wide: vec![false, false, false, false, true],
        }],
    })
}

/// Quantile class breaks of the values (at most five classes, no empty ones).
fn breaks(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = (1..=CLASSES.len())
        .filter_map(|k| v.get((k * v.len()).div_ceil(CLASSES.len()).saturating_sub(1)))
        .copied()
        .collect();
    out.dedup();
    out
}

/// The districts as SVG paths, in a plate carrée scaled by the cosine of the middle latitude.
fn svg(areas: &[(&Area, &str)]) -> String {
    let points = || {
        areas
            .iter()
            .flat_map(|(a, _)| a.polygons.iter().flatten().flatten())
    };
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in points() {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let k = ((y0 + y1) / 2.0).to_radians().cos();
    let (w, h) = (((x1 - x0) * k).max(1e-9), (y1 - y0).max(1e-9));
    let width = 600.0;
    let scale = width / w;
    let height = (h * scale).ceil();
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">"#
    );
    for (area, fill) in areas {
        let mut d = String::new();
        for ring in area.polygons.iter().flatten() {
            for (i, p) in ring.iter().enumerate() {
                let x = (p[0] - x0) * k * scale;
                let y = (y1 - p[1]) * scale;
                let _ = write!(d, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
            }
            d.push('Z');
        }
        let _ = write!(
            out,
            r##"<path d="{d}" fill="{fill}" fill-rule="evenodd" stroke="#ffffff" stroke-width="1"/>"##
        );
    }
    out.push_str("</svg>");
    out
}

fn map(store: &ingest::Store, c: &Catalogue, period: &str) -> Result<Section, Error> {
    let heading = c.t("report_map_title", &[]);
    if !store.has_table("districts")? {
        return Ok(Section::text("map", heading, c.t("report_no_map", &[])));
    }
    let (_, features) = explore::districts(store, Some(period), &[MAP_INDICATOR])?;
    let unit = registry::get(MAP_INDICATOR).map_or("", |i| i.unit);
    let value = |p: &serde_json::Map<String, serde_json::Value>| {
        p.get(MAP_INDICATOR).and_then(serde_json::Value::as_f64)
    };
    let values: Vec<f64> = features.iter().filter_map(|(_, _, p)| value(p)).collect();
    let cuts = breaks(&values);
    let class = |v: f64| cuts.iter().position(|b| v <= *b).unwrap_or(cuts.len() - 1);
    let fills: Vec<&str> = features
        .iter()
        .map(|(_, _, p)| value(p).map_or(NO_VALUE, |v| CLASSES[class(v)]))
        .collect();
    let areas: Vec<(&Area, &str)> = features
        .iter()
        .zip(&fills)
        .map(|((_, a, _), f)| (a, *f))
        .collect();
    let mut legend: Vec<(String, String)> = Vec::new();
    let mut low = values.iter().copied().fold(f64::INFINITY, f64::min);
    for (i, b) in cuts.iter().enumerate() {
        let text = if (low - b).abs() < f64::EPSILON {
            c.value(Some(*b), unit)
        } else {
            format!("{}–{}", c.value(Some(low), unit), c.value(Some(*b), unit))
        };
        legend.push((CLASSES[i].to_string(), text));
        // The next class starts above this break.
        low = values
            .iter()
            .copied()
            .filter(|v| v > b)
            .fold(f64::INFINITY, f64::min);
    }
    if fills.contains(&NO_VALUE) {
        legend.push((NO_VALUE.into(), c.t("withheld", &[])));
    }
    let month = c.month(period);
    let what = c.t(&format!("fig_{MAP_INDICATOR}"), &[]);
    let rows = features
        .iter()
        .map(|(code, _, p)| {
            let name = p
                .get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(code);
            let shown = match value(p) {
                Some(v) => c.value(Some(v), unit),
                None => c.t("withheld", &[]),
            };
            vec![name.to_string(), code.clone(), shown]
        })
        .collect();
    let source = dataset_names(
        c,
        registry::get(MAP_INDICATOR).map_or(&[][..], |i| i.datasets),
    );
    let mut blocks = Vec::new();
    if !features.is_empty() {
        blocks.push(Block::Image {
            svg: svg(&areas),
            alt: c.t(
                "report_map_alt",
                &[("n", &features.len().to_string()), ("period", &month)],
            ),
            caption: c.t("table_of", &[("what", &what), ("period", &month)]),
        });
        blocks.push(Block::Legend {
            title: c.t("legend", &[]),
            items: legend,
        });
    }
    blocks.push(Block::Table {
        caption: c.t("table_of", &[("what", &what), ("period", &month)]),
        header: vec![c.t("district", &[]), c.t("code", &[]), what.clone()],
        rows,
        numeric: vec![false, false, true],
        wide: vec![],
    });
    blocks.push(Block::Paragraph {
        text: c.t("report_meta", &[("period", &month), ("source", &source)]),
    });
    Ok(Section {
        id: "map".into(),
        heading,
        blocks,
    })
}

fn segregation(store: &ingest::Store, c: &Catalogue, period: &str) -> Result<Section, Error> {
    let heading = c.t("seg_title", &[]);
    let mut blocks = Vec::new();
    let page = if store.has_table("segregation_published")? {
        Some(explore::segregation(
            store,
            &SegregationQuery {
                group: Some("placed_persons".into()),
                index: Some("dissimilarity".into()),
                to: Some(period.to_string()),
                ..Default::default()
            },
            None,
            10_000,
        )?)
    } else {
        None
    };
    let latest = page
        .as_ref()
        .and_then(|p| p.page.items.iter().rev().find(|v| v.value.is_some()));
    let Some(latest) = latest else {
        blocks.push(Block::Paragraph {
            text: c.t("report_seg_none", &[]),
        });
        return Ok(Section {
            id: "segregation".into(),
            heading,
            blocks,
        });
    };
    let d = latest.value.unwrap_or_default();
    let month = c.month(&latest.period);
    blocks.push(Block::Paragraph {
        text: c.t(
            "report_seg_value",
            &[("period", &month), ("value", &c.number(d, 3))],
        ),
    });
    let level = if d < 0.3 {
        "low"
    } else if d < 0.6 {
        "moderate"
    } else {
        "high"
    };
    blocks.push(Block::Paragraph {
        text: c.t(
            "d_reading",
            &[
                ("pct", &c.number(d * 100.0, 0)),
                ("level", &c.t(&format!("level_{level}"), &[])),
            ],
        ),
    });
    if let Some(p) = latest.p_value {
        let key = if p < 0.05 {
            "report_seg_p_yes"
        } else {
            "report_seg_p_no"
        };
        blocks.push(Block::Paragraph {
            text: c.t(key, &[("pct", &c.percent(p, 1)), ("p", &c.number(p, 3))]),
        });
    }
    let change = page.as_ref().and_then(|p| {
        p.changes
            .iter()
            .find(|ch| ch.group == "placed_persons" && ch.to_period.as_str() <= period)
    });
    if let Some(ch) = change {
        let key = if ch.significant {
            "report_seg_change_real"
        } else {
            "report_seg_change_chance"
        };
        blocks.push(Block::Paragraph {
            text: c.t(
                key,
                &[
                    ("from", &c.month(&ch.from_period)),
                    ("to", &c.month(&ch.to_period)),
                    ("d_from", &c.number(ch.d_from, 3)),
                    ("d_to", &c.number(ch.d_to, 3)),
                    ("lo", &c.number(ch.ci_low, 3)),
                    ("hi", &c.number(ch.ci_high, 3)),
                ],
            ),
        });
    }
    blocks.push(Block::Paragraph {
        text: c.t(
            "report_meta",
            &[
                ("period", &month),
                ("source", &dataset_names(c, &["placements", "population"])),
            ],
        ),
    });
    Ok(Section {
        id: "segregation".into(),
        heading,
        blocks,
    })
}

fn scenario(store: &ingest::Store, c: &Catalogue) -> Result<Section, Error> {
    let heading = c.t("scenario_title", &[]);
    let n = SCENARIO_INFLOW.to_string();
    let s = match crate::scenario::scenario(
        store,
        SCENARIO_INFLOW,
        None,
        crate::scenario::Basis::Published,
    ) {
        Ok(s) => s,
        Err(Error::NotFound(m) | Error::Invalid(m)) => {
            return Ok(Section::text("scenario", heading, m));
        }
        Err(e) => return Err(e),
    };
    let households: u32 = s.households.iter().map(|(_, n)| n).sum();
    let plans = [
        ("fastest", &s.fastest),
        ("low_concentration", &s.low_concentration),
    ];
    let rows = plans
        .iter()
        .map(|(key, a)| {
            vec![
                c.t(&format!("plan_{key}"), &[]),
                c.number(f64::from(a.housed_30_days), 0),
                c.number(f64::from(a.housed_90_days), 0),
                c.number(f64::from(a.shortfall_90_days), 0),
                c.eur(a.renovation_cost_eur),
                a.dissimilarity_after.map_or("–".into(), |d| c.number(d, 3)),
            ]
        })
        .collect();
    Ok(Section {
        id: "scenario".into(),
        heading,
        blocks: vec![
            Block::Paragraph {
                text: c.t("report_scenario_lead", &[("n", &n)]),
            },
            Block::Paragraph {
                text: c.t(
                    "scenario_summary",
                    &[
                        ("households", &c.number(f64::from(households), 0)),
                        ("p30", &c.number(f64::from(s.places_30_days), 0)),
                        ("p90", &c.number(f64::from(s.places_90_days), 0)),
                    ],
                ),
            },
            Block::Table {
                caption: c.t("report_scenario_caption", &[("n", &n)]),
                header: vec![
                    c.t("report_plan", &[]),
                    c.t("housed_30", &[]),
                    c.t("housed_90", &[]),
                    c.t("shortfall", &[]),
                    c.t("renovation_cost", &[]),
                    c.t("d_after", &[]),
                ],
                rows,
                numeric: vec![false, true, true, true, true, true],
                wide: vec![],
            },
            Block::Notes {
                items: vec![
                    c.t("plan_fastest_explain", &[]),
                    c.t("plan_low_concentration_explain", &[]),
                    c.t("lq_cap_help", &[]),
                ],
            },
        ],
    })
}

/// Colours of the fan chart: the history, the 80 % band, the 95 % band.
const FAN: [&str; 3] = ["#1a1a1a", "#6baed6", "#c6dbef"];

/// The forecast as a fan chart (the last two years as published, then the bands and the mean),
/// with its legend; the text alternative names the last month's intervals.
fn fan(c: &Catalogue, p: &analytics::forecast::Forecast) -> Vec<Block> {
    let history: Vec<&(String, f64)> = p.history.iter().rev().take(24).rev().collect();
    let (Some(first), Some(last)) = (history.first(), p.months.last()) else {
        return Vec::new();
    };
    let n = history.len() + p.months.len();
    let values = history
        .iter()
        .map(|(_, v)| *v)
        .chain(p.months.iter().flat_map(|b| [b.lower_95, b.upper_95]));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let (w, h, left, top, bottom) = (600.0, 220.0, 56.0, 10.0, 24.0);
    let x = |i: usize| left + (w - left - 10.0) * i as f64 / (n - 1).max(1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (hi - v) / (hi - lo);
    let start = history.len() - 1;
    // The bands start at the last month as published, where the forecast is certain.
    let band = |lower: &dyn Fn(&analytics::forecast::Band) -> f64,
                upper: &dyn Fn(&analytics::forecast::Band) -> f64| {
        let anchor = (x(start), y(history[start].1));
        let mut pts = vec![anchor];
        pts.extend(
            p.months
                .iter()
                .enumerate()
                .map(|(i, b)| (x(start + 1 + i), y(upper(b)))),
        );
        pts.extend(
            p.months
                .iter()
                .enumerate()
                .rev()
                .map(|(i, b)| (x(start + 1 + i), y(lower(b)))),
        );
        pts.iter()
            .map(|(a, b)| format!("{a:.1},{b:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let line = |pts: Vec<(f64, f64)>| {
        pts.iter()
            .map(|(a, b)| format!("{a:.1},{b:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let hist = line(
        history
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (x(i), y(*v)))
            .collect(),
    );
    let mut mean = vec![(x(start), y(history[start].1))];
    mean.extend(
        p.months
            .iter()
            .enumerate()
            .map(|(i, b)| (x(start + 1 + i), y(b.mean))),
    );
    let label = |tx: f64, ty: f64, anchor: &str, text: &str| {
        format!(
            r##"<text x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}" font-family="Libertinus Serif, serif" font-size="13" fill="#333333">{text}</text>"##
        )
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}">"##
    );
    for v in [lo, hi] {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#cccccc" stroke-width="0.6"/>"##,
            w - 10.0,
            yy = y(v)
        );
        svg.push_str(&label(left - 6.0, y(v) + 4.0, "end", &c.number(v, 0)));
    }
    let _ = write!(
        svg,
        r##"<polygon points="{}" fill="{}"/><polygon points="{}" fill="{}"/><polyline points="{hist}" fill="none" stroke="{}" stroke-width="2"/><polyline points="{}" fill="none" stroke="{}" stroke-width="1.6" stroke-dasharray="5 3"/>"##,
        band(&|b| b.lower_95, &|b| b.upper_95),
        FAN[2],
        band(&|b| b.lower_80, &|b| b.upper_80),
        FAN[1],
        FAN[0],
        line(mean),
        FAN[0],
    );
    svg.push_str(&label(x(0), h - 6.0, "start", &c.month(&first.0)));
    svg.push_str(&label(
        x(start),
        h - 6.0,
        "middle",
        &c.month(&history[start].0),
    ));
    svg.push_str(&label(x(n - 1), h - 6.0, "end", &c.month(&last.month)));
    svg.push_str("</svg>");
    let n0 = |v: f64| c.number(v, 0);
    vec![
        Block::Image {
            svg,
            alt: c.t(
                "fan_alt",
                &[
                    ("from", &c.month(&p.last_month)),
                    ("last", &n0(p.last_value)),
                    ("month", &c.month(&last.month)),
                    ("mean", &n0(last.mean)),
                    ("lo80", &n0(last.lower_80)),
                    ("hi80", &n0(last.upper_80)),
                    ("lo95", &n0(last.lower_95)),
                    ("hi95", &n0(last.upper_95)),
                ],
            ),
            caption: c.t("forecast_chart", &[]),
        },
        Block::Legend {
            title: c.t("legend", &[]),
            items: vec![
                (FAN[0].into(), c.t("fan_history", &[])),
                (FAN[1].into(), c.t("fan_80", &[])),
                (FAN[2].into(), c.t("fan_95", &[])),
            ],
        },
    ]
}

fn forecast(store: &ingest::Store, c: &Catalogue) -> Result<Section, Error> {
    let heading = c.t("forecast_title", &[]);
    let f = match crate::forecast::forecast(
        store,
        crate::forecast::Basis::Published,
        crate::forecast::HORIZON,
        &[],
    ) {
        Ok(f) => f,
        Err(Error::NotFound(reason)) => {
            return Ok(Section::text(
                "forecast",
                heading,
                c.t("report_no_forecast", &[("reason", &reason)]),
            ));
        }
        Err(e) => return Err(e),
    };
    let p = &f.persons_placed;
    let range = |lo: f64, hi: f64| format!("{}–{}", c.number(lo, 0), c.number(hi, 0));
    let rows = p
        .months
        .iter()
        .zip(&f.needs)
        .map(|(b, n)| {
            vec![
                c.month(&b.month),
                c.number(b.mean, 0),
                range(b.lower_80, b.upper_80),
                range(b.lower_95, b.upper_95),
                c.number(n.persons.mean, 0),
                c.number(n.homes.mean, 0),
                c.number(f64::from(n.places), 0),
                format!(
                    "{} ({})",
                    c.number(n.shortfall_persons.mean, 0),
                    range(n.shortfall_persons.lower_95, n.shortfall_persons.upper_95)
                ),
            ]
        })
        .collect();
    let mut blocks = fan(c, p);
    blocks.push(Block::Paragraph {
        text: c.t(
            "forecast_summary",
            &[
                ("n", &c.number(p.last_value, 0)),
                ("month", &c.month(&p.last_month)),
                ("model", &p.model),
                ("months", &c.number(p.history_months as f64, 0)),
            ],
        ),
    });
    let backtest = crate::forecast::backtest(store, crate::forecast::Basis::Published)?;
    let score = |m: &str, h: usize| {
        backtest
            .scores
            .iter()
            .find(|s| s.method == m && s.horizon == h)
    };
    if let (Some(ets3), Some(naive3), Some(ets12)) =
        (score("ets", 3), score("naive", 3), score("ets", 12))
        && let (Some(c80), Some(c95)) = (ets12.coverage_80, ets12.coverage_95)
    {
        blocks.push(Block::Paragraph {
            text: c.t(
                "forecast_backtest",
                &[
                    ("months", &c.number(backtest.months as f64, 0)),
                    ("mase", &c.number(ets3.mase, 2)),
                    ("naive", &c.number(naive3.mase, 2)),
                    ("c80", &c.percent(c80, 0)),
                    ("c95", &c.percent(c95, 0)),
                ],
            ),
        });
    }
    blocks.push(Block::Table {
        caption: c.t("forecast_caption", &[]),
        header: vec![
            c.t("month", &[]),
            c.t("forecast_mean", &[]),
            c.t("interval_80", &[]),
            c.t("interval_95", &[]),
            c.t("forecast_more_persons", &[]),
            c.t("homes", &[]),
            c.t("places", &[]),
            c.t("forecast_shortfall", &[]),
        ],
        rows,
        numeric: vec![false, true, true, true, true, true, true, true],
        wide: vec![],
    });
    blocks.push(Block::Notes {
        items: vec![c.t("forecast_method", &[])],
    });
    Ok(Section {
        id: "forecast".into(),
        heading,
        blocks,
    })
}

fn pipeline(store: &ingest::Store, c: &Catalogue, period: &str) -> Result<Section, Error> {
    let heading = c.t("pipeline_title", &[]);
    let from = months_before(period, 11).unwrap_or_default();
    let funnel = crate::read::pipeline::funnel(
        store,
        &PipelineQuery {
            from: Some(from.clone()),
            to: Some(period.to_string()),
            district: None,
        },
    )?;
    if funnel.stages.is_empty() {
        return Ok(Section::text(
            "pipeline",
            heading,
            c.t("report_pipeline_none", &[]),
        ));
    }
    let (f, t) = (c.month(&from), c.month(period));
    let rows = funnel
        .stages
        .iter()
        .map(|s| {
            vec![
                named(c, "stage", &s.stage),
                c.number(s.entered as f64, 0),
                s.conversion.map_or("–".into(), |v| c.percent(v, 0)),
                s.median_days.map_or("–".into(), |v| c.number(v, 0)),
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        caption: c.t("pipeline_table", &[("from", &f), ("to", &t)]),
        header: vec![
            c.t("pipeline_stage", &[]),
            c.t("pipeline_entered_short", &[]),
            c.t("pipeline_conversion", &[]),
            c.t("pipeline_median_days", &[]),
        ],
        rows,
        numeric: vec![false, true, true, true],
        wide: vec![],
    }];
    if !funnel.years.is_empty() {
        // One rule for every cell: withheld where the release withheld it, else formatted.
        let cell = |withheld: &[String], id: &str, formatted: Option<String>| {
            if withheld.iter().any(|w| w == id) {
                c.t("withheld", &[])
            } else {
                formatted.unwrap_or_else(|| "–".into())
            }
        };
        let count = |v: Option<i64>, id: &str, withheld: &[String]| {
            cell(withheld, id, v.map(|v| c.number(v as f64, 0)))
        };
        let money =
            |v: Option<f64>, id: &str, withheld: &[String]| cell(withheld, id, v.map(|v| c.eur(v)));
        let rows = funnel
            .years
            .iter()
            .map(|y| {
                vec![
                    y.year.clone(),
                    count(y.homes_let, "register_homes_let", &y.withheld),
                    count(
                        y.households_housed,
                        "households_housed_in_register_homes",
                        &y.withheld,
                    ),
                    count(y.tenancies_sustained, "tenancies_sustained", &y.withheld),
                    money(
                        y.cost_per_home_let_eur,
                        "cost_per_home_let_eur",
                        &y.withheld,
                    ),
                ]
            })
            .collect();
        blocks.push(Block::Table {
            caption: c.t("pipeline_years_table", &[]),
            header: vec![
                c.t("pipeline_year", &[]),
                c.t("pipeline_homes_let", &[]),
                c.t("pipeline_households", &[]),
                c.t("pipeline_tenancies_sustained", &[]),
                c.t("pipeline_cost_per_home", &[]),
            ],
            rows,
            numeric: vec![false, true, true, true, true],
            wide: vec![],
        });
        blocks.push(Block::Notes {
            items: vec![c.t("pipeline_years_note", &[])],
        });
    }
    blocks.push(Block::Notes {
        items: vec![c.t("pipeline_note", &[])],
    });
    Ok(Section {
        id: "pipeline".into(),
        heading,
        blocks,
    })
}

fn freshness(c: &Catalogue, release: &Manifest) -> Section {
    let rows = release
        .sources
        .iter()
        .map(|s| {
            let name = named(c, "dataset", &s.dataset);
            if s.personal {
                return vec![
                    name,
                    c.t("report_personal", &[]),
                    String::new(),
                    String::new(),
                ];
            }
            let last = s.loads.iter().filter_map(|l| l.loaded_at.as_deref()).max();
            let files: Vec<String> = s
                .loads
                .iter()
                .map(|l| format!("{} ({})", l.file, l.batch))
                .collect();
            let rows: i64 = s.loads.iter().map(|l| l.rows).sum();
            let read: i64 = s.loads.iter().map(|l| l.rows_read).sum();
            let rejected: i64 = s.loads.iter().map(|l| l.rows_rejected).sum();
            vec![
                name,
                files.join(", "),
                last.map(|w| c.date(w)).unwrap_or_else(|| "–".into()),
                format!(
                    "{} ({} {} / {} {})",
                    c.number(rows as f64, 0),
                    c.number(read as f64, 0),
                    c.t("read", &[]).to_lowercase(),
                    c.number(rejected as f64, 0),
                    c.t("rejected", &[]).to_lowercase()
                ),
            ]
        })
        .collect();
    Section {
        id: "freshness".into(),
        heading: c.t("report_freshness_title", &[]),
        blocks: vec![Block::Table {
            caption: c.t(
                "report_freshness_caption",
                &[("version", &release.version.to_string())],
            ),
            header: vec![
                c.t("dataset", &[]),
                c.t("file", &[]),
                c.t("report_loaded", &[]),
                c.t("report_rows", &[]),
            ],
            rows,
            numeric: vec![false, false, false, true],
            wide: vec![false, true, false, true],
        }],
    }
}

fn methods(c: &Catalogue) -> Section {
    let mut items: Vec<String> = HEADLINES
        .iter()
        .filter_map(|id| registry::get(id))
        .map(|i| format!("{}: {}", c.t(&format!("fig_{}", i.id), &[]), label(c, i)))
        .collect();
    items.push(c.t("how_protected", &[]));
    items.push(c.t("idx_dissimilarity_explain", &[]));
    items.push(c.t("seg_changes_explain", &[]));
    Section {
        id: "methods".into(),
        heading: c.t("report_methods_title", &[]),
        blocks: vec![Block::Notes { items }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_back_across_years() {
        assert_eq!(months_before("2026-10", 12).as_deref(), Some("2025-10"));
        assert_eq!(months_before("2026-01", 1).as_deref(), Some("2025-12"));
        assert_eq!(months_before("2026-03", 14).as_deref(), Some("2025-01"));
    }

    #[test]
    fn class_breaks_are_quantiles_without_empty_classes() {
        assert_eq!(
            breaks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
            vec![2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(breaks(&[3.0, 3.0, 3.0]), vec![3.0]);
        assert_eq!(breaks(&[0.0, 0.0, 0.0, 5.0]), vec![0.0, 5.0]);
        assert!(breaks(&[]).is_empty());
    }
}
