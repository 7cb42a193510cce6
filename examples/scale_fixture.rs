//! Builds the scale fixture of `bench/scale.sh`: a store of N entries
//! (default 1,000,000) across F feeds (default 5,000), 1,000 entries a day
//! up to the pinned time, with text drawn from a Zipf vocabulary (so that
//! "the" is in nearly every entry and a few words in a handful), 15% of
//! the entries copies of an earlier entry of another feed, and topics on a
//! realistic share of entries.
//!
//! Two ways of writing it:
//! - by default, rows are written directly, in key order, into the schema the
//!   store creates: a throwaway fixture for the read benchmark
//!   (`bench/scale.sh`), without copy-detection data, texts packed without
//!   a dictionary;
//! - with `--write-path`, through the library's own write path, as years of
//!   syncing would leave it (`bench/scale-sync.sh`): one "sync" a day, each
//!   feed's entries saved with [`Store::save_feed`] in a batch, their
//!   comparison data computed beforehand on another thread as the sync's
//!   parse workers do (texts packed with the store's dictionary once it has
//!   trained one after the first day), old lookup keys dropped and the log
//!   checkpointed at the end of every day. Copies are found by copy
//!   detection itself.
//!   `--now UNIX` sets the newest entry's time (default 2026-09-21);
//!   `--config FEEDS_TOML` the configuration the store has been synced with
//!   (its topic and filter rules' fingerprints and copy-detection window:
//!   a sync with other topic keywords or filter rules first re-tags or
//!   re-filters every entry).
//!
//!   cargo run --release --example scale_fixture -- [--write-path] [--now UNIX] [--config FEEDS_TOML] PATH [ENTRIES] [FEEDS]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, OnceLock, RwLock};

use chrono::{DateTime, Utc};
use syndic::dedup::{self, Comparison};
use syndic::model::{DateSource, EntryKey, NewEntry};
use syndic::store::body::{pack, Dictionary, Texts};
use syndic::store::{FetchState, Store, TaggedEntry};

/// The fixture's newest entry by default: bench/scale.sh pins SYNDIC_NOW here.
const NOW: i64 = 1_790_000_000; // 2026-09-21
const PER_DAY: i64 = 1_000;
const VOCABULARY: usize = 50_000;
const ARTICLE: &str = include_str!("../tests/fixtures/seed-article.txt");
/// A word in about 20 entries: `search zanzibarite` is the rare-word query.
const RARE: &str = "zanzibarite";
const TOPICS: [(&str, u64); 5] = [("economy", 100), ("politics", 80), ("sport", 50), ("climate", 20), ("cpec", 5)];

/// A splitmix64 stream: deterministic pseudo-random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Words ranked by frequency: the article's words first (the most common
/// English ones among them), then made-up words for the long tail.
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in ["the", "of", "and", "to", "a", "in", "is", "that", "for", "on", "with", "as", "said", "was", "by"] {
        words.push(w.into());
    }
    for w in ARTICLE.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 1) {
        let w = w.to_lowercase();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    let syllables = ["ka", "ro", "mi", "sel", "tan", "vor", "bu", "len", "qua", "dri", "no", "pe", "zu", "gha", "li"];
    let mut i = 0usize;
    while words.len() < VOCABULARY {
        let (mut n, mut w) = (i, String::new());
        loop {
            w.push_str(syllables[n % syllables.len()]);
            n /= syllables.len();
            if n == 0 {
                break;
            }
        }
        if w.len() > 3 && !words.contains(&w) {
            words.push(w);
        }
        i += 1;
    }
    words
}

/// Draws word ranks with probability 1/(rank+1).
struct Zipf {
    cumulative: Vec<f64>,
}
impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Zipf { cumulative }
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap();
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative.partition_point(|&c| c < x).min(self.cumulative.len() - 1)
    }
}

fn sentence(rng: &mut Rng, zipf: &Zipf, words: &[String], n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&words[zipf.draw(rng)]);
    }
    s
}

/// One generated entry.
struct Item {
    /// Its position in the fixture (0-based); the raw mode's id is this + 1.
    index: i64,
    feed: i64,
    published: i64,
    title: String,
    text: String,
    /// The raw mode's `duplicate_of`: the id of the entry it copies.
    copy_of: Option<i64>,
    topics: Vec<&'static str>,
}

