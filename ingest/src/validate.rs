//! Row validation against a dataset schema: typed parsing, constraints, rules across fields,
//! geography and keys. A row is accepted whole or rejected with every problem it has.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use csv::StringRecord;
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Array, Int64Builder,
    StringBuilder,
};
use duckdb::arrow::datatypes::{DataType, Field as ArrowField, Schema as ArrowSchema};
use duckdb::arrow::record_batch::RecordBatch;
use serde_json::Value as Json;

use crate::geo::{self, DistrictIndex, Reprojector};
use crate::read::Decimal;
use crate::schema::{FieldType, Rule, Schema};

/// One thing wrong with a row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// What validation needs from the store: districts, and properties' districts.
#[derive(Default)]
pub struct Context {
    pub districts: Option<DistrictIndex>,
    pub district_codes: HashSet<String>,
    pub property_districts: HashMap<String, String>,
}

/// A parsed cell. `Text` means "the trimmed cell as it stands", to avoid copying strings.
#[derive(Debug, Clone)]
enum Value<'a> {
    Null,
    Text,
    Owned(String),
    /// A district code borrowed from the context.
    Code(&'a str),
    Int(i64),
    Num(f64),
    Bool(bool),
    Date(i32),
}

pub struct Validator<'a> {
    schema: &'static Schema,
    /// For each schema field, the column of the file that holds it.
    cols: Vec<Option<usize>>,
    decimal: Decimal,
    reproject: Option<Reprojector>,
    ctx: &'a Context,
    seen_keys: HashMap<String, u64, BuildHasherDefault<KeyHasher>>,
    geocode: Option<(usize, usize, usize)>,
    district: Option<usize>,
    property: Option<usize>,
    values: Vec<Value<'a>>,
}

impl<'a> Validator<'a> {
    pub fn new(
        schema: &'static Schema,
        cols: Vec<Option<usize>>,
        decimal: Decimal,
        reproject: Option<Reprojector>,
        ctx: &'a Context,
    ) -> Self {
        let idx = |n: &str| schema.field_index(n);
        Validator {
            geocode: schema
                .geocode
                .as_ref()
                .and_then(|g| Some((idx(&g.lon)?, idx(&g.lat)?, idx(&g.district)?))),
            district: schema
                .foreign_keys
                .iter()
                .find(|fk| fk.reference.resource == "districts")
                .and_then(|fk| idx(&fk.fields[0])),
            property: schema.district_from_property.as_deref().and_then(idx),
            values: vec![Value::Null; schema.fields.len()],
            schema,
            cols,
            decimal,
            reproject,
            ctx,
            seen_keys: HashMap::default(),
        }
    }

