//! Builds the scale fixture of `bench/scale.sh`: a store of N entries
//! (default 1,000,000) across F feeds (default 5,000), 1,000 entries a day
//! up to the pinned time, with text drawn from a Zipf vocabulary (so that
//! "the" is in nearly every entry and a few words in a handful), 15% of
//! the entries copies of an earlier entry of another feed, and topics on a
//! realistic share of entries. Rows are written directly, in key order, into
//! the schema the store creates: a throwaway fixture, not a sync.
//!
//!   cargo run --release --example scale_fixture -- PATH [ENTRIES] [FEEDS]

use std::path::PathBuf;

use syndic::store::body::{pack, Texts};
use syndic::store::Store;

/// The fixture's newest entry: bench/scale.sh pins SYNDIC_NOW here.
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

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().expect("usage: scale_fixture PATH [ENTRIES] [FEEDS]"));
    let n: i64 = args.next().map_or(1_000_000, |a| a.parse().expect("ENTRIES is a number"));
    let feeds: i64 = args.next().map_or(5_000, |a| a.parse().expect("FEEDS is a number"));
    let _ = std::fs::remove_file(&path);
    let started = std::time::Instant::now();

    let mut store = Store::open_at(&path).expect("create the store");
    let rows: Vec<(String, Option<String>)> =
        (0..feeds).map(|f| (format!("https://feed{f}.example/rss"), Some(format!("Feed {f}")))).collect();
    store.upsert_feeds(&rows).expect("feeds");
    drop(store);

    let words = vocabulary();
    let zipf = Zipf::new(words.len());
    let mut rng = Rng(7);
    let mut conn = rusqlite::Connection::open(&path).unwrap();
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
        let first_day = NOW - (n - 1) / PER_DAY * 86_400 - 86_400;
        let mut recent: Vec<(i64, String, String)> = Vec::new();
        for i in 0..n {
            let id = i + 1;
            let published = first_day + i / PER_DAY * 86_400 + (i % PER_DAY) * 86_400 / PER_DAY;
            let feed = 1 + rng.below(feeds as u64) as i64;
            // 15% copies of a recent original (same title and text, another feed).
            let pick = rng.below(recent.len().max(1) as u64) as usize;
            let copy = (rng.below(100) < 15 && !recent.is_empty()).then(|| recent[pick].clone());
            let (duplicate_of, title, text) = match copy {
                Some((orig, title, text)) => (Some(orig), title, text),
                None => {
                    let len = 6 + rng.below(6) as usize;
                    let title = sentence(&mut rng, &zipf, &words, len);
                    let paragraphs = 2 + rng.below(4) as usize;
                    let mut text: Vec<String> = (0..paragraphs)
                        .map(|_| {
                            let len = 30 + rng.below(40) as usize;
                            sentence(&mut rng, &zipf, &words, len)
                        })
                        .collect();
                    if i % (n / 20).max(1) == 7 {
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
            let html: String = text.split("\n\n").map(|p| format!("<p>{p}</p>")).collect::<Vec<_>>().join("\n");
            // A third of the feeds publish excerpts only.
            let excerpt = feed % 3 == 0;
            let (summary, summary_html, content, content_html) = if excerpt {
                let short: String = text.split_whitespace().take(55).collect::<Vec<_>>().join(" ");
                let short_html = format!("<p>{short}</p>");
                (Some(short), Some(short_html), None, None)
            } else {
                (None, None, Some(text.clone()), Some(html))
            };
            let texts =
                Texts { summary_text: summary.clone(), content_text: content.clone(), summary_html, content_html };
            let text_len = texts.text().chars().count() as i64;
            entry
                .execute(rusqlite::params![
                    id,
                    feed,
                    format!("guid:{feed}-{i}"),
                    title,
                    format!("https://feed{feed}.example/{i}"),
                    published,
                    pack(&texts).as_bytes(),
                    text_len,
                    duplicate_of,
                    duplicate_of.map(|_| "text"),
                ])
                .unwrap();
            fts.execute(rusqlite::params![
                id,
                title,
                summary.as_deref().unwrap_or(""),
                content.as_deref().unwrap_or("")
            ])
            .unwrap();
            for (name, per_thousand) in TOPICS {
                if rng.below(1000) < per_thousand {
                    topic.execute(rusqlite::params![name, id]).unwrap();
                }
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
    drop(Store::open_at(&path).expect("reopen"));
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "{}: {n} entries, {feeds} feeds, {:.1} MB ({} bytes per entry), built in {:.0?}",
        path.display(),
        bytes as f64 / 1e6,
        bytes / n.max(1) as u64,
        started.elapsed()
    );
}
