//! The read side: `list`, `search`, `show`, `export`, against a database
//! filled by `sync` from loopback-served fixtures.
//!
//! Feeds are synced one at a time, so ids are stable:
//!  1 Bol seed article (10-20 04:15)   2 Gwadar (10-19 09:00)   3 PSX (10-18 12:30)
//!  4 Tech Frontier copy of 1 (10-21)  5 Graphene (10-18 08:00)
//!  6 CEN webinar (10-20 05:00)        7 CEN Chinese (10-19 05:00)
//!  8 Dawn rupee (10-20 05:00)         9 Dawn ML-1 (10-19 05:00)
//! 10 Urdu (10-16 09:00)              11 BRT, upper case (10-16 08:00)
//! 12 hostile escape sequences (10-15)

use serde_json::Value;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

const FEEDS: &[(&str, &str, &str, &[&str])] = &[
    ("/bol.xml", "bol-news.xml", "Bol News", &["pakistan"]),
    ("/blog.xml", "republisher-exact.xml", "Tech Frontier", &["technology"]),
    ("/cen.atom", "atom.xml", "CEN", &[]),
    ("/dawn.json", "jsonfeed.json", "Dawn", &["business"]),
    ("/multi.json", "multilingual.json", "Multilingual", &[]),
    ("/hostile.json", "hostile.json", "Hostile", &[]),
];

struct Synced {
    env: TestEnv,
    _server: Server,
}

fn synced() -> Synced {
    let server = Server::start();
    let env = TestEnv::new();
    let mut config = String::from(
        "[topics.cpec]\nkeywords = [\"CPEC\", \"China-Pakistan Economic Corridor\", \"Gwadar\", \"中巴经济走廊\"]\n\n",
    );
    for (path, file, name, topics) in FEEDS {
        server.route(path, Reply::xml(fixture(file)));
        let topics = topics.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        config.push_str(&format!(
            "[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\ntopics = [{topics}]\n\n",
            server.url(path)
        ));
    }
    env.write_config(&config);
    for (_, _, name, _) in FEEDS {
        env.cmd(&["sync", "--feed", name]).assert().success();
    }
    Synced { env, _server: server }
}