/// The stream of entries, oldest first: the same for both modes.
struct Generator {
    words: Vec<String>,
    zipf: Zipf,
    rng: Rng,
    recent: Vec<(i64, String, String)>,
    n: i64,
    feeds: i64,
    first_day: i64,
}

impl Generator {
    fn new(n: i64, feeds: i64, now: i64) -> Generator {
        let words = vocabulary();
        let zipf = Zipf::new(words.len());
        let first_day = now - (n - 1) / PER_DAY * 86_400 - 86_400;
        Generator { words, zipf, rng: Rng(7), recent: Vec::new(), n, feeds, first_day }
    }

    fn item(&mut self, i: i64) -> Item {
        let (rng, zipf, words, recent) = (&mut self.rng, &self.zipf, &self.words, &mut self.recent);
        let id = i + 1;
        let published = self.first_day + i / PER_DAY * 86_400 + (i % PER_DAY) * 86_400 / PER_DAY;
        let feed = 1 + rng.below(self.feeds as u64) as i64;
        // 15% copies of a recent original (same title and text, another feed).
        let pick = rng.below(recent.len().max(1) as u64) as usize;
        let copy = (rng.below(100) < 15 && !recent.is_empty()).then(|| recent[pick].clone());
        let (copy_of, title, text) = match copy {
            Some((orig, title, text)) => (Some(orig), title, text),
            None => {
                let len = 6 + rng.below(6) as usize;
                let title = sentence(rng, zipf, words, len);
                let paragraphs = 2 + rng.below(4) as usize;
                let mut text: Vec<String> = (0..paragraphs)
                    .map(|_| {
                        let len = 30 + rng.below(40) as usize;
                        sentence(rng, zipf, words, len)
                    })
                    .collect();
                if i % (self.n / 20).max(1) == 7 {
                    text[0].push_str(&format!(" {RARE}"));
                }
                let text = text.join("\n\n");
                if recent.len() < 2_000 {
                    recent.push((id, title.clone(), text.clone()));
                } else {
                    let k = rng.below(2_000) as usize;
                    recent[k] = (id, title.clone(), text.clone());
                }
                (None, title, text)
            }
        };
        let topics =
            TOPICS.iter().filter(|(_, per_thousand)| rng.below(1000) < *per_thousand).map(|(t, _)| *t).collect();
        Item { index: i, feed, published, title, text, copy_of, topics }
    }
}

