//! `haven bench load` and `haven bench soak`: the server as the public meets it. Load: 1,000
//! connections of mixed public traffic (uncached indicator queries, map tiles at every zoom,
//! the catalogue, the page) for a minute, with wrk. Soak: half an hour of public traffic with a
//! scheduled import every minute, the server's resident memory read every minute.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench::{Load, footer, scaled_store, wrk_with};

/// A `haven serve` started for a benchmark; stopped (SIGTERM) when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// `haven serve` on a free loopback port for `db`, the rate limit off (every request comes
/// from 127.0.0.1), with `config` when given.
pub(crate) fn serve(db: &Path, config: Option<&Path>) -> Result<Served> {
    let announce = haven_core::handoff::server_file_path(db);
    let _ = std::fs::remove_file(&announce);
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args([
        "--db",
        &db.to_string_lossy(),
        "serve",
        "--addr",
        "127.0.0.1:0",
    ])
    .env("HAVEN_RATE_LIMIT", "0")
    .env("HAVEN_LOG", "warn")
    .stdout(Stdio::null());
    if let Some(c) = config {
        cmd.env("HAVEN_CONFIG", c);
    }
    let child = cmd.spawn().context("starting haven serve")?;
    let started = Instant::now();
    while !announce.exists() {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the server did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&announce)?)?;
    let url = info["url"].as_str().context("server URL")?.to_string();
    Ok(Served { child, url })
}

/// What the mixed traffic asks for, from the database's own districts, months and extent.
struct Traffic {
    districts: Vec<String>,
    months: Vec<String>,
    indicators: Vec<String>,
    /// Longitude and latitude extent of the districts.
    extent: (f64, f64, f64, f64),
}

fn traffic(conn: &duckdb::Connection) -> Result<Traffic> {
    let strings = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    };
    let extent = conn.query_row(
        "SELECT min(lon), min(lat), max(lon), max(lat) FROM vacant_properties",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(Traffic {
        districts: strings(
            "SELECT DISTINCT area_code FROM indicators_published WHERE level = 'district' ORDER BY 1",
        )?,
        months: strings("SELECT DISTINCT period FROM indicators_published ORDER BY 1")?,
        indicators: strings(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'indicators_published'
               AND column_name NOT IN ('area_code', 'level', 'period', 'withheld') ORDER BY 1",
        )?,
        extent,
    })
}

/// The tile range covering the extent at zoom `z`: (x0, x1, y0, y1).
fn tile_range(extent: (f64, f64, f64, f64), z: u32) -> (i64, i64, i64, i64) {
    let n = f64::from(1u32 << z);
    let x = |lon: f64| ((lon + 180.0) / 360.0 * n).floor() as i64;
    let y = |lat: f64| {
        let r = lat.to_radians();
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as i64
    };
    let (w, s, e, nn) = extent;
    (x(w), x(e), y(nn), y(s))
}

