//! `syndic feeds`.

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

#[test]
fn feeds_lists_state_as_table_and_json() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Bol News\"\ntopics = [\"pakistan\", \"cpec\"]\n\n[[feeds]]\nurl = \"{}\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Never\"\n",
        server.url("/bol.xml"),
        server.url("/404"),
        server.url("/never")
    ));
    // Before any sync: listed, never synced, and no database is created.
    let (code, stdout, _) = env.run(&["feeds"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("never synced"), "{stdout}");
    assert!(!env.db_path().exists());

    env.cmd(&["sync", "--feed", "Bol News", "--feed", &server.url("/404")]).assert().code(2);
    let narrow = env.run(&["feeds"]).1;
    assert!(narrow.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 100), "{narrow}");
    let out = env.cmd(&["feeds"]).env("COLUMNS", "200").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let cells =
        |line: &str| line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("NAME") && lines[0].contains("ENTRIES") && lines[0].contains("LAST ERROR"));
    assert_eq!(cells(lines[1]), ["Bol News", "pakistan,cpec", "3", "2021-10-25 12:00", &server.url("/bol.xml"), "-"]);
    assert_eq!(cells(lines[2]).last().unwrap(), "HTTP 404 (not found)");
    assert_eq!(cells(lines[3]), ["Never", "0", "-", &server.url("/never"), "never synced"]);

    let (_, json, _) = env.run(&["feeds", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let bol = &v[0];
    assert_eq!(bol["name"], "Bol News");
    assert_eq!(bol["url"], server.url("/bol.xml"));
    assert_eq!(bol["title"], "Bol News");
    assert_eq!(bol["site_url"], "https://www.bolnews.com/");
    assert_eq!(bol["topics"], serde_json::json!(["pakistan", "cpec"]));
    assert_eq!(bol["entries"], 3);
    assert_eq!(bol["last_success"], "2021-10-25T12:00:00Z");
    assert_eq!(bol["last_error"], serde_json::Value::Null);
    let failed = &v[1];
    assert_eq!(failed["name"], server.url("/404"));
    assert_eq!(failed["http_status"], 404);
    assert_eq!(failed["last_error"], "HTTP 404 (not found)");
    assert_eq!(failed["consecutive_failures"], 1);
    assert_eq!(failed["last_success"], serde_json::Value::Null);
}