/// The text as the store keeps it: (summary, summary_html, content,
/// content_html). A third of the feeds publish excerpts only.
type Parts = (Option<String>, Option<String>, Option<String>, Option<String>);
fn texts(item: &Item) -> Parts {
    if item.feed % 3 == 0 {
        let short: String = item.text.split_whitespace().take(55).collect::<Vec<_>>().join(" ");
        let short_html = format!("<p>{short}</p>");
        (Some(short), Some(short_html), None, None)
    } else {
        let html: String = item.text.split("\n\n").map(|p| format!("<p>{p}</p>")).collect::<Vec<_>>().join("\n");
        (None, None, Some(item.text.clone()), Some(html))
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut write_path = false;
    let mut now = NOW;
    let mut config = syndic::config::Config::parse("", Path::new("feeds.toml")).expect("the empty configuration");
    loop {
        match args.peek().map(String::as_str) {
            Some("--write-path") => write_path = true,
            Some("--config") => {
                args.next();
                let file = PathBuf::from(args.peek().expect("--config takes a path"));
                config = syndic::config::Config::load(&file).expect("a valid configuration");
            }
            Some("--now") => {
                args.next();
                now = args.peek().and_then(|a| a.parse().ok()).expect("--now takes a Unix time");
            }
            _ => break,
        }
        args.next();
    }
    let path = PathBuf::from(
        args.next()
            .expect("usage: scale_fixture [--write-path] [--now UNIX] [--config FEEDS_TOML] PATH [ENTRIES] [FEEDS]"),
    );
    let n: i64 = args.next().map_or(1_000_000, |a| a.parse().expect("ENTRIES is a number"));
    let feeds: i64 = args.next().map_or(5_000, |a| a.parse().expect("FEEDS is a number"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let started = std::time::Instant::now();

    let mut store = Store::open_at(&path).expect("create the store");
    let rows: Vec<(String, Option<String>)> =
        (0..feeds).map(|f| (format!("https://feed{}.example/rss", f + 1), Some(format!("Feed {}", f + 1)))).collect();
    let feed_rows = store.upsert_feeds(&rows).expect("feeds");
    assert!(feed_rows.iter().enumerate().all(|(i, r)| r.id.0 == i as i64 + 1), "feed ids are 1..=FEEDS");
    let generator = Generator::new(n, feeds, now);
    if write_path {
        // As `sync::run` starts: the configuration's rules recorded (on an
        // empty store, nothing to re-tag or re-filter), the window set.
        store.ensure_dedup_current().expect("copy detection's version");
        let topics = syndic::topics::Topics::new(&config.topics);
        syndic::sync::retag_if_changed(&config, &topics, &mut store).expect("topics");
        syndic::filters::apply(&config, &mut store).expect("filters");
        store.set_dedup_settings(config.dedup_settings());
        write_through_store(store, &config, generator, started);
    } else {
        drop(store);
        write_raw(&path, generator, started);
    }
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "{}: {n} entries, {feeds} feeds, {:.1} MB ({} bytes per entry), built in {:.0?}",
        path.display(),
        bytes as f64 / 1e6,
        bytes / n.max(1) as u64,
        started.elapsed()
    );
}

/// The raw mode: rows straight into the tables, no copy-detection data.
fn write_raw(path: &Path, mut generator: Generator, started: std::time::Instant) {
    let n = generator.n;
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -500000;").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut entry = tx
            .prepare(
                "INSERT INTO entries (id, feed_id, entry_key, title, url, author, published, date_source, first_seen,
                        updated_at, body, text_len, duplicate_of, dup_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, 'published', ?6, ?6, ?7, ?8, ?9, ?10)",
            )
            .unwrap();
        let mut fts =
            tx.prepare("INSERT INTO entries_fts (rowid, title, summary, content) VALUES (?1, ?2, ?3, ?4)").unwrap();
        let mut topic = tx.prepare("INSERT INTO entry_topics (topic, entry_id) VALUES (?1, ?2)").unwrap();
        for i in 0..n {
            let item = generator.item(i);
            let (id, feed) = (i + 1, item.feed);
            let (summary, summary_html, content, content_html) = texts(&item);
            let texts =
                Texts { summary_text: summary.clone(), content_text: content.clone(), summary_html, content_html };
            let text_len = texts.text().chars().count() as i64;
            entry
                .execute(rusqlite::params![
                    id,
                    feed,
                    format!("guid:{feed}-{i}"),
                    item.title,
                    format!("https://feed{feed}.example/{i}"),
                    item.published,
                    pack(&texts).as_bytes(),
                    text_len,
                    item.copy_of,
                    item.copy_of.map(|_| "text"),
                ])
                .unwrap();
            fts.execute(rusqlite::params![
                id,
                item.title,
                summary.as_deref().unwrap_or(""),
                content.as_deref().unwrap_or("")
            ])
            .unwrap();
            for name in &item.topics {
                topic.execute(rusqlite::params![name, id]).unwrap();
            }
            if i % 100_000 == 99_999 {
                eprintln!("{} entries, {:.0?}", i + 1, started.elapsed());
            }
        }
    }
    tx.commit().unwrap();
    // No ANALYZE and no FTS 'optimize': the plans and index segments a
    // user's database has after syncs.
    drop(conn);
    // Back to the store's own settings (WAL), as a user's database would be.
    drop(Store::open_at(path).expect("reopen"));
}

/// One day's entries, grouped by feed (in the order of their first entry).
struct Day {
    /// The day's last entry's time: the "sync" saves at this time.
    end: i64,
    feeds: Vec<(i64, Vec<TaggedEntry>)>,
}