fn json(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let (code, stdout, stderr) = env.run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str::<Vec<Value>>(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

fn stdout(env: &TestEnv, args: &[&str]) -> String {
    let (code, out, err) = env.run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

#[test]
fn list_is_newest_first_with_copies_folded_and_counted() {
    let s = synced();
    let rows = json(&s.env, &["list", "--json"]);
    assert_eq!(ids(&rows), [8, 6, 1, 2, 9, 7, 3, 5, 10, 11, 12]);
    let seed = &rows[2];
    assert_eq!(seed["copies"], 1);
    assert_eq!(seed["duplicate_of"], Value::Null);
    // A story is in the topics of its copies too (Tech Frontier is "technology").
    assert_eq!(seed["topics"], serde_json::json!(["cpec", "pakistan", "technology"]));

    let all = json(&s.env, &["list", "--all", "--json"]);
    assert_eq!(ids(&all), [4, 8, 6, 1, 2, 9, 7, 3, 5, 10, 11, 12]);
    assert_eq!((all[0]["duplicate_of"].as_i64(), all[0]["copies"].as_i64()), (Some(1), Some(0)));
    assert_eq!(all[0]["feed"], "Tech Frontier");
    assert_eq!(all[3]["topics"], serde_json::json!(["cpec", "pakistan"]), "own topics with --all");

    assert_eq!(ids(&json(&s.env, &["list", "--json", "--limit", "3"])), [8, 6, 1]);
}

#[test]
fn list_json_fields_are_the_documented_interface() {
    let s = synced();
    let rows = json(&s.env, &["list", "--all", "--json"]);
    let mut keys: Vec<&str> = rows[0].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attribution",
            "author",
            "copies",
            "duplicate_of",
            "feed",
            "feed_url",
            "id",
            "published",
            "read",
            "summary",
            "title",
            "topics",
            "url"
        ]
    );
    let seed = rows.iter().find(|r| r["id"] == 1).unwrap();
    assert_eq!(seed["feed"], "Bol News");
    assert!(seed["feed_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(seed["title"], "Sino Pak Friendship Strengthen With The Technology Revolution");
    assert_eq!(
        seed["url"],
        "https://www.bolnews.com/business/2021/10/sino-pak-friendship-strengthen-with-the-technology-revolution/"
    );
    assert_eq!(seed["author"], "Bol News");
    assert_eq!(seed["published"], "2021-10-20T04:15:00Z");
    assert_eq!(seed["attribution"], Value::Null);
    for r in &rows {
        let summary = r["summary"].as_str().unwrap();
        assert!(summary.chars().count() <= 300, "{summary}");
        assert!(chrono::DateTime::parse_from_rfc3339(r["published"].as_str().unwrap()).is_ok());
    }
}

#[test]
fn list_filters_by_time_topic_and_feed() {
    let s = synced();
    let env = &s.env;
    // NOW is 2021-10-25T12:00:00Z.
    assert_eq!(ids(&json(env, &["list", "--json", "--since", "2021-10-20"])), [8, 6, 1]);
    assert_eq!(ids(&json(env, &["list", "--json", "--since", "5d"])), Vec::<i64>::new());
    assert_eq!(ids(&json(env, &["list", "--json", "--since", "5d", "--all"])), [4]);
    assert_eq!(ids(&json(env, &["list", "--json", "--until", "2021-10-17"])), [10, 11, 12]);
    assert_eq!(
        ids(&json(env, &["list", "--json", "--since", "2021-10-19T00:00:00Z", "--until", "2021-10-20T00:00:00Z"])),
        [2, 9, 7]
    );
    assert_eq!(ids(&json(env, &["list", "--json", "--topic", "cpec"])), [6, 1, 2, 9, 7, 12]);
    assert_eq!(ids(&json(env, &["list", "--json", "--topic", "cpec", "--topic", "business"])), [8, 6, 1, 2, 9, 7, 12]);
    assert_eq!(ids(&json(env, &["list", "--json", "--topic", "technology"])), [1, 5]);
    // --feed lists that feed's own entries; its copy is marked as one.
    let tf = json(env, &["list", "--json", "--feed", "tech frontier"]);
    assert_eq!(ids(&tf), [4, 5]);
    assert_eq!(tf[0]["duplicate_of"], 1);
}

#[test]
fn unknown_topic_or_feed_lists_the_known_ones_and_empty_results_are_fine() {
    let s = synced();
    // A mistake in the command line is a usage error (64), not a failure (1) or failed feeds (2).
    let (code, _, stderr) = s.env.run(&["list", "--topic", "cpce"]);
    assert_eq!(code, 64);
    assert_eq!(
        stderr.lines().next().unwrap_or_default(),
        "error: unknown topic \"cpce\"; known topics: business, cpec, pakistan, technology"
    );
    assert!(stderr.contains("\nhint: "), "{stderr}");
    let (code, _, stderr) = s.env.run(&["list", "--feed", "Dawnn"]);
    assert_eq!(code, 64);
    assert!(stderr.contains("unknown feed \"Dawnn\"; known feeds: Bol News, Tech Frontier, CEN, Dawn,"), "{stderr}");
    let (code, _, stderr) = s.env.run(&["list", "--since", "yesterday"]);
    assert_eq!(code, 64, "clap usage error");
    assert!(stderr.contains("write a duration ago like 24h or 7d"), "{stderr}");

    let (code, out, err) = s.env.run(&["list", "--topic", "cpec", "--since", "1h"]);
    assert_eq!((code, out.as_str(), err.trim()), (0, "", "no entries match"));
    assert_eq!(stdout(&s.env, &["list", "--since", "1h", "--json"]).trim(), "[]");
}

#[test]
fn read_commands_need_a_database_and_say_so() {
    let env = TestEnv::new();
    env.write_config("");
    let (code, _, stderr) = env.run(&["list"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error: no database at") && stderr.contains("hint: run `syndic sync` first"), "{stderr}");
}

#[test]
fn search_ranks_title_hits_above_body_hits_and_folds_copies() {
    let s = synced();
    let hits = json(&s.env, &["search", "gwadar", "--json"]);
    let found = ids(&hits);
    assert_eq!(found[0], 2, "the title hit comes first: {hits:#?}");
    assert!(found.contains(&1) && found.contains(&12), "{found:?}");
    let ranks: Vec<f64> = hits.iter().map(|h| h["rank"].as_f64().unwrap()).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("Gwadar"), "{hits:#?}");

    // Both the original and its copy contain "leapfrog": one story.
    assert_eq!(ids(&json(&s.env, &["search", "leapfrog", "--json"])), [1]);
    let mut all = ids(&json(&s.env, &["search", "leapfrog", "--json", "--all"]));
    all.sort();
    assert_eq!(all, [1, 4]);
    assert_eq!(ids(&json(&s.env, &["search", "leapfrog", "--json", "--feed", "Tech Frontier"])), [4]);
    assert_eq!(
        ids(&json(&s.env, &["search", "gwadar", "--json", "--since", "2021-10-19", "--topic", "pakistan"])),
        [2, 1]
    );
}

#[test]
fn search_takes_plain_words_and_fts_syntax_without_errors() {
    let s = synced();
    let cases: &[(&[&str], &[i64])] = &[
        (&["ML-1"], &[9]),
        (&["China-Pakistan"], &[6, 1]),
        (&["Dr.", "Baige"], &[1]),
        (&["\"Dr Baige Zhao\""], &[1]),
        (&["Pakistan's", "geo-economy"], &[1]),
        (&["it's"], &[]),
        (&["'"], &[]),
        (&["\""], &[]),
        (&["*"], &[]),
        (&["gwad*"], &[2, 1, 12]),
        (&["rupee", "OR", "railway"], &[8, 9]),
        (&["gwadar", "NOT", "cargo"], &[1, 12]),
        (&["NOT"], &[]),
        (&["(CPEC"], &[6, 1, 9]),
    ];
    for (query, want) in cases {
        let mut args = vec!["search", "--json"];
        args.extend_from_slice(query);
        let (code, out, err) = s.env.run(&args);
        assert_eq!(code, 0, "{query:?}: {err}");
        let mut got = ids(&serde_json::from_str::<Vec<Value>>(&out).unwrap());
        let mut want = want.to_vec();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{query:?}");
    }
    let (code, out, err) = s.env.run(&["search", "*"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(err.trim(), "no entries match (the query has no words to search for)");
}

#[test]
fn search_folds_case_and_diacritics_and_finds_non_latin_scripts() {
    let s = synced();
    let find = |q: &str| ids(&json(&s.env, &["search", q, "--json"]));
    assert_eq!(find("Peshawar"), [11], "PESHAWAR in upper case");
    assert_eq!(find("karachi"), [11], "KARĀCHI with a macron");
    assert_eq!(find("پشاور"), [10], "Urdu");
    assert_eq!(find("راہداری"), [10], "Urdu body word");
    assert_eq!(find("经济走廊"), [7], "Chinese inside a run of characters");
    assert_eq!(find("中巴"), [7]);
    let hit = &json(&s.env, &["search", "经济走廊", "--json"])[0];
    assert!(hit["snippet"].as_str().unwrap().contains("中巴经济走廊建设"), "{hit}");
}

fn assert_no_controls(what: &str, text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n'
                || !(c.is_control()
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)),
            "{what}: control character {c:?} in output:\n{text}"
        );
    }
}

#[test]
fn hostile_feed_text_never_reaches_the_terminal() {
    let s = synced();
    for args in [
        &["list"][..],
        &["list", "--all"],
        &["search", "gwadar"],
        &["search", "clipboard"],
        &["show", "12"],
        &["feeds"],
    ] {
        let out = s.env.cmd(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_no_controls(&format!("{args:?} stdout"), &String::from_utf8_lossy(&out.stdout));
        assert_no_controls(&format!("{args:?} stderr"), &String::from_utf8_lossy(&out.stderr));
    }
    let show = stdout(&s.env, &["show", "12"]);
    assert!(show.contains("Clear screen click me bell etirw"), "{show}");
    assert!(show.contains("Mallory"), "{show}");
    // Colour on: only syndic's own styling escapes appear.
    let coloured = stdout(&s.env, &["--color", "always", "search", "clipboard"]);
    let stripped =
        coloured.replace("\x1b[1m", "").replace("\x1b[2m", "").replace("\x1b[0m", "").replace("\x1b[36m", "");
    assert_no_controls("coloured search", &stripped);
    // Escape sequences are dropped when the feed is stored, so JSON carries none either.
    let v: Value = serde_json::from_str(&stdout(&s.env, &["show", "12", "--json"])).unwrap();
    assert_eq!(v["title"], "Clear screen click me bell etirw");
    assert_eq!(v["author"], "Mallory");
    assert!(!v.to_string().contains("\\u001b") && !v.to_string().contains("52;c"), "{v}");
    let search: Vec<Value> = serde_json::from_str(&stdout(&s.env, &["search", "clipboard", "--json"])).unwrap();
    assert!(!search[0]["snippet"].as_str().unwrap().contains("52;c"), "{search:?}");
}

#[test]
fn show_gives_the_entry_and_its_story() {
    let s = synced();
    let original = stdout(&s.env, &["show", "1"]);
    assert!(original.contains("Copies (1)"), "{original}");
    assert!(
        original.contains("4  Tech Frontier  https://techfrontier.example/2021/10/21/sino-pak-friendship/"),
        "{original}"
    );
    let copy = stdout(&s.env, &["show", "4"]);
    assert!(copy.contains("Copy of\n  1  Bol News  https://www.bolnews.com/"), "{copy}");

    let (_, out, _) = s.env.run(&["show", "1", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["id"], 1);
    assert_eq!(v["copies"], 1);
    assert!(v["content_html"].as_str().unwrap().starts_with("<p>New industries are emerging"));
    assert!(v["text"].as_str().unwrap().contains("\n\n"));
    assert_eq!(v["original"], Value::Null);
    assert_eq!(v["other_copies"][0]["id"], 4);
    assert_eq!(v["other_copies"][0]["feed"], "Tech Frontier");
    let (_, out, _) = s.env.run(&["show", "4", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["duplicate_of"], 1);
    assert_eq!(v["original"]["id"], 1);

    let (code, _, err) = s.env.run(&["show", "999"]);
    assert_eq!(code, 1);
    assert!(err.contains("error: no entry with id 999"), "{err}");
}

#[test]
fn human_output_snapshots() {
    let s = synced();
    insta::assert_snapshot!("list", stdout(&s.env, &["list"]));
    insta::assert_snapshot!("list_all_cpec", stdout(&s.env, &["list", "--all", "--topic", "cpec"]));
    insta::assert_snapshot!("search_gwadar", stdout(&s.env, &["search", "gwadar"]));
    insta::assert_snapshot!("show_original", stdout(&s.env, &["show", "1"]));
    insta::assert_snapshot!("show_copy", stdout(&s.env, &["show", "4"]));
}

#[test]
fn list_fits_narrow_terminals_and_cjk_titles() {
    let s = synced();
    let out = s.env.cmd(&["list"]).env("COLUMNS", "60").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(unicode_width::UnicodeWidthStr::width(line) <= 60, "{line}");
    }
    assert!(text.contains("中巴经济走廊") || text.contains("中巴"), "{text}");
}

#[test]
fn export_opml_is_valid_and_groups_feeds_by_topic() {
    let s = synced();
    let doc = stdout(&s.env, &["export", "opml"]);
    let outlines = parse_opml(&doc);
    // (depth, attributes) of every outline.
    let topics: Vec<&str> =
        outlines.iter().filter(|(d, _)| *d == 1).filter_map(|(_, a)| a.get("text").map(String::as_str)).collect();
    assert_eq!(topics, ["business", "pakistan", "technology", "CEN", "Multilingual", "Hostile"]);
    let feeds: Vec<_> = outlines.iter().filter(|(_, a)| a.contains_key("xmlUrl")).collect();
    assert_eq!(feeds.len(), 6);
    let bol = feeds.iter().find(|(_, a)| a["text"] == "Bol News").unwrap();
    assert_eq!(bol.1["type"], "rss");
    assert_eq!(bol.1["title"], "Bol News");
    assert_eq!(bol.1["htmlUrl"], "https://www.bolnews.com/");
    assert_eq!(bol.1["category"], "/pakistan");
    assert!(bol.1["xmlUrl"].starts_with("http://127.0.0.1:"));
    assert!(!doc.contains('\u{1b}'));

    // -o writes the same document atomically.
    let path = s.env.path("out/feeds.opml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    s.env.cmd(&["export", "opml", "-o", path.to_str().unwrap()]).assert().success().stdout("");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), doc);
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temporary file left");
}

/// Parses an OPML document, checking its structure, into (depth under
/// body, attributes) for every outline.
fn parse_opml(doc: &str) -> Vec<(usize, std::collections::HashMap<String, String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut stack: Vec<String> = Vec::new();
    let mut outlines = Vec::new();
    let mut saw = (false, false, false);
    loop {
        let ev = reader.read_event().unwrap_or_else(|e| panic!("invalid XML: {e}\n{doc}"));
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                stack.pop();
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = e.name().0.to_owned();
            let attrs: std::collections::HashMap<String, String> = e
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (a.key.0.to_owned(), a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned())
                })
                .collect();
            match (stack.as_slice(), name.as_str()) {
                ([], "opml") => {
                    assert_eq!(attrs.get("version").map(String::as_str), Some("2.0"));
                    saw.0 = true;
                }
                ([o], "head") if o == "opml" => saw.1 = true,
                ([o], "body") if o == "opml" => saw.2 = true,
                ([o, h], _) if o == "opml" && h == "head" => {}
                (path, "outline") if path.len() >= 2 && path[1] == "body" => {
                    assert!(attrs.contains_key("text"), "OPML 2.0: every outline has text");
                    outlines.push((path.len() - 1, attrs));
                }
                (path, other) => panic!("unexpected <{other}> under {path:?}"),
            }
            if !empty {
                stack.push(name);
            }
        }
    }
    assert_eq!(saw, (true, true, true), "opml, head and body");
    outlines
}

#[test]
fn export_opml_lists_a_feed_under_each_of_its_topics() {
    let env = TestEnv::new();
    env.write_config(
        "[topics.cpec]\nkeywords = [\"CPEC\"]\n[[feeds]]\nurl = \"https://a.example/feed?x=1&y=2\"\nname = \"A & B <News>\"\ntopics = [\"cpec\", \"pakistan\"]\n",
    );
    let doc = stdout(&env, &["export", "opml"]);
    let outlines = parse_opml(&doc);
    let feeds: Vec<_> = outlines.iter().filter(|(_, a)| a.contains_key("xmlUrl")).collect();
    assert_eq!(feeds.len(), 2);
    for (depth, a) in feeds {
        assert_eq!(*depth, 2);
        assert_eq!(a["text"], "A & B <News>");
        assert_eq!(a["xmlUrl"], "https://a.example/feed?x=1&y=2");
        assert_eq!(a["category"], "/cpec,/pakistan");
    }
}

#[test]
fn export_json_is_a_json_feed_with_copies_in_the_extension() {
    let s = synced();
    let raw = stdout(&s.env, &["export", "json", "--topic", "cpec"]);
    let doc: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(doc["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(doc["title"], "syndic digest: cpec");
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for item in items {
        assert!(item["id"].as_str().is_some_and(|s| !s.is_empty()), "{item}");
        assert!(item["content_html"].is_string() || item["content_text"].is_string(), "{item}");
        assert!(chrono::DateTime::parse_from_rfc3339(item["date_published"].as_str().unwrap()).is_ok());
        assert!(item["tags"].as_array().unwrap().iter().any(|t| t == "cpec"), "{item}");
        assert!(item["_syndic"]["feed"].is_string());
    }
    let seed =
        items.iter().find(|i| i["title"] == "Sino Pak Friendship Strengthen With The Technology Revolution").unwrap();
    assert_eq!(
        seed["url"],
        "https://www.bolnews.com/business/2021/10/sino-pak-friendship-strengthen-with-the-technology-revolution/"
    );
    assert_eq!(seed["authors"][0]["name"], "Bol News");
    assert_eq!(seed["_syndic"]["feed"], "Bol News");
    assert_eq!(seed["_syndic"]["copies"][0]["feed"], "Tech Frontier");
    assert_eq!(seed["_syndic"]["copies"][0]["url"], "https://techfrontier.example/2021/10/21/sino-pak-friendship/");
    assert!(seed["_syndic"]["copies"][0].as_object().unwrap().contains_key("attribution"));

    let limited: Value =
        serde_json::from_str(&stdout(&s.env, &["export", "json", "--since", "2021-10-20", "--limit", "2"])).unwrap();
    assert_eq!(limited["items"].as_array().unwrap().len(), 2);

    let path = s.env.path("digest.json");
    s.env.cmd(&["export", "json", "-o", path.to_str().unwrap()]).assert().success().stdout("");
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written["items"].as_array().unwrap().len(), 11);
    let (code, _, err) = s.env.run(&["export", "json", "-o", "/nonexistent-dir/x.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("error: cannot write /nonexistent-dir/x.json"), "{err}");
}

/// The OPML imports into a real reader. `.ci/run` installs newsboat from
/// Debian's packages and sets SYNDIC_REQUIRE_NEWSBOAT; elsewhere the test
/// says it was skipped (the structure is checked above regardless).
#[test]
fn export_opml_imports_into_newsboat() {
    let have = std::process::Command::new("newsboat").arg("--version").output().is_ok_and(|o| o.status.success());
    if !have {
        assert!(std::env::var_os("SYNDIC_REQUIRE_NEWSBOAT").is_none(), "newsboat is required but not installed");
        eprintln!("skipped: newsboat is not installed");
        return;
    }
    let s = synced();
    let opml = s.env.path("feeds.opml");
    s.env.cmd(&["export", "opml", "-o", opml.to_str().unwrap()]).assert().success();
    let urls = s.env.path("newsboat-urls");
    let out = std::process::Command::new("newsboat")
        .env_clear()
        .env("HOME", s.env.dir.path())
        .args(["-i", opml.to_str().unwrap(), "-u", urls.to_str().unwrap()])
        .args(["-c", s.env.path("nb-cache.db").to_str().unwrap(), "-C", s.env.path("nb-config").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let imported = std::fs::read_to_string(&urls).unwrap();
    let lines: Vec<&str> = imported.lines().collect();
    assert_eq!(lines.len(), FEEDS.len(), "{imported}");
    assert!(lines.iter().any(|l| l.contains("/bol.xml") && l.contains("\"pakistan\"")), "{imported}");
    assert!(lines.iter().any(|l| l.contains("/blog.xml") && l.contains("\"technology\"")), "{imported}");
}
