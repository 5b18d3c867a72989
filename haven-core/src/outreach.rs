//! Owner outreach: the officers' case per vacant property. A case has a state (the officer
//! responsible, the owner's answer, the next action and when it is due), its contacts (letters,
//! calls, e-mails, visits) and the history of every change with who made it and when.
//!
//! Contacts come from two places: recorded in the workspace (`outreach_contacts`), or imported
//! from a case file kept elsewhere (the `owner_contacts` dataset, validated like every dataset).
//! A case's state is what the workspace last set, unless an imported contact is newer (a later
//! date; on the same day, loaded after the workspace's change): then it is that contact's
//! answer, next action, due date and officer. The newer word wins; the history keeps both.
//!
//! Restricted: nothing of it is published.

use duckdb::{Connection, OptionalExt, params};
use serde::Serialize;
use serde_json::Value;

use ingest::store::transaction;

use crate::{Error, Result};

/// The dataset of imported contacts.
pub const DATASET: &str = "owner_contacts";

/// At most this many cases in one answer.
pub const MAX_CASES: usize = 5_000;

/// The values a field of the contacts' schema allows (the schema is the one source).
pub fn allowed(field: &str) -> &'static [String] {
    ingest::schema::get(DATASET)
        .ok()
        .and_then(|s| s.field(field))
        .and_then(|f| f.constraints.enumeration.as_deref())
        .unwrap_or(&[])
}

fn max_length(field: &str) -> usize {
    ingest::schema::get(DATASET)
        .ok()
        .and_then(|s| s.field(field))
        .and_then(|f| f.constraints.max_length)
        .unwrap_or(200)
}

/// What a case stands at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct State {
    pub officer: Option<String>,
    pub owner_answer: Option<String>,
    pub next_action: Option<String>,
    /// `YYYY-MM-DD`.
    pub next_action_due: Option<String>,
}

/// A case as listed.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub property_id: String,
    pub address: Option<String>,
    pub district_code: Option<String>,
    /// The property's status in the vacancy register.
    pub status: Option<String>,
    #[serde(flatten)]
    pub state: State,
    pub contacts: i64,
    pub last_contact: Option<String>,
    /// The next action's due date has passed.
    pub overdue: bool,
    /// Where the state comes from: `workspace` or `import`.
    pub source: String,
}

/// One contact with the owner.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub contact_id: String,
    pub contact_date: String,
    pub channel: String,
    pub letter: Option<String>,
    pub outcome: String,
    pub owner_answer: Option<String>,
    pub next_action: Option<String>,
    pub note: Option<String>,
    /// The officer (imported) or the user who recorded it (workspace).
    pub by: Option<String>,
    /// `workspace` or `import`.
    pub source: String,
    /// The load an imported contact came from.
    pub batch_id: Option<i64>,
}

/// One change of a case: who, when, what from and to.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    /// A state field, or `contact` for a contact recorded.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A case with its contacts (newest first) and its history (newest first).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub contacts_list: Vec<Contact>,
    pub history: Vec<Change>,
}

