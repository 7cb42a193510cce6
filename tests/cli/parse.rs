//! Decoding and parse details seen through the whole pipeline: a feed's
//! charset mislabelled or missing, and a `Retry-After` date measured from the
//! run's clock (issue 9).

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

fn env_for(server: &Server, feeds: &[(&str, &str)]) -> TestEnv {
    let env = TestEnv::new();
    let mut config = String::from("[settings]\ntimeout = \"3s\"\n");
    for (path, name) in feeds {
        config.push_str(&format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n\n", server.url(path)));
    }
    env.write_config(&config);
    env
}

fn entries_json(env: &TestEnv) -> Vec<serde_json::Value> {
    let (code, out, err) = env.run(&["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    // One JSON document or JSON Lines: either way, entries in order.
    serde_json::from_str::<Vec<serde_json::Value>>(&out)
        .unwrap_or_else(|_| out.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

#[test]
fn utf8_declared_as_latin1_keeps_its_text_whole() {
    let server = Server::start();
    // The server says ISO-8859-1 too, as a misconfigured one would.
    server.route(
        "/mislabelled",
        Reply::Ok {
            status: 200,
            content_type: "application/rss+xml; charset=ISO-8859-1",
            body: fixture("utf8-declared-latin1.xml"),
            etag: None,
            headers: vec![],
        },
    );
    let env = env_for(&server, &[("/mislabelled", "Mislabelled")]);
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let entries = entries_json(&env);
    assert_eq!(entries[0]["title"], "Café “Zürich” — ünïcode intact");
    let text = serde_json::to_string(&entries[0]).unwrap();
    assert!(text.contains("then the rest of the text."), "{text}");
    assert!(!text.contains('Ã'), "mojibake: {text}");
}

#[test]
fn undeclared_legacy_charset_is_detected() {
    let server = Server::start();
    server.route("/novosti", Reply::xml(fixture("cp1251-undeclared.xml")));
    let env = env_for(&server, &[("/novosti", "Novosti")]);
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(entries_json(&env)[0]["title"], "Привет, как дела? Новости дня");
}

#[test]
fn a_retry_after_date_is_measured_from_the_runs_clock() {
    // The run's clock is pinned at 2021-10-25T12:00:00Z (common::NOW): a
    // date two hours later is a two-hour wait, whatever the wall clock says.
    let server = Server::start();
    server.route("/later", Reply::status(429, "slow down").with_header("Retry-After", "Mon, 25 Oct 2021 14:00:00 GMT"));
    let env = env_for(&server, &[("/later", "Later")]);
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("the server asks to wait 2h"), "{err}");
    let feeds: serde_json::Value = serde_json::from_str(&env.run(&["feeds", "--json"]).1).unwrap();
    assert_eq!(feeds[0]["next_attempt"], "2021-10-25T14:00:00Z");
}
