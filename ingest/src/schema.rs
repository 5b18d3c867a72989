//! Dataset schemas: the Frictionless Table Schemas in `schemas/` are the single source of truth.
//! Everything else (DuckDB tables, validation, HXL rows) is derived from them here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The schema files, embedded at build time from `schemas/` in load order.
const SOURCES: &[(&str, &str)] = &[
    (
        "districts.json",
        include_str!("../../schemas/districts.json"),
    ),
    (
        "population.json",
        include_str!("../../schemas/population.json"),
    ),
    (
        "vacant_properties.json",
        include_str!("../../schemas/vacant_properties.json"),
    ),
    (
        "social_housing.json",
        include_str!("../../schemas/social_housing.json"),
    ),
    (
        "social_housing_waiting_list.json",
        include_str!("../../schemas/social_housing_waiting_list.json"),
    ),
    (
        "landlord_incentives.json",
        include_str!("../../schemas/landlord_incentives.json"),
    ),
    (
        "reception_sites.json",
        include_str!("../../schemas/reception_sites.json"),
    ),
    (
        "placements.json",
        include_str!("../../schemas/placements.json"),
    ),
    (
        "owner_contacts.json",
        include_str!("../../schemas/owner_contacts.json"),
    ),
];

/// Who may see rows of a dataset or values of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    Public,
    Restricted,
    Personal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    Geojson,
}

impl FieldType {
    pub fn duckdb_type(self) -> &'static str {
        match self {
            FieldType::String | FieldType::Geojson => "VARCHAR",
            FieldType::Integer => "BIGINT",
            FieldType::Number => "DOUBLE",
            FieldType::Boolean => "BOOLEAN",
            FieldType::Date => "DATE",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Constraints {
    #[serde(default)]
    pub required: bool,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    #[serde(rename = "enum")]
    pub enumeration: Option<Vec<String>>,
    pub pattern: Option<String>,
    pub max_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub description: String,
    #[serde(default)]
    pub constraints: Constraints,
    pub privacy: Privacy,
    pub hxl: Option<String>,
    /// Other column names officers' files use for this field (matched case-insensitively).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(skip)]
    pub(crate) regex: Option<Regex>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    pub fields: Vec<String>,
    pub reference: Reference,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub resource: String,
    pub fields: Vec<String>,
}

/// Coordinates that locate a row, and the district field filled by point-in-polygon.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geocode {
    pub lon: String,
    pub lat: String,
    pub district: String,
}

/// The fields whose changes a load records: each (key, status, date) it has not seen before.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusHistory {
    pub status: String,
    pub date: String,
}