    fn cell<'r>(&self, rec: &'r StringRecord, field: usize) -> &'r str {
        self.cols[field]
            .and_then(|c| rec.get(c))
            .unwrap_or("")
            .trim()
    }

    /// Validates one record; on success its values are ready for [`Columns::push`].
    pub fn check(&mut self, rec: &StringRecord, line: u64, width: usize) -> Vec<Problem> {
        let mut problems = Vec::new();
        if rec.len() != width
            && !(rec.len() > width && rec.iter().skip(width).all(|c| c.trim().is_empty()))
        {
            problems.push(Problem {
                column: None,
                value: None,
                reason: format!("expected {width} fields, found {}", rec.len()),
            });
            return problems;
        }
        for (i, f) in self.schema.fields.iter().enumerate() {
            let text = self.cell(rec, i);
            let parsed = if text.is_empty() {
                if f.constraints.required && !self.schema.is_derived(&f.name) {
                    Err("a value is required".to_string())
                } else {
                    Ok(Value::Null)
                }
            } else {
                self.parse(i, text)
            };
            match parsed {
                Ok(v) => self.values[i] = v,
                Err(reason) => {
                    self.values[i] = Value::Null;
                    problems.push(Problem {
                        column: Some(f.name.clone()),
                        value: Some(text.to_string()),
                        reason,
                    });
                }
            }
        }
        if problems.is_empty() {
            self.rules(rec, &mut problems);
        }
        if problems.is_empty() {
            self.places(rec, &mut problems);
        }
        if problems.is_empty() {
            let key = match self.schema.primary_key.as_slice() {
                [one] => self
                    .text_of(rec, self.schema.field_index(one).expect("checked"))
                    .into_owned(),
                many => many
                    .iter()
                    .map(|k| self.text_of(rec, self.schema.field_index(k).expect("checked")))
                    .collect::<Vec<_>>()
                    .join("\u{1f}"),
            };
            if let Some(first) = self.seen_keys.get(&key) {
                problems.push(Problem {
                    column: Some(self.schema.primary_key.join(", ")),
                    value: Some(key.replace('\u{1f}', ", ")),
                    reason: format!(
                        "duplicate key: the same {} as line {first}",
                        self.schema.primary_key.join(" + ")
                    ),
                });
            } else {
                self.seen_keys.insert(key, line);
            }
        }
        problems
    }

    fn text_of<'r>(&'r self, rec: &'r StringRecord, field: usize) -> Cow<'r, str> {
        match &self.values[field] {
            Value::Text => Cow::Borrowed(self.cell(rec, field)),
            Value::Owned(s) => Cow::Borrowed(s.as_str()),
            Value::Code(s) => Cow::Borrowed(s),
            Value::Null => Cow::Borrowed(""),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Num(n) => Cow::Owned(n.to_string()),
            Value::Bool(b) => Cow::Owned(b.to_string()),
            Value::Date(d) => Cow::Owned(format_date(*d)),
        }
    }

    fn parse(&self, i: usize, text: &str) -> Result<Value<'a>, String> {
        let f = &self.schema.fields[i];
        let c = &f.constraints;
        let v = match f.field_type {
            FieldType::String => {
                let mut v = Value::Text;
                if let Some(options) = &c.enumeration
                    && !options.iter().any(|o| o == text)
                {
                    let lower = text.to_lowercase().replace([' ', '-'], "_");
                    match options.iter().find(|o| **o == lower) {
                        Some(o) => v = Value::Owned(o.clone()),
                        None => return Err(format!("not one of {}", options.join(", "))),
                    }
                }
                if c.max_length.is_some_and(|m| text.chars().count() > m) {
                    return Err(format!(
                        "longer than {} characters",
                        c.max_length.unwrap_or(0)
                    ));
                }
                if let Some(re) = &f.regex
                    && !re.is_match(text)
                {
                    return Err(format!("does not match the pattern {}", re.as_str()));
                }
                v
            }
            FieldType::Integer => {
                let n = parse_number(text, self.decimal).ok_or("not a whole number")?;
                if n.fract() != 0.0 || n.abs() > 9.0e15 {
                    return Err("not a whole number".into());
                }
                check_range(n, c.minimum, c.maximum)?;
                Value::Int(n as i64)
            }
            FieldType::Number => {
                let n = parse_number(text, self.decimal).ok_or("not a number")?;
                // Coordinates are range-checked after reprojection.
                check_range(n, c.minimum, c.maximum)?;
                Value::Num(n)
            }
            FieldType::Boolean => {
                Value::Bool(parse_bool(text).ok_or("not yes/no (true, false, yes, no, 1, 0)")?)
            }
            FieldType::Date => Value::Date(parse_date(text)?),
            FieldType::Geojson => Value::Owned(self.area(text)?),
        };
        Ok(v)
    }

    /// Checks a boundary and returns it as WGS84 GeoJSON text.
    fn area(&self, text: &str) -> Result<String, String> {
        let mut v: Json = serde_json::from_str(text).map_err(|e| format!("not GeoJSON: {e}"))?;
        if let Some(r) = &self.reproject {
            geo::map_positions(&mut v, &|x, y| r.to_wgs84(x, y))?;
        }
        let mut pts = Vec::new();
        geo::positions(&v, &mut pts);
        if let Some((x, y)) = pts.iter().find(|(x, y)| x.abs() > 180.0 || y.abs() > 90.0) {
            return Err(format!(
                "position {x}, {y} is not longitude/latitude; declare the CRS with --crs"
            ));
        }
        geo::area_check(&v)?;
        Ok(v.to_string())
    }

    fn present(&self, name: &str) -> bool {
        self.schema
            .field_index(name)
            .is_some_and(|i| !matches!(self.values[i], Value::Null))
    }

    fn rules(&self, rec: &StringRecord, problems: &mut Vec<Problem>) {
        let geocoded =
            |f: &str| self.schema.is_derived(f) && self.geocode.is_some() && self.present("lat");
        for rule in &self.schema.rules {
            match rule {
                Rule::Together { fields } => {
                    let given: Vec<&String> = fields.iter().filter(|f| self.present(f)).collect();
                    if !given.is_empty() && given.len() < fields.len() {
                        let missing = fields
                            .iter()
                            .find(|f| !self.present(f))
                            .expect("one is missing");
                        problems.push(Problem {
                            column: Some(missing.clone()),
                            value: None,
                            reason: format!(
                                "{} and {} go together: {missing} is missing",
                                given[0], missing
                            ),
                        });
                    }
                }
                Rule::AnyOf { fields } => {
                    if !fields.iter().any(|f| self.present(f) || geocoded(f)) {
                        problems.push(Problem {
                            column: Some(fields.join(" / ")),
                            value: None,
                            reason: format!("give at least one of {}", fields.join(", ")),
                        });
                    }
                }
                Rule::Order { fields } => {
                    let dates: Vec<(&String, i32)> = fields
                        .iter()
                        .filter_map(|f| match self.values[self.schema.field_index(f)?] {
                            Value::Date(d) => Some((f, d)),
                            _ => None,
                        })
                        .collect();
                    for w in dates.windows(2) {
                        if w[1].1 < w[0].1 {
                            problems.push(Problem {
                                column: Some(w[1].0.clone()),
                                value: Some(format_date(w[1].1)),
                                reason: format!(
                                    "{} is before {} ({})",
                                    w[1].0,
                                    w[0].0,
                                    format_date(w[0].1)
                                ),
                            });
                        }
                    }
                }
                Rule::NotGreater { fields } => {
                    let num = |f: &String| match self.values[self.schema.field_index(f)?] {
                        Value::Int(i) => Some(i as f64),
                        Value::Num(n) => Some(n),
                        _ => None,
                    };
                    if let (Some(a), Some(b)) = (num(&fields[0]), num(&fields[1]))
                        && a > b
                    {
                        problems.push(Problem {
                            column: Some(fields[0].clone()),
                            value: Some(
                                self.text_of(
                                    rec,
                                    self.schema.field_index(&fields[0]).expect("checked"),
                                )
                                .into_owned(),
                            ),
                            reason: format!("greater than {} ({b})", fields[1]),
                        });
                    }
                }
            }
        }
    }

    /// Coordinates → WGS84 and district; district from the property; district must exist.
    fn places(&mut self, rec: &StringRecord, problems: &mut Vec<Problem>) {
        if let Some((ilon, ilat, idist)) = self.geocode
            && let (Value::Num(x), Value::Num(y)) = (&self.values[ilon], &self.values[ilat])
        {
            let (x, y) = (*x, *y);
            let point = match &self.reproject {
                Some(r) => r.to_wgs84(x, y),
                None => Some((x, y)),
            };
            let Some((lon, lat)) =
                point.filter(|(lon, lat)| lon.abs() <= 180.0 && lat.abs() <= 90.0)
            else {
                problems.push(Problem {
                    column: Some("lon, lat".into()),
                    value: Some(format!("{x}, {y}")),
                    reason: "not a valid position in the file's coordinate system".into(),
                });
                return;
            };
            let index = self
                .ctx
                .districts
                .as_ref()
                .expect("districts are loaded before geocoding");
            match index.locate(lon, lat) {
                None => {
                    problems.push(Problem {
                        column: Some("lon, lat".into()),
                        value: Some(if self.reproject.is_some() {
                            format!("{x}, {y} = {lon:.6}, {lat:.6} in WGS84")
                        } else {
                            format!("{x}, {y}")
                        }),
                        reason: "the point lies outside every district".into(),
                    });
                    return;
                }
                Some(code) => {
                    let given = self.cell(rec, idist);
                    if !given.is_empty() && given != code {
                        problems.push(Problem {
                            column: Some(self.schema.fields[idist].name.clone()),
                            value: Some(given.to_string()),
                            reason: format!("the coordinates lie in district {code}, not {given}"),
                        });
                        return;
                    }
                    self.values[idist] = Value::Code(code);
                    self.values[ilon] = Value::Num(geo::round7(lon));
                    self.values[ilat] = Value::Num(geo::round7(lat));
                }
            }
        }
        if let (Some(ip), Some(id)) = (self.property, self.district)
            && matches!(self.values[id], Value::Null)
            && matches!(self.values[ip], Value::Text)
        {
            let pid = self.cell(rec, ip);
            let ctx: &'a Context = self.ctx;
            match ctx.property_districts.get(pid) {
                Some(code) => self.values[id] = Value::Code(code),
                None => problems.push(Problem {
                    column: Some(self.schema.fields[ip].name.clone()),
                    value: Some(pid.to_string()),
                    reason: "not a known vacant property, and no district_code is given".into(),
                }),
            }
        }
        if let Some(id) = self.district {
            let code = self.text_of(rec, id);
            if !code.is_empty() && !self.ctx.district_codes.contains(code.as_ref()) {
                problems.push(Problem {
                    column: Some(self.schema.fields[id].name.clone()),
                    value: Some(code.into_owned()),
                    reason: "unknown district: not in the loaded districts".into(),
                });
            }
        }
    }
}

