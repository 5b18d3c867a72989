"""Checks a downloaded Haven release with outside readers: Frictionless, pyarrow, geopandas,
shapely and rdflib. Called by tests/open_data.rs with the folder the test downloaded into:

    validate.py DIR

DIR holds the release files, `catalog.ttl` and `catalog.jsonld` (the catalogue as served) and
`hxl.csv` (a CSV downloaded with ?hxl=true). Prints one line per check; exits non-zero on the
first failure, with the reason.
"""

import hashlib
import json
import os
import sys

import frictionless
import geopandas
import mapbox_vector_tile
import pandas
import pyarrow.parquet as pq
import rdflib
import shapely
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF, XSD

# DCAT 3 (rdflib's own DCAT namespace predates dataset series).
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = rdflib.Namespace("http://data.europa.eu/r5r/")
EU = "http://publications.europa.eu/resource/authority/"


def check(ok, message):
    if not ok:
        print(f"FAIL: {message}")
        sys.exit(1)


def catalogue(ttl, jsonld):
    """The catalogue's graph, read in both syntaxes: the same graph, one dcat:Catalog with
    DCAT-AP 3's mandatory and recommended properties. Returns the graph, a property check and
    the catalogue."""
    check(isomorphic(ttl, jsonld), "Turtle and JSON-LD catalogues differ")
    g = ttl

    def has(s, p, what):
        check(g.value(s, p) is not None, f"{what} {s} lacks {p.n3(g.namespace_manager)}")

    catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
    check(len(catalogs) == 1, f"{len(catalogs)} catalogues")
    cat = catalogs[0]
    for p in (DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCAT.dataset,
              FOAF.homepage, DCTERMS.language, DCTERMS.license, DCTERMS.modified,
              DCTERMS.issued, DCTERMS.spatial, DCAT.themeTaxonomy):
        has(cat, p, "catalogue")
    return g, has, cat


