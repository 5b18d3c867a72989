//! GeoJSON feature collections: properties become columns, the geometry a `geometry` column,
//! and a Point also fills `lon`/`lat`.

use csv::StringRecord;
use serde_json::Value;

use super::{Details, Input, Table, VecSource};
use crate::error::{Error, Result};
use crate::geo::Crs;

/// JSON values (numbers, strings, arrays, objects) a GeoJSON file may hold: read into memory,
/// each costs about 40 bytes, so about 0.7 GB at most (eight million coordinate pairs;
/// boundaries more detailed than that are simplified first).
pub const MAX_JSON_VALUES: u64 = 16_000_000;

/// Nesting a GeoJSON file may have (a MultiPolygon is four levels inside its feature).
pub const MAX_JSON_DEPTH: u32 = 64;

/// Counts the file's values and its nesting in one pass over its bytes, holding nothing, and
/// refuses it past [`MAX_JSON_VALUES`] or [`MAX_JSON_DEPTH`] before it is parsed.
fn measure(input: &Input, max_values: u64, max_depth: u32) -> Result<()> {
    let (mut values, mut depth, mut in_string, mut escaped) = (1u64, 0u32, false, false);
    for (i, &b) in input.bytes.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                values += 1;
                if depth > max_depth {
                    return Err(Error::Refused(format!(
                        "{}: JSON nested deeper than {max_depth} levels (at byte {i}); GeoJSON \
                         needs at most six",
                        input.name
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' => values += 1,
            _ => continue,
        }
        if values > max_values {
            return Err(Error::Refused(format!(
                "{}: more than {max_values} JSON values (coordinates and properties); simplify \
                 the boundaries (for example `mapshaper -simplify 10%`) or split the file",
                input.name
            )));
        }
    }
    Ok(())
}

pub(super) fn open(input: &Input) -> Result<Table> {
    measure(input, MAX_JSON_VALUES, MAX_JSON_DEPTH)?;
    let doc: Value = serde_json::from_slice(&input.bytes)
        .map_err(|e| Error::Format(format!("{}: not valid JSON: {e}", input.name)))?;
    let features = match doc.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            doc.get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Error::Format(format!(
                        "{}: FeatureCollection without features",
                        input.name
                    ))
                })?
        }
        other => {
            return Err(Error::Refused(format!(
                "{}: expected a GeoJSON FeatureCollection, found type {}",
                input.name,
                other.unwrap_or("(none)")
            )));
        }
    };
    // The 2008 GeoJSON `crs` member, still written by many GIS exports.
    let declared_crs = doc
        .pointer("/crs/properties/name")
        .and_then(Value::as_str)
        .map(|name| {
            Crs::from_name(name).ok_or_else(|| {
                Error::Refused(format!(
                    "{}: unsupported CRS '{name}' in the file",
                    input.name
                ))
            })
        })
        .transpose()?;

    let mut headers: Vec<String> = Vec::new();
    for f in features {
        if let Some(props) = f.get("properties").and_then(Value::as_object) {
            for k in props.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
    }
    for extra in ["geometry", "lon", "lat"] {
        if !headers.iter().any(|h| h == extra) {
            headers.push(extra.to_string());
        }
    }
    let mut rows = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let props = f.get("properties").and_then(Value::as_object);
        let geometry = f.get("geometry").filter(|g| !g.is_null());
        let point = geometry
            .filter(|g| g.get("type").and_then(Value::as_str) == Some("Point"))
            .and_then(|g| g.get("coordinates"))
            .and_then(Value::as_array);
        let rec: StringRecord = headers
            .iter()
            .map(|h| match (h.as_str(), props.and_then(|p| p.get(h))) {
                (_, Some(v)) if !v.is_null() => json_text(v),
                ("geometry", _) => geometry.map(Value::to_string).unwrap_or_default(),
                ("lon", _) => point
                    .and_then(|c| c.first())
                    .map(json_text)
                    .unwrap_or_default(),
                ("lat", _) => point
                    .and_then(|c| c.get(1))
                    .map(json_text)
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .collect();
        rows.push((i as u64 + 1, rec));
    }
    Ok(Table {
        details: Details {
            encoding: Some("UTF-8".into()),
            ..Details::default()
        },
        declared_crs,
        rows: Box::new(VecSource::new(headers, rows, "feature")),
    })
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A geometry nested a million levels deep is refused before it is parsed, not by a
    /// stack overflow.
    #[test]
    fn deeply_nested_json_is_refused() {
        let depth = 1_000_000;
        let mut text = String::from(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":"#,
        );
        text.push_str(&"[".repeat(depth));
        text.push_str(&"]".repeat(depth));
        text.push_str("}}]}");
        let input = Input {
            name: "deep.geojson".into(),
            path: None,
            bytes: text.into_bytes(),
        };
        let e = open(&input).err().expect("refused").to_string();
        assert!(
            e.contains("nested deeper than 64 levels (at byte 177)"),
            "{e}"
        );
        // Past the measure, the JSON reader's own limit (128) still holds.
        let e = serde_json::from_slice::<Value>(&input.bytes).unwrap_err();
        assert!(e.to_string().contains("recursion"), "{e}");
    }

    /// Values are counted outside strings only: commas and brackets in a name are text.
    #[test]
    fn values_are_counted_outside_strings() {
        let input = |s: &str| Input {
            name: "v.geojson".into(),
            path: None,
            bytes: s.as_bytes().to_vec(),
        };
        let doc = r#"{"a":[1,2,3],"b":"x,[{,\",y","c":{"d":[]}}"#;
        // The document, {, [, two commas, two more commas, {, [: at most 9 values.
        measure(&input(doc), 9, 64).unwrap();
        assert!(measure(&input(doc), 8, 64).is_err());
        measure(&input(doc), 9, 3).unwrap();
        assert!(measure(&input(doc), 9, 2).is_err());
    }
}