/// The `--write-path` mode: one sync a day through the store's write path.
fn write_through_store(
    mut store: Store,
    config: &syndic::config::Config,
    mut generator: Generator,
    started: std::time::Instant,
) {
    let n = generator.n;
    // The boilerplate the parse workers know: what the store has learnt,
    // read again after every day's "sync" (a sync reads it at its start).
    let boilerplate: Arc<RwLock<Arc<HashSet<i64>>>> =
        Arc::new(RwLock::new(Arc::new(store.boilerplate_keys().expect("boilerplate"))));
    // The text dictionary, trained after the first day as a sync trains it
    // once the store holds enough entries; the producer packs with it.
    let dictionary: Arc<OnceLock<&'static Dictionary>> = Arc::default();
    let shared = Arc::clone(&dictionary);
    let (send, receive) = mpsc::sync_channel::<Day>(4);
    let known = Arc::clone(&boilerplate);
    // The parse workers' share: generating and the comparison data, on
    // another thread while the writer writes.
    let producer = std::thread::spawn(move || {
        let mut i = 0;
        while i < n {
            let known = Arc::clone(&known.read().expect("not poisoned"));
            let mut day = Day { end: 0, feeds: Vec::new() };
            let last = (i + PER_DAY).min(n);
            while i < last {
                let item = generator.item(i);
                day.end = item.published;
                let tagged = tagged(&item, &known, shared.get().copied());
                match day.feeds.iter_mut().find(|(f, _)| *f == item.feed) {
                    Some((_, entries)) => entries.push(tagged),
                    None => day.feeds.push((item.feed, vec![tagged])),
                }
                i += 1;
            }
            if send.send(day).is_err() {
                return;
            }
        }
    });
    let mut written = 0;
    let mut last_now = None;
    for day in receive {
        let now = at(day.end + 60);
        let before = store.last_entry_id().expect("last id");
        store.begin_batch().expect("begin");
        for (feed, entries) in &day.feeds {
            let state = FetchState {
                http_status: Some(200),
                title: Some(format!("Feed {feed}")),
                site_url: Some(format!("https://feed{feed}.example/")),
                ..FetchState::default()
            };
            store.save_feed(syndic::model::FeedId(*feed), &state, entries, now).expect("save a feed");
            written += entries.len() as i64;
        }
        store.commit_batch().expect("commit");
        if dictionary.get().is_none() {
            if let Some(d) = store.train_text_dictionary_if_due().expect("train a dictionary") {
                let _ = dictionary.set(d);
            }
        }
        // The end of a sync: its texts packed before the dictionary packed
        // again, its entries' filters decided (none hidden without rules,
        // and the queue emptied), old lookup keys dropped, one checkpoint.
        store.repack_texts_since(before).expect("repack");
        syndic::filters::apply(config, &mut store).expect("filters");
        store.forget_old_keys(now).expect("forget old keys");
        store.checkpoint().expect("checkpoint");
        *boilerplate.write().expect("not poisoned") = Arc::new(store.boilerplate_keys().expect("boilerplate"));
        if written / 100_000 != (written - day.feeds.iter().map(|(_, e)| e.len() as i64).sum::<i64>()) / 100_000 {
            eprintln!("{written} entries, {:.0?}", started.elapsed());
        }
        last_now = Some(now);
    }
    producer.join().expect("the generator finished");
    assert_eq!(written, n, "every entry written");
    if let Some(now) = last_now {
        store.forget_old_keys(now).expect("forget old keys");
        store.checkpoint().expect("checkpoint");
    }
    let copies: i64 = store.stored_since(0).map(|(_, c)| c as i64).expect("count");
    eprintln!("copies found by copy detection: {copies} of {n}");
}

/// An entry as the sync's parse workers hand it to the writer.
fn tagged(item: &Item, boilerplate: &HashSet<i64>, dictionary: Option<&Dictionary>) -> TaggedEntry {
    let (summary_text, summary_html, content_text, content_html) = texts(item);
    let (feed, i) = (item.feed, item.index);
    let entry = NewEntry {
        key: EntryKey(format!("guid:{feed}-{i}")),
        title: item.title.clone(),
        url: Some(format!("https://feed{feed}.example/{i}")),
        author: None,
        published: at(item.published),
        date_source: DateSource::Published,
        summary_html,
        summary_text,
        content_html,
        content_text,
        source_url: None,
        text_hash: None,
        item_hash: None,
    };
    let entry = NewEntry { text_hash: dedup::text_hash(entry.comparison_text()), ..entry };
    let reduced = dedup::reduce(entry.comparison_text());
    let comparison = Comparison::new(reduced, |k| boilerplate.contains(&k)).lighten();
    TaggedEntry::packed_with(entry, item.topics.iter().map(|t| (*t).to_owned()).collect(), dictionary)
        .with_comparison(comparison)
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).expect("a fixture time is in range")
}
