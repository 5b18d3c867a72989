"""Checks a region's DCAT catalogue with rdflib, an outside reader, and follows every
distribution it lists. Called by tests/lake.rs:

    region_catalog.py URL RELEASE_DIR...

URL is a stateless reader of the region; each RELEASE_DIR a municipality's published version
folder (its manifest names the municipality's datasets and their rows). Prints one line per
check; exits non-zero on the first failure, with the reason.
"""

import csv
import io
import json
import os
import sys
import urllib.request

import rdflib
from rdflib.namespace import DCTERMS, RDF

# The namespaces and the failing check of the municipal catalogue's checks.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "open_data"))
from validate import DCAT, DCATAP, EU, VCARD, catalogue, check  # noqa: E402


def fetch(url):
    with urllib.request.urlopen(url) as res:
        check(res.status == 200, f"{url}: {res.status}")
        return res.read()


def main(url, releases):
    ttl = rdflib.Graph().parse(data=fetch(f"{url}/api/v1/region/catalog?format=ttl"), format="turtle")
    jsonld = rdflib.Graph().parse(data=fetch(f"{url}/api/v1/region/catalog?format=jsonld"), format="json-ld")
    g, has, cat = catalogue(ttl, jsonld)
    listed = set(g.objects(cat, DCAT.dataset))

    manifests = {}
    for folder in releases:
        m = json.load(open(os.path.join(folder, "manifest.json")))
        rows = list(csv.DictReader(open(os.path.join(folder, "indicators.csv"), encoding="utf-8")))
        code = next(r["area_code"] for r in rows if r["level"] == "municipality")
        manifests[code] = (m, folder)

    series = {str(g.value(s, DCTERMS.identifier)): s for s in g.subjects(RDF.type, DCAT.DatasetSeries)}
    check(sorted(series) == sorted(manifests), f"series {sorted(series)}, municipalities {sorted(manifests)}")
    checked = 0
    for code, s in series.items():
        check(s in listed, f"series {s} not in the catalogue")
        for p in (DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCTERMS.spatial):
            has(s, p, "series")
        m, folder = manifests[code]
        members = list(g.subjects(DCAT.inSeries, s))
        check(len(members) == len(m["datasets"]), f"{code}: {len(members)} datasets, the release has {len(m['datasets'])}")
        for d in members:
            check(d in listed and (d, RDF.type, DCAT.Dataset) in g, f"{d} is not a listed dcat:Dataset")
            for p in (DCTERMS.title, DCTERMS.description, DCAT.contactPoint, DCAT.distribution,
                      DCAT.keyword, DCTERMS.publisher, DCTERMS.spatial, DCTERMS.temporal, DCAT.theme,
                      DCAT.version, DCTERMS.issued, DCTERMS.modified):
                has(d, p, "dataset")
            check(str(g.value(d, DCAT.version)) == str(m["version"]), f"{d}: version")
            check(str(g.value(g.value(d, DCAT.contactPoint), VCARD.hasEmail)) == f"mailto:{m['contact']}", f"{d}: contact")
            dist = g.value(d, DCAT.distribution)
            for p in (DCAT.accessURL, DCAT.downloadURL, DCTERMS.format, DCTERMS.license, DCAT.mediaType,
                      DCATAP.availability):
                has(dist, p, "distribution")
            check(str(g.value(dist, DCTERMS.format)) == EU + "file-type/CSV", "format vocabulary")
            # The distribution holds the release's rows: as many, with the release's columns
            # and the lake's municipality and release beside them.
            name = str(g.value(dist, DCAT.downloadURL)).rsplit("/", 1)[1]
            ds = next(x for x in m["datasets"] if f"{x['id']}.csv" == name)
            got = list(csv.DictReader(io.StringIO(fetch(str(g.value(dist, DCAT.downloadURL))).decode("utf-8"))))
            check(len(got) == ds["rows"], f"{code} {name}: {len(got)} rows, the release has {ds['rows']}")
            own = list(csv.DictReader(open(os.path.join(folder, name), encoding="utf-8")))
            want = set(own[0]) if own else None
            if got and want:
                check(set(got[0]) == want | {"municipality", "release"}, f"{code} {name}: columns {sorted(set(got[0]) ^ want)}")
                check(all(r["municipality"] == code and r["release"] == str(m["version"]) for r in got), f"{code} {name}: rows of another release")
            checked += 1
    print(f"rdflib: the region's DCAT-AP catalogue, {len(g)} triples, Turtle and JSON-LD isomorphic, "
          f"{len(series)} series, {checked} datasets whose CSV holds their release's rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
