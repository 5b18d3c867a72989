//! `haven ingest` and `haven batches`: loads in this process, or handed to a running server.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use haven_core::Settings;
use haven_core::handoff::ServerFile;
use haven_core::pipeline::{self, After, LoadParams};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct IngestArgs {
    /// The dataset: districts, population, vacant_properties, social_housing,
    /// social_housing_waiting_list, landlord_incentives or placements.
    pub dataset: String,
    /// A file, or a folder whose files load one after another in name order.
    pub path: PathBuf,
    /// File format (csv, xlsx, geojson, parquet); detected from the name and content.
    #[arg(long)]
    pub format: Option<String>,
    /// CSV delimiter: , ; | or tab; detected from the header line.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Text encoding, e.g. utf-8, windows-1252, latin1; detected.
    #[arg(long)]
    pub encoding: Option<String>,
    /// Decimal mark of numbers: point or comma; detected.
    #[arg(long)]
    pub decimal: Option<String>,
    /// Worksheet of an Excel file (default: the first with the dataset's columns).
    #[arg(long)]
    pub sheet: Option<String>,
    /// The header's line (CSV) or row (Excel), 1 for the first; found by itself when absent
    /// (the row that names the dataset's columns, under any title and note rows).
    #[arg(long, value_name = "N")]
    pub header_row: Option<u64>,
    /// Map a column of the file to a column of the dataset, e.g. --map "Adres=address"
    /// (repeat for several); a refused file suggests the mappings it needs.
    #[arg(long = "map", value_name = "FILE_COLUMN=COLUMN")]
    pub map: Vec<String>,
    /// CRS of coordinates, e.g. EPSG:31370; detected from the values.
    #[arg(long)]
    pub crs: Option<String>,
    /// Load nothing if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// Ignore columns the dataset does not have, instead of refusing the file.
    #[arg(long)]
    pub allow_extra_columns: bool,
    /// Load even if the same content was loaded last time.
    #[arg(long)]
    pub force: bool,
    /// Print the load reports as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Do not recompute the indicators after the load.
    #[arg(long)]
    pub no_analyze: bool,
}

#[derive(Args)]
pub struct BatchesArgs {
    /// Only loads of this dataset.
    #[arg(long)]
    pub dataset: Option<String>,
    /// How many loads to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Show the rejected rows of this batch instead.
    #[arg(long, value_name = "BATCH_ID")]
    pub rejected: Option<i64>,
}

/// Where loads go: this process's own store, or a server that holds the database.
pub enum Target {
    Local(ingest::Store),
    Server(ServerFile),
}

/// The server that holds the database, when one runs and answers.
pub fn running_server(db: &Path) -> Option<ServerFile> {
    let info = haven_core::handoff::read_server_file(db)?;
    server_answers(&info).then_some(info)
}

