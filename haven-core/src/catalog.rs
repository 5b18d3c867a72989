//! The DCAT-AP 3 catalogue of the open-data releases, as JSON-LD or Turtle from one graph.
//! Every published dataset is a `dcat:DatasetSeries`; each release of it is a `dcat:Dataset`
//! in that series (`dcat:inSeries`, `dcat:prev`), whose distributions are the release's files
//! with access and download URL, format, media type, byte size and SHA-256.

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::{Map, Value, json};

use crate::geometry::Bbox;
use crate::publish::{DATASETS, FileEntry, Manifest};

const PREFIXES: &[(&str, &str)] = &[
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("spdx", "http://spdx.org/rdf/terms#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("gsp", "http://www.opengis.net/ont/geosparql#"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("dcatap", "http://data.europa.eu/r5r/"),
    ("adms", "http://www.w3.org/ns/adms#"),
];

const EU: &str = "http://publications.europa.eu/resource/authority";

/// An RDF term.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Iri(String),
    Blank(String),
    /// A literal with a datatype (a prefixed name such as `xsd:date`) or a language.
    Literal {
        value: String,
        datatype: Option<&'static str>,
        lang: Option<&'static str>,
    },
}

fn iri(s: impl Into<String>) -> Term {
    Term::Iri(s.into())
}
fn en(s: impl Into<String>) -> Term {
    Term::Literal {
        value: s.into(),
        datatype: None,
        lang: Some("en"),
    }
}
fn typed(s: impl Into<String>, datatype: &'static str) -> Term {
    Term::Literal {
        value: s.into(),
        datatype: Some(datatype),
        lang: None,
    }
}
fn plain(s: impl Into<String>) -> Term {
    Term::Literal {
        value: s.into(),
        datatype: None,
        lang: None,
    }
}

/// Triples grouped by subject, in the order they were added.
#[derive(Default)]
struct Graph {
    subjects: Vec<Term>,
    properties: HashMap<String, Vec<(&'static str, Term)>>,
    blanks: usize,
}

fn key(t: &Term) -> String {
    match t {
        Term::Iri(i) => i.clone(),
        Term::Blank(b) => format!("_:{b}"),
        Term::Literal { value, .. } => value.clone(),
    }
}

impl Graph {
    fn add(&mut self, s: &Term, p: &'static str, o: Term) {
        let k = key(s);
        if !self.properties.contains_key(&k) {
            self.subjects.push(s.clone());
        }
        self.properties.entry(k).or_default().push((p, o));
    }
    fn blank(&mut self) -> Term {
        self.blanks += 1;
        Term::Blank(format!("b{}", self.blanks))
    }

    fn turtle(&self) -> String {
        let mut out = String::new();
        for (p, ns) in PREFIXES {
            let _ = writeln!(out, "@prefix {p}: <{ns}> .");
        }
        for s in &self.subjects {
            out.push('\n');
            out.push_str(&turtle_term(s));
            let props = &self.properties[&key(s)];
            for (i, (p, o)) in props.iter().enumerate() {
                let p = if *p == "rdf:type" { "a" } else { p };
                let end = if i + 1 == props.len() { " ." } else { " ;" };
                let _ = write!(out, "\n    {p} {}{end}", turtle_term(o));
            }
            out.push('\n');
        }
        out
    }