/// Rules that involve more than one field.
#[derive(Debug, Deserialize)]
#[serde(tag = "rule", deny_unknown_fields, rename_all = "camelCase")]
pub enum Rule {
    /// Both fields are given or neither.
    Together { fields: Vec<String> },
    /// At least one of the fields is given.
    AnyOf { fields: Vec<String> },
    /// The dates that are given are in this order (equal allowed).
    Order { fields: Vec<String> },
    /// The first number is not greater than the second.
    NotGreater { fields: Vec<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Schema {
    pub name: String,
    pub title: String,
    pub description: String,
    pub privacy: Privacy,
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// Field holding a `vacant_properties.property_id` from which the district can be taken.
    pub district_from_property: Option<String>,
    /// A status and its date whose every value a load keeps in `status_history`.
    pub status_history: Option<StatusHistory>,
    pub geocode: Option<Geocode>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    pub fields: Vec<Field>,
    #[serde(skip)]
    pub source_json: &'static str,
}

impl Schema {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Fields filled by the loader when the file leaves them out (the geocoded district, or
    /// the district taken from the property).
    pub fn is_derived(&self, field: &str) -> bool {
        self.geocode.as_ref().is_some_and(|g| g.district == field)
            || (self.district_from_property.is_some() && field == "district_code")
    }

    /// `CREATE TABLE` for the dataset; `_batch_id` records which load last wrote each row.
    pub fn create_table_sql(&self) -> String {
        let mut cols: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let not_null = if f.constraints.required {
                    " NOT NULL"
                } else {
                    ""
                };
                format!(
                    "{} {}{}",
                    quote_ident(&f.name),
                    f.field_type.duckdb_type(),
                    not_null
                )
            })
            .collect();
        cols.push("_batch_id BIGINT NOT NULL".to_string());
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {}\n)",
            quote_ident(&self.name),
            cols.join(",\n  ")
        )
    }

    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    fn check(&mut self, file: &str) -> Result<()> {
        let err = |message: String| Error::Schema {
            file: file.to_string(),
            message,
        };
        let known: Vec<String> = self.fields.iter().map(|f| f.name.clone()).collect();
        let check_names = |names: &[String], what: &str| -> Result<()> {
            for n in names {
                if !known.contains(n) {
                    return Err(err(format!("{what} names unknown field '{n}'")));
                }
            }
            Ok(())
        };
        check_names(&self.primary_key, "primaryKey")?;
        for fk in &self.foreign_keys {
            check_names(&fk.fields, "foreignKeys")?;
        }
        for rule in &self.rules {
            let (Rule::Together { fields }
            | Rule::AnyOf { fields }
            | Rule::Order { fields }
            | Rule::NotGreater { fields }) = rule;
            check_names(fields, "rules")?;
        }
        if let Some(g) = &self.geocode {
            check_names(
                &[g.lon.clone(), g.lat.clone(), g.district.clone()],
                "geocode",
            )?;
        }
        if let Some(h) = &self.status_history {
            check_names(&[h.status.clone(), h.date.clone()], "statusHistory")?;
            if self.primary_key.len() != 1 {
                return Err(err("statusHistory needs a primary key of one field".into()));
            }
        }
        for f in &mut self.fields {
            if let Some(p) = &f.constraints.pattern {
                f.regex = Some(
                    Regex::new(p)
                        .map_err(|e| err(format!("field {}: bad pattern: {e}", f.name)))?,
                );
            }
        }
        Ok(())
    }
}

fn parse_all() -> Result<Vec<Schema>> {
    SOURCES
        .iter()
        .map(|(file, json)| {
            let mut s: Schema = serde_json::from_str(json).map_err(|e| Error::Schema {
                file: (*file).to_string(),
                message: e.to_string(),
            })?;
            s.source_json = json;
            s.check(file)?;
            Ok(s)
        })
        .collect()
}

/// All dataset schemas, in load order (districts first).
pub fn all() -> &'static [Schema] {
    static SCHEMAS: OnceLock<Vec<Schema>> = OnceLock::new();
    // The files are embedded and checked by the tests, so a failure here is a build defect.
    SCHEMAS.get_or_init(|| parse_all().unwrap_or_else(|e| panic!("embedded schema invalid: {e}")))
}

/// The schema of one dataset.
pub fn get(name: &str) -> Result<&'static Schema> {
    all()
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::UnknownDataset {
            name: name.to_string(),
            known: names().join(", "),
        })
}

pub fn names() -> Vec<&'static str> {
    all().iter().map(|s| s.name.as_str()).collect()
}

/// A SQL identifier in double quotes (column names such as `group` are keywords).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Field name → HXL hashtag, for the optional hashtag row of CSV downloads.
pub fn hxl_row(schema: &Schema) -> BTreeMap<&str, &str> {
    schema
        .fields
        .iter()
        .filter_map(|f| f.hxl.as_deref().map(|h| (f.name.as_str(), h)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_parses_and_is_complete() {
        let schemas = parse_all().expect("schemas parse");
        assert_eq!(schemas.len(), 9);
        for s in &schemas {
            assert!(!s.primary_key.is_empty(), "{} has a primary key", s.name);
            for f in &s.fields {
                assert!(!f.description.is_empty(), "{}.{} described", s.name, f.name);
                assert!(
                    f.hxl.as_deref().is_some_and(|h| h.starts_with('#')),
                    "{}.{} HXL",
                    s.name,
                    f.name
                );
            }
            assert!(s.create_table_sql().contains("_batch_id"));
        }
    }

    #[test]
    fn unknown_dataset_lists_the_known_ones() {
        let e = get("vacant").unwrap_err().to_string();
        assert!(
            e.contains("vacant_properties") && e.contains("placements"),
            "{e}"
        );
    }
}
