//! The indicator registry: one entry per indicator, with its unit, English and Dutch
//! descriptions, source datasets, privacy class and how the municipality figure is formed.
//! The api and dashboard read indicator metadata from here only.

use serde::Serialize;

/// Privacy class of an indicator: `personal` ones are built on placements and pass
/// small-cell suppression before publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Public,
    Personal,
}

/// How the municipality row is formed from the district rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Aggregate {
    /// The sum of the districts.
    Sum,
    /// Sum of `numerator` over sum of `denominator` (a weighted mean of the district ratios).
    Ratio {
        numerator: &'static str,
        denominator: &'static str,
    },
    /// Computed from all rows directly (medians).
    Direct,
}

#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub id: &'static str,
    pub unit: &'static str,
    pub en: &'static str,
    pub nl: &'static str,
    pub datasets: &'static [&'static str],
    pub class: Class,
    pub aggregate: Aggregate,
}

const VP: &[&str] = &["vacant_properties"];
const VPD: &[&str] = &["vacant_properties", "districts"];
const SH: &[&str] = &["social_housing"];
const WL: &[&str] = &["social_housing_waiting_list"];
const LI: &[&str] = &["landlord_incentives"];
const PL: &[&str] = &["placements"];
const RS: &[&str] = &["reception_sites"];
const RSPL: &[&str] = &["reception_sites", "placements"];

macro_rules! ind {
    ($id:expr, $unit:expr, $en:expr, $nl:expr, $ds:expr) => {
        ind!($id, $unit, $en, $nl, $ds, Class::Public, Aggregate::Sum)
    };
    ($id:expr, $unit:expr, $en:expr, $nl:expr, $ds:expr, $class:expr, $agg:expr) => {
        Indicator {
            id: $id,
            unit: $unit,
            en: $en,
            nl: $nl,
            datasets: $ds,
            class: $class,
            aggregate: $agg,
        }
    };
}

/// Every indicator, in the order of the `indicators_monthly` columns.
/// The programmes of the placements schema, in the order the indicators and tables use.
pub const PROGRAMMES: &[&str] = &[
    "public_reception",
    "community_sponsorship",
    "humanitarian_corridor",
    "social_housing",
    "private_rental_incentive",
    "other",
];