    fn json_ld(&self) -> Value {
        let context: Map<String, Value> = PREFIXES
            .iter()
            .map(|(p, ns)| (p.to_string(), json!(ns)))
            .collect();
        let graph: Vec<Value> = self
            .subjects
            .iter()
            .map(|s| {
                let mut node = Map::new();
                node.insert("@id".into(), json!(key(s)));
                for (p, o) in &self.properties[&key(s)] {
                    let (k, v) = if *p == "rdf:type" {
                        ("@type".to_string(), json!(key(o)))
                    } else {
                        (p.to_string(), json_term(o))
                    };
                    match node.get_mut(&k) {
                        Some(Value::Array(a)) => a.push(v),
                        _ => {
                            node.insert(k, json!([v]));
                        }
                    }
                }
                Value::Object(node)
            })
            .collect();
        json!({"@context": context, "@graph": graph})
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

fn turtle_term(t: &Term) -> String {
    match t {
        Term::Iri(i) => format!("<{}>", i.replace('>', "%3E")),
        Term::Blank(b) => format!("_:{b}"),
        Term::Literal {
            value,
            datatype,
            lang,
        } => {
            let mut s = format!("\"{}\"", escape(value));
            if let Some(l) = lang {
                s.push('@');
                s.push_str(l);
            } else if let Some(d) = datatype {
                s.push_str("^^");
                s.push_str(d);
            }
            s
        }
    }
}

fn json_term(t: &Term) -> Value {
    match t {
        Term::Iri(_) | Term::Blank(_) => json!({"@id": key(t)}),
        Term::Literal {
            value,
            datatype,
            lang,
        } => {
            let mut v = json!({"@value": value});
            if let Some(l) = lang {
                v["@language"] = json!(l);
            } else if let Some(d) = datatype {
                v["@type"] = json!(d);
            }
            v
        }
    }
}

/// The serialisations of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    JsonLd,
    Turtle,
}

/// A loaded dataset that is not current, and why.
#[derive(Debug, Clone)]
pub struct Stale {
    pub dataset: String,
    pub reason: String,
}

/// The catalogue of `releases` (oldest first), with IRIs under `base` (scheme and host); the
/// series built on a `stale` dataset say so.
pub fn catalog(base: &str, releases: &[Manifest], stale: &[Stale], syntax: Syntax) -> String {
    let mut g = graph(base, releases);
    let api = format!("{base}/api/v1");
    for spec in DATASETS {
        let sources = spec.sources();
        let notes: Vec<String> = stale
            .iter()
            .filter(|s| sources.contains(&s.dataset.as_str()))
            .map(|s| format!("{}: {}", s.dataset, s.reason))
            .collect();
        if !notes.is_empty() {
            let series = iri(format!("{api}/datasets/{}", spec.id));
            g.add(
                &series,
                "adms:versionNotes",
                en(format!("Stale: {}.", notes.join("; "))),
            );
        }
    }
    match syntax {
        Syntax::Turtle => g.turtle(),
        Syntax::JsonLd => serde_json::to_string_pretty(&g.json_ld()).unwrap_or_default(),
    }
}

/// A municipality's current release in a region's lake, for the region's catalogue.
#[derive(Debug, Clone)]
pub struct RegionRelease {
    pub code: String,
    pub manifest: Manifest,
}

/// Who publishes the region's catalogue (the reader's `[release]` settings).
#[derive(Debug, Clone)]
pub struct RegionPublisher {
    pub name: String,
    pub contact: String,
    pub licence: String,
}

/// The region's catalogue (DCAT-AP 3): a dataset series per municipality, holding a dataset
/// for each table of its current release, each with its rows as CSV from the region's
/// readers (`{base}/api/v1/m/{code}/data/{id}.csv`), published by the municipality.
pub fn region_catalog(
    base: &str,
    region: &[RegionRelease],
    by: &RegionPublisher,
    syntax: Syntax,
) -> String {
    let mut g = Graph::default();
    let api = format!("{base}/api/v1");
    let cat = iri(format!("{api}/region/catalog"));
    let publisher = iri(format!("{api}/region/catalog#publisher"));
    g.add(&cat, "rdf:type", iri(format!("{}Catalog", PREFIXES[0].1)));
    g.add(
        &cat,
        "dct:title",
        en("Housing preparedness of the region's municipalities: open data"),
    );
    g.add(&cat, "dct:description", en("Each municipality's latest open data release, as its own Haven published it (aggregated, privacy-safe figures on vacant housing, social housing, landlord incentives, placements of newcomers and segregation), one dataset series per municipality."));
    g.add(&cat, "dct:publisher", publisher.clone());
    g.add(
        &publisher,
        "rdf:type",
        iri("http://xmlns.com/foaf/0.1/Agent"),
    );
    g.add(&publisher, "foaf:name", en(&by.name));
    g.add(
        &publisher,
        "foaf:mbox",
        iri(format!("mailto:{}", by.contact)),
    );
    g.add(&cat, "foaf:homepage", iri(format!("{base}/")));
    g.add(&cat, "dct:language", iri(format!("{EU}/language/ENG")));
    g.add(&cat, "dcat:themeTaxonomy", iri(format!("{EU}/data-theme")));
    g.add(&cat, "dct:license", iri(&by.licence));
    let dates: Vec<&str> = region
        .iter()
        .map(|r| r.manifest.published_at.as_str())
        .collect();
    if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
        g.add(&cat, "dct:issued", typed(*first, "xsd:dateTime"));
        g.add(&cat, "dct:modified", typed(*last, "xsd:dateTime"));
    }
    let boxes: Vec<Bbox> = region.iter().filter_map(|r| r.manifest.bbox).collect();
    if let Some(b) = crate::geometry::union(boxes) {
        let l = iri(format!("{api}/region/catalog#coverage"));
        g.add(&l, "rdf:type", iri("http://purl.org/dc/terms/Location"));
        g.add(&l, "dcat:bbox", typed(wkt(&b), "gsp:wktLiteral"));
        g.add(&cat, "dct:spatial", l);
    }
    for r in region {
        let m = &r.manifest;
        let home = format!("{api}/m/{}", r.code);
        let series = iri(format!("{home}/series"));
        let own = iri(format!("{home}#publisher"));
        g.add(&own, "rdf:type", iri("http://xmlns.com/foaf/0.1/Agent"));
        g.add(&own, "foaf:name", en(&m.publisher));
        g.add(
            &own,
            "dct:type",
            iri("http://purl.org/adms/publishertype/LocalAuthority"),
        );
        let location = m.bbox.map(|b| {
            let l = iri(format!("{home}#coverage"));
            g.add(&l, "rdf:type", iri("http://purl.org/dc/terms/Location"));
            g.add(&l, "dcat:bbox", typed(wkt(&b), "gsp:wktLiteral"));
            l
        });
        g.add(&cat, "dcat:dataset", series.clone());
        g.add(
            &series,
            "rdf:type",
            iri("http://www.w3.org/ns/dcat#DatasetSeries"),
        );
        g.add(
            &series,
            "dct:title",
            en(format!("Open data of {} ({})", m.publisher, r.code)),
        );
        g.add(
            &series,
            "dct:description",
            en(format!(
                "The housing-preparedness datasets of municipality {}, release {} of {}.",
                r.code, m.version, m.published_at
            )),
        );
        g.add(&series, "dct:identifier", plain(&r.code));
        g.add(&series, "dct:publisher", own.clone());
        g.add(
            &series,
            "dct:modified",
            typed(&m.published_at, "xsd:dateTime"),
        );
        if let Some(l) = &location {
            g.add(&series, "dct:spatial", l.clone());
        }
        for spec in DATASETS {
            if !m.datasets.iter().any(|d| d.id == spec.id) {
                continue;
            }
            let ds = iri(format!("{home}/datasets/{}", spec.id));
            g.add(&cat, "dcat:dataset", ds.clone());
            g.add(&ds, "rdf:type", iri("http://www.w3.org/ns/dcat#Dataset"));
            describe(
                &mut g,
                &ds,
                &format!("{}: {} ({})", spec.title, m.publisher, r.code),
                spec,
                Some(m),
                location.as_ref(),
                &own,
            );
            g.add(&ds, "dcat:inSeries", series.clone());
            g.add(&ds, "dcat:version", plain(m.version.to_string()));
            g.add(&ds, "dct:issued", typed(&m.published_at, "xsd:dateTime"));
            let d = iri(format!("{home}/datasets/{}#csv", spec.id));
            let url = iri(format!("{home}/data/{}.csv", spec.id));
            g.add(&ds, "dcat:distribution", d.clone());
            g.add(
                &d,
                "rdf:type",
                iri("http://www.w3.org/ns/dcat#Distribution"),
            );
            g.add(&d, "dct:title", en(format!("{}.csv", spec.id)));
            g.add(&d, "dct:description", en(format!("CSV (UTF-8, header row) of release {} as the region's lake holds it, with its municipality and release columns", m.version)));
            g.add(
                &d,
                "dcatap:availability",
                iri(format!("{EU}/planned-availability/AVAILABLE")),
            );
            g.add(&d, "dcat:accessURL", url.clone());
            g.add(&d, "dcat:downloadURL", url);
            g.add(&d, "dct:format", iri(format!("{EU}/file-type/CSV")));
            g.add(&d, "dcat:mediaType", iri(media_type_iri("text/csv")));
            g.add(&d, "dct:license", iri(&m.licence));
            g.add(&d, "dct:issued", typed(&m.published_at, "xsd:dateTime"));
        }
    }
    match syntax {
        Syntax::Turtle => g.turtle(),
        Syntax::JsonLd => serde_json::to_string_pretty(&g.json_ld()).unwrap_or_default(),
    }
}

fn media_type_iri(m: &str) -> String {
    format!("https://www.iana.org/assignments/media-types/{m}")
}

/// `POLYGON` of a bounding box, for `dcat:bbox`.
fn wkt(b: &[f64; 4]) -> String {
    format!(
        "POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))",
        b[0], b[1], b[2], b[3]
    )
}

/// The last day of a `YYYY-MM` month.
fn month_end(period: &str) -> String {
    let (y, m) = period.split_once('-').unwrap_or((period, "12"));
    let (y, m): (i32, u32) = (y.parse().unwrap_or(1970), m.parse().unwrap_or(12));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    format!("{y:04}-{m:02}-{days}")
}

fn graph(base: &str, releases: &[Manifest]) -> Graph {
    let mut g = Graph::default();
    let api = format!("{base}/api/v1");
    let cat = iri(format!("{api}/catalog"));
    let latest = releases.last();
    let publisher = iri(format!("{api}/catalog#publisher"));
    g.add(&cat, "rdf:type", iri(format!("{}Catalog", PREFIXES[0].1)));
    g.add(
        &cat,
        "dct:title",
        en("Municipal housing preparedness: open data"),
    );
    g.add(&cat, "dct:description", en("Aggregated, privacy-safe open data on vacant housing, social housing, landlord incentives, placements of newcomers and residential segregation, published in versioned, immutable releases."));
    g.add(&cat, "dct:publisher", publisher.clone());
    g.add(&cat, "foaf:homepage", iri(format!("{base}/")));
    g.add(&cat, "dct:language", iri(format!("{EU}/language/ENG")));
    g.add(&cat, "dcat:themeTaxonomy", iri(format!("{EU}/data-theme")));
    if let Some(m) = latest {
        g.add(&cat, "dct:license", iri(&m.licence));
        g.add(&cat, "dct:modified", typed(&m.published_at, "xsd:dateTime"));
        g.add(
            &cat,
            "dct:issued",
            typed(&releases[0].published_at, "xsd:dateTime"),
        );
        g.add(
            &publisher,
            "rdf:type",
            iri("http://xmlns.com/foaf/0.1/Agent"),
        );
        g.add(&publisher, "foaf:name", en(&m.publisher));
        g.add(
            &publisher,
            "dct:type",
            iri("http://purl.org/adms/publishertype/LocalAuthority"),
        );
    }
    let location = latest.and_then(|m| m.bbox).map(|b| {
        let l = iri(format!("{api}/catalog#coverage"));
        g.add(&l, "rdf:type", iri("http://purl.org/dc/terms/Location"));
        g.add(&l, "dcat:bbox", typed(wkt(&b), "gsp:wktLiteral"));
        g.add(&cat, "dct:spatial", l.clone());
        l
    });
    for spec in DATASETS {
        let series = iri(format!("{api}/datasets/{}", spec.id));
        g.add(&cat, "dcat:dataset", series.clone());
        g.add(
            &series,
            "rdf:type",
            iri("http://www.w3.org/ns/dcat#DatasetSeries"),
        );
        describe(
            &mut g,
            &series,
            spec.title,
            spec,
            latest,
            location.as_ref(),
            &publisher,
        );
        let mut previous: Option<Term> = None;
        for m in releases {
            let Some(files) = m.datasets.iter().find(|d| d.id == spec.id) else {
                continue;
            };
            let ds = iri(format!("{api}/datasets/{}/releases/{}", spec.id, m.version));
            g.add(&cat, "dcat:dataset", ds.clone());
            g.add(&ds, "rdf:type", iri("http://www.w3.org/ns/dcat#Dataset"));
            describe(
                &mut g,
                &ds,
                &format!("{} (release {})", spec.title, m.version),
                spec,
                Some(m),
                location.as_ref(),
                &publisher,
            );
            g.add(&ds, "dcat:inSeries", series.clone());
            g.add(&ds, "dcat:version", plain(m.version.to_string()));
            g.add(&ds, "dct:issued", typed(&m.published_at, "xsd:dateTime"));
            if let Some(p) = &previous {
                g.add(&ds, "dcat:prev", p.clone());
            } else {
                g.add(&series, "dcat:first", ds.clone());
            }
            for f in &files.files {
                let d = iri(format!(
                    "{api}/datasets/{}/releases/{}#{}",
                    spec.id,
                    m.version,
                    f.format.to_lowercase()
                ));
                g.add(&ds, "dcat:distribution", d.clone());
                distribution(&mut g, &d, &api, m, f);
            }
            previous = Some(ds);
        }
        if let Some(last) = previous {
            g.add(&series, "dcat:last", last);
        }
    }
    g
}

/// The properties a series and its releases share.
fn describe(
    g: &mut Graph,
    s: &Term,
    title: &str,
    spec: &crate::publish::Spec,
    release: Option<&Manifest>,
    location: Option<&Term>,
    publisher: &Term,
) {
    g.add(s, "dct:title", en(title));
    g.add(s, "dct:description", en(spec.description));
    for k in spec.keywords {
        g.add(s, "dcat:keyword", en(*k));
    }
    for t in spec.themes {
        g.add(s, "dcat:theme", iri(format!("{EU}/data-theme/{t}")));
    }
    if let Some(l) = location {
        g.add(s, "dct:spatial", l.clone());
    }
    let Some(m) = release else { return };
    g.add(s, "dct:publisher", publisher.clone());
    g.add(s, "dct:modified", typed(&m.published_at, "xsd:dateTime"));
    let contact = g.blank();
    g.add(s, "dcat:contactPoint", contact.clone());
    g.add(
        &contact,
        "rdf:type",
        iri("http://www.w3.org/2006/vcard/ns#Organization"),
    );
    g.add(&contact, "vcard:fn", plain(&m.publisher));
    g.add(
        &contact,
        "vcard:hasEmail",
        iri(format!("mailto:{}", m.contact)),
    );
    if let Some([from, to]) = &m.temporal {
        let t = g.blank();
        g.add(s, "dct:temporal", t.clone());
        g.add(&t, "rdf:type", iri("http://purl.org/dc/terms/PeriodOfTime"));
        g.add(
            &t,
            "dcat:startDate",
            typed(format!("{from}-01"), "xsd:date"),
        );
        g.add(&t, "dcat:endDate", typed(month_end(to), "xsd:date"));
    }
}

fn distribution(g: &mut Graph, d: &Term, api: &str, m: &Manifest, f: &FileEntry) {
    let url = iri(format!("{api}/releases/{}/{}", m.version, f.name));
    g.add(d, "rdf:type", iri("http://www.w3.org/ns/dcat#Distribution"));
    g.add(d, "dct:title", en(&f.name));
    let what = match f.format.as_str() {
        "CSV" => "CSV (UTF-8, header row; add ?hxl=true for the HXL hashtag row)",
        "PARQUET" if f.name.starts_with("districts") => "GeoParquet (WKB boundaries, WGS84)",
        "PARQUET" => "Apache Parquet",
        "GEOJSON" => "GeoJSON (RFC 7946, WGS84)",
        _ => "JSON",
    };
    g.add(
        d,
        "dct:description",
        en(format!(
            "{what}, release {} of {}",
            m.version, m.published_at
        )),
    );
    g.add(
        d,
        "dcatap:availability",
        iri(format!("{EU}/planned-availability/STABLE")),
    );
    g.add(d, "dcat:accessURL", url.clone());
    g.add(d, "dcat:downloadURL", url);
    g.add(d, "dct:format", iri(format!("{EU}/file-type/{}", f.format)));
    g.add(d, "dcat:mediaType", iri(media_type_iri(&f.media_type)));
    g.add(
        d,
        "dcat:byteSize",
        typed(f.bytes.to_string(), "xsd:nonNegativeInteger"),
    );
    g.add(d, "dct:license", iri(&m.licence));
    g.add(d, "dct:issued", typed(&m.published_at, "xsd:dateTime"));
    if f.format == "GEOJSON" {
        g.add(
            d,
            "dct:conformsTo",
            iri("https://www.rfc-editor.org/rfc/rfc7946"),
        );
    }
    let sum = g.blank();
    g.add(d, "spdx:checksum", sum.clone());
    g.add(&sum, "rdf:type", iri("http://spdx.org/rdf/terms#Checksum"));
    g.add(
        &sum,
        "spdx:algorithm",
        iri("http://spdx.org/rdf/terms#checksumAlgorithm_sha256"),
    );
    g.add(
        &sum,
        "spdx:checksumValue",
        typed(&f.sha256, "xsd:hexBinary"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped_and_month_ends_are_right() {
        assert_eq!(
            turtle_term(&en("a \"quoted\"\nline")),
            r#""a \"quoted\"\nline"@en"#
        );
        assert_eq!(month_end("2024-02"), "2024-02-29");
        assert_eq!(month_end("2023-02"), "2023-02-28");
        assert_eq!(month_end("2026-11"), "2026-11-30");
    }
}
