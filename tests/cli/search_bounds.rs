//! Search stays fast and bounded whatever the entries and the query
//! (issue 9, "search hangs on big entries or long queries"; issue 11).

use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::server::{Reply, Server};

/// One feed: an ordinary entry and one whose text is `huge_words` words.
fn env_with_huge_entry(huge_words: usize) -> (TestEnv, Server) {
    let server = Server::start();
    let env = TestEnv::new();
    let huge: String = (0..huge_words).map(|i| if i % 7 == 0 { "lorem " } else { "ipsum " }).collect();
    let feed = format!(
        "<rss version=\"2.0\"><channel><title>Big</title>\
         <item><title>Small</title><guid>s</guid><link>https://big.example/s</link>\
         <pubDate>Mon, 18 Oct 2021 10:00:00 GMT</pubDate><description>solar lorem panels</description></item>\
         <item><title>Huge</title><guid>h</guid><link>https://big.example/h</link>\
         <pubDate>Mon, 18 Oct 2021 09:00:00 GMT</pubDate><description>{huge}</description></item>\
         </channel></rss>"
    );
    server.route("/big.xml", Reply::xml(feed));
    env.write_config(&format!("[[feeds]]\nurl = \"{}\"\nname = \"Big\"\n", server.url("/big.xml")));
    env.cmd(&["sync", "-q"]).assert().success();
    (env, server)
}

#[test]
fn a_huge_entry_gets_a_short_snippet_quickly() {
    // 600,000 words (3.6 MB): FTS5's snippet() over the whole text took over a minute.
    let (env, _server) = env_with_huge_entry(600_000);
    let started = Instant::now();
    let (code, out, err) = env.run(&["search", "lorem", "--json"]);
    let took = started.elapsed();
    assert_eq!(code, 0, "{err}");
    let hits: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(hits.len(), 2, "{out}");
    let huge = env.count("SELECT id FROM entries WHERE title = 'Huge'").to_string();
    let (_, shown, _) = env.run(&["show", &huge, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let stored = shown["text"].as_str().unwrap().chars().count();
    assert!(stored > 3_000_000, "the huge text is stored whole ({stored} characters)");
    for hit in &hits {
        let words = hit["snippet"].as_str().unwrap().split_whitespace().count();
        assert!(words <= syndic::search::SNIPPET_WORDS, "{hit}");
    }
    // Generous for a debug build on a busy machine; the unbounded snippet took minutes.
    assert!(took < Duration::from_secs(20), "search took {took:?}");
}

#[test]
fn unbounded_queries_are_refused_with_a_hint_and_repeats_count_once() {
    let (env, _server) = env_with_huge_entry(10);
    for (query, says) in [
        ("x".repeat(100_000), "the query is 100000 characters long; at most 500 are searched"),
        ("s* ".repeat(100), "\"s*\" is too short a prefix"),
        ((0..50).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" OR "), "50 different words or phrases"),
    ] {
        let (code, out, err) = env.run(&["search", &query]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.starts_with("error: ") && err.contains(says), "{err}");
        assert!(err.contains("\nhint: "), "{err}");
    }
    let (code, out, err) = env.run(&["search", "--json", &"solar ".repeat(80)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"Small\""), "{out}");
}
