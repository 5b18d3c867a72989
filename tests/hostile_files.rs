//! Hostile files through every door Haven has: `haven ingest`, the upload route of a running
//! `haven serve`, and a scheduled URL source. Each is refused with a message that says what is
//! wrong, nothing is loaded, and the process that read it stays within the memory README
//! states: the kernel's peak resident size of the process is measured, not guessed.
//!
//! Without the bounds these files would take the process down: the `.xls` workbook spans
//! 671 million cells (about 37 GB in the reader), the `.ods` one 82 million (4.6 GB), the
//! GeoJSON's 17 million values about 0.7 GB and growing with the file, the zip bomb 2 GiB of
//! XML, the open quote the whole file as one record.

mod common;

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Env, wait_for};

/// A hostile file, the dataset it is offered as, and what the refusal must say.
struct Hostile {
    name: &'static str,
    dataset: &'static str,
    bytes: Vec<u8>,
    says: &'static str,
}

/// The hostile corpus, built here so each file's construction can be read.
fn corpus() -> Vec<Hostile> {
    vec![
        Hostile {
            name: "zip_bomb.xlsx",
            dataset: "vacant_properties",
            bytes: zip_bomb(),
            says: "the workbook unpacks to more than 2048 MiB",
        },
        Hostile {
            name: "sheets.xls",
            dataset: "vacant_properties",
            // Forty sheets, each with a cell at A1 and one at IV65536.
            bytes: xls(&vec![vec![(0, 0, "a"), (65535, 255, "z")]; 40]),
            says: "the workbook's sheets span 671088640 cells",
        },
        Hostile {
            name: "repeated.ods",
            dataset: "vacant_properties",
            bytes: ods_bomb(),
            says: "the workbook's sheets span 81920000 cells",
        },
        Hostile {
            name: "deep.geojson",
            dataset: "districts",
            bytes: deep_geojson(),
            says: "JSON nested deeper than 64 levels",
        },
        Hostile {
            name: "huge.geojson",
            dataset: "districts",
            bytes: huge_geojson(),
            says: "more than 16000000 JSON values",
        },
        Hostile {
            name: "open_quote.csv",
            dataset: "social_housing_waiting_list",
            bytes: open_quote_csv(),
            says: "line 3: a record of 20 MiB, longer than the 16 MiB Haven reads",
        },
    ]
}

/// An `.xlsx` whose shared strings unpack to 2.1 GiB of spaces (2 MB packed).
fn zip_bomb() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut z = zip::ZipWriter::new(Cursor::new(&mut bytes));
    let deflate = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    z.start_file("[Content_Types].xml", deflate).unwrap();
    z.write_all(b"<?xml version=\"1.0\"?><Types/>").unwrap();
    z.start_file("xl/sharedStrings.xml", deflate).unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..2100 {
        z.write_all(&spaces).unwrap();
    }
    z.finish().unwrap();
    bytes
}

/// A BIFF8 `.xls` workbook: one sheet per entry, each with its text cells (row, column, text),
/// in a compound file as Excel writes it.
fn xls(sheets: &[Vec<(u16, u16, &str)>]) -> Vec<u8> {
    fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
    }
    let bof = |dt: u16| {
        let mut d = Vec::new();
        for v in [0x0600u16, dt, 0x0DBB, 0x07CC] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(&[0; 8]);
        d
    };
    let names: Vec<String> = (1..=sheets.len()).map(|i| format!("Sheet{i}")).collect();
    let globals_len = 20 + 6 + names.iter().map(|n| 4 + 8 + n.len()).sum::<usize>() + 4;
    let mut stream = Vec::new();
    let mut bodies = Vec::new();
    for cells in sheets {
        let mut s = Vec::new();
        record(&mut s, 0x0809, &bof(0x0010));
        let (rows, cols) = cells.iter().fold((0u32, 0u16), |(r, c), &(row, col, _)| {
            (r.max(row as u32 + 1), c.max(col + 1))
        });
        let mut dim = Vec::new();
        dim.extend_from_slice(&0u32.to_le_bytes());
        dim.extend_from_slice(&rows.to_le_bytes());
        dim.extend_from_slice(&0u16.to_le_bytes());
        dim.extend_from_slice(&cols.to_le_bytes());
        dim.extend_from_slice(&0u16.to_le_bytes());
        record(&mut s, 0x0200, &dim);
        for &(row, col, text) in cells {
            // LABEL: row, column, format, then the text (8-bit characters).
            let mut d = Vec::new();
            for v in [row, col, 0, text.len() as u16] {
                d.extend_from_slice(&v.to_le_bytes());
            }
            d.push(0);
            d.extend_from_slice(text.as_bytes());
            record(&mut s, 0x0204, &d);
        }
        record(&mut s, 0x000A, &[]);
        bodies.push(s);
    }
    record(&mut stream, 0x0809, &bof(0x0005));
    record(&mut stream, 0x0042, &1200u16.to_le_bytes()); // CODEPAGE: UTF-16, as Excel writes
    let mut at = globals_len;
    for (name, body) in names.iter().zip(&bodies) {
        let mut d = (at as u32).to_le_bytes().to_vec();
        d.extend_from_slice(&[0, 0, name.len() as u8, 0]);
        d.extend_from_slice(name.as_bytes());
        record(&mut stream, 0x0085, &d);
        at += body.len();
    }
    record(&mut stream, 0x000A, &[]);
    assert_eq!(stream.len(), globals_len);
    for body in bodies {
        stream.extend_from_slice(&body);
    }
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream("/Workbook")
        .unwrap()
        .write_all(&stream)
        .unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

