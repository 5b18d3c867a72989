//! The activation pipeline against a table worked out by hand: two registers loaded one after
//! the other (the status history), the owners' case file, an incentive and the placements,
//! through `haven ingest`, `analyze` and `publish`, then read over HTTP: the public funnel (the
//! stages about homes and owners only) and the officers' pipeline with its costs.
//!
//! Five homes, districts D1 (BE001D1) and D2 (BE001D2) (dates in 2025 unless said; 2025 is not a leap year):
//!
//! | home | district, owner, condition, cost | register then (1st load) | register now (2nd load) | case file | other |
//! |------|------|------|------|------|------|
//! | H1 | D1 private minor 10,000 | in_renovation 03-02 | let 05-01 | 01-11 letter, no answer; 01-31 call: willing | signing bonus 2,000 (active); placement P1 from 05-01, going on |
//! | H2 | D1 municipal ready 500 | owner_contacted 02-11 | offered 04-12 | none | |
//! | H3 | D2 private major 80,000 | vacant 2024-11-01 | owner_contacted 03-01 | 03-01 visit: refuses | |
//! | H4 | D2 private minor 15,000 | owner_contacted 01-21 | withdrawn 04-01 | none | |
//! | H5 | D2 non-profit ready 0 | (not vacant yet) | vacant 03-01 | none | |
//!
//! Vacant since: H1 01-01, H2 02-01, H3 2024-11-01, H4 01-01, H5 03-01. Placement P2 (no home
//! of the register) runs from 01-15 to 12-31, so the placements cover the year: P1 has lasted
//! 244 days and its tenancy is sustained (182 days) on 10-30. P3 (2024-12-02 to 12-20) and P4
//! (from 2025-12-05), in no home of the register either, were referred in December 2024 and
//! December 2025, so the indicators run from 2024-12 to 2025-12 and 2025 is a complete year.
//!
//! Stage dates (— reached without a date, because a later stage was; · not reached):
//!
//! | home | identified | contacted | answered | renovation | offered | let | sustained | out |
//! |------|------|------|------|------|------|------|------|------|
//! | H1 | 01-01 | 01-11 (letter) | 01-31 | 03-02 | — | 05-01 | 10-30 | |
//! | H2 | 02-01 | 02-11 | — | — | 04-12 | · | · | |
//! | H3 | 2024-11-01 | 03-01 | 03-01 | · | · | · | · | refuses, 03-01 |
//! | H4 | 01-01 | 01-21 | · | · | · | · | · | withdrawn, 04-01 |
//! | H5 | 03-01 | · | · | · | · | · | · | |
//!
//! Officers (every stage): reached identified 5, contacted 4, answered 3, renovation 2, offered
//! 2, let 1, sustained 1; conversions 4/5 = 0.8, 3/4 = 0.75, 2/3, 2/2 = 1, offered to let 1/2.
//! Days in a stage, to the next dated stage: identified H1 10, H2 10, H3 120 (Nov 30 + Dec 31 +
//! Jan 31 + Feb 28), H4 20 → median 15; contacted H1 20, H2 60 (to offered: 17 + 31 + 12), H3 0
//! → median 20 (H4 has no later stage); answered H1 30 (Jan 31 to Mar 2) → 30; renovation H1 60
//! (Mar 2 to May 1, its letting) → 60.
//!
//! The public sees the stages before *let* only, and none reached or timed through a letting
//! (a placement moves nothing published): H1, let with no recorded offer, has not reached
//! *offered* there, and its renovation has no end. Public: reached 5, 4, 3, 2, 1; conversions
//! 0.8, 0.75, 2/3, renovation to offered 1/2; medians 15, 20, 30, none for renovation.
//!
//! Entered and left per month, municipality: identified entered 2024-11 1, 01 2, 02 1, 03 1; left
//! 01 2 (H1, H4), 02 1 (H2), 03 1 (H3). So January to March: identified entered 4, left 4;
//! contacted entered 4 (H1, H4 in January, H2, H3), left 2 (H1 in January, H3 in March; H2 and
//! H4 leave in April); answered entered 2, left 2 (H1 on to works, H3 out); renovation entered
//! 1, left 0 (H1 leaves in May); offered entered 0.
//!
//! Cost per home let: H1's 10,000 renovation + 2,000 bonus = 12,000 for 1 home and 1 household.
//!
//! Published per year for the municipality through the disclosure step, 2025: households
//! housed in homes of the register 1 (P1), homes let for the first time 1 (H1), tenancies
//! sustained 1 (P1, 10-30), of 3 households started (P1, P2, P4): each from 1 to 4, so each
//! withheld, and the costs with them.

mod common;

use common::{Env, TWO_DISTRICTS as DISTRICTS, get_json as get, write};
use serde_json::Value;

const HEADER: &str = "property_id,district_code,owner_type,property_type,units,vacant_since,condition,renovation_cost_eur,status,status_date\n";

