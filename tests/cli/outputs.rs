//! Digests and outputs for other tools (issue 10): `export html` (checked in
//! a real headless Chromium), `export atom`, `export json`'s feed fields.

use std::path::Path;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

/// A feed whose title is one unbroken 200-character word and whose link is
/// 300 characters long: what makes a careless page overflow a phone screen.
/// Its text carries characters XML cannot hold.
fn wide_feed() -> String {
    let word = "Supercalifragilistic".repeat(10);
    let path = "a".repeat(300);
    format!(
        r#"{{"version": "https://jsonfeed.org/version/1.1", "title": "Wide \ufffe Feed", "home_page_url": "https://wide.example/",
  "items": [{{"id": "w1", "url": "https://wide.example/{path}", "title": "{word}",
  "content_text": "Text with a non-character \ufffe, \ufdd0 and a control \u0001 about Gwadar, long enough to be a story of its own.",
  "date_published": "2021-10-22T10:00:00Z"}}]}}"#
    )
}

pub struct Synced {
    pub env: TestEnv,
    _server: Server,
}

/// Bol News (3 stories), Tech Frontier (a copy of one of them), CEN (Atom),
/// a hostile feed and a wide one, synced one at a time.
pub fn synced() -> Synced {
    let server = Server::start();
    let env = TestEnv::new();
    let feeds: &[(&str, Vec<u8>, &str, &str)] = &[
        ("/bol.xml", fixture("bol-news.xml"), "Bol News", "\"pakistan\""),
        ("/blog.xml", fixture("republisher-exact.xml"), "Tech Frontier", "\"technology\""),
        ("/cen.atom", fixture("atom.xml"), "CEN", ""),
        ("/hostile.json", fixture("hostile.json"), "Hostile", ""),
        ("/wide.json", wide_feed().into_bytes(), "Wide", ""),
    ];
    let mut config = String::from("[topics.cpec]\nkeywords = [\"CPEC\", \"Gwadar\"]\n\n");
    for (path, body, name, topics) in feeds {
        server.route(path, Reply::xml(body.clone()));
        config.push_str(&format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\ntopics = [{topics}]\n\n",
            server.url(path)
        ));
    }
    env.write_config(&config);
    for (_, _, name, _) in feeds {
        env.cmd(&["sync", "--feed", name]).assert().success();
    }
    Synced { env, _server: server }
}

pub fn stdout(env: &TestEnv, args: &[&str]) -> String {
    let (code, out, err) = env.run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

const SEED: &str = "Sino Pak Friendship Strengthen With The Technology Revolution";

#[test]
fn export_html_is_one_self_contained_page_grouped_by_topic() {
    let s = synced();
    let page = stdout(&s.env, &["export", "html"]);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{page}");
    assert!(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    // Nothing runs and nothing is fetched: no scripts, no external styles,
    // images, frames or fonts, and a policy that would block them anyway.
    for banned in ["<script", "<link", "<img", "<iframe", "src=", "@import", "url(", "<table"] {
        assert!(!page.contains(banned), "{banned} in {page}");
    }
    assert!(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    // Grouped by topic: each story once, topics in order, untopical last.
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s} not in {page}"));
    assert!(at("<h2>cpec</h2>") < at("<h2>pakistan</h2>") && at("<h2>pakistan</h2>") < at("<h2>Other stories</h2>"));
    assert_eq!(page.matches(SEED).count(), 1, "{page}");
    // The story with its source, time, summary and copies.
    let seed = &page[at(SEED)..];
    let seed = &seed[..seed.find("</article>").unwrap()];
    assert!(seed.contains("Bol News"), "{seed}");
    assert!(seed.contains("<time datetime=\"2021-10-20T04:15:00Z\">2021-10-20 04:15</time>"), "{seed}");
    assert!(seed.contains("Also carried by <a href=\"https://techfrontier.example/2021/10/21/sino-pak-friendship/\">Tech Frontier</a>"), "{seed}");
    assert!(seed.contains("<p>"), "a summary: {seed}");
    // Hostile text is escaped and stripped of controls.
    assert!(!page.chars().any(|c| c.is_control() && c != '\n'), "{page}");
    assert!(!page.contains("evil.example"), "{page}");
    // --topic selects and orders sections; -o writes the file.
    let cpec = stdout(&s.env, &["export", "html", "--topic", "cpec", "--since", "2021-10-19"]);
    assert!(cpec.contains("<title>syndic digest: cpec</title>") && !cpec.contains("<h2>Other stories</h2>"), "{cpec}");
    assert!(cpec.contains(SEED) && !cpec.contains("Clear"), "{cpec}");
    let file = s.env.path("digest.html");
    s.env.cmd(&["export", "html", "-o", file.to_str().unwrap()]).assert().success().stdout("");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), page);
}

