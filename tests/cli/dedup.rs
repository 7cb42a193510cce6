//! Copy detection end to end: every case of issue 4 (fixtures made by
//! tests/fixtures/dedup/make.py), synced copies-first so that originals
//! arrive late and stories are re-rooted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::TestEnv;
use crate::server::{Reply, Server};

/// (fixture, feed name), in sync order: the copies' feeds first.
const FEEDS: &[(&str, &str)] = &[
    ("tech-frontier.xml", "Tech Frontier"),
    ("cpec-watch.xml", "CPEC Watch"),
    ("dawn.xml", "Dawn"),
    ("eurasia-review.xml", "Eurasia Review"),
    ("pakistan-observer.xml", "Pakistan Observer"),
    ("china-economic-net.atom", "China Economic Net"),
    ("lahore-markets.xml", "Lahore Markets"),
    ("bol-news.xml", "Bol News"),
    ("app.xml", "APP"),
    ("the-conversation.atom", "The Conversation"),
    ("china-daily.xml", "China Daily"),
    ("the-diplomat.xml", "The Diplomat"),
    ("startup-pakistan.xml", "Startup Pakistan"),
    ("textile-today.xml", "Textile Today"),
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dedup").join(name)).unwrap()
}

fn setup(one_at_a_time: bool) -> (TestEnv, Server) {
    let server = Server::start();
    let env = TestEnv::new();
    let mut config = String::new();
    for (file, name) in FEEDS {
        let path = format!("/{file}");
        server.route(&path, Reply::xml(fixture(file)));
        config.push_str(&format!("[[feeds]]\nurl = \"{}\"\nname = \"{name}\"\n\n", server.url(&path)));
    }
    env.write_config(&config);
    if one_at_a_time {
        for (_, name) in FEEDS {
            env.cmd(&["sync", "--feed", name]).assert().success();
        }
    } else {
        env.cmd(&["sync"]).assert().success();
    }
    (env, server)
}

struct Stories {
    rows: Vec<Value>,
}

impl Stories {
    fn load(env: &TestEnv) -> Stories {
        let (code, out, err) = env.run(&["list", "--all", "--json", "--limit", "1000"]);
        assert_eq!(code, 0, "{err}");
        Stories { rows: serde_json::from_str(&out).unwrap() }
    }

    /// The row of `feed` whose title starts with `title`.
    fn row(&self, feed: &str, title: &str) -> &Value {
        let found: Vec<&Value> =
            self.rows.iter().filter(|r| r["feed"] == feed && r["title"].as_str().unwrap().starts_with(title)).collect();
        assert_eq!(found.len(), 1, "one entry of {feed} titled {title}…");
        found[0]
    }

    fn id(&self, feed: &str, title: &str) -> i64 {
        self.row(feed, title)["id"].as_i64().unwrap()
    }

    fn root(&self, id: i64) -> i64 {
        let row = self.rows.iter().find(|r| r["id"] == id).unwrap();
        row["duplicate_of"].as_i64().unwrap_or(id)
    }

    /// The stories as sets of "feed: title" (entries alone are left out).
    fn groups(&self) -> BTreeSet<BTreeSet<String>> {
        let mut by_root: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for r in &self.rows {
            let id = r["id"].as_i64().unwrap();
            by_root.entry(self.root(id)).or_default().insert(format!(
                "{}: {}",
                r["feed"].as_str().unwrap(),
                r["title"].as_str().unwrap()
            ));
        }
        by_root.into_values().filter(|g| g.len() > 1).collect()
    }

    /// Asserts that the entries form one story whose original is `original`.
    fn assert_story(&self, original: (&str, &str), copies: &[(&str, &str)]) {
        let o = self.id(original.0, original.1);
        assert_eq!(self.row(original.0, original.1)["duplicate_of"], Value::Null, "{original:?} is the original");
        assert_eq!(self.row(original.0, original.1)["copies"], copies.len(), "{original:?} copies");
        for c in copies {
            assert_eq!(self.row(c.0, c.1)["duplicate_of"], o, "{c:?} is a copy of {original:?}");
        }
    }

