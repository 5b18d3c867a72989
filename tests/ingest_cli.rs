//! `haven ingest` as an officer uses it: every dataset, every format, bad files and bad rows.

mod common;

use common::{Env, assert_books_balance, write};

const DATASET_FILES: &[(&str, &str, i64)] = &[
    ("districts", "districts.geojson", 30),
    ("population", "population.csv", 5_400),
    (
        "vacant_properties",
        "leegstand_vacant_properties.csv",
        2_500,
    ),
    ("social_housing", "social_housing.xlsx", 4_000),
    (
        "social_housing_waiting_list",
        "social_housing_waiting_list.tsv",
        1_080,
    ),
    ("landlord_incentives", "landlord_incentives.csv", 300),
    ("placements", "placements.csv", 600),
];

#[test]
fn loads_each_dataset_from_the_files_officers_hand_over() {
    let env = Env::new();
    let demo = env.demo_files();
    for (dataset, file, rows) in DATASET_FILES {
        let run = env.run(&["ingest", dataset, demo.join(file).to_str().unwrap()]);
        // The vacant-property export has six bad rows: exit 2, the rest loaded.
        let expected = if *dataset == "vacant_properties" {
            2
        } else {
            0
        };
        let run = run.code_is(expected);
        assert!(run.stderr().contains("outcome: loaded"), "{}", run.stderr());
        assert_eq!(
            env.count(&format!("SELECT count(*) FROM {dataset}")),
            *rows,
            "{dataset}"
        );
    }
    assert_books_balance(&env);
    // Every vacant property got its district by point-in-polygon, and placements given only a
    // property took the property's district.
    assert_eq!(
        env.count("SELECT count(*) FROM vacant_properties WHERE district_code IS NULL"),
        0
    );
    assert_eq!(
        env.count("SELECT count(*) FROM placements WHERE district_code IS NULL"),
        0
    );
    let lines: Vec<i64> = env
        .query()
        .prepare("SELECT DISTINCT line FROM rejected_rows r JOIN ingest_batches b USING (batch_id) WHERE dataset = 'vacant_properties' ORDER BY line")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(lines, vec![13, 254, 605, 1206, 1807, 2002]);
}

#[test]
fn the_same_file_twice_changes_nothing() {
    let env = Env::new();
    let demo = env.with_districts();
    let file = demo.join("population.csv");
    env.run(&["ingest", "population", file.to_str().unwrap()])
        .ok();
    let before = env
        .count("SELECT hash(list(p ORDER BY district_code, period, \"group\")) FROM population p");
    let again = env
        .run(&["ingest", "population", file.to_str().unwrap()])
        .ok();
    assert!(
        again.stderr().contains("outcome: unchanged"),
        "{}",
        again.stderr()
    );
    assert_eq!(env.count("SELECT count(*) FROM population"), 5_400);
    assert_eq!(
        env.count(
            "SELECT hash(list(p ORDER BY district_code, period, \"group\")) FROM population p"
        ),
        before
    );
    assert_eq!(env.count("SELECT count(*) FROM ingest_batches WHERE dataset = 'population' AND outcome = 'unchanged'"), 1);
}

#[test]
fn a_file_with_wrong_columns_is_refused_naming_them() {
    let env = Env::new();
    let demo = env.with_districts();
    let run = env
        .run(&[
            "ingest",
            "vacant_properties",
            demo.join("population.csv").to_str().unwrap(),
        ])
        .code_is(2);
    let err = run.stderr();
    assert!(
        err.contains("missing required columns: property_id, owner_type"),
        "{err}"
    );
    assert!(
        err.contains("unknown columns: period, group, persons"),
        "{err}"
    );
    assert!(err.contains("outcome: refused"), "{err}");
    assert_eq!(env.count("SELECT count(*) FROM vacant_properties"), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM ingest_batches WHERE outcome = 'refused'"),
        1
    );
}

