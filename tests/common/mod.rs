//! Helpers for tests that drive the real `haven` binary.
#![allow(dead_code)]

pub mod attack;
pub mod lake;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use duckdb::{AccessMode, Config, Connection};

/// A scratch folder with its own database.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("haven.duckdb")
    }

    /// `haven --db <this env's db> <args>`, run from the scratch folder.
    pub fn haven(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_haven"));
        c.current_dir(self.dir.path())
            .arg("--db")
            .arg(self.db())
            .env("HAVEN_LOG", "warn");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.haven().args(args).output().expect("haven runs");
        Run(out)
    }

    /// The demo files (not loaded), in `demo/`.
    pub fn demo_files(&self) -> PathBuf {
        let out = self.path("demo");
        self.run(&["demo", "--no-load", "--out", out.to_str().unwrap()])
            .ok();
        out
    }

    /// The whole demo loaded, analysed and published (not served), its files in `demo/`.
    pub fn with_demo(&self) -> Run {
        self.run(&["demo", "--no-serve", "--out", "demo"]).ok()
    }

    /// Adds a user with a role and returns the token, which `haven users add` shows once.
    pub fn add_user(&self, name: &str, role: &str) -> String {
        self.run(&["users", "add", name, "--role", role])
            .ok()
            .stdout()
            .trim()
            .to_string()
    }

    /// Loads the demo districts, which every other dataset refers to.
    pub fn with_districts(&self) -> PathBuf {
        let demo = self.demo_files();
        self.run(&[
            "ingest",
            "districts",
            demo.join("districts.geojson").to_str().unwrap(),
        ])
        .ok();
        demo
    }

    /// A municipality on its first day: the demo districts and the demo's vacancy register
    /// (its mistyped rows rejected), loaded with `flags`; nothing else.
    pub fn with_vacancy_register(&self, flags: &[&str]) -> Run {
        let demo = self.with_districts();
        let register = demo.join("leegstand_vacant_properties.csv");
        let mut args = vec!["ingest", "vacant_properties", register.to_str().unwrap()];
        args.extend_from_slice(flags);
        self.run(&args).code_is(2)
    }

    /// A read-only connection (the haven process has exited).
    pub fn query(&self) -> Connection {
        let config = Config::default().access_mode(AccessMode::ReadOnly).unwrap();
        Connection::open_with_flags(self.db(), config).expect("database opens")
    }

    /// A writing connection (no haven process holds the database).
    pub fn query_rw(&self) -> Connection {
        Connection::open(self.db()).expect("database opens")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.query().query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    /// `haven serve` on a free loopback port, once it has announced itself; its URL.
    pub fn serve(&self) -> (Server, String) {
        self.serve_with(&[], None)
    }

    /// `haven serve` with extra environment variables, its log written to `log`.
    pub fn serve_with(&self, vars: &[(&str, &str)], log: Option<&Path>) -> (Server, String) {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        // A server killed before left its announcement: wait for the new one.
        let _ = std::fs::remove_file(self.path("haven.duckdb.server.json"));
        let child = self
            .haven()
            .args(["serve", "--addr", "127.0.0.1:0"])
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let server = Server(child);
        let announce = self.path("haven.duckdb.server.json");
        let started = Instant::now();
        while !announce.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server announces itself"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&announce).unwrap()).unwrap();
        (server, info["url"].as_str().unwrap().to_string())
    }
}

/// Debian's `chromium` (`.ci/run` installs it), or the browser named by `HAVEN_CHROMIUM`.
pub fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("HAVEN_CHROMIUM") {
        return PathBuf::from(p);
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("headless Chromium is needed: apt-get install chromium (or set HAVEN_CHROMIUM)")
}

/// The browser tests' folder (tests/browser), its packages installed.
pub fn browser_tests() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "the browser tests' packages are missing: npm ci --prefix tests/browser (make test does)"
    );
    tests
}

