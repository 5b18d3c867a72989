//! The dashboard in a real browser: the demo loaded by the `haven` binary, served on loopback,
//! and driven in headless Chromium by tests/browser/dashboard.test.mjs (node's test runner,
//! playwright-core, axe-core). Screenshots of every page at desktop and 375 px width land in
//! `target/screenshots` (or `HAVEN_SCREENSHOTS`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Env, chromium};

#[test]
fn the_dashboard_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests = root.join("tests/browser");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "the browser tests' packages are missing: npm ci --prefix tests/browser (make test does)"
    );
    let browser = chromium();
    let shots = std::env::var("HAVEN_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/screenshots"));

    let env = Env::new();
    env.with_demo();
    let token = env.add_user("olivia", "officer");
    let (_server, url) = env.serve_with(&[], Some(&env.path("serve.log")));

    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "dashboard.test.mjs"])
        .current_dir(&tests)
        .env("HAVEN_URL", &url)
        .env("HAVEN_TOKEN", &token)
        .env("HAVEN_CHROMIUM", &browser)
        .env("HAVEN_SCREENSHOTS", &shots)
        .output()
        .expect("node runs the browser tests");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "browser tests failed:\n{report}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(env.path("serve.log")).unwrap_or_default()
    );
    for name in ["overview", "map", "scenario", "officer-map"] {
        for width in ["desktop", "375"] {
            let shot = shots.join(format!("{name}-{width}.png"));
            assert!(shot.exists(), "{} was saved", shot.display());
        }
    }
}

/// A municipality with only districts and a vacancy register, in the browser
/// (tests/browser/vacancy_only.test.mjs): the overview says what is missing and shows its
/// vacancy figures.
#[test]
fn a_vacancy_only_municipality_in_headless_chromium() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "the browser tests' packages are missing: npm ci --prefix tests/browser (make test does)"
    );
    let env = Env::new();
    env.with_vacancy_register(&[]);
    env.run(&["publish"]).ok();
    let (_server, url) = env.serve();
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "vacancy_only.test.mjs"])
        .current_dir(&tests)
        .env("HAVEN_URL", &url)
        .env("HAVEN_CHROMIUM", chromium())
        .output()
        .expect("node runs the browser tests");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser tests failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
