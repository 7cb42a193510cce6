//! Review of the sync write path (parse workers computing copy-detection
//! data, one transaction per batch): what a sync stores must be what the
//! writer alone (and `dedup --rebuild`) would have stored.

use serde_json::Value;

use crate::common::TestEnv;
use crate::server::{Reply, Server};

/// A one-paragraph footer (of several paragraphs, none is learnt while the
/// others still make the posts look alike: see the report).
const FOOTER: &[&str] = &[
    "Subscribe to the Lakeside Chronicle newsletter to get our stories about courts, schools and the council in your inbox every morning, or call +1 555 201 3344 with a tip.",
];

/// One RSS item whose content is `paragraphs`.
fn item(guid: &str, title: &str, date: &str, paragraphs: &[&str]) -> String {
    let html: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<item><title>{title}</title><link>https://example.org/{guid}</link><guid>{guid}</guid>\
         <pubDate>{date}</pubDate><content:encoded><![CDATA[{html}]]></content:encoded></item>"
    )
}

fn feed(title: &str, items: &[String]) -> String {
    format!(
        "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>{title}</title>\
         <link>https://{}.example/</link>{}</channel></rss>",
        title.to_lowercase().replace(' ', "-"),
        items.concat()
    )
}

fn with_footer(lead: &str) -> Vec<&str> {
    let mut p = vec![lead];
    p.extend_from_slice(FOOTER);
    p
}

