//! Files as officers hand them over, through the `haven` binary: a workbook with a notes sheet,
//! a title above the header, a totals row and notes under the data; a CSV with multi-line
//! addresses (LF and CRLF) whose rejected rows must be found on the line an editor shows; and a
//! tiny workbook whose cells span the whole sheet.

mod common;

use common::Env;

/// Checks that `text` says each of `parts`.
fn says(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

/// The waiting list as a municipality exports it: a notes sheet first; on the data sheet a
/// title, a blank row, the header on row 3, three months (one rejected), a totals row, a blank
/// row, a source note, and a stray cell far right of the table.
fn waiting_list_workbook(path: &std::path::Path) {
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet()
        .set_name("Toelichting")
        .unwrap()
        .write_string(0, 0, "Dit bestand bevat de wachtlijst per wijk.")
        .unwrap();
    let s = book.add_worksheet().set_name("Wachtlijst").unwrap();
    s.write_string(0, 0, "Stad Voorbeeld — wachtlijst sociale woningen")
        .unwrap();
    let header = [
        "district_code",
        "period",
        "applicants",
        "applicants_international_protection",
        "median_wait_days",
    ];
    for (c, h) in header.iter().enumerate() {
        s.write_string(2, c as u16, *h).unwrap();
    }
    let rows: [(&str, &str, f64, f64, f64); 3] = [
        ("BE12099004", "2025-06", 40.0, 9.0, 380.5),
        ("BE12099004", "2025-07", 41.0, 52.0, 381.0), // more than all applicants: rejected
        ("BE12099005", "2025-07", 12.0, 3.0, 200.0),
    ];
    for (i, (d, p, a, ip, w)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        s.write_string(r, 0, *d).unwrap();
        s.write_string(r, 1, *p).unwrap();
        s.write_number(r, 2, *a).unwrap();
        s.write_number(r, 3, *ip).unwrap();
        s.write_number(r, 4, *w).unwrap();
    }
    s.write_string(4, 25, "nagekeken").unwrap(); // column Z, outside the table
    s.write_string(6, 0, "Totaal").unwrap();
    s.write_number(6, 2, 93.0).unwrap();
    s.write_number(6, 3, 64.0).unwrap();
    s.write_string(8, 0, "Bron: dienst wonen, 2026").unwrap();
    book.save(path).unwrap();
}

#[test]
fn a_workbook_with_a_title_a_totals_row_and_notes_loads_its_table() {
    let env = Env::new();
    env.with_districts();
    let book = env.path("wachtlijst.xlsx");
    waiting_list_workbook(&book);
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            book.to_str().unwrap(),
        ])
        .code_is(2);
    says(
        &run.stderr(),
        &[
            "sheet Wachtlijst",
            "header on row 3",
            "sheet 'Wachtlijst' read: the first sheet, 'Toelichting', does not have the dataset's columns",
            "row 1 above the header skipped",
            "1 cell right of the table's last column (E) left out",
            "rows 7–9 below the table skipped (a totals row and notes)",
            "read 3 · accepted 2 · rejected 1",
            "row 5: applicants_international_protection = \"52\": greater than applicants",
        ],
    );
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing_waiting_list"),
        2
    );
    // The header row given: the same table. A row that is not the header: refused, nothing lost.
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            book.to_str().unwrap(),
            "--sheet",
            "Wachtlijst",
            "--header-row",
            "1",
        ])
        .code_is(2);
    assert!(
        run.stderr().contains("missing required columns"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing_waiting_list"),
        2
    );
}

/// The demo register (Windows-1252, `;`) cut to its first rows, three addresses written over
/// two or three lines, two conditions an officer mistyped; the physical line of every record
/// is counted as the file is written, with `eol` ending lines inside fields too.
fn register_with_multiline_addresses(demo: &std::path::Path, eol: &str) -> (Vec<u8>, Vec<u64>) {
    let bytes = std::fs::read(demo.join("leegstand_vacant_properties.csv")).unwrap();
    let text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let condition = header
        .split(';')
        .position(|h| h == "condition")
        .expect("a condition column");
    let mut out = format!("{header}{eol}");
    let mut line = 2u64;
    let mut rejected = Vec::new();
    // The demo's own mistyped rows start at its twelfth: eleven rows, all well formed.
    for (i, row) in lines.take(11).enumerate() {
        let mut cells: Vec<String> = row.split(';').map(String::from).collect();
        if [1, 4, 7].contains(&i) {
            cells[1] = format!("\"{}{eol}bus {}{eol}(achterbouw)\"", cells[1], i + 1);
        }
        if [5, 10].contains(&i) {
            cells[condition] = "gerenoveerd".into();
            rejected.push(line);
        }
        let record = cells.join(";");
        line += 1 + record.matches(eol).count() as u64;
        out.push_str(&record);
        out.push_str(eol);
    }
    (
        encoding_rs::WINDOWS_1252.encode(&out).0.into_owned(),
        rejected,
    )
}

#[test]
fn rejected_rows_after_multi_line_records_name_the_line_an_editor_shows() {
    let env = Env::new();
    let demo = env.with_districts();
    for (name, eol) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let (bytes, rejected) = register_with_multiline_addresses(&demo, eol);
        let file = common::write(&env.path(name), &bytes);
        let run = env
            .run(&[
                "ingest",
                "vacant_properties",
                file.to_str().unwrap(),
                "--force",
            ])
            .code_is(2);
        let err = run.stderr();
        assert!(err.contains("read 11 · accepted 9 · rejected 2"), "{err}");
        for line in &rejected {
            assert!(
                err.contains(&format!("line {line}: ")) && err.contains("\"gerenoveerd\""),
                "{name}: line {line} not named in:\n{err}"
            );
        }
        // Worked by hand: records on lines 2, 3–5, 6, 7, 8–10, 11 (a mistake), 12, 13–15, 16,
        // 17, 18 (a mistake, after all three multi-line records).
        assert_eq!(rejected, [11, 18], "{name}: the lines as written");
    }
}