def main(folder):
    manifest = json.load(open(os.path.join(folder, "manifest.json")))

    # 1. Frictionless: every CSV against its Table Schema, with bytes and hash.
    report = frictionless.validate(os.path.join(folder, "datapackage.json"))
    errors = [
        f"{task.name}: {e.message}" for task in report.tasks for e in task.errors
    ] + [e.message for e in report.errors]
    check(report.valid, "frictionless: " + "; ".join(errors[:5]))
    print(f"frictionless: valid, {len(report.tasks)} resources")

    # 2. pyarrow reads every Parquet file with the rows the manifest states; the CSV agrees.
    for ds in manifest["datasets"]:
        for f in ds["files"]:
            path = os.path.join(folder, f["name"])
            data = open(path, "rb").read()
            check(len(data) == f["bytes"], f"{f['name']}: {len(data)} bytes, manifest {f['bytes']}")
            check(hashlib.sha256(data).hexdigest() == f["sha256"], f"{f['name']}: sha256 differs")
            if f["format"] == "PARQUET":
                table = pq.read_table(path)
                check(table.num_rows == ds["rows"], f"{f['name']}: {table.num_rows} rows, manifest {ds['rows']}")
    print("pyarrow: every Parquet file read, sizes and checksums match the manifest")

    # 3. GeoParquet and GeoJSON through geopandas: WGS84, valid, RFC 7946 orientation.
    districts = next(d for d in manifest["datasets"] if d["id"] == "districts")
    gp = geopandas.read_parquet(os.path.join(folder, "districts.parquet"))
    check(gp.crs is not None and gp.crs.equals("OGC:CRS84"), f"GeoParquet CRS {gp.crs}")
    check(len(gp) == districts["rows"], f"GeoParquet has {len(gp)} districts")
    check(bool(gp.geometry.is_valid.all()), "GeoParquet: invalid geometries")
    meta = json.loads(pq.read_metadata(os.path.join(folder, "districts.parquet")).metadata[b"geo"])
    check(meta["primary_column"] == "geometry" and meta["columns"]["geometry"]["encoding"] == "WKB", "geo metadata")
    gj = geopandas.read_file(os.path.join(folder, "districts.geojson"))
    check(len(gj) == districts["rows"], f"GeoJSON has {len(gj)} features")
    check(gj.crs is not None and gj.crs.to_epsg() == 4326, f"GeoJSON CRS {gj.crs}")
    check(bool(gj.geometry.is_valid.all()), "GeoJSON: invalid geometries")
    for geom in gj.geometry:
        polygons = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        for p in polygons:
            check(shapely.is_ccw(p.exterior), "GeoJSON: an exterior ring is clockwise (RFC 7946 asks counter-clockwise)")
            for hole in p.interiors:
                check(not shapely.is_ccw(hole), "GeoJSON: a hole is counter-clockwise")
    check(
        bool((gp["district_code"].values == gj["district_code"].values).all()),
        "GeoParquet and GeoJSON list different districts",
    )
    print(f"geopandas: {len(gp)} districts in GeoParquet and GeoJSON, WGS84, valid, counter-clockwise")

    # 4. Compare formats: no file, and not the API, shows a value another withholds.
    def same(a, b, what):
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
        check(list(a.columns) == list(b.columns), f"{what}: columns differ")
        check(len(a) == len(b), f"{what}: {len(a)} rows against {len(b)}")
        for c in a.columns:
            x, y = a[c], b[c]
            check(bool((x.isna() == y.isna()).all()), f"{what}: {c} is empty in one and not the other")
            if x.dtype.kind in "if" and y.dtype.kind in "if":
                check(bool(((x - y).abs()[x.notna()] <= 1e-9 * (1 + y.abs()[x.notna()])).all()), f"{what}: {c} differs")
            else:
                check(bool((x.astype(str)[x.notna()] == y.astype(str)[x.notna()]).all()), f"{what}: {c} differs")

    csv = pandas.read_csv(os.path.join(folder, "indicators.csv"), keep_default_na=False, na_values=[""])
    parquet = pq.read_table(os.path.join(folder, "indicators.parquet")).to_pandas()
    same(csv, parquet, "indicators CSV against Parquet")
    placements = pandas.read_csv(os.path.join(folder, "placements.csv"), keep_default_na=False, na_values=[""])
    same(placements, csv[list(placements.columns)], "placements against indicators")
    dcsv = pandas.read_csv(os.path.join(folder, "districts.csv"), keep_default_na=False, na_values=[""])
    props = gj.drop(columns="geometry")
    props["withheld"] = [",".join(w) if len(w) else None for w in props["withheld"]]
    same(dcsv, props[list(dcsv.columns)], "districts CSV against GeoJSON")
    same(dcsv.drop(columns="withheld"), gp[[c for c in dcsv.columns if c != "withheld"]], "districts CSV against GeoParquet")
    api = json.load(open(os.path.join(folder, "api_personal.json")))
    rows = {(r["area_code"], r["period"]): r for r in csv.to_dict("records")}
    withheld_api = 0
    for item in api:
        row = rows[(item["area_code"], item["period"])]
        v = row[item["indicator"]]
        flagged = item["indicator"] in str(row["withheld"] or "").split(",")
        check(item["withheld"] == flagged, f"API and CSV flag {item} differently")
        if item["value"] is None:
            check(pandas.isna(v), f"API withholds {item}, the CSV shows {v}")
            withheld_api += item["withheld"]
        else:
            check(not pandas.isna(v) and abs(v - item["value"]) <= 1e-9 * (1 + abs(v)), f"API shows {item}, the CSV {v}")
    check(withheld_api > 100, f"only {withheld_api} withheld values to compare")
    print(f"formats agree: CSV, Parquet, GeoJSON, GeoParquet and the API ({len(api)} personal values, "
          f"{withheld_api} withheld) show the same values and withhold the same cells")

    # 5. HXL: the hashtag row sits under the header, one tag per column.
    lines = open(os.path.join(folder, "hxl.csv"), encoding="utf-8").read().split("\n")
    header, tags = lines[0].split(","), lines[1].split(",")
    check(len(header) == len(tags), f"HXL row has {len(tags)} tags for {len(header)} columns")
    check(all(t.startswith("#") for t in tags), f"HXL row: {tags[:5]}")
    print(f"hxl: {len(tags)} hashtags, e.g. {tags[0]}")

    # 6. Vector tiles: the public one decodes, carries districts and no address.
    tile = mapbox_vector_tile.decode(open(os.path.join(folder, "districts.mvt"), "rb").read())
    check("districts" in tile, f"tile layers: {list(tile)}")
    features = tile["districts"]["features"]
    check(len(features) > 0, "the demo tile has no district")
    check(tile["districts"]["extent"] == 4096, "tile extent")
    for f in features:
        check(f["geometry"]["type"] in ("Polygon", "MultiPolygon"), f"tile geometry {f['geometry']['type']}")
        check("district_code" in f["properties"] and "address" not in f["properties"], f"tile properties {list(f['properties'])[:5]}")
    codes = {f["properties"]["district_code"] for f in features}
    check(codes <= set(gj["district_code"]), "tile districts not in the release")
    officer = mapbox_vector_tile.decode(open(os.path.join(folder, "vacant.mvt"), "rb").read())
    points = officer["vacant_properties"]["features"]
    check(len(points) > 0 and all(p["geometry"]["type"] == "Point" for p in points), "officer tile points")
    check(all("address" in p["properties"] for p in points), "officer tile addresses")
    print(f"mapbox-vector-tile: district tile with {len(features)} districts and no address; "
          f"officer tile with {len(points)} vacant properties")

    # 7. The catalogue: the same graph in Turtle and JSON-LD, with DCAT-AP 3's mandatory and
    # recommended properties, and distributions that match the files.
    ttl = rdflib.Graph().parse(os.path.join(folder, "catalog.ttl"), format="turtle")
    jsonld = rdflib.Graph().parse(os.path.join(folder, "catalog.jsonld"), format="json-ld")
    check(len(ttl) > 100, f"Turtle catalogue has {len(ttl)} triples")
    g, has, cat = catalogue(ttl, jsonld)
    publisher = g.value(cat, DCTERMS.publisher)
    has(publisher, FOAF.name, "publisher")
    check((publisher, RDF.type, FOAF.Agent) in g, "publisher is not a foaf:Agent")
    bbox = g.value(g.value(cat, DCTERMS.spatial), DCAT.bbox)
    check(bbox is not None and str(bbox).startswith("POLYGON(("), "spatial coverage has no bbox")

    series = list(g.subjects(RDF.type, DCAT.DatasetSeries))
    check(len(series) == 10, f"{len(series)} dataset series, 10 published datasets")
    datasets = list(g.subjects(RDF.type, DCAT.Dataset))
    check(len(datasets) >= 9, f"{len(datasets)} released datasets")
    listed = set(g.objects(cat, DCAT.dataset))
    for s in series:
        check(s in listed, f"series {s} not in the catalogue")
        for p in (DCTERMS.title, DCTERMS.description, DCAT.keyword, DCAT.theme,
                  DCAT.contactPoint, DCTERMS.publisher, DCTERMS.spatial, DCTERMS.temporal,
                  DCAT.first, DCAT.last):
            has(s, p, "series")
    files = {f["name"]: f for d in manifest["datasets"] for f in d["files"]}
    checked = 0
    for d in datasets:
        check(d in listed, f"dataset {d} not in the catalogue")
        for p in (DCTERMS.title, DCTERMS.description, DCAT.contactPoint, DCAT.distribution,
                  DCAT.keyword, DCTERMS.publisher, DCTERMS.spatial, DCTERMS.temporal,
                  DCAT.theme, DCAT.inSeries, DCAT.version, DCTERMS.issued, DCTERMS.modified):
            has(d, p, "dataset")
        check(g.value(d, DCAT.inSeries) in series, f"{d} is in no series")
        for t in g.objects(d, DCAT.theme):
            check(str(t).startswith(EU + "data-theme/"), f"theme {t} is not an EU data theme")
        contact = g.value(d, DCAT.contactPoint)
        has(contact, VCARD.fn, "contact point")
        check(str(g.value(contact, VCARD.hasEmail)).startswith("mailto:"), "contact e-mail")
        period = g.value(d, DCTERMS.temporal)
        for p in (DCAT.startDate, DCAT.endDate):
            v = g.value(period, p)
            check(v is not None and v.datatype == XSD.date, f"temporal coverage {p}")
        for dist in g.objects(d, DCAT.distribution):
            check((dist, RDF.type, DCAT.Distribution) in g, f"{dist} is not a dcat:Distribution")
            for p in (DCAT.accessURL, DCAT.downloadURL, DCTERMS.format, DCTERMS.license,
                      DCAT.byteSize, SPDX.checksum, DCAT.mediaType, DCTERMS.description,
                      DCATAP.availability):
                has(dist, p, "distribution")
            check(str(g.value(dist, DCTERMS.format)).startswith(EU + "file-type/"), "format vocabulary")
            check(str(g.value(dist, DCTERMS.license)).startswith(EU + "licence/"), "licence vocabulary")
            name = str(g.value(dist, DCAT.downloadURL)).rsplit("/", 1)[1]
            if str(g.value(d, DCAT.version)) == str(manifest["version"]):
                check(name in files, f"distribution {name} is not a file of the release")
                size = g.value(dist, DCAT.byteSize)
                check(size.datatype == XSD.nonNegativeInteger and int(size) == files[name]["bytes"], f"{name}: byte size")
                checksum = g.value(dist, SPDX.checksum)
                check(g.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256, f"{name}: algorithm")
                value = g.value(checksum, SPDX.checksumValue)
                check(value.datatype == XSD.hexBinary and str(value) == files[name]["sha256"], f"{name}: checksum")
                checked += 1
    check(checked == len(files), f"{checked} distributions of the latest release, {len(files)} files")
    print(f"rdflib: DCAT-AP catalogue, {len(g)} triples, Turtle and JSON-LD isomorphic, "
          f"{len(series)} series, {len(datasets)} datasets, {checked} distributions checked against the files")


if __name__ == "__main__":
    main(sys.argv[1])
