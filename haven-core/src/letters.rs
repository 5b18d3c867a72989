//! Letters to owners of vacant homes: templates in the municipality's languages
//! (`haven-core/letters/{template}.{lang}.txt`: the subject on the first line, then the body
//! with `{address}`, `{reference}`, `{vacant_since}`, `{officer}` and `{municipality}`), merged
//! for a selection of properties into one PDF to print, one letter to a page. Sending can be
//! recorded as a contact on each case in the same step.

use duckdb::OptionalExt;
use serde::{Deserialize, Serialize};

use crate::pdf::{self, Block};
use crate::{Error, Result, outreach};

/// The templates: name, language, text.
const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "first_contact",
        "en",
        include_str!("../letters/first_contact.en.txt"),
    ),
    (
        "first_contact",
        "nl",
        include_str!("../letters/first_contact.nl.txt"),
    ),
    (
        "follow_up",
        "en",
        include_str!("../letters/follow_up.en.txt"),
    ),
    (
        "follow_up",
        "nl",
        include_str!("../letters/follow_up.nl.txt"),
    ),
];

/// At most this many letters in one batch.
pub const MAX_LETTERS: usize = 2_000;

/// A template as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    pub name: &'static str,
    pub languages: Vec<&'static str>,
}

/// The templates and the languages each is written in.
pub fn templates() -> Vec<Template> {
    let mut out: Vec<Template> = Vec::new();
    for (name, lang, _) in TEMPLATES {
        match out.iter_mut().find(|t| t.name == *name) {
            Some(t) => t.languages.push(lang),
            None => out.push(Template {
                name,
                languages: vec![lang],
            }),
        }
    }
    out
}

/// A batch of letters to write.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub property_ids: Vec<String>,
    pub template: String,
    /// `en` or `nl`.
    pub lang: String,
    /// Record a letter sent on each case.
    #[serde(default)]
    pub record: bool,
}