    fn assert_alone(&self, feed: &str, title: &str) {
        let r = self.row(feed, title);
        assert!(r["duplicate_of"].is_null() && r["copies"] == 0, "{feed}: {title} stands alone: {r}");
    }
}

const SEED: &str = "Sino Pak Friendship";

#[test]
fn every_kind_of_copy_is_grouped_under_its_original() {
    let (env, _server) = setup(true);
    let s = Stories::load(&env);
    // The seed: "Originally published at Bol news", bio and "Leave a Reply"; and a
    // 55-word WordPress excerpt with "[…]" and "The post … appeared first on" its own site.
    s.assert_story(("Bol News", SEED), &[("Tech Frontier", SEED), ("CPEC Watch", SEED)]);
    assert_eq!(s.row("Tech Frontier", SEED)["attribution"], "Bol news");
    assert_eq!(s.row("CPEC Watch", SEED)["attribution"], Value::Null, "it credits its own site");
    // A 40-word Atom summary of a full article.
    s.assert_story(("Bol News", "Gwadar port"), &[("China Economic Net", "Gwadar port")]);
    // A wire story with a rewritten headline, an edited first paragraph and "Source: APP".
    s.assert_story(("APP", "Relief convoy"), &[("Dawn", "Trucks with tents")]);
    assert_eq!(s.row("Dawn", "Trucks with tents")["attribution"], "APP");
    // Republished from The Conversation under a Creative Commons licence.
    s.assert_story(("The Conversation", "Pakistan's solar boom"), &[("Eurasia Review", "Pakistan's solar boom")]);
    assert_eq!(s.row("Eurasia Review", "Pakistan's solar boom")["attribution"], "The Conversation");
    // "This article first appeared in The Diplomat", with its own headline suffix.
    s.assert_story(("The Diplomat", "CPEC's Second Phase"), &[("Eurasia Review", "CPEC's Second Phase")]);
    // "Republished with permission from China Daily", the original arriving a day later.
    s.assert_story(("China Daily", "China, Pakistan sign"), &[("Pakistan Observer", "China, Pakistan sign")]);
    // "The post … appeared first on Startup Pakistan", at another host with tracking parameters.
    s.assert_story(("Startup Pakistan", "Karachi startups"), &[("CPEC Watch", "Repost: Karachi startups")]);
    assert_eq!(
        s.row("CPEC Watch", "Repost: Karachi")["url"],
        "https://mirror.cpecwatch.example/karachi-startups-record/"
    );
    // The other way round: the original is an excerpt, the copy carries the full text.
    s.assert_story(("Textile Today", "Textile exports"), &[("CPEC Watch", "Textile exports")]);
    assert_eq!(s.groups().len(), 8, "{:#?}", s.groups());
}

#[test]
fn look_alikes_stay_apart() {
    let (env, _server) = setup(true);
    let s = Stories::load(&env);
    // Two reports of the same event written independently (same names and figures).
    s.assert_alone("Dawn", "Gwadar port handles record cargo volume");
    // Posts of one site sharing only the author bio, newsletter box, share buttons, "Leave a Reply".
    for title in ["Graphene membranes", "Why 2-D materials", "Battery recycling"] {
        s.assert_alone("Tech Frontier", title);
    }
    // Templated daily reports: the same sentences, other figures (also across feeds).
    for d in 18..=22 {
        s.assert_alone("Lahore Markets", &format!("Gold price in Lahore today, {d} October"));
    }
    s.assert_alone("Dawn", "Gold price in Lahore today, 21 October");
    // A short item whose words occur inside a long article, and a round-up page.
    s.assert_alone("CPEC Watch", "Free zone leases");
    s.assert_alone("CPEC Watch", "Morning briefing");
}

