//! The readers on arbitrary input, on the stable toolchain: whatever the bytes (random, or
//! random behind the magic of a zip, a compound file or a JSON document, or a valid file cut
//! or flipped somewhere), opening and reading never panics; it gives records or an error.
//! Memory stays within the bounds the readers check before they allocate (README: hostile
//! files); `tests/hostile_files.rs` measures those through the binary.

use csv::StringRecord;
use ingest::read::{self, Input, ReadOptions};
use proptest::prelude::*;

/// Reads a whole file, as a load does; any outcome but a panic is fine.
fn read_all(name: &str, bytes: Vec<u8>) {
    let input = Input {
        name: name.into(),
        path: None,
        bytes,
    };
    let opts = ReadOptions {
        known_columns: ["district_code", "period", "geometry"]
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
        ..ReadOptions::default()
    };
    if let Ok(mut table) = read::open(&input, &opts) {
        let mut rec = StringRecord::new();
        let mut n = 0;
        while let Ok(Some(_)) = table.rows.next_record(&mut rec) {
            n += 1;
            if n > 100_000 {
                break;
            }
        }
    }
}

/// A small valid workbook of each kind the readers take, to cut and flip.
fn workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["district_code", "period", "applicants"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "BE1").unwrap();
    sheet.write_string(1, 1, "2025-01").unwrap();
    sheet.write_number(1, 2, 4.0).unwrap();
    book.save_to_buffer().unwrap()
}

const GEOJSON: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"district_code":"BE1","name":"A"},"geometry":{"type":"Polygon","coordinates":[[[4,51],[4.1,51],[4.1,51.1],[4,51]]]}}]}"#;

/// A valid file with a stretch cut out and some bytes flipped.
fn damaged(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    (
        0..len,
        0..len,
        proptest::collection::vec((0..len, any::<u8>()), 0..8),
    )
        .prop_map(move |(a, b, flips)| {
            let (a, b) = (a.min(b), a.max(b));
            let mut v: Vec<u8> = valid[..a].iter().chain(&valid[b..]).copied().collect();
            for (i, x) in flips {
                if !v.is_empty() {
                    let at = i % v.len();
                    v[at] ^= x;
                }
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_behind_any_magic_never_panic(
        magic in prop_oneof![
            Just(&b""[..]),
            Just(&b"PK\x03\x04"[..]),
            Just(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..]),
            Just(&b"{\"type\":\"FeatureCollection\",\"features\":["[..]),
            Just(&b"\xEF\xBB\xBFdistrict_code;period\n"[..]),
        ],
        tail in proptest::collection::vec(any::<u8>(), 0..4096),
        name in prop_oneof![Just("f.csv"), Just("f.xlsx"), Just("f.xls"), Just("f.ods"), Just("f.geojson"), Just("f")],
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&tail);
        read_all(name, bytes);
    }

    #[test]
    fn a_damaged_workbook_never_panics(bytes in damaged(workbook())) {
        read_all("damaged.xlsx", bytes);
    }

    #[test]
    fn damaged_geojson_never_panics(bytes in damaged(GEOJSON.as_bytes().to_vec())) {
        read_all("damaged.geojson", bytes);
    }
}
