//! `haven bench`: runs the ingest benchmark and records it in BENCHMARKS.md with the machine
//! and the command.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ingest::bench::median;

const BEGIN: &str = "<!-- haven bench ingest: begin -->";
const END: &str = "<!-- haven bench ingest: end -->";

pub fn run(dir: &Path, rows: usize, runs: usize, record: &Path) -> Result<ExitCode> {
    let log = |m: &str| eprintln!("{m}");
    let b = ingest::bench::ingest_vs_duckdb(dir, rows, runs.max(1), &log)?;
    let (haven, duck) = (median(&b.haven_s), median(&b.duckdb_s));
    let ratio = haven / duck;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let list = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let section = format!(
        "{BEGIN}\n## Ingest: {rows} vacant properties from CSV\n\n\
         Haven's full load (schema validation of every field, point-in-polygon over {districts} districts \
         with the R-tree, duplicate-key check, upsert and batch record in one transaction) against DuckDB's \
         own `CREATE TABLE … AS SELECT * FROM read_csv(…)` of the same {mb:.0} MB file, in the same process \
         and run, each into a fresh database file. Medians of {runs} runs.\n\n\
         | what | median (s) | runs (s) |\n| --- | ---: | --- |\n\
         | Haven ingest | {haven:.2} | {hl} |\n| DuckDB read_csv | {duck:.2} | {dl} |\n\
         | **ratio Haven / DuckDB** | **{ratio:.2}×** | goal: within 3× |\n\n\
         - machine: {machine}\n- command: `{command}` (release build)\n- date: {date}\n{END}",
        rows = b.rows,
        districts = b.districts,
        mb = b.file_mb,
        runs = b.haven_s.len(),
        hl = list(&b.haven_s),
        dl = list(&b.duckdb_s),
        machine = machine(),
        date = today(),
    );
    let old = std::fs::read_to_string(record).unwrap_or_else(|_| "# Benchmarks\n\nFigures recorded by `haven bench`; each section names its machine and command.\n".to_string());
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(a), Some(z)) => format!("{}{section}{}", &old[..a], &old[z + END.len()..]),
        _ => format!("{}\n{section}\n", old.trim_end()),
    };
    std::fs::write(record, new).with_context(|| format!("writing {}", record.display()))?;
    println!(
        "Haven {haven:.2} s, DuckDB read_csv {duck:.2} s: {ratio:.2}× (recorded in {})",
        record.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores{mem}, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    ingest::validate::format_date(days as i32)
}
