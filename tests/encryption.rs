//! Encryption at rest, through the `haven` binary: the demo loaded into an encrypted database
//! leaves no household reference or address in the raw file (nor in its write-ahead log or
//! its backup), while the same demo in a plain database does (so the search can find them);
//! a missing or wrong key is refused with a clear message that never shows the key; the
//! server reads and writes the encrypted file; backups stay encrypted; and `haven rekey`
//! rotates the key and encrypts a plain database.

mod common;

use std::path::{Path, PathBuf};

use common::{Env, Run};

/// A new random key in a file only its owner reads; its path and text.
fn key_file(env: &Env, name: &str) -> (PathBuf, String) {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let mut raw = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut raw)
        .unwrap();
    let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let path = env.path(name);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (path, text)
}

/// `haven` with the database key taken from `key` (none: no key).
fn haven_with(env: &Env, key: Option<&Path>, args: &[&str]) -> Run {
    let mut c = env.haven();
    c.env_remove("HAVEN_DB_KEY")
        .env_remove("HAVEN_DB_KEY_COMMAND");
    match key {
        Some(k) => c.env("HAVEN_DB_KEY_FILE", k),
        None => c.env_remove("HAVEN_DB_KEY_FILE"),
    };
    Run(c.args(args).output().expect("haven runs"))
}

/// Household references (of placements) and addresses (of the vacancy register) in the demo
/// files, as an outsider with a copy of the officers' files would search for them.
fn personal_strings(demo: &Path) -> (Vec<String>, Vec<String>) {
    let placements = std::fs::read_to_string(demo.join("placements.csv")).unwrap();
    let refs: Vec<String> = placements
        .lines()
        .skip(1)
        .step_by(37)
        .filter_map(|l| l.split(',').nth(1).map(str::to_string))
        .collect();
    let register = std::fs::read(demo.join("leegstand_vacant_properties.csv")).unwrap();
    let addresses: Vec<String> = String::from_utf8_lossy(&register)
        .lines()
        .skip(1)
        .step_by(41)
        .filter_map(|l| l.split(';').nth(1).map(str::to_string))
        .filter(|a| a.is_ascii() && a.len() >= 10)
        .collect();
    assert!(refs.len() >= 10 && addresses.len() >= 10);
    (refs, addresses)
}

/// The strings of `wanted` found in the raw bytes of the database file and its WAL.
fn found_in(db: &Path, wanted: &[String]) -> Vec<String> {
    let mut bytes = std::fs::read(db).unwrap();
    if let Ok(wal) = std::fs::read(format!("{}.wal", db.display())) {
        bytes.extend(wal);
    }
    wanted
        .iter()
        .filter(|w| bytes.windows(w.len()).any(|x| x == w.as_bytes()))
        .cloned()
        .collect()
}