/// An `.ods` workbook whose one value is repeated over 5,000 rows and 16,384 columns.
fn ods_bomb() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut z = zip::ZipWriter::new(Cursor::new(&mut bytes));
    let stored = zip::write::SimpleFileOptions::default();
    z.start_file("mimetype", stored).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    z.start_file("content.xml", stored).unwrap();
    z.write_all(
        b"<?xml version=\"1.0\"?><office:document-content><office:body><office:spreadsheet>\
          <table:table table:name=\"Register\"><table:table-row table:number-rows-repeated=\"5000\">\
          <table:table-cell table:number-columns-repeated=\"16384\" office:value-type=\"string\">\
          <text:p>x</text:p></table:table-cell></table:table-row></table:table>\
          </office:spreadsheet></office:body></office:document-content>",
    )
    .unwrap();
    z.finish().unwrap();
    bytes
}

/// A district whose boundary is nested 100,000 arrays deep.
fn deep_geojson() -> Vec<u8> {
    let depth = 100_000;
    let mut text = String::from(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"district_code":"X"},"geometry":{"type":"Polygon","coordinates":"#,
    );
    text.push_str(&"[".repeat(depth));
    text.push_str(&"]".repeat(depth));
    text.push_str("}}]}");
    text.into_bytes()
}

