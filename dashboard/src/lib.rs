//! Haven dashboard: the web front end, built by `build.rs` (npm, esbuild) and embedded in the
//! `haven` binary. The API crate serves [`index_html`] at `/` and [`asset`] at `/assets/{name}`.

/// One embedded file of the dashboard.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    /// A strong ETag of the content (quoted).
    pub etag: &'static str,
    pub body: &'static [u8],
    /// The same content, gzipped.
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The embedded file of this name (`app.js`, `maplibre-gl.mjs`, ...).
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS
        .iter()
        .find(|a| a.name == name && a.name != "index.html")
}

/// What the page shows: one municipality (`haven serve`) or a region's municipalities read
/// from its lake (`haven serve --region`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Municipality,
    Region,
}

/// The page shell, with the basemap style URL of the deployment (empty: the districts over a
/// plain background, no outside tiles).
pub fn index_html(basemap_style: &str) -> String {
    page(basemap_style, Mode::Municipality)
}

/// The page shell in `mode`.
pub fn page(basemap_style: &str, mode: Mode) -> String {
    let shell = ASSETS
        .iter()
        .find(|a| a.name == "index.html")
        .map(|a| String::from_utf8_lossy(a.body).into_owned())
        .unwrap_or_default();
    let mode = match mode {
        Mode::Municipality => "municipality",
        Mode::Region => "region",
    };
    shell
        .replace("{{BASEMAP_STYLE}}", &escape_attr(basemap_style))
        .replace("{{MODE}}", mode)
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_embedded_and_within_its_weight() {
        for name in [
            "app.js",
            "app.css",
            "maplibre-gl.mjs",
            "maplibre-gl-worker.mjs",
            "maplibre-gl.css",
        ] {
            let a = asset(name).unwrap_or_else(|| panic!("{name} is embedded"));
            assert!(!a.body.is_empty() && !a.gzip.is_empty(), "{name}");
        }
        // JavaScript and CSS under 700 KB gzipped in total, MapLibre included.
        let total: usize = ASSETS
            .iter()
            .filter(|a| {
                a.name.ends_with(".js") || a.name.ends_with(".mjs") || a.name.ends_with(".css")
            })
            .map(|a| a.gzip.len())
            .sum();
        println!(
            "JavaScript and CSS: {:.0} KB gzipped",
            total as f64 / 1024.0
        );
        assert!(total < 700 * 1024, "{total} bytes gzipped");
        assert!(
            asset("index.html").is_none(),
            "the shell is served only at /"
        );
    }

    #[test]
    fn the_basemap_url_is_escaped_into_the_shell() {
        let html = index_html("https://example.org/style.json?a=1&b=\"2\"");
        assert!(
            html.contains("content=\"https://example.org/style.json?a=1&amp;b=&quot;2&quot;\"")
        );
        assert!(!html.contains("{{BASEMAP_STYLE}}"));
    }
}