/// A wrk script of mixed public traffic: of every 20 requests, 9 uncached indicator queries
/// (a walk that never repeats, pages of 10 to 199 rows as the dashboard and scripts ask), 6
/// district tiles at zoom 10 to 14 anywhere over the municipality (a map panning over it),
/// 1 cached indicator query, and one each of the status, the catalogue, the release list and
/// the page.
fn mixed_script(dir: &Path, t: &Traffic) -> Result<PathBuf> {
    let tiles = (10..=14)
        .map(|z| {
            let (x0, x1, y0, y1) = tile_range(t.extent, z);
            format!("{{{z},{x0},{x1},{y0},{y1}}}")
        })
        .collect::<Vec<_>>()
        .join(",");
    let script = format!(
        r#"-- Written by `haven bench load` / `haven bench soak`: mixed public traffic.
{preamble}local tiles = {{{tiles}}}
function init(args)
  base = ((tonumber(args[1]) or 0) * 16 + (tonumber(tid) or 0)) * 1000003
  math.randomseed(base + 17)
end
function request()
  n = n + 1
  local g = base + n
  local k = n % 20
  if k < 9 then
    local j = (g * 7919) % (D * M)
    local limit = 10 + math.floor(g / (D * M)) % 190
    if n % 2 == 0 then
      return wrk.format("GET", "/api/v1/indicators?area=" .. districts[j % D + 1]
        .. "&period=" .. months[math.floor(j / D) % M + 1] .. "&limit=" .. limit)
    end
    j = (g * 7919) % (D * I)
    return wrk.format("GET", "/api/v1/indicators?area=" .. districts[j % D + 1]
      .. "&indicator=" .. indicators[math.floor(j / D) % I + 1] .. "&limit=" .. limit)
  elseif k < 15 then
    local t = tiles[math.random(#tiles)]
    return wrk.format("GET", "/tiles/districts/" .. t[1] .. "/" .. math.random(t[2], t[3])
      .. "/" .. math.random(t[4], t[5]) .. ".mvt")
  elseif k == 15 then
    return wrk.format("GET", "/api/v1/indicators?area=" .. districts[1] .. "&period=" .. months[M] .. "&limit=100")
  elseif k == 16 then
    return wrk.format("GET", "/api/v1/status")
  elseif k == 17 then
    return wrk.format("GET", "/api/v1/catalog")
  elseif k == 18 then
    return wrk.format("GET", "/api/v1/releases")
  end
  return wrk.format("GET", "/")
end
"#,
        preamble = crate::bench::lua_preamble(&t.districts, &t.months, &t.indicators),
    );
    let path = dir.join("mixed_traffic.lua");
    std::fs::write(&path, script)?;
    Ok(path)
}

/// The server's resident memory (VmRSS), MiB.
fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")?;
    Ok(kb / 1024.0)
}

/// 1,000 connections of mixed public traffic for `seconds` against the scaled demo.
pub fn load_suite(dir: &Path, vacant: usize, connections: u32, seconds: u32) -> Result<String> {
    let db = dir.join("indicators.duckdb");
    let t = {
        let store = scaled_store(dir, vacant)?;
        if !store.has_table("indicators_published")? {
            bail!("run `haven bench api` first: it analyses the scaled demo and releases it");
        }
        traffic(store.conn())?
    };
    let script = mixed_script(dir, &t)?;
    let served = serve(&db, None)?;
    let base = format!("{}/", served.url);
    // Settle at 64 connections first, then the measured minute.
    wrk_with(&base, None, 5, Some(&script), 64)?;
    eprintln!("{connections} connections for {seconds} s of mixed public traffic");
    let l = wrk_with(&base, None, seconds, Some(&script), connections)?;
    let rss = rss_mib(served.child.id())?;
    drop(served);
    println!(
        "{connections} connections: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors ({} requests); server resident {rss:.0} MiB",
        l.rps, l.p50, l.p99, l.errors, l.requests
    );
    if l.errors > 0 {
        bail!("{} errors under load", l.errors);
    }
    Ok(format!(
        "## Load: {connections} connections of mixed public traffic\n\n\
         `wrk -t2 -c{connections} -d{seconds}s --timeout 10s --latency -s mixed_traffic.lua` against `haven serve` on \
         the scaled demo ({vacant} vacant properties, {} districts, {} months), on loopback, both on this \
         machine's two cores, the rate limit off. Of every 20 requests: 9 uncached indicator queries \
         (a walk through district × month and district × indicator that never repeats a URL, pages of 10 to \
         199 rows), 6 district tiles at zoom 10 to 14 anywhere over the municipality, one cached indicator query, and one each of \
         the status, the DCAT catalogue, the release list and the page. 5 s at 64 connections first. \
         The first run of this benchmark, against a server that read its published indicators and its \
         districts on the first request, answered 24 requests/s with 455 time-outs: a thousand visitors \
         arriving at once started a thousand SQL queries and district reads, and tokio up to 512 \
         blocking threads (2.4 GiB). The server now reads both before it listens, computes each \
         uncached answer once however many ask for it, writes the district tiles in linear time \
         (a zoom-8 tile of 5,700 districts: 0.12 s, was 3.1 s) and keeps 64 blocking threads.\n\n\
         | connections | seconds | requests | requests/s | p50 (ms) | p99 (ms) | errors | server resident (MiB) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n\
         | {connections} | {seconds} | {} | **{:.0}** | {:.2} | **{:.2}** | **{}** | {rss:.0} |\n\n{}",
        t.districts.len(),
        t.months.len(),
        l.requests,
        l.rps,
        l.p50,
        l.p99,
        l.errors,
        footer(),
    ))
}

/// The demo's vacancy register with the renovation estimates of a different tenth of its rows
/// revised: each minute's file is new, so each scheduled run loads and analyses the whole
/// register, and the data stays the size a municipality's is. Statuses are left as they are:
/// every new (status, date) of a home is kept in the status history for good, so moving a tenth
/// of the statuses every minute would grow the history by thousands of rows an hour, which no
/// register does (a home changes status a few times in its life). Bytes are kept as they are
/// (the register is windows-1252, as officers' exports are).
fn vary_register(original: &[u8], minute: usize, to: &Path) -> Result<()> {
    const COST: usize = 11;
    let mut out = Vec::with_capacity(original.len() + 4096);
    for (i, line) in original.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut cells: Vec<Vec<u8>> = line.split(|b| *b == b';').map(<[u8]>::to_vec).collect();
        if i > 0 && i % 10 == minute % 10 && cells.len() > 14 {
            cells[COST] = format!("{}", 1_000 * (1 + (i / 10 + minute) % 90)).into_bytes();
        }
        out.extend_from_slice(&cells.join(&b';'));
        out.push(b'\n');
    }
    let partial = to.with_extension("partial");
    std::fs::write(&partial, out)?;
    std::fs::rename(&partial, to)?;
    Ok(())
}