/// A district whose boundary has 8.5 million vertices (34 MB).
fn huge_geojson() -> Vec<u8> {
    let mut text = String::from(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"district_code":"X"},"geometry":{"type":"Polygon","coordinates":[["#,
    );
    text.push_str(&"[0,0],".repeat(8_500_000));
    text.push_str("[0,0]]]}}]}");
    text.into_bytes()
}

/// A waiting list whose third line opens a quote that never closes: 20 MiB of one field.
fn open_quote_csv() -> Vec<u8> {
    let mut text = String::from(
        "district_code,period,applicants,applicants_international_protection,median_wait_days\n\
         BE12099004,2025-06,40,9,380.5\n\
         BE12099005,2025-06,12,3,\"",
    );
    text.push_str(&"x".repeat(20 << 20));
    text.push('\n');
    text.into_bytes()
}

/// The largest peak resident size, in MiB, of the child processes this test has waited for
/// (each test runs in its own process under nextest).
fn children_peak_mib() -> i64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss() / 1024
}

/// A live process's peak resident size, in MiB.
fn peak_mib(pid: u32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: i64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

/// What every door may hold at its peak: the process itself (DuckDB included) and the file.
const PEAK_MIB: i64 = 600;

#[test]
fn the_command_refuses_each_hostile_file_in_bounded_memory() {
    let env = Env::new();
    let demo = env.with_districts();
    // A legitimate `.xls` register, built the same way, loads: the measure refuses only what
    // is too large.
    let legit = xls(&[vec![
        (0, 0, "district_code"),
        (0, 1, "period"),
        (0, 2, "applicants"),
        (0, 3, "applicants_international_protection"),
        (0, 4, "median_wait_days"),
        (1, 0, "BE12099004"),
        (1, 1, "2025-06"),
        (1, 2, "40"),
        (1, 3, "9"),
        (1, 4, "380"),
    ]]);
    let file = common::write(&env.path("waiting.xls"), &legit);
    let run = env
        .run(&[
            "ingest",
            "social_housing_waiting_list",
            file.to_str().unwrap(),
        ])
        .ok();
    assert!(run.stderr().contains("accepted 1"), "{}", run.stderr());
    let districts = env.count("SELECT count(*) FROM districts");
    for h in corpus() {
        let file = common::write(&env.path(h.name), &h.bytes);
        let run = env.run(&["ingest", h.dataset, file.to_str().unwrap()]);
        assert_ne!(run.code(), 0, "{} was refused", h.name);
        assert!(
            run.stderr().contains(h.says),
            "{}: expected {:?} in:\n{}",
            h.name,
            h.says,
            run.stderr()
        );
        let peak = children_peak_mib();
        assert!(peak < PEAK_MIB, "{}: haven peaked at {peak} MiB", h.name);
    }
    assert_eq!(env.count("SELECT count(*) FROM districts"), districts);
    assert_eq!(
        env.count("SELECT count(*) FROM social_housing_waiting_list"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM ingest_batches WHERE outcome = 'loaded'"),
        2,
        "the districts and the legitimate workbook, nothing else"
    );
    drop(demo);
}

#[test]
fn the_server_refuses_each_hostile_file_from_uploads_and_sources_in_bounded_memory() {
    let env = Env::new();
    env.with_districts();
    let token = env.add_user("olivia", "officer");
    let corpus = corpus();
    let files: Vec<(String, Vec<u8>)> = corpus
        .iter()
        .map(|h| (format!("/{}", h.name), h.bytes.clone()))
        .collect();
    let base = common::http_source(move |path, _| {
        files
            .iter()
            .find(|(p, _)| p == path)
            .map_or((404, Vec::new()), |(_, b)| (200, b.clone()))
    });
    // A job per hostile file, every two seconds; uploads past 64 MiB are refused.
    let mut config = String::from("[server]\nmax_upload_megabytes = 64\n");
    for h in &corpus {
        config.push_str(&format!(
            "[[job]]\nname = \"{}\"\ndataset = \"{}\"\nschedule = \"*/2 * * * * *\"\nafter = []\n\
             [job.source]\nurl = \"{base}/{}\"\nretries = 0\nmax_megabytes = 64\n",
            h.name.replace('.', "_"),
            h.dataset,
            h.name
        ));
    }
    let config_path = env.path("haven.toml");
    std::fs::write(&config_path, config).unwrap();
    let (server, url) = env.serve_with(&[("HAVEN_CONFIG", config_path.to_str().unwrap())], None);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();

    // The upload route: each file refused, its batch recorded as refused with the reason (as
    // `haven ingest` reports it).
    for h in &corpus {
        let mut res = agent
            .post(format!(
                "{url}/api/v1/ingest/{}?source={}",
                h.dataset, h.name
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .send(&h.bytes[..])
            .unwrap();
        let status = res.status().as_u16();
        let body = res.body_mut().read_to_string().unwrap();
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            status == 200
                && report["outcome"] == "refused"
                && report["message"].as_str().unwrap_or("").contains(h.says),
            "{}: {status} {body}",
            h.name
        );
    }

    // An endless chunked upload is cut off at the limit: the server answers 413 and has read
    // at most the limit and what the sockets buffer.
    let sent = endless_upload(&url, &token);
    assert!(sent.0.starts_with("HTTP/1.1 413"), "{}", sent.0);
    assert!(sent.1 < 128 << 20, "{} bytes were taken", sent.1);

    // Scheduled sources: each job's run fails, saying why.
    let runs = |job: &str| -> Vec<serde_json::Value> {
        let mut res = agent
            .get(format!("{url}/api/v1/officer/jobs?job={job}&limit=20"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
    };
    wait_for("every hostile source's run", 120, || {
        corpus.iter().all(|h| {
            runs(&h.name.replace('.', "_")).iter().any(|r| {
                r["outcome"] != "loaded" && r["message"].as_str().unwrap_or("").contains(h.says)
            })
        })
    });
    let peak = peak_mib(server.0.id());
    assert!(peak < PEAK_MIB, "the server peaked at {peak} MiB");
    drop(server);
    assert_eq!(env.count("SELECT count(*) FROM districts"), 30);
    assert_eq!(
        env.count("SELECT count(*) FROM ingest_batches WHERE outcome = 'loaded'"),
        1,
        "the districts, nothing else"
    );
}

/// Sends a chunked body without end until the server stops reading; its answer's status line
/// and the bytes sent.
fn endless_upload(url: &str, token: &str) -> (String, usize) {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = stream.try_clone().unwrap();
    let answer = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.windows(2).any(|w| w == b"\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&got)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    });
    write!(
        stream,
        "POST /api/v1/ingest/vacant_properties?source=endless.csv HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'x'; 1 << 16];
    let mut sent = 0usize;
    while sent < 1 << 30 {
        let ok = write!(stream, "{:x}\r\n", chunk.len()).is_ok()
            && stream.write_all(&chunk).is_ok()
            && stream.write_all(b"\r\n").is_ok();
        if !ok {
            break;
        }
        sent += chunk.len();
    }
    (answer.join().unwrap(), sent)
}
