//! `haven bench`: measures ingest, the indicator run and the segregation indices, each against
//! its outside reference in the same run, and records the figures in BENCHMARKS.md with the
//! machine and the command.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ingest::bench::median;

/// Which measurement to run.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Suite {
    /// 1,000,000 vacant properties from CSV against DuckDB's own read_csv.
    Ingest,
    /// Every indicator for the scaled demo (1,000,000 properties, 10,000 districts, 36 months).
    Indicators,
    /// Dissimilarity, entropy, multigroup dissimilarity and Gini on 50,000 districts against PySAL.
    Segregation,
}

pub fn run(suite: Suite, dir: &Path, rows: usize, runs: usize, record: &Path) -> Result<ExitCode> {
    let runs = runs.max(1);
    let (key, section) = match suite {
        Suite::Ingest => ("ingest", ingest_suite(dir, rows, runs)?),
        Suite::Indicators => ("indicators", indicators_suite(dir, rows, runs)?),
        Suite::Segregation => ("segregation", segregation_suite(dir, runs)?),
    };
    write_section(record, key, &section)?;
    println!("recorded in {}", record.display());
    Ok(ExitCode::SUCCESS)
}

fn footer() -> String {
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    format!(
        "- machine: {}\n- command: `{command}` (release build)\n- date: {}\n",
        machine(),
        today()
    )
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|s| format!("{s:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ingest_suite(dir: &Path, rows: usize, runs: usize) -> Result<String> {
    let log = |m: &str| eprintln!("{m}");
    let b = ingest::bench::ingest_vs_duckdb(dir, rows, runs, &log)?;
    let (haven, duck) = (median(&b.haven_s), median(&b.duckdb_s));
    println!(
        "ingest: Haven {haven:.2} s, DuckDB read_csv {duck:.2} s: {:.2}×",
        haven / duck
    );
    Ok(format!(
        "## Ingest: {rows} vacant properties from CSV\n\n\
         Haven's full load (schema validation of every field, point-in-polygon over {districts} districts \
         with the R-tree, duplicate-key check, upsert and batch record in one transaction) against DuckDB's \
         own `CREATE TABLE … AS SELECT * FROM read_csv(…)` of the same {mb:.0} MB file, in the same process \
         and run, each into a fresh database file. Medians of {runs} runs.\n\n\
         | what | median (s) | runs (s) |\n| --- | ---: | --- |\n\
         | Haven ingest | {haven:.2} | {hl} |\n| DuckDB read_csv | {duck:.2} | {dl} |\n\
         | **ratio Haven / DuckDB** | **{ratio:.2}×** | goal: within 3× |\n\n{footer}",
        rows = b.rows,
        districts = b.districts,
        mb = b.file_mb,
        hl = list(&b.haven_s),
        dl = list(&b.duckdb_s),
        ratio = haven / duck,
        footer = footer(),
    ))
}

fn indicators_suite(dir: &Path, vacant: usize, runs: usize) -> Result<String> {
    let spec = ingest::demo::DemoSpec::scaled(42, vacant);
    let db = dir.join("indicators.duckdb");
    let fresh = !db.exists();
    let store = ingest::Store::open(&db)?;
    if fresh || store.dataset_counts()?.iter().any(|(_, n)| *n == 0) {
        let files = if dir.join("placements.csv").exists() && dir.join("districts.geojson").exists()
        {
            files_of(dir)
        } else {
            eprintln!(
                "generating the scaled demo ({vacant} vacant properties) in {}",
                dir.display()
            );
            ingest::demo::generate(&spec, dir)?
                .into_iter()
                .map(|f| (f.dataset, f.path))
                .collect()
        };
        for (dataset, path) in files {
            eprintln!("loading {dataset} from {}", path.display());
            let opts = ingest::IngestOptions {
                origin: "bench".into(),
                ..Default::default()
            };
            ingest::ingest(
                &store,
                dataset,
                &ingest::Input::from_path(&path)?,
                &opts,
                &ingest::NoProgress,
            )?;
        }
    }
    let opts = analytics::SegregationOptions::default();
    let mut times = Vec::new();
    let mut last = None;
    for run in 1..=runs {
        let t = Instant::now();
        let r = analytics::analyze(store.conn(), &opts)?;
        times.push(t.elapsed().as_secs_f64());
        eprintln!("run {run}/{runs}: {:.2} s", times[times.len() - 1]);
        last = Some(r);
    }
    let r = last.context("at least one run")?;
    let counts = store.dataset_counts()?;
    let count = |name: &str| {
        counts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .unwrap_or(0)
    };
    let m = median(&times);
    println!("indicators: {m:.2} s");
    Ok(format!(
        "## Indicators: the whole run on the scaled demo\n\n\
         `haven analyze` on `haven demo --scale {vacant}`: {vp} vacant properties, {d} districts, {months} months, \
         {pop} population rows, {sh} social housing units, {li} incentives, {pl} placements. Every indicator of the \
         registry per district and month plus the municipality row ({ind} indicators), and the segregation indices \
         of {groups} groups over {periods} periods with 999-permutation tests and bootstrap intervals for the latest \
         period. Medians of {runs} runs.\n\n\
         | what | median (s) | runs (s) |\n| --- | ---: | --- |\n\
         | whole indicator run | **{m:.2}** | {tl} |\n| goal | under 5 | |\n\n{footer}",
        vp = count("vacant_properties"),
        d = count("districts"),
        months = r.availability.months,
        pop = count("population"),
        sh = count("social_housing"),
        li = count("landlord_incentives"),
        pl = count("placements"),
        ind = analytics::registry::INDICATORS.len(),
        groups = r.segregation.groups.len(),
        periods = r.segregation.periods,
        tl = list(&times),
        footer = footer(),
    ))
}

fn files_of(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    [
        ("districts", "districts.geojson"),
        ("population", "population.csv"),
        ("vacant_properties", "vacant_properties.csv"),
        ("social_housing", "social_housing.csv"),
        (
            "social_housing_waiting_list",
            "social_housing_waiting_list.tsv",
        ),
        ("landlord_incentives", "landlord_incentives.csv"),
        ("placements", "placements.csv"),
    ]
    .into_iter()
    .map(|(d, f)| (d, dir.join(f)))
    .collect()
}

/// Median seconds of `f`, repeated until each sample lasts at least 20 ms.
fn time_it(runs: usize, mut f: impl FnMut() -> f64) -> (f64, f64) {
    let t = Instant::now();
    let value = f();
    let once = t.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.02 / once).ceil() as usize).max(1);
    let samples: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(f());
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    (median(&samples), value)
}

