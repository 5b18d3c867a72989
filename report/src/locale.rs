//! The dashboard's string catalogues, read by the report: strings with `{name}` slots, and
//! numbers, money, shares and months written as the language writes them. The dashboard has
//! `Intl` for the formats; the report reads them from the catalogue's `report_format_*` keys
//! (group and decimal marks, where the euro sign and the percent sign go), so a language stays
//! one file.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::Error;

include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

/// One language's strings.
#[derive(Debug)]
pub struct Catalogue {
    pub lang: &'static str,
    strings: HashMap<String, String>,
}

static ALL: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    CATALOGUES
        .iter()
        .map(|(lang, text)| {
            let v: Value = serde_json::from_str(text).expect("a catalogue is JSON");
            let strings = v
                .as_object()
                .expect("a catalogue is an object")
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
            Catalogue { lang, strings }
        })
        .collect()
});

/// The languages the report is written in: every catalogue of the dashboard.
pub fn languages() -> Vec<&'static str> {
    ALL.iter().map(|c| c.lang).collect()
}

impl Catalogue {
    /// The catalogue of `lang` (`en`, `nl`, `fr`...).
    pub fn get(lang: &str) -> Result<&'static Catalogue, Error> {
        ALL.iter().find(|c| c.lang == lang).ok_or_else(|| {
            Error::Language(format!(
                "no language '{lang}'; the report is written in {}",
                languages().join(", ")
            ))
        })
    }

    fn english() -> &'static Catalogue {
        ALL.iter()
            .find(|c| c.lang == "en")
            .expect("the English catalogue")
    }

    /// The raw string of `key`, English when this language lacks it, else the key itself.
    pub fn raw<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings
            .get(key)
            .or_else(|| Catalogue::english().strings.get(key))
            .map_or(key, String::as_str)
    }

    /// Whether this language (or English) has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.strings.contains_key(key) || Catalogue::english().strings.contains_key(key)
    }

    /// The string of `key` with its `{name}` slots filled from `vars`.
    pub fn t(&self, key: &str, vars: &[(&str, &str)]) -> String {
        let s = self.raw(key);
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match vars.iter().find(|(k, _)| *k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// `v` rounded to at most `digits` decimals (trailing zeros dropped), with the language's
    /// group and decimal marks: `1,234.5`, `1.234,5`, `1 234,5`.
    pub fn number(&self, v: f64, digits: usize) -> String {
        let text = format!("{:.*}", digits, v.abs());
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let frac = frac.trim_end_matches('0');
        let negative = v < 0.0 && (int != "0" || !frac.is_empty());
        let group = self.raw("report_format_group");
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push_str(group);
            }
            grouped.push(c);
        }
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        out.push_str(&grouped);
        if !frac.is_empty() {
            out.push_str(self.raw("report_format_decimal"));
            out.push_str(frac);
        }
        out
    }

    /// Euros, whole: `€1,234`, `€ 1.234`, `1 234 €`.
    pub fn eur(&self, v: f64) -> String {
        self.t("report_format_eur", &[("n", &self.number(v, 0))])
    }

    /// A share as a percentage with at most `digits` decimals: `12.3%`, `12,3 %`.
    pub fn percent(&self, share: f64, digits: usize) -> String {
        self.t(
            "report_format_percent",
            &[("n", &self.number(share * 100.0, digits))],
        )
    }

    /// A month `YYYY-MM` in words: `October 2026`, `oktober 2026`, `octobre 2026`.
    pub fn month(&self, period: &str) -> String {
        period
            .split_once('-')
            .and_then(|(y, m)| {
                let m: usize = m.parse().ok()?;
                let names: Vec<&str> = self.raw("report_format_months").split('|').collect();
                Some(format!("{} {y}", names.get(m.checked_sub(1)?)?))
            })
            .unwrap_or_else(|| period.to_string())
    }

    /// A day of an RFC 3339 timestamp in words: `29 November 2026`, `29 novembre 2026`.
    pub fn date(&self, timestamp: &str) -> String {
        let day = timestamp.get(..10).unwrap_or(timestamp);
        match (
            day.get(..7),
            day.get(8..10).and_then(|d| d.parse::<u32>().ok()),
        ) {
            (Some(month), Some(d)) => format!("{d} {}", self.month(month)),
            _ => timestamp.to_string(),
        }
    }

    /// A value of an indicator as the dashboard shows it: money in euros, ratios as
    /// percentages, days with their unit, other counts whole (or with two decimals).
    pub fn value(&self, v: Option<f64>, unit: &str) -> String {
        let Some(v) = v else {
            return "–".into();
        };
        match unit {
            "EUR" => self.eur(v),
            "ratio" => self.percent(v, 1),
            "days" => format!("{} {}", self.number(v, 0), self.raw("unit_days")),
            "index" => self.number(v, 3),
            _ if v.fract() == 0.0 => self.number(v, 0),
            _ => self.number(v, 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The expected strings are what `Intl.NumberFormat` and `Intl.DateTimeFormat` of Node 20
    // (ICU 74) write for these languages; the report's test compares with Node itself.
    #[test]
    fn numbers_money_and_months_are_written_as_each_language_writes_them() {
        let en = Catalogue::get("en").unwrap();
        let nl = Catalogue::get("nl").unwrap();
        let fr = Catalogue::get("fr").unwrap();
        assert_eq!(en.number(1_234_567.0, 0), "1,234,567");
        assert_eq!(nl.number(1_234.5, 2), "1.234,5");
        assert_eq!(fr.number(1_234.5, 2), "1\u{202f}234,5");
        assert_eq!(en.number(-0.0001, 2), "0");
        assert_eq!(en.number(-1234.0, 0), "-1,234");
        assert_eq!(en.number(999.0, 0), "999");
        assert_eq!(en.eur(1_234_567.0), "€1,234,567");
        assert_eq!(nl.eur(1_234_567.0), "€\u{a0}1.234.567");
        assert_eq!(fr.eur(1_234_567.0), "1\u{202f}234\u{202f}567\u{a0}€");
        assert_eq!(en.percent(0.1234, 1), "12.3%");
        assert_eq!(fr.percent(0.5, 1), "50\u{a0}%");
        assert_eq!(en.month("2026-10"), "October 2026");
        assert_eq!(nl.month("2026-10"), "oktober 2026");
        assert_eq!(fr.month("2026-10"), "octobre 2026");
        assert_eq!(en.value(Some(0.4567), "index"), "0.457");
        assert_eq!(fr.date("2026-11-29T08:00:00Z"), "29 novembre 2026");
    }

    #[test]
    fn slots_are_filled_and_unknown_ones_kept() {
        let en = Catalogue::get("en").unwrap();
        assert_eq!(
            en.t("change_since", &[("change", "+3"), ("since", "Oct 25")]),
            "+3 since Oct 25"
        );
        assert_eq!(en.t("change_since", &[]), "{change} since {since}");
        assert!(matches!(Catalogue::get("xx"), Err(Error::Language(_))));
    }
}