/// The cases, one row per property with a case: a workspace state, or any contact.
const CASES: &str = "
WITH latest_import AS (
    SELECT o.property_id, o.contact_date, o.officer, o.owner_answer, o.next_action,
           o.next_action_due, b.started_at AS loaded_at
    FROM main.owner_contacts o LEFT JOIN ingest_batches b ON b.batch_id = o._batch_id
    QUALIFY row_number() OVER (PARTITION BY o.property_id ORDER BY o.contact_date DESC, o.contact_id DESC) = 1
),
contacts AS (
    SELECT property_id, count(*) AS n, max(contact_date) AS last_contact FROM (
        SELECT property_id, contact_date FROM main.owner_contacts
        UNION ALL SELECT property_id, contact_date FROM outreach_contacts
    ) GROUP BY property_id
),
joined AS (
    SELECT coalesce(k.property_id, c.property_id) AS property_id, k.n, k.last_contact,
           c.property_id IS NOT NULL
             AND (i.property_id IS NULL OR c.updated_at::DATE > i.contact_date
                  OR (c.updated_at::DATE = i.contact_date AND c.updated_at >= i.loaded_at))
             AS from_workspace,
           c.officer AS w_officer, c.owner_answer AS w_answer, c.next_action AS w_action,
           c.next_action_due AS w_due,
           i.officer AS i_officer, i.owner_answer AS i_answer, i.next_action AS i_action,
           i.next_action_due AS i_due
    FROM contacts k
    FULL JOIN outreach_cases c ON c.property_id = k.property_id
    LEFT JOIN latest_import i ON i.property_id = coalesce(k.property_id, c.property_id)
)
SELECT j.property_id, v.address, v.district_code, v.status,
       CASE WHEN from_workspace THEN w_officer ELSE i_officer END AS officer,
       CASE WHEN from_workspace THEN w_answer ELSE i_answer END AS owner_answer,
       CASE WHEN from_workspace THEN w_action ELSE i_action END AS next_action,
       CASE WHEN from_workspace THEN w_due ELSE i_due END AS next_action_due,
       coalesce(j.n, 0) AS contacts, j.last_contact,
       CASE WHEN from_workspace THEN 'workspace' ELSE 'import' END AS source
FROM joined j LEFT JOIN main.vacant_properties v ON v.property_id = j.property_id";

/// Which cases to list.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// Only this officer's cases.
    pub officer: Option<String>,
    /// Only cases with this answer from the owner (`none`: no answer yet).
    pub owner_answer: Option<String>,
    /// Only this district.
    pub district: Option<String>,
    /// Only cases whose next action is due on or before this date (`YYYY-MM-DD`).
    pub due_by: Option<String>,
    pub limit: Option<usize>,
}

fn date(name: &str, v: &str) -> Result<String> {
    ingest::validate::parse_date(v.trim())
        .map(ingest::validate::format_date)
        .map_err(|_| Error::Invalid(format!("{name} '{v}' is not a date (YYYY-MM-DD)")))
}

fn one_of(name: &str, v: &str, field: &str) -> Result<()> {
    let ok = allowed(field);
    if ok.iter().any(|a| a == v) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{name} '{v}' is not one of: {}",
            ok.join(", ")
        )))
    }
}

fn summary(r: &duckdb::Row<'_>) -> duckdb::Result<CaseSummary> {
    let due: Option<String> = r.get(7)?;
    Ok(CaseSummary {
        property_id: r.get(0)?,
        address: r.get(1)?,
        district_code: r.get(2)?,
        status: r.get(3)?,
        state: State {
            officer: r.get(4)?,
            owner_answer: r.get(5)?,
            next_action: r.get(6)?,
            next_action_due: due,
        },
        contacts: r.get(8)?,
        last_contact: r.get(9)?,
        overdue: r.get(10)?,
        source: r.get(11)?,
    })
}

/// The columns of [`CASES`] as [`summary`] reads them.
const SUMMARY_COLUMNS: &str = "property_id, address, district_code, status, officer, owner_answer,
    next_action, strftime(next_action_due, '%Y-%m-%d'), contacts, strftime(last_contact, '%Y-%m-%d'),
    coalesce(next_action_due < current_date, false), source";