/// A program of the outside checkers' Python environment: `HAVEN_VENV/bin/<name>`, else `.venv`
/// of the workspace (scripts/setup-validators.sh, which `make test` runs).
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var("HAVEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let tool = venv.join("bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing: run scripts/setup-validators.sh (make test does)",
        tool.display()
    );
    tool
}

/// Polls `done` every 200 ms; fails the test after `secs` seconds, naming `what`.
pub fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "waited too long for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An answer of [`http_source`]: status, extra headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl From<(u16, Vec<u8>)> for Reply {
    fn from((status, body): (u16, Vec<u8>)) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body,
        }
    }
}

/// An HTTP source on loopback: each request is answered with what `answer` makes of its path
/// and its head (request line and headers), one connection per request. Its base URL.
pub fn http_source<R: Into<Reply>>(
    answer: impl Fn(&str, &str) -> R + Send + Sync + 'static,
) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = std::sync::Arc::clone(&answer);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let reply: Reply = answer(&path, &head).into();
                let mut out = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (h, v) in &reply.headers {
                    out.push_str(&format!("{h}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = stream.write_all(out.as_bytes());
                let _ = stream.write_all(&reply.body);
            });
        }
    });
    base
}

/// The release versions whose folders `dir` holds (`v1`, `v2`, …), in order.
pub fn release_versions(dir: &Path) -> Vec<u32> {
    let mut versions: Vec<u32> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_prefix('v')?
                .parse()
                .ok()
        })
        .collect();
    versions.sort();
    versions
}

/// Runs `haven` with `args` and kills it (SIGKILL) after `after`; whether it was still running.
pub fn kill_after(env: &Env, args: &[&str], after: Duration) -> bool {
    let started = Instant::now();
    kill_when(env, args, &|| started.elapsed() >= after)
}

/// Runs `haven` with `args` and kills it (SIGKILL) the moment `reached` says so (checked every
/// millisecond); whether it was killed before it ended by itself.
pub fn kill_when(env: &Env, args: &[&str], reached: &dyn Fn() -> bool) -> bool {
    let mut child = env
        .haven()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if reached() {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A running `haven serve`, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    /// Asserts exit code 0.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code(),
            0,
            "haven failed:\n{}\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    pub fn code_is(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code:\n{}\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Every batch's accepted + rejected equals what it read.
pub fn assert_books_balance(env: &Env) {
    let unbalanced = env.count("SELECT count(*) FROM ingest_batches WHERE rows_accepted + rows_rejected <> rows_read AND outcome <> 'refused'");
    assert_eq!(unbalanced, 0, "accepted + rejected = read for every batch");
    let rejected_lines = env.count(
        "SELECT count(*) FROM ingest_batches b WHERE rows_rejected <> (SELECT count(DISTINCT line) FROM rejected_rows r WHERE r.batch_id = b.batch_id)",
    );
    assert_eq!(
        rejected_lines, 0,
        "every rejected row is stored with its line"
    );
}

pub fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).expect("write test file");
    path.to_path_buf()
}

/// Two square districts (BE001D1 north of BE001D2) of the municipality BE001, as GeoJSON: the
/// smallest map for tables worked by hand.
pub const TWO_DISTRICTS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"district_code":"BE001D1","name":"Noord","parent_code":"BE001","dwellings_total":900},
  "geometry":{"type":"Polygon","coordinates":[[[4.40,51.00],[4.42,51.00],[4.42,51.02],[4.40,51.02],[4.40,51.00]]]}},
 {"type":"Feature","properties":{"district_code":"BE001D2","name":"Zuid","parent_code":"BE001","dwellings_total":700},
  "geometry":{"type":"Polygon","coordinates":[[[4.40,50.98],[4.42,50.98],[4.42,51.00],[4.40,51.00],[4.40,50.98]]]}}]}"#;

/// GET `url` (with a bearer token if given): the status and the JSON body (null if none).
pub fn get_json(url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut res = req.call().expect("the server answers");
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