const THEN: &str =
    "H1,BE001D1,private,house,1,2025-01-01,minor_renovation,10000,in_renovation,2025-03-02
H2,BE001D1,municipal,apartment,1,2025-02-01,ready,500,owner_contacted,2025-02-11
H3,BE001D2,private,house,1,2024-11-01,major_renovation,80000,vacant,2024-11-01
H4,BE001D2,private,apartment,1,2025-01-01,minor_renovation,15000,owner_contacted,2025-01-21
";

const NOW: &str = "H1,BE001D1,private,house,1,2025-01-01,minor_renovation,10000,let,2025-05-01
H2,BE001D1,municipal,apartment,1,2025-02-01,ready,500,offered,2025-04-12
H3,BE001D2,private,house,1,2024-11-01,major_renovation,80000,owner_contacted,2025-03-01
H4,BE001D2,private,apartment,1,2025-01-01,minor_renovation,15000,withdrawn,2025-04-01
H5,BE001D2,non_profit,studio,1,2025-03-01,ready,0,vacant,2025-03-01
";

const CONTACTS: &str =
    "contact_id,property_id,contact_date,channel,letter,outcome,owner_answer,officer
C1,H1,2025-01-11,letter,first_contact,sent,,olivia
C2,H1,2025-01-31,phone,,reached,willing,olivia
C3,H3,2025-03-01,visit,,reached,refuses,marc
";

const INCENTIVES: &str = "incentive_id,landlord_ref,property_id,district_code,incentive_type,amount_eur,units,start_date,status
I1,L1,H1,BE001D1,signing_bonus,2000,1,2025-04-20,active
";

const PLACEMENTS: &str = "placement_id,household_ref,household_size,programme,property_id,district_code,referral_date,start_date,end_date,end_reason
P1,HH1,3,community_sponsorship,H1,BE001D1,2025-04-01,2025-05-01,,
P2,HH2,2,public_reception,,BE001D2,2025-01-02,2025-01-15,2025-12-31,autonomy
P3,HH3,1,public_reception,,BE001D2,2024-12-01,2024-12-02,2024-12-20,autonomy
P4,HH4,1,public_reception,,BE001D1,2025-12-01,2025-12-05,,
";

fn stage<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("stage {name} in {body}"))
}

fn load(env: &Env, dataset: &str, name: &str, text: &str) {
    let file = write(&env.path(name), text.as_bytes());
    env.run(&["ingest", dataset, file.to_str().unwrap()]).ok();
}