fn segregation_suite(dir: &Path, runs: usize) -> Result<String> {
    const N: usize = 50_000;
    std::fs::create_dir_all(dir)?;
    let csv = dir.join("segregation_50000.csv");
    // Districts of 200 to 5,000 residents in three groups, with group shares that vary smoothly.
    let mut rng = ingest::rng::SplitMix64(0x5EED);
    let mut next = || rng.unit();
    let (mut a, mut b, mut c, mut t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut text = String::from("district,grp_a,grp_b,grp_c,total\n");
    for i in 0..N {
        let total = (200.0 + 4800.0 * next()).round();
        let wave = ((i as f64) / 700.0).sin() * 0.5 + 0.5;
        let gb = (total * (0.02 + 0.2 * wave * next())).round();
        let ga = (total * (0.3 + 0.3 * next())).round().min(total - gb);
        let gc = total - ga - gb;
        text.push_str(&format!("D{i:05},{ga},{gb},{gc},{total}\n"));
        a.push(ga);
        b.push(gb);
        c.push(gc);
        t.push(total);
    }
    std::fs::write(&csv, text)?;
    let groups: [&[f64]; 3] = [&a, &b, &c];
    use analytics::segregation as seg;
    let haven = [
        (
            "dissimilarity",
            time_it(runs, || seg::dissimilarity(&b, &t)),
        ),
        ("entropy", time_it(runs, || seg::entropy(&b, &t))),
        (
            "multi_dissimilarity",
            time_it(runs, || seg::multi_dissimilarity(&groups)),
        ),
        ("gini", time_it(runs, || seg::gini(&b, &t))),
    ];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pysal_timing.py");
    eprintln!("timing PySAL on the same file ({})", script.display());
    let out = Command::new("python3")
        .arg(&script)
        .arg(&csv)
        .arg(runs.to_string())
        .output()
        .context("running python3 (pip install segregation==2.5.4)")?;
    if !out.status.success() {
        bail!(
            "PySAL timing failed (pip install segregation==2.5.4 esda libpysal): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pysal: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut table = String::from(
        "| index | Haven (ms) | PySAL (ms) | speed-up | same value |\n| --- | ---: | ---: | ---: | --- |\n",
    );
    for (name, (secs, value)) in haven {
        let p = &pysal[name];
        let (ps, pv) = (
            p["seconds"].as_f64().unwrap_or(f64::NAN),
            p["value"].as_f64().unwrap_or(f64::NAN),
        );
        let same = ((value - pv) / pv).abs() <= 1e-9;
        println!(
            "{name}: Haven {:.3} ms, PySAL {:.1} ms, {:.0}×",
            secs * 1e3,
            ps * 1e3,
            ps / secs
        );
        table.push_str(&format!(
            "| {name} | {:.3} | {:.1} | **{:.0}×** | {} |\n",
            secs * 1e3,
            ps * 1e3,
            ps / secs,
            if same { "yes (1e-9)" } else { "NO" }
        ));
    }
    Ok(format!(
        "## Segregation indices on 50,000 districts against PySAL\n\n\
         The same synthetic file of {N} districts (three groups) timed by Haven's kernels and by PySAL \
         `segregation` {ver} (`scripts/pysal_timing.py`, one thread) in the same run; medians of {runs} runs. \
         Goals: at least 10× for dissimilarity, entropy and multigroup dissimilarity, 50× for Gini.\n\n{table}\n{footer}",
        ver = pysal["version"].as_str().unwrap_or("?"),
        footer = footer(),
    ))
}

fn write_section(record: &Path, key: &str, body: &str) -> Result<()> {
    let (begin, end) = (
        format!("<!-- haven bench {key}: begin -->"),
        format!("<!-- haven bench {key}: end -->"),
    );
    let section = format!("{begin}\n{body}{end}");
    let old = std::fs::read_to_string(record)
        .unwrap_or_else(|_| "# Benchmarks\n\nFigures recorded by `haven bench`; each section names its machine and command.\n".to_string());
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(a), Some(z)) => format!("{}{section}{}", &old[..a], &old[z + end.len()..]),
        _ => format!("{}\n\n{section}\n", old.trim_end()),
    };
    std::fs::write(record, new).with_context(|| format!("writing {}", record.display()))
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