#[test]
fn grouping_does_not_depend_on_the_order_feeds_arrive_in() {
    let (one_by_one, _a) = setup(true);
    let (all_at_once, _b) = setup(false);
    assert_eq!(Stories::load(&one_by_one).groups(), Stories::load(&all_at_once).groups());
}

#[test]
fn the_list_counts_copies_and_show_names_the_attribution() {
    let (env, _server) = setup(true);
    let s = Stories::load(&env);
    let seed = s.id("Bol News", SEED);
    let folded: Vec<Value> = serde_json::from_str(&env.run(&["list", "--json"]).1).unwrap();
    assert!(folded.iter().all(|r| r["duplicate_of"].is_null()));
    assert_eq!(folded.iter().find(|r| r["id"] == seed).unwrap()["copies"], 2);
    let show = env.run(&["show", &seed.to_string()]).1;
    assert!(show.contains("Copies (2)") && show.contains("(credits Bol news)"), "{show}");
    let digest: Value = serde_json::from_str(&env.run(&["export", "json"]).1).unwrap();
    let item = digest["items"].as_array().unwrap().iter().find(|i| i["_syndic"]["id"] == seed).unwrap();
    let credits: Vec<&Value> =
        item["_syndic"]["copies"].as_array().unwrap().iter().map(|c| &c["attribution"]).collect();
    assert!(credits.contains(&&Value::from("Bol news")), "{item}");
}

#[test]
fn explain_shows_candidates_scores_and_evidence() {
    let (env, _server) = setup(true);
    let s = Stories::load(&env);
    let (copy, original) = (s.id("Tech Frontier", SEED), s.id("Bol News", SEED));
    let (code, out, _) = env.run(&["dedup", "--explain", &copy.to_string()]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("status:      copy of {original} (near, containment 1.00), in a story of 3")),
        "{out}"
    );
    assert!(out.contains("credits:     Bol news"), "{out}");
    assert!(out.contains(&format!("original:    {original}, because another entry credits its feed by name")), "{out}");
    // The verified pairs that hold it in its story.
    assert!(out.contains("held in its story by these verified pairs:"), "{out}");
    assert!(out.contains(&format!("    {original}  Bol News  {SEED} Strengthen With The Technology Revolution\n      same article, containment 1.00")), "{out}");

    // The independent report: the Bol story was a candidate, and why it is not the same.
    let dawn = s.id("Dawn", "Gwadar port handles record cargo volume");
    let v: Value = serde_json::from_str(&env.run(&["dedup", "--explain", &dawn.to_string(), "--json"]).1).unwrap();
    let bol = s.id("Bol News", "Gwadar port");
    let c =
        v["candidates"].as_array().unwrap().iter().find(|c| c["story"] == bol).expect("the Bol story is a candidate");
    assert_eq!(c["same_story"], false);
    assert_eq!(c["reason"], "different text");
    assert!(c["containment"].as_f64().unwrap() < 0.3, "{c}");

    let (code, _, err) = env.run(&["dedup", "--explain", "9999"]);
    assert_eq!(code, 1);
    assert!(err.contains("no entry with id 9999"), "{err}");
}

