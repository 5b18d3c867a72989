//! Officer accounts as an administrator sets them up: `haven users add` prints a token once and
//! stores only its argon2 hash; the running server lets the officer in, keeps the public out,
//! and never writes the token to its log, even at debug level.

mod common;

use common::Env;

fn call(url: &str, method: &str, token: Option<&str>) -> u16 {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let res = match (method, token) {
        ("GET", Some(t)) => agent
            .get(url)
            .header("Authorization", &format!("Bearer {t}"))
            .call(),
        ("GET", None) => agent.get(url).call(),
        (_, Some(t)) => agent
            .post(url)
            .header("Authorization", &format!("Bearer {t}"))
            .header("Content-Type", "application/json")
            .send(r#"{"name": "eve", "role": "admin"}"#),
        (_, None) => agent.post(url).send(""),
    };
    res.expect("server answers").status().as_u16()
}

#[test]
fn tokens_are_shown_once_hashed_at_rest_and_never_logged() {
    let env = Env::new();
    env.with_demo();
    let run = env
        .run(&["users", "add", "alice", "--role", "officer"])
        .ok();
    let token = run.stdout().trim().to_string();
    assert!(token.starts_with("hvn_") && token.len() > 60, "{token}");
    assert!(run.stderr().contains("shown once"));
    let run = env
        .run(&["users", "add", "alice", "--role", "officer"])
        .code_is(1);
    assert!(
        run.stderr().contains("user 'alice' exists"),
        "{}",
        run.stderr()
    );
    let run = env
        .run(&["users", "add", "bob", "--role", "mayor"])
        .code_is(2);
    assert!(run.stderr().contains("officer"), "{}", run.stderr());
    let listed = env.run(&["users", "list"]).ok().stdout();
    assert!(listed.contains("alice") && listed.contains("officer"));
    assert!(!listed.contains(&token));
    let secret = token.rsplit('_').next().unwrap().to_string();
    let hash: String = env
        .query()
        .query_row(
            "SELECT token_hash FROM users WHERE name = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains(&secret),
        "{hash}"
    );

    let log = env.path("serve.log");
    let (server, url) = env.serve_with(&[("HAVEN_LOG", "debug")], Some(&log));
    let restricted = format!("{url}/api/v1/officer/vacant-properties?limit=5");
    assert_eq!(call(&restricted, "GET", None), 401);
    assert_eq!(call(&restricted, "GET", Some(&token)), 200);
    assert_eq!(call(&restricted, "GET", Some("hvn_1_wrong")), 401);
    assert_eq!(
        call(&format!("{url}/api/v1/admin/users"), "POST", Some(&token)),
        403
    );
    assert_eq!(
        call(
            &format!("{url}/api/v1/indicators?limit=1"),
            "GET",
            Some(&token)
        ),
        200
    );
    // Stopped as a service manager stops it: the audit entries still waiting are written.
    let mut server = server;
    std::process::Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    server.0.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("DEBUG") || text.contains("INFO"),
        "the log was written: {text}"
    );
    assert!(
        !text.contains(&secret),
        "the token appears in the server log"
    );
    let audit = env.count(
        "SELECT count(*) FROM audit_log WHERE actor = 'alice' AND target = '/api/v1/officer/vacant-properties' AND status = 200",
    );
    assert_eq!(audit, 1);
}