#[test]
fn a_workbook_whose_cells_span_the_whole_sheet_is_read_as_the_cells_it_holds() {
    let env = Env::new();
    env.with_districts();
    let bomb = env.path("bomb.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let s = book.add_worksheet();
    s.write_string(0, 0, "property_id").unwrap();
    s.write_string(1_048_575, 16_383, "x").unwrap();
    book.save(&bomb).unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 10_000);
    // Refused for what it lacks, with the file's two cells read: the process does not die.
    let run = env
        .run(&["ingest", "vacant_properties", bomb.to_str().unwrap()])
        .code_is(2);
    assert!(
        run.stderr().contains("missing required columns"),
        "{}",
        run.stderr()
    );
    // And handed to a running server, which answers on.
    let (_server, url) = env.serve();
    let run = env
        .run(&["ingest", "vacant_properties", bomb.to_str().unwrap()])
        .code_is(2);
    assert!(
        run.stderr().contains("missing required columns"),
        "{}",
        run.stderr()
    );
    let health = ureq::get(format!("{url}/api/v1/health"))
        .call()
        .unwrap()
        .status();
    assert_eq!(health.as_u16(), 200);
}

#[test]
fn a_file_with_the_municipalitys_own_headers_is_told_how_to_map_them() {
    let env = Env::new();
    env.with_districts();
    let file = common::write(
        &env.path("wachtlijst.csv"),
        "Wijk;Periode;Kandidaten;applicants_international_protection;median_wait_days;Opmerking\n\
         BE12099004;2025-06;40;9;380,5;\n\
         BE12099005;2025-06;12;3;200;nagekeken\n"
            .as_bytes(),
    );
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            file.to_str().unwrap(),
        ])
        .code_is(2);
    says(
        &run.stderr(),
        &[
            "Wijk (probably district_code: --map \"Wijk=district_code\")",
            "Periode (probably period: --map \"Periode=period\")",
            "Kandidaten (probably applicants: --map \"Kandidaten=applicants\")",
            "Opmerking (map them with --map FILE_COLUMN=COLUMN",
        ],
    );
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            file.to_str().unwrap(),
            "--map",
            "Wijk=district_code",
            "--map",
            "Periode=period,Kandidaten=applicants",
            "--allow-extra-columns",
        ])
        .ok();
    assert!(
        run.stderr().contains("read 2 · accepted 2"),
        "{}",
        run.stderr()
    );
    // The mapping is recorded with the batch.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM ingest_batches WHERE read_options LIKE '%map Wijk=district_code%'"
        ),
        1
    );
    // French headers get their suggestions too.
    let fr = common::write(
        &env.path("liste.csv"),
        "Quartier;Période;Demandeurs;applicants_international_protection;median_wait_days
         BE12099004;2025-07;41;9;381
"
        .as_bytes(),
    );
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            fr.to_str().unwrap(),
        ])
        .code_is(2);
    says(
        &run.stderr(),
        &[
            "Quartier (probably district_code: --map \"Quartier=district_code\")",
            "Période (probably period: --map \"Période=period\")",
            "Demandeurs (probably applicants: --map \"Demandeurs=applicants\")",
        ],
    );
    // A mapping to a column the dataset does not have is refused before anything is read.
    let run = env.run(&[
        "ingest",
        "social_housing_waiting_list",
        file.to_str().unwrap(),
        "--map",
        "Wijk=wijk",
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("has no column wijk"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_header_over_two_rows_with_merged_cells_is_read_as_one() {
    let env = Env::new();
    env.with_districts();
    let book = env.path("kop.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let s = wb.add_worksheet();
    let plain = rust_xlsxwriter::Format::new();
    s.write_string(0, 0, "Wachtlijst per wijk").unwrap();
    // Labels merged down over both header rows, one label across two columns above theirs.
    for (c, label) in [(0, "district_code"), (1, "period"), (4, "median_wait_days")] {
        s.merge_range(1, c, 2, c, label, &plain).unwrap();
    }
    s.merge_range(1, 2, 1, 3, "Kandidaten", &plain).unwrap();
    s.write_string(2, 2, "applicants").unwrap();
    s.write_string(2, 3, "applicants_international_protection")
        .unwrap();
    for (i, (d, p, a, ip, w)) in [
        ("BE12099004", "2025-06", 40.0, 9.0, 380.5),
        ("BE12099005", "2025-06", 12.0, 3.0, 200.0),
    ]
    .iter()
    .enumerate()
    {
        let r = 3 + i as u32;
        s.write_string(r, 0, *d).unwrap();
        s.write_string(r, 1, *p).unwrap();
        s.write_number(r, 2, *a).unwrap();
        s.write_number(r, 3, *ip).unwrap();
        s.write_number(r, 4, *w).unwrap();
    }
    wb.save(&book).unwrap();
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            book.to_str().unwrap(),
        ])
        .ok();
    says(
        &run.stderr(),
        &[
            "header on row 3",
            "rows 1–2 above the header skipped",
            "read 2 · accepted 2 · rejected 0",
        ],
    );
}
