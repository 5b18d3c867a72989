//! Where every published figure comes from. A release records, beside its files, the loads its
//! figures were computed from (each dataset's rows by the load that last wrote them: batch,
//! file name, time, rows read and rejected) and when each part of the analysis ran; its data
//! package lists them as `sources`. [`figure`] answers "how was this computed?" for one
//! indicator (its registry entry and formula) or derived figure (segregation, scenario,
//! forecast, pipeline): how, those loads and analysis, and the release.
//!
//! The loads of personal datasets (placements) are named but not described: their row counts
//! and load times are never published (docs/disclosure.md).

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::publish::Manifest;

/// One load whose rows a figure was computed from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Load {
    pub batch: i64,
    /// The file's name as loaded (no folder).
    pub file: String,
    /// When the load finished (RFC 3339, UTC).
    pub loaded_at: Option<String>,
    /// Rows of the dataset this load wrote last.
    pub rows: i64,
    pub rows_read: i64,
    pub rows_rejected: i64,
}

/// A dataset a release was computed from, with its loads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// The dataset's title (Frictionless `sources[].title`).
    pub title: String,
    pub dataset: String,
    /// Personal: named, its loads not described.
    pub personal: bool,
    #[serde(default)]
    pub loads: Vec<Load>,
}

/// When a part of the analysis ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    pub part: String,
    pub computed_at: String,
}