pub static INDICATORS: &[Indicator] = &[
    ind!(
        "dwellings",
        "dwellings",
        "Dwellings in the district",
        "Woningen in de wijk",
        &["districts"]
    ),
    ind!(
        "vacant_units",
        "units",
        "Vacant dwelling units at the end of the month (not let, not withdrawn)",
        "Leegstaande wooneenheden op het einde van de maand (niet verhuurd, niet ingetrokken)",
        VP
    ),
    ind!(
        "vacancy_rate",
        "ratio",
        "Vacant units as a share of all dwellings",
        "Leegstaande eenheden als aandeel van alle woningen",
        VPD,
        Class::Public,
        Aggregate::Ratio {
            numerator: "vacant_units",
            denominator: "dwellings"
        }
    ),
    ind!(
        "long_term_vacant_units",
        "units",
        "Units vacant for 6 months or more",
        "Eenheden die 6 maanden of langer leegstaan",
        VP
    ),
    ind!(
        "vacant_units_under_6m",
        "units",
        "Units vacant for less than 6 months",
        "Eenheden korter dan 6 maanden leeg",
        VP
    ),
    ind!(
        "vacant_units_6_12m",
        "units",
        "Units vacant for 6 to 12 months",
        "Eenheden 6 tot 12 maanden leeg",
        VP
    ),
    ind!(
        "vacant_units_1_2y",
        "units",
        "Units vacant for 1 to 2 years",
        "Eenheden 1 tot 2 jaar leeg",
        VP
    ),
    ind!(
        "vacant_units_over_2y",
        "units",
        "Units vacant for more than 2 years",
        "Eenheden meer dan 2 jaar leeg",
        VP
    ),
    ind!(
        "vacant_units_municipal",
        "units",
        "Vacant units owned by the municipality",
        "Leegstaande eenheden in eigendom van de gemeente",
        VP
    ),
    ind!(
        "vacant_units_state",
        "units",
        "Vacant units owned by the state",
        "Leegstaande eenheden in eigendom van de staat",
        VP
    ),
    ind!(
        "vacant_units_social_housing_provider",
        "units",
        "Vacant units owned by social housing providers",
        "Leegstaande eenheden van sociale huisvestingsmaatschappijen",
        VP
    ),
    ind!(
        "vacant_units_private",
        "units",
        "Vacant units owned privately",
        "Leegstaande eenheden in private eigendom",
        VP
    ),
    ind!(
        "vacant_units_non_profit",
        "units",
        "Vacant units owned by non-profits",
        "Leegstaande eenheden van vzw's",
        VP
    ),
    ind!(
        "vacant_units_religious",
        "units",
        "Vacant units owned by religious bodies",
        "Leegstaande eenheden van kerkelijke instellingen",
        VP
    ),
    ind!(
        "public_vacant_units",
        "units",
        "Vacant units in public ownership (municipal, state, social housing provider)",
        "Leegstaande eenheden in publieke eigendom (gemeente, staat, sociale huisvesting)",
        VP
    ),
    ind!(
        "ready_units",
        "units",
        "Vacant units ready to let now",
        "Leegstaande eenheden die nu verhuurklaar zijn",
        VP
    ),
    ind!(
        "activatable_90d_units",
        "units",
        "Vacant units ready now or after minor renovation (within 90 days)",
        "Leegstaande eenheden nu klaar of na kleine renovatie (binnen 90 dagen)",
        VP
    ),
    ind!(
        "cost_to_activate_90d_eur",
        "EUR",
        "Renovation cost of the minor-renovation units",
        "Renovatiekost van de eenheden met kleine renovatie",
        VP
    ),
    ind!(
        "places_now",
        "persons",
        "Places (persons) available now, in ready units",
        "Plaatsen (personen) nu beschikbaar in verhuurklare eenheden",
        VP
    ),
    ind!(
        "places_30d",
        "persons",
        "Places available within 30 days: ready units and minor renovations up to EUR 5,000",
        "Plaatsen binnen 30 dagen: verhuurklare eenheden en kleine renovaties tot 5.000 euro",
        VP
    ),
    ind!(
        "places_90d",
        "persons",
        "Places available within 90 days: ready units and all minor renovations",
        "Plaatsen binnen 90 dagen: verhuurklare eenheden en alle kleine renovaties",
        VP
    ),
    ind!(
        "social_units",
        "units",
        "Social housing units (latest month only: the register has no history)",
        "Sociale woningen (enkel laatste maand: het register heeft geen historiek)",
        SH
    ),
    ind!(
        "social_vacant_units",
        "units",
        "Vacant social housing units (latest month only)",
        "Leegstaande sociale woningen (enkel laatste maand)",
        SH
    ),
    ind!(
        "waiting_applicants",
        "households",
        "Households on the social housing waiting list",
        "Huishoudens op de wachtlijst voor sociale huisvesting",
        WL
    ),
    ind!(
        "waiting_applicants_international_protection",
        "households",
        "Of which under international protection",
        "Waarvan onder internationale bescherming",
        WL
    ),
    ind!(
        "waiting_median_days",
        "days",
        "Median wait in days (municipality: applicant-weighted mean of the district medians)",
        "Mediane wachttijd in dagen (gemeente: naar kandidaten gewogen gemiddelde van de wijkmedianen)",
        WL,
        Class::Public,
        Aggregate::Ratio {
            numerator: "waiting_days_weighted",
            denominator: "waiting_applicants"
        }
    ),
    ind!(
        "active_incentives",
        "agreements",
        "Landlord incentive agreements active at the end of the month",
        "Actieve verhuurderspremies op het einde van de maand",
        LI
    ),
    ind!(
        "active_incentive_units",
        "units",
        "Units covered by active incentives",
        "Eenheden gedekt door actieve premies",
        LI
    ),
    ind!(
        "incentive_spend_eur",
        "EUR",
        "Incentive spend in the month (amounts spread over the agreement)",
        "Uitgaven aan premies in de maand (bedragen gespreid over de overeenkomst)",
        LI
    ),
    ind!(
        "incentive_cost_per_unit_month_eur",
        "EUR",
        "Incentive spend per active unit and month",
        "Premie-uitgave per actieve eenheid per maand",
        LI,
        Class::Public,
        Aggregate::Ratio {
            numerator: "incentive_spend_eur",
            denominator: "active_incentive_units"
        }
    ),
    ind!(
        "incentive_uptake",
        "ratio",
        "Offers accepted (active or ended) as a share of all offers so far",
        "Aanvaarde aanbiedingen (actief of afgelopen) als aandeel van alle aanbiedingen tot nu",
        LI,
        Class::Public,
        Aggregate::Ratio {
            numerator: "incentives_accepted",
            denominator: "incentives_offered"
        }
    ),
    ind!(
        "placements_active_households",
        "households",
        "Households in an active placement at the end of the month",
        "Huishoudens in een lopende plaatsing op het einde van de maand",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_active_persons",
        "persons",
        "Persons in an active placement at the end of the month",
        "Personen in een lopende plaatsing op het einde van de maand",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_started",
        "households",
        "Placements that started in the month",
        "Plaatsingen gestart in de maand",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_ended",
        "households",
        "Placements that ended in the month",
        "Plaatsingen beëindigd in de maand",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_median_days_to_start",
        "days",
        "Median days from referral to placement, for placements started in the month",
        "Mediaan aantal dagen van doorverwijzing tot plaatsing, voor plaatsingen gestart in de maand",
        PL,
        Class::Personal,
        Aggregate::Direct
    ),
    ind!(
        "placements_exit_autonomy_share",
        "ratio",
        "Share of placements ended in the month that ended in autonomy",
        "Aandeel van de in de maand beëindigde plaatsingen dat eindigde in zelfstandigheid",
        PL,
        Class::Personal,
        Aggregate::Ratio {
            numerator: "placements_ended_autonomy",
            denominator: "placements_ended"
        }
    ),
    ind!(
        "placements_active_public_reception",
        "households",
        "Active placements: public reception",
        "Lopende plaatsingen: publieke opvang",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_active_community_sponsorship",
        "households",
        "Active placements: community sponsorship",
        "Lopende plaatsingen: community sponsorship",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_active_humanitarian_corridor",
        "households",
        "Active placements: humanitarian corridor",
        "Lopende plaatsingen: humanitaire corridor",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_active_social_housing",
        "households",
        "Active placements: social housing",
        "Lopende plaatsingen: sociale huisvesting",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_active_private_rental_incentive",
        "households",
        "Active placements: private rental with incentive",
        "Lopende plaatsingen: private huur met premie",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "placements_active_other",
        "households",
        "Active placements: other programmes",
        "Lopende plaatsingen: andere programma's",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "reception_sites_open",
        "sites",
        "Reception sites open at the end of the month",
        "Opvanglocaties open op het einde van de maand",
        RS
    ),
    ind!(
        "reception_places",
        "places",
        "Reception places at the end of the month",
        "Opvangplaatsen op het einde van de maand",
        RS
    ),
    ind!(
        "reception_places_public_reception",
        "places",
        "Reception places: public reception",
        "Opvangplaatsen: publieke opvang",
        RS
    ),
    ind!(
        "reception_places_community_sponsorship",
        "places",
        "Reception places: community sponsorship",
        "Opvangplaatsen: community sponsorship",
        RS
    ),
    ind!(
        "reception_places_humanitarian_corridor",
        "places",
        "Reception places: humanitarian corridor",
        "Opvangplaatsen: humanitaire corridor",
        RS
    ),
    ind!(
        "reception_places_other",
        "places",
        "Reception places: other programmes",
        "Opvangplaatsen: andere programma's",
        RS
    ),
    ind!(
        "reception_places_occupied",
        "persons",
        "Reception places occupied: persons placed through the programmes reception sites serve",
        "Bezette opvangplaatsen: personen geplaatst via de programma's van de opvanglocaties",
        PL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "reception_places_free",
        "places",
        "Free reception places (places less persons placed; negative: more persons than places)",
        "Vrije opvangplaatsen (plaatsen min geplaatste personen; negatief: meer personen dan plaatsen)",
        RSPL,
        Class::Personal,
        Aggregate::Sum
    ),
    ind!(
        "reception_utilisation",
        "ratio",
        "Utilisation of reception places",
        "Bezettingsgraad van de opvangplaatsen",
        RSPL,
        Class::Personal,
        Aggregate::Ratio {
            numerator: "reception_places_occupied",
            denominator: "reception_places"
        }
    ),
];

