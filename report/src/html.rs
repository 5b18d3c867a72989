//! The report as one self-contained HTML page (styles and drawings inline, nothing fetched),
//! with the same text as the PDF.

use std::fmt::Write;

use crate::{Block, Document};

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Keeps only a `#rrggbb` colour; anything else becomes grey.
fn colour(c: &str) -> &str {
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { c } else { "#999999" }
}

const STYLE: &str = "body{font:16px/1.5 Georgia,'Libertinus Serif',serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.8rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ccc}\
.subtitle{font-size:1.1rem;margin-top:0}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}\
caption{text-align:left;font-weight:bold;padding:.3rem 0}th,td{padding:.2rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}\
th{text-align:left;border-bottom:2px solid #333}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1rem 0}figure svg{width:100%;height:auto}figcaption{font-size:.9rem;color:#444}\
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;padding:0;list-style:none;font-size:.9rem}\
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;border:1px solid #666;vertical-align:middle}\
.notes{font-size:.9rem;color:#333}footer{margin-top:2rem;font-size:.85rem;color:#555;border-top:1px solid #ccc}";

/// The document as an HTML page.
pub fn html(doc: &Document) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><main><h1>{}</h1><p class=\"subtitle\">{}</p>",
        esc(&doc.lang),
        esc(&format!("{}: {}", doc.title, doc.subtitle)),
        esc(&doc.title),
        esc(&doc.subtitle)
    );
    for p in &doc.lead {
        let _ = write!(h, "<p>{}</p>", esc(p));
    }
    for s in &doc.sections {
        let _ = write!(
            h,
            "<section id=\"{}\" aria-labelledby=\"h-{0}\"><h2 id=\"h-{0}\">{}</h2>",
            esc(&s.id),
            esc(&s.heading)
        );
        for b in &s.blocks {
            block(&mut h, b);
        }
        h.push_str("</section>");
    }
    let _ = writeln!(
        h,
        "</main><footer><p>{}</p></footer></body></html>",
        esc(&doc.footer)
    );
    h
}

fn block(h: &mut String, b: &Block) {
    match b {
        Block::Paragraph { text } => {
            let _ = write!(h, "<p>{}</p>", esc(text));
        }
        Block::Table {
            caption,
            header,
            rows,
            numeric,
            ..
        } => {
            let class = |i: usize| {
                if numeric.get(i).copied().unwrap_or(false) {
                    " class=\"n\""
                } else {
                    ""
                }
            };
            let _ = write!(h, "<table><caption>{}</caption><thead><tr>", esc(caption));
            for (i, c) in header.iter().enumerate() {
                let _ = write!(h, "<th scope=\"col\"{}>{}</th>", class(i), esc(c));
            }
            h.push_str("</tr></thead><tbody>");
            for r in rows {
                h.push_str("<tr>");
                for (i, c) in r.iter().enumerate() {
                    let _ = write!(h, "<td{}>{}</td>", class(i), esc(c));
                }
                h.push_str("</tr>");
            }
            h.push_str("</tbody></table>");
        }
        Block::Image { svg, alt, caption } => {
            // The drawing is Haven's own SVG (no script, no text from the data); it is
            // labelled by its text alternative.
            let _ = write!(
                h,
                "<figure role=\"img\" aria-label=\"{}\">{svg}<figcaption>{}</figcaption></figure>",
                esc(alt),
                esc(caption)
            );
        }
        Block::Legend { title, items } => {
            let _ = write!(
                h,
                "<p class=\"legend-title\">{}</p><ul class=\"legend\">",
                esc(title)
            );
            for (c, label) in items {
                let _ = write!(
                    h,
                    "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                    colour(c),
                    esc(label)
                );
            }
            h.push_str("</ul>");
        }
        Block::Notes { items } => {
            h.push_str("<ul class=\"notes\">");
            for n in items {
                let _ = write!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Section;

    #[test]
    fn text_from_the_data_is_escaped_everywhere() {
        let evil = "<script>alert(1)</script>\"'&";
        let doc = Document {
            lang: "en".into(),
            title: evil.into(),
            subtitle: evil.into(),
            lead: vec![evil.into()],
            sections: vec![Section {
                id: "s".into(),
                heading: evil.into(),
                blocks: vec![
                    Block::Paragraph { text: evil.into() },
                    Block::Table {
                        caption: evil.into(),
                        header: vec![evil.into()],
                        rows: vec![vec![evil.into()]],
                        numeric: vec![true],
                        wide: vec![],
                    },
                    Block::Legend {
                        title: evil.into(),
                        items: vec![("red;background:url(x)".into(), evil.into())],
                    },
                    Block::Notes {
                        items: vec![evil.into()],
                    },
                ],
            }],
            footer: evil.into(),
            ident: "x".into(),
        };
        let out = html(&doc);
        assert!(!out.contains("<script"), "{out}");
        assert!(!out.contains("url(x)"), "{out}");
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    }
}