/// The cases matching `q`, the earliest due first (cases with nothing due last).
pub fn cases(store: &ingest::Store, q: &CasesQuery) -> Result<Vec<CaseSummary>> {
    let limit = q.limit.unwrap_or(1000);
    if limit == 0 || limit > MAX_CASES {
        return Err(Error::Invalid(format!(
            "limit must be between 1 and {MAX_CASES}"
        )));
    }
    let mut filters = String::from("true");
    let mut values: Vec<String> = Vec::new();
    if let Some(o) = &q.officer {
        filters.push_str(" AND officer = ?");
        values.push(o.clone());
    }
    match q.owner_answer.as_deref() {
        Some("none") => filters.push_str(" AND owner_answer IS NULL"),
        Some(a) => {
            one_of("owner_answer", a, "owner_answer")?;
            filters.push_str(" AND owner_answer = ?");
            values.push(a.to_string());
        }
        None => {}
    }
    if let Some(d) = &q.district {
        filters.push_str(" AND district_code = ?");
        values.push(d.clone());
    }
    if let Some(d) = &q.due_by {
        filters.push_str(" AND next_action_due <= ?::DATE");
        values.push(date("due_by", d)?);
    }
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM ({CASES}) WHERE {filters}
         ORDER BY next_action_due NULLS LAST, property_id LIMIT {limit}"
    );
    let conn = store.conn();
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(duckdb::params_from_iter(values.iter()), summary)?;
    Ok(rows.collect::<duckdb::Result<_>>()?)
}

/// The due actions of `officer`: cases of theirs with a next action, the earliest first.
pub fn due_actions(store: &ingest::Store, officer: &str) -> Result<Vec<CaseSummary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM ({CASES})
         WHERE officer = ? AND next_action IS NOT NULL AND next_action_due IS NOT NULL
         ORDER BY next_action_due, property_id LIMIT {MAX_CASES}"
    );
    let conn = store.conn();
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([officer], summary)?;
    Ok(rows.collect::<duckdb::Result<_>>()?)
}

/// A property's case; a property of the register without one has an empty case.
pub fn case(store: &ingest::Store, property_id: &str) -> Result<Case> {
    case_on(store.conn(), property_id)
}

fn case_on(conn: &Connection, property_id: &str) -> Result<Case> {
    let found = conn
        .query_row(
            &format!("SELECT {SUMMARY_COLUMNS} FROM ({CASES}) WHERE property_id = ?"),
            [property_id],
            summary,
        )
        .optional()?;
    let summary = match found {
        Some(s) => s,
        None => {
            let property = conn
                .query_row(
                    "SELECT address, district_code, status FROM main.vacant_properties
                     WHERE property_id = ?",
                    [property_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "there is no vacant property '{property_id}' and no case of it"
                    ))
                })?;
            CaseSummary {
                property_id: property_id.to_string(),
                address: property.0,
                district_code: property.1,
                status: property.2,
                state: State::default(),
                contacts: 0,
                last_contact: None,
                overdue: false,
                source: "workspace".into(),
            }
        }
    };
    let mut stmt = conn.prepare(
        "SELECT contact_id, strftime(contact_date, '%Y-%m-%d'), channel, letter, outcome,
                owner_answer, next_action, note, officer, 'import', _batch_id, contact_date
         FROM main.owner_contacts WHERE property_id = ?
         UNION ALL
         SELECT contact_id, strftime(contact_date, '%Y-%m-%d'), channel, letter, outcome,
                NULL, NULL, note, recorded_by, 'workspace', NULL, contact_date
         FROM outreach_contacts WHERE property_id = ?
         ORDER BY 12 DESC, 1 DESC",
    )?;
    let contacts_list = stmt
        .query_map([property_id, property_id], |r| {
            Ok(Contact {
                contact_id: r.get(0)?,
                contact_date: r.get(1)?,
                channel: r.get(2)?,
                letter: r.get(3)?,
                outcome: r.get(4)?,
                owner_answer: r.get(5)?,
                next_action: r.get(6)?,
                note: r.get(7)?,
                by: r.get(8)?,
                source: r.get(9)?,
                batch_id: r.get(10)?,
            })
        })?
        .collect::<duckdb::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT strftime(changed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), actor, field, old_value,
                new_value
         FROM outreach_changes WHERE property_id = ? ORDER BY change_id DESC",
    )?;
    let history = stmt
        .query_map([property_id], |r| {
            Ok(Change {
                at: r.get(0)?,
                actor: r.get(1)?,
                field: r.get(2)?,
                old_value: r.get(3)?,
                new_value: r.get(4)?,
            })
        })?
        .collect::<duckdb::Result<_>>()?;
    Ok(Case {
        summary,
        contacts_list,
        history,
    })
}

