//! GeoJSON feature collections: properties become columns, the geometry a `geometry` column,
//! and a Point also fills `lon`/`lat`.

use csv::StringRecord;
use serde_json::Value;

use super::{Details, Input, Table, VecSource};
use crate::error::{Error, Result};
use crate::geo::Crs;

pub(super) fn open(input: &Input) -> Result<Table> {
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

    /// A geometry nested a million levels deep is refused by the JSON reader's depth limit
    /// (128), not by a stack overflow.
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
            e.contains("not valid JSON") && e.contains("recursion"),
            "{e}"
        );
    }
}
