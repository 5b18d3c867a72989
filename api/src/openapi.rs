//! The OpenAPI 3.1 description of every route, served at `/api/v1/openapi.json`. Indicator ids
//! and release file names come from the registry and the published datasets, so the document
//! cannot drift from them; a test checks that every route of the router is described.

use serde_json::{Value, json};

use haven_core::publish::DATASETS;

fn problem() -> Value {
    json!({"$ref": "#/components/responses/Problem"})
}

fn ok(description: &str, media: &str, schema: Value) -> Value {
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

fn not_modified() -> Value {
    json!({"description": "The client's copy (If-None-Match) is current."})
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    let mut v = json!({"name": name, "in": "query", "required": false, "description": description});
    v["schema"] = schema;
    v
}

fn month_param(name: &str, description: &str) -> Value {
    query(
        name,
        description,
        json!({"$ref": "#/components/schemas/Month"}),
    )
}

fn list_of(ids: &[&str]) -> Value {
    json!({
        "name": "indicator", "in": "query", "required": false,
        "description": "Indicator ids, comma-separated (default: all).",
        "style": "form", "explode": false,
        "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ids}},
    })
}

fn paging() -> [Value; 2] {
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
fn tile_params() -> Vec<Value> {
    vec![
        json!({"name": "z", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 22}}),
        json!({"name": "x", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}),
        json!({"name": "y", "in": "path", "required": true, "description": "The row, followed by .mvt.", "schema": {"type": "string", "pattern": "^[0-9]{1,7}\\.mvt$"}}),
    ]
}

/// The filters and page of the indicator queries.
fn indicator_params(ids: &[&str]) -> Vec<Value> {
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
    let ids: Vec<&str> = analytics::registry::INDICATORS
        .iter()
        .map(|i| i.id)
        .collect();
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
    let datasets: Vec<&str> = ingest::schema::all()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let [cursor, limit] = paging();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Haven API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Municipal housing preparedness: published indicators, segregation indices, the preparedness scenario and open-data releases. Counts built on personal data are published after small-cell suppression: a withheld value is null and flagged, never 0. Every error is application/problem+json (RFC 9457).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/": {"get": {
                "operationId": "dashboard", "summary": "The dashboard page.",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }},
            "/assets/{file}": {"get": {
                "operationId": "dashboardAsset", "summary": "A script or stylesheet of the dashboard (gzipped when accepted, revalidated by ETag).",
                "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The file.", "content": {"text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}},
                    "304": not_modified(), "404": problem(),
                },
            }},
            "/api/v1/health": {"get": {
                "operationId": "health", "summary": "Liveness.",
                "responses": {"200": {"description": "Up.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}},
            }},
            "/api/v1/status": {"get": {
                "operationId": "status", "summary": "Datasets with row counts (personal data suppressed) and headline figures.",
                "responses": {"200": {"description": "Status.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}, "500": problem()},
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
            "/api/v1/indicators/registry": {"get": {
                "operationId": "registry", "summary": "Every indicator: id, unit, English and Dutch text, sources, privacy class, aggregation.",
                "responses": {
                    "200": ok("The registry.", "application/json", json!({"type": "array", "items": {"$ref": "#/components/schemas/Indicator"}})),
                    "304": not_modified(),
                },
            }},
            "/api/v1/indicators": {"get": {
                "operationId": "indicators", "summary": "Published indicator values per area, month and indicator, paged by keyset.",
                "parameters": indicator_params(&ids),
                "responses": {
                    "200": ok("A page.", "application/json", json!({"$ref": "#/components/schemas/IndicatorPage"})),
                    "304": not_modified(), "400": problem(), "404": problem(),
                },
            }},
            "/api/v1/districts": {"get": {
                "operationId": "districts", "summary": "The districts as GeoJSON (RFC 7946) with the published values of one month.",
                "parameters": [month_param("period", "The month (default: the latest)."), list_of(&ids)],
                "responses": {
                    "200": ok("A FeatureCollection.", "application/geo+json", json!({"$ref": "#/components/schemas/FeatureCollection"})),
                    "304": not_modified(), "400": problem(), "404": problem(),
                },
            }},
            "/api/v1/segregation": {"get": {
                "operationId": "segregation", "summary": "Segregation indices per period and group, paged by keyset, with the significance of the latest change of dissimilarity.",
                "parameters": [
                    query("group", "A population group, placed_persons, or all (multigroup indices).", json!({"type": "string"})),
                    query("index", "An index id, e.g. dissimilarity.", json!({"type": "string"})),
                    month_param("from", "First period (inclusive)."),
                    month_param("to", "Last period (inclusive)."),
                    cursor, limit,
                ],
                "responses": {
                    "200": ok("A page.", "application/json", json!({"$ref": "#/components/schemas/SegregationPage"})),
                    "304": not_modified(), "400": problem(),
                },
            }},
            "/api/v1/segregation/location-quotients": {"get": {
                "operationId": "locationQuotients", "summary": "Location quotients of one group per district for a month: the group's share of the district over its share of the municipality. For persons placed, withheld where their count is.",
                "parameters": [
                    {"name": "group", "in": "query", "required": true, "description": "A population group, or placed_persons.", "schema": {"type": "string"}},
                    month_param("period", "The month (default: the latest)."),
                ],
                "responses": {
                    "200": ok("Location quotients.", "application/json", json!({"type": "object", "required": ["group", "period", "items"], "properties": {
                        "group": {"type": "string"}, "period": {"type": ["string", "null"]},
                        "items": {"type": "array", "items": {"type": "object", "required": ["district_code", "lq", "withheld"], "properties": {
                            "district_code": {"type": "string"}, "lq": {"type": ["number", "null"]}, "withheld": {"type": "boolean"}}}}}})),
                    "304": not_modified(), "400": problem(), "404": problem(),
                },
            }},
            "/api/v1/scenario": {"get": {
                "operationId": "scenario", "summary": "The preparedness scenario: how many of an inflow can be housed within 30 and 90 days, where and at what cost, with and without a cap on concentration.",
                "parameters": [
                    {"name": "inflow", "in": "query", "required": true, "description": "Persons arriving.", "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
                    query("lq_cap", "Highest location quotient of persons placed allowed in a district.", json!({"type": "number", "minimum": 1, "maximum": 10, "default": 1.5})),
                ],
                "responses": {
                    "200": ok("The scenario.", "application/json", json!({"$ref": "#/components/schemas/Scenario"})),
                    "304": not_modified(), "400": problem(), "404": problem(),
                },
            }},
            "/api/v1/catalog": {"get": {
                "operationId": "catalog", "summary": "The DCAT-AP 3 catalogue of the releases; Turtle with Accept: text/turtle or format=ttl.",
                "parameters": [query("format", "jsonld or ttl (default: by Accept, JSON-LD).", json!({"type": "string", "enum": ["jsonld", "ttl"]}))],
                "responses": {
                    "200": {
                        "description": "The catalogue.",
                        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                        "content": {
                            "application/ld+json": {"schema": {"type": "object", "required": ["@context", "@graph"]}},
                            "text/turtle": {"schema": {"type": "string"}},
                        },
                    },
                    "304": not_modified(), "400": problem(),
                },
            }},
            "/api/v1/releases": {"get": {
                "operationId": "releases", "summary": "Every open-data release, newest first, with its files.",
                "responses": {
                    "200": ok("The releases.", "application/json", json!({"type": "array", "items": {"$ref": "#/components/schemas/Release"}})),
                    "304": not_modified(),
                },
            }},
            "/api/v1/releases/{version}/{file}": {"get": {
                "operationId": "releaseFile", "summary": "A file of a release (immutable; ETag is its SHA-256).",
                "parameters": [
                    {"name": "version", "in": "path", "required": true, "description": "A release number, or latest.", "schema": {"type": "string", "pattern": "^(latest|[0-9]{1,6})$"}},
                    {"name": "file", "in": "path", "required": true, "schema": {"type": "string", "enum": files}},
                    query("hxl", "CSV only: add the HXL hashtag row under the header.", json!({"type": "boolean", "default": false})),
                ],
                "responses": {
                    "200": {
                        "description": "The file.",
                        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, "Cache-Control": {"$ref": "#/components/headers/CacheControl"}},
                        "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            "application/geo+json": {"schema": {"type": "object"}},
                            "application/vnd.apache.parquet": {"schema": {"type": "string", "contentMediaType": "application/vnd.apache.parquet"}},
                            "application/json": {"schema": {"type": "object"}},
                        },
                    },
                    "304": not_modified(), "400": problem(), "404": problem(),
                },
            }},
            "/tiles/districts/{z}/{x}/{y}": {"get": {
                "operationId": "districtTile", "summary": "A vector tile (MVT, web mercator) of the districts with the published indicators of the latest month; y is written N.mvt.",
                "parameters": tile_params(),
                "responses": {
                    "200": {"description": "The tile.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}, "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "contentMediaType": "application/vnd.mapbox-vector-tile"}}}},
                    "304": not_modified(), "400": problem(),
                },
            }},
            "/tiles/vacant-properties/{z}/{x}/{y}": {"get": {
                "operationId": "vacantPropertyTile", "summary": "Officers: a vector tile of the vacant properties as points, with address.",
                "security": [{"bearer": []}],
                "parameters": tile_params(),
                "responses": {
                    "200": {"description": "The tile.", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "contentMediaType": "application/vnd.mapbox-vector-tile"}}}},
                    "304": not_modified(), "400": problem(), "403": problem(),
                },
            }},
            "/api/v1/officer/indicators": {"get": {
                "operationId": "officerIndicators", "summary": "Officers: every indicator value before suppression, as /api/v1/indicators.",
                "security": [{"bearer": []}],
                "parameters": indicator_params(&ids),
                "responses": {
                    "200": ok("A page.", "application/json", json!({"$ref": "#/components/schemas/IndicatorPage"})),
                    "304": not_modified(), "400": problem(), "403": problem(), "404": problem(),
                },
            }},
            "/api/v1/officer/vacant-properties": {"get": {
                "operationId": "officerVacantProperties", "summary": "Officers: vacant property rows with address and location, paged by keyset.",
                "security": [{"bearer": []}],
                "parameters": [
                    query("district", "Only this district.", json!({"type": "string"})),
                    query("status", "Only this status.", json!({"type": "string"})),
                    query("owner_type", "Only this owner type.", json!({"type": "string"})),
                    query("condition", "Only this condition.", json!({"type": "string"})),
                    query("min_months_vacant", "Only properties vacant for at least this many months.", json!({"type": "integer", "minimum": 0, "maximum": 1200})),
                    cursor, limit,
                ],
                "responses": {
                    "200": {"description": "A page.", "content": {"application/json": {"schema": {"type": "object", "required": ["items", "total", "next_cursor"], "properties": {
                        "items": {"type": "array", "items": {"type": "object", "required": ["property_id"]}},
                        "total": {"type": "integer", "minimum": 0}, "next_cursor": {"type": ["string", "null"]}}}}}},
                    "400": problem(), "403": problem(),
                },
            }},
            "/api/v1/officer/jobs": {"get": {
                "operationId": "jobRuns", "summary": "Officers: the latest runs of the scheduled imports, newest first.",
                "security": [{"bearer": []}],
                "parameters": [query("job", "Only this job.", json!({"type": "string"})), query("limit", "Runs.", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))],
                "responses": {"200": {"description": "Runs.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["run_id", "job", "started_at", "outcome"]}}}}}, "400": problem(), "403": problem()},
            }},
            "/api/v1/officer/batches": {"get": {
                "operationId": "batches", "summary": "Officers: the latest loads (uploads, command line, scheduled imports), newest first.",
                "security": [{"bearer": []}],
                "parameters": [query("dataset", "Only this dataset.", json!({"type": "string"})), query("limit", "Loads.", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))],
                "responses": {"200": {"description": "Loads.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["batch_id", "dataset", "outcome", "rows_read", "rows_accepted", "rows_rejected", "started_at"]}}}}}, "400": problem(), "403": problem()},
            }},
            "/api/v1/admin/users": {
                "get": {
                    "operationId": "listUsers", "summary": "Admins: the users (never tokens).",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "Users.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}}, "403": problem()},
                },
                "post": {
                    "operationId": "addUser", "summary": "Admins: add a user; the token is in the answer, once.",
                    "security": [{"bearer": []}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "role"], "additionalProperties": false, "properties": {
                        "name": {"type": "string", "pattern": "^[a-z0-9._@-]{1,64}$"}, "role": {"type": "string", "enum": ["officer", "admin"]}}}}}},
                    "responses": {"201": {"description": "Added.", "content": {"application/json": {"schema": {"type": "object", "required": ["name", "role", "token"]}}}}, "400": problem(), "403": problem()},
                },
            },
            "/api/v1/admin/users/{name}": {"delete": {
                "operationId": "removeUser", "summary": "Admins: remove a user; its token stops working.",
                "security": [{"bearer": []}],
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"204": {"description": "Removed."}, "400": problem(), "403": problem(), "404": problem()},
            }},
            "/api/v1/admin/audit": {"get": {
                "operationId": "audit", "summary": "Admins: the latest restricted reads and uploads, newest first.",
                "security": [{"bearer": []}],
                "parameters": [query("actor", "Only this user.", json!({"type": "string"})), query("limit", "Entries.", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))],
                "responses": {"200": {"description": "Entries.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["at", "actor", "role", "action", "target", "status"]}}}}}, "400": problem(), "403": problem()},
            }},
            "/api/v1/officer/batches/{batch}/rejected": {"get": {
                "operationId": "rejectedRows", "summary": "Officers: the rejected rows of a load, in line order (haven batches --rejected beside a running server).",
                "security": [{"bearer": []}],
                "parameters": [{"name": "batch", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "Rows.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["line", "reason"]}}}}}, "400": problem(), "401": problem(), "404": problem()},
            }},
            "/api/v1/admin/analyze": {"post": {
                "operationId": "analyze", "summary": "Admins: bring the indicators up to date on the server (haven analyze beside a running server). The public sees the result at the next release.",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
                    "full": {"type": "boolean", "default": false}, "permutations": {"type": ["integer", "null"], "minimum": 0}}}}}},
                "responses": {"200": {"description": "The analysis run's summary.", "content": {"application/json": {"schema": {"type": "object", "required": ["availability", "segregation", "computed", "elapsed_ms"]}}}}, "400": problem(), "403": problem()},
            }},
            "/api/v1/admin/publish": {"post": {
                "operationId": "publish", "summary": "Admins: ask the disclosure step for a release under the server's settings (haven publish beside a running server).",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
                    "force": {"type": "boolean", "default": false}}}}}},
                "responses": {"200": {"description": "The release made (outcome made) or why it was held back (outcome held_back, with its reason).", "content": {"application/json": {"schema": {"type": "object", "required": ["outcome"], "properties": {"outcome": {"enum": ["made", "held_back"]}}}}}}, "400": problem(), "403": problem()},
            }},
            "/api/v1/admin/scenario": {"get": {
                "operationId": "scenarioLive", "summary": "Admins: the preparedness scenario from the register's own figures, location quotients after the allocation included (haven scenario beside a running server).",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "inflow", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
                    {"name": "lq_cap", "in": "query", "schema": {"type": "number", "minimum": 1, "maximum": 10, "default": 1.5}}],
                "responses": {"200": {"description": "The scenario.", "content": {"application/json": {"schema": {"type": "object", "required": ["params", "fastest", "low_concentration"]}}}}, "400": problem(), "401": problem(), "403": problem()},
            }},
            "/api/v1/admin/jobs/{name}/run": {"post": {
                "operationId": "runJob", "summary": "Admins: run a scheduled job of the server's haven.toml now (haven jobs run beside a running server).",
                "security": [{"bearer": []}],
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The run report.", "content": {"application/json": {"schema": {"type": "object", "required": ["run_id", "job", "outcome"]}}}}, "403": problem(), "404": problem()},
            }},
            "/api/v1/ingest/{dataset}": {"post": {
                "operationId": "ingest", "summary": "Load a file into a dataset, with the validation of haven ingest (the loopback hand-off of the CLI).",
                "security": [{"bearer": []}],
                "parameters": [{"name": "dataset", "in": "path", "required": true, "schema": {"type": "string", "enum": datasets}}],
                "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
                "responses": {"200": {"description": "The load report.", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": problem(), "401": problem(), "413": {"description": "Too large."}},
            }},
        },
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
                    "changes": {"type": "array", "items": {"$ref": "#/components/schemas/SegregationChange"}}}},
                "Allocation": {"type": "object", "required": ["districts"], "properties": {
                    "dissimilarity_after": {"type": ["number", "null"]},
                    "districts": {"type": "array", "items": {"type": "object", "required": ["district_code", "households", "persons"], "properties": {
                        "district_code": {"type": "string"}, "households": {"type": "integer", "minimum": 0}, "persons": {"type": "integer", "minimum": 0},
                        "lq_after": {"type": "null"}}}}}},
                "Scenario": {"type": "object", "required": ["params", "fastest", "low_concentration"], "properties": {
                    "params": {"type": "object"},
                    "fastest": {"$ref": "#/components/schemas/Allocation"},
                    "low_concentration": {"$ref": "#/components/schemas/Allocation"},
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
