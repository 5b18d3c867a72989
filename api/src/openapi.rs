//! The OpenAPI 3.1 description of every route, served at `/api/v1/openapi.json`. Indicator ids
//! and release file names come from the registry and the published datasets, so the document
//! cannot drift from them; a test checks that every route of the router is described.

use serde_json::{Value, json};

use haven_core::publish::DATASETS;

pub(crate) fn problem() -> Value {
    json!({"$ref": "#/components/responses/Problem"})
}

pub(crate) fn ok(description: &str, media: &str, schema: Value) -> Value {
    let mut v = json!({
        "description": description,
        "headers": {
            "ETag": {"$ref": "#/components/headers/ETag"},
            "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
        },
        "content": {media: {}},
    });
    v["content"][media]["schema"] = schema;
    v
}

pub(crate) fn not_modified() -> Value {
    json!({"description": "The client's copy (If-None-Match) is current."})
}

pub(crate) fn query(name: &str, description: &str, schema: Value) -> Value {
    let mut v = json!({"name": name, "in": "query", "required": false, "description": description});
    v["schema"] = schema;
    v
}

pub(crate) fn month_param(name: &str, description: &str) -> Value {
    query(
        name,
        description,
        json!({"$ref": "#/components/schemas/Month"}),
    )
}

pub(crate) fn list_of(ids: &[&str]) -> Value {
    json!({
        "name": "indicator", "in": "query", "required": false,
        "description": "Indicator ids, comma-separated (default: all).",
        "style": "form", "explode": false,
        "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ids}},
    })
}

pub(crate) fn paging() -> [Value; 2] {
    [
        query(
            "cursor",
            "The next_cursor of the previous page (opaque).",
            json!({"type": "string"}),
        ),
        query(
            "limit",
            "Items per page.",
            json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
        ),
    ]
}

/// z, x and y of a tile.
pub(crate) fn tile_params() -> Vec<Value> {
    vec![
        json!({"name": "z", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 22}}),
        json!({"name": "x", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}),
        json!({"name": "y", "in": "path", "required": true, "description": "The row, followed by .mvt.", "schema": {"type": "string", "pattern": "^[0-9]{1,7}\\.mvt$"}}),
    ]
}

/// The filters and page of the indicator queries.
pub(crate) fn indicator_params(ids: &[&str]) -> Vec<Value> {
    let [cursor, limit] = paging();
    vec![
        query(
            "area",
            "A district code, or the municipality's code.",
            json!({"type": "string"}),
        ),
        query(
            "level",
            "district or municipality.",
            json!({"type": "string", "enum": ["district", "municipality"]}),
        ),
        month_param("period", "One month."),
        month_param("from", "First month (inclusive)."),
        month_param("to", "Last month (inclusive)."),
        list_of(ids),
        cursor,
        limit,
    ]
}

/// The document.
pub fn document() -> Value {
    let mut doc = described();
    // Any route may refuse a token that is not valid, and any client over its rate.
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            if let Some(ops) = item.as_object_mut() {
                for op in ops.values_mut() {
                    for code in ["401", "429"] {
                        if op["responses"].get(code).is_none() {
                            op["responses"][code] = problem();
                        }
                    }
                }
            }
        }
    }
    doc
}