/// FNV-1a for the duplicate-key map: several times faster than SipHash on short keys. Keys
/// come from files officers load, not from anonymous clients, so flooding is not a concern.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

fn check_range(n: f64, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    if min.is_some_and(|m| n < m) {
        return Err(format!("less than the minimum {}", min.unwrap_or_default()));
    }
    if max.is_some_and(|m| n > m) {
        return Err(format!(
            "greater than the maximum {}",
            max.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Parses a number written with the file's decimal mark, with thousands separators and spaces.
pub fn parse_number(text: &str, decimal: Decimal) -> Option<f64> {
    let plain = text.bytes().all(|b| {
        b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'e' || b == b'E' || b == b'+'
    });
    let n: f64 = if plain && decimal == Decimal::Point {
        text.parse().ok()?
    } else {
        let s: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
            .collect();
        let thousands = |sep: char| {
            let body = s.trim_start_matches('-');
            let int = body
                .split(if sep == '.' { ',' } else { '.' })
                .next()
                .unwrap_or("");
            let groups: Vec<&str> = int.split(sep).collect();
            groups.len() > 1
                && (1..=3).contains(&groups[0].len())
                && groups[1..]
                    .iter()
                    .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
        };
        let normal = match decimal {
            Decimal::Comma if s.contains(',') => s.replace('.', "").replace(',', "."),
            Decimal::Comma if thousands('.') => s.replace('.', ""),
            Decimal::Point if thousands(',') => s.replace(',', ""),
            _ => s,
        };
        normal.parse().ok()?
    };
    n.is_finite().then_some(n)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "ja" | "j" | "oui" | "si" | "sì" | "wahr" | "x" => Some(true),
        "false" | "no" | "n" | "0" | "nee" | "neen" | "non" | "nein" | "falsch" => Some(false),
        _ => None,
    }
}

/// ISO dates (2024-03-31, also with a time part) and European day-first dates
/// (31/03/2024, 31-03-2024, 31.03.2024), as days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<i32, String> {
    let bad = || format!("not a date (use YYYY-MM-DD or DD/MM/YYYY): {text}");
    let date = text.split(['T', ' ']).next().unwrap_or(text);
    let mut parts = date.split(['-', '/', '.']);
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if [a, b, c]
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|d| d.is_ascii_digit()))
    {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let (y, m, d) = if a.len() == 4 {
        (n(a)?, n(b)?, n(c)?)
    } else if c.len() == 4 {
        (n(c)?, n(b)?, n(a)?)
    } else {
        return Err(bad());
    };
    if !(1900..=2100).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(format!("no such date: {text}"));
    }
    Ok(days_from_civil(y, m, d) as i32)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Typed column builders for the accepted rows, flushed to DuckDB in Arrow batches.
pub struct Columns {
    schema: Arc<ArrowSchema>,
    builders: Vec<Builder>,
    len: usize,
    batch_id: i64,
}

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Num(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
}

impl Columns {
    /// Builders for the schema's fields, plus `_batch_id` filled with `batch_id`.
    pub fn new(schema: &Schema, batch_id: i64) -> Columns {
        let fields: Vec<ArrowField> = schema
            .fields
            .iter()
            .map(|f| {
                let dt = match f.field_type {
                    FieldType::String | FieldType::Geojson => DataType::Utf8,
                    FieldType::Integer => DataType::Int64,
                    FieldType::Number => DataType::Float64,
                    FieldType::Boolean => DataType::Boolean,
                    FieldType::Date => DataType::Date32,
                };
                ArrowField::new(&f.name, dt, true)
            })
            .collect();
        let mut fields = fields;
        fields.push(ArrowField::new("_batch_id", DataType::Int64, false));
        let mut c = Columns {
            schema: Arc::new(ArrowSchema::new(fields)),
            builders: Vec::new(),
            len: 0,
            batch_id,
        };
        c.reset();
        c
    }

    fn reset(&mut self) {
        let n = self.schema.fields().len() - 1;
        self.builders = self
            .schema
            .fields()
            .iter()
            .take(n)
            .map(|f| match f.data_type() {
                DataType::Utf8 => Builder::Str(StringBuilder::new()),
                DataType::Int64 => Builder::Int(Int64Builder::new()),
                DataType::Float64 => Builder::Num(Float64Builder::new()),
                DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
                _ => Builder::Date(Date32Builder::new()),
            })
            .collect();
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends the row the validator has just accepted.
    pub fn push(&mut self, v: &Validator<'_>, rec: &StringRecord) {
        for (i, b) in self.builders.iter_mut().enumerate() {
            match (b, &v.values[i]) {
                (Builder::Str(b), Value::Text) => b.append_value(v.cell(rec, i)),
                (Builder::Str(b), Value::Owned(s)) => b.append_value(s),
                (Builder::Str(b), Value::Code(s)) => b.append_value(s),
                (Builder::Int(b), Value::Int(n)) => b.append_value(*n),
                (Builder::Num(b), Value::Num(n)) => b.append_value(*n),
                (Builder::Num(b), Value::Int(n)) => b.append_value(*n as f64),
                (Builder::Bool(b), Value::Bool(x)) => b.append_value(*x),
                (Builder::Date(b), Value::Date(d)) => b.append_value(*d),
                (Builder::Str(b), _) => b.append_null(),
                (Builder::Int(b), _) => b.append_null(),
                (Builder::Num(b), _) => b.append_null(),
                (Builder::Bool(b), _) => b.append_null(),
                (Builder::Date(b), _) => b.append_null(),
            }
        }
        self.len += 1;
    }

    /// The rows so far as one Arrow batch; the builders start empty again.
    pub fn take(&mut self) -> RecordBatch {
        let len = self.len;
        let mut arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Int(b) => Arc::new(b.finish()),
                    Builder::Num(b) => Arc::new(b.finish()),
                    Builder::Bool(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        arrays.push(Arc::new(Int64Array::from_value(self.batch_id, len)));
        self.len = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_either_decimal_mark() {
        assert_eq!(parse_number("12.5", Decimal::Point), Some(12.5));
        assert_eq!(parse_number("1,234.5", Decimal::Point), Some(1234.5));
        assert_eq!(parse_number("12,5", Decimal::Comma), Some(12.5));
        assert_eq!(parse_number("1.234,56", Decimal::Comma), Some(1234.56));
        assert_eq!(parse_number("1 234,5", Decimal::Comma), Some(1234.5));
        assert_eq!(parse_number("152345", Decimal::Comma), Some(152345.0));
        assert_eq!(parse_number("-3", Decimal::Comma), Some(-3.0));
        assert_eq!(parse_number("12,5", Decimal::Point), None);
        assert_eq!(parse_number("abc", Decimal::Point), None);
        assert_eq!(parse_number("NaN", Decimal::Point), None);
    }

    #[test]
    fn dates_iso_and_day_first() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(
            parse_date("2024-02-29").map(format_date),
            Ok("2024-02-29".into())
        );
        assert_eq!(
            parse_date("31/03/2024").map(format_date),
            Ok("2024-03-31".into())
        );
        assert_eq!(
            parse_date("31.03.2024").map(format_date),
            Ok("2024-03-31".into())
        );
        assert_eq!(
            parse_date("2024-03-31T10:00:00").map(format_date),
            Ok("2024-03-31".into())
        );
        assert!(
            parse_date("31/02/2024")
                .unwrap_err()
                .contains("no such date")
        );
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("yesterday").is_err());
        for d in [-1000, 0, 19_000, 50_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn booleans_in_several_languages() {
        assert_eq!(parse_bool("Ja"), Some(true));
        assert_eq!(parse_bool("non"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