#[test]
fn semicolon_windows_1252_decimal_comma_values_and_accents_survive() {
    let env = Env::new();
    env.with_districts();
    // Written as a Belgian spreadsheet saves it: ';', Windows-1252 (é = 0xE9), decimal commas.
    let mut bytes = b"property_id;address;lon;lat;owner_type;property_type;units;floor_area_m2;vacant_since;condition;renovation_cost_eur;accessible;status\r\n".to_vec();
    bytes.extend(b"T-1;Chauss\xe9e de Louvain 3;4,478;51,027;municipal;house;1;85,5;01/02/2024;minor_renovation;1.234,56;ja;vacant\r\n");
    bytes.extend(b"T-2;\"Rue de l'\xc9glise 7\nbus 2\";4,47;51,03;private;apartment;1;62;2024-03-01;ready;0;nee;offered\r\n");
    let file = write(&env.path("leegstand.csv"), &bytes);
    let run = env
        .run(&["ingest", "vacant_properties", file.to_str().unwrap()])
        .ok();
    assert!(
        run.stderr().contains("windows-1252") && run.stderr().contains("decimal comma"),
        "{}",
        run.stderr()
    );
    let c = env.query();
    let (address, area, cost, accessible, since): (String, f64, f64, bool, String) = c
        .query_row("SELECT address, floor_area_m2, renovation_cost_eur, accessible, vacant_since::VARCHAR FROM vacant_properties WHERE property_id = 'T-1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    assert_eq!(
        (address.as_str(), area, cost, accessible, since.as_str()),
        ("Chaussée de Louvain 3", 85.5, 1234.56, true, "2024-02-01")
    );
    let multi: String = c
        .query_row(
            "SELECT address FROM vacant_properties WHERE property_id = 'T-2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(multi, "Rue de l'Église 7\nbus 2");
}

#[test]
fn a_point_outside_the_municipality_is_rejected_with_its_reason() {
    let env = Env::new();
    env.with_districts();
    let csv = "property_id,lon,lat,owner_type,property_type,units,vacant_since,condition,status\n\
               IN-1,4.478,51.027,state,house,1,2024-01-01,ready,vacant\n\
               OUT-1,4.4025,51.2194,private,house,1,2024-01-01,ready,vacant\n";
    let file = write(&env.path("points.csv"), csv.as_bytes());
    let run = env
        .run(&["ingest", "vacant_properties", file.to_str().unwrap()])
        .code_is(2);
    assert!(
        run.stderr().contains(
            "line 3: lon, lat = \"4.4025, 51.2194\": the point lies outside every district"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(env.count("SELECT count(*) FROM vacant_properties"), 1);
    assert_eq!(env.count("SELECT count(*) FROM rejected_rows WHERE line = 3 AND reason LIKE '%outside every district%'"), 1);
    assert_books_balance(&env);
}

#[test]
fn a_newer_file_replaces_rows_by_key_and_keeps_the_history() {
    let env = Env::new();
    env.with_districts();
    let head =
        "property_id,district_code,owner_type,property_type,units,vacant_since,condition,status\n";
    let first = format!(
        "{head}A,BE12099001,private,house,1,2024-01-01,ready,vacant\nB,BE12099002,state,house,1,2024-01-01,ready,vacant\n"
    );
    let second = format!(
        "{head}B,BE12099002,state,house,1,2024-01-01,ready,let\nC,BE12099003,municipal,studio,1,2024-05-01,minor_renovation,vacant\n"
    );
    env.run(&[
        "ingest",
        "vacant_properties",
        write(&env.path("v1.csv"), first.as_bytes())
            .to_str()
            .unwrap(),
    ])
    .ok();
    let run = env
        .run(&[
            "ingest",
            "vacant_properties",
            write(&env.path("v2.csv"), second.as_bytes())
                .to_str()
                .unwrap(),
        ])
        .ok();
    assert!(
        run.stderr().contains("new 1 · replaced 1"),
        "{}",
        run.stderr()
    );
    assert_eq!(env.count("SELECT count(*) FROM vacant_properties"), 3);
    assert_eq!(
        env.count(
            "SELECT count(*) FROM vacant_properties WHERE property_id = 'B' AND status = 'let'"
        ),
        1
    );
    assert_eq!(env.count("SELECT count(*) FROM ingest_batches WHERE dataset = 'vacant_properties' AND outcome = 'loaded'"), 2);
}

#[test]
fn strict_loads_nothing_when_a_row_is_bad() {
    let env = Env::new();
    env.with_districts();
    let csv =
        "district_code,period,group,persons\nBE12099001,2025,total,100\nBE12099001,2025,total,-5\n";
    let file = write(&env.path("p.csv"), csv.as_bytes());
    let run = env
        .run(&["ingest", "population", file.to_str().unwrap(), "--strict"])
        .code_is(2);
    assert!(
        run.stderr().contains("--strict loads nothing"),
        "{}",
        run.stderr()
    );
    assert_eq!(env.count("SELECT count(*) FROM population"), 0);
    assert_eq!(
        env.count("SELECT count(*) FROM rejected_rows WHERE \"column\" = 'persons' AND line = 3"),
        1
    );
}

#[test]
fn parquet_and_a_named_excel_sheet_load() {
    let env = Env::new();
    env.with_districts();
    // Parquet written by DuckDB itself.
    let parquet = env.path("units.parquet");
    let c = duckdb::Connection::open_in_memory().unwrap();
    c.execute_batch(&format!(
        "COPY (SELECT 'U-' || i AS unit_id, 'Woonhaven' AS provider, 'BE12099005' AS district_code, (i % 3)::INT AS bedrooms,
                      400.5 + i AS rent_eur, 'occupied' AS status FROM range(1, 11) t(i))
         TO '{}' (FORMAT parquet)",
        parquet.display()
    ))
    .unwrap();
    env.run(&["ingest", "social_housing", parquet.to_str().unwrap()])
        .ok();
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing WHERE rent_eur > 400"),
        10
    );

    let xlsx = env.path("waiting.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet()
        .set_name("Notes")
        .unwrap()
        .write_string(0, 0, "Export of 2025")
        .unwrap();
    let sheet = book.add_worksheet().set_name("Wachtlijst").unwrap();
    for (col, h) in [
        "district_code",
        "period",
        "applicants",
        "applicants_international_protection",
        "median_wait_days",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "BE12099004").unwrap();
    sheet.write_string(1, 1, "2025-06").unwrap();
    sheet.write_number(1, 2, 40).unwrap();
    sheet.write_number(1, 3, 52).unwrap(); // more than all applicants: rejected
    sheet.write_string(2, 0, "BE12099004").unwrap();
    sheet.write_string(2, 1, "2025-07").unwrap();
    sheet.write_number(2, 2, 41).unwrap();
    sheet.write_number(2, 3, 9).unwrap();
    sheet.write_number(2, 4, 380.5).unwrap();
    book.save(&xlsx).unwrap();
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            xlsx.to_str().unwrap(),
            "--sheet",
            "Wachtlijst",
        ])
        .code_is(2);
    assert!(
        run.stderr().contains(
            "row 2: applicants_international_protection = \"52\": greater than applicants"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM social_housing_waiting_list WHERE median_wait_days = 380.5"
        ),
        1
    );
    let wrong = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            xlsx.to_str().unwrap(),
            "--sheet",
            "Blad1",
        ])
        .code_is(2);
    assert!(
        wrong
            .stderr()
            .contains("no sheet named 'Blad1'; the sheets are: Notes, Wachtlijst"),
        "{}",
        wrong.stderr()
    );
    assert_books_balance(&env);
}

