//! Owner outreach as the empty-homes officers work it: the demo's case file imported through
//! `haven ingest` (its bad row rejected with line, column, value and reason), the cases and an
//! officer's due actions over HTTP (checked against the file as DuckDB's own CSV reader reads
//! it), a case changed and a contact recorded with the history of who and when, letters merged
//! into one PDF and read back with `pdftotext`, and a newer case file taking over a case.

mod common;

use std::process::Command;

use common::Env;
use serde_json::{Value, json};

struct Client {
    url: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    fn new(url: &str, token: &str) -> Client {
        Client {
            url: url.to_string(),
            token: token.to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent(),
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let mut res = self
            .agent
            .get(format!("{}{path}", self.url))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .expect("the server answers");
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn send(&self, method: &str, path: &str, body: &Value) -> (u16, Vec<u8>, String) {
        let url = format!("{}{path}", self.url);
        let req = match method {
            "PATCH" => self.agent.patch(&url),
            _ => self.agent.post(&url),
        };
        let mut res = req
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .expect("the server answers");
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = res.body_mut().read_to_vec().unwrap();
        (status, bytes, kind)
    }

    fn json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let (status, bytes, _) = self.send(method, path, body);
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// The text of a PDF as poppler's `pdftotext` reads it (pages end with a form feed).
fn pdf_text(env: &Env, pdf: &[u8]) -> String {
    let path = env.path("letters.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext reads the letters (apt-get install poppler-utils; .ci/run does)");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn outreach_from_the_case_file_to_the_letters() {
    let env = Env::new();
    env.with_demo();
    let file = env.path("demo/owner_contacts.csv");

    // The import: every row read is accepted or rejected, the one bad row named.
    let (batch, read, accepted, rejected): (i64, i64, i64, i64) = env
        .query()
        .query_row(
            "SELECT batch_id, rows_read, rows_accepted, rows_rejected FROM ingest_batches
             WHERE dataset = 'owner_contacts'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let csv = duckdb::Connection::open_in_memory().unwrap();
    let file_rows: i64 = csv
        .query_row(
            &format!(
                "SELECT count(*) FROM read_csv('{}', all_varchar = true)",
                file.display()
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(read, file_rows, "every row of the file is read");
    assert_eq!((accepted + rejected, rejected), (read, 1));
    let (line, column, value, reason): (i64, String, String, String) = env
        .query()
        .query_row(
            "SELECT line, \"column\", value, reason FROM rejected_rows WHERE batch_id = ?",
            [batch],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        line,
        file_rows + 1,
        "the last line of the file (the header is line 1)"
    );
    assert_eq!(
        (column.as_str(), value.as_str()),
        ("property_id", "VP-999999")
    );
    assert!(reason.contains("not a known vacant property"), "{reason}");

    let token = env.add_user("olivia", "officer");
    env.add_user("marc", "officer");
    let (_server, url) = env.serve();
    let c = Client::new(&url, &token);

    // Olivia's due actions, as the file says: for each property, its latest contact (by date,
    // then id) names olivia and a next action with a due date.
    let (status, due) = c.get("/api/v1/officer/due-actions");
    assert_eq!(status, 200, "{due}");
    let expected: Vec<(String, String)> = {
        let mut stmt = csv
            .prepare(&format!(
                "SELECT property_id, next_action_due::VARCHAR FROM read_csv('{}', all_varchar = true)
                 WHERE property_id <> 'VP-999999'
                 QUALIFY row_number() OVER (PARTITION BY property_id ORDER BY contact_date::DATE DESC, contact_id DESC) = 1
                    AND officer = 'olivia' AND next_action IS NOT NULL AND next_action_due IS NOT NULL
                 ORDER BY next_action_due::DATE, property_id",
                file.display()
            ))
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let got: Vec<(String, String)> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["property_id"].as_str().unwrap().to_string(),
                d["next_action_due"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        expected.len() > 10,
        "the demo gives olivia work: {}",
        expected.len()
    );
    assert_eq!(got, expected, "the due actions are the file's");
    assert!(
        due[0]["overdue"].as_bool().unwrap(),
        "the earliest is overdue"
    );

    // A case from the file: its contacts, newest first, each with its load.
    let property = got[0].0.clone();
    let (status, case) = c.get(&format!("/api/v1/officer/cases/{property}"));
    assert_eq!(status, 200, "{case}");
    let in_file: i64 = csv
        .query_row(
            &format!(
                "SELECT count(*) FROM read_csv('{}', all_varchar = true) WHERE property_id = ?",
                file.display()
            ),
            [&property],
            |r| r.get(0),
        )
        .unwrap();
    let contacts = case["contacts_list"].as_array().unwrap();
    assert_eq!(contacts.len() as i64, in_file);
    assert!(
        contacts
            .iter()
            .all(|k| k["source"] == "import" && k["batch_id"] == batch)
    );
    assert_eq!(case["source"], "import");
    let imported_action = case["next_action"].clone();
    assert!(case["history"].as_array().unwrap().is_empty());

    // Olivia changes the case: each field that changed is in its history, with who and when.
    let (status, changed) = c.json(
        "PATCH",
        &format!("/api/v1/officer/cases/{property}"),
        &json!({"owner_answer": "willing", "next_action": "visit the home with the owner",
                "next_action_due": "2099-01-15", "officer": "marc"}),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["source"], "workspace");
    assert_eq!(changed["officer"], "marc");
    assert_eq!(changed["overdue"], false);
    let history = changed["history"].as_array().unwrap();
    let fields: Vec<&str> = history
        .iter()
        .map(|h| h["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"next_action") && fields.contains(&"officer"),
        "{fields:?}"
    );
    let action = history
        .iter()
        .find(|h| h["field"] == "next_action")
        .unwrap();
    assert_eq!(action["actor"], "olivia");
    assert_eq!(action["old_value"], imported_action);
    assert_eq!(action["new_value"], "visit the home with the owner");
    assert!(action["at"].as_str().unwrap().ends_with('Z'));
    // The same again changes nothing and records nothing.
    let (_, again) = c.json(
        "PATCH",
        &format!("/api/v1/officer/cases/{property}"),
        &json!({"owner_answer": "willing", "officer": "marc"}),
    );
    assert_eq!(again["history"].as_array().unwrap().len(), history.len());
    // The case left olivia's list and is in marc's.
    let (_, due) = c.get("/api/v1/officer/due-actions");
    assert!(
        !due.as_array()
            .unwrap()
            .iter()
            .any(|d| d["property_id"] == property.as_str())
    );
    let (_, marcs) = c.get("/api/v1/officer/due-actions?officer=marc");
    assert!(
        marcs
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["property_id"] == property.as_str())
    );

    // Mistakes are refused with what to do, and change nothing.
    for (body, says) in [
        (json!({"owner_answer": "maybe"}), "not one of"),
        (json!({"officer": "nobody"}), "not a user"),
        (json!({"next_action_due": "31/02/2026"}), "not a date"),
        (json!({"colour": "red"}), "unknown field"),
        (json!({"next_action": 5}), "string or null"),
    ] {
        let (status, problem) =
            c.json("PATCH", &format!("/api/v1/officer/cases/{property}"), &body);
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    let (status, _) = c.json(
        "PATCH",
        "/api/v1/officer/cases/VP-NONE",
        &json!({"next_action": "x"}),
    );
    assert_eq!(status, 404);
    let (_, unchanged) = c.get(&format!("/api/v1/officer/cases/{property}"));
    assert_eq!(unchanged["history"], changed["history"]);

    // A contact recorded: in the list and in the history; one in the future is refused.
    let (status, problem) = c.json(
        "POST",
        &format!("/api/v1/officer/cases/{property}/contacts"),
        &json!({"contact_date": "2099-01-01", "channel": "phone", "outcome": "reached"}),
    );
    assert_eq!(status, 400, "{problem}");
    let (status, with_call) = c.json(
        "POST",
        &format!("/api/v1/officer/cases/{property}/contacts"),
        &json!({"channel": "phone", "outcome": "reached", "note": "owner agrees to a visit"}),
    );
    assert_eq!(status, 201, "{with_call}");
    let newest = &with_call["contacts_list"][0];
    assert_eq!(
        (newest["channel"].as_str(), newest["by"].as_str()),
        (Some("phone"), Some("olivia"))
    );
    assert_eq!(newest["source"], "workspace");
    assert_eq!(with_call["contacts"].as_i64().unwrap(), in_file + 1);
    assert_eq!(with_call["history"][0]["field"], "contact");

    // Letters for three properties in Dutch, recorded as sent: one PDF, a page each.
    let (_, page) = c.get("/api/v1/officer/vacant-properties?status=vacant&limit=3");
    let chosen: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["property_id"].as_str().unwrap().to_string(),
                p["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ids: Vec<&str> = chosen.iter().map(|p| p.0.as_str()).collect();
    let before: Vec<i64> = ids
        .iter()
        .map(|id| {
            c.get(&format!("/api/v1/officer/cases/{id}")).1["contacts"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let (status, pdf, kind) = c.send(
        "POST",
        "/api/v1/officer/letters",
        &json!({"property_ids": ids, "template": "first_contact", "lang": "nl", "record": true}),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(kind, "application/pdf");
    let text = pdf_text(&env, &pdf);
    assert_eq!(text.matches('\u{c}').count(), 3, "three pages:\n{text}");
    for (page, (id, address)) in text.split('\u{c}').zip(&chosen) {
        assert!(page.contains("Aan de eigenaar van"), "{page}");
        assert!(
            page.contains(address.as_str()),
            "{address} on its page:\n{page}"
        );
        assert!(page.contains(&format!("Ons kenmerk: {id}")), "{page}");
        assert!(page.contains("Geachte eigenaar"), "{page}");
        assert!(page.contains("Met vriendelijke groet"), "{page}");
    }
    for (id, n) in ids.iter().zip(&before) {
        let (_, case) = c.get(&format!("/api/v1/officer/cases/{id}"));
        assert_eq!(
            case["contacts"].as_i64().unwrap(),
            n + 1,
            "{id}: the letter is recorded"
        );
        let k = &case["contacts_list"][0];
        assert_eq!(
            (
                k["channel"].as_str(),
                k["outcome"].as_str(),
                k["letter"].as_str()
            ),
            (Some("letter"), Some("sent"), Some("first_contact"))
        );
    }
    // In English, not recorded; a property the register does not have refuses the whole batch.
    let (status, pdf, _) = c.send(
        "POST",
        "/api/v1/officer/letters",
        &json!({"property_ids": [ids[0]], "template": "follow_up", "lang": "en"}),
    );
    assert_eq!(status, 200);
    let text = pdf_text(&env, &pdf);
    assert!(
        text.contains("To the owner of") && text.contains("Reminder: your empty home"),
        "{text}"
    );
    let (status, problem) = c.json(
        "POST",
        "/api/v1/officer/letters",
        &json!({"property_ids": [ids[1], "VP-NONE"], "template": "first_contact", "lang": "nl", "record": true}),
    );
    assert_eq!(status, 404, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("VP-NONE"));
    let (_, case) = c.get(&format!("/api/v1/officer/cases/{}", ids[1]));
    assert_eq!(
        case["contacts"].as_i64().unwrap(),
        before[1] + 1,
        "nothing more recorded"
    );
    let (_, problem) = c.json(
        "POST",
        "/api/v1/officer/letters",
        &json!({"property_ids": [ids[0]], "template": "eviction", "lang": "nl"}),
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("first_contact"),
        "{problem}"
    );

    // A newer case file kept elsewhere: loaded while the server runs, its newer word wins; its
    // bad row is rejected with line, column, value and reason.
    let today: String = csv
        .query_row("SELECT current_date::VARCHAR", [], |r| r.get(0))
        .unwrap();
    let newer = common::write(
        &env.path("contacts_today.csv"),
        format!(
            "contact_id,property_id,contact_date,channel,outcome,owner_answer,officer\n\
             X-1,{property},{today},visit,reached,sold,olivia\n\
             X-2,{property},{today},fax,reached,,olivia\n"
        )
        .as_bytes(),
    );
    let run = env
        .run(&["ingest", "owner_contacts", newer.to_str().unwrap()])
        .code_is(2);
    assert!(
        run.stdout().contains("fax") || run.stderr().contains("fax"),
        "{}{}",
        run.stdout(),
        run.stderr()
    );
    let (_, case) = c.get(&format!("/api/v1/officer/cases/{property}"));
    assert_eq!(case["owner_answer"], "sold", "{case}");
    assert_eq!(case["source"], "import");
    assert_eq!(case["officer"], "olivia");

    // None of it is public.
    let public = Client::new(&url, "");
    let (status, _) = public.get("/api/v1/officer/cases");
    assert_eq!(status, 401);
    let (status, _, _) = public.send("POST", "/api/v1/officer/letters", &json!({}));
    assert_eq!(status, 401);
}