#[test]
fn an_encrypted_database_keeps_households_and_addresses_out_of_its_file() {
    let env = Env::new();
    let (key, key_text) = key_file(&env, "db.key");
    let run = haven_with(&env, Some(&key), &["demo", "--no-serve", "--out", "demo"]).ok();
    assert!(!run.stderr().contains(&key_text));
    let (refs, addresses) = personal_strings(&env.path("demo"));
    let wanted = [refs.clone(), addresses].concat();

    // The same files in a plain database: the search finds every household reference there
    // (addresses too, before DuckDB compresses them at a checkpoint: see the served test).
    let plain = Env::new();
    plain.with_demo();
    assert_eq!(
        found_in(&plain.db(), &refs),
        refs,
        "the plain file holds them"
    );

    // Encrypted: none of them.
    assert_eq!(found_in(&env.db(), &wanted), Vec::<String>::new());

    // No key, a wrong key: refused, saying why, never showing a key.
    let none = haven_with(&env, None, &["batches"]);
    assert_ne!(none.code(), 0);
    assert!(
        none.stderr().contains("is encrypted: give its key"),
        "{}",
        none.stderr()
    );
    let (wrong, wrong_text) = key_file(&env, "wrong.key");
    let refused = haven_with(&env, Some(&wrong), &["batches"]);
    assert_ne!(refused.code(), 0);
    assert!(
        refused
            .stderr()
            .contains("is not the key the database was encrypted with"),
        "{}",
        refused.stderr()
    );
    for r in [&none, &refused] {
        assert!(!r.stderr().contains(&key_text) && !r.stderr().contains(&wrong_text));
    }
    // A key for a plain database is refused too: it would otherwise go on writing in clear.
    let keyed_plain = Run(plain
        .haven()
        .env("HAVEN_DB_KEY_FILE", &key)
        .args(["batches"])
        .output()
        .unwrap());
    assert!(
        keyed_plain.stderr().contains("is not encrypted"),
        "{}",
        keyed_plain.stderr()
    );

    // The right key: the loads are there, and more loads go into the encrypted file.
    let batches = haven_with(&env, Some(&key), &["batches"]).ok();
    assert!(
        batches.stdout().contains("placements"),
        "{}",
        batches.stdout()
    );
    let demo = env.path("demo");
    haven_with(
        &env,
        Some(&key),
        &[
            "ingest",
            "placements",
            demo.join("placements.csv").to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(found_in(&env.db(), &wanted), Vec::<String>::new());

    // A backup of it is encrypted with the same key, and checked only with it.
    let backup = env.path("backup");
    haven_with(&env, Some(&key), &["backup", backup.to_str().unwrap()]).ok();
    assert_eq!(
        found_in(&backup.join("haven.duckdb"), &wanted),
        Vec::<String>::new()
    );
    let unkeyed = haven_with(
        &env,
        None,
        &["restore", "--check", backup.to_str().unwrap()],
    );
    assert!(
        unkeyed.stderr().contains("the backup is encrypted"),
        "{}",
        unkeyed.stderr()
    );
    haven_with(
        &env,
        Some(&key),
        &["restore", "--check", backup.to_str().unwrap()],
    )
    .ok();
}

#[test]
fn the_server_works_on_an_encrypted_database_and_rekey_rotates_its_key() {
    let env = Env::new();
    let (key, _) = key_file(&env, "db.key");
    // Served, an officer uploads the register and the placements; while the server still
    // holds the database, its file and write-ahead log are searched. Plain: every reference
    // and address is there. Encrypted: none.
    let plain = Env::new();
    let (refs, addresses) = personal_strings(&plain.with_districts());
    let wanted = [refs, addresses].concat();
    let (server, _, _) = serve_and_upload(&plain, None);
    assert_eq!(
        found_in(&plain.db(), &wanted),
        wanted,
        "the plain file and log hold them"
    );
    drop(server);

    haven_with(
        &env,
        Some(&key),
        &[
            "ingest",
            "districts",
            plain.path("demo/districts.geojson").to_str().unwrap(),
        ],
    )
    .ok();
    std::fs::create_dir_all(env.path("demo")).unwrap();
    for f in ["placements.csv", "leegstand_vacant_properties.csv"] {
        std::fs::copy(plain.path("demo").join(f), env.path("demo").join(f)).unwrap();
    }
    let (server, url, token) = serve_and_upload(&env, Some(&key));
    assert_eq!(found_in(&env.db(), &wanted), Vec::<String>::new());
    // Reads work on the pooled readers of the encrypted database.
    let agent = ureq::Agent::new_with_defaults();
    let status = agent.get(format!("{url}/api/v1/status")).call().unwrap();
    assert_eq!(status.status(), 200);
    let rows = agent
        .get(format!("{url}/api/v1/officer/vacant-properties?limit=5"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(rows.contains("VP-0"), "{rows}");
    drop(server);
    assert_eq!(found_in(&env.db(), &wanted), Vec::<String>::new());

    // The key is rotated: the old one no longer opens the database, the new one does, and
    // every table came across.
    let before = haven_with(&env, Some(&key), &["batches"]).ok().stdout();
    let (new_key, new_text) = key_file(&env, "db.key.2");
    let rotated = haven_with(
        &env,
        Some(&key),
        &["rekey", "--new-key-file", new_key.to_str().unwrap()],
    )
    .ok();
    assert!(
        rotated.stderr().contains("now encrypted"),
        "{}",
        rotated.stderr()
    );
    assert!(!rotated.stderr().contains(&new_text));
    let old = haven_with(&env, Some(&key), &["batches"]);
    assert!(old.stderr().contains("is not the key"), "{}", old.stderr());
    assert_eq!(
        haven_with(&env, Some(&new_key), &["batches"]).ok().stdout(),
        before
    );
    assert_eq!(found_in(&env.db(), &wanted), Vec::<String>::new());

    // The plain database is encrypted in place the same way.
    assert!(!found_in(&plain.db(), &wanted).is_empty());
    haven_with(
        &plain,
        None,
        &["rekey", "--new-key-file", new_key.to_str().unwrap()],
    )
    .ok();
    assert_eq!(found_in(&plain.db(), &wanted), Vec::<String>::new());
    let batches = haven_with(&plain, Some(&new_key), &["batches"]).ok();
    assert!(
        batches.stdout().contains("vacant_properties"),
        "{}",
        batches.stdout()
    );
}

/// `haven serve` on `env`'s database (with the key in the file `key`), and an officer's
/// uploads of the vacancy register and the placements in its `demo/` folder.
fn serve_and_upload(env: &Env, key: Option<&Path>) -> (common::Server, String, String) {
    let token = haven_with(env, key, &["users", "add", "ana", "--role", "officer"])
        .ok()
        .stdout()
        .trim()
        .to_string();
    let key_var = key.map(|k| k.to_str().unwrap().to_string());
    let vars: Vec<(&str, &str)> = key_var
        .as_deref()
        .map(|k| ("HAVEN_DB_KEY_FILE", k))
        .into_iter()
        .collect();
    let (server, url) = env.serve_with(&vars, None);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    for (dataset, file) in [
        ("vacant_properties", "leegstand_vacant_properties.csv"),
        ("placements", "placements.csv"),
    ] {
        let bytes = std::fs::read(env.path("demo").join(file)).unwrap();
        let mut r = agent
            .post(format!("{url}/api/v1/ingest/{dataset}?source={file}"))
            .header("Authorization", &format!("Bearer {token}"))
            .send(&bytes[..])
            .unwrap();
        let body = r.body_mut().read_to_string().unwrap();
        assert_eq!(r.status(), 200, "{body}");
        assert!(body.contains("\"loaded"), "{file}: {body}");
    }
    (server, url, token)
}