/// A change of a case's state: a field left out stays, `null` clears it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Update {
    pub officer: Option<Option<String>>,
    pub owner_answer: Option<Option<String>>,
    pub next_action: Option<Option<String>>,
    pub next_action_due: Option<Option<String>>,
}

impl Update {
    /// Reads a JSON object; unknown fields and values of the wrong kind are refused.
    pub fn from_json(v: &Value) -> Result<Update> {
        let o = v
            .as_object()
            .ok_or_else(|| Error::Invalid("send a JSON object of the fields to change".into()))?;
        let mut u = Update::default();
        for (k, v) in o {
            let value = match v {
                Value::Null => None,
                Value::String(s) if s.trim().is_empty() => None,
                Value::String(s) => Some(s.trim().to_string()),
                _ => {
                    return Err(Error::Invalid(format!(
                        "{k} must be a string or null, not {v}"
                    )));
                }
            };
            let slot = match k.as_str() {
                "officer" => &mut u.officer,
                "owner_answer" => &mut u.owner_answer,
                "next_action" => &mut u.next_action,
                "next_action_due" => &mut u.next_action_due,
                other => {
                    return Err(Error::Invalid(format!(
                        "unknown field '{other}'; a case has officer, owner_answer, next_action and next_action_due"
                    )));
                }
            };
            *slot = Some(value);
        }
        if let Some(Some(a)) = &u.owner_answer {
            one_of("owner_answer", a, "owner_answer")?;
        }
        if let Some(Some(d)) = &mut u.next_action_due {
            *d = date("next_action_due", d)?;
        }
        for (name, v) in [("officer", &u.officer), ("next_action", &u.next_action)] {
            if let Some(Some(s)) = v
                && s.chars().count() > max_length(name)
            {
                return Err(Error::Invalid(format!(
                    "{name} is longer than {} characters",
                    max_length(name)
                )));
            }
        }
        Ok(u)
    }
}

fn record(
    conn: &Connection,
    property_id: &str,
    actor: &str,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO outreach_changes (property_id, changed_at, actor, field, old_value, new_value)
         VALUES (?, now(), ?, ?, ?, ?)",
        params![property_id, actor, field, old, new],
    )?;
    Ok(())
}

/// Changes a case's state, recording every field that changed with `actor` and the time; the
/// case as it now stands. An officer named must be a user of Haven.
pub fn update(store: &ingest::Store, property_id: &str, u: &Update, actor: &str) -> Result<Case> {
    let conn = store.conn();
    transaction(conn, |conn| {
        let before = case_on(conn, property_id)?.summary.state;
        let mut after = before.clone();
        for (slot, v) in [
            (&mut after.officer, &u.officer),
            (&mut after.owner_answer, &u.owner_answer),
            (&mut after.next_action, &u.next_action),
            (&mut after.next_action_due, &u.next_action_due),
        ] {
            if let Some(v) = v {
                slot.clone_from(v);
            }
        }
        if let Some(Some(o)) = &u.officer
            && before.officer.as_deref() != Some(o)
        {
            let known: i64 =
                conn.query_row("SELECT count(*) FROM users WHERE name = ?", [o], |r| {
                    r.get(0)
                })?;
            if known == 0 {
                return Err(Error::Invalid(format!(
                    "officer '{o}' is not a user of Haven (haven users list)"
                )));
            }
        }
        if after == before {
            return case_on(conn, property_id);
        }
        for (field, old, new) in [
            ("officer", &before.officer, &after.officer),
            ("owner_answer", &before.owner_answer, &after.owner_answer),
            ("next_action", &before.next_action, &after.next_action),
            (
                "next_action_due",
                &before.next_action_due,
                &after.next_action_due,
            ),
        ] {
            if old != new {
                record(
                    conn,
                    property_id,
                    actor,
                    field,
                    old.as_deref(),
                    new.as_deref(),
                )?;
            }
        }
        conn.execute(
            "INSERT OR REPLACE INTO outreach_cases
             VALUES (?, ?, ?, ?, ?::DATE, now(), ?)",
            params![
                property_id,
                after.officer,
                after.owner_answer,
                after.next_action,
                after.next_action_due,
                actor
            ],
        )?;
        case_on(conn, property_id)
    })
}

