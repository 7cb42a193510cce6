//! `syndic sync` against feeds served from a loopback server.

use std::time::Duration;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

const TOPICS: &str = r#"
[topics.cpec]
keywords = ["CPEC", "China-Pakistan Economic Corridor", "Gwadar"]

[topics.china]
keywords = ["China", "Chinese"]
"#;

fn config(server: &Server, feeds: &[(&str, &str, &[&str])], extra_settings: &str) -> String {
    let mut s = format!("[settings]\ntimeout = \"2s\"\n{extra_settings}\n{TOPICS}\n");
    for (path, name, topics) in feeds {
        let topics = topics.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        s.push_str(&format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\ntopics = [{topics}]\n\n", server.url(path)));
    }
    s
}

#[test]
fn rss_atom_and_json_feed_are_stored_normalised() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/cen.atom", Reply::xml(fixture("atom.xml")));
    server.route("/dawn.json", Reply::xml(fixture("jsonfeed.json")));
    let env = TestEnv::new();
    env.write_config(&config(
        &server,
        &[("/bol.xml", "Bol News", &["pakistan"]), ("/cen.atom", "CEN", &[]), ("/dawn.json", "Dawn", &["business"])],
        "",
    ));
    let (code, stdout, stderr) = env.run(&["sync"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("synced 3 feeds: 7 new, 0 copies, 0 unchanged, 0 failed in "), "{stdout}");
    assert_eq!(stderr, "");

    let per_feed = env.query(
        "SELECT f.name, COUNT(e.id) FROM feeds f LEFT JOIN entries e ON e.feed_id = f.id GROUP BY f.id ORDER BY f.id",
    );
    assert_eq!(per_feed, [["Bol News", "3"], ["CEN", "2"], ["Dawn", "2"]]);

    // The canonical link has no tracking parameters; dates are UTC; the key is the guid.
    let seed =
        &env.query("SELECT url, published, entry_key, author FROM entries WHERE title LIKE 'Sino Pak Friendship%'")[0];
    assert_eq!(
        seed[0],
        "https://www.bolnews.com/business/2021/10/sino-pak-friendship-strengthen-with-the-technology-revolution/"
    );
    assert_eq!(seed[1], "1634703300"); // 2021-10-20T04:15:00Z
    assert_eq!(seed[2], "guid:https://www.bolnews.com/?p=123456");
    assert_eq!(seed[3], "Bol News");

    // Atom: relative link resolved, HTML title to text.
    let cen = &env.query("SELECT url, title FROM entries WHERE entry_key = 'guid:urn:uuid:cen-1'")[0];
    assert_eq!(cen[0], "https://en.ce.cn/Insight/202110/20/t20211020_1.shtml");
    assert_eq!(cen[1], "Webinar on CPEC and regional development");

    // JSON Feed: utm parameter removed.
    assert_eq!(env.count("SELECT COUNT(*) FROM entries WHERE url = 'https://www.dawn.com/news/1001'"), 1);

    // Plain text keeps paragraphs; HTML is sanitised.
    let id = &env.query("SELECT id FROM entries WHERE entry_key LIKE '%p=123456'")[0][0];
    let (_, shown, _) = env.run(&["show", id, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let text = shown["text"].as_str().unwrap();
    assert!(text.contains("leapfrog development.\n\nIn the context"), "{text}");

    // Topics: feed topics plus keyword matches as whole words.
    let topics = env.query(
        "SELECT e.title, group_concat(t.topic, ',') FROM entries e LEFT JOIN
           (SELECT * FROM entry_topics ORDER BY topic) t ON t.entry_id = e.id GROUP BY e.id ORDER BY e.id",
    );
    let tags = |title: &str| topics.iter().find(|r| r[0].starts_with(title)).map(|r| r[1].clone()).unwrap();
    assert_eq!(tags("Sino Pak"), "china,cpec,pakistan");
    assert_eq!(tags("PSX closes"), "pakistan");
    assert_eq!(tags("Webinar on CPEC"), "china,cpec");
    assert_eq!(tags("ML-1 railway"), "business,cpec");
    assert_eq!(tags("Rupee steady"), "business");

    // Requests name syndic and its version.
    let ua = &server.requests("/bol.xml")[0].headers["user-agent"];
    assert!(ua.starts_with("syndic/"), "{ua}");
}

#[test]
fn second_sync_inserts_nothing_and_304_skips_the_parse() {
    let server = Server::start();
    server.route("/etag.xml", Reply::xml(fixture("bol-news.xml")).with_etag("v1"));
    server.route("/plain.json", Reply::xml(fixture("jsonfeed.json")));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/etag.xml", "Bol", &[]), ("/plain.json", "Dawn", &[])], ""));
    env.cmd(&["sync"]).assert().success();
    let before = env.query("SELECT id, updated_at FROM entries ORDER BY id");

    let (code, stdout, _) = env.run(&["sync"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("synced 2 feeds: 0 new, 0 copies, 1 unchanged, 0 failed"), "{stdout}");
    assert_eq!(env.query("SELECT id, updated_at FROM entries ORDER BY id"), before);
    let second = &server.requests("/etag.xml")[1];
    assert_eq!(second.headers.get("if-none-match").map(String::as_str), Some("\"v1\""));
    assert_eq!(env.query("SELECT http_status, etag FROM feeds WHERE name = 'Bol'"), [["304", "\"v1\""]]);
}

#[test]
fn a_feed_not_modified_is_written_at_once_not_after_the_feeds_listed_before_it() {
    // Feeds are written in the order of feeds.toml so that new entries get
    // the same ids every time; a feed not modified (304) gives no ids
    // and is written as soon as it is fetched, freeing its fetch slot
    // (a warm sync of 1,000 feeds took 11 s with the waits). The first
    // feed answers in full, 200 ms late, on the second sync: the second,
    // not modified, is written before it, where it would have waited for
    // it before.
    let server = Server::start();
    server.route(
        "/first.xml",
        Reply::Sequence(vec![
            Reply::xml(fixture("bol-news.xml")),
            Reply::Slow { delay: Duration::from_millis(200), body: fixture("bol-news.xml") },
        ]),
    );
    server.route("/second.xml", Reply::xml(fixture("atom.xml")).with_etag("v1"));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/first.xml", "First", &[]), ("/second.xml", "Second", &[])], ""));
    env.cmd(&["sync"]).assert().success();
    let out = env.cmd(&["sync"]).env("SYNDIC_LOG", "syndic=debug").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(server.hits("/first.xml"), 2);
    assert_eq!(env.query("SELECT http_status FROM feeds WHERE name = 'Second'"), [["304"]]);
    let written = |path: &str| {
        err.lines()
            .position(|l| l.contains("writing the feed") && l.contains(path))
            .unwrap_or_else(|| panic!("{path} not written: {err}"))
    };
    assert!(written("/second.xml") < written("/first.xml"), "{err}");
}

#[test]
fn a_feed_without_items_keeps_its_turn_so_the_original_does_not_depend_on_which_feed_finished_first() {
    // A feed parsed without items may still change its title or site,
    // which the choice of a story's original reads ("it links to its own
    // site"): it is written in its turn, unlike a feed not modified. Found
    // by a review of df25497, which wrote both at once.
    let text = String::from_utf8(fixture("../seed-article.txt")).unwrap();
    let paras: String = text.split("\n\n").skip(1).map(|p| format!("&lt;p&gt;{}&lt;/p&gt;", p.trim())).collect();
    let item = |link: &str, date: &str| {
        format!("<item><title>Sino Pak Friendship Strengthen With The Technology Revolution</title><link>{link}</link><guid>{link}</guid><pubDate>{date}</pubDate><description>{paras}</description></item>")
    };
    let chan = |link: &str, items: &str| {
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>{link}{items}</channel></rss>")
            .into_bytes()
    };
    let mut originals = Vec::new();
    for a_slow in [true, false] {
        let server = Server::start();
        let slow = |body: Vec<u8>, yes: bool| {
            if yes {
                // Well within the turn's bound (`sync::order::MAX_WAIT`, 250 ms),
                // parse included, on a loaded machine: past it the other feed
                // is written first, by design (200 ms failed under a full test run).
                Reply::Slow { delay: Duration::from_millis(100), body }
            } else {
                Reply::xml(body)
            }
        };
        // A (listed first): empty, then a copy published earlier, from another site.
        let y = item("https://copy.example/y", "Tue, 19 Oct 2021 08:00:00 +0000");
        server.route("/a.xml", Reply::Sequence(vec![Reply::xml(chan("", "")), slow(chan("", &y), a_slow)]));
        // B (listed second): the article, then no items but its site link.
        let x = item("https://harbor.example/x", "Wed, 20 Oct 2021 10:00:00 +0000");
        server.route(
            "/b.xml",
            Reply::Sequence(vec![
                Reply::xml(chan("", &x)),
                slow(chan("<link>https://harbor.example/</link>", ""), !a_slow),
            ]),
        );
        let env = TestEnv::new();
        env.write_config(&config(&server, &[("/a.xml", "A", &[]), ("/b.xml", "B", &[])], ""));
        env.cmd(&["sync"]).assert().success();
        env.cmd(&["sync"]).assert().success();
        let rows = env.query(
            "SELECT f.name, e.duplicate_of IS NULL FROM entries e JOIN feeds f ON f.id = e.feed_id ORDER BY e.id",
        );
        originals.push(rows);
    }
    assert_eq!(originals[0], originals[1], "the original depends on which feed finished first");
}

#[test]
fn feed_updated_between_syncs_updates_in_place_and_adds_new() {
    let server = Server::start();
    let v1 = String::from_utf8(fixture("bol-news.xml")).unwrap();
    server.route("/bol.xml", Reply::xml(v1.clone()));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/bol.xml", "Bol", &[])], ""));
    env.cmd(&["sync"]).assert().success();

    let v2 = v1
        .replace("PSX closes higher on banking rally", "PSX closes higher on banking rally (updated)")
        .replace(
            "<item>\n<title>Gwadar port",
            "<item><title>New item</title><guid>new-1</guid><description>fresh</description></item>\n<item>\n<title>Gwadar port",
        );
    server.route("/bol.xml", Reply::xml(v2));
    let (code, stdout, _) = env.run(&["sync"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("synced 1 feed: 1 new, 0 copies, 1 updated, 0 unchanged, 0 failed"), "{stdout}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 4);
    assert_eq!(env.count("SELECT COUNT(*) FROM entries WHERE title LIKE 'PSX closes%'"), 1);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM entries WHERE title = 'PSX closes higher on banking rally (updated)'"),
        1
    );
}

#[test]
fn a_changed_document_prepares_only_its_new_and_changed_items() {
    // A cron sync finds most feeds changed by an item or two: the items
    // still as stored are left out by the parse worker, before they are
    // fingerprinted and packed, and the writer's outcome is the same.
    let server = Server::start();
    let v1 = String::from_utf8(fixture("bol-news.xml")).unwrap();
    server.route("/bol.xml", Reply::xml(v1.clone()).with_etag("v1"));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/bol.xml", "Bol", &[])], ""));
    let debug_sync = || {
        let out = env.cmd(&["sync"]).env("SYNDIC_LOG", "syndic=debug").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let left_out = |log: &str| {
        log.lines().find(|l| l.contains("items as stored left out")).map(|l| {
            let field = |name: &str| {
                l.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}="))).unwrap_or("?").to_owned()
            };
            (field("items"), field("unchanged"), field("unsanitised"))
        })
    };
    // The first sync has nothing to compare with.
    let (_, log) = debug_sync();
    assert_eq!(left_out(&log), None, "{log}");
    let before = env.query("SELECT id, title, updated_at, hex(body) FROM entries ORDER BY id");
    assert_eq!(before.len(), 3);

    let v2 = v1
        .replace("PSX closes higher on banking rally", "PSX closes higher on banking rally (updated)")
        .replace(
            "<item>\n<title>Gwadar port",
            "<item><title>New item</title><guid>new-1</guid><description>fresh</description></item>\n<item>\n<title>Gwadar port",
        );
    server.route("/bol.xml", Reply::xml(v2.clone()).with_etag("v2"));
    let (stdout, log) = debug_sync();
    assert!(stdout.starts_with("synced 1 feed: 1 new, 0 copies, 1 updated, 0 unchanged, 0 failed"), "{stdout}");
    // The two unchanged are left out by their item hash, before their HTML is sanitised.
    assert_eq!(left_out(&log), Some(("4".into(), "2".into(), "2".into())), "{log}");
    let after = env.query("SELECT id, title, updated_at, hex(body) FROM entries ORDER BY id");
    assert_eq!(after.len(), 4);
    let untouched: Vec<_> = before.iter().filter(|r| !r[1].starts_with("PSX")).collect();
    assert_eq!(untouched.len(), 2);
    for row in untouched {
        assert!(after.contains(row), "{row:?} changed: {after:?}");
    }

    // A store from before item hashes (migration 023): its entries are
    // compared by their sanitised HTML, then given their hash.
    env.query("UPDATE entries SET item_hash = NULL");
    let item = |n: u32| {
        format!("<item><title>Item {n}</title><guid>new-{n}</guid><description>Text {n}</description></item>\n<item>\n<title>Gwadar port")
    };
    let v3 = v2.replace("<item>\n<title>Gwadar port", &item(2));
    server.route("/bol.xml", Reply::xml(v3.clone()).with_etag("v3"));
    let (stdout, log) = debug_sync();
    assert!(stdout.starts_with("synced 1 feed: 1 new, 0 copies, 0 unchanged, 0 failed"), "{stdout}");
    assert_eq!(left_out(&log), Some(("5".into(), "4".into(), "0".into())), "{log}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries WHERE item_hash IS NULL"), 0);
    let v4 = v3.replace("<item>\n<title>Gwadar port", &item(3));
    server.route("/bol.xml", Reply::xml(v4).with_etag("v4"));
    let (stdout, log) = debug_sync();
    assert!(stdout.starts_with("synced 1 feed: 1 new, 0 copies, 0 unchanged, 0 failed"), "{stdout}");
    assert_eq!(left_out(&log), Some(("6".into(), "5".into(), "5".into())), "{log}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 6);
}

#[test]
fn failing_feeds_are_reported_and_the_others_still_sync() {
    let server = Server::start();
    server.route("/ok.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/500", Reply::status(500, "boom"));
    server.route("/html", Reply::html(std::str::from_utf8(&fixture("not-a-feed.html")).unwrap()));
    server.route("/slow", Reply::Slow { delay: Duration::from_secs(5), body: fixture("bol-news.xml") });
    server.route("/trickle", Reply::Trickle { body: fixture("atom.xml"), interval: Duration::from_millis(200) });
    let mut big = fixture("atom.xml");
    big.extend(std::iter::repeat_n(b' ', 40 * 1024));
    server.route("/big", Reply::xml(big));
    let env = TestEnv::new();
    env.write_config(&config(
        &server,
        &[
            ("/ok.xml", "Good", &[]),
            ("/500", "Broken", &[]),
            ("/missing", "Missing", &[]),
            ("/html", "Homepage", &[]),
            ("/slow", "Slow", &[]),
            ("/trickle", "Trickle", &[]),
            ("/big", "Big", &[]),
        ],
        "max_body = \"16KiB\"",
    ));
    let (code, stdout, stderr) = env.run(&["sync"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.starts_with("synced 7 feeds: 3 new, 0 copies, 0 unchanged, 6 failed"), "{stdout}");
    let line =
        |name: &str| stderr.lines().find(|l| l.starts_with(&format!("failed: {name} <"))).unwrap_or("").to_owned();
    assert!(line("Broken").ends_with(": HTTP 500 (server error)"), "{stderr}");
    assert!(line("Missing").ends_with(": HTTP 404 (not found)"), "{stderr}");
    assert!(
        line("Homepage").ends_with(&format!(
            ": not a feed (got an HTML page); the page links to a feed: put {} in feeds.toml",
            server.url("/feed/")
        )),
        "{stderr}"
    );
    assert!(line("Slow").ends_with(": timed out after 2s (no answer)"), "{stderr}");
    assert_eq!(server.hits("/slow"), 2, "a server that gave no answer gets one more try");
    assert!(line("Trickle").ends_with(": timed out after 2s"), "{stderr}");
    assert_eq!(server.hits("/trickle"), 1, "a server that answers too slowly gets none");
    assert!(line("Big").ends_with(": body over 16.0 KiB"), "{stderr}");
    assert!(line("Broken").contains(&server.url("/500")), "{stderr}");

    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 3);
    let broken = &env
        .query("SELECT http_status, last_error, consecutive_failures, last_success FROM feeds WHERE name = 'Broken'")
        [0];
    assert_eq!(broken, &["500", "HTTP 500 (server error)", "1", "NULL"]);

    // A second failure is counted; the good feed stays good.
    env.cmd(&["sync", "--feed", "Broken", "--feed", "Good"]).assert().code(2);
    assert_eq!(env.count("SELECT consecutive_failures FROM feeds WHERE name = 'Broken'"), 2);
    assert_eq!(env.count("SELECT consecutive_failures FROM feeds WHERE name = 'Good'"), 0);
}

#[test]
fn quiet_prints_only_failures() {
    let server = Server::start();
    server.route("/ok.xml", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/ok.xml", "Good", &[]), ("/gone", "Gone", &[])], ""));
    let (code, stdout, stderr) = env.run(&["-q", "sync"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("failed: Gone <"), "{stderr}");

    env.write_config(&config(&server, &[("/ok.xml", "Good", &[])], ""));
    let (code, stdout, stderr) = env.run(&["sync", "-q"]);
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
}

#[test]
fn feed_filter_syncs_only_the_named_feeds() {
    let server = Server::start();
    server.route("/a.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/b.json", Reply::xml(fixture("jsonfeed.json")));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/a.xml", "Bol News", &[]), ("/b.json", "Dawn", &[])], ""));
    let (code, stdout, _) = env.run(&["sync", "--feed", "bol news"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("synced 1 feed: 3 new"), "{stdout}");
    let url = server.url("/b.json");
    env.cmd(&["sync", "--feed", &url]).assert().success();
    assert_eq!((server.hits("/a.xml"), server.hits("/b.json")), (1, 1));
}

/// The seed story: the original on a "Bol News" feed and a republished copy
/// at another URL whose text is the same after normalisation.
#[test]
fn seed_story_copy_is_grouped_under_the_bol_news_original() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/blog.xml", Reply::xml(fixture("republisher-exact.xml")));
    let env = TestEnv::new();
    // The copy's feed is listed (and fetched) first: grouping must not depend on order.
    env.write_config(&config(&server, &[("/blog.xml", "Tech Frontier", &[]), ("/bol.xml", "Bol News", &[])], ""));
    let (code, stdout, _) = env.run(&["sync", "--feed", "Tech Frontier"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("2 new, 0 copies"), "{stdout}");
    let (code, stdout, _) = env.run(&["sync"]);
    assert_eq!(code, 0);
    // The Bol News original is older, so it becomes the original on arrival.
    assert!(stdout.contains("3 new, 0 copies"), "{stdout}");

    let rows = env.query(
        "SELECT f.name, e.duplicate_of IS NULL, o.url, e.dup_reason FROM entries e JOIN feeds f ON f.id = e.feed_id
         LEFT JOIN entries o ON o.id = e.duplicate_of WHERE e.title LIKE 'Sino Pak%' ORDER BY f.name",
    );
    assert_eq!(
        rows,
        [
            ["Bol News", "1", "NULL", "NULL"],
            [
                "Tech Frontier",
                "0",
                "https://www.bolnews.com/business/2021/10/sino-pak-friendship-strengthen-with-the-technology-revolution/",
                "text",
            ],
        ]
    );
    // Nothing else was grouped.
    assert_eq!(env.count("SELECT COUNT(*) FROM entries WHERE duplicate_of IS NOT NULL"), 1);
}

#[test]
fn category_feed_repeating_the_main_feed_is_a_copy_by_link() {
    let server = Server::start();
    server.route("/feed/", Reply::xml(fixture("bol-news.xml")));
    let category = String::from_utf8(fixture("bol-news.xml")).unwrap().replace("?p=", "?cat=business&amp;p=");
    server.route("/category/business/feed/", Reply::xml(category));
    let env = TestEnv::new();
    env.write_config(&config(
        &server,
        &[("/feed/", "Bol News", &[]), ("/category/business/feed/", "Bol Business", &[])],
        "",
    ));
    let (code, stdout, _) = env.run(&["sync"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(": 3 new, 3 copies,"), "{stdout}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries WHERE dup_reason = 'link'"), 3);
}

#[test]
fn changing_topics_in_config_retags_stored_entries() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/bol.xml", "Bol", &[])], ""));
    env.cmd(&["sync"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM entry_topics WHERE topic = 'markets'"), 0);

    let with_markets = config(&server, &[("/bol.xml", "Bol", &[])], "")
        .replace("[topics.china]", "[topics.markets]\nkeywords = [\"Stock Exchange\", \"PSX\"]\n\n[topics.china]");
    env.write_config(&with_markets);
    env.cmd(&["sync"]).assert().success();
    let tagged =
        env.query("SELECT e.title FROM entry_topics t JOIN entries e ON e.id = t.entry_id WHERE t.topic = 'markets'");
    assert_eq!(tagged, [["PSX closes higher on banking rally"]]);
}

#[test]
fn adding_removing_or_editing_a_feed_retags_its_entries_only() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/cen.atom", Reply::xml(fixture("atom.xml")));
    let env = TestEnv::new();
    let bol: (&str, &str, &[&str]) = ("/bol.xml", "Bol", &[]);
    let sync = |feeds: &[(&str, &str, &[&str])]| {
        env.write_config(&config(&server, feeds, ""));
        let (code, stdout, stderr) = env.run(&["sync"]);
        assert_eq!(code, 0, "{stderr}");
        stdout
    };
    let topic_of_cen = || {
        env.count(
            "SELECT COUNT(*) FROM entry_topics t JOIN entries e ON e.id = t.entry_id JOIN feeds f ON f.id = e.feed_id
             WHERE f.name = 'CEN' AND t.topic = 'business'",
        )
    };
    let out = sync(&[bol]);
    assert!(out.contains(": 3 new, 0 copies, 0 unchanged, 0 failed"), "{out}");
    // (The fixture server answers 200 every time: "unchanged" counts 304s.)
    // A feed added with a topic: the others' entries are not read again.
    let out = sync(&[bol, ("/cen.atom", "CEN", &["business"])]);
    assert!(out.contains(": 2 new, 0 copies, ") && !out.contains("re-tagged"), "{out}");
    assert_eq!(topic_of_cen(), 2);
    // Its topics edited: its two entries, nothing else.
    let out = sync(&[bol, ("/cen.atom", "CEN", &[])]);
    assert!(out.contains(": 0 new, 0 copies, ") && out.contains(", 2 re-tagged, 0 failed"), "{out}");
    assert_eq!(topic_of_cen(), 0);
    let out = sync(&[bol, ("/cen.atom", "CEN", &["business"])]);
    assert!(out.contains(", 2 re-tagged, 0 failed"), "{out}");
    assert_eq!(topic_of_cen(), 2);
    // Gone from feeds.toml (its entries stay): they lose the feed's topic.
    let out = sync(&[bol]);
    assert!(out.contains(", 2 re-tagged, 0 failed"), "{out}");
    assert_eq!(topic_of_cen(), 0);
    // Keyword topics still hold, and a change of the rules re-tags every entry.
    let china = env.count("SELECT COUNT(*) FROM entry_topics WHERE topic = 'china'");
    assert!(china > 0);
    env.write_config(&config(&server, &[bol], "").replace("\"Chinese\"]", "\"Chinese\", \"Beijing\"]"));
    let (_, out, _) = env.run(&["sync"]);
    assert!(out.contains(", 5 re-tagged, 0 failed"), "{out}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entry_topics WHERE topic = 'china'"), china);
    let (_, out, _) = env.run(&["sync"]);
    assert!(!out.contains("re-tagged"), "{out}");
}

/// A damaged entry text (see `a_damaged_entry_text_is_shown_without_it_and_doctor_repair_then_sync_mends_it`)
/// is mended by the next sync of its feed: a re-tag of that feed must not stop the sync before.
#[test]
fn a_damaged_entry_text_does_not_stop_a_retag_and_the_sync_mends_it() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/bol.xml", "Bol", &[])], ""));
    env.cmd(&["sync"]).assert().success();
    let topics = "SELECT e.entry_key, t.topic FROM entries e JOIN entry_topics t ON t.entry_id = e.id ORDER BY 1, 2";
    let before = env.query(topics);
    assert!(before.iter().any(|r| r[1] == "china"), "{before:?}");
    let id = env.count("SELECT MIN(id) FROM entries WHERE body IS NOT NULL");
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute("UPDATE entries SET body = substr(body, 1, length(body) / 2) WHERE id = ?1", [id]).unwrap();
    drop(conn);

    // The feed's topics change: its entries are re-tagged, the damaged one too.
    env.write_config(&config(&server, &[("/bol.xml", "Bol", &["business"])], ""));
    let (code, out, err) = env.run(&["-v", "sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(", 3 re-tagged, 0 failed"), "{out}");
    assert!(err.contains("damaged") && err.contains("re-tagged by its title only"), "{err}");
    let (code, _, err) = env.run(&["show", &id.to_string()]);
    assert!(code == 0 && !err.contains("damaged"), "mended: {err}");
    // As a sync from scratch tags them: the keyword topics as before, and the feed's.
    let mut expected = before;
    for key in env.query("SELECT entry_key FROM entries") {
        expected.push(vec![key[0].clone(), "business".into()]);
    }
    expected.sort();
    assert_eq!(env.query(topics), expected);
}

#[test]
fn a_second_sync_waits_for_the_first_then_gives_up_with_a_clear_message() {
    let server = Server::start();
    server.route("/slow", Reply::Slow { delay: Duration::from_millis(1500), body: fixture("bol-news.xml") });
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/slow", "Slow", &[])], "lock_wait = \"300ms\""));
    let first = env.std_cmd(&["sync"]).stdout(std::process::Stdio::null()).spawn().expect("spawn first sync");
    // Give the first one time to take the lock.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.hits("/slow") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, _, stderr) = env.run(&["sync"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("another syndic command is writing to"), "{stderr}");
    assert!(stderr.contains("hint: wait for the other syndic command"), "{stderr}");

    // With a longer wait, the second one runs after the first.
    env.write_config(&config(&server, &[("/slow", "Slow", &[])], "lock_wait = \"20s\""));
    let second = env.run(&["sync"]);
    let mut first = first;
    assert!(first.wait().unwrap().success());
    assert_eq!(second.0, 0, "{}", second.2);
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 3);
    assert_eq!(env.query("PRAGMA integrity_check"), [["ok"]]);
}

#[test]
fn remove_purge_waits_for_a_running_sync_which_would_write_the_feed_back() {
    // Found by a review: `remove --purge` took no lock, so a sync running
    // (which read feeds.toml before the feed was removed) wrote the purged
    // feed's entries back after it.
    let server = Server::start();
    server.route("/slow", Reply::Slow { delay: Duration::from_millis(1500), body: fixture("bol-news.xml") });
    let env = TestEnv::new();
    env.write_config(&config(&server, &[("/slow", "Slow", &[])], "lock_wait = \"300ms\""));
    env.cmd(&["sync"]).assert().success();
    let config_before = std::fs::read_to_string(env.config_path()).unwrap();
    let running = || {
        let sync = env.std_cmd(&["sync"]).stdout(std::process::Stdio::null()).spawn().expect("spawn sync");
        let hits = server.hits("/slow");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while server.hits("/slow") == hits && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        sync
    };
    let mut sync = running();
    let (code, _, stderr) = env.run(&["remove", "Slow", "--purge"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("another syndic command is writing to"), "{stderr}");
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), config_before, "nothing done");
    assert!(sync.wait().unwrap().success());

    env.write_config(&config_before.replace("lock_wait = \"300ms\"", "lock_wait = \"20s\""));
    let mut sync = running();
    let (code, stdout, stderr) = env.run(&["remove", "Slow", "--purge"]);
    assert!(sync.wait().unwrap().success());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("deleted 3 entries"), "{stdout}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 0, "the purge came after the sync");
}

#[test]
fn a_sync_that_waited_for_the_lock_syncs_feeds_toml_as_it_is_after_the_wait() {
    // Found by a review: a sync read feeds.toml, then waited for the lock
    // held by `remove --purge`, and wrote the purged feed back.
    let server = Server::start();
    server.route("/a.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/b.xml", Reply::xml(fixture("atom.xml")));
    let env = TestEnv::new();
    let both = config(&server, &[("/a.xml", "A", &[]), ("/b.xml", "B", &[])], "lock_wait = \"20s\"");
    env.write_config(&both);
    env.cmd(&["sync"]).assert().success();
    let mut lock_path = std::fs::canonicalize(env.db_path()).unwrap().into_os_string();
    lock_path.push(".lock");
    let lock = std::fs::File::options().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    lock.lock().unwrap();
    let hits = server.hits("/b.xml");
    let sync = env.std_cmd(&["sync"]).stdout(std::process::Stdio::piped()).spawn().expect("spawn sync");
    // Time to read feeds.toml and start waiting for the lock.
    std::thread::sleep(Duration::from_millis(1000));
    env.write_config(&config(&server, &[("/a.xml", "A", &[])], "lock_wait = \"20s\""));
    drop(lock);
    let out = sync.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("synced 1 feed"), "{out:?}");
    assert_eq!(server.hits("/b.xml"), hits, "B, taken out while the sync waited, was fetched");
}

#[test]
fn local_file_feeds_work_and_are_conditional() {
    let env = TestEnv::new();
    let url = env.fixture_file("atom.xml");
    env.write_config(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    let (code, stdout, _) = env.run(&["sync"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("synced 1 feed: 2 new"), "{stdout}");
    let (_, stdout, _) = env.run(&["sync"]);
    assert!(stdout.contains("1 unchanged"), "{stdout}");
    // The feed's own title names it when feeds.toml gives no name; its own date is kept.
    assert_eq!(env.query("SELECT title FROM feeds"), [["China Economic Net"]]);
    let feeds: serde_json::Value = serde_json::from_str(&env.run(&["feeds", "--json"]).1).unwrap();
    assert_eq!(feeds[0]["updated"], "2021-10-20T06:00:00Z");

    env.write_config("[[feeds]]\nurl = \"./missing.xml\"\n");
    let (code, _, stderr) = env.run(&["sync"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read local file"), "{stderr}");
}

#[test]
fn unwritable_database_is_a_fatal_error() {
    let env = TestEnv::new();
    let url = env.fixture_file("atom.xml");
    env.write_config(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    let (code, _, stderr) = env.run(&["--db", "/proc/syndic-test/x.db", "sync"]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("error: database /proc/syndic-test/x.db"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// A #fragment never reaches the server: editing only it in feeds.toml keeps
/// the feed (its row, entries and state), as README's configuration says.
#[test]
fn editing_only_a_feed_urls_fragment_keeps_the_feed() {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    let env = TestEnv::new();
    let with = |fragment: &str| format!("[[feeds]]\nurl = \"{}{fragment}\"\nname = \"Bol\"\n", server.url("/bol.xml"));
    env.write_config(&with("#a"));
    env.cmd(&["sync"]).assert().success();
    let entries = env.count("SELECT COUNT(*) FROM entries");
    assert!(entries > 0);
    env.write_config(&with("#b"));
    let (code, out, err) = env.run(&["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(env.count("SELECT COUNT(*) FROM feeds"), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), entries);
    assert_eq!(env.count(&format!("SELECT COUNT(*) FROM feeds WHERE url = '{}'", server.url("/bol.xml"))), 1);
    let (code, _, err) = env.run(&["feeds", "--orphans"]);
    assert!(code == 0 && err.starts_with("no orphan feeds"), "{err}");
}

/// An RSS feed of `items` articles of a made-up site `site`: its own
/// words in each, the site's markup and footer around them.
fn site_feed(site: usize, items: usize) -> String {
    let mut rss = format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Site {site}</title>");
    let mut x: u64 = (site as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for item in 0..items {
        let words: Vec<String> = (0..250)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("w{}", x % 4_000)
            })
            .collect();
        rss.push_str(&format!(
            "<item><title>Site {site} story {item}</title><link>https://site{site}.example/{item}</link>\
             <pubDate>Sun, 01 Nov 2026 {:02}:{:02}:00 +0000</pubDate><description><![CDATA[<div class=\"entry\">\
             <p>marker{site}x{item} {}</p><p>The post appeared first on Site {site}.</p></div>]]></description></item>",
            item / 60,
            item % 60,
            words.join(" ")
        ));
    }
    rss.push_str("</channel></rss>");
    rss
}

/// Whether each stored text is a Zstandard frame naming a dictionary (the
/// low bits of the frame header's descriptor, after the format byte and
/// the magic).
fn texts_name_a_dictionary(env: &TestEnv) -> Vec<bool> {
    let descriptors = env.query("SELECT hex(substr(body, 1, 1)), hex(substr(body, 6, 1)) FROM entries");
    descriptors
        .iter()
        .map(|d| {
            assert_eq!(d[0], "02", "{d:?}");
            u8::from_str_radix(&d[1], 16).unwrap() & 3 != 0
        })
        .collect()
}

/// A store gets its dictionary in the sync that brings it to 1,000
/// entries, which packs every text with it: its own, and those of the
/// syncs before (packed fast, without one).
#[test]
fn a_store_trains_a_text_dictionary_once_large_packs_all_its_texts_with_it_and_other_runs_read_with_it() {
    let server = Server::start();
    let feeds: Vec<(String, String)> = (0..11).map(|i| (format!("/site{i}.xml"), format!("Site {i}"))).collect();
    for (i, (path, _)) in feeds.iter().enumerate() {
        server.route(path, Reply::xml(site_feed(i, 100)));
    }
    let env = TestEnv::new();
    let list: Vec<(&str, &str, &[&str])> = feeds.iter().map(|(p, n)| (p.as_str(), n.as_str(), &[][..])).collect();
    env.write_config(&config(&server, &list[..5], "concurrency = 4"));
    let (code, stdout, stderr) = env.run(&["sync"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("synced 5 feeds: 500 new, 0 copies"), "{stdout}");
    assert_eq!(env.count("SELECT COUNT(*) FROM text_dictionaries"), 0);
    assert_eq!(texts_name_a_dictionary(&env), vec![false; 500]);
    env.write_config(&config(&server, &list, "concurrency = 4"));
    let (code, stdout, stderr) = env.run(&["sync"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("synced 11 feeds: 600 new, 0 copies"), "{stdout}");
    assert_eq!(env.count("SELECT COUNT(*) FROM text_dictionaries"), 1);
    assert_eq!(texts_name_a_dictionary(&env), vec![true; 1100]);
    // Another process reads them with the stored dictionary.
    let id = env.query("SELECT id FROM entries WHERE title = 'Site 7 story 42'")[0][0].clone();
    let (code, shown, stderr) = env.run(&["show", &id]);
    assert_eq!((code, stderr.as_str()), (0, ""), "{shown}");
    assert!(shown.contains("marker7x42 w") && shown.contains("The post appeared first on Site 7."), "{shown}");
    let (code, found, stderr) = env.run(&["search", "--json", "marker3x99"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(found.contains("\"title\": \"Site 3 story 99\"") && found.contains("marker3x99"), "{found}");
    let (code, doctor, _) = env.run(&["doctor"]);
    assert_eq!(code, 0, "{doctor}");
    assert!(doctor.contains("no damaged entry texts"), "{doctor}");
    // The texts packed again in place left their pages part empty: that
    // sync compacted the store (no free pages, the entries' pages full).
    assert_eq!(env.count("SELECT freelist_count FROM pragma_freelist_count()"), 0);
    assert_eq!(env.count("SELECT COUNT(*) FROM meta WHERE key = 'compact_pending'"), 0);
    let unused = env.count("SELECT SUM(unused) * 100 / SUM(pgsize) FROM dbstat WHERE name = 'entries'");
    assert!(unused <= 15, "{unused}% of the entries' pages unused");
}