#[test]
fn corrections_are_kept_across_rebuilds() {
    let (env, _server) = setup(true);
    let before = Stories::load(&env);
    // A rebuild from the stored entries gives the same stories.
    let (code, out, _) = env.run(&["dedup", "--rebuild"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("rebuilt stories of"), "{out}");
    assert_eq!(Stories::load(&env).groups(), before.groups());

    let summary = before.id("China Economic Net", "Gwadar port");
    let dawn = before.id("Dawn", "Gwadar port handles record cargo volume");
    let bol = before.id("Bol News", "Gwadar port");
    env.cmd(&["dedup", "--split", &summary.to_string()]).assert().success();
    let (code, out, _) = env.run(&["dedup", "--merge", &dawn.to_string(), &bol.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("entry {dawn} is now a copy of {bol} (kept across `syndic dedup --rebuild`)"));
    for _ in 0..2 {
        let s = Stories::load(&env);
        s.assert_alone("China Economic Net", "Gwadar port");
        assert_eq!(s.row("Dawn", "Gwadar port handles record cargo volume")["duplicate_of"], bol);
        env.cmd(&["dedup", "--rebuild"]).assert().success();
    }
    let out = env.run(&["dedup", "--explain", &summary.to_string()]).1;
    assert!(out.contains("stands alone: split by the user"), "{out}");

    // Splitting an original leaves its copies together under the next one.
    let seed = before.id("Bol News", SEED);
    env.cmd(&["dedup", "--split", &seed.to_string()]).assert().success();
    let s = Stories::load(&env);
    s.assert_alone("Bol News", SEED);
    let tf = s.id("Tech Frontier", SEED);
    let cw = s.row("CPEC Watch", SEED);
    assert_eq!(cw["duplicate_of"], tf, "the earliest copy is the new original");

    let (code, _, err) = env.run(&["dedup", "--merge", &bol.to_string(), &dawn.to_string()]);
    assert_eq!(code, 1, "merging an original into its own copy");
    assert!(err.contains("already the original"), "{err}");
}

/// A site's category feed stored before its main feed holds the story until
/// a copy credits the site by the main feed's exact name.
#[test]
fn a_copy_crediting_the_main_feed_makes_it_the_original() {
    let server = Server::start();
    let main = fixture("bol-news.xml");
    let category =
        String::from_utf8(main.clone()).unwrap().replace("<title>Bol News</title>", "<title>CPEC – Bol News</title>");
    server.route("/category.xml", Reply::xml(category));
    server.route("/main.xml", Reply::xml(main));
    server.route("/blog.xml", Reply::xml(fixture("tech-frontier.xml")));
    let env = TestEnv::new();
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Bol News: CPEC\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Bol News\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Tech Frontier\"\n",
        server.url("/category.xml"),
        server.url("/main.xml"),
        server.url("/blog.xml")
    ));
    for name in ["Bol News: CPEC", "Bol News", "Tech Frontier"] {
        env.cmd(&["sync", "--feed", name]).assert().success();
    }
    let s = Stories::load(&env);
    s.assert_story(("Bol News", SEED), &[("Bol News: CPEC", SEED), ("Tech Frontier", SEED)]);
}

/// "The post … appeared first on CPEC Watch" credits the feed's own site
/// even on its first sync, when only the feed document gives its name.
#[test]
fn a_line_crediting_the_own_site_is_no_attribution_on_the_first_sync() {
    let server = Server::start();
    server.route("/cw.xml", Reply::xml(fixture("cpec-watch.xml")));
    let env = TestEnv::new();
    env.write_config(&format!("[[feeds]]\nurl = \"{}\"\n", server.url("/cw.xml")));
    env.cmd(&["sync"]).assert().success();
    let s = Stories::load(&env);
    assert_eq!(s.row("CPEC Watch", SEED)["attribution"], Value::Null);
    assert_eq!(s.row("CPEC Watch", "Repost: Karachi")["attribution"], "Startup Pakistan");
}