fn described() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Haven API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Municipal housing preparedness: published indicators, segregation indices, the preparedness scenario and open-data releases. Counts built on personal data are published after small-cell suppression: a withheld value is null and flagged, never 0. Every error is application/problem+json (RFC 9457).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {
                "ETag": {"description": "Validator for If-None-Match.", "schema": {"type": "string"}},
                "CacheControl": {"description": "How long a cache may reuse the answer.", "schema": {"type": "string"}},
            },
            "responses": {
                "Problem": {"description": "An error (RFC 9457).", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
            "schemas": {
                "User": {"type": "object", "required": ["name", "role", "created_at"], "properties": {
                    "name": {"type": "string"}, "role": {"type": "string", "enum": ["officer", "admin"]}, "created_at": {"type": "string"}}},
                "Month": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "examples": ["2026-01"]},
                "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "Health": {"type": "object", "required": ["status", "instance", "version"], "properties": {
                    "status": {"const": "ok"}, "instance": {"type": "string"}, "version": {"type": "string"}}},
                "Status": {"type": "object", "required": ["version", "datasets", "overview"], "properties": {
                    "version": {"type": "string"}, "database": {"type": "string"},
                    "datasets": {"type": "array", "items": {"type": "object", "required": ["name", "rows", "withheld"], "properties": {
                        "name": {"type": "string"}, "title": {"type": "string"}, "privacy": {"type": "string"},
                        "rows": {"type": ["integer", "null"]}, "withheld": {"type": "boolean"}, "last_loaded_at": {"type": ["string", "null"]}}}},
                    "overview": {"type": "object"},
                    "freshness": {"type": "array", "items": {"type": "object", "required": ["dataset", "stale", "last_change"], "properties": {
                        "dataset": {"type": "string"}, "stale": {"type": "boolean"}, "last_change": {"type": ["string", "null"]}}}}}},
                "Indicator": {"type": "object", "required": ["id", "unit", "en", "nl", "datasets", "class", "aggregate"], "properties": {
                    "id": {"type": "string"}, "unit": {"type": "string"}, "en": {"type": "string"}, "nl": {"type": "string"},
                    "provenance": {"type": "string", "description": "How its published figures were computed (GET it)."},
                    "datasets": {"type": "array", "items": {"type": "string"}},
                    "class": {"type": "string", "enum": ["public", "personal"]}, "aggregate": {"type": "object"}}},
                "IndicatorValue": {"type": "object", "required": ["area_code", "level", "period", "indicator", "value", "withheld"], "properties": {
                    "area_code": {"type": "string"}, "level": {"type": "string", "enum": ["district", "municipality"]},
                    "period": {"type": "string"}, "indicator": {"type": "string"},
                    "value": {"type": ["number", "null"], "description": "Null when withheld or undefined (a rate over nothing)."},
                    "withheld": {"type": "boolean", "description": "Withheld by small-cell suppression."}}},
                "IndicatorPage": {"type": "object", "required": ["items", "total", "next_cursor"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/IndicatorValue"}},
                    "total": {"type": "integer", "minimum": 0}, "next_cursor": {"type": ["string", "null"]}}},
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"const": "FeatureCollection"},
                    "bbox": {"type": ["array", "null"], "items": {"type": "number"}},
                    "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                        "type": {"const": "Feature"}, "id": {"type": "string"},
                        "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
                            "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]}, "coordinates": {"type": "array"}}},
                        "properties": {"type": "object", "required": ["district_code", "withheld"]}}}}}},
                "SegregationValue": {"type": "object", "required": ["period", "group", "index", "value", "p_value"], "properties": {
                    "period": {"type": "string"}, "group": {"type": "string"}, "index": {"type": "string"},
                    "value": {"type": ["number", "null"]}, "p_value": {"type": ["number", "null"]}}},
                "SegregationChange": {"type": "object", "required": ["group", "from_period", "to_period", "change", "ci_low", "ci_high", "significant"], "properties": {
                    "group": {"type": "string"}, "from_period": {"type": "string"}, "to_period": {"type": "string"},
                    "d_from": {"type": "number"}, "d_to": {"type": "number"}, "change": {"type": "number"},
                    "ci_low": {"type": "number"}, "ci_high": {"type": "number"}, "significant": {"type": "boolean"}}},
                "SegregationPage": {"type": "object", "required": ["items", "total", "next_cursor", "changes"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/SegregationValue"}},
                    "total": {"type": "integer", "minimum": 0}, "next_cursor": {"type": ["string", "null"]},
                    "changes": {"type": "array", "items": {"$ref": "#/components/schemas/SegregationChange"}},
                    "provenance": {"type": "string", "description": "How the indices were computed: /api/v1/provenance/segregation."}}},
                "Allocation": {"type": "object", "required": ["districts"], "properties": {
                    "dissimilarity_after": {"type": ["number", "null"]},
                    "districts": {"type": "array", "items": {"type": "object", "required": ["district_code", "households", "persons"], "properties": {
                        "district_code": {"type": "string"}, "households": {"type": "integer", "minimum": 0}, "persons": {"type": "integer", "minimum": 0},
                        "lq_after": {"type": "null"}}}}}},
                "Band": {"type": "object", "required": ["month", "mean", "lower_80", "upper_80", "lower_95", "upper_95"], "properties": {
                    "month": {"type": "string", "pattern": "^\\d{4}-\\d{2}$"}, "mean": {"type": "number", "minimum": 0},
                    "lower_80": {"type": "number", "minimum": 0}, "upper_80": {"type": "number", "minimum": 0},
                    "lower_95": {"type": "number", "minimum": 0}, "upper_95": {"type": "number", "minimum": 0}}},
                "SeriesForecast": {"type": "object", "required": ["model", "last_month", "last_value", "history_months", "history", "months"], "properties": {
                    "model": {"type": "string", "description": "The exponential smoothing model chosen by AICc: error, trend, season (ETS(AAN, damped))."},
                    "last_month": {"type": "string"}, "last_value": {"type": "number"}, "history_months": {"type": "integer", "minimum": 12},
                    "history": {"type": "array", "description": "The months the model was fitted to, [YYYY-MM, value], oldest first.", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]}},
                    "months": {"type": "array", "items": {"$ref": "#/components/schemas/Band"}}}},
                "Forecast": {"type": "object", "required": ["basis", "persons_placed", "announced", "household_mix", "places", "needs"], "properties": {
                    "provenance": {"type": "string", "description": "How the forecast was computed (the public answer): /api/v1/provenance/forecast."},
                    "basis": {"type": "string", "enum": ["published", "register"]},
                    "persons_placed": {"$ref": "#/components/schemas/SeriesForecast"},
                    "arrivals": {"$ref": "#/components/schemas/SeriesForecast", "description": "Households whose placement starts, per month: the register's basis only."},
                    "announced": {"type": "array", "items": {"type": "object", "required": ["month", "persons"], "properties": {"month": {"type": "string"}, "persons": {"type": "integer", "minimum": 1}}}},
                    "household_mix": {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "integer", "minimum": 1}, {"type": "number", "minimum": 0}]}},
                    "places": {"type": "object", "required": ["now", "within_30_days", "within_90_days"], "properties": {
                        "now": {"type": "integer", "minimum": 0}, "within_30_days": {"type": "integer", "minimum": 0}, "within_90_days": {"type": "integer", "minimum": 0}}},
                    "needs": {"type": "array", "items": {"type": "object", "required": ["month", "persons", "homes", "bedrooms", "places", "shortfall_persons"], "properties": {
                        "month": {"type": "string"}, "persons": {"$ref": "#/components/schemas/Band"}, "homes": {"$ref": "#/components/schemas/Band"},
                        "bedrooms": {"$ref": "#/components/schemas/Band"}, "places": {"type": "integer", "minimum": 0},
                        "shortfall_persons": {"$ref": "#/components/schemas/Band"}}}}}},
                "Scenario": {"type": "object", "required": ["params", "fastest", "low_concentration"], "properties": {
                    "provenance": {"type": "string", "description": "How the scenario was computed (the public answer): /api/v1/provenance/scenario."},
                    "params": {"type": "object"},
                    "fastest": {"$ref": "#/components/schemas/Allocation"},
                    "low_concentration": {"$ref": "#/components/schemas/Allocation"},
                    "reception_places_free": {"type": "integer", "minimum": 0, "description": "Free reception places counted as places now: the officers' scenario only (they are built on placements); 0 in the public one."},
                    "over_cap_already": {"type": "array", "items": {"type": "string"}}}},
                "Release": {"type": "object", "required": ["version", "published_at", "url", "datasets", "package"], "properties": {
                    "version": {"type": "integer", "minimum": 1}, "published_at": {"type": "string", "format": "date-time"},
                    "url": {"type": "string"}, "package": {"type": "string"},
                    "datasets": {"type": "array", "items": {"type": "object", "required": ["id", "rows", "files"], "properties": {
                        "id": {"type": "string"}, "rows": {"type": "integer", "minimum": 0},
                        "files": {"type": "array", "items": {"type": "object", "required": ["url", "name", "format", "media_type", "bytes", "sha256"], "properties": {
                            "url": {"type": "string"}, "name": {"type": "string"}, "format": {"type": "string"}, "media_type": {"type": "string"},
                            "bytes": {"type": "integer", "minimum": 0}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}}}}}}},
            },
        },
    })
}

