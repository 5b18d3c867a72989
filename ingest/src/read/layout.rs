//! Where the table is in a sheet or a CSV as officers export them: title, note and blank rows
//! above the header, a totals row or notes below the data. The header is the row whose cells
//! best match the dataset's column names and aliases; what is skipped is said, never dropped in
//! silence.

use std::collections::HashSet;

use csv::StringRecord;

use crate::error::{Error, Result};

/// Rows looked at for the header.
pub(crate) const HEADER_SEARCH: usize = 30;

/// A header as [`crate::load`] matches it: trimmed, lower case, `_` for spaces, dashes, dots.
pub(crate) fn normalise(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .replace([' ', '-', '.'], "_")
}

/// How many cells of `row` name a known column.
fn matches(row: &[String], known: &HashSet<String>) -> usize {
    row.iter()
        .filter(|c| {
            let n = normalise(c);
            !n.is_empty() && known.contains(&n)
        })
        .count()
}

/// Cells with something in them.
pub(crate) fn filled(row: &StringRecord) -> usize {
    row.iter().filter(|c| !c.trim().is_empty()).count()
}

/// Which of the first rows (at most [`HEADER_SEARCH`], each with its line or row number) is
/// the header: `forced` (a line or row number) when given, else the one whose cells best match
/// `known`, else the first row with anything in it. `unit` names what the numbers count.
pub(crate) fn find_header(
    rows: &[(u64, Vec<String>)],
    known: &HashSet<String>,
    forced: Option<u64>,
    unit: &str,
) -> Result<usize> {
    if let Some(n) = forced {
        return rows.iter().position(|(at, _)| *at == n).ok_or_else(|| {
            Error::Refused(format!(
                "--header-row {n}: {unit} {n} is not among the first {} {unit}s with content",
                rows.len()
            ))
        });
    }
    let best = rows
        .iter()
        .enumerate()
        .map(|(i, (_, r))| (matches(r, known), i))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    Ok(match best {
        Some((n, i)) if n > 0 => i,
        _ => rows
            .iter()
            .position(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
            .unwrap_or(0),
    })
}

/// What the rows above the header were, for the summary.
pub(crate) fn above_note(skipped: &[u64], unit: &str) -> Option<String> {
    let (first, last) = (skipped.first()?, skipped.last()?);
    Some(if first == last {
        format!("{unit} {first} above the header skipped (a title, a note or blank)")
    } else {
        format!("{unit}s {first}–{last} above the header skipped (titles, notes or blank)")
    })
}

/// Words that open a totals row.
const TOTALS: &[&str] = &[
    "total",
    "totaal",
    "totalen",
    "totaux",
    "totale",
    "totali",
    "gesamt",
    "summe",
    "som",
    "sum",
    "somme",
    "subtotal",
    "grand total",
];

/// A row that sums the others up: its first filled cell is a word such as Total or Totaal.
pub(crate) fn is_totals(row: &StringRecord) -> bool {
    row.iter()
        .find(|c| !c.trim().is_empty())
        .map(|c| {
            let c = c.trim().trim_end_matches(':').to_lowercase();
            TOTALS.iter().any(|t| {
                c == *t
                    || c.strip_prefix(t)
                        .is_some_and(|rest| rest.starts_with([' ', ':', '(']))
            })
        })
        .unwrap_or(false)
}

/// A row of a trailing block: blank, a totals row, or notes (fewer than half of the header's
/// columns filled).
pub(crate) fn trails(row: &StringRecord, width: usize) -> bool {
    let n = filled(row);
    n == 0 || is_totals(row) || n * 2 < width.max(2)
}

/// Where the trailing block of `rows` starts: the longest run at the end of rows that each
/// [`trails`], opened by a blank or a totals row. Data rows with gaps are never cut: a run
/// that starts with a sparse row and no blank or totals row before it is data.
pub(crate) fn trailing_start(rows: &[StringRecord], width: usize) -> Option<usize> {
    let mut start = rows.len();
    while start > 0 && trails(&rows[start - 1], width) {
        start -= 1;
    }
    // The block begins at its first blank or totals row.
    let opens = (start..rows.len()).find(|&i| filled(&rows[i]) == 0 || is_totals(&rows[i]))?;
    Some(opens)
}

/// What the trailing block held, for the summary.
pub(crate) fn below_note(first: u64, last: u64, totals: bool, unit: &str) -> String {
    let what = if totals {
        "a totals row and notes"
    } else {
        "notes"
    };
    if first == last {
        format!("{unit} {first} below the table skipped ({what})")
    } else {
        format!("{unit}s {first}–{last} below the table skipped ({what})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(cells: &[&str]) -> StringRecord {
        cells.iter().copied().collect()
    }

    fn rows(cells: &[&[&str]]) -> Vec<(u64, Vec<String>)> {
        cells
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r.iter().map(|c| c.to_string()).collect()))
            .collect()
    }

    #[test]
    fn the_header_is_the_row_that_names_the_columns() {
        let known: HashSet<String> = ["property_id", "address", "adres", "units"]
            .into_iter()
            .map(String::from)
            .collect();
        let sheet = rows(&[
            &["Stad Voorbeeld — register leegstaande woningen", "", ""],
            &["", "", ""],
            &["Property ID", "Adres", "Units"],
            &["P1", "Kerkstraat 1", "2"],
        ]);
        assert_eq!(find_header(&sheet, &known, None, "row").unwrap(), 2);
        assert_eq!(find_header(&sheet, &known, Some(1), "row").unwrap(), 0);
        assert!(find_header(&sheet, &known, Some(9), "row").is_err());
        // Nothing known: the first row with content, as before.
        assert_eq!(
            find_header(&sheet, &HashSet::new(), None, "row").unwrap(),
            0
        );
        assert_eq!(
            above_note(&[1, 2], "row").unwrap(),
            "rows 1–2 above the header skipped (titles, notes or blank)"
        );
    }

    #[test]
    fn a_totals_row_and_notes_end_the_table_and_sparse_data_does_not() {
        let data = [
            rec(&["P1", "a", "2", "3"]),
            rec(&["P2", "b", "", "1"]),
            rec(&["P3", "", "", ""]),
        ];
        // A data row with gaps at the end is data.
        assert_eq!(trailing_start(&data, 4), None);
        let mut with_totals = data.to_vec();
        with_totals.extend([
            rec(&["Totaal", "", "5", "4"]),
            rec(&["", "", "", ""]),
            rec(&["Bron: dienst wonen, 2026", "", "", ""]),
        ]);
        assert_eq!(trailing_start(&with_totals, 4), Some(3));
        let mut with_notes = data.to_vec();
        with_notes.extend([rec(&["", "", "", ""]), rec(&["* voorlopige cijfers"])]);
        assert_eq!(trailing_start(&with_notes, 4), Some(3));
        assert!(is_totals(&rec(&["", "TOTAL:", "4"])));
        assert!(!is_totals(&rec(&["Totalhuis 3", "x"])));
    }
}
