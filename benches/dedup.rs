//! Copy detection cost: fingerprinting one article (pure), and the write path
//! (saving a feed's batch of new entries: fingerprints, candidate lookup,
//! verification, pairs, regrouping) into stores of 10k and 1M entries.
//!
//! The stores hold synthetic news-like articles, 1,000 a day (10k spans 10
//! days, 1M spans 1,000 days), each with its real fingerprint and index keys
//! (computed from its text by the same code as a sync). They are built once
//! into target/bench-data/ (the 1M one takes several minutes).
//!
//!   cargo bench --bench dedup

use std::hint::black_box;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use syndic::model::{DateSource, EntryId, EntryKey, NewEntry};
use syndic::store::{FetchState, Store, TaggedEntry};

const ARTICLE: &str = include_str!("../tests/fixtures/seed-article.txt");
const PER_DAY: i64 = 1_000;
const DAY: i64 = 86_400;
const EPOCH: i64 = 1_600_000_000;

fn body() -> String {
    ARTICLE.split("\n\n").skip(1).take_while(|p| !p.starts_with("Originally")).collect::<Vec<_>>().join("\n\n")
}

fn bench_fingerprint(c: &mut Criterion) {
    let text = body();
    let words = text.split_whitespace().count();
    let mut g = c.benchmark_group("fingerprint");
    g.bench_function(BenchmarkId::new("prepare+keys", format!("{words} words")), |b| {
        b.iter(|| {
            let p = syndic::dedup::prepare(black_box(&text), |_| false);
            black_box((p.index_keys(), p.fingerprint().encode()))
        })
    });
    // What verifying a candidate reads back: its stored fingerprint.
    let stored = syndic::dedup::prepare(&text, |_| false).fingerprint().encode();
    g.bench_function(BenchmarkId::new("decode", format!("{} bytes", stored.len())), |b| {
        b.iter(|| black_box(syndic::dedup::Fingerprint::decode(black_box(&stored))))
    });
    g.finish();
}

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

/// News-like words: the seed article's words first (the frequent ones), then
/// a long tail of names and rare words, drawn with Zipf-like frequencies so
/// that common phrases recur across articles as they do in real news.
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in ARTICLE.split_whitespace() {
        let w: String = w.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
        if !w.is_empty() && !words.contains(&w) {
            words.push(w);
        }
    }
    for i in 0..30_000 {
        words.push(format!("name{i}"));
    }
    words
}

/// A synthetic article of about `len` words in paragraphs of 30 to 90 words.
fn article(vocab: &[String], seed: u64, len: usize) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed);
    let mut paras = Vec::new();
    let mut total = 0;
    while total < len {
        let n = 30 + rng.below(60) as usize;
        let words: Vec<&str> = (0..n)
            .map(|_| {
                // Zipf-like: rank = V^u.
                let u = (rng.below(1_000_000) as f64) / 1_000_000.0;
                let rank = ((vocab.len() as f64).powf(u) as usize).saturating_sub(1).min(vocab.len() - 1);
                vocab[rank].as_str()
            })
            .collect();
        total += n;
        paras.push(words.join(" ") + ".");
    }
    paras.join("\n\n")
}

fn entry(key: &str, title: &str, text: &str, published: i64) -> TaggedEntry {
    TaggedEntry::new(
        NewEntry {
            key: EntryKey(key.into()),
            title: title.into(),
            url: Some(format!("https://{key}.example/story")),
            author: None,
            published: DateTime::<Utc>::from_timestamp(published, 0).unwrap(),
            date_source: DateSource::Published,
            summary_html: None,
            summary_text: None,
            content_html: None,
            content_text: Some(text.to_owned()),
            source_url: None,
            text_hash: syndic::dedup::text_hash(text),
            item_hash: None,
        },
        vec![],
    )
    // As a sync's parse workers compute it (no boilerplate known).
    .with_comparison(syndic::dedup::Comparison::new(syndic::dedup::reduce(text), |_| false))
}

fn background_published(i: i64) -> i64 {
    EPOCH + (i / PER_DAY) * DAY + i % PER_DAY
}