/// Helper columns that ratio indicators are built from (stored too, so every municipality
/// ratio can be checked against its parts).
pub static HELPERS: &[&str] = &[
    "waiting_days_weighted",
    "incentives_accepted",
    "incentives_offered",
    "placements_ended_autonomy",
];

/// The units that count whole things; their columns are stored as BIGINT.
const COUNT_UNITS: &[&str] = &[
    "units",
    "dwellings",
    "agreements",
    "households",
    "persons",
    "places",
    "sites",
];

/// How an indicator reaches the public (see docs/disclosure.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Publication {
    /// Per district and month, and for the municipality; protected where built on placements.
    Monthly,
    /// For the municipality per complete calendar year, in the placements-by-year dataset;
    /// withheld from the monthly rows.
    Yearly,
    /// Signed-in officers only; the public gets the starts per programme per year.
    Officers,
}

/// The placement figures published per year rather than per month: monthly flows beside
/// monthly district stocks would leave the district flows to a solver.
pub const YEARLY: &[&str] = &[
    "placements_started",
    "placements_ended",
    "placements_median_days_to_start",
    "placements_exit_autonomy_share",
];

impl Indicator {
    pub fn publication(&self) -> Publication {
        if self.class == Class::Public
            || self.id == "placements_active_households"
            || self.id == "placements_active_persons"
        {
            Publication::Monthly
        } else if YEARLY.contains(&self.id) {
            Publication::Yearly
        } else {
            Publication::Officers
        }
    }

    /// Whether the values are whole counts (the others are amounts, rates or days).
    pub fn is_count(&self) -> bool {
        COUNT_UNITS.contains(&self.unit)
    }
}

/// Whether a stored column, an indicator or a helper, holds whole counts (the helpers all do
/// but the applicant-weighted waiting days, a sum of medians that may be fractional).
pub fn is_count(id: &str) -> bool {
    get(id).map_or(
        HELPERS.contains(&id) && id != "waiting_days_weighted",
        Indicator::is_count,
    )
}

pub fn get(id: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|i| i.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ratios_name_known_columns() {
        let mut ids: Vec<&str> = INDICATORS.iter().map(|i| i.id).collect();
        ids.extend(HELPERS);
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "unique ids");
        for i in INDICATORS {
            assert!(!i.en.is_empty() && !i.nl.is_empty() && !i.datasets.is_empty());
            if let Aggregate::Ratio {
                numerator,
                denominator,
            } = i.aggregate
            {
                assert!(
                    ids.contains(&numerator) && ids.contains(&denominator),
                    "{}",
                    i.id
                );
            }
        }
    }
}
