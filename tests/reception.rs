//! Reception capacity against a table worked out by hand: sites with their programmes, places
//! and periods, and the placements through those programmes, through `haven ingest`, `analyze`
//! and `publish`; read over HTTP: the public places per district and month (occupancy, free
//! places and utilisation are built on placements and stay with the officers), the officers'
//! figures, and the officers' scenario counting free places as places now.
//!
//! Sites (the fourth offers no places and is rejected):
//!
//! | site | district | programme | places | open |
//! |------|------|------|------|------|
//! | S1 | D1 | public reception | 50 | from 2025-01-01 |
//! | S2 | D1 | humanitarian corridor | 20 | 2025-03-01 to 2025-06-30 |
//! | S3 | D2 | community sponsorship | 10 | from 2025-02-01 |
//!
//! Placements (persons; social housing is not a reception programme):
//!
//! | placement | district | programme | persons | from | to |
//! |------|------|------|------|------|------|
//! | P1 | D1 | public reception | 3 | 2025-01-10 | |
//! | P2 | D1 | humanitarian corridor | 2 | 2025-04-01 | 2025-05-15 |
//! | P3 | D1 | social housing | 4 | 2025-02-01 | |
//! | P4 | D2 | community sponsorship | 5 | 2025-02-15 | |
//! | P5 | D2 | public reception | 6 | 2025-03-01 | |
//! | P6 | D2 | social housing | 1 | 2025-08-10 | |
//!
//! (P6, referred in August, makes the data run to August.)
//!
//! End of April 2025: D1 70 places (50 + 20) in 2 sites, 5 occupied (P1, P2), 65 free,
//! utilisation 5/70; D2 10 places, 11 occupied (P4, P5), −1 free, utilisation 1.1; the
//! municipality 80 places, 16 occupied, 64 free, utilisation 0.2. End of July 2025: D1 50 places
//! (S2 closed), 3 occupied, 47 free.
//!
//! Today (the sites open now, the placements going on): D1 50 − 3 = 47 free places, D2
//! 10 − 11 → none; the officers' scenario counts 47 places now.

mod common;

use common::{Env, TWO_DISTRICTS as DISTRICTS, get_json as get, write};
use serde_json::Value;

// S1 and S2 are located by their coordinates, S3 by its district.
const SITES: &str =
    "site_id,site_name,programme,lon,lat,district_code,places,opened,closes,operator
S1,Opvangcentrum Noord,public_reception,4.41,51.01,,50,2025-01-01,,Agency
S2,Corridorwoningen,humanitarian_corridor,4.405,51.015,,20,2025-03-01,2025-06-30,Partners
S3,Gastgezinnen Zuid,community_sponsorship,,,BE001D2,10,2025-02-01,,Circle
S4,In voorbereiding,other,,,BE001D2,0,2025-05-01,,Municipality
";

const PLACEMENTS: &str = "placement_id,household_ref,household_size,programme,district_code,referral_date,start_date,end_date,end_reason
P1,HH1,3,public_reception,BE001D1,2025-01-02,2025-01-10,,
P2,HH2,2,humanitarian_corridor,BE001D1,2025-03-20,2025-04-01,2025-05-15,other
P3,HH3,4,social_housing,BE001D1,2025-01-20,2025-02-01,,
P4,HH4,5,community_sponsorship,BE001D2,2025-02-01,2025-02-15,,
P5,HH5,6,public_reception,BE001D2,2025-02-20,2025-03-01,,
P6,HH6,1,social_housing,BE001D2,2025-08-01,2025-08-10,,
";

/// The value of `indicator` for `area` and `period` in an indicators page, and whether it is
/// withheld.
fn value(page: &Value, area: &str, period: &str, indicator: &str) -> (Option<f64>, bool) {
    let item = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["area_code"] == area && i["period"] == period && i["indicator"] == indicator)
        .unwrap_or_else(|| panic!("{indicator} {area} {period} in {page}"));
    (item["value"].as_f64(), item["withheld"] == true)
}