/// Builds (once) a store of `n` background entries with realistic
/// fingerprints and index keys (their text is not stored: the write path
/// reads fingerprints only), 1,000 a day, with the lookup keys a sync keeps
/// (those of the last weeks). Returns its path.
fn store_with(n: i64, vocab: &[String]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    // Named after the copy-detection version: a change of format builds it afresh.
    let version = syndic::dedup::DEDUP_VERSION;
    let path = dir.join(format!("stories-v{version}-{n}.db"));
    let done = dir.join(format!("stories-v{version}-{n}.done"));
    if done.exists() {
        return path;
    }
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open_at(&path).unwrap();
    store.ensure_dedup_current().unwrap();
    let feeds = store
        .upsert_feeds(&[
            ("https://background.example/feed".into(), Some("Background".into())),
            ("https://new.example/feed".into(), Some("New".into())),
        ])
        .unwrap();
    drop(store);
    // Fingerprints computed on both cores.
    let work: Vec<(i64, Vec<u8>, Vec<i64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2i64)
            .map(|t| {
                s.spawn(move || {
                    (0..n)
                        .filter(|i| i % 2 == t)
                        .map(|i| {
                            let text = article(vocab, i as u64, 300 + (i as usize * 7919) % 500);
                            let p = syndic::dedup::prepare(&text, |_| false);
                            (i, p.fingerprint().encode(), p.index_keys())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_by_key(|w| w.0);
        all
    });
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    // A throwaway fixture: no journal, and rows inserted in key order.
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut e = tx
            .prepare(
                "INSERT INTO entries (id, feed_id, entry_key, title, url, published, date_source, first_seen, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'published', ?6, ?6)",
            )
            .unwrap();
        let mut fp =
            tx.prepare("INSERT INTO fingerprints (entry_id, data, keys, day) VALUES (?1, ?2, ?3, ?4)").unwrap();
        let mut key_rows: Vec<(i64, i64, i64)> = Vec::new();
        for (i, data, keys) in &work {
            let id = 1_000 + i;
            let published = background_published(*i);
            let day = published.div_euclid(DAY);
            e.execute(rusqlite::params![
                id,
                feeds[0].id.0,
                format!("bg{i}"),
                format!("Background story number {i}"),
                format!("https://background.example/{i}"),
                published
            ])
            .unwrap();
            let blob = syndic::dedup::encode_keys(keys);
            fp.execute(rusqlite::params![id, data, blob, day]).unwrap();
            key_rows.extend(keys.iter().map(|k| (*k, day, id)));
        }
        // What a sync leaves: the lookup keys of the last weeks only (see
        // store::dedup::forget_old_keys); every entry keeps its fingerprint.
        let newest = background_published(n - 1).div_euclid(DAY);
        let horizon = syndic::store::KEY_HORIZON_DAYS + syndic::store::DedupSettings::default().window_days;
        key_rows.retain(|(_, day, _)| *day >= newest - horizon);
        key_rows.sort_unstable();
        let mut k = tx.prepare("INSERT INTO dedup_keys (key, day, entry_id) VALUES (?1, ?2, ?3)").unwrap();
        for r in key_rows {
            k.execute(rusqlite::params![r.0, r.1, r.2]).unwrap();
        }
    }
    tx.commit().unwrap();
    drop(conn);
    std::fs::write(&done, b"").unwrap();
    path
}

/// A batch one feed brings: five edited versions of background articles
/// (a paragraph added on top, the last one trimmed) and five new articles.
fn batch(vocab: &[String], n: i64, round: u64) -> Vec<TaggedEntry> {
    let mut rng = Rng(round);
    let mut out = Vec::new();
    for k in 0..5 {
        // New versions arrive within days of their originals: a recent article.
        let recent = (5 * PER_DAY).min(n);
        let i = n - 1 - rng.below(recent as u64) as i64;
        let text = article(vocab, i as u64, 300 + (i as usize * 7919) % 500);
        let mut paras: Vec<&str> = text.split("\n\n").collect();
        paras.pop();
        let lead = article(vocab, 1_000_000_000 + round * 100 + k, 40);
        let version = format!("{lead}\n\n{}", paras.join("\n\n"));
        out.push(entry(
            &format!("r{round}v{k}"),
            &format!("Background story number {i}"),
            &version,
            background_published(i) + 600,
        ));
    }
    for k in 0..5 {
        let text = article(vocab, 2_000_000_000 + round * 100 + k, 500);
        out.push(entry(
            &format!("r{round}n{k}"),
            &format!("A new story {round} {k}"),
            &text,
            background_published(n / 2),
        ));
    }
    out
}

/// The write path: saving a batch of 10 new entries (fingerprints, candidate
/// lookup, verification, pairs, regrouping) into stores of 10k and 1M
/// entries. Each batch is deleted again untimed, so every round sees the
/// same store.
fn bench_write_path(c: &mut Criterion) {
    let vocab = vocabulary();
    let mut g = c.benchmark_group("save_10_new_entries");
    g.sample_size(20);
    for n in [10_000i64, 1_000_000] {
        let path = store_with(n, &vocab);
        let mut store = Store::open_at(&path).unwrap();
        let feed = store.upsert_feeds(&[("https://new.example/feed".into(), Some("New".into()))]).unwrap()[0].id;
        // Every round sees the same store: no entries of the new feed (an
        // interrupted run may have left some) and no paragraph counts of its.
        let raw = rusqlite::Connection::open(&path).unwrap();
        let reset = |store: &mut Store| {
            let ids: Vec<EntryId> = raw
                .prepare("SELECT id FROM entries WHERE feed_id = ?1")
                .unwrap()
                .query_map([feed.0], |r| r.get(0).map(EntryId))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            store.delete_entries(&ids).unwrap();
            raw.execute("DELETE FROM paragraph_counts WHERE feed_id = ?1", [feed.0]).unwrap();
            raw.execute("DELETE FROM paragraph_counts_staged WHERE feed_id = ?1", [feed.0]).unwrap();
        };
        reset(&mut store);
        let now = DateTime::<Utc>::from_timestamp(background_published(n), 0).unwrap();
        // The versions are found and grouped with their originals.
        let before = store.last_entry_id().unwrap();
        let report = store.save_feed(feed, &FetchState::default(), &batch(&vocab, n, 0), now).unwrap();
        assert_eq!(report.copies, 5, "the five versions join their stories: {report:?}");
        assert!(store.last_entry_id().unwrap() > before);
        reset(&mut store);
        let mut round = 1;
        g.bench_function(BenchmarkId::from_parameter(format!("{n} stored")), |b| {
            b.iter_custom(|iters| {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let entries = batch(&vocab, n, round);
                    round += 1;
                    let before = store.last_entry_id().unwrap();
                    let start = std::time::Instant::now();
                    black_box(store.save_feed(feed, &FetchState::default(), &entries, now).unwrap());
                    total += start.elapsed();
                    assert!(store.last_entry_id().unwrap() > before);
                    reset(&mut store);
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_fingerprint, bench_write_path);
criterion_main!(benches);