/// Finds Chromium. Missing, the test fails under CI (where `.ci/run`
/// installs it) and says it is skipped elsewhere.
fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if StdCommand::new(name).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Some(name);
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "chromium is required under CI but is not installed (apt-get install chromium)"
    );
    eprintln!("SKIPPED export_html_renders_in_chromium: chromium is not installed (apt-get install chromium)");
    None
}

/// `chromium --headless --dump-dom FILE`: the DOM after load, offline.
fn dump_dom(browser: &str, page: &Path, profile: &Path) -> String {
    let mut child = StdCommand::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--window-size=375,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url::Url::from_file_path(page).unwrap().as_str())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            child.kill().ok();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("chromium output");
    assert!(out.status.success(), "chromium failed: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn export_html_renders_in_chromium_without_overflow_on_a_phone() {
    let Some(browser) = chromium() else { return };
    let s = synced();
    let file = s.env.path("digest.html");
    s.env.cmd(&["export", "html", "-o", file.to_str().unwrap()]).assert().success();

    // The page as a browser reads it: the text is there, markup from feeds is not.
    let dom = dump_dom(browser, &file, &s.env.path("chromium-1"));
    assert!(dom.contains(SEED), "{dom}");
    assert!(dom.contains("Also carried by"), "{dom}");
    assert!(dom.contains("Supercalifragilistic"), "{dom}");
    assert!(!dom.contains("<script"), "{dom}");

    // No horizontal overflow at 375 px. Headless Chromium will not make a
    // window narrower than 500 px, so a copy of the page pins the root to
    // 375 px and a script (allowed in the copy only) writes the body's
    // scroll width into the DOM.
    let page = std::fs::read_to_string(&file).unwrap();
    let csp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">";
    assert!(page.contains(csp));
    let probe = page.replace(csp, "<style>html{width:375px!important}</style>").replace(
        "</body>",
        "<script>document.body.setAttribute('data-scroll-width', String(document.body.scrollWidth));</script></body>",
    );
    let probe_file = s.env.path("probe.html");
    std::fs::write(&probe_file, probe).unwrap();
    let dom = dump_dom(browser, &probe_file, &s.env.path("chromium-2"));
    let width: u32 = dom
        .split("data-scroll-width=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no width measured: {dom}"));
    assert!(width <= 375, "the page is {width} px wide at 375 px");
}

/// The children of `parent` named `name` (by local name) in a parsed document.
fn children<'a>(parent: xml_tree::Node<'a>, name: &str) -> Vec<xml_tree::Node<'a>> {
    parent.children.iter().filter(|c| c.name == name).collect()
}

/// A tiny XML tree (quick-xml events), enough to check required elements.
mod xml_tree {
    use quick_xml::events::Event;

    #[derive(Debug, Default)]
    pub struct Element {
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub text: String,
        pub children: Vec<Element>,
    }
    pub type Node<'a> = &'a Element;

    impl Element {
        pub fn attr(&self, k: &str) -> Option<&str> {
            self.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
        }
    }

    pub fn parse(doc: &str) -> Element {
        let mut reader = quick_xml::Reader::from_str(doc);
        let mut stack = vec![Element::default()];
        let attrs = |e: &quick_xml::events::BytesStart| -> Vec<(String, String)> {
            e.attributes()
                .map(|a| {
                    let a = a.expect("well-formed attribute");
                    let v = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).expect("escaped attribute");
                    (a.key.0.to_owned(), v.into_owned())
                })
                .collect()
        };
        loop {
            match reader.read_event().unwrap_or_else(|e| panic!("invalid XML: {e}\n{doc}")) {
                Event::Start(e) => {
                    stack.push(Element { name: e.name().0.to_owned(), attrs: attrs(&e), ..Element::default() })
                }
                Event::Empty(e) => {
                    let el = Element { name: e.name().0.to_owned(), attrs: attrs(&e), ..Element::default() };
                    stack.last_mut().unwrap().children.push(el);
                }
                Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let name = r.xml10_content();
                    let c = match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    };
                    stack.last_mut().unwrap().text.push_str(c);
                }
                Event::End(_) => {
                    let done = stack.pop().unwrap();
                    stack.last_mut().unwrap().children.push(done);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(stack.len(), 1, "unclosed elements");
        stack.pop().unwrap().children.pop().expect("a root element")
    }
}

