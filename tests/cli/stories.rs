//! Stories on realistic news (issue 8): the hand-written wire copy of
//! tests/fixtures/news (made by make.py, truth in expected.json) and the shared
//! generator's corpus, synced in many arrival orders through the binary.
//!
//! Three properties:
//! - the partition into stories, and the original of each story, is the same
//!   whatever the order the feeds arrive in (config order, reversed, shuffled,
//!   one feed per sync, half then all, `dedup --rebuild`);
//! - every story of expected.json is grouped as written and no trap is merged
//!   (the scores are printed: pairwise and per-entry precision and recall);
//! - the shared generator's corpus keeps its scores and is order-independent.
//!
//! NOTE (issue 8): with the star clustering of before issue 8 the first two
//! fail; that is the point of them. Do not weaken them: fix copy detection.
//! See: issue 8, "Copies on real news: stories as connected components".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::TestEnv;

/// One item: (feed name, url).
type Item = (String, String);
/// Stories as sets of items (entries alone included).
type Partition = BTreeSet<BTreeSet<Item>>;

fn news_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/news")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(news_dir().join("expected.json")).expect("read expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

fn item_of(v: &Value) -> Item {
    (v["feed"].as_str().expect("feed").to_owned(), v["url"].as_str().expect("url").to_owned())
}

/// The fixture feeds in config order: (name, file:// URL).
fn news_feeds() -> Vec<(String, String)> {
    expected()["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .map(|f| {
            let path = news_dir().join(f["file"].as_str().expect("file"));
            (f["name"].as_str().expect("name").to_owned(), url::Url::from_file_path(path).unwrap().to_string())
        })
        .collect()
}

/// feeds.toml listing `feeds` in this order.
fn config(feeds: &[(String, String)], settings: &str) -> String {
    let mut out = format!("[settings]\n{settings}\n");
    for (name, url) in feeds {
        write!(out, "\n[[feeds]]\nurl = \"{url}\"\nname = \"{name}\"\n").unwrap();
    }
    out
}

/// A small deterministic shuffle (xorshift), so that no crate is needed.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = items.to_vec();
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    out
}

/// How the feeds reach the database.
#[derive(Clone, Copy, Debug)]
enum Arrival {
    /// One `sync` of every feed (they finish in any order).
    OneSync,
    /// `sync --feed NAME` for each feed in config order.
    OneFeedPerSync,
    /// `sync --feed` of the first half, then `sync` of all.
    HalfThenAll,
    /// `sync --feed` of each of N slices of the config, in order.
    Slices(usize),
}

/// The syndic stories after syncing `feeds` (in this config order) as `arrival` says.
struct Synced {
    env: TestEnv,
    rows: Vec<Value>,
}