/// A request to the running server as the local operator: its JSON answer (an error answer
/// becomes an error with the server's own words).
pub fn server_call(
    info: &ServerFile,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value> {
    let (_, bytes) = server_request(info, method, path, body)?;
    Ok(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// A file the server answers `GET path` with: its name (from Content-Disposition, else the
/// path's last segment) and bytes.
pub fn server_file(info: &ServerFile, path: &str) -> Result<(String, Vec<u8>)> {
    let (name, bytes) = server_request(info, "GET", path, None)?;
    let name = name.unwrap_or_else(|| {
        path.split('?')
            .next()
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("answer")
            .to_string()
    });
    // Only a plain file name is ever written.
    if name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("the server named its answer {name:?}, which is not a plain file name");
    }
    Ok((name, bytes))
}

/// One request to the running server as the local operator.
fn server_request(
    info: &ServerFile,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<(Option<String>, Vec<u8>)> {
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    request(&info.url, &info.token, method, path, body)
}

/// One request to a Haven server at `base` with a bearer token: the file name its answer
/// gives (Content-Disposition) and the answer's bytes; an error answer becomes an error with
/// the server's own words (its problem detail).
pub(crate) fn request(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<(Option<String>, Vec<u8>)> {
    let url = format!("{base}{path}");
    let auth = format!("Bearer {token}");
    let agent = agent(Duration::from_secs(600));
    let res = match (method, body) {
        // The server may refuse before it reads the body (a token, a municipality): it then
        // answers at once, and no body is sent into a closed connection.
        ("POST", Some((ctype, bytes))) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", ctype)
            .header("Expect", "100-continue")
            .send(&bytes[..]),
        ("DELETE", _) => agent.delete(&url).header("Authorization", &auth).call(),
        _ => agent.get(&url).header("Authorization", &auth).call(),
    };
    let mut res = res.with_context(|| format!("asking the server at {base}"))?;
    let status = res.status();
    let name = res
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("filename=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .map(str::to_string);
    let bytes = res
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .context("reading the server's answer")?;
    if !status.is_success() {
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        let text = String::from_utf8_lossy(&bytes);
        let detail = value["detail"].as_str().unwrap_or(&text);
        bail!("the server answered {}: {detail}", status.as_u16());
    }
    Ok((name, bytes))
}

impl Target {
    pub fn open(settings: &Settings) -> Result<Target> {
        let db = settings.database.as_path();
        if let Some(info) = running_server(db) {
            eprintln!(
                "A Haven server holds {}; handing the load to it at {}",
                db.display(),
                info.url
            );
            return Ok(Target::Server(info));
        }
        let store = crate::open_store(settings)?;
        Ok(Target::Local(store))
    }

    pub fn ingest(
        &mut self,
        dataset: &str,
        input: &ingest::Input,
        opts: &ingest::IngestOptions,
    ) -> Result<ingest::Report> {
        match self {
            Target::Local(store) => {
                let progress = Bar::new(&input.name);
                Ok(pipeline::load_only(store, dataset, input, opts, &progress)?)
            }
            Target::Server(info) => upload(info, dataset, input, opts),
        }
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

fn server_answers(info: &ServerFile) -> bool {
    let Ok(mut res) = agent(Duration::from_secs(3))
        .get(format!("{}/api/v1/health", info.url))
        .call()
    else {
        return false;
    };
    let body = res.body_mut().read_to_string().unwrap_or_default();
    res.status().is_success() && body.contains(&info.instance)
}

fn upload(
    info: &ServerFile,
    dataset: &str,
    input: &ingest::Input,
    opts: &ingest::IngestOptions,
) -> Result<ingest::Report> {
    let mut query = vec![("source", input.name.clone())];
    let r = &opts.read;
    if let Some(f) = r.format {
        query.push(("format", format!("{f:?}").to_lowercase()));
    }
    if let Some(d) = r.delimiter {
        query.push((
            "delimiter",
            if d == b'\t' {
                "tab".into()
            } else {
                (d as char).to_string()
            },
        ));
    }
    if let Some(e) = &r.encoding {
        query.push(("encoding", e.clone()));
    }
    if let Some(d) = r.decimal {
        query.push(("decimal", format!("{d:?}").to_lowercase()));
    }
    if let Some(s) = &r.sheet {
        query.push(("sheet", s.clone()));
    }
    if let Some(n) = r.header_row {
        query.push(("header_row", n.to_string()));
    }
    if !opts.map.is_empty() {
        let pairs: Vec<String> = opts.map.iter().map(|(f, c)| format!("{f}={c}")).collect();
        query.push(("map", pairs.join(",")));
    }
    if let Some(c) = opts.crs {
        query.push(("crs", format!("EPSG:{}", c.epsg())));
    }
    for (flag, on) in [
        ("strict", opts.strict),
        ("allow_extra_columns", opts.allow_extra_columns),
        ("force", opts.force),
    ] {
        if on {
            query.push((flag, "true".into()));
        }
    }
    let mut req = agent(Duration::from_secs(3600))
        .post(format!("{}/api/v1/ingest/{dataset}", info.url))
        .header("Authorization", format!("Bearer {}", info.token));
    for (k, v) in &query {
        req = req.query(*k, v);
    }
    let mut res = req
        .send(&input.bytes[..])
        .context("sending the file to the server")?;
    let status = res.status();
    let body = res
        .body_mut()
        .read_to_string()
        .context("reading the server's answer")?;
    if !status.is_success() {
        let detail = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(String::from))
            .unwrap_or(body);
        bail!("the server refused the load ({status}): {detail}");
    }
    Ok(serde_json::from_str(&body)?)
}

/// A bar drawn with `template` on a terminal; a hidden one otherwise (pipes, CI logs).
fn terminal_bar(template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b
}

/// The progress of one file's load.
struct Bar(ProgressBar);

impl Bar {
    fn new(name: &str) -> Bar {
        let bar = terminal_bar("{msg} [{bar:30}] {percent:>3}% {elapsed}");
        let short = Path::new(name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        bar.set_message(short);
        Bar(bar)
    }
}

impl ingest::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, done: u64) {
        self.0.set_position(done);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one-screen summary of a load.
pub fn print_report(r: &ingest::Report) {
    let d = &r.details;
    let mut how: Vec<String> = Vec::new();
    if let Some(f) = d.format {
        how.push(format!("{f:?}").to_lowercase());
    }
    for (k, v) in [
        ("encoding", &d.encoding),
        ("delimiter", &d.delimiter),
        ("sheet", &d.sheet),
        ("CRS", &d.crs),
    ] {
        if let Some(v) = v {
            how.push(format!("{k} {v}"));
        }
    }
    if let Some(dec) = d.decimal {
        how.push(format!("decimal {}", format!("{dec:?}").to_lowercase()));
    }
    if let Some(n) = d.header_row.filter(|n| *n > 1) {
        how.push(format!("header on {} {n}", r.unit));
    }
    eprintln!("\n{} ← {}", r.dataset, r.source);
    if !how.is_empty() {
        eprintln!("  {}", how.join(" · "));
    }
    for note in &d.skipped {
        eprintln!("  {note}");
    }
    if r.outcome != ingest::Outcome::Unchanged {
        eprintln!(
            "  read {} · accepted {} · rejected {} · new {} · replaced {} · {:.2} s · batch {}",
            thousands(r.rows_read),
            thousands(r.rows_accepted),
            thousands(r.rows_rejected),
            thousands(r.rows_inserted),
            thousands(r.rows_replaced),
            r.elapsed_ms as f64 / 1000.0,
            r.batch_id
        );
    }
    if !r.rejected.is_empty() {
        eprintln!("  rejected rows ({} column = value: reason):", r.unit);
        for x in r.rejected.iter().take(12) {
            let col = x.column.as_deref().unwrap_or("row");
            let val = x
                .value
                .as_deref()
                .map(|v| format!(" = {v:?}"))
                .unwrap_or_default();
            eprintln!("    {} {}: {col}{val}: {}", r.unit, x.line, x.reason);
        }
        if r.rejected.len() > 12 || r.rows_rejected as usize > r.rejected.len() {
            eprintln!("    … all of them: haven batches --rejected {}", r.batch_id);
        }
        if r.top_reasons.len() > 1 {
            eprintln!("  most frequent reasons:");
            for t in r.top_reasons.iter().take(5) {
                eprintln!(
                    "    {:>7} × {}: {}",
                    thousands(t.rows),
                    t.column.as_deref().unwrap_or("row"),
                    t.reason
                );
            }
        }
    }
    if let Some(m) = &r.message {
        eprintln!("  {m}");
    }
    eprintln!("  outcome: {}", r.outcome.as_str().replace('_', " "));
}

pub fn ingest(settings: &Settings, args: &IngestArgs) -> Result<ExitCode> {
    let params = LoadParams {
        source: None,
        format: args.format.clone(),
        delimiter: args.delimiter.clone(),
        encoding: args.encoding.clone(),
        decimal: args.decimal.clone(),
        sheet: args.sheet.clone(),
        header_row: args.header_row,
        map: (!args.map.is_empty()).then(|| args.map.join(",")),
        crs: args.crs.clone(),
        strict: args.strict,
        allow_extra_columns: args.allow_extra_columns,
        force: args.force,
    };
    let opts = params.to_options("cli")?;
    ingest::schema::get(&args.dataset)?;
    let files = ingest::files_in(&args.path)?;
    let mut target = Target::open(settings)?;
    let mut reports = Vec::new();
    let mut clean = true;
    for f in files {
        let input = ingest::Input::from_path(&f)?;
        let report = target.ingest(&args.dataset, &input, &opts)?;
        print_report(&report);
        clean &= report.outcome.is_clean();
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    let changed = reports.iter().any(pipeline::changed);
    if let Target::Local(store) = &target {
        // The pipeline's policy (a server applies it to each upload itself).
        let after = if args.no_analyze {
            After::Nothing
        } else {
            After::Analyze
        };
        let bar = StepBar::new();
        let done = pipeline::follow_up(store, settings, changed, after, &bar)?;
        bar.0.finish_and_clear();
        if let Some(a) = &done.analysis {
            print_analysis(a);
            eprintln!(
                "The public figures change at the next release: `haven publish` (or a job with after = [\"publish\"])."
            );
        }
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Brings the indicators up to date (every part with `full`), with a progress bar on a
/// terminal, and prints a summary.
pub fn analyze(store: &ingest::Store, settings: &Settings, full: bool) -> Result<()> {
    let bar = StepBar::new();
    let r = pipeline::analyze(store, settings, full, &bar)?;
    bar.0.finish_and_clear();
    print_analysis(&r);
    Ok(())
}

/// The summary of an analysis run.
pub fn print_analysis(r: &analytics::AnalyzeReport) {
    let kept = |part: &str| {
        if r.computed.iter().any(|c| c == part) {
            ""
        } else {
            " (inputs unchanged: kept)"
        }
    };
    let a = &r.availability;
    eprintln!(
        "\nanalyze: {} indicators for {} districts over {} months ({} to {}){}",
        analytics::registry::INDICATORS.len(),
        a.districts,
        a.months,
        a.first_period.as_deref().unwrap_or("-"),
        a.last_period.as_deref().unwrap_or("-"),
        kept("availability")
    );
    let s = &r.segregation;
    eprintln!(
        "analyze: segregation of {} groups over {} periods (latest {}), {} index values{}",
        s.groups.len(),
        s.periods,
        s.latest_period.as_deref().unwrap_or("none"),
        s.index_rows,
        kept("segregation")
    );
    if !s.partition.is_empty() {
        eprintln!("analyze: multigroup indices of {}", s.partition.join(" + "));
    }
    for p in &s.partition_problems {
        eprintln!("analyze: multigroup indices: {p}");
    }
    eprintln!(
        "analyze: {} in {:.2} s",
        if r.computed.is_empty() {
            "everything was up to date".to_string()
        } else {
            format!("computed {}", r.computed.join(" and "))
        },
        r.elapsed_ms as f64 / 1000.0
    );
}

/// The steps of an analyze run.
pub struct StepBar(ProgressBar);

impl StepBar {
    pub fn new() -> StepBar {
        StepBar(terminal_bar(
            "analyze [{bar:30}] {pos}/{len} {msg} {elapsed}",
        ))
    }
}

impl analytics::Progress for StepBar {
    fn start(&self, steps: u64) {
        self.0.set_length(steps);
    }
    fn step(&self, what: &str) {
        self.0.set_message(what.to_string());
        self.0.inc(1);
    }
}

pub fn batches(settings: &Settings, args: &BatchesArgs) -> Result<ExitCode> {
    let db = settings.database.as_path();
    let store = match crate::open_read_only(settings) {
        Ok(s) => s,
        Err(ingest::Error::Locked { .. }) => {
            let Some(info) = running_server(db) else {
                bail!(
                    "another process holds {}; try again when it has finished",
                    db.display()
                )
            };
            return batches_from_server(&info, args);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(id) = args.rejected {
        let rows = store
            .rejected_rows(id)?
            .with_context(|| format!("there is no batch {id}; `haven batches` lists them"))?;
        print_rejected(&rows);
        return Ok(ExitCode::SUCCESS);
    }
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    println!("{BATCHES_HEADER}");
    for b in store.batches(args.dataset.as_deref(), limit)? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            b.batch_id,
            b.dataset,
            b.outcome,
            b.rows_read,
            b.rows_accepted,
            b.rows_rejected,
            b.started_at,
            b.source
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The rejected rows of a batch, one per line, tab-separated.
fn print_rejected(rows: &[ingest::store::RejectedRow]) {
    println!("line\tcolumn\tvalue\treason\traw");
    for r in rows {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            r.line,
            r.column.as_deref().unwrap_or_default(),
            r.value.as_deref().unwrap_or_default(),
            r.reason,
            r.raw
                .as_deref()
                .unwrap_or_default()
                .replace(['\n', '\r'], " ")
        );
    }
}

const BATCHES_HEADER: &str = "batch\tdataset\toutcome\tread\taccepted\trejected\tstarted\tsource";

/// `haven batches` while a server holds the database: the same table, from its API.
fn batches_from_server(info: &ServerFile, args: &BatchesArgs) -> Result<ExitCode> {
    if let Some(id) = args.rejected {
        let answer = server_call(
            info,
            "GET",
            &format!("/api/v1/officer/batches/{id}/rejected"),
            None,
        )?;
        print_rejected(&serde_json::from_value::<Vec<ingest::store::RejectedRow>>(
            answer,
        )?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut path = format!(
        "/api/v1/officer/batches?limit={}",
        args.limit.clamp(1, 1000)
    );
    if let Some(d) = &args.dataset {
        path.push_str(&format!("&dataset={d}"));
    }
    let answer = server_call(info, "GET", &path, None)?;
    println!("{BATCHES_HEADER}");
    for b in answer.as_array().map(Vec::as_slice).unwrap_or_default() {
        let text = |k: &str| b[k].as_str().unwrap_or_default().to_string();
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            b["batch_id"],
            text("dataset"),
            text("outcome"),
            b["rows_read"],
            b["rows_accepted"],
            b["rows_rejected"],
            text("started_at"),
            text("source")
        );
    }
    Ok(ExitCode::SUCCESS)
}
