//! One load: read, validate, stage, then replace rows by primary key and record the batch, all
//! in one transaction. Readers see the whole batch or none of it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use csv::StringRecord;
use duckdb::params;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::geo::{self, Crs, DistrictIndex, Reprojector};
use crate::read::{self, Decimal, Details, Input, ReadOptions, Table};
use crate::schema::{self, FieldType, Schema, quote_ident};
use crate::store::{Store, hex};
use crate::validate::{Columns, Context, Problem, Validator, parse_number};
use duckdb::arrow::record_batch::RecordBatch;

/// Rows per Arrow batch handed to DuckDB: small enough that the appender finishes soon after
/// validation does, a multiple of DuckDB's vector size (2,048).
const CHUNK: usize = 49_152;
/// Rejected rows listed in a report (all of them are stored in `rejected_rows`).
const REPORT_REJECTS: usize = 50;

/// One file read at a time in a process: a file may take about three times its size while it
/// is read, so uploads and scheduled sources arriving together wait their turn instead of
/// adding their peaks (the bound README states holds for the server as for `haven ingest`).
static READING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How to load a file.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub read: ReadOptions,
    /// The CRS of the coordinates; detected when `None`.
    pub crs: Option<Crs>,
    /// Load nothing when any row is rejected.
    pub strict: bool,
    /// Accept (and ignore) columns the schema does not know.
    pub allow_extra_columns: bool,
    /// Load even when the same content was the last successful load.
    pub force: bool,
    /// Who started the load: cli, server, demo, job.
    pub origin: String,
    /// File columns mapped to dataset columns (`--map FILE_COLUMN=COLUMN`), for headers the
    /// dataset does not know by name or alias.
    pub map: Vec<(String, String)>,
}

impl IngestOptions {
    /// The options that change how the same bytes are read: a load is "unchanged" only when
    /// both the content and these match the last load.
    fn read_key(&self) -> String {
        let r = &self.read;
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}{}",
            r.format,
            r.delimiter,
            r.encoding,
            r.decimal,
            r.sheet,
            self.crs.map(Crs::epsg),
            self.allow_extra_columns,
            // Absent unless given, so the keys of earlier loads stay the same.
            r.header_row
                .map(|n| format!("|header {n}"))
                .unwrap_or_default()
                + &self
                    .map
                    .iter()
                    .map(|(f, c)| format!("|map {f}={c}"))
                    .collect::<String>()
        )
    }
}

/// Progress of a running load.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug)]
pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Loaded,
    LoadedWithRejections,
    Unchanged,
    Refused,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Loaded => "loaded",
            Outcome::LoadedWithRejections => "loaded_with_rejections",
            Outcome::Unchanged => "unchanged",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    /// Everything read was loaded (or was already there).
    pub fn is_clean(self) -> bool {
        matches!(self, Outcome::Loaded | Outcome::Unchanged)
    }
}

/// A rejected row as reported (one entry per problem).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejected {
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReasonCount {
    pub column: Option<String>,
    pub reason: String,
    pub rows: u64,
}

/// What a load did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub batch_id: i64,
    pub dataset: String,
    pub source: String,
    pub sha256: String,
    pub outcome: Outcome,
    pub message: Option<String>,
    pub details: Details,
    /// What a location counts in this file: line, row or feature.
    pub unit: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    pub rows_inserted: u64,
    pub rows_replaced: u64,
    pub top_reasons: Vec<ReasonCount>,
    /// The first rejected rows; all are in the `rejected_rows` table.
    pub rejected: Vec<Rejected>,
    pub elapsed_ms: u64,
}