/// The indicator ids of the registry.
pub(crate) fn indicator_ids() -> Vec<&'static str> {
    analytics::registry::INDICATORS
        .iter()
        .map(|i| i.id)
        .collect()
}

/// The names of a release's files.
pub(crate) fn release_files() -> Vec<String> {
    let mut files: Vec<String> = DATASETS
        .iter()
        .flat_map(|d| {
            let mut f = vec![format!("{}.csv", d.id), format!("{}.parquet", d.id)];
            if d.id == "districts" {
                f.push("districts.geojson".into());
            }
            f
        })
        .collect();
    files.extend(["datapackage.json".into(), "manifest.json".into()]);
    files
}

/// The datasets Haven loads.
pub(crate) fn dataset_names() -> Vec<&'static str> {
    ingest::schema::all()
        .iter()
        .map(|s| s.name.as_str())
        .collect()
}

/// The paths of every route, each with the operation its resource declares.
fn paths() -> Value {
    let mut paths = serde_json::Map::new();
    for r in crate::ROUTES.iter() {
        let item = paths.entry(r.path).or_insert_with(|| json!({}));
        item[r.method.to_lowercase()] = (r.operation)();
    }
    Value::Object(paths)
}

/// Every (method, path) the document describes, in the router's path syntax.
pub fn operations() -> Vec<(String, String)> {
    let doc = document();
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            if let Some(ops) = item.as_object() {
                for method in ops.keys() {
                    out.push((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out.sort();
    out
}
