//! Managing feeds without editing feeds.toml: `init`, `add`, `remove
//! [--purge]`, `feeds --orphans`.

use serde_json::Value;

use crate::common::{fixture, TestEnv};
use crate::server::{Reply, Server};

fn server() -> Server {
    let server = Server::start();
    server.route("/bol.xml", Reply::xml(fixture("bol-news.xml")));
    server.route("/blog.xml", Reply::xml(fixture("republisher-exact.xml")));
    // A home page whose <link rel="alternate"> names /feed/.
    server.route("/", Reply::html(&String::from_utf8(fixture("not-a-feed.html")).unwrap()));
    server.route("/feed/", Reply::xml(fixture("republisher-exact.xml")));
    server.route("/bare.html", Reply::html("<html><head><title>x</title></head><body>hi</body></html>"));
    server
}

fn config(env: &TestEnv) -> String {
    std::fs::read_to_string(env.config_path()).unwrap()
}

#[test]
fn init_writes_a_starter_once() {
    let env = TestEnv::new();
    let (code, out, err) = env.run(&["init"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote") && out.contains("syndic add URL"), "{out}");
    let text = config(&env);
    assert!(text.starts_with("# syndic's feed list.") && text.contains("# [[feeds]]"), "{text}");
    // It loads: no feeds yet.
    env.cmd(&["feeds", "--json"]).assert().success().stdout("[]\n");
    std::fs::write(env.config_path(), "# mine\n").unwrap();
    let (code, _, err) = env.run(&["init"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists; init never overwrites it"), "{err}");
    assert!(err.contains("hint: add feeds with `syndic add URL`"), "{err}");
    assert_eq!(config(&env), "# mine\n", "untouched");
}

#[test]
fn add_checks_the_feed_once_and_appends_keeping_the_file() {
    let server = server();
    let env = TestEnv::new();
    env.cmd(&["init"]).assert().success();
    let starter = config(&env);
    let url = server.url("/bol.xml");
    let (code, out, err) = env.run(&["add", &url, "--topic", "pakistan", "--topic", "cpec"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("added Bol News <{url}> (3 entries); run `syndic sync` to fetch it\n"));
    assert_eq!(server.hits("/bol.xml"), 1, "fetched once");
    assert_eq!(
        config(&env),
        format!("{starter}\n[[feeds]]\nurl = \"{url}\"\nname = \"Bol News\"\ntopics = [\"pakistan\", \"cpec\"]\n")
    );
    let feeds: Vec<Value> = serde_json::from_str(&env.run(&["feeds", "--json"]).1).unwrap();
    assert_eq!(feeds[0]["topics"], serde_json::json!(["pakistan", "cpec"]));

    // A duplicate, written differently (trailing slash), is refused.
    let (code, _, err) = env.run(&["add", &format!("{url}/")]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("error: {url}/ is already in")) && err.contains("as \"Bol News\""), "{err}");
    // And one with a #fragment, which never reaches the server (feeds.toml would list it twice).
    let (code, _, err) = env.run(&["add", &format!("{url}#latest")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("error: {url} is already in")), "{err}");
    // So is a name in use.
    let (code, _, err) = env.run(&["add", &server.url("/blog.xml"), "--name", "bol news"]);
    assert_eq!(code, 1);
    assert!(err.contains("the name \"bol news\" is already used"), "{err}");
    assert_eq!(server.hits("/blog.xml"), 0, "refused before fetching");
}

#[test]
fn add_finds_the_feed_of_a_home_page() {
    let server = server();
    let env = TestEnv::new();
    env.write_config("# my feeds\n\n[topics.cpec]\nkeywords = [\"CPEC\"] # the corridor\n");
    let (code, out, err) = env.run(&["add", &server.url("/"), "--name", "Frontier"]);
    assert_eq!(code, 0, "{err}");
    let feed = server.url("/feed/");
    assert!(out.starts_with(&format!("added Frontier <{feed}> (2 entries), the feed")), "{out}");
    assert_eq!((server.hits("/"), server.hits("/feed/")), (1, 1));
    assert_eq!(
        config(&env),
        format!("# my feeds\n\n[topics.cpec]\nkeywords = [\"CPEC\"] # the corridor\n\n[[feeds]]\nurl = \"{feed}\"\nname = \"Frontier\"\n")
    );
    // The page again: its feed is already there.
    let (code, _, err) = env.run(&["add", &server.url("/")]);
    assert_eq!(code, 1);
    assert!(err.contains("is already in"), "{err}");
}

#[test]
fn add_takes_a_local_file() {
    let env = TestEnv::new();
    env.write_config("");
    let url = env.fixture_file("bol-news.xml");
    let (code, out, err) = env.run(&["add", "./bol-news.xml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("added Bol News <{url}> (3 entries)")), "{out}");
    env.cmd(&["sync"]).assert().success();
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 3);
}

#[test]
fn add_explains_what_is_not_a_feed() {
    let server = server();
    let env = TestEnv::new();
    let (code, _, err) = env.run(&["add", &server.url("/bol.xml")]);
    assert_eq!(code, 1);
    assert!(err.contains("no configuration at") && err.contains("hint: run `syndic init`"), "{err}");
    env.write_config("");
    let (code, _, err) = env.run(&["add", &server.url("/missing.xml")]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a feed syndic can read: HTTP 404"), "{err}");
    let (code, _, err) = env.run(&["add", &server.url("/bare.html")]);
    assert_eq!(code, 1);
    assert!(err.contains("is a web page that links to no feed"), "{err}");
    let (code, _, err) = env.run(&["add", "ftp://x.example/feed"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not an http(s) or file URL"), "{err}");
    let (code, _, err) = env.run(&["add", &server.url("/bol.xml"), "--topic", "a b"]);
    assert_eq!(code, 1);
    assert!(err.contains("topic name \"a b\" is not allowed"), "{err}");
    assert_eq!(config(&env), "", "nothing written after an error");
}

#[test]
fn remove_keeps_entries_until_purge_which_re_roots_stories() {
    let server = server();
    let env = TestEnv::new();
    env.write_config(&format!(
        "# feeds\n[[feeds]]\nurl = \"{}\"\nname = \"Bol News\" # the original\n\n[[feeds]]\nurl = \"{}\"\nname = \"Tech Frontier\"\n",
        server.url("/bol.xml"),
        server.url("/blog.xml")
    ));
    env.cmd(&["sync", "--feed", "Bol News"]).assert().success();
    env.cmd(&["sync", "--feed", "Tech Frontier"]).assert().success();
    assert_eq!(env.count("SELECT duplicate_of FROM entries WHERE id = 4"), 1, "4 is a copy of 1");

    let (code, out, err) = env.run(&["remove", "bol news"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("removed Bol News <{}> from", server.url("/bol.xml"))), "{out}");
    assert!(out.contains("its 3 entries stay in the database; `syndic remove --purge"), "{out}");
    assert_eq!(
        config(&env),
        format!("# feeds\n[[feeds]]\nurl = \"{}\"\nname = \"Tech Frontier\"\n", server.url("/blog.xml"))
    );
    // An orphan now: still listed, and named by feeds --orphans.
    let orphans: Vec<Value> = serde_json::from_str(&env.run(&["feeds", "--orphans", "--json"]).1).unwrap();
    assert_eq!(orphans.len(), 1);
    assert_eq!((orphans[0]["name"].as_str(), orphans[0]["entries"].as_u64()), (Some("Bol News"), Some(3)));
    let (_, _, note) = env.run(&["feeds"]);
    assert!(note.contains("note: 1 feed in the database no longer in") && note.contains("feeds --orphans"), "{note}");
    let (_, table, hint) = env.run(&["feeds", "--orphans"]);
    assert!(
        table.starts_with("NAME") && table.contains("Bol News") && hint.contains("remove --purge"),
        "{table}{hint}"
    );
    let (code, _, err) = env.run(&["remove", "Bol News"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not in") && err.contains("hint: `syndic remove --purge"), "{err}");

    let (code, out, err) = env.run(&["remove", "--purge", "Bol News"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "deleted 3 entries; 1 story it carried first lives on under a copy\n");
    let rows: Vec<Value> = serde_json::from_str(&env.run(&["list", "--json"]).1).unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [4, 5], "the copy 4 is now the story's original");
    assert_eq!(rows[0]["duplicate_of"], Value::Null);
    env.cmd(&["feeds", "--orphans", "--json"]).assert().success().stdout("[]\n");
    env.cmd(&["doctor"]).assert().success();

    // --purge on a configured feed does both at once.
    let (code, out, _) = env.run(&["remove", "--purge", &server.url("/blog.xml")]);
    assert_eq!(code, 0);
    assert!(out.contains("removed Tech Frontier") && out.contains("deleted 2 entries"), "{out}");
    assert_eq!(env.count("SELECT COUNT(*) FROM entries"), 0);
    let (code, _, err) = env.run(&["remove", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no feed is named or has the URL \"nope\""), "{err}");
}

/// `remove` takes a feed's URL as feeds.toml writes it, #fragment and all
/// (feeds.toml URLs are read without it, and `remove` then said no feed had
/// that URL); a row the database still holds under the URL with that very
/// fragment (an orphan migration 012 left) is the one it means.
#[test]
fn remove_takes_a_url_with_its_fragment_as_feeds_toml_writes_it() {
    let server = server();
    let env = TestEnv::new();
    let (bol, blog) = (server.url("/bol.xml"), server.url("/blog.xml"));
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{bol}#latest\"\nname = \"Bol News\"\n\n[[feeds]]\nurl = \"{blog}\"\nname = \"Tech\"\n"
    ));
    env.cmd(&["sync"]).assert().success();
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.execute("INSERT INTO feeds (url) VALUES (?1)", [format!("{blog}#old")]).unwrap();
    drop(conn);
    let (code, out, err) = env.run(&["remove", &format!("{bol}#latest")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("removed Bol News <{bol}> from")), "{out}");
    // The orphan named exactly goes; the configured feed stays.
    let (code, out, err) = env.run(&["remove", "--purge", &format!("{blog}#old")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(config(&env).trim_start(), format!("[[feeds]]\nurl = \"{blog}\"\nname = \"Tech\"\n"));
    assert_eq!(env.count("SELECT COUNT(*) FROM feeds WHERE url LIKE '%#%'"), 0);
    assert_eq!(env.count(&format!("SELECT COUNT(*) FROM feeds WHERE url = '{blog}'")), 1);
}

fn opml_fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opml").join(name).display().to_string()
}

/// A configured feed: (name, url, topics).
type Configured = (String, String, Vec<String>);

/// Every configured feed.
fn configured(env: &TestEnv) -> Vec<Configured> {
    let (code, out, err) = env.run(&["feeds", "--json"]);
    assert_eq!(code, 0, "{err}");
    let feeds: Vec<Value> = serde_json::from_str(&out).unwrap();
    feeds
        .iter()
        .map(|f| {
            let topics = f["topics"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
            (f["name"].as_str().unwrap().to_owned(), f["url"].as_str().unwrap().to_owned(), topics)
        })
        .collect()
}

fn feed(name: &str, url: &str, topics: &[&str]) -> Configured {
    (name.to_owned(), url.to_owned(), topics.iter().map(|t| (*t).to_owned()).collect())
}

const BOL: &str = "https://www.bolnews.com/feed/";
const DAWN: &str = "https://www.dawn.com/feeds/business";
const FRONTIER: &str = "https://techfrontier.example/feed/";

#[test]
fn import_opml_as_each_reader_writes_it() {
    let cases: &[(&str, Vec<Configured>)] = &[
        (
            "newsboat.opml",
            vec![
                feed("Bol News", BOL, &["pakistan", "cpec"]),
                feed("Dawn - Business", DAWN, &["pakistan", "business"]),
                feed("Tech Frontier", FRONTIER, &[]),
            ],
        ),
        (
            "miniflux.opml",
            vec![
                feed("Tech Frontier", FRONTIER, &[]),
                feed("Bol News", BOL, &["CPEC"]),
                feed("China Economic Net", "http://en.ce.cn/rss/cpec.xml", &["CPEC"]),
                feed("Dawn - Business", DAWN, &["Business-Markets"]),
            ],
        ),
        (
            "freshrss.opml",
            vec![
                feed("Tech Frontier", FRONTIER, &[]),
                feed("Bol News", BOL, &["Pakistan"]),
                feed("Dawn - Business", DAWN, &["Pakistan"]),
            ],
        ),
        (
            "feedly.opml",
            vec![
                feed("Bol News", BOL, &["Pakistan", "Tech-Science"]),
                feed("Dawn - Business", DAWN, &["Pakistan"]),
                feed("Tech Frontier", FRONTIER, &["Tech-Science"]),
            ],
        ),
    ];
    for (file, want) in cases {
        let env = TestEnv::new();
        let (code, out, err) = env.run(&["import", "opml", &opml_fixture(file)]);
        assert_eq!(code, 0, "{file}: {err}");
        assert!(out.starts_with(&format!("added {} feeds to ", want.len())), "{file}: {out}");
        assert_eq!(&configured(&env), want, "{file}");
        if *file == "newsboat.opml" {
            assert!(out.contains("skipped query:Unread Articles:unread = \"yes\": not an http(s) feed URL"), "{out}");
        }
    }
}

#[test]
fn import_skips_feeds_already_there_and_keeps_the_file() {
    let env = TestEnv::new();
    env.write_config(&format!("# mine\n[[feeds]]\nurl = \"{BOL}\" # keep me\nname = \"Bol\"\n"));
    let (code, out, _) = env.run(&["import", "opml", &opml_fixture("feedly.opml")]);
    assert_eq!(code, 0);
    assert!(out.contains("added 2 feeds") && out.contains("skipped 1 feed already in"), "{out}");
    assert!(out.contains(&format!("  Tech Frontier <{FRONTIER}> topics: Tech-Science")), "{out}");
    let text = config(&env);
    assert!(
        text.starts_with(&format!("# mine\n[[feeds]]\nurl = \"{BOL}\" # keep me\nname = \"Bol\"\n\n[[feeds]]\n")),
        "{text}"
    );
    let (code, out, _) = env.run(&["import", "opml", &opml_fixture("feedly.opml")]);
    assert_eq!(
        (code, out.as_str()),
        (0, format!("added no feeds\nskipped 3 feeds already in {}\n", env.config_path().display()).as_str())
    );

    // Outlines differing from a listed feed only by a #fragment are that feed;
    // two such new outlines are one feed.
    let opml = env.path("fragments.opml");
    std::fs::write(
        &opml,
        format!(
            r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline type="rss" text="Bol again" xmlUrl="{BOL}#top"/>
<outline type="rss" text="New" xmlUrl="https://new.example/feed#a"/>
<outline type="rss" text="New again" xmlUrl="https://new.example/feed#b"/>
</body></opml>"#
        ),
    )
    .unwrap();
    let (code, out, err) = env.run(&["import", "opml", &opml.display().to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("added 1 feed") && out.contains("skipped 2 feeds already in"), "{out}");
    assert!(config(&env).contains("url = \"https://new.example/feed\"\n"), "{}", config(&env));
    assert_eq!(env.run(&["feeds", "--json"]).0, 0, "feeds.toml stays valid");

    let (code, _, err) =
        env.run(&["import", "opml", &crate::common::fixture_path("bol-news.xml").display().to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("no <opml> element") && err.contains("hint: export the feed list as OPML"), "{err}");
    let (code, _, err) = env.run(&["import", "opml", "missing.opml"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read missing.opml"), "{err}");
}

#[test]
fn export_import_export_gives_the_same_feeds_and_topics() {
    let first = TestEnv::new();
    first.write_config(&format!(
        "[topics.cpec]\nkeywords = [\"CPEC\"]\n\n\
         [[feeds]]\nurl = \"{BOL}\"\nname = \"Bol News\"\ntopics = [\"pakistan\", \"cpec\"]\n\n\
         [[feeds]]\nurl = \"{DAWN}\"\nname = \"Dawn & Co <Business>\"\ntopics = [\"business\"]\n\n\
         [[feeds]]\nurl = \"{FRONTIER}\"\nname = \"Tech Frontier\"\n\n\
         [[feeds]]\nurl = \"https://unnamed.example/rss\"\n"
    ));
    let exported = first.path("feeds.opml");
    first.cmd(&["export", "opml", "-o", exported.to_str().unwrap()]).assert().success();

    let second = TestEnv::new();
    let (code, out, err) = second.run(&["import", "opml", exported.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("added 4 feeds"), "{out}");
    let mut a = configured(&first);
    let mut b = configured(&second);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let again = second.run(&["export", "opml"]).1;
    assert_eq!(again, std::fs::read_to_string(&exported).unwrap(), "the same document");
}

#[test]
fn hostile_titles_never_reach_the_terminal_nor_feeds_toml() {
    let env = TestEnv::new();
    env.write_config("");
    env.fixture_file("hostile.json");
    let (code, out, err) = env.run(&["add", "./hostile.json"]);
    assert_eq!(code, 0, "{err}");
    let text = config(&env);
    for s in [&out, &text] {
        assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
    }
    assert!(text.contains("name = \"Hostile Feed\""), "{text}");
    let (code, out, _) = env.run(&["sync", "--print-new"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("1  Hostile Feed  Clear screen click me bell etirw  https://hostile.example/1"), "{out:?}");
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    // An OPML title with escapes: the name is made safe too.
    std::fs::write(
        env.path("evil.opml"),
        "<opml version=\"2.0\"><body><outline text=\"Evil &#27;[2J&#7; Feed\" xmlUrl=\"https://evil.example/rss\" category=\"a&#27;]52;c;x&#7;b\"/></body></opml>",
    )
    .unwrap();
    let (code, out, err) = env.run(&["import", "opml", "evil.opml"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(!config(&env).chars().any(|c| c.is_control() && c != '\n'), "{}", config(&env));
}
