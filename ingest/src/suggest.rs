//! Which schema column an unknown header probably means: the words officers write in Dutch,
//! French, German and Italian, then the nearest name or alias by edit distance. Only a
//! suggestion: a file is never mapped by guess; `--map FILE_COLUMN=COLUMN` maps it.

use crate::read::layout::normalise;
use crate::schema::Schema;

/// Headers common in municipal exports, with the column they usually mean.
const WORDS: &[(&str, &str)] = &[
    // address
    ("adresse", "address"),
    ("indirizzo", "address"),
    ("straat", "address"),
    ("straat_en_nummer", "address"),
    ("rue", "address"),
    ("strasse", "address"),
    ("straße", "address"),
    ("anschrift", "address"),
    ("via", "address"),
    // district
    ("wijk", "district_code"),
    ("wijkcode", "district_code"),
    ("statistische_sector", "district_code"),
    ("quartier", "district_code"),
    ("code_quartier", "district_code"),
    ("secteur_statistique", "district_code"),
    ("stadtteil", "district_code"),
    ("bezirk", "district_code"),
    ("quartiere", "district_code"),
    ("municipio", "district_code"),
    // owner and property
    ("eigenaar", "owner_type"),
    ("type_eigenaar", "owner_type"),
    ("propriétaire", "owner_type"),
    ("type_propriétaire", "owner_type"),
    ("eigentümer", "owner_type"),
    ("proprietario", "owner_type"),
    ("woningtype", "property_type"),
    ("type_woning", "property_type"),
    ("type_logement", "property_type"),
    ("wohnungstyp", "property_type"),
    ("tipo_immobile", "property_type"),
    ("eenheden", "units"),
    ("wooneenheden", "units"),
    ("logements", "units"),
    ("wohneinheiten", "units"),
    ("unità", "units"),
    ("slaapkamers", "bedrooms"),
    ("chambres", "bedrooms"),
    ("schlafzimmer", "bedrooms"),
    ("camere", "bedrooms"),
    ("oppervlakte", "floor_area_m2"),
    ("bewoonbare_oppervlakte", "floor_area_m2"),
    ("superficie", "floor_area_m2"),
    ("surface", "floor_area_m2"),
    ("wohnfläche", "floor_area_m2"),
    ("leegstaand_sinds", "vacant_since"),
    ("leeg_sinds", "vacant_since"),
    ("inoccupé_depuis", "vacant_since"),
    ("vide_depuis", "vacant_since"),
    ("leerstand_seit", "vacant_since"),
    ("sfitto_dal", "vacant_since"),
    ("staat", "condition"),
    ("toestand", "condition"),
    ("état", "condition"),
    ("zustand", "condition"),
    ("stato", "condition"),
    ("condizione", "condition"),
    ("renovatiekost", "renovation_cost_eur"),
    ("renovatiekosten", "renovation_cost_eur"),
    ("coût_rénovation", "renovation_cost_eur"),
    ("renovierungskosten", "renovation_cost_eur"),
    ("costo_ristrutturazione", "renovation_cost_eur"),
    ("toegankelijk", "accessible"),
    ("barrierefrei", "accessible"),
    ("accessibile", "accessible"),
    ("statut", "status"),
    ("datum_status", "status_date"),
    ("date_statut", "status_date"),
    // rents, providers, waiting lists
    ("huurprijs", "rent_eur"),
    ("huur", "rent_eur"),
    ("loyer", "rent_eur"),
    ("miete", "rent_eur"),
    ("affitto", "rent_eur"),
    ("canone", "rent_eur"),
    ("aanbieder", "provider"),
    ("huisvestingsmaatschappij", "provider"),
    ("bailleur", "provider"),
    ("anbieter", "provider"),
    ("gestore", "provider"),
    ("kandidaten", "applicants"),
    ("aanvragers", "applicants"),
    ("candidats", "applicants"),
    ("demandeurs", "applicants"),
    ("antragsteller", "applicants"),
    ("richiedenti", "applicants"),
    // population
    ("periode", "period"),
    ("période", "period"),
    ("maand", "period"),
    ("mois", "period"),
    ("monat", "period"),
    ("mese", "period"),
    ("jaar", "period"),
    ("année", "period"),
    ("jahr", "period"),
    ("anno", "period"),
    ("groep", "group"),
    ("groupe", "group"),
    ("gruppe", "group"),
    ("gruppo", "group"),
    ("aantal", "persons"),
    ("inwoners", "persons"),
    ("personen", "persons"),
    ("habitants", "persons"),
    ("einwohner", "persons"),
    ("abitanti", "persons"),
    ("naam", "name"),
    ("nom", "name"),
    ("nome", "name"),
    // placements and incentives
    ("gezinsgrootte", "household_size"),
    ("taille_ménage", "household_size"),
    ("haushaltsgröße", "household_size"),
    ("componenti", "household_size"),
    ("begindatum", "start_date"),
    ("startdatum", "start_date"),
    ("date_début", "start_date"),
    ("beginn", "start_date"),
    ("data_inizio", "start_date"),
    ("einddatum", "end_date"),
    ("date_fin", "end_date"),
    ("ende", "end_date"),
    ("data_fine", "end_date"),
    ("bedrag", "amount_eur"),
    ("montant", "amount_eur"),
    ("betrag", "amount_eur"),
    ("importo", "amount_eur"),
];

/// Edits (insertions, deletions, substitutions) that turn `a` into `b`.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The column of `schema` that `header` most likely means, among those `free` allows (not
/// matched by another header yet).
pub fn column_for(header: &str, schema: &Schema, free: impl Fn(&str) -> bool) -> Option<String> {
    let n = normalise(header);
    if n.is_empty() {
        return None;
    }
    if let Some((_, field)) = WORDS
        .iter()
        .find(|(w, f)| *w == n && schema.field_index(f).is_some())
        && free(field)
    {
        return Some(field.to_string());
    }
    let allowed = |len: usize| match len {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    schema
        .fields
        .iter()
        .filter(|f| free(&f.name))
        .flat_map(|f| {
            std::iter::once(&f.name)
                .chain(&f.aliases)
                .map(move |a| (f, a))
        })
        .map(|(f, a)| (distance(&n, a), f))
        .filter(|(d, f)| *d <= allowed(f.name.len().min(n.chars().count())))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_typos_point_to_their_column() {
        let schema = crate::schema::get("vacant_properties").unwrap();
        let any = |_: &str| true;
        assert_eq!(
            column_for("Straat", schema, any).as_deref(),
            Some("address")
        );
        assert_eq!(
            column_for("État", schema, any).as_deref(),
            Some("condition")
        );
        assert_eq!(
            column_for("Leerstand seit", schema, any).as_deref(),
            Some("vacant_since")
        );
        assert_eq!(
            column_for("adress", schema, any).as_deref(),
            Some("address")
        );
        assert_eq!(
            column_for("bedroms", schema, any).as_deref(),
            Some("bedrooms")
        );
        assert_eq!(column_for("remarks", schema, any), None);
        // A column already matched is not suggested again.
        assert_eq!(column_for("Straat", schema, |f| f != "address"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