#[test]
fn export_atom_is_a_valid_deduplicated_planet() {
    let s = synced();
    let doc = stdout(&s.env, &["export", "atom", "--feed-url", "https://me.example/planet.xml"]);
    // Readers take it: feed-rs parses it as Atom.
    let parsed = feed_rs::parser::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    // XML 1.0 cannot carry these, escaped or not.
    assert!(!doc.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{fffe}' || c == '\u{fdd0}'), "{doc}");

    // RFC 4287: id, title and updated on the feed and each entry; an author
    // on each entry (the feed's is there too); ids unique.
    let feed = xml_tree::parse(&doc);
    assert_eq!(feed.name, "feed");
    assert_eq!(feed.attr("xmlns"), Some("http://www.w3.org/2005/Atom"));
    for required in ["id", "title", "updated", "author"] {
        assert_eq!(children(&feed, required).len(), 1, "feed/{required}: {doc}");
    }
    assert_eq!(children(&feed, "id")[0].text, "https://me.example/planet.xml");
    assert!(children(&feed, "link").iter().any(|l| l.attr("rel") == Some("self")));
    let entries = children(&feed, "entry");
    // Bol News 3 + Tech Frontier 1 (its copy of Bol's story is folded) +
    // CEN 2 + Hostile 1 + Wide 1.
    assert_eq!(entries.len(), 8, "{doc}");
    let mut ids = std::collections::HashSet::new();
    for e in &entries {
        for required in ["id", "title", "updated", "author", "source"] {
            assert_eq!(children(e, required).len(), 1, "entry/{required}: {doc}");
        }
        assert!(ids.insert(children(e, "id")[0].text.clone()), "duplicate id");
        assert!(chrono::DateTime::parse_from_rfc3339(&children(e, "updated")[0].text).is_ok());
        assert!(!children(children(e, "author")[0], "name")[0].text.is_empty());
        let source = children(e, "source")[0];
        assert!(!children(source, "id")[0].text.is_empty() && !children(source, "title")[0].text.is_empty());
    }
    let seed = entries.iter().find(|e| children(e, "title")[0].text == SEED).expect("the seed story");
    let source = children(seed, "source")[0];
    assert_eq!(children(source, "title")[0].text, "Bol News");
    assert!(children(source, "id")[0].text.ends_with("/bol.xml"));
    let related: Vec<_> = children(seed, "link").into_iter().filter(|l| l.attr("rel") == Some("related")).collect();
    assert_eq!(related.len(), 1);
    assert_eq!(related[0].attr("title"), Some("Tech Frontier"));
    assert!(parsed
        .entries
        .iter()
        .all(|e| !e.title.as_ref().unwrap().content.contains("Sino Pak") || e.links[0].href.contains("bolnews.com")));

    // --topic narrows it; the feed id without --feed-url is stable.
    let a = stdout(&s.env, &["export", "atom", "--topic", "cpec"]);
    let b = stdout(&s.env, &["export", "atom", "--topic", "cpec"]);
    assert_eq!(a, b);
    assert!(a.contains("<id>urn:uuid:"), "{a}");
    assert!(!a.contains("Clear screen") || a.contains("Gwadar"));
    let (code, _, err) = s.env.run(&["export", "atom", "--feed-url", "javascript:alert(1)"]);
    assert_ne!(code, 0);
    assert!(err.contains("is not a web address"), "{err}");
}

#[test]
fn export_json_names_the_digest_and_its_sources() {
    let s = synced();
    let doc: Value = serde_json::from_str(&stdout(
        &s.env,
        &["export", "json", "--feed-url", "https://me.example/digest.json", "--home-page-url", "https://me.example/"],
    ))
    .unwrap();
    assert_eq!(doc["feed_url"], "https://me.example/digest.json");
    assert_eq!(doc["home_page_url"], "https://me.example/");
    let items = doc["items"].as_array().unwrap();
    let wide = items.iter().find(|i| i["_syndic"]["feed"] == "Wide").unwrap();
    assert_eq!(wide["_syndic"]["home_page_url"], "https://wide.example/");
    // Without the flags the fields are left out, as JSON Feed allows.
    let doc: Value = serde_json::from_str(&stdout(&s.env, &["export", "json"])).unwrap();
    assert!(doc.get("feed_url").is_none() && doc.get("home_page_url").is_none());
}

#[test]
fn stats_counts_days_topics_feeds_copies_and_silence() {
    let s = synced();
    let r: Value = serde_json::from_str(&stdout(&s.env, &["stats", "--json"])).unwrap();
    // Pinned now is 2021-10-25 12:00 UTC: 30 days from 09-26 to 10-25.
    assert_eq!(
        (r["days"].as_u64(), r["first_day"].as_str(), r["last_day"].as_str()),
        (Some(30), Some("2021-09-26"), Some("2021-10-25"))
    );
    let per_day =
        |v: &Value| -> Vec<u64> { v["per_day"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect() };
    // 8 stories: 3 of Bol, 1 of Tech Frontier (its other entry is a copy), 2 of CEN, hostile, wide.
    assert_eq!(r["stories"]["total"], 8);
    assert_eq!(per_day(&r["stories"]).iter().sum::<u64>(), 8);
    let topic = |name: &str| r["topics"].as_array().unwrap().iter().find(|t| t["topic"] == name).cloned().unwrap();
    let pakistan = topic("pakistan");
    assert_eq!(pakistan["total"], 3);
    // The seed story (10-20 04:15 UTC) is on the 25th day of the window.
    assert!(per_day(&pakistan)[24] >= 1, "{pakistan}");
    assert_eq!(topic("cpec")["total"], 5, "{}", topic("cpec"));

    let feed = |name: &str| r["feeds"].as_array().unwrap().iter().find(|f| f["feed"] == name).cloned().unwrap();
    let tech = feed("Tech Frontier");
    assert_eq!(
        (tech["total"].as_u64(), tech["copies"].as_u64(), tech["copy_share"].as_f64()),
        (Some(2), Some(1), Some(0.5))
    );
    assert_eq!((feed("Bol News")["copies"].as_u64(), feed("Bol News")["copied"].as_u64()), (Some(0), Some(1)));
    let most = &r["most_republished"][0];
    assert_eq!(
        (most["title"].as_str(), most["feed"].as_str(), most["copies"].as_u64()),
        (Some(SEED), Some("Bol News"), Some(1))
    );
    assert!(r["silent_feeds"].as_array().unwrap().is_empty(), "{}", r["silent_feeds"]);

    // Five days (10-21 to 10-25): the feeds whose newest entry is older are silent.
    let r: Value = serde_json::from_str(&stdout(&s.env, &["stats", "--json", "--days", "5"])).unwrap();
    let silent: Vec<&str> = r["silent_feeds"].as_array().unwrap().iter().map(|f| f["feed"].as_str().unwrap()).collect();
    assert_eq!(silent, ["Hostile", "Bol News", "CEN"], "longest silent first");
    assert_eq!(r["silent_feeds"][1]["last_published"], "2021-10-20T04:15:00Z");

    // For people: sparklines, sections, no control characters from feeds.
    let text = stdout(&s.env, &["stats"]);
    assert!(text.starts_with("Last 30 days: 2021-09-26 to 2021-10-25 (UTC)"), "{text}");
    assert!(text.contains("Most republished") && text.contains("Silent for the last 30 days"), "{text}");
    let row = text.lines().find(|l| l.starts_with("Tech Frontier")).unwrap();
    assert!(row.contains("1 (50%)") && row.ends_with("·····█··█····"), "{row}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
    assert!(text.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 100), "{text}");

    let (code, _, err) = s.env.run(&["stats", "--days", "0"]);
    assert_ne!(code, 0);
    assert!(err.contains("write a whole number from 1 to 3650"), "{err}");
}

#[test]
fn export_html_unread_leaves_out_stories_already_read() {
    let s = synced();
    // Read state: `entries.read_at` (migration 004, the reading work); a
    // database made before it gets the column here, as the migration adds it.
    let conn = rusqlite::Connection::open(s.env.db_path()).unwrap();
    let has: bool =
        conn.prepare("SELECT 1 FROM pragma_table_info('entries') WHERE name = 'read_at'").unwrap().exists([]).unwrap();
    let before = stdout(&s.env, &["export", "html", "--unread"]);
    assert!(before.contains(SEED), "nothing read yet: every story is unread");
    if !has {
        conn.execute("ALTER TABLE entries ADD COLUMN read_at INTEGER", []).unwrap();
    }
    // The seed story was read through its copy in Tech Frontier.
    conn.execute("UPDATE entries SET read_at = 1635163200 WHERE title = ?1 AND duplicate_of IS NOT NULL", [SEED])
        .unwrap();
    drop(conn);
    let unread = stdout(&s.env, &["export", "html", "--unread"]);
    assert!(!unread.contains(SEED), "{unread}");
    assert!(unread.contains("Gwadar port handles record cargo volume"), "{unread}");
    assert!(stdout(&s.env, &["export", "html"]).contains(SEED));
}

#[test]
fn stats_human_output_snapshot() {
    let s = synced();
    insta::assert_snapshot!("stats", stdout(&s.env, &["stats", "--days", "14"]));
    // A 40-column terminal: every line fits.
    let out = s.env.cmd(&["stats", "--days", "30"]).env("COLUMNS", "40").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(unicode_width::UnicodeWidthStr::width(line) <= 40, "{line:?} in\n{text}");
    }
    assert!(text.contains("Most republished"), "{text}");
}
