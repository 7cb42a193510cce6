//! The floor under a cold sync: what the libraries a sync cannot do without
//! cost alone on the 200 x 50 corpus of `bench/peers.sh` (10,000 entries,
//! 34 MB of feed documents), beside what syndic's own parse stages cost on
//! the same documents.
//!
//! Issue 11 asks for a cold sync using at most a quarter of the best peer's
//! CPU (newsboat's, 4.1 to 4.6 s in the runs of 2026-12-02, so 1.0 to
//! 1.15 s). This bench measures whether that leaves room for the work the
//! project requires: parsing with feed-rs (the user's choice), sanitising the
//! HTML (feed text is hostile), its text for the search index and copy
//! detection, indexing that text with SQLite FTS5 as syndic's schema does
//! (`syndic search`), packing it (the store's size goal), writing the rows,
//! and the least any copy detection does: hashing the text's words.
//!
//!   cargo bench --bench floor
//!
//! The corpus is `target/bench-data/corpus-200x50`, generated on first use
//! with `../shared/bench/gen_feeds.py --feeds 200 --items 50 --seed 1` (the
//! one `bench/peers.sh` uses); `SYNDIC_FLOOR_CORPUS=DIR` times any directory
//! of feed documents instead. Each benchmark goes over the whole corpus.

use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use syndic::store::TaggedEntry;

