//! `[filters]` (issue 10): excluded entries are stored but hidden from
//! list, search and exports unless `--include-filtered`; changing a rule
//! loses nothing and takes effect without a sync.

use serde_json::Value;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

struct Setup {
    env: TestEnv,
    server: Server,
}

impl Setup {
    fn new() -> Setup {
        let server = Server::start();
        server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
        server.route("/dawn.json", Reply::xml(fixture("jsonfeed.json")));
        Setup { env: TestEnv::new(), server }
    }

    /// feeds.toml with `global` as its [filters] and `dawn` as Dawn's.
    fn config(&self, global: &str, dawn: &str) {
        self.env.write_config(&format!(
            "[filters]\n{global}\n\n[[feeds]]\nurl = \"{}\"\nname = \"Bol News\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Dawn\"\n[feeds.filters]\n{dawn}\n",
            self.server.url("/bol.xml"),
            self.server.url("/dawn.json"),
        ));
    }

    fn titles(&self, args: &[&str]) -> Vec<String> {
        let (code, out, err) = self.env.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let rows = v.get("items").unwrap_or(&v).as_array().unwrap().clone();
        let mut t: Vec<String> = rows.iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect();
        t.sort();
        t
    }
}

const PSX: &str = "PSX closes higher on banking rally";
const RUPEE: &str = "Rupee steady against dollar";
const GWADAR: &str = "Gwadar port handles record cargo volume";

#[test]
fn filtered_entries_are_stored_but_hidden_unless_asked_for() {
    let s = Setup::new();
    // A keyword for every feed; an author regex for Dawn only.
    s.config("exclude = [\"PSX\"]", "exclude_author = [\"^business desk$\"]");
    s.env.cmd(&["sync"]).assert().success();
    assert_eq!(s.env.count("SELECT COUNT(*) FROM entries"), 5, "excluded entries are stored");
    assert_eq!(s.env.count("SELECT COUNT(*) FROM filtered_entries"), 2);

    let listed = s.titles(&["list", "--json"]);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(!listed.contains(&PSX.to_owned()) && !listed.contains(&RUPEE.to_owned()), "{listed:?}");
    let all = s.titles(&["list", "--json", "--include-filtered"]);
    assert_eq!(all.len(), 5, "{all:?}");

    assert!(s.titles(&["search", "banking", "--json"]).is_empty());
    assert_eq!(s.titles(&["search", "banking", "--json", "--include-filtered"]), [PSX]);
    assert!(s.titles(&["search", "rupee", "--json"]).is_empty());

    let stats: Value = serde_json::from_str(&s.env.run(&["stats", "--json"]).1).unwrap();
    assert_eq!(stats["filtered"], 2);
    assert_eq!(stats["stories"]["total"], 3, "stats leave hidden entries out");
    let stats: Value = serde_json::from_str(&s.env.run(&["stats", "--json", "--include-filtered"]).1).unwrap();
    assert_eq!(stats["stories"]["total"], 5);
    assert!(s.env.run(&["stats"]).1.contains("[filters] hide 2 stored entries; --include-filtered counts them."));

    for export in ["json", "html", "atom"] {
        let (_, out, _) = s.env.run(&["export", export]);
        assert!(!out.contains(PSX) && !out.contains(RUPEE) && out.contains(GWADAR), "{export}: {out}");
        let (_, out, _) = s.env.run(&["export", export, "--include-filtered"]);
        assert!(out.contains(PSX) && out.contains(RUPEE), "{export} --include-filtered: {out}");
    }
}

#[test]
fn changing_a_filter_loses_nothing_and_needs_no_sync() {
    let s = Setup::new();
    s.config("exclude_title = [\"^gwadar\"]", "");
    s.env.cmd(&["sync"]).assert().success();
    assert!(!s.titles(&["list", "--json"]).contains(&GWADAR.to_owned()));

    // Rule removed: the entry is back at once, without fetching anything.
    let hits = s.server.hits("/bol.xml");
    s.config("", "");
    assert!(s.titles(&["list", "--json"]).contains(&GWADAR.to_owned()));
    assert_eq!(s.server.hits("/bol.xml"), hits);
    assert_eq!(s.env.count("SELECT COUNT(*) FROM filtered_entries"), 0);

    // A text regex, then a per-feed keyword that only applies to its feed.
    s.config("exclude_text = [\"interbank|stock exchange\"]", "");
    let listed = s.titles(&["list", "--json"]);
    assert!(!listed.contains(&RUPEE.to_owned()) && !listed.contains(&PSX.to_owned()), "{listed:?}");
    s.config("", "exclude = [\"Gwadar\", \"CPEC\"]");
    let listed = s.titles(&["list", "--json"]);
    assert!(listed.contains(&GWADAR.to_owned()), "Bol's Gwadar story stays: {listed:?}");
    assert!(!listed.contains(&"ML-1 railway financing talks resume".to_owned()), "{listed:?}");
}

#[test]
fn a_damaged_entry_text_does_not_stop_filtering_and_the_sync_mends_it() {
    let s = Setup::new();
    s.config("", "");
    s.env.cmd(&["sync"]).assert().success();
    let id = s.env.count("SELECT MIN(e.id) FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE f.name = 'Dawn'");
    let conn = rusqlite::Connection::open(s.env.db_path()).unwrap();
    conn.execute("UPDATE entries SET body = substr(body, 1, length(body) / 2) WHERE id = ?1", [id]).unwrap();
    drop(conn);
    // Dawn gets rules of its own: its entries are evaluated, the damaged one by its title and author.
    s.config("", "exclude_title = [\"^nothing matches this$\"]");
    let (code, out, err) = s.env.run(&["-v", "stats"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("filtered by its title and author only") && !err.contains("could not apply"), "{err}");
    assert_eq!(s.env.count("SELECT COUNT(*) FROM feeds WHERE name = 'Dawn' AND filters_key IS NOT NULL"), 1);
    let (code, out, err) = s.env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = s.env.run(&["show", &id.to_string()]);
    assert!(code == 0 && !err.contains("damaged"), "mended: {err}");
}

#[test]
fn an_entry_changed_at_the_source_is_filtered_again() {
    let s = Setup::new();
    let feed = |title: &str| {
        format!(
            r#"{{"version": "https://jsonfeed.org/version/1.1", "title": "Changing",
  "items": [{{"id": "c1", "url": "https://c.example/1", "title": "{title}",
  "content_text": "A story long enough to be stored as one.", "date_published": "2021-10-20T10:00:00Z"}}]}}"#
        )
    };
    s.server.route(
        "/dawn.json",
        Reply::Sequence(vec![Reply::xml(feed("Plain news")), Reply::xml(feed("Sponsored: plain news"))]),
    );
    s.config("exclude_title = [\"^sponsored:\"]", "");
    s.env.cmd(&["sync", "--feed", "Dawn"]).assert().success();
    assert_eq!(s.titles(&["list", "--json", "--feed", "Dawn"]), ["Plain news"]);
    s.env.cmd(&["sync", "--feed", "Dawn"]).assert().success();
    assert!(s.titles(&["list", "--json", "--feed", "Dawn"]).is_empty());
    assert_eq!(s.titles(&["list", "--json", "--feed", "Dawn", "--include-filtered"]), ["Sponsored: plain news"]);
}

#[test]
fn a_bad_filter_is_reported_with_its_line() {
    let s = Setup::new();
    s.config("exclude_title = [\"(unclosed\"]", "");
    let (code, _, err) = s.env.run(&["sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("feeds.toml:2: `exclude_title` pattern \"(unclosed\" is not a valid regular expression"),
        "{err}"
    );
}