#[test]
fn reception_capacity_matches_the_table_worked_by_hand() {
    let env = Env::new();
    let load = |dataset: &str, name: &str, text: &str| {
        let file = write(&env.path(name), text.as_bytes());
        env.run(&["ingest", dataset, file.to_str().unwrap()])
    };
    load("districts", "wijken.geojson", DISTRICTS).ok();
    // The site with no places is rejected with its line, column and reason; the others load.
    let sites = load("reception_sites", "sites.csv", SITES).code_is(2);
    assert!(
        sites.stderr().contains("line 5") && sites.stderr().contains("places"),
        "{}",
        sites.stderr()
    );
    assert_eq!(
        env.count("SELECT count(*) FROM reception_sites WHERE district_code IS NOT NULL"),
        3
    );
    load("placements", "placements.csv", PLACEMENTS).ok();
    env.run(&["analyze"]).ok();
    let publish = env.run(&["publish"]);
    assert_eq!(publish.code(), 0, "{}", publish.stderr());
    let officer = env.add_user("olivia", "officer");
    let admin = env.add_user("ada", "admin");
    let (_server, url) = env.serve();

    let ids = "reception_places,reception_sites_open,reception_places_public_reception,reception_places_humanitarian_corridor,reception_places_occupied,reception_places_free,reception_utilisation";
    let (status, officers) = get(
        &format!(
            "{url}/api/v1/officer/indicators?indicator={ids}&from=2025-04&to=2025-07&limit=1000"
        ),
        Some(&officer),
    );
    assert_eq!(status, 200, "{officers}");
    let v = |area: &str, period: &str, id: &str| value(&officers, area, period, id).0;
    for (area, period, places, occupied, free, utilisation) in [
        ("BE001D1", "2025-04", 70.0, 5.0, 65.0, 5.0 / 70.0),
        ("BE001D2", "2025-04", 10.0, 11.0, -1.0, 1.1),
        ("BE001", "2025-04", 80.0, 16.0, 64.0, 0.2),
        ("BE001D1", "2025-07", 50.0, 3.0, 47.0, 0.06),
    ] {
        assert_eq!(
            v(area, period, "reception_places"),
            Some(places),
            "{area} {period}"
        );
        assert_eq!(
            v(area, period, "reception_places_occupied"),
            Some(occupied),
            "{area} {period}"
        );
        assert_eq!(
            v(area, period, "reception_places_free"),
            Some(free),
            "{area} {period}"
        );
        let u = v(area, period, "reception_utilisation").unwrap();
        assert!((u - utilisation).abs() < 1e-9, "{area} {period}: {u}");
    }
    assert_eq!(v("BE001D1", "2025-04", "reception_sites_open"), Some(2.0));
    assert_eq!(
        v("BE001D1", "2025-04", "reception_places_public_reception"),
        Some(50.0)
    );
    assert_eq!(
        v(
            "BE001D1",
            "2025-04",
            "reception_places_humanitarian_corridor"
        ),
        Some(20.0)
    );
    assert_eq!(
        v(
            "BE001D1",
            "2025-07",
            "reception_places_humanitarian_corridor"
        ),
        Some(0.0)
    );

    // The public gets the places, never what is built on placements.
    let (status, public) = get(
        &format!("{url}/api/v1/indicators?indicator={ids}&from=2025-04&to=2025-04&limit=1000"),
        None,
    );
    assert_eq!(status, 200, "{public}");
    assert_eq!(
        value(&public, "BE001D1", "2025-04", "reception_places"),
        (Some(70.0), false)
    );
    for id in [
        "reception_places_occupied",
        "reception_places_free",
        "reception_utilisation",
    ] {
        assert_eq!(
            value(&public, "BE001D2", "2025-04", id),
            (None, true),
            "{id}"
        );
        assert_eq!(value(&public, "BE001", "2025-04", id), (None, true), "{id}");
    }

    // The officers' scenario counts today's free places as places now: 47 in D1, none in D2.
    let (status, scenario) = get(
        &format!("{url}/api/v1/admin/scenario?inflow=10"),
        Some(&admin),
    );
    assert_eq!(status, 200, "{scenario}");
    assert_eq!(scenario["reception_places_free"], 47, "{scenario}");
    assert_eq!(scenario["places_30_days"], 47, "{scenario}");
    assert_eq!(scenario["fastest"]["housed_30_days"], 10, "{scenario}");
    // The public scenario knows no free places: they are built on placements.
    let (_, public) = get(&format!("{url}/api/v1/scenario?inflow=10"), None);
    assert_eq!(public["reception_places_free"], 0, "{public}");
}