impl Synced {
    fn run(feeds: &[(String, String)], settings: &str, arrival: Arrival, now: &str) -> Synced {
        let env = TestEnv::new();
        env.write_config(&config(feeds, settings));
        let sync = |args: &[&str]| {
            let out = env.cmd(args).env("SYNDIC_NOW", now).output().expect("run syndic");
            assert!(out.status.success(), "syndic {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        };
        match arrival {
            Arrival::OneSync => sync(&["sync"]),
            Arrival::OneFeedPerSync => {
                for (name, _) in feeds {
                    sync(&["sync", "--feed", name]);
                }
            }
            Arrival::HalfThenAll => {
                let mut args = vec!["sync"];
                for (name, _) in &feeds[..feeds.len() / 2] {
                    args.extend(["--feed", name.as_str()]);
                }
                sync(&args);
                sync(&["sync"]);
            }
            Arrival::Slices(n) => {
                for slice in feeds.chunks(feeds.len().div_ceil(n)) {
                    let mut args = vec!["sync"];
                    for (name, _) in slice {
                        args.extend(["--feed", name.as_str()]);
                    }
                    sync(&args);
                }
            }
        }
        let rows = list(&env, now);
        Synced { env, rows }
    }

    fn rebuild(&self, now: &str) -> Vec<Value> {
        let out = self.env.cmd(&["dedup", "--rebuild"]).env("SYNDIC_NOW", now).output().expect("run syndic");
        assert!(out.status.success(), "dedup --rebuild: {}", String::from_utf8_lossy(&out.stderr));
        list(&self.env, now)
    }
}

fn list(env: &TestEnv, now: &str) -> Vec<Value> {
    let out = env.cmd(&["list", "--all", "--json", "--limit", "100000"]).env("SYNDIC_NOW", now).output().expect("list");
    assert!(out.status.success(), "list: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("list --json is JSON")
}

/// Stories of `list --json` rows: each story's members and its original.
struct Stories {
    /// story (as its members) -> its original
    originals: BTreeMap<BTreeSet<Item>, Item>,
    /// item -> its title, for messages
    titles: BTreeMap<Item, String>,
}

impl Stories {
    fn of(rows: &[Value]) -> Stories {
        let by_id: BTreeMap<i64, &Value> = rows.iter().map(|r| (r["id"].as_i64().expect("id"), r)).collect();
        let key = |r: &Value| -> Item {
            (r["feed"].as_str().expect("feed").to_owned(), r["url"].as_str().unwrap_or("").to_owned())
        };
        let mut members: BTreeMap<i64, BTreeSet<Item>> = BTreeMap::new();
        for r in rows {
            let mut root = r;
            let mut hops = 0;
            while let Some(up) = root["duplicate_of"].as_i64() {
                root = by_id.get(&up).unwrap_or_else(|| panic!("duplicate_of {up} is not a listed entry"));
                hops += 1;
                assert!(hops <= rows.len(), "duplicate_of loops at entry {}", r["id"]);
            }
            members.entry(root["id"].as_i64().expect("id")).or_default().insert(key(r));
        }
        let originals = members.into_iter().map(|(root, m)| (m, key(by_id[&root]))).collect();
        let titles = rows.iter().map(|r| (key(r), r["title"].as_str().unwrap_or("").to_owned())).collect();
        Stories { originals, titles }
    }

    fn partition(&self) -> Partition {
        self.originals.keys().cloned().collect()
    }
}

impl Stories {
    /// "feed: title <url>" of each item, one a line.
    fn show<'a>(&self, items: impl IntoIterator<Item = &'a Item>) -> String {
        items
            .into_iter()
            .map(|i| format!("    {}: {} <{}>", i.0, self.titles.get(i).map_or("?", String::as_str), i.1))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An empty string when `a` and `b` agree, else what differs.
fn differences(a_name: &str, a: &Stories, b_name: &str, b: &Stories) -> String {
    let mut out = String::new();
    let (pa, pb) = (a.partition(), b.partition());
    for s in pa.difference(&pb) {
        if s.len() > 1 || !pb.iter().any(|t| t.is_superset(s)) {
            writeln!(out, "  a story of {a_name} that {b_name} does not have:\n{}", a.show(s)).unwrap();
        }
    }
    for s in pb.difference(&pa) {
        if s.len() > 1 || !pa.iter().any(|t| t.is_superset(s)) {
            writeln!(out, "  a story of {b_name} that {a_name} does not have:\n{}", b.show(s)).unwrap();
        }
    }
    for (s, oa) in &a.originals {
        if let Some(ob) = b.originals.get(s) {
            if oa != ob && s.len() > 1 {
                writeln!(out, "  same story, other original: {a_name} {oa:?}, {b_name} {ob:?}\n{}", a.show(s)).unwrap();
            }
        }
    }
    out
}

/// Syncs in each order and asserts every order gives the stories of the first.
fn assert_same_stories(runs: &[(String, Vec<Value>)]) {
    let (base_name, base_rows) = &runs[0];
    let base = Stories::of(base_rows);
    let mut report = String::new();
    for (name, rows) in &runs[1..] {
        let d = differences(base_name, &base, name, &Stories::of(rows));
        if !d.is_empty() {
            writeln!(report, "{base_name} vs {name}:\n{d}").unwrap();
        }
    }
    assert!(report.is_empty(), "the stories depend on the arrival order (issue 8):\n{report}");
}

#[test]
fn news_stories_do_not_depend_on_arrival_order() {
    let feeds = news_feeds();
    let settings = "dedup_window = \"30d\"";
    let now = crate::common::NOW;
    let mut reversed = feeds.clone();
    reversed.reverse();
    let mut runs = Vec::new();
    let first = Synced::run(&feeds, settings, Arrival::OneSync, now);
    runs.push(("config order, one sync".to_owned(), first.rows.clone()));
    runs.push(("dedup --rebuild".to_owned(), first.rebuild(now)));
    runs.push(("config order, one sync, again".to_owned(), Synced::run(&feeds, settings, Arrival::OneSync, now).rows));
    runs.push(("reversed, one sync".to_owned(), Synced::run(&reversed, settings, Arrival::OneSync, now).rows));
    runs.push(("one feed per sync".to_owned(), Synced::run(&feeds, settings, Arrival::OneFeedPerSync, now).rows));
    runs.push((
        "reversed, one feed per sync".to_owned(),
        Synced::run(&reversed, settings, Arrival::OneFeedPerSync, now).rows,
    ));
    for seed in [1, 2, 3] {
        let order = shuffled(&feeds, seed);
        runs.push((
            format!("shuffle {seed}, one feed per sync"),
            Synced::run(&order, settings, Arrival::OneFeedPerSync, now).rows,
        ));
    }
    runs.push(("half then all".to_owned(), Synced::run(&feeds, settings, Arrival::HalfThenAll, now).rows));
    runs.push(("reversed half then all".to_owned(), Synced::run(&reversed, settings, Arrival::HalfThenAll, now).rows));
    assert_same_stories(&runs);
}

/// Pairs of items that share a story.
fn pairs(p: &Partition) -> BTreeSet<(Item, Item)> {
    let mut out = BTreeSet::new();
    for s in p {
        let v: Vec<&Item> = s.iter().collect();
        for i in 0..v.len() {
            for j in i + 1..v.len() {
                out.insert((v[i].clone(), v[j].clone()));
            }
        }
    }
    out
}

/// Pairwise and per-entry (B-cubed) precision and recall of `got` against `truth`.
struct Scores {
    pair_precision: f64,
    pair_recall: f64,
    bcubed_precision: f64,
    bcubed_recall: f64,
}

fn scores(truth: &Partition, got: &Partition) -> Scores {
    let (t, g) = (pairs(truth), pairs(got));
    let hits = t.intersection(&g).count() as f64;
    let ratio = |a: f64, b: usize| if b == 0 { 1.0 } else { a / b as f64 };
    let story_of = |p: &Partition| -> BTreeMap<Item, BTreeSet<Item>> {
        p.iter().flat_map(|s| s.iter().map(move |i| (i.clone(), s.clone()))).collect()
    };
    let (ts, gs) = (story_of(truth), story_of(got));
    let (mut bp, mut br) = (0.0, 0.0);
    for (i, tstory) in &ts {
        let gstory = &gs[i];
        let common = tstory.intersection(gstory).count() as f64;
        bp += common / gstory.len() as f64;
        br += common / tstory.len() as f64;
    }
    let n = ts.len().max(1) as f64;
    Scores {
        pair_precision: ratio(hits, g.len()),
        pair_recall: ratio(hits, t.len()),
        bcubed_precision: bp / n,
        bcubed_recall: br / n,
    }
}

/// Compares syndic's stories with expected.json; returns the failures, readably.
fn judge(expected: &Value, got: &Stories) -> (Scores, String) {
    let mut failures = String::new();
    let mut got_partition = got.partition();
    let known: BTreeSet<Item> = expected["stories"]
        .as_array()
        .expect("stories")
        .iter()
        .flat_map(|s| s["members"].as_array().expect("members").iter().map(item_of))
        .collect();
    let listed: BTreeSet<Item> = got_partition.iter().flatten().cloned().collect();
    for i in listed.difference(&known) {
        writeln!(failures, "a listed entry that is no fixture item: {i:?}").unwrap();
    }
    for i in known.difference(&listed) {
        writeln!(failures, "a fixture item that syndic does not list: {i:?}").unwrap();
    }
    got_partition = got_partition
        .into_iter()
        .map(|s| s.intersection(&known).cloned().collect::<BTreeSet<_>>())
        .filter(|s| !s.is_empty())
        .collect();

    // The truth; an item with `may_join_one_of` (a roundup) moves into the
    // story it joined when that is one it may join.
    let mut truth: BTreeMap<String, BTreeSet<Item>> = BTreeMap::new();
    let mut originals: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for s in expected["stories"].as_array().expect("stories") {
        let id = s["id"].as_str().expect("id").to_owned();
        truth.insert(id.clone(), s["members"].as_array().expect("members").iter().map(item_of).collect());
        originals.insert(id, s["original"].as_array().expect("original").iter().map(item_of).collect());
    }
    for s in expected["stories"].as_array().expect("stories") {
        let Some(allowed) = s["may_join_one_of"].as_array() else { continue };
        let id = s["id"].as_str().expect("id");
        for member in truth[id].clone() {
            let with = got_partition.iter().find(|g| g.contains(&member)).expect("listed");
            let joined: Vec<&str> = allowed
                .iter()
                .filter_map(Value::as_str)
                .filter(|other| truth[*other].iter().any(|i| with.contains(i)))
                .collect();
            if let [other] = joined[..] {
                truth.get_mut(id).expect("story").remove(&member);
                truth.get_mut(other).expect("story").insert(member.clone());
                originals.get_mut(id).expect("story").clear();
            }
        }
    }
    truth.retain(|_, s| !s.is_empty());
    let truth_partition: Partition = truth.values().cloned().collect();
    let result = scores(&truth_partition, &got_partition);

    let story_id = |i: &Item| truth.iter().find(|(_, s)| s.contains(i)).map(|(id, _)| id.as_str()).unwrap_or("?");
    for (id, members) in &truth {
        let parts: Vec<&BTreeSet<Item>> = got_partition.iter().filter(|g| !g.is_disjoint(members)).collect();
        if parts.len() > 1 {
            writeln!(failures, "MISSED: story `{id}` ({} items) is split into {} stories:", members.len(), parts.len())
                .unwrap();
            for (n, p) in parts.iter().enumerate() {
                writeln!(failures, "  part {}:\n{}", n + 1, got.show(p.intersection(members))).unwrap();
            }
        }
    }
    for g in &got_partition {
        let ids: BTreeSet<&str> = g.iter().map(story_id).collect();
        if ids.len() > 1 {
            writeln!(failures, "FALSE MERGE: one syndic story holds the stories {ids:?}:\n{}", got.show(g)).unwrap();
        }
    }
    for trap in expected["traps"].as_array().expect("traps") {
        let members: Vec<Item> = trap["members"].as_array().expect("members").iter().map(item_of).collect();
        for g in &got_partition {
            let inside: Vec<&Item> = members.iter().filter(|m| g.contains(*m)).collect();
            if inside.len() > 1 {
                writeln!(failures, "TRAP MERGED ({}): {inside:?}", trap["kind"].as_str().unwrap_or("?")).unwrap();
            }
        }
    }
    for (id, members) in &truth {
        let Some(allowed) = originals.get(id).filter(|o| !o.is_empty() && members.len() > 1) else { continue };
        if let Some(original) = got.originals.iter().find(|(s, _)| s.is_superset(members)).map(|(_, o)| o) {
            if !allowed.contains(original) {
                writeln!(failures, "WRONG ORIGINAL: story `{id}` has {original:?}, expected one of {allowed:?}")
                    .unwrap();
            }
        }
    }
    (result, failures)
}

/// Every story of tests/fixtures/news/expected.json is grouped as written,
/// with the right original, and no trap is merged.
///
/// EXPECTED TO FAIL before issue 8 is fixed (star clustering, titles
/// required for excerpts, briefs routed to the excerpt rule): the failure
/// message lists the missed stories and false merges.
#[test]
fn news_stories_are_grouped_as_written() {
    let expected = expected();
    let synced = Synced::run(&news_feeds(), "dedup_window = \"30d\"", Arrival::OneSync, crate::common::NOW);
    let (s, failures) = judge(&expected, &Stories::of(&synced.rows));
    note(&format!(
        "news fixtures: pairwise precision {:.3} recall {:.3}; per-entry (B-cubed) precision {:.3} recall {:.3}",
        s.pair_precision, s.pair_recall, s.bcubed_precision, s.bcubed_recall
    ));
    assert!(failures.is_empty(), "the news fixtures are not grouped as expected.json says (issue 8):\n{failures}");
}

/// The scorer catches what it must: a perfect answer passes, a lost copy,
/// a false merge and a merged trap are each reported.
#[test]
fn the_judge_reports_misses_false_merges_and_traps() {
    let expected = expected();
    let stories = expected["stories"].as_array().unwrap();
    let mut rows = Vec::new();
    let mut id = 0;
    let mut roots: BTreeMap<String, i64> = BTreeMap::new();
    for s in stories {
        for m in s["members"].as_array().unwrap() {
            id += 1;
            let root = *roots.entry(s["id"].as_str().unwrap().to_owned()).or_insert(id);
            rows.push(serde_json::json!({
                "id": id, "feed": m["feed"], "url": m["url"],
                "duplicate_of": if root == id { Value::Null } else { Value::from(root) },
            }));
        }
    }
    // The root of each story is its first member: make.py lists the original first.
    let (s, failures) = judge(&expected, &Stories::of(&rows));
    assert!(failures.is_empty(), "{failures}");
    assert_eq!((s.pair_precision, s.pair_recall, s.bcubed_precision, s.bcubed_recall), (1.0, 1.0, 1.0, 1.0));

    // A copy of wire1 left alone; the two shared-quote reports merged.
    let wire1_copy = rows.iter().position(|r| r["feed"] == "karachi-herald" && r["duplicate_of"].is_i64()).unwrap();
    rows[wire1_copy]["duplicate_of"] = Value::Null;
    let quote_b = stories.iter().find(|s| s["id"] == "quote-b").unwrap();
    let quote_a = stories.iter().find(|s| s["id"] == "quote-a").unwrap();
    let find = |m: &Value| rows.iter().position(|r| r["url"] == m["url"] && r["feed"] == m["feed"]).unwrap();
    let a = rows[find(&quote_a["members"][0])]["id"].clone();
    let b = find(&quote_b["members"][0]);
    rows[b]["duplicate_of"] = a;
    let (s, failures) = judge(&expected, &Stories::of(&rows));
    assert!(failures.contains("MISSED: story `wire1`"), "{failures}");
    assert!(failures.contains("FALSE MERGE"), "{failures}");
    assert!(failures.contains("TRAP MERGED (shared-quote)"), "{failures}");
    assert!(s.pair_precision < 1.0 && s.pair_recall < 1.0 && s.bcubed_precision < 1.0 && s.bcubed_recall < 1.0);
}

/// A line on the real stderr, shown even when the test harness captures output.
fn note(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// ../shared next to the repository (the shared generator and scorer), or
/// None with a visible skip note; in CI a missing tool is a failure.
fn shared_bench() -> Option<PathBuf> {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    let python = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing = if !python {
        "python3 is not installed"
    } else if !bench.join("gen_feeds.py").is_file() || !bench.join("score_dedup.py").is_file() {
        "../shared/bench (gen_feeds.py, score_dedup.py) is missing"
    } else {
        return Some(bench);
    };
    assert!(std::env::var_os("CI").is_none(), "{missing}: the generator corpus test cannot run in CI");
    note(&format!("SKIPPED: the generator corpus order test: {missing}"));
    None
}

/// The shared generator's corpus (40 feeds x 15 items, seed 3) gives the
/// same stories in three arrival orders and keeps its scores.
#[test]
fn generator_corpus_stories_do_not_depend_on_arrival_order() {
    let Some(bench) = shared_bench() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let corpus = work.path().join("corpus");
    let out = std::process::Command::new("python3")
        .arg(bench.join("gen_feeds.py"))
        .args(["--feeds", "40", "--items", "15", "--seed", "3", "--out"])
        .arg(&corpus)
        .output()
        .expect("run gen_feeds.py");
    assert!(out.status.success(), "gen_feeds.py: {}", String::from_utf8_lossy(&out.stderr));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(corpus.join("manifest.json")).expect("manifest")).expect("JSON");
    let feeds: Vec<(String, String)> = manifest["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .map(|f| {
            let path = corpus.join(f["path"].as_str().expect("path"));
            (f["name"].as_str().expect("name").to_owned(), url::Url::from_file_path(path).unwrap().to_string())
        })
        .collect();
    // The corpus is dated up to 2024-06-01 12:00 UTC.
    let now = "2024-06-02T12:00:00Z";
    let mut reversed = feeds.clone();
    reversed.reverse();
    let first = Synced::run(&feeds, "", Arrival::OneSync, now);
    let runs = vec![
        ("config order, one sync".to_owned(), first.rows.clone()),
        ("dedup --rebuild".to_owned(), first.rebuild(now)),
        ("reversed, half then all".to_owned(), Synced::run(&reversed, "", Arrival::HalfThenAll, now).rows),
        ("shuffle 7, in 4 syncs".to_owned(), Synced::run(&shuffled(&feeds, 7), "", Arrival::Slices(4), now).rows),
    ];

    let result = work.path().join("result.json");
    std::fs::write(&result, serde_json::to_vec(&first.rows).unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .arg(bench.join("score_dedup.py"))
        .arg(corpus.join("manifest.json"))
        .arg(&result)
        .args(["--examples", "5"])
        .output()
        .expect("run score_dedup.py");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "score_dedup.py: {report}{}", String::from_utf8_lossy(&out.stderr));
    let last = report.lines().rev().find(|l| l.starts_with("precision ")).expect("a score line");
    note(&format!("generator corpus (40 x 15, seed 3): {last}"));
    let words: Vec<&str> = last.split_whitespace().collect();
    let (precision, recall, traps): (f64, f64, u64) =
        (words[1].parse().unwrap(), words[3].parse().unwrap(), words[5].parse().unwrap());
    assert!(precision >= 0.99 && recall >= 0.97 && traps == 0, "generator corpus: {last}\n{report}");

    assert_same_stories(&runs);
}