/// A contact recorded in the workspace.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// `YYYY-MM-DD`; today when left out.
    pub contact_date: Option<String>,
    pub channel: String,
    pub letter: Option<String>,
    pub outcome: String,
    pub note: Option<String>,
}

impl NewContact {
    fn check(&self) -> Result<()> {
        one_of("channel", &self.channel, "channel")?;
        one_of("outcome", &self.outcome, "outcome")?;
        for (name, v) in [("letter", &self.letter), ("note", &self.note)] {
            if v.as_ref()
                .is_some_and(|s| s.chars().count() > max_length(name))
            {
                return Err(Error::Invalid(format!(
                    "{name} is longer than {} characters",
                    max_length(name)
                )));
            }
        }
        Ok(())
    }
}

/// Records a contact with the owner of `property_id` (which must be in the register), and its
/// line in the case's history.
pub fn add_contact(
    store: &ingest::Store,
    property_id: &str,
    c: &NewContact,
    actor: &str,
) -> Result<Case> {
    c.check()?;
    let day = c
        .contact_date
        .as_deref()
        .map(|d| date("contact_date", d))
        .transpose()?;
    transaction(store.conn(), |conn| {
        insert_contact(conn, property_id, day.as_deref(), c, actor)?;
        case_on(conn, property_id)
    })
}

fn insert_contact(
    conn: &Connection,
    property_id: &str,
    day: Option<&str>,
    c: &NewContact,
    actor: &str,
) -> Result<()> {
    let known: i64 = conn.query_row(
        "SELECT count(*) FROM main.vacant_properties WHERE property_id = ?",
        [property_id],
        |r| r.get(0),
    )?;
    if known == 0 {
        return Err(Error::NotFound(format!(
            "there is no vacant property '{property_id}'"
        )));
    }
    if let Some(d) = day {
        let future: bool = conn.query_row("SELECT ?::DATE > current_date", [d], |r| r.get(0))?;
        if future {
            return Err(Error::Invalid(format!(
                "contact_date {d} is in the future; record a contact once it took place"
            )));
        }
    }
    let day: String = conn.query_row(
        "SELECT strftime(coalesce(?::DATE, current_date), '%Y-%m-%d')",
        [day],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO outreach_contacts
         VALUES ('ws-' || lpad(nextval('outreach_contact_ids')::VARCHAR, 9, '0'), ?, ?::DATE, ?, ?, ?, ?, ?, now())",
        params![property_id, day, c.channel, c.letter, c.outcome, c.note, actor],
    )?;
    let what = match &c.letter {
        Some(l) => format!("{day} {} ({l}): {}", c.channel, c.outcome),
        None => format!("{day} {}: {}", c.channel, c.outcome),
    };
    record(conn, property_id, actor, "contact", None, Some(&what))
}

/// Records a letter sent to each of `property_ids` (one transaction: all or none).
pub fn letters_sent(
    store: &ingest::Store,
    property_ids: &[String],
    letter: &str,
    actor: &str,
) -> Result<()> {
    let c = NewContact {
        contact_date: None,
        channel: "letter".into(),
        letter: Some(letter.to_string()),
        outcome: "sent".into(),
        note: None,
    };
    transaction(store.conn(), |conn| {
        for p in property_ids {
            insert_contact(conn, p, None, &c, actor)?;
        }
        Ok(())
    })
}
