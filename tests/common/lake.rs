//! A region's lake on loopback for the tests: a real PostgreSQL (Debian's, started from its own
//! binaries in a scratch folder) for DuckLake's catalogue, and moto's S3-compatible server with
//! IAM policies enforced for the data files. Both stop when the value is dropped.
//!
//! Two sets of credentials, as a deployment would give them:
//! - the writers': PostgreSQL's owner role `haven` and S3 keys allowed everything;
//! - the public readers': the role `lake_public` (SELECT on the public catalogue's schema only,
//!   once [`LakeServers::grant_public`] ran) and S3 keys allowed to read `region/public/*` and
//!   `region/releases/*` only.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{venv_tool, wait_for};

/// What the harness starts, and how to reach it.
pub struct LakeServers {
    pub dir: tempfile::TempDir,
    pg_bin: PathBuf,
    pg_port: u16,
    pg_data: PathBuf,
    moto: Child,
    pub s3_endpoint: String,
    writer_keys: (String, String),
    public_keys: (String, String),
    as_postgres: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's PostgreSQL binaries (the newest installed).
fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| Some(e.ok()?.path().join("bin"))).collect())
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort();
    found.pop().expect(
        "PostgreSQL is missing: apt-get install postgresql (.ci/run installs it for the lake tests)",
    )
}

impl LakeServers {
    pub fn start() -> LakeServers {
        let dir = tempfile::tempdir().unwrap();
        let pg_bin = pg_bin();
        // PostgreSQL refuses to run as root: then it runs as the package's postgres user.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if as_postgres {
            let uid: u32 = String::from_utf8(
                Command::new("id")
                    .args(["-u", "postgres"])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap()
            .trim()
            .parse()
            .expect("the postgres user (Debian's postgresql package makes it)");
            std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
        }
        let pg_data = dir.path().join("pg");
        let pg_port = free_port();
        let servers_pg = PgParts {
            bin: pg_bin.clone(),
            as_postgres,
        };
        let out = servers_pg
            .command("initdb")
            .args([
                "-D",
                pg_data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "haven",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = servers_pg
            .command("pg_ctl")
            .args([
                "-D",
                pg_data.to_str().unwrap(),
                "-l",
                dir.path().join("pg.log").to_str().unwrap(),
                "-w",
                "-o",
                &format!(
                    "-p {pg_port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                    dir.path().display()
                ),
                "start",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        servers_pg.sql(pg_port, "postgres", "CREATE DATABASE lake");
        servers_pg.sql(pg_port, "postgres", "CREATE ROLE lake_public LOGIN");

        // moto: the first calls (the IAM setup) go unchecked, every later one is checked.
        let s3_port = free_port();
        let moto = Command::new(venv_tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &s3_port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "6")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s3_endpoint = format!("http://127.0.0.1:{s3_port}");
        wait_for("moto's S3 server", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", s3_port)).is_ok()
        });
        let setup = Command::new(venv_tool("python"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lake/s3_setup.py"))
            .arg(&s3_endpoint)
            .output()
            .unwrap();
        assert!(
            setup.status.success(),
            "S3 setup: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let keys: serde_json::Value = serde_json::from_slice(&setup.stdout).unwrap();
        let pair = |who: &str| {
            (
                keys[who]["key_id"].as_str().unwrap().to_string(),
                keys[who]["secret"].as_str().unwrap().to_string(),
            )
        };
        LakeServers {
            writer_keys: pair("writer"),
            public_keys: pair("public"),
            dir,
            pg_bin,
            pg_port,
            pg_data,
            moto,
            s3_endpoint,
            as_postgres,
        }
    }

    fn pg(&self) -> PgParts {
        PgParts {
            bin: self.pg_bin.clone(),
            as_postgres: self.as_postgres,
        }
    }

    /// The catalogue's connection string for a role.
    pub fn catalog(&self, role: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/lake", self.pg_port)
    }

    /// A writer's environment for `haven`: the owner role and the writer's S3 keys.
    pub fn writer(&self, cmd: &mut Command) {
        self.with(cmd, "haven", &self.writer_keys);
    }

    /// A public reader's environment: `lake_public` and the read-only S3 keys.
    pub fn public(&self, cmd: &mut Command) {
        self.with(cmd, "lake_public", &self.public_keys);
    }

    /// The writer's role in PostgreSQL with the public reader's S3 keys (to show that the
    /// object storage refuses on its own).
    pub fn writer_role_public_keys(&self, cmd: &mut Command) {
        self.with(cmd, "haven", &self.public_keys);
    }

    fn with(&self, cmd: &mut Command, role: &str, keys: &(String, String)) {
        cmd.envs(self.vars(role, keys));
    }

    /// The writer's environment as variables (for a server of tests/common's `Env`).
    pub fn writer_vars(&self) -> Vec<(&'static str, String)> {
        self.vars("haven", &self.writer_keys)
    }

    fn vars(&self, role: &str, keys: &(String, String)) -> Vec<(&'static str, String)> {
        vec![
            ("HAVEN_LAKE", self.catalog(role)),
            ("HAVEN_LAKE_DATA", "s3://lake/region".to_string()),
            ("HAVEN_S3_ENDPOINT", self.s3_endpoint.clone()),
            ("HAVEN_S3_KEY_ID", keys.0.clone()),
            ("HAVEN_S3_SECRET", keys.1.clone()),
        ]
    }

    /// What the operator runs once the catalogue exists: the public role may read the public
    /// catalogue's schema, and nothing else.
    pub fn grant_public(&self) {
        self.pg().sql(
            self.pg_port,
            "lake",
            "GRANT USAGE ON SCHEMA haven_public TO lake_public;
             GRANT SELECT ON ALL TABLES IN SCHEMA haven_public TO lake_public;
             ALTER DEFAULT PRIVILEGES IN SCHEMA haven_public GRANT SELECT ON TABLES TO lake_public;",
        );
    }
}

struct PgParts {
    bin: PathBuf,
    as_postgres: bool,
}

impl PgParts {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn sql(&self, port: u16, db: &str, sql: &str) {
        let out = self
            .command("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "haven",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for LakeServers {
    fn drop(&mut self) {
        let _ = self.moto.kill();
        let _ = self.moto.wait();
        let _ = self
            .pg()
            .command("pg_ctl")
            .args([
                "-D",
                self.pg_data.to_str().unwrap(),
                "-m",
                "immediate",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