/// The feed documents, in file-name order.
fn corpus() -> Vec<Vec<u8>> {
    let dir = match std::env::var_os("SYNDIC_FLOOR_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => generated_corpus(),
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no feed documents in {}", dir.display());
    paths.iter().map(|p| std::fs::read(p).expect("a feed document")).collect()
}

/// `target/bench-data/corpus-200x50/feeds`, generated once.
fn generated_corpus() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/bench-data/corpus-200x50");
    if !out.join("manifest.json").exists() {
        let generator = [root.join("../shared/bench/gen_feeds.py"), PathBuf::from("/work/shared/bench/gen_feeds.py")]
            .into_iter()
            .find(|p| p.exists())
            .expect("../shared/bench/gen_feeds.py not found: set SYNDIC_FLOOR_CORPUS to a directory of feed documents");
        let status = std::process::Command::new("python3")
            .arg(&generator)
            .args(["--feeds", "200", "--items", "50", "--seed", "1", "--port", "8796", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("python3, to generate the corpus");
        assert!(status.success(), "gen_feeds.py failed");
    }
    out.join("feeds")
}

fn html_of(feeds: &[feed_rs::model::Feed]) -> Vec<String> {
    let mut html = Vec::new();
    for entry in feeds.iter().flat_map(|f| &f.entries) {
        html.extend(entry.content.as_ref().and_then(|c| c.body.clone()));
        html.extend(entry.summary.as_ref().map(|s| s.content.clone()));
    }
    html
}

fn bench_floor(c: &mut Criterion) {
    let docs = corpus();
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let gzipped: Vec<Vec<u8>> = docs
        .iter()
        .map(|d| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(d).expect("gzip in memory");
            gz.finish().expect("gzip in memory")
        })
        .collect();
    let feeds: Vec<feed_rs::model::Feed> =
        docs.iter().map(|d| feed_rs::parser::parse(&d[..]).expect("the corpus parses")).collect();
    let html = html_of(&feeds);
    let now = Utc::now();
    let parsed: Vec<syndic::model::NewEntry> = docs
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            syndic::parse::parse_feed(d, &format!("http://127.0.0.1/{i}.xml"), None, now)
                .expect("the corpus parses")
                .entries
        })
        .collect();
    let texts: Vec<[String; 3]> = parsed
        .iter()
        .map(|e| {
            [e.title.clone(), e.summary_text.clone().unwrap_or_default(), e.content_text.clone().unwrap_or_default()]
        })
        .collect();
    let text_bytes: usize = texts.iter().flatten().map(String::len).sum();
    eprintln!(
        "floor: {} documents, {:.1} MB; {} entries; {} HTML fragments, {:.1} MB; their text {:.1} MB",
        docs.len(),
        bytes as f64 / 1e6,
        parsed.len(),
        html.len(),
        html.iter().map(String::len).sum::<usize>() as f64 / 1e6,
        text_bytes as f64 / 1e6
    );

    let mut g = c.benchmark_group("floor");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    g.bench_function("gunzip the documents (flate2)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for z in &gzipped {
                out.clear();
                flate2::read::GzDecoder::new(&z[..]).read_to_end(&mut out).expect("gunzip");
            }
            black_box(out.len())
        })
    });
    g.bench_function("parse the documents (feed-rs)", |b| {
        b.iter(|| docs.iter().map(|d| feed_rs::parser::parse(&d[..]).expect("parses").entries.len()).sum::<usize>())
    });
    g.bench_function("sanitise their HTML (ammonia::clean)", |b| {
        b.iter(|| html.iter().map(|h| ammonia::clean(h).len()).sum::<usize>())
    });
    g.bench_function("their HTML's text (scraper)", |b| {
        b.iter(|| {
            html.iter()
                .map(|h| scraper::Html::parse_fragment(h).root_element().text().map(str::len).sum::<usize>())
                .sum::<usize>()
        })
    });
    // As syndic indexes: a summary that is an excerpt of the content is
    // not indexed again (search::indexed_summary), with the merge settings
    // of migrations 020 and 022.
    let indexed: Vec<[&str; 3]> = texts
        .iter()
        .map(|[title, summary, content]| {
            [title.as_str(), syndic::search::indexed_summary(summary, Some(content.as_str())), content.as_str()]
        })
        .collect();
    eprintln!(
        "floor: the text indexed, summaries that are excerpts of their content left out: {:.1} MB",
        indexed.iter().flatten().map(|t| t.len()).sum::<usize>() as f64 / 1e6
    );
    g.bench_function("index their text, one transaction (FTS5)", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let conn = rusqlite::Connection::open(dir.path().join("fts.db")).expect("a database");
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                     CREATE VIRTUAL TABLE entries_fts USING fts5(title, summary, content,
                         content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
                     INSERT INTO entries_fts (entries_fts, rank) VALUES ('automerge', 16);
                     INSERT INTO entries_fts (entries_fts, rank) VALUES ('crisismerge', 32);",
                )
                .expect("the index");
                (dir, conn)
            },
            |(dir, conn)| {
                conn.execute_batch("BEGIN").expect("begin");
                {
                    let mut insert = conn
                        .prepare("INSERT INTO entries_fts (rowid, title, summary, content) VALUES (?, ?, ?, ?)")
                        .expect("insert");
                    for (i, [title, summary, content]) in indexed.iter().enumerate() {
                        insert.execute(rusqlite::params![i as i64 + 1, title, summary, content]).expect("insert");
                    }
                }
                conn.execute_batch("COMMIT").expect("commit");
                (dir, conn)
            },
            BatchSize::PerIteration,
        )
    });
    // One frame per entry, its plain texts and sanitised HTML, as syndic
    // packs them (store::body), at zstd's fastest level without a dictionary:
    // less than the size goal needs (syndic packs them again with a trained
    // dictionary at level 6), so a lower bound.
    let payloads: Vec<Vec<u8>> = parsed
        .iter()
        .map(|e| {
            [&e.summary_text, &e.content_text, &e.summary_html, &e.content_html]
                .into_iter()
                .flatten()
                .flat_map(|t| t.as_bytes().iter().copied())
                .collect()
        })
        .collect();
    g.bench_function("pack their texts and HTML, a frame an entry (zstd level 1)", |b| {
        let mut zstd = zstd::bulk::Compressor::new(1).expect("a compressor");
        b.iter(|| payloads.iter().map(|p| zstd.compress(p).expect("compresses").len()).sum::<usize>())
    });
    let packed: Vec<Vec<u8>> = {
        let mut zstd = zstd::bulk::Compressor::new(1).expect("a compressor");
        payloads.iter().map(|p| zstd.compress(p).expect("compresses")).collect()
    };
    g.bench_function("write their rows, one transaction (SQLite)", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let conn = rusqlite::Connection::open(dir.path().join("rows.db")).expect("a database");
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                     CREATE TABLE entries (id INTEGER PRIMARY KEY, entry_key TEXT NOT NULL UNIQUE,
                         title TEXT NOT NULL, url TEXT, published INTEGER NOT NULL, body BLOB);",
                )
                .expect("the table");
                (dir, conn)
            },
            |(dir, conn)| {
                conn.execute_batch("BEGIN").expect("begin");
                {
                    let mut insert = conn
                        .prepare("INSERT INTO entries (entry_key, title, url, published, body) VALUES (?, ?, ?, ?, ?)")
                        .expect("insert");
                    for (e, body) in parsed.iter().zip(&packed) {
                        insert
                            .execute(rusqlite::params![e.key.0, e.title, e.url, e.published.timestamp(), body])
                            .expect("insert");
                    }
                }
                conn.execute_batch("COMMIT").expect("commit");
                (dir, conn)
            },
            BatchSize::PerIteration,
        )
    });
    // The words unicode-segmentation gives (UAX #29), split as syndic splits
    // them (text::for_each_word: the same words, ASCII without the tables).
    g.bench_function("hash their text's words (UAX #29 words, xxh3)", |b| {
        b.iter(|| {
            let mut h = 0u64;
            for e in &parsed {
                syndic::text::for_each_word(e.comparison_text(), |w| {
                    h = h.wrapping_add(xxhash_rust::xxh3::xxh3_64(w.as_bytes()))
                });
            }
            h
        })
    });
    g.finish();

    // What syndic's parse workers do with the same documents.
    let mut g = c.benchmark_group("syndic");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    g.bench_function("parse, sanitise, text and normalise (parse::parse_feed)", |b| {
        b.iter(|| {
            docs.iter()
                .enumerate()
                .map(|(i, d)| {
                    syndic::parse::parse_feed(d, &format!("http://127.0.0.1/{i}.xml"), None, now)
                        .expect("parses")
                        .entries
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("copy-detection data (dedup::reduce, Comparison::new)", |b| {
        b.iter(|| {
            parsed
                .iter()
                .map(|e| {
                    let reduced = syndic::dedup::reduce(e.comparison_text());
                    syndic::dedup::Comparison::new(reduced, |_| false).lighten()
                })
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("pack for the store (TaggedEntry::packed_with)", |b| {
        b.iter_batched(
            || parsed.clone(),
            |entries| entries.into_iter().map(|e| TaggedEntry::packed_with(e, Vec::new(), None)).collect::<Vec<_>>(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_floor);
criterion_main!(benches);