/// (id, duplicate_of) of every entry.
fn stories(env: &TestEnv) -> Vec<(i64, Option<i64>)> {
    let (code, out, err) = env.run(&["list", "--all", "--json", "--limit", "1000"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let mut s: Vec<(i64, Option<i64>)> =
        rows.iter().map(|r| (r["id"].as_i64().unwrap(), r["duplicate_of"].as_i64())).collect();
    s.sort();
    s
}

fn fingerprints(env: &TestEnv) -> Vec<Vec<String>> {
    env.query("SELECT entry_id, hex(data), hex(keys), day FROM fingerprints ORDER BY entry_id")
}

/// A sync that rebuilds the stories first (a new DEDUP_VERSION, or the
/// first sync after migration 009) must compare its new entries with the
/// boilerplate of the rebuilt counts, not with the counts from before: the
/// parse workers' snapshot has to be taken after the rebuild.
#[test]
fn a_sync_that_rebuilds_first_compares_new_entries_as_the_rebuild_does() {
    let server = Server::start();
    let env = TestEnv::new();
    // (SYNDIC_NOW is 2021-10-25.)
    let (old, date) = ("Fri, 05 Mar 2021 09:00:00 +0000", "Sun, 24 Oct 2021 09:00:00 +0000");
    // A feed whose footer is learnt as boilerplate, months ago.
    let chronicle = feed(
        "Lakeside Chronicle",
        &[
            item("c1", "Budget approved", old, &with_footer("The council approved the new budget on Tuesday after a long debate about road repairs, parks and the library hours.")),
            item("c2", "Schools reopen", old, &with_footer("Schools will reopen next week after repairs to the roof of the main building were finished ahead of schedule.")),
            item("c3", "Bridge closed", old, &with_footer("The old river bridge is closed to trucks until inspectors finish checking the cracks found in its eastern pier.")),
        ],
    );
    let keep = feed(
        "Keep",
        &[item("k1", "Weather", date, &["Rain is expected all week across the valley, with flooding possible near the lower fields and the old mill."])],
    );
    server.route("/chronicle.xml", Reply::xml(chronicle));
    server.route("/keep.xml", Reply::xml(keep));
    let config = |feeds: &[(&str, &str)]| {
        feeds
            .iter()
            .map(|(path, name)| format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n\n", server.url(path)))
            .collect::<String>()
    };
    env.write_config(&config(&[("/keep.xml", "Keep"), ("/chronicle.xml", "Chronicle")]));
    env.cmd(&["sync"]).assert().success();
    assert!(
        env.count("SELECT COUNT(*) FROM paragraph_counts WHERE boilerplate = 1") > 0,
        "the footer is learnt: {:?} {:?}",
        env.query("SELECT hash, feed_id, entries, boilerplate, length(sample) FROM paragraph_counts"),
        env.run(&["list", "--all"])
    );
    // Its entries go, their paragraph counts stay; a rebuild forgets them.
    env.cmd(&["prune", "--older-than", "90d"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 1);
    // What a new DEDUP_VERSION (or migration 009) leaves: stories rebuilt by the next sync.
    rusqlite::Connection::open(env.db_path())
        .unwrap()
        .execute("DELETE FROM meta WHERE key = 'dedup_version'", [])
        .unwrap();
    // Two short posts of two other sites that carry the same footer (a
    // syndicated template): the footer is no boilerplate any more.
    let b = feed("Bee", &[item("b1", "Budget approved", date, &with_footer("The council approved the new budget on Tuesday after a long debate about road repairs, parks and the library hours."))]);
    let d = feed("Dee", &[item("d1", "Schools reopen", date, &with_footer("Schools will reopen next week after repairs to the roof of the main building were finished ahead of schedule."))]);
    server.route("/b.xml", Reply::xml(b));
    server.route("/d.xml", Reply::xml(d));
    env.write_config(&config(&[("/keep.xml", "Keep"), ("/b.xml", "Bee"), ("/d.xml", "Dee")]));
    env.cmd(&["sync"]).assert().success();
    let (synced, synced_fp) = (stories(&env), fingerprints(&env));
    env.cmd(&["dedup", "--rebuild"]).assert().success();
    assert_eq!(synced, stories(&env), "the stories a sync forms are those a rebuild forms");
    assert_eq!(synced_fp, fingerprints(&env), "the fingerprints a sync stores are those a rebuild computes");
}

/// The other way round: boilerplate that the rebuild at the start of a sync
/// learns (and the store from before had not) must be left out of the new
/// entries the parse workers prepared before the rebuild.
#[test]
fn boilerplate_a_sync_learns_by_rebuilding_is_left_out_of_its_new_entries() {
    let server = Server::start();
    let env = TestEnv::new();
    let date = "Sun, 24 Oct 2021 09:00:00 +0000";
    let leads = [
        "The council approved the new budget on Tuesday after a long debate about road repairs, parks and the library hours.",
        "Schools will reopen next week after repairs to the roof of the main building were finished ahead of schedule.",
        "The old river bridge is closed to trucks until inspectors finish checking the cracks found in its eastern pier.",
    ];
    let items: Vec<String> = leads
        .iter()
        .enumerate()
        .map(|(i, l)| item(&format!("c{i}"), &format!("Story {i}"), date, &with_footer(l)))
        .collect();
    server.route("/chronicle.xml", Reply::xml(feed("Lakeside Chronicle", &items)));
    let bee = feed(
        "Bee",
        &[item("b1", "Ferry", date, &with_footer("The ferry to the island runs twice a day again after the new pier opened to passengers on Monday morning."))],
    );
    server.route("/b.xml", Reply::xml(bee));
    let config = |feeds: &[(&str, &str)]| {
        feeds
            .iter()
            .map(|(path, name)| format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n\n", server.url(path)))
            .collect::<String>()
    };
    env.write_config(&config(&[("/chronicle.xml", "Chronicle")]));
    env.cmd(&["sync"]).assert().success();
    assert!(env.count("SELECT COUNT(*) FROM paragraph_counts WHERE boilerplate = 1") > 0, "the footer is learnt");
    // A store whose copy detection had not learnt it, due for a rebuild
    // (a new DEDUP_VERSION with other rules for boilerplate).
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute_batch("UPDATE paragraph_counts SET boilerplate = 0; DELETE FROM meta WHERE key = 'dedup_version';")
        .unwrap();
    drop(conn);
    env.write_config(&config(&[("/chronicle.xml", "Chronicle"), ("/b.xml", "Bee")]));
    env.cmd(&["sync"]).assert().success();
    let synced_fp = fingerprints(&env);
    env.cmd(&["dedup", "--rebuild"]).assert().success();
    assert_eq!(synced_fp, fingerprints(&env), "the fingerprints a sync stores are those a rebuild computes");
}

/// Right after migration 009 (fingerprints dropped, no dedup_version), the
/// next sync rebuilds copy detection: `doctor` must not call the freshly
/// upgraded store damaged. Missing fingerprints with copy detection current
/// are still a problem.
#[test]
fn doctor_accepts_fingerprints_a_pending_rebuild_will_file() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(crate::common::fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&format!("[[feeds]]\nurl = \"{}\"\nname = \"Bol\"\n", server.url("/bol.xml")));
    env.cmd(&["sync"]).assert().success();
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute("DELETE FROM fingerprints", []).unwrap();
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PROBLEM  fingerprints"), "{out}");
    // What migration 009 does.
    conn.execute("DELETE FROM meta WHERE key IN ('dedup_version', 'dedup_keys_from')", []).unwrap();
    drop(conn);
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       fingerprints") && out.contains("the next sync rebuilds"), "{out}");
    env.cmd(&["sync"]).assert().success();
    let (code, out, _) = env.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok       fingerprints   no entries without a fingerprint"), "{out}");
}