/// Every loaded dataset with the loads its rows come from, as they are now.
pub fn sources(conn: &duckdb::Connection) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    for schema in ingest::schema::all() {
        if !ingest::store::has_table(conn, &schema.name)? {
            continue;
        }
        let personal = schema.privacy == ingest::schema::Privacy::Personal;
        let loads = if personal {
            Vec::new()
        } else {
            let mut stmt = conn.prepare(&format!(
                "SELECT t._batch_id, b.source, strftime(b.finished_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                        t.n, b.rows_read, b.rows_rejected
                 FROM (SELECT _batch_id, count(*) AS n FROM {} GROUP BY 1) t
                 JOIN ingest_batches b ON b.batch_id = t._batch_id
                 ORDER BY 1",
                ingest::schema::quote_ident(&schema.name)
            ))?;
            stmt.query_map([], |r| {
                let source: String = r.get(1)?;
                Ok(Load {
                    batch: r.get(0)?,
                    file: file_name(&source),
                    loaded_at: r.get(2)?,
                    rows: r.get(3)?,
                    rows_read: r.get(4)?,
                    rows_rejected: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?
        };
        out.push(Source {
            title: schema.title.clone(),
            dataset: schema.name.clone(),
            personal,
            loads,
        });
    }
    Ok(out)
}

/// The last part of a load's source: a file's name without its folder (the server's folders
/// are nobody's business), a URL's last segment.
fn file_name(source: &str) -> String {
    let s = source.split(['?', '#']).next().unwrap_or(source);
    s.rsplit(['/', '\\'])
        .find(|p| !p.is_empty())
        .unwrap_or(s)
        .to_string()
}

/// When each part of the analysis last ran.
pub fn analyses(conn: &duckdb::Connection) -> Result<Vec<Analysis>, Error> {
    if !ingest::store::has_table(conn, "analysis_runs")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT part, strftime(computed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')
         FROM analysis_runs ORDER BY part",
    )?;
    Ok(stmt
        .query_map([], |r| {
            Ok(Analysis {
                part: r.get(0)?,
                computed_at: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// How an indicator's municipal figure is formed from its district figures.
fn formula(indicator: &analytics::registry::Indicator) -> String {
    use analytics::registry::Aggregate;
    match indicator.aggregate {
        Aggregate::Sum => "Counted per district and month; the municipality is the sum of its districts.".into(),
        Aggregate::Ratio {
            numerator,
            denominator,
        } => format!(
            "{numerator} / {denominator}, per district and month; the municipality's is the sum of the numerators over the sum of the denominators."
        ),
        Aggregate::Direct => {
            "Computed from the rows of each district and month; the municipality's from all its rows at once (a median is not a sum).".into()
        }
    }
}

/// The release a public figure belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseRef {
    pub version: u32,
    pub published_at: String,
    /// The release's data package, which lists the same sources.
    pub package: String,
}

/// How a figure was computed, for the figure of the latest release.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The figure: an indicator id of the registry, or one of [`DERIVED`].
    pub figure: String,
    /// The registry entry (null for the figures derived from indicators and results).
    pub indicator: Option<&'static analytics::registry::Indicator>,
    pub formula: String,
    /// Published only through the disclosure step (built on placements).
    pub protected: bool,
    pub sources: Vec<Source>,
    pub analyses: Vec<Analysis>,
    pub release: ReleaseRef,
}

/// A figure that is not an indicator of the registry: its datasets, the part of the analysis
/// it comes from (none when it is computed for each answer from the release) and how.
#[derive(Debug)]
pub struct Derived {
    pub id: &'static str,
    pub datasets: &'static [&'static str],
    pub part: Option<&'static str>,
    pub formula: &'static str,
}

/// The figures the API and the dashboard give besides the registry's indicators.
pub const DERIVED: &[Derived] = &[
    Derived {
        id: "segregation",
        datasets: &["placements", "population", "districts"],
        part: Some("segregation"),
        formula: "Segregation indices of each population group, and of persons placed, over the districts against the whole population, as PySAL defines them (segregation 2.5, esda 2.9); the significance of the latest value by 999 random placements over the districts, the change over a year by bootstrap. Persons placed are published only through the disclosure step.",
    },
    Derived {
        id: "scenario",
        datasets: &["vacant_properties", "placements", "population", "districts"],
        part: None,
        formula: "Computed for each answer: the inflow in households of the default household mix, housed in the homes of the vacancy register ready within 30 days (ready, or minor renovation up to EUR 5,000) and within 90 days, fastest and cheapest first, with and without a cap on each district's location quotient of persons placed as the latest release publishes them.",
    },
    Derived {
        id: "forecast",
        datasets: &["placements", "vacant_properties"],
        part: None,
        formula: "Computed for each answer: exponential smoothing (AutoETS, chosen by AICc) of the municipality's persons in placements as the latest release publishes them month by month, with 80 % and 95 % intervals calibrated on its own rolling-origin backtest; needs in homes and bedrooms by the default household mix, against the places of the scenario.",
    },
    Derived {
        id: "pipeline",
        datasets: &["vacant_properties", "owner_contacts", "placements"],
        part: Some("availability"),
        formula: "Homes of the vacancy register entering each stage (identified, owner contacted, owner answered, renovation, offered) by the date recorded for it, their conversion to the next stage and median days in the stage; homes let and households housed per complete year, built on placements, only through the disclosure step.",
    },
];

/// The part of the analysis that computes the indicators.
const INDICATORS_PART: &str = "availability";

/// How a figure was computed: an indicator of the registry (its entry and formula) or one of
/// the [`DERIVED`] figures, with the loads and analysis the latest release records for its
/// datasets, and the release.
pub fn figure(store: &ingest::Store, id: &str) -> Result<Provenance, Error> {
    let (entry, datasets, part, formula_text, protected) = if let Some(entry) =
        analytics::registry::get(id)
    {
        (
            Some(entry),
            entry.datasets,
            Some(INDICATORS_PART),
            formula(entry),
            entry.class == analytics::registry::Class::Personal,
        )
    } else if let Some(d) = DERIVED.iter().find(|d| d.id == id) {
        (
            None,
            d.datasets,
            d.part,
            d.formula.to_string(),
            d.datasets.contains(&"placements"),
        )
    } else {
        let derived: Vec<&str> = DERIVED.iter().map(|d| d.id).collect();
        return Err(Error::NotFound(format!(
            "no figure '{id}': an indicator id of the registry (/api/v1/indicators/registry) or one of {}",
            derived.join(", ")
        )));
    };
    let manifests = crate::publish::manifests(store)?;
    let latest: &Manifest = manifests
        .last()
        .ok_or_else(|| Error::NotFound("no release has been published yet".into()))?;
    let sources = latest
        .sources
        .iter()
        .filter(|s| datasets.contains(&s.dataset.as_str()))
        .cloned()
        .collect();
    Ok(Provenance {
        figure: id.to_string(),
        indicator: entry,
        formula: formula_text,
        protected,
        sources,
        analyses: latest
            .analyses
            .iter()
            .filter(|a| Some(a.part.as_str()) == part)
            .cloned()
            .collect(),
        release: ReleaseRef {
            version: latest.version,
            published_at: latest.published_at.clone(),
            package: format!(
                "/api/v1/releases/{}/{}",
                latest.version, latest.package.name
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_named_by_its_file_alone() {
        assert_eq!(
            file_name("/home/officer/exports/leegstand.csv"),
            "leegstand.csv"
        );
        assert_eq!(file_name("C:\\data\\wijken.geojson"), "wijken.geojson");
        assert_eq!(
            file_name("https://data.example.org/export/vacant.csv?token=x"),
            "vacant.csv"
        );
        assert_eq!(file_name("upload.xlsx"), "upload.xlsx");
    }
}
