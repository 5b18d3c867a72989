//! Versioned migrations, kept by the crate that owns the tables.
//!
//! Every crate that writes tables keeps its own `migrations/*.sql` and a [`Migrations`] list
//! (`ingest::store::MIGRATIONS`, `analytics::MIGRATIONS`, `haven_core::MIGRATIONS`,
//! `jobs::MIGRATIONS`, `api::MIGRATIONS`). `schema_migrations` records, per owner, which steps
//! a database has had; each step runs once, in its own transaction, whole or not at all.

use duckdb::{Connection, params};

use crate::error::{Error, Result};

/// One step: a version number (1, 2, … within its owner), what it does, and its SQL.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The migrations of one crate, in order.
#[derive(Debug)]
pub struct Migrations {
    /// The crate that owns the tables (`ingest`, `analytics`, …).
    pub owner: &'static str,
    pub steps: &'static [Migration],
}

/// The migrations of the calling crate, from its `migrations/` folder:
/// `migrations!("owner", 1 => "what it does", "0001_file.sql"; …)`.
#[macro_export]
macro_rules! migrations {
    ($owner:literal, $($version:literal => $name:literal, $file:literal);+ $(;)?) => {
        $crate::migrate::Migrations {
            owner: $owner,
            steps: &[$($crate::migrate::Migration {
                version: $version,
                name: $name,
                sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $file)),
            }),+],
        }
    };
}

/// Databases made before migrations had owners numbered one list 1–8; the step each number
/// became, so such a database is never migrated twice.
const NUMBERED_BEFORE_OWNERS: &[(i64, &str, i64)] = &[
    (1, "ingest", 1),
    (2, "analytics", 1),
    (3, "analytics", 2),
    (4, "analytics", 3),
    (5, "haven-core", 1),
    (6, "haven-core", 2),
    (6, "api", 1),
    (7, "jobs", 1),
    (8, "jobs", 2),
];

impl Migrations {
    /// Applies the steps `conn`'s database has not had yet, in order. Cheap when it is up to
    /// date (one query), so every writer may call it before it writes.
    pub fn apply(&self, conn: &Connection) -> Result<()> {
        ensure_ledger(conn)?;
        let current: i64 = conn.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE owner = ?",
            [self.owner],
            |r| r.get(0),
        )?;
        for step in self.steps.iter().filter(|s| s.version > current) {
            conn.execute_batch("BEGIN")?;
            let applied = conn.execute_batch(step.sql).and_then(|_| {
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?, now())",
                    params![self.owner, step.version, step.name],
                )
            });
            match applied {
                Ok(_) => conn.execute_batch("COMMIT")?,
                Err(e) => {
                    conn.execute_batch("ROLLBACK")?;
                    return Err(Error::Invalid(format!(
                        "migration {} {} ({}) failed: {e}",
                        self.owner, step.version, step.name
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Creates `schema_migrations`, or gives the one of an older database its owners.
fn ensure_ledger(conn: &Connection) -> Result<()> {
    let columns: Vec<String> = conn
        .prepare(
            "SELECT column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    if columns.iter().any(|c| c == "owner") {
        return Ok(());
    }
    conn.execute_batch("BEGIN")?;
    let upgraded = (|| -> Result<()> {
        let old: Vec<i64> = if columns.is_empty() {
            Vec::new()
        } else {
            let versions = conn
                .prepare("SELECT version FROM schema_migrations")?
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            conn.execute_batch("DROP TABLE schema_migrations")?;
            versions
        };
        conn.execute_batch(
            "CREATE TABLE schema_migrations (
                 owner VARCHAR NOT NULL, version BIGINT NOT NULL, name VARCHAR NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (owner, version))",
        )?;
        for (before, owner, version) in NUMBERED_BEFORE_OWNERS {
            if old.contains(before) {
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, 'applied before migrations had owners', now())",
                    params![owner, version],
                )?;
            }
        }
        Ok(())
    })();
    match upgraded {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            conn.execute_batch("ROLLBACK")?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Migrations = Migrations {
        owner: "first",
        steps: &[
            Migration {
                version: 1,
                name: "a",
                sql: "CREATE TABLE a (x INTEGER)",
            },
            Migration {
                version: 2,
                name: "b",
                sql: "ALTER TABLE a ADD COLUMN y INTEGER",
            },
        ],
    };

    #[test]
    fn each_step_runs_once_per_owner() {
        let conn = Connection::open_in_memory().unwrap();
        FIRST.apply(&conn).unwrap();
        FIRST.apply(&conn).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM schema_migrations WHERE owner = 'first'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        conn.execute("INSERT INTO a VALUES (1, 2)", []).unwrap();
    }

    #[test]
    fn a_failing_step_leaves_nothing_behind() {
        let conn = Connection::open_in_memory().unwrap();
        let broken = Migrations {
            owner: "broken",
            steps: &[Migration {
                version: 1,
                name: "half",
                sql: "CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table",
            }],
        };
        let e = broken.apply(&conn).unwrap_err().to_string();
        assert!(e.contains("migration broken 1 (half) failed"), "{e}");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'half'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_database_numbered_before_owners_is_not_migrated_twice() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version BIGINT NOT NULL, name VARCHAR NOT NULL,
                                             applied_at TIMESTAMPTZ NOT NULL);
             INSERT INTO schema_migrations SELECT v, 'old', now() FROM range(1, 7) t(v);",
        )
        .unwrap();
        ensure_ledger(&conn).unwrap();
        let owned: Vec<(String, i64)> = conn
            .prepare("SELECT owner, version FROM schema_migrations ORDER BY owner, version")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let expected: Vec<(String, i64)> = [
            ("analytics", 1),
            ("analytics", 2),
            ("analytics", 3),
            ("api", 1),
            ("haven-core", 1),
            ("haven-core", 2),
            ("ingest", 1),
        ]
        .into_iter()
        .map(|(o, v)| (o.to_string(), v))
        .collect();
        assert_eq!(owned, expected);
    }
}