#[test]
fn districts_in_a_national_grid_are_reprojected() {
    let env = Env::new();
    // A district square in Dutch RD New around Amersfoort, declared in the old GeoJSON crs member.
    let gj = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::28992"}},
      "features":[{"type":"Feature","properties":{"district_code":"NL0307A1","name":"Binnenstad","dwellings_total":900},
      "geometry":{"type":"Polygon","coordinates":[[[154000,462000],[156000,462000],[156000,464000],[154000,464000],[154000,462000]]]}}]}"#;
    let file = write(&env.path("wijken.geojson"), gj.as_bytes());
    let run = env
        .run(&["ingest", "districts", file.to_str().unwrap()])
        .ok();
    assert!(run.stderr().contains("EPSG:28992"), "{}", run.stderr());
    let inside = "property_id,x,y,owner_type,property_type,units,vacant_since,condition,status\nNL-1,155000,463000,municipal,house,1,2024-01-01,ready,vacant\n";
    let run = env
        .run(&[
            "ingest",
            "vacant_properties",
            write(&env.path("rd.csv"), inside.as_bytes())
                .to_str()
                .unwrap(),
        ])
        .ok();
    assert!(
        run.stderr().contains("EPSG:28992"),
        "detected from the values: {}",
        run.stderr()
    );
    let (lon, lat): (f64, f64) = env
        .query()
        .query_row("SELECT lon, lat FROM vacant_properties", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    // The RD origin is 52.15517440 N 5.38720621 E in WGS84.
    assert!(
        (lon - 5.387206).abs() < 2e-5 && (lat - 52.155174).abs() < 2e-5,
        "{lon} {lat}"
    );
}

#[test]
fn unknown_datasets_and_missing_districts_get_clear_errors() {
    let env = Env::new();
    let run = env.run(&["ingest", "vacant", "x.csv"]).code_is(1);
    assert!(
        run.stderr()
            .contains("unknown dataset 'vacant'; the datasets are: districts"),
        "{}",
        run.stderr()
    );
    let demo = env.demo_files();
    let run = env
        .run(&[
            "ingest",
            "population",
            demo.join("population.csv").to_str().unwrap(),
        ])
        .code_is(2);
    assert!(
        run.stderr().contains("no districts are loaded yet"),
        "{}",
        run.stderr()
    );
}