/// Loads one file into a dataset.
pub fn ingest(
    store: &Store,
    dataset: &str,
    input: &Input,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Report> {
    let schema = schema::get(dataset)?;
    let _turn = READING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let started = Instant::now();
    let conn = store.conn();
    let sha256 = hex(&Sha256::digest(&input.bytes));
    let origin = if opts.origin.is_empty() {
        "cli"
    } else {
        &opts.origin
    };
    let read_options = opts.read_key();
    let batch_id: i64 = conn.query_row("SELECT nextval('ingest_batch_seq')", [], |r| r.get(0))?;
    let mut report = Report {
        batch_id,
        dataset: dataset.to_string(),
        source: input.name.clone(),
        sha256: sha256.clone(),
        outcome: Outcome::Loaded,
        message: None,
        details: Details::default(),
        unit: "line".into(),
        rows_read: 0,
        rows_accepted: 0,
        rows_rejected: 0,
        rows_inserted: 0,
        rows_replaced: 0,
        top_reasons: Vec::new(),
        rejected: Vec::new(),
        elapsed_ms: 0,
    };
    conn.execute(
        "INSERT INTO ingest_batches (batch_id, dataset, source, sha256, read_options, origin, started_at, outcome)
         VALUES (?, ?, ?, ?, ?, ?, now(), 'running')",
        params![batch_id, dataset, input.name, sha256, read_options, origin],
    )?;

    let last: Option<(String, String)> = conn
        .query_row(
            "SELECT sha256, read_options FROM ingest_batches WHERE dataset = ? AND outcome IN ('loaded', 'loaded_with_rejections')
             ORDER BY batch_id DESC LIMIT 1",
            [dataset],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let result = if !opts.force
        && last
            .as_ref()
            .is_some_and(|(s, o)| *s == sha256 && *o == read_options)
    {
        report.outcome = Outcome::Unchanged;
        report.message =
            Some("the same content as the last load of this dataset; nothing to do".into());
        finish_batch(store, &report, &[]).map(|_| ())
    } else {
        load(store, schema, input, opts, progress, &mut report)
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(()) => {
            conn.execute(
                "UPDATE ingest_batches SET finished_at = now() WHERE batch_id = ?",
                [batch_id],
            )?;
            Ok(report)
        }
        Err(Error::Refused(message) | Error::Format(message)) => {
            report.outcome = Outcome::Refused;
            report.message = Some(message);
            let _ = conn.execute_batch("ROLLBACK");
            finish_batch(store, &report, &[])?;
            Ok(report)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            report.outcome = Outcome::Failed;
            report.message = Some(e.to_string());
            let _ = finish_batch(store, &report, &[]);
            Err(e)
        }
    }
}

struct RejectRow {
    line: u64,
    problem: Problem,
    raw: String,
}

fn load(
    store: &Store,
    schema: &'static Schema,
    input: &Input,
    opts: &IngestOptions,
    progress: &dyn Progress,
    report: &mut Report,
) -> Result<()> {
    let conn = store.conn();
    let t0 = Instant::now();
    let mut read_options = opts.read.clone();
    read_options.known_columns = schema
        .fields
        .iter()
        .flat_map(|f| std::iter::once(&f.name).chain(&f.aliases))
        .map(|n| read::layout::normalise(n))
        .collect();
    let mut table = read::open(input, &read_options)?;
    report.unit = table.rows.unit().to_string();
    let headers = table.rows.headers().to_vec();
    let is_geojson = table.details.format == Some(read::Format::Geojson);
    let cols = map_columns(
        schema,
        &headers,
        opts.allow_extra_columns,
        is_geojson,
        &opts.map,
    )?;
    let ctx = context(store, schema)?;
    let sample = table.rows.sample(2000);
    let decimal = opts
        .read
        .decimal
        .unwrap_or_else(|| detect_decimal(schema, &cols, &sample));
    table.details.decimal = Some(decimal);

    let crs = match opts.crs.or(table.declared_crs) {
        Some(c) => Some(c),
        None => coordinates_sample(schema, &cols, &sample, decimal)
            .map(|pts| geo::detect_crs(&pts, ctx.districts.as_ref().and_then(DistrictIndex::bbox)))
            .transpose()?,
    };
    if let Some(c) = crs {
        table.details.crs = Some(c.label());
    }
    let reproject = crs.map(Reprojector::new).transpose()?.flatten();
    // Households erased on request are not loaded again (found by their reference's digest).
    let erased = if schema.name == "placements" {
        crate::erase::erased_subjects(store)?
    } else {
        Default::default()
    };
    let erased_col = schema
        .field_index("household_ref")
        .and_then(|i| cols[i])
        .filter(|_| !erased.is_empty());
    let mut validator = Validator::new(schema, cols, decimal, reproject, &ctx);
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        "opened, detected and indexed"
    );

    let table_name = quote_ident(&schema.name);
    let mut columns = Columns::new(schema, report.batch_id);
    let width = headers.len();
    let Table {
        rows: mut source,
        details,
        ..
    } = table;
    progress.start(source.progress().1);

    // Rows go straight into the dataset table inside one transaction: a second thread parses
    // and validates while this one hands Arrow batches to DuckDB. Older rows with the same key
    // are deleted before the commit, so the batch replaces them whole or not at all.
    conn.execute_batch("BEGIN TRANSACTION")?;
    let rows_before: i64 = conn.query_row(
        &format!("SELECT count(*) FROM main.{table_name}"),
        [],
        |r| r.get(0),
    )?;
    type Read = (u64, Vec<RejectRow>, Vec<String>);
    let (read_rows, rejects, notes) = std::thread::scope(|scope| -> Result<Read> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
        let worker = scope.spawn(move || -> Result<Read> {
            let mut rec = StringRecord::new();
            let mut rejects: Vec<RejectRow> = Vec::new();
            let mut left_out: Vec<u64> = Vec::new();
            let (mut read_rows, mut first) = (0u64, true);
            while let Some(loc) = source.next_record(&mut rec)? {
                if let Some(c) = erased_col
                    && erased.contains(&crate::erase::subject_digest(rec.get(c).unwrap_or("")))
                {
                    left_out.push(loc.line);
                    continue;
                }
                // An HXL hashtag row under the header is part of the header, not data.
                if std::mem::take(&mut first)
                    && rec.iter().any(|c| !c.is_empty())
                    && rec
                        .iter()
                        .all(|c| c.is_empty() || c.trim_start().starts_with('#'))
                {
                    continue;
                }
                read_rows += 1;
                let problems = validator.check(&rec, loc.line, width);
                if problems.is_empty() {
                    columns.push(&validator, &rec);
                    if columns.len() >= CHUNK && tx.send(columns.take()).is_err() {
                        break; // the loader stopped; its error is reported
                    }
                } else {
                    let raw = source.raw(&loc, &rec);
                    rejects.extend(problems.into_iter().map(|problem| RejectRow {
                        line: loc.line,
                        problem,
                        raw: raw.clone(),
                    }));
                }
                if read_rows.is_multiple_of(16_384) {
                    progress.advance(source.progress().0);
                }
            }
            if !columns.is_empty() {
                let _ = tx.send(columns.take());
            }
            progress.advance(source.progress().1);
            tracing::debug!(ms = t0.elapsed().as_millis() as u64, "validation finished");
            let mut notes = source.notes();
            if !left_out.is_empty() {
                let lines: Vec<String> = left_out.iter().take(20).map(u64::to_string).collect();
                notes.push(format!(
                    "{} rows of households erased on request left out, not loaded again ({} {}{})",
                    left_out.len(),
                    source.unit(),
                    lines.join(", "),
                    if left_out.len() > 20 { ", …" } else { "" }
                ));
            }
            Ok((read_rows, rejects, notes))
        });
        let mut appender = conn.appender(&schema.name)?;
        let mut appending = std::time::Duration::ZERO;
        for batch in rx {
            let t = Instant::now();
            appender.append_record_batch(batch)?;
            appending += t.elapsed();
        }
        tracing::debug!(
            ms = appending.as_millis() as u64,
            "time in DuckDB's appender"
        );
        appender.flush()?;
        drop(appender);
        worker
            .join()
            .map_err(|_| Error::Invalid("the validation thread failed".into()))?
    })?;
    progress.finish();
    tracing::debug!(
        ms = t0.elapsed().as_millis() as u64,
        "validated and appended"
    );
    report.details = details;
    report.details.skipped.extend(notes);
    report.rows_read = read_rows;
    report.rows_rejected = rejects.iter().map(|r| r.line).collect::<HashSet<_>>().len() as u64;
    report.rows_accepted = report.rows_read - report.rows_rejected;
    if report.rows_read == 0 {
        return Err(Error::Refused(format!(
            "{}: the file has a header but no rows",
            input.name
        )));
    }
    summarise(report, &rejects);

    if opts.strict && report.rows_rejected > 0 {
        conn.execute_batch("ROLLBACK")?;
        report.outcome = Outcome::Refused;
        report.message = Some(format!(
            "{} of {} rows were rejected and --strict loads nothing when any row is rejected",
            report.rows_rejected, report.rows_read
        ));
        report.rows_accepted = 0;
        finish_batch(store, report, &rejects)?;
    } else {
        report.outcome = if report.rows_rejected > 0 {
            Outcome::LoadedWithRejections
        } else {
            Outcome::Loaded
        };
        let keys = schema
            .primary_key
            .iter()
            .map(|k| quote_ident(k))
            .collect::<Vec<_>>()
            .join(", ");
        let on = schema
            .primary_key
            .iter()
            .map(|k| format!("t.{k} = s.{k}", k = quote_ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ");
        // Nothing to replace in a table that was empty (a first load skips the key join).
        report.rows_replaced = if rows_before == 0 {
            0
        } else {
            conn.execute(
            &format!(
                "DELETE FROM main.{table_name} t USING (SELECT {keys} FROM main.{table_name} WHERE _batch_id = ?) s
                 WHERE t._batch_id <> ? AND {on}"
            ),
            params![report.batch_id, report.batch_id],
        )? as u64
        };
        report.rows_inserted = report.rows_accepted - report.rows_replaced;
        record_status_history(conn, schema, report.batch_id)?;
        finish_batch_in_tx(store, report, &rejects)?;
        conn.execute_batch("COMMIT")?;
        tracing::debug!(ms = t0.elapsed().as_millis() as u64, "committed");
    }
    Ok(())
}

/// Adds to `status_history` each (key, status, date) of the batch not seen before, in the load's
/// transaction: the register keeps only a home's current status, the history keeps its path.
fn record_status_history(conn: &duckdb::Connection, schema: &Schema, batch: i64) -> Result<()> {
    let (Some(h), [key]) = (&schema.status_history, schema.primary_key.as_slice()) else {
        return Ok(());
    };
    let (key, status, date) = (
        quote_ident(key),
        quote_ident(&h.status),
        quote_ident(&h.date),
    );
    conn.execute(
        &format!(
            "INSERT INTO status_history (dataset, record_id, status, status_date, batch_id)
             SELECT DISTINCT ?, CAST({key} AS VARCHAR), {status}, {date}, _batch_id
             FROM main.{table} WHERE _batch_id = ? AND {status} IS NOT NULL AND {date} IS NOT NULL
             ON CONFLICT DO NOTHING",
            table = quote_ident(&schema.name)
        ),
        params![schema.name, batch],
    )?;
    Ok(())
}

/// Records the batch's outcome and rejected rows in one transaction.
fn finish_batch(store: &Store, report: &Report, rejects: &[RejectRow]) -> Result<()> {
    let conn = store.conn();
    conn.execute_batch("BEGIN TRANSACTION")?;
    match finish_batch_in_tx(store, report, rejects) {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn finish_batch_in_tx(store: &Store, report: &Report, rejects: &[RejectRow]) -> Result<()> {
    let conn = store.conn();
    if !rejects.is_empty() {
        let mut app = conn.appender("rejected_rows")?;
        for r in rejects {
            app.append_row(params![
                report.batch_id,
                r.line as i64,
                r.problem.column,
                r.problem.value,
                r.problem.reason,
                r.raw
            ])?;
        }
        app.flush()?;
    }
    conn.execute(
        "UPDATE ingest_batches SET format = ?, details = ?, rows_read = ?, rows_accepted = ?, rows_rejected = ?,
                rows_inserted = ?, rows_replaced = ?, outcome = ?, message = ?, finished_at = now()
         WHERE batch_id = ?",
        params![
            report.details.format.map(|f| format!("{f:?}").to_lowercase()),
            serde_json::to_string(&report.details).unwrap_or_default(),
            report.rows_read as i64,
            report.rows_accepted as i64,
            report.rows_rejected as i64,
            report.rows_inserted as i64,
            report.rows_replaced as i64,
            report.outcome.as_str(),
            report.message,
            report.batch_id
        ],
    )?;
    Ok(())
}

fn summarise(report: &mut Report, rejects: &[RejectRow]) {
    let mut counts: BTreeMap<(Option<String>, String), HashSet<u64>> = BTreeMap::new();
    for r in rejects {
        let generic = r
            .problem
            .reason
            .split(" (")
            .next()
            .unwrap_or(&r.problem.reason)
            .to_string();
        counts
            .entry((r.problem.column.clone(), generic))
            .or_default()
            .insert(r.line);
    }
    let mut top: Vec<ReasonCount> = counts
        .into_iter()
        .map(|((column, reason), lines)| ReasonCount {
            column,
            reason,
            rows: lines.len() as u64,
        })
        .collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.rows));
    top.truncate(8);
    report.top_reasons = top;
    report.rejected = rejects
        .iter()
        .take(REPORT_REJECTS)
        .map(|r| Rejected {
            line: r.line,
            column: r.problem.column.clone(),
            value: r.problem.value.clone(),
            reason: r.problem.reason.clone(),
        })
        .collect();
}

/// Matches the file's columns to the schema's fields, or refuses the file with one message
/// naming every missing and unknown column.
fn map_columns(
    schema: &Schema,
    headers: &[String],
    allow_extra: bool,
    geojson: bool,
    map: &[(String, String)],
) -> Result<Vec<Option<usize>>> {
    for (from, to) in map {
        if schema.field_index(to).is_none() {
            return Err(Error::Invalid(format!(
                "--map {from}={to}: the {} dataset has no column {to}; its columns are: {}",
                schema.name,
                schema.field_names().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut cols: Vec<Option<usize>> = vec![None; schema.fields.len()];
    let mut unknown = Vec::new();
    let mut doubled = Vec::new();
    for (c, h) in headers.iter().enumerate() {
        let n = read::layout::normalise(h);
        if n.is_empty() {
            continue;
        }
        let mapped = map
            .iter()
            .find(|(from, _)| read::layout::normalise(from) == n)
            .map(|(_, to)| to.as_str());
        match schema.fields.iter().position(|f| match mapped {
            Some(to) => f.name == to,
            None => f.name == n || f.aliases.contains(&n),
        }) {
            Some(i) if cols[i].is_none() => cols[i] = Some(c),
            Some(i) => doubled.push(format!("{h} (again {})", schema.fields[i].name)),
            // GeoJSON geometry and point coordinates come with every feature.
            None if geojson && matches!(n.as_str(), "geometry" | "lon" | "lat") => {}
            None => unknown.push(h.clone()),
        }
    }
    let mut missing: Vec<String> = schema
        .fields
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            f.constraints.required && !schema.is_derived(&f.name) && cols[*i].is_none()
        })
        .map(|(_, f)| f.name.clone())
        .collect();
    for rule in &schema.rules {
        if let schema::Rule::AnyOf { fields } = rule
            && !fields
                .iter()
                .any(|f| schema.field_index(f).is_some_and(|i| cols[i].is_some()))
        {
            missing.push(format!("one of {}", fields.join(" or ")));
        }
    }
    let refuse =
        !missing.is_empty() || !doubled.is_empty() || (!unknown.is_empty() && !allow_extra);
    if !refuse {
        return Ok(cols);
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing required columns: {}", missing.join(", ")));
    }
    if !unknown.is_empty() && !allow_extra {
        let free = |f: &str| schema.field_index(f).is_some_and(|i| cols[i].is_none());
        let named: Vec<String> = unknown
            .iter()
            .map(|h| match crate::suggest::column_for(h, schema, free) {
                Some(c) => format!("{h} (probably {c}: --map \"{h}={c}\")"),
                None => h.clone(),
            })
            .collect();
        parts.push(format!(
            "unknown columns: {} (map them with --map FILE_COLUMN=COLUMN, or ignore them with --allow-extra-columns)",
            named.join(", ")
        ));
    }
    if !doubled.is_empty() {
        parts.push(format!("columns given twice: {}", doubled.join(", ")));
    }
    Err(Error::Refused(format!(
        "this file does not fit the {} dataset: {}. Its columns are: {}. See schemas/{}.json",
        schema.name,
        parts.join("; "),
        schema.field_names().collect::<Vec<_>>().join(", "),
        schema.name
    )))
}

/// Districts and properties the validation of this dataset needs.
fn context(store: &Store, schema: &Schema) -> Result<Context> {
    let conn = store.conn();
    let mut ctx = Context::default();
    let needs_districts = schema.geocode.is_some()
        || schema
            .foreign_keys
            .iter()
            .any(|fk| fk.reference.resource == "districts");
    if needs_districts {
        let mut stmt = conn
            .prepare("SELECT district_code, geometry FROM main.districts ORDER BY district_code")?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        if rows.is_empty() {
            return Err(Error::Refused(format!(
                "{} refers to districts, but no districts are loaded yet; load them first: haven ingest districts <file>",
                schema.name
            )));
        }
        ctx.district_codes = rows.iter().map(|(c, _)| c.clone()).collect();
        if schema.geocode.is_some() {
            ctx.districts = Some(DistrictIndex::new(rows)?);
        }
    }
    if schema.district_from_property.is_some() {
        let mut stmt = conn.prepare("SELECT property_id, district_code FROM main.vacant_properties WHERE district_code IS NOT NULL")?;
        ctx.property_districts = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<HashMap<String, String>, _>>()?;
    }
    Ok(ctx)
}

/// Comma when more numeric cells in the sample use a decimal comma than a decimal point.
fn detect_decimal(schema: &Schema, cols: &[Option<usize>], sample: &[StringRecord]) -> Decimal {
    let (mut comma, mut point) = (0usize, 0usize);
    for (i, f) in schema.fields.iter().enumerate() {
        if f.field_type != FieldType::Number {
            continue;
        }
        let Some(c) = cols[i] else { continue };
        for rec in sample {
            let v = rec.get(c).unwrap_or("").trim();
            if let Some(p) = v.rfind([',', '.']) {
                let tail = &v[p + 1..];
                // "1.234" may be a thousands separator; only 1, 2 or 4+ decimals are telling.
                if tail.len() != 3 || v.matches([',', '.']).count() > 1 {
                    if v.as_bytes()[p] == b',' {
                        comma += 1;
                    } else {
                        point += 1;
                    }
                }
            }
        }
    }
    if comma > point {
        Decimal::Comma
    } else {
        Decimal::Point
    }
}

/// Sample coordinates for CRS detection: points of geocoded datasets, or boundary positions.
fn coordinates_sample(
    schema: &Schema,
    cols: &[Option<usize>],
    sample: &[StringRecord],
    decimal: Decimal,
) -> Option<Vec<(f64, f64)>> {
    if let Some(g) = &schema.geocode {
        let (x, y) = (
            cols[schema.field_index(&g.lon)?]?,
            cols[schema.field_index(&g.lat)?]?,
        );
        let pts: Vec<(f64, f64)> = sample
            .iter()
            .filter_map(|r| {
                Some((
                    parse_number(r.get(x)?.trim(), decimal)?,
                    parse_number(r.get(y)?.trim(), decimal)?,
                ))
            })
            .collect();
        return (!pts.is_empty()).then_some(pts);
    }
    let gi = schema
        .fields
        .iter()
        .position(|f| f.field_type == FieldType::Geojson)?;
    let c = cols[gi]?;
    let mut pts = Vec::new();
    for r in sample.iter().take(50) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(r.get(c).unwrap_or("")) {
            geo::positions(&v, &mut pts);
        }
    }
    (!pts.is_empty()).then_some(pts)
}