/// Copies that arrive before their original can form two stories (one
/// started by an excerpt, one by a full copy in another feed): the original
/// gathers both.
#[test]
fn a_late_original_gathers_every_story_its_copies_formed() {
    let original = String::from_utf8(fixture("china-daily.xml")).unwrap();
    let body_start = original.find("<![CDATA[").unwrap() + 9;
    let body_end = original.find("]]></content:encoded>").unwrap();
    let body = &original[body_start..body_end];
    let text = body.replace("</p><p>", " ").replace("<p>", "").replace("</p>", "");
    let excerpt: String = text.split_whitespace().take(55).collect::<Vec<_>>().join(" ");
    let title = "China, Pakistan sign ML-1 railway financing framework";
    let item = |guid: &str, date: &str, desc: &str, content: &str| {
        format!(
            "<item><title>{title}</title><link>https://{guid}.example/ml1</link><guid>{guid}</guid>\
             <pubDate>{date}</pubDate><description><![CDATA[{desc}]]></description>{content}</item>"
        )
    };
    let full_copy = format!("<content:encoded><![CDATA[{body}<p>This article was originally published at China Daily.</p>]]></content:encoded>");
    let feed = |title: &str, items: &[String]| {
        format!(
            "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>{title}</title>\
             <link>https://{}.example/</link>{}</channel></rss>",
            title.to_lowercase(),
            items.concat()
        )
    };
    let ledger = feed(
        "Ledger",
        &[
            item(
                "ledger-1",
                "Fri, 22 Oct 2021 01:00:00 +0000",
                &format!("{excerpt} [&#8230;] The post {title} appeared first on Ledger."),
                "",
            ),
            item("ledger-2", "Sat, 23 Oct 2021 01:00:00 +0000", "", &full_copy),
        ],
    );
    let digest = feed("Digest", &[item("digest-1", "Fri, 22 Oct 2021 18:00:00 +0000", "", &full_copy)]);
    let server = Server::start();
    server.route("/ledger.xml", Reply::xml(ledger));
    server.route("/digest.xml", Reply::xml(digest));
    server.route("/cd.xml", Reply::xml(original.clone()));
    let env = TestEnv::new();
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Ledger\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"Digest\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"China Daily\"\n",
        server.url("/ledger.xml"),
        server.url("/digest.xml"),
        server.url("/cd.xml")
    ));
    for name in ["Ledger", "Digest", "China Daily"] {
        env.cmd(&["sync", "--feed", name]).assert().success();
    }
    let s = Stories::load(&env);
    let cd = s.id("China Daily", "China, Pakistan");
    assert_eq!(s.row("China Daily", "China, Pakistan")["copies"], 3);
    let copies: Vec<&Value> = s.rows.iter().filter(|r| r["feed"] != "China Daily").collect();
    assert_eq!(copies.len(), 3);
    for c in copies {
        assert_eq!(c["duplicate_of"], cd, "{c}");
    }
}

/// RSS `<source url>` is explicit evidence: a short item that names the
/// original by its link joins its story, whatever its text.
#[test]
fn an_rss_source_element_names_the_original() {
    let digest = "<rss version=\"2.0\"><channel><title>Wire Digest</title>\
        <item><title>Convoy heads to Dadu</title><guid>wd-1</guid><pubDate>Thu, 21 Oct 2021 06:00:00 GMT</pubDate>\
        <description>Relief trucks left Karachi.</description>\
        <source url=\"https://www.app.com.pk/national/relief-convoy-leaves-karachi/\">APP</source></item>\
        </channel></rss>";
    let server = Server::start();
    server.route("/digest.xml", Reply::xml(digest));
    server.route("/app.xml", Reply::xml(fixture("app.xml")));
    let env = TestEnv::new();
    env.write_config(&format!(
        "[[feeds]]\nurl = \"{}\"\nname = \"Wire Digest\"\n\n[[feeds]]\nurl = \"{}\"\nname = \"APP\"\n",
        server.url("/digest.xml"),
        server.url("/app.xml")
    ));
    for name in ["Wire Digest", "APP"] {
        env.cmd(&["sync", "--feed", name]).assert().success();
    }
    let s = Stories::load(&env);
    s.assert_story(("APP", "Relief convoy"), &[("Wire Digest", "Convoy heads")]);
    let out = env.run(&["dedup", "--explain", &s.id("Wire Digest", "Convoy heads").to_string()]).1;
    assert!(out.contains("(source, containment"), "{out}");
}