/// The words around the template's text, per language.
struct Words {
    to_owner: &'static str,
    reference: &'static str,
    date: &'static str,
    months: [&'static str; 12],
}

fn words(lang: &str) -> Words {
    match lang {
        "nl" => Words {
            to_owner: "Aan de eigenaar van",
            reference: "Ons kenmerk",
            date: "Datum",
            months: [
                "januari",
                "februari",
                "maart",
                "april",
                "mei",
                "juni",
                "juli",
                "augustus",
                "september",
                "oktober",
                "november",
                "december",
            ],
        },
        _ => Words {
            to_owner: "To the owner of",
            reference: "Our reference",
            date: "Date",
            months: [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ],
        },
    }
}

/// `YYYY-MM-DD` as the language writes a date in a letter (`30 November 2026`).
fn long_date(iso: &str, w: &Words) -> String {
    let mut p = iso.split('-');
    match (
        p.next(),
        p.next().and_then(|m| m.parse::<usize>().ok()),
        p.next().and_then(|d| d.parse::<u32>().ok()),
    ) {
        (Some(y), Some(m @ 1..=12), Some(d)) => format!("{d} {} {y}", w.months[m - 1]),
        _ => iso.to_string(),
    }
}

/// What a letter is merged from.
struct Recipient {
    property_id: String,
    address: Option<String>,
    vacant_since: Option<String>,
    officer: Option<String>,
}

/// The letters of `req` as one PDF; with `record`, a letter sent is recorded on every case
/// (all or none). `actor` signs where a case has no officer; `municipality` is the publisher.
pub fn write(
    store: &ingest::Store,
    req: &Request,
    actor: &str,
    municipality: &str,
) -> Result<Vec<u8>> {
    let text = TEMPLATES
        .iter()
        .find(|(n, l, _)| *n == req.template && *l == req.lang)
        .map(|t| t.2)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "there is no letter '{}' in '{}'; the letters are: {}",
                req.template,
                req.lang,
                templates()
                    .iter()
                    .map(|t| format!("{} ({})", t.name, t.languages.join(", ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let mut ids: Vec<String> = req
        .property_ids
        .iter()
        .map(|p| p.trim().to_string())
        .collect();
    ids.retain(|p| !p.is_empty());
    let mut seen = std::collections::HashSet::new();
    ids.retain(|p| seen.insert(p.clone()));
    if ids.is_empty() {
        return Err(Error::Invalid("choose at least one property".into()));
    }
    if ids.len() > MAX_LETTERS {
        return Err(Error::Invalid(format!(
            "at most {MAX_LETTERS} letters at once; {} were asked for",
            ids.len()
        )));
    }
    let recipients = recipients(store, &ids)?;
    let w = words(&req.lang);
    let today: String =
        store
            .conn()
            .query_row("SELECT strftime(current_date, '%Y-%m-%d')", [], |r| {
                r.get(0)
            })?;
    let mut blocks = Vec::new();
    for (i, r) in recipients.iter().enumerate() {
        if i > 0 {
            blocks.push(Block::PageBreak);
        }
        let address = r.address.clone().unwrap_or_else(|| r.property_id.clone());
        let since = r
            .vacant_since
            .as_deref()
            .map(|d| long_date(d, &w))
            .unwrap_or_else(|| "–".into());
        let officer = r.officer.clone().unwrap_or_else(|| actor.to_string());
        let merge = |s: &str| {
            s.replace("{address}", &address)
                .replace("{reference}", &r.property_id)
                .replace("{vacant_since}", &since)
                .replace("{officer}", &officer)
                .replace("{municipality}", municipality)
        };
        let (subject, body) = text.split_once('\n').unwrap_or((text, ""));
        blocks.push(Block::Bold(municipality.to_string()));
        blocks.push(Block::Text(String::new()));
        blocks.push(Block::Text(w.to_owner.to_string()));
        blocks.push(Block::Text(address.clone()));
        blocks.push(Block::Text(String::new()));
        blocks.push(Block::Text(format!(
            "{}: {}",
            w.date,
            long_date(&today, &w)
        )));
        blocks.push(Block::Text(format!("{}: {}", w.reference, r.property_id)));
        blocks.push(Block::Text(String::new()));
        blocks.push(Block::Bold(merge(subject)));
        blocks.push(Block::Text(String::new()));
        for paragraph in body.trim_end().split('\n') {
            blocks.push(Block::Text(merge(paragraph)));
        }
    }
    let pdf = pdf::document(&format!("{municipality}: {}", req.template), &blocks);
    if req.record {
        outreach::letters_sent(store, &ids, &req.template, actor)?;
    }
    Ok(pdf)
}

/// The properties in the order asked for; every id must be in the register.
fn recipients(store: &ingest::Store, ids: &[String]) -> Result<Vec<Recipient>> {
    let conn = store.conn();
    let mut stmt = conn.prepare(
        "SELECT v.address, strftime(v.vacant_since, '%Y-%m-%d'), c.officer
         FROM main.vacant_properties v LEFT JOIN outreach_cases c USING (property_id)
         WHERE v.property_id = ?",
    )?;
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        let row = stmt
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        match row {
            Some((address, vacant_since, officer)) => found.push(Recipient {
                property_id: id.clone(),
                address,
                vacant_since,
                officer,
            }),
            None => missing.push(id.as_str()),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(10).copied().collect();
        return Err(Error::NotFound(format!(
            "not in the vacancy register ({} of the properties): {}",
            missing.len(),
            shown.join(", ")
        )));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_both_languages_and_only_known_fields() {
        for t in templates() {
            assert_eq!(t.languages, ["en", "nl"], "{}", t.name);
        }
        for (name, lang, text) in TEMPLATES {
            let mut rest = *text;
            while let Some(i) = rest.find('{') {
                let end = rest[i..].find('}').expect("a closed field") + i;
                let field = &rest[i + 1..end];
                assert!(
                    [
                        "address",
                        "reference",
                        "vacant_since",
                        "officer",
                        "municipality"
                    ]
                    .contains(&field),
                    "{name}.{lang}: unknown field {field}"
                );
                rest = &rest[end + 1..];
            }
        }
    }

    #[test]
    fn dates_are_written_as_the_language_writes_them() {
        assert_eq!(long_date("2026-11-03", &words("nl")), "3 november 2026");
        assert_eq!(long_date("2026-01-30", &words("en")), "30 January 2026");
        assert_eq!(long_date("bad", &words("en")), "bad");
    }
}
