//! The council report, driven through the `haven` binary and the HTTP API: on the demo, the
//! PDF's text (poppler's `pdftotext`) holds every headline figure equal to the API's, written as
//! Node's `Intl` writes numbers in each language; the HTML holds the same; the API gives the
//! bytes the command line wrote; bad requests are refused with what to change. And every
//! public answer links to how its figures were computed (provenance), which names the loads.

mod common;

use std::process::Command;

use common::{Env, get_json};
use serde_json::Value;

const LANGS: [&str; 3] = ["en", "nl", "fr"];
const HEADLINES: [&str; 6] = [
    "vacant_units",
    "ready_units",
    "activatable_90d_units",
    "cost_to_activate_90d_eur",
    "placements_active_households",
    "placements_active_persons",
];

fn catalogue(lang: &str) -> Value {
    let path = format!(
        "{}/dashboard/web/src/i18n/{lang}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Spaces of every kind as one plain space.
fn squeeze(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PDF's text as poppler's `pdftotext -layout` reads it: a table row is a line.
fn pdf_text(path: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext reads {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}

/// Each value written by Node's `Intl.NumberFormat` in `lang` as the report writes a value of
/// that unit: euros whole, counts whole. The outside reference for the formats.
fn intl(lang: &str, values: &[(f64, &str)]) -> Vec<String> {
    let script = format!(
        "const v = {}; console.log(JSON.stringify(v.map(([x, u]) => u === 'EUR' \
           ? new Intl.NumberFormat('{lang}', {{ style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }}).format(x) \
           : new Intl.NumberFormat('{lang}', {{ maximumFractionDigits: Number.isInteger(x) ? 0 : 2 }}).format(x))))",
        serde_json::to_string(
            &values
                .iter()
                .map(|(v, u)| serde_json::json!([v, u]))
                .collect::<Vec<_>>()
        )
        .unwrap()
    );
    let out = Command::new("node")
        .args(["-e", &script])
        .output()
        .expect("node is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn the_report_holds_the_headline_figures_of_the_api_in_each_language() {
    let env = Env::new();
    env.with_demo();
    let out = env.path("reports");
    let (server, url) = env.serve();
    // The API's municipal headline figures and their units.
    let registry = get_json(&format!("{url}/api/v1/indicators/registry"), None).1;
    let unit = |id: &str| {
        registry
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["unit"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (status, page) = get_json(
        &format!(
            "{url}/api/v1/indicators?level=municipality&indicator={}&limit=1000",
            HEADLINES.join(",")
        ),
        None,
    );
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    let period = items
        .iter()
        .map(|i| i["period"].as_str().unwrap())
        .max()
        .unwrap()
        .to_string();
    let now: Vec<&Value> = HEADLINES
        .iter()
        .map(|id| {
            items
                .iter()
                .find(|i| i["indicator"] == *id && i["period"] == period.as_str())
                .unwrap_or_else(|| panic!("{id} in {period}"))
        })
        .collect();
    let mut withheld = 0;
    for lang in LANGS {
        let cat = catalogue(lang);
        let expected: Vec<String> = {
            let shown: Vec<(f64, String)> = now
                .iter()
                .zip(HEADLINES)
                .filter(|(v, _)| !v["withheld"].as_bool().unwrap())
                .map(|(v, id)| (v["value"].as_f64().unwrap(), unit(id)))
                .collect();
            let args: Vec<(f64, &str)> = shown.iter().map(|(v, u)| (*v, u.as_str())).collect();
            let mut formatted = intl(lang, &args).into_iter();
            now.iter()
                .map(|v| {
                    if v["withheld"].as_bool().unwrap() {
                        cat["withheld"].as_str().unwrap().to_string()
                    } else {
                        formatted.next().unwrap()
                    }
                })
                .collect()
        };
        withheld = now.iter().filter(|v| v["withheld"] == true).count();
        // The command line, beside the running server, and the API give the same files.
        let run = env
            .run(&[
                "report",
                "--period",
                &period,
                "--lang",
                lang,
                "--out",
                out.to_str().unwrap(),
            ])
            .ok();
        let pdf = out.join(format!("haven-report-{period}-{lang}.pdf"));
        let html = out.join(format!("haven-report-{period}-{lang}.html"));
        assert!(run.stdout().contains(&pdf.display().to_string()));
        let layout = pdf_text(&pdf);
        let lines: Vec<String> = layout.lines().map(squeeze).collect();
        let text = squeeze(&layout);
        let page = std::fs::read_to_string(&html).unwrap();
        for ((id, v), shown) in HEADLINES.iter().zip(&now).zip(&expected) {
            let title = cat[format!("fig_{id}")].as_str().unwrap();
            // On one line: the figure's row of the table.
            let want = squeeze(&format!("{title} {shown}"));
            assert!(
                lines.iter().any(|l| l.contains(&want)),
                "{lang}: the PDF has \"{want}\" ({id} = {})\n{layout}",
                v["value"]
            );
            let cell = format!(
                "<td>{}</td><td class=\"n\">{}</td>",
                html_escape(title),
                html_escape(shown)
            );
            assert!(page.contains(&cell), "{lang}: the HTML has {cell}");
        }
        // The report's month in the language's words, as Intl writes it.
        let month = {
            let (y, m) = period.split_once('-').unwrap();
            let script = format!(
                "console.log(new Intl.DateTimeFormat('{lang}', {{ month: 'long', year: 'numeric', timeZone: 'UTC' }}).format(Date.UTC({y}, {} - 1, 1)))",
                m.trim_start_matches('0')
            );
            let o = Command::new("node").args(["-e", &script]).output().unwrap();
            String::from_utf8(o.stdout).unwrap().trim().to_string()
        };
        assert!(text.contains(&month), "{lang}: {month}");
        // The sections a council asks for, by their catalogue headings.
        for key in [
            "headline_figures",
            "report_map_title",
            "seg_title",
            "scenario_title",
            "forecast_title",
            "pipeline_title",
            "report_freshness_title",
            "report_methods_title",
        ] {
            let heading = squeeze(cat[key].as_str().unwrap());
            assert!(text.contains(&heading), "{lang}: section {heading}");
        }
        let api = |format: &str| {
            let mut res = ureq::get(format!(
                "{url}/api/v1/report?period={period}&lang={lang}&format={format}"
            ))
            .call()
            .unwrap();
            res.body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_vec()
                .unwrap()
        };
        assert_eq!(api("pdf"), std::fs::read(&pdf).unwrap(), "{lang}: API PDF");
        assert_eq!(api("html"), page.into_bytes(), "{lang}: API HTML");
    }
    eprintln!("{withheld} of the headline figures are withheld in {period}");
    drop(server);

    // Without a server the command line renders the same bytes itself.
    let alone = env.path("alone");
    env.run(&[
        "report",
        "--lang",
        "nl",
        "--format",
        "pdf",
        "--out",
        alone.to_str().unwrap(),
    ])
    .ok();
    let name = format!("haven-report-{period}-nl.pdf");
    assert_eq!(
        std::fs::read(alone.join(&name)).unwrap(),
        std::fs::read(out.join(&name)).unwrap(),
        "the default month is the latest published, and the PDF is the same every time"
    );
}

#[test]
fn bad_requests_are_refused_with_what_to_change() {
    let env = Env::new();
    env.with_districts();
    let none = env.run(&["report"]);
    assert_ne!(none.code(), 0);
    assert!(
        none.stderr().contains("no release has been published yet"),
        "{}",
        none.stderr()
    );
    env.with_demo();
    let lang = env.run(&["report", "--lang", "xx"]);
    assert_ne!(lang.code(), 0);
    assert!(
        lang.stderr().contains("no language 'xx'") && lang.stderr().contains("en, fr, nl"),
        "{}",
        lang.stderr()
    );
    let late = env.run(&["report", "--period", "2039-01"]);
    assert_ne!(late.code(), 0);
    assert!(
        late.stderr().contains("not for 2039-01"),
        "{}",
        late.stderr()
    );
    let bad = env.run(&["report", "--period", "October"]);
    assert_ne!(bad.code(), 0);
    assert!(bad.stderr().contains("period"), "{}", bad.stderr());
    let (_server, url) = env.serve();
    for (query, status) in [
        ("lang=xx", 400),
        ("format=docx", 400),
        ("period=2039-01", 404),
        ("colour=red", 400),
    ] {
        let (got, body) = get_json(&format!("{url}/api/v1/report?{query}"), None);
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["detail"].is_string(), "{query}: {body}");
    }
}

#[test]
fn every_answer_links_to_how_its_figures_were_computed() {
    let env = Env::new();
    env.with_demo();
    let (_server, url) = env.serve();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // Indicator answers link to each indicator's provenance in a Link header.
    let res = agent
        .get(format!(
            "{url}/api/v1/indicators?level=municipality&indicator=vacant_units,placements_active_persons&limit=2"
        ))
        .call()
        .unwrap();
    let link = res.headers().get("link").unwrap().to_str().unwrap();
    assert_eq!(
        link,
        "</api/v1/provenance/vacant_units>; rel=\"describedby\", </api/v1/provenance/placements_active_persons>; rel=\"describedby\""
    );
    let latest = get_json(&format!("{url}/api/v1/releases"), None).1[0]["version"].clone();
    let mut links = vec!["/api/v1/provenance/vacant_units".to_string()];
    // The derived figures carry theirs in the answer.
    for (path, figure) in [
        ("/api/v1/segregation?limit=1", "segregation"),
        (
            "/api/v1/segregation/location-quotients?group=placed_persons",
            "segregation",
        ),
        ("/api/v1/scenario?inflow=50", "scenario"),
        ("/api/v1/forecast?months=3", "forecast"),
        ("/api/v1/forecast/backtest", "forecast"),
        ("/api/v1/pipeline", "pipeline"),
    ] {
        let (status, body) = get_json(&format!("{url}{path}"), None);
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            body["provenance"],
            format!("/api/v1/provenance/{figure}"),
            "{path}"
        );
        links.push(body["provenance"].as_str().unwrap().to_string());
    }
    for link in links {
        let (status, p) = get_json(&format!("{url}{link}"), None);
        assert_eq!(status, 200, "{link}: {p}");
        assert_eq!(p["release"]["version"], latest, "{link}");
        assert!(!p["formula"].as_str().unwrap().is_empty(), "{link}");
        let sources = p["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{link}: {p}");
        for s in sources {
            // A personal dataset is named, its loads never described.
            if s["personal"] == true {
                assert_eq!(s["loads"], serde_json::json!([]), "{link}");
            } else {
                assert!(s["loads"][0]["batch"].as_i64().unwrap() > 0, "{link}: {s}");
            }
        }
    }
    let (_, seg) = get_json(&format!("{url}/api/v1/provenance/segregation"), None);
    let datasets: Vec<&str> = seg["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dataset"].as_str().unwrap())
        .collect();
    assert!(datasets.contains(&"population") && datasets.contains(&"placements"));
    assert_eq!(seg["protected"], true);
    assert_eq!(seg["analyses"][0]["part"], "segregation");
    let (status, body) = get_json(&format!("{url}/api/v1/provenance/nonsense"), None);
    assert_eq!(status, 404);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("segregation, scenario, forecast, pipeline"),
        "{body}"
    );
}
