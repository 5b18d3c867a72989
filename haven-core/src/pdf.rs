//! A small PDF writer for printed letters: A4 pages of text in the two standard Helvetica
//! faces (every PDF reader has them, so nothing is embedded), WinAnsi encoding (the Latin
//! letters of the languages Haven speaks, the euro sign and typographic quotes), paragraphs
//! wrapped to the measure by the fonts' own character widths, and a new page when a page is
//! full. PDF 1.4 as ISO 32000 describes it; `pdftotext` reads it back in the tests.

/// A run of text of one face.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph in the regular face, wrapped; an empty one is a blank line.
    Text(String),
    /// A paragraph in bold, wrapped.
    Bold(String),
    /// The rest of the document starts on a new page.
    PageBreak,
}

const PAGE_W: f64 = 595.28;
const PAGE_H: f64 = 841.89;
const MARGIN: f64 = 72.0;
const SIZE: f64 = 11.0;
const LEADING: f64 = 15.0;

/// Widths of Helvetica's characters 32 to 126, in thousandths of the font size (its AFM).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// A character in WinAnsiEncoding; `?` where it has none.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        '„' => 0x84,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '–' => 0x96,
        '—' => 0x97,
        '\t' => b' ',
        _ => b'?',
    }
}

/// The width of a text in points (bold a tenth wider: a safe bound for wrapping).
fn width(text: &str, bold: bool) -> f64 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let b = win_ansi(c);
            if (32..=126).contains(&b) {
                u32::from(HELVETICA[usize::from(b - 32)])
            } else {
                556
            }
        })
        .sum();
    let w = f64::from(units) * SIZE / 1000.0;
    if bold { w * 1.1 } else { w }
}

/// The lines of a paragraph at the measure (a word longer than a line is cut).
fn wrap(text: &str, bold: bool) -> Vec<String> {
    let measure = PAGE_W - 2.0 * MARGIN;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if width(&candidate, bold) <= measure {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word.to_string();
        while width(&rest, bold) > measure {
            let mut cut = rest.len();
            while cut > 1 && width(&rest[..cut], bold) > measure {
                cut = rest[..cut - 1]
                    .char_indices()
                    .last()
                    .map_or(1, |(i, c)| i + c.len_utf8());
            }
            lines.push(rest[..cut].to_string());
            rest = rest[cut..].to_string();
        }
        line = rest;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A PDF literal string: WinAnsi bytes with `(`, `)` and `\` escaped.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        let b = win_ansi(c);
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// Lays the blocks out on pages: each page the content stream that draws it.
fn pages(blocks: &[Block]) -> Vec<Vec<u8>> {
    let mut pages: Vec<Vec<u8>> = Vec::new();
    let mut page: Vec<u8> = Vec::new();
    let mut y = PAGE_H - MARGIN;
    let mut used = false;
    let flush = |page: &mut Vec<u8>, pages: &mut Vec<Vec<u8>>| {
        pages.push(std::mem::take(page));
    };
    for block in blocks {
        let (text, bold) = match block {
            Block::PageBreak => {
                flush(&mut page, &mut pages);
                y = PAGE_H - MARGIN;
                used = false;
                continue;
            }
            Block::Text(t) => (t, false),
            Block::Bold(t) => (t, true),
        };
        for line in wrap(text, bold) {
            if y < MARGIN {
                flush(&mut page, &mut pages);
                y = PAGE_H - MARGIN;
            }
            if !line.is_empty() {
                page.extend_from_slice(
                    format!(
                        "BT /{} {SIZE} Tf {MARGIN:.2} {y:.2} Td ",
                        if bold { "F2" } else { "F1" }
                    )
                    .as_bytes(),
                );
                page.extend(literal(&line));
                page.extend_from_slice(b" Tj ET\n");
            }
            y -= LEADING;
            used = true;
        }
    }
    if used || pages.is_empty() {
        flush(&mut page, &mut pages);
    }
    pages
}

/// The PDF of `blocks`, titled `title`.
pub fn document(title: &str, blocks: &[Block]) -> Vec<u8> {
    let contents = pages(blocks);
    let n = contents.len();
    // Objects: 1 catalogue, 2 page tree, 3 and 4 the fonts, 5 the document information, then
    // a page and its content stream for each page.
    let mut objects: Vec<Vec<u8>> = Vec::with_capacity(5 + 2 * n);
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 6 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    for face in ["Helvetica", "Helvetica-Bold"] {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{face} /Encoding /WinAnsiEncoding >>"
            )
            .into_bytes(),
        );
    }
    let mut info = b"<< /Producer (Haven) /Title ".to_vec();
    info.extend(literal(title));
    info.extend_from_slice(b" >>");
    objects.push(info);
    for (i, stream) in contents.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                7 + 2 * i
            )
            .into_bytes(),
        );
        let mut s = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        s.extend_from_slice(stream);
        s.extend_from_slice(b"\nendstream");
        objects.push(s);
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font_and_lines_keep_to_the_measure() {
        // Helvetica: "Hello" = H 722 + e 556 + l 222 + l 222 + o 556 = 2278 units.
        assert!((width("Hello", false) - 2278.0 * SIZE / 1000.0).abs() < 1e-9);
        let text = "word ".repeat(200);
        let lines = wrap(&text, false);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(width(l, false) <= PAGE_W - 2.0 * MARGIN, "{l}");
        }
        assert_eq!(
            lines.join(" ").split_whitespace().count(),
            200,
            "no word lost"
        );
        let long = "x".repeat(500);
        let cut = wrap(&long, true);
        assert_eq!(
            cut.concat(),
            long,
            "a word too long for a line is cut, not lost"
        );
    }

    #[test]
    fn strings_are_escaped_and_encoded() {
        assert_eq!(literal("a(b)\\c"), b"(a\\(b\\)\\\\c)".to_vec());
        assert_eq!(
            literal("€ é ë"),
            vec![b'(', 0x80, b' ', 0xe9, b' ', 0xeb, b')']
        );
        assert_eq!(literal("ŝ"), b"(?)".to_vec());
    }

    #[test]
    fn the_cross_reference_points_at_every_object() {
        let mut blocks = vec![Block::Bold("Title".into())];
        for _ in 0..120 {
            blocks.push(Block::Text("A line of the letter.".into()));
        }
        blocks.push(Block::PageBreak);
        blocks.push(Block::Text("Second letter".into()));
        let pdf = document("t", &blocks);
        let text = String::from_utf8_lossy(&pdf);
        // 47 lines to a page: 121 lines fill three pages, and the break starts a fourth.
        assert!(text.contains("/Count 4"));
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref"));
        // The header's binary comment makes `text` longer than the bytes: read from the bytes.
        let table = String::from_utf8_lossy(&pdf[start..]);
        let rows: Vec<&str> = table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .collect();
        assert_eq!(rows.len(), 5 + 2 * 4);
        for (i, row) in rows.iter().enumerate() {
            let at: usize = row[..10].parse().unwrap();
            assert!(
                pdf[at..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
    }
}
