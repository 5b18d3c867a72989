//! The running server against its own OpenAPI 3.1 document, checked by schemathesis: generated
//! requests to every operation (valid and invalid), no 5xx, and every response — status, content
//! type, headers, body — as the document describes it. It signs in as an admin, so the restricted
//! operations are exercised too.

mod common;

use common::Env;

#[test]
fn schemathesis_finds_no_server_error_and_no_response_off_the_schema() {
    let env = Env::new();
    env.with_demo();
    let token = env.add_user("contract", "admin");
    // Generated requests come faster than the default rate limit allows one client.
    let (_server, url) = env.serve_with(&[("HAVEN_RATE_LIMIT", "0")], None);
    let out = std::process::Command::new(common::venv_tool("schemathesis"))
        .current_dir(env.dir.path())
        .args([
            "run",
            &format!("{url}/api/v1/openapi.json"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--max-examples",
            "25",
            "--seed",
            "20261122",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--generation-with-security-parameters",
            "false",
            // Only the local operator (the `haven backup` command on the server's machine) may
            // take a backup: every token gets 403 there, by design (api/tests/auth.rs).
            "--exclude-path",
            "/api/v1/admin/backup",
        ])
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}"
    );
    // Every operation was exercised, none only refused.
    let selected = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Selected: "))
        .and_then(|v| v.split('/').next())
        .map(str::to_string);
    let tested = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .map(str::to_string);
    assert!(
        selected.is_some() && selected == tested,
        "not every operation was tested:\n{report}"
    );
    assert!(
        !report.contains("Authentication failed"),
        "operations were only refused:\n{report}"
    );
    eprintln!("{report}");
}