#[test]
fn the_pipeline_matches_the_table_worked_by_hand() {
    let env = Env::new();
    load(&env, "districts", "wijken.geojson", DISTRICTS);
    load(
        &env,
        "vacant_properties",
        "then.csv",
        &format!("{HEADER}{THEN}"),
    );
    load(
        &env,
        "vacant_properties",
        "now.csv",
        &format!("{HEADER}{NOW}"),
    );
    load(&env, "owner_contacts", "contacts.csv", CONTACTS);
    load(&env, "landlord_incentives", "incentives.csv", INCENTIVES);
    load(&env, "placements", "placements.csv", PLACEMENTS);
    // The history keeps every status the two loads saw: 4 then, 5 now, none twice.
    assert_eq!(env.count("SELECT count(*) FROM status_history"), 9);
    env.run(&["analyze"]).ok();
    let publish = env.run(&["publish"]);
    assert_eq!(publish.code(), 0, "{}", publish.stderr());
    // The release files: the public stages only, described in the data package.
    let release = env.path("published").join("v1");
    let flows = std::fs::read_to_string(release.join("activation-pipeline.csv")).unwrap();
    assert!(
        flows.starts_with("period,district_code,stage,entered,left_stage"),
        "{flows}"
    );
    assert!(flows.contains("2025-03,BE001D1,renovation,1,0"), "{flows}");
    assert!(
        !flows.contains(",let,") && !flows.contains("sustained"),
        "{flows}"
    );
    let stages = std::fs::read_to_string(release.join("activation-pipeline-stages.csv")).unwrap();
    assert!(
        stages.contains("municipality,BE001,identified,5,4,0.8,15.0,4"),
        "{stages}"
    );
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("datapackage.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = package["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"activation-pipeline") && names.contains(&"activation-pipeline-stages")
    );
    let officer = env.add_user("olivia", "officer");
    let (_server, url) = env.serve();

    // The public funnel over all months: only the stages about homes and owners.
    let (status, all) = get(&format!("{url}/api/v1/pipeline"), None);
    assert_eq!(status, 200, "{all}");
    let names: Vec<&str> = all["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "identified",
            "owner_contacted",
            "owner_answered",
            "renovation",
            "offered"
        ]
    );
    let expect = [
        ("identified", 5, Some(0.8), Some(15.0)),
        ("owner_contacted", 4, Some(0.75), Some(20.0)),
        ("owner_answered", 3, Some(2.0 / 3.0), Some(30.0)),
        ("renovation", 2, Some(0.5), None),
        ("offered", 1, None, None),
    ];
    for (name, reached, conversion, median) in expect {
        let s = stage(&all, name);
        assert_eq!(s["reached"], reached, "{name}: {s}");
        assert_eq!(s["conversion"].as_f64(), conversion, "{name}: {s}");
        assert_eq!(s["median_days"].as_f64(), median, "{name}: {s}");
    }
    // What the offered homes became (let) is built on placements: not published.
    assert!(stage(&all, "offered")["left"].is_null(), "{all}");
    assert!(!all.to_string().contains("tenancy_sustained"));
    assert_eq!(stage(&all, "identified")["entered"], 5);

    // January to March 2025.
    let (_, q1) = get(
        &format!("{url}/api/v1/pipeline?from=2025-01&to=2025-03"),
        None,
    );
    for (name, entered, left) in [
        ("identified", 4, Some(4)),
        ("owner_contacted", 4, Some(2)),
        ("owner_answered", 2, Some(2)),
        ("renovation", 1, None),
        ("offered", 0, None),
    ] {
        let s = stage(&q1, name);
        assert_eq!(s["entered"], entered, "{name}: {s}");
        match left {
            Some(l) => assert_eq!(s["left"], l, "{name}: {s}"),
            None => assert!(s["left"].is_null() || s["left"] == 0, "{name}: {s}"),
        }
    }

    // The yearly end of the pipeline: every figure of 2025 small, so withheld and named.
    let years = all["years"].as_array().expect("years");
    let y2025 = years.iter().find(|y| y["year"] == "2025").expect("2025");
    for f in [
        "households_housed",
        "homes_let",
        "tenancies_sustained",
        "cost_per_home_let_eur",
        "cost_per_household_housed_eur",
    ] {
        assert!(y2025[f].is_null(), "{f}: {y2025}");
    }
    assert_eq!(
        y2025["withheld"],
        serde_json::json!([
            "households_housed_in_register_homes",
            "register_homes_let",
            "tenancies_sustained",
            "cost_per_home_let_eur",
            "cost_per_household_housed_eur"
        ])
    );
    let file = std::fs::read_to_string(release.join("placements-years.csv")).unwrap();
    assert!(
        file.lines().next().unwrap().contains("register_homes_let"),
        "{file}"
    );

    // District D2: H3, H4, H5.
    let (_, d2) = get(&format!("{url}/api/v1/pipeline?district=BE001D2"), None);
    assert_eq!(d2["years"], serde_json::json!([]), "municipality only");
    assert_eq!(stage(&d2, "identified")["reached"], 3, "{d2}");
    assert_eq!(stage(&d2, "owner_contacted")["reached"], 2, "{d2}");
    assert_eq!(stage(&d2, "owner_answered")["reached"], 1, "{d2}");
    assert_eq!(stage(&d2, "renovation")["reached"], 0, "{d2}");
    // Wrong requests say what is wrong.
    assert_eq!(
        get(&format!("{url}/api/v1/pipeline?district=BE001D9"), None).0,
        404
    );
    assert_eq!(
        get(&format!("{url}/api/v1/pipeline?from=2025-13-01"), None).0,
        400
    );
    assert_eq!(
        get(
            &format!("{url}/api/v1/pipeline?from=2025-06&to=2025-01"),
            None
        )
        .0,
        400
    );

    // Officers see every stage and the costs; anonymous callers see nothing.
    assert_eq!(get(&format!("{url}/api/v1/officer/pipeline"), None).0, 401);
    let (status, off) = get(&format!("{url}/api/v1/officer/pipeline"), Some(&officer));
    assert_eq!(status, 200, "{off}");
    assert_eq!(stage(&off, "let")["reached"], 1, "{off}");
    assert_eq!(stage(&off, "tenancy_sustained")["reached"], 1, "{off}");
    assert_eq!(stage(&off, "offered")["conversion"].as_f64(), Some(0.5));
    assert_eq!(stage(&off, "offered")["reached"], 2, "{off}");
    assert_eq!(
        stage(&off, "renovation")["median_days"].as_f64(),
        Some(60.0)
    );
    let cost = &off["costs"][0];
    assert_eq!(cost["scope_type"], "municipality", "{off}");
    assert_eq!(cost["homes_let"], 1);
    assert_eq!(cost["households"], 1);
    assert_eq!(cost["cost_per_home_eur"].as_f64(), Some(12_000.0));
    assert_eq!(cost["cost_per_household_eur"].as_f64(), Some(12_000.0));
    let bonus = off["costs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope_type"] == "incentive_type" && c["scope"] == "signing_bonus")
        .expect("the signing bonus's cost");
    assert_eq!(bonus["cost_per_home_eur"].as_f64(), Some(12_000.0));
    let private = off["costs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope_type"] == "owner_type" && c["scope"] == "private")
        .expect("private owners' cost");
    assert_eq!(private["homes_let"], 1, "{off}");
}