/// How flat memory readings are: the largest distance of a reading from their median, and the
/// change from the mean of the first five to the mean of the last five, both in % (0 when
/// there are none).
fn flatness(readings: &[f64]) -> (f64, f64) {
    if readings.is_empty() {
        return (0.0, 0.0);
    }
    let mut sorted = readings.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let deviation = readings
        .iter()
        .map(|r| (r - median).abs() / median * 100.0)
        .fold(0.0, f64::max);
    let k = readings.len().min(5);
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let (first, last) = (mean(&readings[..k]), mean(&readings[readings.len() - k..]));
    (deviation, (last - first) / first * 100.0)
}

/// DuckDB's memory limit in the soak, as a server that runs for months sets it (haven.toml's
/// `[database] memory_limit`): without one, DuckDB keeps what it read up to 80 % of the RAM.
const SOAK_DUCKDB_MEMORY: &str = "256MB";

/// `minutes` of public traffic with a scheduled import every minute, on the demo.
pub fn soak_suite(dir: &Path, minutes: usize) -> Result<String> {
    let dir = dir.join("soak");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let dir = std::path::absolute(&dir)?;
    let db = dir.join("soak.duckdb");
    let exe = std::env::current_exe()?;
    let haven = |args: &[&str]| -> Result<std::process::Output> {
        Ok(Command::new(&exe)
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("HAVEN_LOG", "warn")
            .output()?)
    };
    let demo = dir.join("demo");
    let out = haven(&["demo", "--no-serve", "--out", &demo.to_string_lossy()])?;
    if !out.status.success() && out.status.code() != Some(2) {
        bail!("the demo: {}", String::from_utf8_lossy(&out.stderr));
    }
    let token = String::from_utf8(haven(&["users", "add", "soak", "--role", "officer"])?.stdout)?
        .trim()
        .to_string();
    let admin =
        String::from_utf8(haven(&["users", "add", "soak-admin", "--role", "admin"])?.stdout)?
            .trim()
            .to_string();
    let t = {
        let store = ingest::Store::open_read_only(&db)?;
        traffic(store.conn())?
    };
    let script = mixed_script(&dir, &t)?;
    let original = std::fs::read(demo.join("leegstand_vacant_properties.csv"))?;
    let register = dir.join("register.csv");
    vary_register(&original, 0, &register)?;
    let config = dir.join("haven.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nmemory_limit = \"{SOAK_DUCKDB_MEMORY}\"\n\n\
             [[job]]\nname = \"register\"\ndataset = \"vacant_properties\"\nschedule = \"0 * * * * *\"\n\
             after = [\"analyze\"]\n\n[job.source]\npath = \"{}\"\n",
            register.display()
        ),
    )?;
    let served = serve(&db, Some(&config))?;
    let base = format!("{}/", served.url);
    let pid = served.child.id();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let runs = |limit: usize| -> Result<Vec<(String, String)>> {
        let text = agent
            .get(format!(
                "{}/api/v1/officer/jobs?job=register&limit={limit}",
                served.url
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .call()?
            .body_mut()
            .read_to_string()?;
        let body: serde_json::Value = serde_json::from_str(&text)?;
        let rows = body
            .as_array()
            .or_else(|| body["runs"].as_array())
            .cloned()
            .unwrap_or_default();
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r["started_at"].as_str().unwrap_or_default().to_string(),
                    r["outcome"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect())
    };
    // Where the memory is at the end of each minute: DuckDB's (all its components) and the
    // answers kept, as the server's admin route says.
    let memory = || -> Result<(f64, f64, u64)> {
        let text = agent
            .get(format!("{}/api/v1/admin/memory", served.url))
            .header("Authorization", &format!("Bearer {admin}"))
            .call()?
            .body_mut()
            .read_to_string()?;
        let m: serde_json::Value = serde_json::from_str(&text)?;
        let duck: i64 = m["duckdb"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["memory_bytes"].as_i64()).sum())
            .unwrap_or(0);
        let mib = |b: f64| b / f64::from(1u32 << 20);
        Ok((
            mib(duck as f64),
            mib(m["answer_cache_bytes"].as_f64().unwrap_or(0.0)),
            m["answer_cache_entries"].as_u64().unwrap_or(0),
        ))
    };
    let start_rss = rss_mib(pid)?;
    eprintln!("soak: {minutes} minutes; the server starts at {start_rss:.0} MiB");
    // Resident memory read four times a second; each minute keeps its highest reading, so every
    // minute is read at its worst (its scheduled load included), whatever the phase of the clock.
    let peak = std::sync::Arc::new(std::sync::Mutex::new(0.0_f64));
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(r) = rss_mib(pid) {
                    let mut p = peak.lock().unwrap_or_else(|e| e.into_inner());
                    *p = p.max(r);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let take_peak = || std::mem::take(&mut *peak.lock().unwrap_or_else(|e| e.into_inner()));
    let mut rows = Vec::new();
    let mut samples: Vec<(usize, f64, Load, usize, usize)> = Vec::new();
    for minute in 1..=minutes {
        let t0 = Instant::now();
        // The next run sees a new file.
        vary_register(&original, minute, &register)?;
        let l = wrk_with(&base, None, 55, Some(&script), 32)?;
        while t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(200));
        }
        let rss = take_peak().max(rss_mib(pid)?);
        let (duck, kept, answers) = memory()?;
        let all = runs(1000)?;
        let loaded = all.iter().filter(|(_, o)| o.starts_with("loaded")).count();
        let failed = all
            .iter()
            .filter(|(_, o)| !(o.starts_with("loaded") || o == "unchanged" || o == "running"))
            .count();
        eprintln!(
            "minute {minute}: resident at most {rss:.0} MiB (DuckDB {duck:.0} MiB, {answers} answers kept in {kept:.0} MiB), {:.0} req/s, p99 {:.1} ms, {} errors; runs loaded {loaded}, failed {failed}",
            l.rps, l.p99, l.errors
        );
        rows.push(format!(
            "| {minute} | {rss:.0} | {duck:.0} | {kept:.0} | {:.0} | {:.1} | {} | {loaded} | {failed} |",
            l.rps, l.p99, l.errors
        ));
        samples.push((minute, rss, l, loaded, failed));
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.join();
    drop(served);
    // The first sixth of the run warms up (answers and tiles kept, DuckDB's buffers filled).
    let from = (minutes / 6).max(1);
    let settled: Vec<f64> = samples
        .iter()
        .filter(|s| s.0 >= from)
        .map(|s| s.1)
        .collect();
    let (lo, hi) = settled
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    let (deviation, trend) = flatness(&settled);
    let errors: u64 = samples.iter().map(|s| s.2.errors).sum();
    let requests: u64 = samples.iter().map(|s| s.2.requests).sum();
    let (loaded, failed) = samples.last().map_or((0, 0), |s| (s.3, s.4));
    println!(
        "soak: {requests} requests, {errors} errors; {loaded} scheduled loads, {failed} failed; resident memory from minute {from} between {lo:.0} and {hi:.0} MiB, at most {deviation:.1} % from its median, {trend:+.1} % from the first five minutes to the last five"
    );
    let verdict = if errors == 0 && failed == 0 && deviation <= 10.0 && trend <= 10.0 {
        "no error, no failed run, resident memory flat within 10 %"
    } else {
        "NOT MET: see the table"
    };
    Ok(format!(
        "## Soak: {minutes} minutes of public traffic with a scheduled import every minute\n\n\
         `haven serve` on the demo ({} districts), DuckDB's memory limited to {SOAK_DUCKDB_MEMORY} (`[database] memory_limit`), with a job that loads the vacancy register every minute \
         (`schedule = \"0 * * * * *\"`, then the indicators; the renovation estimates of a tenth of its rows change each minute, so \
         every run loads and analyses), and mixed public traffic (as in *Load*, 32 connections, wrk in \
         55-second runs) the whole time; the server's resident memory (VmRSS) read four times a second, \
         and the highest reading of each minute recorded (so each minute is read at its worst, its load \
         included), beside DuckDB's memory (all its components, `GET /api/v1/admin/memory`) and the \
         answers kept at the end of the minute. It starts at {start_rss:.0} MiB. Over all: {requests} requests, **{errors} errors**, \
         {loaded} scheduled loads, **{failed} failed**; resident memory from minute {from} on between {lo:.0} \
         and {hi:.0} MiB, every reading within **{deviation:.1} %** of their median, and **{trend:+.1} %** from \
         the mean of its first five readings to the mean of its last five (the answer cache is bounded at \
         64 MiB and lets its oldest answers go first): {verdict}.\n\n\
         | minute | highest resident (MiB) | DuckDB (MiB) | answers kept (MiB) | requests/s | p99 (ms) | errors | loads so far | failed runs |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n{}\n\n{}",
        t.districts.len(),
        rows.join("\n"),
        footer(),
    ))
}
