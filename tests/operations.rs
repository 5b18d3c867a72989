//! Running Haven for years, through the `haven` binary: a backup taken while the server
//! answers readers, checked and restored into a new folder with the same tables and the same
//! releases; a damaged backup refused before anything is restored; and the retention period of
//! placements.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::Env;

/// Every table of a database with its rows and an order-independent hash of its contents,
/// computed here (not by Haven).
fn tables(db: &Path, except: &[&str]) -> Vec<(String, i64, String)> {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let c = duckdb::Connection::open_with_flags(db, config).unwrap();
    let mut stmt = c
        .prepare(
            "SELECT table_name FROM information_schema.tables
             WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .unwrap();
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|n: &String| !except.contains(&n.as_str()))
        .collect();
    names
        .into_iter()
        .map(|n| {
            let (rows, hash): (i64, String) = c
                .query_row(
                    &format!("SELECT count(*), coalesce(sum(hash(x::VARCHAR) % 1000000007), 0)::VARCHAR FROM main.\"{n}\" x"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            (n, rows, hash)
        })
        .collect()
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_backup_taken_while_serving_restores_to_the_same_tables_and_releases() {
    let env = Env::new();
    env.with_demo();
    // Readers keep reading while the backup is taken (as fast as they can: no rate limit).
    let (server, url) = env.serve_with(&[("HAVEN_RATE_LIMIT", "0")], None);
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let reader = {
        let (stop, reads, failed, url) = (
            Arc::clone(&stop),
            Arc::clone(&reads),
            Arc::clone(&failed),
            url,
        );
        std::thread::spawn(move || {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let path = ["/api/v1/districts", "/api/v1/status", "/api/v1/catalog"][i % 3];
                match agent.get(format!("{url}{path}")).call() {
                    Ok(r) if r.status() == 200 => reads.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    let backup = env.path("backups/2026-11-30");
    let run = env.run(&["backup", backup.to_str().unwrap()]).ok();
    assert!(run.stderr().contains("backed up"), "{}", run.stderr());
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert!(reads.load(Ordering::Relaxed) > 0);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "every read was answered");
    // A second backup into the same folder is refused.
    let again = env.run(&["backup", backup.to_str().unwrap()]);
    assert_ne!(again.code(), 0);
    assert!(
        again.stderr().contains("is not empty"),
        "{}",
        again.stderr()
    );
    drop(server);

    // Restored into a new folder: the same tables (the audit log of the requests after the
    // snapshot aside) and the same releases, byte for byte.
    let restored = env.path("restored");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_haven"))
        .current_dir(env.dir.path())
        .env("HAVEN_PUBLISHED", restored.join("published"))
        .args([
            "--db",
            restored.join("haven.duckdb").to_str().unwrap(),
            "restore",
            backup.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        tables(&env.db(), &["audit_log"]),
        tables(&restored.join("haven.duckdb"), &["audit_log"])
    );
    assert!(
        tables(&env.db(), &[])
            .iter()
            .any(|(n, rows, _)| n == "placements" && *rows > 0)
    );
    assert_eq!(
        files(&env.path("published")),
        files(&restored.join("published"))
    );
    // The restored database serves.
    let served = Env {
        dir: tempfile::tempdir_in(&restored).unwrap(),
    };
    std::fs::rename(restored.join("haven.duckdb"), served.db()).unwrap();
    let (server, url) = served.serve();
    let mut res = ureq::get(format!("{url}/api/v1/status")).call().unwrap();
    assert!(
        res.body_mut()
            .read_to_string()
            .unwrap()
            .contains("placements")
    );
    drop(server);

    // Restoring over an existing database is refused; a damaged backup is refused before
    // anything is written.
    let over = env.run(&["restore", backup.to_str().unwrap()]);
    assert_ne!(over.code(), 0);
    assert!(over.stderr().contains("exists"), "{}", over.stderr());
    let release = std::fs::read_dir(backup.join("published/v1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .unwrap();
    let mut bytes = std::fs::read(&release).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&release, bytes).unwrap();
    let check = env.run(&["restore", "--check", backup.to_str().unwrap()]);
    assert_ne!(check.code(), 0);
    assert!(
        check.stderr().contains("does not match its checksum"),
        "{}",
        check.stderr()
    );
}

#[test]
fn placements_past_the_retention_period_are_deleted_and_recorded() {
    let env = Env::new();
    env.with_demo();
    let old = "SELECT count(*) FROM placements WHERE end_date < current_date - INTERVAL 24 MONTH";
    let expired = env.count(old);
    let kept = env.count("SELECT count(*) FROM placements") - expired;
    assert!(expired > 0 && kept > 0, "{expired} expired, {kept} kept");
    // Without a retention period nothing is deleted.
    let run = env.run(&["erase", "expired"]).ok();
    assert!(
        run.stderr().contains("no retention period"),
        "{}",
        run.stderr()
    );
    std::fs::write(
        env.path("haven.toml"),
        "[retention]\nplacements_months = 24\n",
    )
    .unwrap();
    let run = env.run(&["erase", "expired"]).ok();
    assert!(
        run.stderr()
            .contains(&format!("erased {expired} placements")),
        "{}",
        run.stderr()
    );
    assert_eq!(env.count(old), 0);
    assert_eq!(env.count("SELECT count(*) FROM placements"), kept);
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM erasures WHERE kind = 'retention' AND rows_erased = {expired}"
        )),
        1
    );
    // The server reads the same file (its jobs' part too) and applies the period at start;
    // nothing is left for it, nor for a second pass.
    let (server, _) = env.serve();
    drop(server);
    let run = env.run(&["erase", "expired"]).ok();
    assert!(
        run.stderr().contains("erased 0 placements"),
        "{}",
        run.stderr()
    );
}

/// A server holds its memory for months: it asks the kernel for no transparent huge pages, whose
/// 2 MiB pages stay resident for the few bytes left in them (BENCHMARKS.md, the soak).
#[cfg(target_os = "linux")]
#[test]
fn the_server_asks_the_kernel_for_no_transparent_huge_pages() {
    let env = Env::new();
    let (server, _) = env.serve();
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.0.id())).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().eq(["THP_enabled:", "0"])),
        "{status}"
    );
}
