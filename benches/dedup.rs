//! Copy detection cost per entry: fingerprinting (pure) and finding an
//! entry's story among 10k and 1M stored entries (candidate lookup in the
//! LSH and lead indexes, then verification).
//!
//! The stores hold one real original/copy pair among synthetic background
//! entries, 1,000 a day (so 10k spans 10 days, 1M spans 1,000 days), each
//! with 32 LSH buckets and 26 lead-index shingles like a real article. They
//! are built once into target/bench-data/ (the 1M one takes a few minutes).
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
    g.bench_function(BenchmarkId::new("prepare+lsh", format!("{words} words")), |b| {
        b.iter(|| {
            let p = syndic::dedup::prepare(black_box(&text), |_| false);
            black_box(p.lsh_buckets())
        })
    });
    g.finish();
}

/// A splitmix64 stream: deterministic pseudo-random hashes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> i64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as i64
    }
}

fn entry(key: &str, text: &str, published: i64) -> TaggedEntry {
    TaggedEntry {
        entry: NewEntry {
            key: EntryKey(key.into()),
            title: "Sino Pak Friendship Strengthen With The Technology Revolution".into(),
            url: Some(format!("https://{key}.example/story")),
            author: None,
            published: DateTime::<Utc>::from_timestamp(published, 0).unwrap(),
            date_source: DateSource::Published,
            summary_html: None,
            summary_text: None,
            content_html: None,
            content_text: Some(text.to_owned()),
            source_url: None,
            text_hash: None,
        },
        topics: vec![],
    }
}

/// Builds (once) a store of `n` background entries plus the pair; returns
/// its path and the copy's id.
fn store_with(n: i64) -> (PathBuf, EntryId) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("store-{n}.db"));
    let done = dir.join(format!("store-{n}.done"));
    let days = (n / PER_DAY).max(1);
    let middle = EPOCH + days / 2 * DAY;
    if !done.exists() {
        let _ = std::fs::remove_file(&path);
        let mut store = Store::open_at(&path).unwrap();
        store.ensure_dedup_current().unwrap();
        let feeds = store
            .upsert_feeds(&[
                ("https://background.example/feed".into(), Some("Background".into())),
                ("https://bol.example/feed".into(), Some("Bol News".into())),
                ("https://blog.example/feed".into(), Some("Blog".into())),
            ])
            .unwrap();
        drop(store);
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        // A throwaway fixture: no journal, and rows inserted in key order.
        conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;")
            .unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut rng = Rng(42);
            let mut e = tx
                .prepare(
                    "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at)
                     VALUES (?1, ?2, ?3, 'background', ?4, 'published', ?4, ?4)",
                )
                .unwrap();
            let mut fp = tx
                .prepare("INSERT INTO fingerprints (entry_id, shingles, lead, numbers, words, truncated) VALUES (?1, x'', x'', x'', 0, 0)")
                .unwrap();
            let mut lsh_rows = Vec::with_capacity(n as usize * syndic::dedup::LSH_BANDS);
            let mut lead_rows = Vec::with_capacity(n as usize * 26);
            for i in 0..n {
                let id = 1_000 + i;
                let published = EPOCH + (i / PER_DAY) * DAY + i % PER_DAY;
                let day = published.div_euclid(DAY);
                e.execute(rusqlite::params![id, feeds[0].id.0, format!("bg{i}"), published]).unwrap();
                fp.execute([id]).unwrap();
                for _ in 0..syndic::dedup::LSH_BANDS {
                    lsh_rows.push((rng.next(), day, id));
                }
                for _ in 0..26 {
                    lead_rows.push((rng.next(), day, id));
                }
            }
            lsh_rows.sort_unstable();
            lead_rows.sort_unstable();
            let mut lsh = tx.prepare("INSERT INTO lsh_buckets (bucket, day, entry_id) VALUES (?1, ?2, ?3)").unwrap();
            for r in lsh_rows {
                lsh.execute(rusqlite::params![r.0, r.1, r.2]).unwrap();
            }
            let mut lead =
                tx.prepare("INSERT INTO lead_shingles (shingle, day, entry_id) VALUES (?1, ?2, ?3)").unwrap();
            for r in lead_rows {
                lead.execute(rusqlite::params![r.0, r.1, r.2]).unwrap();
            }
        }
        tx.commit().unwrap();
        drop(conn);
        let mut store = Store::open_at(&path).unwrap();
        let text = body();
        let copy = format!("{text}\n\nOriginally published at Bol news\n\nLeave a Reply");
        let now = DateTime::<Utc>::from_timestamp(middle + DAY, 0).unwrap();
        store.save_feed(feeds[1].id, &FetchState::default(), &[entry("original", &text, middle)], now).unwrap();
        store.save_feed(feeds[2].id, &FetchState::default(), &[entry("copy", &copy, middle + 3_600)], now).unwrap();
        std::fs::write(&done, b"").unwrap();
    }
    let store = Store::open_at(&path).unwrap();
    let copy = store
        .list(&syndic::store::ListQuery {
            all: true,
            limit: 10,
            feed_urls: vec!["https://blog.example/feed".into()],
            ..Default::default()
        })
        .unwrap()[0]
        .id;
    (path, copy)
}

fn bench_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("find_story");
    g.sample_size(50);
    for n in [10_000i64, 1_000_000] {
        let (path, copy) = store_with(n);
        let store = Store::open_at(&path).unwrap();
        let x = store.explain_dedup(copy).unwrap().unwrap();
        assert!(x.duplicate_of.is_some(), "the copy was grouped");
        assert!(x.candidates.iter().any(|a| a.is_copy()), "the lookup finds its story");
        g.bench_with_input(BenchmarkId::from_parameter(format!("{n} entries")), &copy, |b, &copy| {
            b.iter(|| black_box(store.explain_dedup(copy).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_fingerprint, bench_lookup);
criterion_main!(benches);
