use chrono::TimeZone;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::*;
use crate::dedup;
use crate::model::{DateSource, EntryKey};
use rusqlite::params;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
}

const TEXT: &str = "New industries are emerging, and China will help Pakistan seize the wave of the \
    technology revolution to overtake and achieve leapfrog development in the context of the fourth \
    industrial revolution and the digital economy, said the vice chair.";

fn entry(key: &str, url: Option<&str>, text: &str, day: u32) -> TaggedEntry {
    TaggedEntry::new(
        NewEntry {
            key: EntryKey(key.into()),
            title: format!("Title {key}"),
            url: url.map(str::to_owned),
            author: None,
            published: at(day),
            date_source: DateSource::Published,
            summary_html: None,
            summary_text: None,
            content_html: Some(format!("<p>{text}</p>")),
            content_text: Some(text.to_owned()),
            source_url: None,
            text_hash: dedup::text_hash(text),
            item_hash: None,
        },
        vec!["cpec".into()],
    )
}

fn store_with_feeds(n: usize) -> (Store, Vec<FeedId>) {
    let mut s = Store::open_in_memory().unwrap();
    let feeds: Vec<_> = (0..n).map(|i| (format!("https://f{i}.example/feed"), Some(format!("F{i}")))).collect();
    let ids = s.upsert_feeds(&feeds).unwrap().into_iter().map(|f| f.id).collect();
    (s, ids)
}

fn dup_of(s: &Store, key: &str) -> Option<i64> {
    s.conn.query_row("SELECT duplicate_of FROM entries WHERE entry_key = ?1", [key], |r| r.get(0)).unwrap()
}

fn id_of(s: &Store, key: &str) -> i64 {
    s.conn.query_row("SELECT id FROM entries WHERE entry_key = ?1", [key], |r| r.get(0)).unwrap()
}

#[test]
fn migrations_are_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/syndic.db");
    let s = Store::open_at(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    drop(s);
    let s = Store::open_at(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    assert!(s.integrity_check().unwrap().is_empty());
}

#[test]
fn the_search_index_merges_sixteen_segments_at_a_time_in_new_and_upgraded_stores() {
    use rusqlite::OptionalExtension;
    // (automerge, crisismerge): FTS5's defaults are 4 and 16.
    let merges = |conn: &Connection| -> (Option<i64>, Option<i64>) {
        let get = |k: &str| -> Option<i64> {
            conn.query_row("SELECT v FROM entries_fts_config WHERE k = ?1", [k], |r| r.get(0)).optional().unwrap()
        };
        (get("automerge"), get("crisismerge"))
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let mut s = Store::open_at(&path).unwrap();
    assert_eq!(merges(&s.conn), (Some(16), Some(32)));
    // Rebuilding the index (doctor --repair) keeps the setting.
    let tx = s.conn.transaction().unwrap();
    super::entries::reindex_search(&tx).unwrap();
    tx.commit().unwrap();
    assert_eq!(merges(&s.conn), (Some(16), Some(32)));

    // From FTS5's defaults (before migration 020) and from migration 020's 8.
    for (version, before) in [(19, (None, None)), (21, (Some(8), None))] {
        let path = dir.path().join(format!("v{version}.db"));
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            for sql in &MIGRATIONS[..version] {
                schema::apply(&tx, sql).unwrap();
            }
            tx.pragma_update(None, "user_version", version as i64).unwrap();
            tx.commit().unwrap();
            assert_eq!(merges(&conn), before, "schema {version}");
        }
        let s = Store::open_at(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(merges(&s.conn), (Some(16), Some(32)), "schema {version} upgraded");
    }
}

#[test]
fn keys_filed_several_to_a_statement_are_each_filed_once() {
    let s = Store::open_in_memory().unwrap();
    let staged = |id: i64| -> Vec<(i64, i64)> {
        s.conn
            .prepare("SELECT key, day FROM dedup_keys_staged WHERE entry_id = ?1 ORDER BY key")
            .unwrap()
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    for n in [0_i64, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 100] {
        let id = 1000 + n;
        // Keys as an entry has them, with a repeated one (filed once).
        let mut keys: Vec<i64> = (0..n).map(|i| i * 7919 - 40_000).collect();
        if n > 2 {
            keys.push(keys[1]);
        }
        super::dedup::file_keys_staged(&s.conn, &keys, 20_000 + n, id).unwrap();
        let mut expected: Vec<(i64, i64)> = (0..n).map(|i| (i * 7919 - 40_000, 20_000 + n)).collect();
        expected.sort();
        assert_eq!(staged(id), expected, "{n} keys");
        // Filing them again adds nothing.
        super::dedup::file_keys_staged(&s.conn, &keys, 20_000 + n, id).unwrap();
        assert_eq!(staged(id), expected, "{n} keys, filed again");
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syndic.db");
    let s = Store::open_at(&path).unwrap();
    s.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(s);
    let err = Store::open_at(&path).err().unwrap().to_string();
    assert!(err.contains("schema version 99 is newer"), "{err}");
}

#[test]
fn saving_twice_inserts_nothing_the_second_time() {
    let (mut s, f) = store_with_feeds(1);
    let entries = [entry("a", Some("https://x/a"), TEXT, 1), entry("b", None, "short", 2)];
    let r1 = s.save_feed(f[0], &FetchState::default(), &entries, at(3)).unwrap();
    assert_eq!(r1, SaveReport { new: 2, copies: 0, updated: 0 });
    let r2 = s.save_feed(f[0], &FetchState::default(), &entries, at(4)).unwrap();
    assert_eq!(r2, SaveReport::default());
    assert_eq!(s.feeds().unwrap()[0].entry_count, 2);
}

#[test]
fn changed_entry_is_updated_in_place() {
    let (mut s, f) = store_with_feeds(1);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", None, TEXT, 1)], at(3)).unwrap();
    let mut changed = entry("a", None, TEXT, 1);
    changed.entry.title = "Corrected title".into();
    let r = s.save_feed(f[0], &FetchState::default(), &[changed], at(4)).unwrap();
    assert_eq!(r.updated, 1);
    let (n, title): (i64, String) =
        s.conn.query_row("SELECT COUNT(*), MAX(title) FROM entries", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((n, title.as_str()), (1, "Corrected title"));
    let fts: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM entries_fts WHERE entries_fts MATCH 'corrected'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fts, 1);
}

#[test]
fn same_link_in_another_feed_is_a_copy() {
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[entry("main", Some("https://x/a"), "one", 1)], at(3)).unwrap();
    let r = s.save_feed(f[1], &FetchState::default(), &[entry("cat", Some("https://x/a"), "two", 1)], at(3)).unwrap();
    assert_eq!(r, SaveReport { new: 0, copies: 1, updated: 0 });
    assert_eq!(dup_of(&s, "cat"), Some(id_of(&s, "main")));
    assert_eq!(dup_of(&s, "main"), None);
}

#[test]
fn same_text_is_a_copy_in_another_feed_and_in_the_same_feed() {
    // A site that runs one article again under a new URL carries one story
    // (issue 8: same-feed versions are verified like any pair).
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", Some("https://x/a"), TEXT, 1)], at(3)).unwrap();
    s.save_feed(f[0], &FetchState::default(), &[entry("a2", Some("https://x/a2"), TEXT, 1)], at(3)).unwrap();
    assert_eq!(dup_of(&s, "a2"), Some(id_of(&s, "a")));
    s.save_feed(f[1], &FetchState::default(), &[entry("b", Some("https://y/b"), TEXT, 2)], at(3)).unwrap();
    assert_eq!(dup_of(&s, "b"), Some(id_of(&s, "a")));
}

#[test]
fn an_older_newcomer_becomes_the_original() {
    let (mut s, f) = store_with_feeds(3);
    s.save_feed(f[0], &FetchState::default(), &[entry("late", Some("https://l/1"), TEXT, 5)], at(6)).unwrap();
    s.save_feed(f[1], &FetchState::default(), &[entry("later", Some("https://l/2"), TEXT, 6)], at(6)).unwrap();
    assert_eq!(dup_of(&s, "later"), Some(id_of(&s, "late")));
    let r = s.save_feed(f[2], &FetchState::default(), &[entry("first", Some("https://o/1"), TEXT, 1)], at(6)).unwrap();
    assert_eq!(r.new, 1);
    let first = id_of(&s, "first");
    assert_eq!(dup_of(&s, "first"), None);
    assert_eq!(dup_of(&s, "late"), Some(first));
    assert_eq!(dup_of(&s, "later"), Some(first));
}

#[test]
fn failures_and_304_are_recorded() {
    let (mut s, f) = store_with_feeds(1);
    let fail =
        |status: Option<u16>, error: &str| Failure { http_status: status, error: error.into(), ..Failure::default() };
    assert_eq!(s.record_failure(f[0], &fail(Some(500), "HTTP 500"), at(1)).unwrap(), 1);
    assert_eq!(s.record_failure(f[0], &fail(None, "timed out"), at(2)).unwrap(), 2);
    let row = &s.feeds().unwrap()[0];
    assert_eq!((row.consecutive_failures, row.last_error.as_deref()), (2, Some("timed out")));
    assert_eq!(row.last_success, None);
    s.record_not_modified(f[0], &FetchState { http_status: Some(304), ..FetchState::default() }, at(3)).unwrap();
    let row = &s.feeds().unwrap()[0];
    assert_eq!((row.consecutive_failures, row.last_error.as_deref(), row.http_status), (0, None, Some(304)));
    assert_eq!(row.last_success, Some(at(3)));
}

fn topics_of(s: &Store) -> Vec<(String, String)> {
    s.conn
        .prepare("SELECT e.entry_key, t.topic FROM entry_topics t JOIN entries e ON e.id = t.entry_id ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Re-tags with `rules`; each feed gives the topic `feed[url]` (none if
/// empty or absent); "pakistan" by keyword.
fn retag(s: &mut Store, rules: &str, feed: &HashMap<&str, &str>) -> usize {
    let given = |url: &str| feed.get(url).copied().filter(|t| !t.is_empty());
    s.retag(
        rules,
        |url| given(url).unwrap_or("").to_string(),
        |url, texts| {
            let mut t: Vec<String> = given(url).map(str::to_string).into_iter().collect();
            if texts[2].contains("Pakistan") {
                t.push("pakistan".into());
            }
            t
        },
    )
    .unwrap()
}

#[test]
fn retag_follows_the_rules_and_each_feeds_topics() {
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", None, TEXT, 1), entry("b", None, "Other news.", 1)], at(3))
        .unwrap();
    s.save_feed(f[1], &FetchState::default(), &[entry("c", None, TEXT, 1)], at(3)).unwrap();
    let (u0, u1) = ("https://f0.example/feed", "https://f1.example/feed");
    let mut feed: HashMap<&str, &str> = HashMap::from([(u0, "f0topic"), (u1, "")]);
    // First time: every entry.
    assert_eq!(retag(&mut s, "rules-1", &feed), 3);
    let first = topics_of(&s);
    assert_eq!(
        first,
        [("a", "f0topic"), ("a", "pakistan"), ("b", "f0topic"), ("c", "pakistan")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(s.meta("topics_fingerprint").unwrap().as_deref(), Some("rules-1"));
    // Nothing changed: nothing read.
    assert_eq!(retag(&mut s, "rules-1", &feed), 0);

    // One feed's topics change: its entries only.
    feed.insert(u1, "f1topic");
    assert_eq!(retag(&mut s, "rules-1", &feed), 1);
    let mut expected = first.clone();
    expected.push(("c".into(), "f1topic".into()));
    expected.sort();
    assert_eq!(topics_of(&s), expected);
    // And back: its topic goes, the others' stay.
    feed.insert(u1, "");
    assert_eq!(retag(&mut s, "rules-1", &feed), 1);
    assert_eq!(topics_of(&s), first);

    // The rules change: every entry again.
    assert_eq!(retag(&mut s, "rules-2", &feed), 3);
    assert_eq!(topics_of(&s), first);
    assert_eq!(s.meta("topics_fingerprint").unwrap().as_deref(), Some("rules-2"));
}

/// Another command writing (`remove --purge`, `prune`, `feeds
/// --fix-redirects`...) while a sync re-tags: the re-tag waits for it, as
/// every write does, rather than failing with "database is locked" because
/// it read the feeds before the other one committed.
#[test]
fn retag_waits_for_another_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syndic.db");
    let mut a = Store::open_at(&path).unwrap();
    let f = a.upsert_feeds(&[("https://f0.example/feed".into(), None)]).unwrap()[0].id;
    a.save_feed(f, &FetchState::default(), &[entry("a", None, TEXT, 1)], at(3)).unwrap();
    let feed = HashMap::from([("https://f0.example/feed", "f0topic")]);
    assert_eq!(retag(&mut a, "rules-1", &feed), 1);

    let b = Store::open_at(&path).unwrap();
    b.conn.execute_batch("BEGIN IMMEDIATE; UPDATE feeds SET name = 'other' WHERE id = 1;").unwrap();
    let retagging = std::thread::spawn(move || {
        let n = a.retag("rules-2", |_| "f0topic".into(), |_, _| vec!["f0topic".into()]);
        (n, a)
    });
    std::thread::sleep(Duration::from_millis(300));
    b.conn.execute_batch("COMMIT").unwrap();
    let (n, a) = retagging.join().unwrap();
    assert_eq!(n.unwrap(), 1);
    assert_eq!(a.meta("topics_fingerprint").unwrap().as_deref(), Some("rules-2"));
}

#[test]
fn sync_lock_excludes_a_second_holder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syndic.db");
    let a = Store::open_at(&path).unwrap();
    let b = Store::open_at(&path).unwrap();
    let held = a.lock_for_sync(Duration::from_secs(1)).unwrap();
    assert!(held.is_some());
    let err = b.lock_for_sync(Duration::from_millis(200)).err().unwrap();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    drop(held);
    assert!(b.lock_for_sync(Duration::from_millis(200)).unwrap().is_some());
}

#[cfg(unix)]
#[test]
fn sync_lock_is_one_whatever_path_reaches_the_database() {
    // Found by a review: a second sync through a symbolic link took a lock
    // file of its own and ran beside the first.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let path = dir.path().join("data/syndic.db");
    let link = dir.path().join("link.db");
    let a = Store::open_at(&path).unwrap();
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let b = Store::open_at(&link).unwrap();
    let c = Store::open_at(&dir.path().join("data/../data/./syndic.db")).unwrap();
    let held = a.lock_for_sync(Duration::ZERO).unwrap();
    assert!(held.is_some());
    for other in [&b, &c] {
        let err = other.lock_for_sync(Duration::ZERO).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }
    drop(held);
    assert!(b.lock_for_sync(Duration::ZERO).unwrap().is_some());
}

// See issue 11, "Fewer, larger transactions": feeds share a transaction,
// each written whole; a failing feed undoes its batch (nothing half-written;
// the sync stops there); an uncommitted batch is lost whole.
#[test]
fn a_batch_commits_whole_feeds_and_a_failing_feed_undoes_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syndic.db");
    let mut s = Store::open_at(&path).unwrap();
    let feeds =
        s.upsert_feeds(&[("https://a.example/feed".into(), None), ("https://b.example/feed".into(), None)]).unwrap();
    let (a, b) = (feeds[0].id, feeds[1].id);
    let count = |s: &Store, feed: FeedId| -> i64 {
        s.conn.query_row("SELECT COUNT(*) FROM entries WHERE feed_id = ?1", [feed.0], |r| r.get(0)).unwrap()
    };
    let state = FetchState::default();
    s.begin_batch().unwrap();
    s.save_feed(a, &state, &[entry("a1", None, TEXT, 1), entry("a2", None, "Another story entirely.", 2)], at(3))
        .unwrap();
    // A feed the database refuses (no such feed: its entries break the foreign key).
    let refused = s.save_feed(FeedId(9_999), &state, &[entry("x1", None, "Refused text.", 1)], at(3));
    assert!(refused.is_err());
    assert!(s.conn.is_autocommit(), "the batch was rolled back");
    assert_eq!((count(&s, a), count(&s, FeedId(9_999))), (0, 0));
    let indexed: i64 = s.conn.query_row("SELECT COUNT(*) FROM entries_fts", [], |r| r.get(0)).unwrap();
    assert_eq!(indexed, 0, "nor its search rows");
    // Written again in a batch of their own, they commit.
    s.begin_batch().unwrap();
    s.save_feed(a, &state, &[entry("a1", None, TEXT, 1), entry("a2", None, "Another story entirely.", 2)], at(3))
        .unwrap();
    s.commit_batch().unwrap();
    assert_eq!(count(&s, a), 2);
    let found: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM entries_fts WHERE entries_fts MATCH 'another'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(found, 1, "its search rows are written with the batch");

    // Killed before the commit: the open batch is lost whole, nothing else.
    s.begin_batch().unwrap();
    s.save_feed(b, &state, &[entry("b1", None, "A story of feed b.", 2)], at(3)).unwrap();
    assert_eq!(count(&s, b), 1, "written, not committed");
    drop(s);
    let mut s = Store::open_at(&path).unwrap();
    assert_eq!((count(&s, a), count(&s, b)), (2, 0));
    let last_success: Option<i64> =
        s.conn.query_row("SELECT last_success FROM feeds WHERE id = ?1", [b.0], |r| r.get(0)).unwrap();
    assert_eq!(last_success, None, "the feed's state went with its entries");
    // Outside a batch, a feed is its own transaction.
    s.save_feed(b, &state, &[entry("b1", None, "A story of feed b.", 2)], at(3)).unwrap();
    s.checkpoint().unwrap();
    assert_eq!(count(&Store::open_at(&path).unwrap(), b), 1);
}

/// See issue 9: a feed of identical items made copy detection quadratic.
/// Identical items are linked through a bounded number of candidates each
/// (exact evidence to a few, keys shared by too many ignored) and still form
/// one story.
#[test]
fn identical_items_are_one_story_through_a_bounded_number_of_comparisons() {
    let (mut s, f) = store_with_feeds(2);
    let batch = |prefix: &str| -> Vec<TaggedEntry> {
        (0..150).map(|i| entry(&format!("{prefix}{i:03}"), Some(&format!("https://{prefix}/{i}")), TEXT, 1)).collect()
    };
    s.save_feed(f[0], &FetchState::default(), &batch("a"), at(2)).unwrap();
    s.save_feed(f[1], &FetchState::default(), &batch("b"), at(2)).unwrap();
    let copies: i64 = s.conn.query_row("SELECT COUNT(duplicate_of) FROM entries", [], |r| r.get(0)).unwrap();
    assert_eq!(copies, 299, "all 300 identical items are one story");
    let roots: i64 =
        s.conn.query_row("SELECT COUNT(DISTINCT COALESCE(duplicate_of, id)) FROM entries", [], |r| r.get(0)).unwrap();
    assert_eq!(roots, 1);
    let x = s.explain_dedup(EntryId(id_of(&s, "b149"))).unwrap().unwrap();
    assert!(x.candidates.len() <= 3 * 16, "candidates are capped: {}", x.candidates.len());
}

/// The lookup keys stay a few weeks long: those of entries published long
/// before the newest are dropped, the rest kept, and a date in the future
/// moves nothing.
#[test]
fn old_lookup_keys_are_dropped_relative_to_the_newest_entry() {
    let (mut s, f) = store_with_feeds(1);
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let batch: Vec<TaggedEntry> = [0i64, 10, 70, 100, 500]
        .iter()
        .map(|d| {
            let mut e = entry(&format!("e{d}"), Some(&format!("https://x/{d}")), &format!("{TEXT} Day {d}."), 1);
            e.entry.published = day(*d);
            e
        })
        .collect();
    s.save_feed(f[0], &FetchState::default(), &batch, day(100)).unwrap();
    let keys_of = |s: &Store, key: &str| -> i64 {
        s.conn
            .query_row(
                "SELECT COUNT(*) FROM (SELECT * FROM dedup_keys UNION ALL SELECT * FROM dedup_keys_staged) WHERE entry_id = (SELECT id FROM entries WHERE entry_key = ?1)",
                [key],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!(keys_of(&s, "e0") > 0);
    // Synced long after, with a bogus future date among the keys: nothing is relative to it.
    let dropped = s.forget_old_keys(day(100)).unwrap();
    assert!(dropped > 0);
    assert_eq!((keys_of(&s, "e0"), keys_of(&s, "e10")), (0, 0), "more than 7 + 30 days before day 100");
    assert!(keys_of(&s, "e70") > 0 && keys_of(&s, "e100") > 0 && keys_of(&s, "e500") > 0);
    // Forgotten days stay forgotten: a late entry of those days files its
    // keys for the rest of its sync only (see the next test), and the next
    // run has nothing more to visit.
    let mut late = entry("late", Some("https://x/late"), &format!("{TEXT} A late one."), 1);
    late.entry.published = day(5);
    s.save_feed(f[0], &FetchState::default(), &[late], day(100)).unwrap();
    assert!(keys_of(&s, "late") > 0);
    assert!(s.forget_old_keys(day(100)).unwrap() > 0);
    assert_eq!(keys_of(&s, "late"), 0);
    assert_eq!(s.forget_old_keys(day(100)).unwrap(), 0);
    // A rebuild files every entry again; the next run forgets the old ones again.
    s.rebuild_dedup().unwrap();
    assert!(keys_of(&s, "e0") > 0 && keys_of(&s, "late") > 0);
    assert!(s.forget_old_keys(day(100)).unwrap() > 0);
    assert_eq!((keys_of(&s, "e0"), keys_of(&s, "late")), (0, 0));
    assert!(keys_of(&s, "e70") > 0);
    // Old fixtures synced today keep their keys: the newest entry decides, not the clock.
    let (mut old, g) = store_with_feeds(1);
    old.save_feed(g[0], &FetchState::default(), &[entry("a", Some("https://y/a"), TEXT, 1)], day(1000)).unwrap();
    assert_eq!(old.forget_old_keys(day(1000)).unwrap(), 0);
}

/// Two entries of one sync find each other whichever is written first,
/// though the older is dated before the keys' horizon: it files its keys for
/// the rest of the sync. (It filed none: only its own lookup could find the
/// pair, so the story depended on which feed arrived first. Found syncing
/// 200 feeds into a store of 50,000 entries: 1 to 5 entries differed from
/// run to run.) At the sync's end, those keys and the fingerprint that
/// lists them go, as for any entry past the horizon in a small story.
#[test]
fn an_entry_dated_before_the_horizon_pairs_whichever_is_written_first() {
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, text: &str, d: i64| {
        let mut e = entry(key, Some(&format!("https://x/{key}")), text, 1);
        e.entry.published = day(d);
        e
    };
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let original = paragraphs.join("\n\n");
    // A republication two days later: cut short, an attribution added.
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    let run = |original_first: bool| {
        let (mut s, f) = store_with_feeds(3);
        s.save_feed(f[2], &FetchState::default(), &[dated("later", "Rain is expected across Punjab.", 100)], day(100))
            .unwrap();
        s.forget_old_keys(day(100)).unwrap();
        // Keys are filed from day 63 (100 - 7 - 30): the original, dated
        // day 62, is before the horizon, its copy within it.
        let keys_from = super::dedup::keys_from(&s.conn).unwrap();
        assert_eq!(keys_from, 1_700_000_000 / 86_400 + 63);
        let writes = [(f[0], dated("orig", &original, 62)), (f[1], dated("copy", &copy, 64))];
        let order: Vec<usize> = if original_first { vec![0, 1] } else { vec![1, 0] };
        for i in order {
            let (feed, e) = &writes[i];
            s.save_feed(*feed, &FetchState::default(), std::slice::from_ref(e), day(100)).unwrap();
        }
        let story = (dup_of(&s, "orig"), dup_of(&s, "copy"));
        assert_eq!(story, (None, Some(id_of(&s, "orig"))), "original first: {original_first}");
        // The sync's end: the original's keys go, and its fingerprint (a
        // story of two); the copy's stay.
        let count = |s: &Store, sql: &str, key: &str| -> i64 { s.conn.query_row(sql, [key], |r| r.get(0)).unwrap() };
        let keys = "SELECT COUNT(*) FROM (SELECT * FROM dedup_keys UNION ALL SELECT * FROM dedup_keys_staged) WHERE entry_id = (SELECT id FROM entries WHERE entry_key = ?1)";
        let fingerprints =
            "SELECT COUNT(*) FROM fingerprints WHERE entry_id = (SELECT id FROM entries WHERE entry_key = ?1)";
        assert!(count(&s, keys, "orig") > 0, "filed for the rest of the sync");
        // Had the sync stopped here, doctor would tell (no damage).
        let detection = |s: &Store| s.doctor().unwrap().into_iter().find(|c| c.name == "copy detection").unwrap();
        assert!(detection(&s).ok && detection(&s).detail.contains("old-dated entries wait to be dropped"));
        assert!(s.forget_old_keys(day(100)).unwrap() > 0);
        assert!(!detection(&s).detail.contains("old-dated"), "{:?}", detection(&s));
        assert_eq!((count(&s, keys, "orig"), count(&s, fingerprints, "orig")), (0, 0));
        assert!(count(&s, keys, "copy") > 0 && count(&s, fingerprints, "copy") == 1);
        assert_eq!(super::dedup::keys_from(&s.conn).unwrap(), keys_from, "the horizon stays");
        let below: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM meta WHERE key = 'dedup_keys_below_from'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(below, 0);
        assert_eq!(dup_of(&s, "copy"), Some(id_of(&s, "orig")), "the story holds");
        let doctor = s.doctor().unwrap();
        assert!(doctor.iter().all(|c| c.ok), "{doctor:?}");
    };
    run(true);
    run(false);
}

/// Entries past the lookup keys' horizon keep no fingerprint. A late copy
/// that names one by its link still joins its story, as it would have had
/// the fingerprint been kept (computed again from the text), and `doctor`
/// sees nothing missing.
#[test]
fn fingerprints_past_the_horizon_are_dropped_and_computed_again_when_needed() {
    const LONE_TEXT: &str = "Quetta: the provincial assembly met to discuss the water budget for the coming year.";
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, url: &str, text: &str, d: i64| {
        let mut e = entry(key, Some(url), text, 1);
        e.entry.published = day(d);
        e
    };
    let fingerprinted = |s: &Store, key: &str| -> i64 {
        s.conn
            .query_row(
                "SELECT COUNT(*) FROM fingerprints WHERE entry_id = (SELECT id FROM entries WHERE entry_key = ?1)",
                [key],
                |r| r.get(0),
            )
            .unwrap()
    };
    let original = format!("{TEXT} The original report.");
    let run = |forget: bool| {
        let (mut s, f) = store_with_feeds(2);
        let recent = "Lahore weather: rain is expected across Punjab this week, the meteorological office said.";
        s.save_feed(
            f[0],
            &FetchState::default(),
            &[
                dated("orig", "https://x/orig", &original, 0),
                dated("lone", "https://x/lone", LONE_TEXT, 2),
                dated("recent", "https://x/recent", recent, 100),
            ],
            day(100),
        )
        .unwrap();
        if forget {
            s.forget_old_keys(day(100)).unwrap();
            assert_eq!((fingerprinted(&s, "orig"), fingerprinted(&s, "recent")), (0, 1));
            assert_eq!(fingerprinted(&s, "lone"), 0);
            let fingerprints = s.doctor().unwrap().into_iter().find(|c| c.name == "fingerprints").unwrap();
            assert!(fingerprints.ok, "{}", fingerprints.detail);
        }
        // Weeks late, carrying the original's link and a longer text.
        let copy = format!("{original}\n\nOriginally published at F0.\n\nLeave a Reply");
        s.save_feed(f[1], &FetchState::default(), &[dated("copy", "https://x/orig", &copy, 1)], day(100)).unwrap();
        if forget {
            // A story of two: neither keeps a fingerprint (a large story's
            // members would: `a_large_storys_members_keep_their_fingerprints`).
            s.forget_old_keys(day(100)).unwrap();
            assert_eq!((fingerprinted(&s, "copy"), fingerprinted(&s, "orig")), (0, 0));
            // A late entry in no story keeps its own (it lists the keys
            // filed for the rest of its sync) to the end of its sync.
            let late = "Karachi port: a new berth opens for container ships, the port authority announced on Monday.";
            s.save_feed(f[1], &FetchState::default(), &[dated("late", "https://x/late", late, 3)], day(100)).unwrap();
            assert_eq!(fingerprinted(&s, "late"), 1);
            s.forget_old_keys(day(100)).unwrap();
            assert_eq!(fingerprinted(&s, "late"), 0);
            let fingerprints = s.doctor().unwrap().into_iter().find(|c| c.name == "fingerprints").unwrap();
            assert!(fingerprints.ok, "{}", fingerprints.detail);
        }
        // Each entry: its original, why, how closely.
        type Row = (String, Option<String>, Option<String>, Option<f64>);
        let rows: Vec<Row> = s
            .conn
            .prepare(
                "SELECT e.entry_key, o.entry_key, e.dup_reason, e.dup_score FROM entries e
                 LEFT JOIN entries o ON o.id = e.duplicate_of ORDER BY e.entry_key",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows
    };
    let forgotten = run(true);
    let kept = run(false);
    let without_late: Vec<_> = forgotten.iter().filter(|r| r.0 != "late").cloned().collect();
    assert_eq!(without_late, kept, "the same stories with fingerprints dropped as with all kept");
    assert_eq!(forgotten[0].0, "copy");
    assert_eq!(forgotten[0].1.as_deref(), Some("orig"), "{forgotten:?}");
}

/// A store from before meta `fingerprints_from` (copy detection then
/// dropped every fingerprint dated before `dedup_keys_from`, and recorded
/// no day of its own for them): until the first sync after the upgrade the
/// fingerprints of entries past the horizon were neither stored nor computed
/// again, so a late copy naming such an entry by its link was left out of
/// its story, and `doctor` counted every old entry as missing one.
#[test]
fn a_store_from_before_fingerprints_from_computes_old_fingerprints_again() {
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, url: &str, text: &str, d: i64| {
        let mut e = entry(key, Some(url), text, 1);
        e.entry.published = day(d);
        e
    };
    let (mut s, f) = store_with_feeds(2);
    let original = format!("{TEXT} The original report.");
    let recent = "Lahore weather: rain is expected across Punjab this week, the meteorological office said.";
    s.save_feed(
        f[0],
        &FetchState::default(),
        &[dated("orig", "https://x/orig", &original, 0), dated("recent", "https://x/recent", recent, 100)],
        day(100),
    )
    .unwrap();
    s.forget_old_keys(day(100)).unwrap();
    // As the previous syndic left it: keys and fingerprints dropped up to
    // dedup_keys_from, no fingerprints_from.
    s.conn.execute("DELETE FROM meta WHERE key = 'fingerprints_from'", []).unwrap();
    // (As a sync leaves it: copy detection current, so doctor does not wait for a rebuild.)
    s.conn
        .execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('dedup_version', ?1)",
            [crate::dedup::DEDUP_VERSION.to_string()],
        )
        .unwrap();
    let orig = id_of(&s, "orig");
    assert!(super::dedup::fingerprint_of(&s.conn, orig).unwrap().is_some(), "computed again from its text");
    let fingerprints = s.doctor().unwrap().into_iter().find(|c| c.name == "fingerprints").unwrap();
    assert!(fingerprints.ok && fingerprints.detail == "no entries without a fingerprint", "{}", fingerprints.detail);
    // Weeks late, carrying the original's link and a longer text: it joins the story.
    let copy = format!("{original}\n\nOriginally published at F0.\n\nLeave a Reply");
    s.save_feed(f[1], &FetchState::default(), &[dated("copy", "https://x/orig", &copy, 1)], day(100)).unwrap();
    let of_copy: Option<i64> =
        s.conn.query_row("SELECT duplicate_of FROM entries WHERE entry_key = 'copy'", [], |r| r.get(0)).unwrap();
    assert_eq!(of_copy, Some(orig));
}

/// When a footer is learnt as boilerplate, the entries past the keys'
/// horizon that carry it are compared again with the partners they have:
/// found by shared keys, which are gone, they could not be found again, and
/// a real copy would leave its story.
#[test]
fn old_stories_survive_learning_a_footer_they_carry() {
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, text: &str, d: i64| {
        let mut e = entry(key, Some(&format!("https://x/{key}")), text, 1);
        e.entry.published = day(d);
        e
    };
    let footer = "Follow the F0 Chronicle on social media for more news from Islamabad and Beijing every day.";
    // The article's own paragraphs (not its title, nor the republisher's tail).
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    // The original with the site's footer; an edited republication of it
    // (its last two paragraphs cut, an attribution added) on another site.
    let original = format!("{}\n\n{footer}", paragraphs.join("\n\n"));
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[dated("orig", &original, 0)], day(0)).unwrap();
    s.save_feed(f[1], &FetchState::default(), &[dated("copy", &copy, 0)], day(0)).unwrap();
    assert_eq!(dup_of(&s, "copy"), Some(id_of(&s, "orig")), "found by shared keys");
    // A hundred days on, the old keys are dropped; then the site's new posts
    // show that the footer is boilerplate.
    s.save_feed(f[1], &FetchState::default(), &[dated("later", "Rain is expected across Punjab.", 100)], day(100))
        .unwrap();
    s.forget_old_keys(day(100)).unwrap();
    let news = [
        "Officials approved the new harbour budget on Monday after a long debate about dredging costs and the fishing fleet.",
        "The railway line to the northern valleys will reopen in spring, engineers said, once the landslide damage is repaired.",
        "Farmers in the eastern district reported a record wheat harvest this year thanks to late rains and new irrigation canals.",
    ];
    let posts: Vec<TaggedEntry> =
        news.iter().enumerate().map(|(i, n)| dated(&format!("post{i}"), &format!("{n}\n\n{footer}"), 100)).collect();
    s.save_feed(f[0], &FetchState::default(), &posts, day(100)).unwrap();
    let footer_key = dedup::reduce(footer).paragraph_keys()[0];
    assert!(s.learnt.set.contains(&footer_key), "the footer was learnt as boilerplate");
    assert_eq!(dup_of(&s, "copy"), Some(id_of(&s, "orig")), "the old story holds");
}

/// The same when the entry compared again is within the horizon but its
/// window reaches past it: its partner a few days older, found by shared
/// keys that are gone now, is verified again as its candidate.
#[test]
fn stories_across_the_horizon_survive_learning_a_footer() {
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, text: &str, d: i64| {
        let mut e = entry(key, Some(&format!("https://x/{key}")), text, 1);
        e.entry.published = day(d);
        e
    };
    let footer = "Follow the F0 Chronicle on social media for more news from Islamabad and Beijing every day.";
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let original = format!("{}\n\n{footer}", paragraphs.join("\n\n"));
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    let (mut s, f) = store_with_feeds(2);
    // The copy four days before the original (a date moved at the source,
    // or a republisher's clock): within each other's window.
    s.save_feed(f[1], &FetchState::default(), &[dated("copy", &copy, 60)], day(64)).unwrap();
    s.save_feed(f[0], &FetchState::default(), &[dated("orig", &original, 64)], day(64)).unwrap();
    let story = |s: &Store| dup_of(s, "copy").or(dup_of(s, "orig"));
    let before = story(&s);
    assert!(before.is_some(), "found by shared keys");
    // On day 100 the keys of entries before day 63 go: the copy's, not the
    // original's.
    s.save_feed(f[1], &FetchState::default(), &[dated("later", "Rain is expected across Punjab.", 100)], day(100))
        .unwrap();
    s.forget_old_keys(day(100)).unwrap();
    assert_eq!(
        s.conn
            .query_row("SELECT value FROM meta WHERE key = 'dedup_keys_from'", [], |r| r.get::<_, String>(0))
            .unwrap(),
        (1_700_000_000 / 86_400 + 63).to_string()
    );
    let news = [
        "Officials approved the new harbour budget on Monday after a long debate about dredging costs and the fishing fleet.",
        "The railway line to the northern valleys will reopen in spring, engineers said, once the landslide damage is repaired.",
        "Farmers in the eastern district reported a record wheat harvest this year thanks to late rains and new irrigation canals.",
    ];
    let posts: Vec<TaggedEntry> =
        news.iter().enumerate().map(|(i, n)| dated(&format!("post{i}"), &format!("{n}\n\n{footer}"), 100)).collect();
    s.save_feed(f[0], &FetchState::default(), &posts, day(100)).unwrap();
    let footer_key = dedup::reduce(footer).paragraph_keys()[0];
    assert!(s.learnt.set.contains(&footer_key), "the footer was learnt as boilerplate");
    assert_eq!(story(&s), before, "the story across the horizon holds");
}

/// During a sync, the older entries that carry a paragraph learnt as
/// boilerplate are compared again once, at its end (`Store::settle`), not
/// at every paragraph learnt: the same fingerprints and stories as comparing
/// them at once. Here a third post of one site makes its footer boilerplate:
/// the first two posts' fingerprints change. Left to the end, the pending
/// rows survive a sync stopped before it (committed with the counts that
/// made the footer boilerplate) and the next settles them.
#[test]
fn entries_touched_by_a_learnt_footer_are_compared_again_at_the_end_of_the_sync() {
    let footer = "The Harbour Chronicle is an independent newspaper published in Karachi since 1952. \
        Our reporters cover the port, the city council, the courts and the provincial assembly. \
        Subscribe to our morning newsletter for the day's headlines, and follow us on social media \
        for breaking news, photographs and the letters our readers send to the editor every week.";
    let posts = [
        "Officials approved the new harbour budget on Monday after a long debate about dredging costs.",
        "The railway line to the northern valleys will reopen in spring once the landslide is cleared.",
        "Farmers in the eastern district reported a record wheat harvest thanks to late rains this year.",
        "The city council voted to extend the night bus service to the airport from the first of March.",
    ];
    let post =
        |i: usize| entry(&format!("p{i}"), Some(&format!("https://x/p{i}")), &format!("{}\n\n{footer}", posts[i]), 1);
    let stories = |s: &Store| -> Vec<(String, Option<i64>)> {
        s.conn
            .prepare("SELECT entry_key, duplicate_of FROM entries ORDER BY entry_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let fingerprints = |s: &Store| -> Vec<(String, Vec<u8>)> {
        s.conn
            .prepare("SELECT e.entry_key, p.data FROM fingerprints p JOIN entries e ON e.id = p.entry_id ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let pending =
        |s: &Store| -> i64 { s.conn.query_row("SELECT COUNT(*) FROM dedup_pending", [], |r| r.get(0)).unwrap() };
    let dir = tempfile::tempdir().unwrap();
    let run = |defer: bool, path: &std::path::Path| {
        let mut s = Store::open_at(path).unwrap();
        let f = s.upsert_feeds(&[("https://f0.example/feed".into(), None)]).unwrap()[0].id;
        if defer {
            s.defer_recompare();
        }
        s.save_feed(f, &FetchState::default(), &[post(0)], at(3)).unwrap();
        s.save_feed(f, &FetchState::default(), &[post(1)], at(3)).unwrap();
        s.save_feed(f, &FetchState::default(), &[post(2)], at(3)).unwrap();
        s
    };
    let now = run(false, &dir.path().join("now.db"));
    assert_eq!(pending(&now), 0);
    assert_eq!(fingerprints(&now).len(), 3);
    let mut deferred = run(true, &dir.path().join("deferred.db"));
    assert_eq!(pending(&deferred), 2, "p0 and p1 wait for the end of the sync");
    let stale = fingerprints(&deferred);
    assert_eq!((stale[2].clone(), stale[..2] != fingerprints(&now)[..2]), (fingerprints(&now)[2].clone(), true));
    assert_eq!(deferred.settle(0, at(4)).unwrap(), 2);
    assert_eq!((pending(&deferred), fingerprints(&deferred)), (0, fingerprints(&now)));
    assert_eq!(stories(&deferred), stories(&now));
    // Stopped before its end: the next sync's settle compares them.
    drop(run(true, &dir.path().join("stopped.db")));
    let mut next = Store::open_at(&dir.path().join("stopped.db")).unwrap();
    assert_eq!(pending(&next), 2);
    let waiting = next.doctor().unwrap().into_iter().find(|c| c.name == "copy detection").unwrap();
    assert!(waiting.ok && waiting.detail.starts_with("2 entries wait"), "{}", waiting.detail);
    assert!(waiting.detail.contains("(a sync stopped early): the next sync does it"), "{}", waiting.detail);
    // Read while a sync runs (another process holds the lock): that sync's own.
    let lock =
        Store::open_at(&dir.path().join("stopped.db")).unwrap().lock_for_sync(std::time::Duration::ZERO).unwrap();
    let waiting = next.doctor().unwrap().into_iter().find(|c| c.name == "copy detection").unwrap();
    assert!(
        waiting.detail.starts_with("2 entries wait to be compared again (a sync is running): it does it at its end"),
        "{}",
        waiting.detail
    );
    drop(lock);
    assert_eq!(next.settle(0, at(4)).unwrap(), 2);
    assert_eq!((fingerprints(&next), stories(&next)), (fingerprints(&now), stories(&now)));
    assert_eq!(next.settle(0, at(4)).unwrap(), 0, "nothing left");
    next.forget_old_keys(at(4)).unwrap();
    let waiting = next.doctor().unwrap().into_iter().find(|c| c.name == "copy detection").unwrap();
    assert_eq!(waiting.detail, "no entries waiting to be compared again");
    // A post deleted since (pruned) is still named by the footer's sample:
    // it is not queued (a foreign key: the sync failed, every time).
    let mut pruned = Store::open_at(&dir.path().join("pruned.db")).unwrap();
    let f = pruned.upsert_feeds(&[("https://f0.example/feed".into(), None)]).unwrap()[0].id;
    pruned.defer_recompare();
    pruned.save_feed(f, &FetchState::default(), &[post(0)], at(3)).unwrap();
    pruned.save_feed(f, &FetchState::default(), &[post(1)], at(3)).unwrap();
    let p0 = id_of(&pruned, "p0");
    super::maintenance::delete_entries(&pruned.conn, &[p0]).unwrap();
    pruned.save_feed(f, &FetchState::default(), &[post(2)], at(3)).unwrap();
    assert_eq!(pending(&pruned), 0, "two posts left: not boilerplate yet");
    pruned.save_feed(f, &FetchState::default(), &[post(3)], at(3)).unwrap();
    assert_eq!(pending(&pruned), 2, "p1 and p2, not p0");
    assert_eq!(pruned.settle(0, at(4)).unwrap(), 2);
    // A rebuild compares everything: nothing is left pending.
    drop(run(true, &dir.path().join("rebuilt.db")));
    let mut rebuilt = Store::open_at(&dir.path().join("rebuilt.db")).unwrap();
    rebuilt.rebuild_dedup().unwrap();
    assert_eq!((pending(&rebuilt), fingerprints(&rebuilt)), (0, fingerprints(&now)));
}

/// A copy stored by a sync that joins a story already read when the story
/// is regrouped at the sync's end (`Store::settle`) is marked read, as one
/// that joins it as it is stored: a late copy does not bring a read story
/// back as unread. Entries stored before the sync keep their state.
#[test]
fn a_copy_joining_a_read_story_at_the_end_of_the_sync_is_read() {
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let footer = "Follow the F0 Chronicle on social media for more news from Islamabad and Beijing every day.";
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let original = format!("{}\n\n{footer}", paragraphs.join("\n\n"));
    let copy = |n: usize| format!("{}\n\nOriginally published at F0.", paragraphs[..n].join("\n\n"));
    let (mut s, f) = store_with_feeds(3);
    s.defer_recompare();
    let e = |key: &str, text: &str| entry(key, Some(&format!("https://x/{key}")), text, 1);
    s.save_feed(f[0], &FetchState::default(), &[e("orig", &original)], at(2)).unwrap();
    s.save_feed(f[1], &FetchState::default(), &[e("copy", &copy(7))], at(2)).unwrap();
    s.mark_read(&[EntryId(id_of(&s, "orig"))], at(2)).unwrap();
    let before_sync = s.last_entry_id().unwrap();
    s.save_feed(f[2], &FetchState::default(), &[e("late", &copy(8))], at(3)).unwrap();
    assert_eq!(dup_of(&s, "late"), Some(id_of(&s, "orig")));
    // As if it had joined the story only at the end of the sync.
    s.conn.execute("UPDATE entries SET read_at = NULL WHERE entry_key IN ('late', 'copy')", []).unwrap();
    // The site's posts make its footer boilerplate: the original waits to
    // be compared again, and its story is regrouped at the end.
    let news = [
        "Officials approved the new harbour budget on Monday after a long debate about dredging costs and the fishing fleet.",
        "The railway line to the northern valleys will reopen in spring, engineers said, once the landslide damage is repaired.",
        "Farmers in the eastern district reported a record wheat harvest this year thanks to late rains and new irrigation canals.",
    ];
    let posts: Vec<TaggedEntry> =
        news.iter().enumerate().map(|(i, n)| e(&format!("post{i}"), &format!("{n}\n\n{footer}"))).collect();
    s.save_feed(f[0], &FetchState::default(), &posts, at(3)).unwrap();
    assert!(s.settle(before_sync, at(3)).unwrap() > 0);
    let read = |s: &Store, key: &str| -> bool {
        s.conn.query_row("SELECT read_at IS NOT NULL FROM entries WHERE entry_key = ?1", [key], |r| r.get(0)).unwrap()
    };
    assert_eq!(dup_of(&s, "late"), Some(id_of(&s, "orig")));
    assert!(read(&s, "late"), "stored by the sync: read with its story");
    assert!(!read(&s, "copy"), "stored before the sync: left as it was");
}

/// Dropping old keys is one transaction: key by key in autocommit, each
/// delete appended its pages to the write-ahead log again (a sync defers its
/// checkpoint to its end), and the log grew to ten times the database.
#[test]
fn old_lookup_keys_are_dropped_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_at(&dir.path().join("syndic.db")).unwrap();
    let f = s.upsert_feeds(&[("https://f.example/feed".into(), None)]).unwrap()[0].id;
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let batch: Vec<TaggedEntry> = (0..200i64)
        .map(|i| {
            let mut e = entry(&format!("e{i}"), Some(&format!("https://x/{i}")), &format!("{TEXT} Item {i}."), 1);
            e.entry.published = day(if i == 0 { 100 } else { i % 20 });
            e
        })
        .collect();
    s.save_feed(f, &FetchState::default(), &batch, day(100)).unwrap();
    s.defer_checkpoints().unwrap();
    // An empty log, then the frames the drop appends to it.
    s.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let dropped = s.forget_old_keys(day(100)).unwrap();
    let frames: i64 = s.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)).unwrap();
    assert!(dropped > 1000, "{dropped}");
    assert!(frames < 200, "{dropped} keys dropped in {frames} pages of log");
}

/// An entry whose date changes moves its keys: from a forgotten day to a
/// recent one it is filed again, to a forgotten day its keys go; no key row
/// is ever left behind under a day its entry is no longer on.
#[test]
fn an_entry_moving_days_moves_its_lookup_keys() {
    let (mut s, f) = store_with_feeds(1);
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, d: i64| {
        let mut e = entry(key, Some(&format!("https://x/{key}")), &format!("{TEXT} About {key}."), 1);
        e.entry.published = day(d);
        e
    };
    let keys_of = |s: &Store, key: &str| -> i64 {
        s.conn
            .query_row(
                "SELECT COUNT(*) FROM (SELECT * FROM dedup_keys UNION ALL SELECT * FROM dedup_keys_staged) WHERE entry_id = (SELECT id FROM entries WHERE entry_key = ?1)",
                [key],
                |r| r.get(0),
            )
            .unwrap()
    };
    let stray = |s: &Store| -> i64 {
        s.conn
            .query_row(
                "SELECT COUNT(*) FROM (SELECT * FROM dedup_keys UNION ALL SELECT * FROM dedup_keys_staged) k WHERE NOT EXISTS
                   (SELECT 1 FROM fingerprints p WHERE p.entry_id = k.entry_id AND p.day = k.day)",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    s.save_feed(f[0], &FetchState::default(), &[dated("old", 0), dated("new", 100)], day(100)).unwrap();
    s.forget_old_keys(day(100)).unwrap();
    assert_eq!(keys_of(&s, "old"), 0);
    let filed = keys_of(&s, "new");
    assert!(filed > 0);
    // Redated into the recent weeks: filed again.
    s.save_feed(f[0], &FetchState::default(), &[dated("old", 99)], day(100)).unwrap();
    assert!(keys_of(&s, "old") > 0);
    // Redated again in the same sync: its keys staged for day 99 move too.
    s.save_feed(f[0], &FetchState::default(), &[dated("old", 98)], day(100)).unwrap();
    assert_eq!(stray(&s), 0);
    // Redated into forgotten days: its keys move there for the rest of the
    // sync, and go at its end.
    s.save_feed(f[0], &FetchState::default(), &[dated("new", 1)], day(100)).unwrap();
    assert_eq!(keys_of(&s, "new"), filed);
    assert_eq!(stray(&s), 0);
    s.forget_old_keys(day(100)).unwrap();
    assert_eq!(keys_of(&s, "new"), 0);
    assert_eq!(stray(&s), 0);
    // A rebuild files everything; the next drop leaves only the recent ones.
    s.rebuild_dedup().unwrap();
    assert_eq!(keys_of(&s, "new"), filed);
    s.forget_old_keys(day(100)).unwrap();
    assert_eq!((keys_of(&s, "new"), stray(&s)), (0, 0));
    assert!(keys_of(&s, "old") > 0);
}

#[test]
fn paragraph_counts_keep_a_sample_of_the_entries_that_carry_a_paragraph() {
    // One upsert per paragraph (store::dedup::count_paragraphs): counted
    // every time, the entry added to the sample while it has room.
    let (s, f) = store_with_feeds(1);
    let reduced = dedup::reduce("A footer paragraph that every post of this site carries at its end.");
    let key = reduced.paragraph_keys()[0];
    // Across a sync's end: the counts staged, merged, staged again from
    // the merged row (store::dedup::merge_staged), merged again.
    for id in 1..=12 {
        super::dedup::count_paragraphs(&s.conn, super::dedup::Merged::BOTH, f[0].0, id, &reduced).unwrap();
        if id == 5 || id == 12 {
            super::dedup::merge_staged(&s.conn).unwrap();
        }
    }
    let (n, sample): (i64, Vec<u8>) = s
        .conn
        .query_row("SELECT entries, sample FROM paragraph_counts WHERE hash = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(n, 12);
    assert_eq!(super::dedup::ids_from_blob(&sample), (1..=dedup::BOILERPLATE_SAMPLES as i64).collect::<Vec<_>>());
    assert_eq!(sample.len(), dedup::BOILERPLATE_SAMPLES, "one byte an id below 128");
}

#[test]
fn a_sync_stages_its_keys_and_paragraph_counts_and_a_merge_moves_them_into_the_large_tables() {
    use rusqlite::OptionalExtension;
    // A sync's transactions write copy detection's rows into small staged
    // tables (store::dedup::merge_staged); its end merges them into the
    // large ones. Both are read meanwhile, and a count staged again starts
    // from the merged one.
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let footer = "Follow the F0 Chronicle on social media for more news from Islamabad and Beijing every day.";
    let news = [
        paragraphs.join("\n\n"),
        "Officials approved the new harbour budget on Monday after a long debate about dredging costs and the fishing fleet.".into(),
        "The railway line to the northern valleys will reopen in spring, engineers said, once the landslide damage is repaired.".into(),
    ];
    let post =
        |i: usize| entry(&format!("a{i}"), Some(&format!("https://x/a{i}")), &format!("{}\n\n{footer}", news[i]), 1);
    let (mut s, f) = store_with_feeds(2);
    let count = |s: &Store, table: &str| -> i64 {
        s.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    };
    let now = at(1);
    s.save_feed(f[0], &FetchState::default(), &[post(0), post(1)], now).unwrap();
    assert_eq!((count(&s, "dedup_keys"), count(&s, "paragraph_counts")), (0, 0), "nothing written to the large tables");
    let staged_keys = count(&s, "dedup_keys_staged");
    assert!(staged_keys > 0 && count(&s, "paragraph_counts_staged") > 0);
    s.forget_old_keys(now).unwrap();
    assert_eq!((count(&s, "dedup_keys_staged"), count(&s, "paragraph_counts_staged")), (0, 0));
    assert_eq!(count(&s, "dedup_keys"), staged_keys);
    // The footer, counted twice, then once more (staged again from the
    // merged row): boilerplate at the third, as if never merged.
    let key = dedup::reduce(footer).paragraph_keys()[0];
    let footer_count = |s: &Store, table: &str| -> Option<(i64, i64)> {
        s.conn
            .query_row(
                &format!("SELECT entries, boilerplate FROM {table} WHERE hash = ?1 AND feed_id = ?2"),
                [key, f[0].0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .unwrap()
    };
    assert_eq!(footer_count(&s, "paragraph_counts"), Some((2, 0)));
    s.save_feed(f[0], &FetchState::default(), &[post(2)], now).unwrap();
    assert_eq!(footer_count(&s, "paragraph_counts_staged"), Some((3, 1)), "counted on from the merged row");
    assert_eq!(footer_count(&s, "paragraph_counts"), Some((2, 0)), "merged at the end only");
    assert!(s.learnt.set.contains(&key));
    // An edited copy of the first post on another site finds it through
    // the merged keys.
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    s.save_feed(f[1], &FetchState::default(), &[entry("copy", Some("https://y/copy"), &copy, 1)], now).unwrap();
    assert_eq!(dup_of(&s, "copy"), Some(id_of(&s, "a0")));
    // Doctor tells of rows staged.
    let doctor = |s: &Store| s.doctor().unwrap().into_iter().find(|c| c.name == "copy detection").unwrap();
    assert!(doctor(&s).ok && doctor(&s).detail.contains("paragraph counts staged"), "{:?}", doctor(&s));
    s.forget_old_keys(now).unwrap();
    assert_eq!(footer_count(&s, "paragraph_counts"), Some((3, 1)));
    assert_eq!(footer_count(&s, "paragraph_counts_staged"), None);
    // (The exact keys of a small store wait, store::dedup::EXACT_MERGE_MIN:
    // the usual state, not reported.)
    assert_eq!(doctor(&s).detail, "no entries waiting to be compared again");
}

// See: issue 11 ("Store text once"): a database of schema 7 keeps every
// entry's texts through migration 008, None apart from empty.
#[test]
fn a_version_7_database_migrates_its_texts_into_packed_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v7.db");
    let content = "The China-Pakistan Economic Corridor carries 中巴经济走廊 trade.\n\nA second paragraph.";
    type Row<'a> = (i64, &'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let rows: [Row; 4] = [
        (1, "Full", Some("A summary."), Some(content), Some("<p>A summary.</p>"), Some("<p>The China…</p>")),
        (2, "Summary only", Some("Only a summary of the corridor."), None, Some("<p>Only…</p>"), None),
        (3, "Empty", Some(""), None, None, Some("")),
        (4, "Nothing", None, None, None, None),
    ];
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..7] {
            schema::apply(&tx, sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 7).unwrap();
        tx.execute("INSERT INTO feeds (id, url, name) VALUES (1, 'https://f.example/feed', 'F')", []).unwrap();
        for (id, title, st, ct, sh, ch) in rows {
            tx.execute(
                "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at,
                        summary_text, content_text, summary_html, content_html)
                 VALUES (?1, 1, ?1, ?2, ?1, 'published', 1, 1, ?3, ?4, ?5, ?6)",
                params![id, title, st, ct, sh, ch],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO entries_fts (rowid, title, summary, content) VALUES (?1, ?2, ?3, ?4)",
                params![id, title, st.unwrap_or(""), ct.unwrap_or("")],
            )
            .unwrap();
        }
        tx.execute("DELETE FROM filter_queue", []).unwrap();
        tx.commit().unwrap();
    }

    let s = Store::open_at(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let columns: Vec<String> = s
        .conn
        .prepare("SELECT name FROM pragma_table_info('entries')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(columns.contains(&"body".to_owned()) && columns.contains(&"text_len".to_owned()), "{columns:?}");
    assert!(!columns.iter().any(|c| c.ends_with("_text") || c.ends_with("_html")), "{columns:?}");
    for (id, title, st, ct, sh, ch) in rows {
        let stored: Option<Vec<u8>> =
            s.conn.query_row("SELECT body FROM entries WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        let own = |x: Option<&str>| x.map(str::to_owned);
        let texts =
            body::Texts { summary_text: own(st), content_text: own(ct), summary_html: own(sh), content_html: own(ch) };
        match stored {
            Some(stored) => assert_eq!(body::unpack(&stored).unwrap(), texts, "{title}"),
            None => assert_eq!(texts, body::Texts::default(), "{title}: only a row without text has no body"),
        }
        let shown = s.entry(EntryId(id)).unwrap().unwrap();
        assert_eq!(shown.text, ct.or(st).unwrap_or(""), "{title}");
        assert_eq!(shown.content_html.as_deref(), ch.or(sh), "{title}");
        let text_len: i64 = s.conn.query_row("SELECT text_len FROM entries WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        assert_eq!(text_len as usize, ct.or(st).unwrap_or("").chars().count(), "{title}");
        let facts = super::dedup::facts(&s.conn, id).unwrap().unwrap();
        assert_eq!(facts.body, ct.or(st).unwrap_or(""), "{title}");
    }
    // Listed summaries and search snippets come from the packed texts.
    let listed = s.list(&ListQuery { limit: 10, all: true, ..ListQuery::default() }).unwrap();
    let summary = |title: &str| listed.iter().find(|r| r.title == title).unwrap().summary.clone();
    assert_eq!(summary("Full"), "A summary.");
    assert_eq!(summary("Summary only"), "Only a summary of the corridor.");
    assert_eq!(summary("Nothing"), "");
    let hits = s.search("\"corridor\"", "corridor", &ListQuery { limit: 10, ..ListQuery::default() }).unwrap();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.snippet.to_lowercase().contains("corridor")), "{hits:?}");
    // Packing changed no text: no entry was queued for the filters (since
    // migration 019 the store queues changed entries itself, no trigger).
    let queued = |s: &Store| s.conn.query_row("SELECT COUNT(*) FROM filter_queue", [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(queued(&s), 0);
    let triggers: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%filter_queue%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(triggers, 0);
    assert!(s.integrity_check().unwrap().is_empty());
}

#[test]
fn a_damaged_body_is_shown_without_its_text_and_never_a_panic() {
    let (mut s, f) = store_with_feeds(1);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", None, TEXT, 1)], at(3)).unwrap();
    let id = id_of(&s, "a");
    let good: Vec<u8> = s.conn.query_row("SELECT body FROM entries WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    let bad_values: [rusqlite::types::Value; 4] = [
        vec![9u8, 1, 2].into(),
        good[..good.len() / 2].to_vec().into(),
        vec![].into(),
        String::from("text, not a blob").into(),
    ];
    for bad in bad_values {
        s.conn.execute("UPDATE entries SET body = ?2 WHERE id = ?1", params![id, bad]).unwrap();
        // Shown without its text, flagged: one bad row hides nothing else.
        let d = s.entry(EntryId(id)).unwrap().unwrap();
        assert!(d.row.text_damaged && d.text.is_empty() && d.content_html.is_none(), "{d:?}");
        assert_eq!(d.row.title, "Title a");
        let rows = s.list(&ListQuery { limit: 5, ..ListQuery::default() }).unwrap();
        assert!(rows.len() == 1 && rows[0].text_damaged, "{rows:?}");
        let doctor = s.doctor().unwrap().into_iter().find(|c| c.name == "entry texts").unwrap();
        assert!(!doctor.ok && doctor.detail.starts_with(&format!("1 entry whose stored text is damaged ({id}: ")));
        // Copy detection and the search index get by without the text.
        assert_eq!(super::dedup::facts(&s.conn, id).unwrap().unwrap().body, "");
        // Repaired: the text dropped, the entry judged again by the filters
        // on what is left of it.
        s.conn.execute("DELETE FROM filter_queue", []).unwrap();
        s.repair().unwrap();
        let queued: Vec<i64> = s
            .conn
            .prepare("SELECT entry_id FROM filter_queue")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(queued, [id]);
    }
}

#[test]
fn a_damaged_fingerprint_is_reported_filed_again_when_its_entry_changes_and_repaired() {
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", None, TEXT, 1)], at(3)).unwrap();
    s.save_feed(f[1], &FetchState::default(), &[entry("b", None, TEXT, 1)], at(3)).unwrap();
    let id = id_of(&s, "a");
    let fingerprints =
        |s: &Store| s.doctor().unwrap().into_iter().filter(|c| c.name == "fingerprints").collect::<Vec<_>>();
    assert!(fingerprints(&s).iter().all(|c| c.ok), "{:?}", fingerprints(&s));
    // The lookup key rows of entry a, and the keys its fingerprint lists.
    let key_rows = |s: &Store| -> (i64, usize) {
        let rows = s
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM dedup_keys WHERE entry_id = ?1)
                      + (SELECT COUNT(*) FROM dedup_keys_staged WHERE entry_id = ?1)",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        let listed: Vec<u8> =
            s.conn.query_row("SELECT keys FROM fingerprints WHERE entry_id = ?1", [id], |r| r.get(0)).unwrap();
        let mut listed = dedup::decode_keys(&listed);
        listed.sort_unstable();
        listed.dedup();
        (rows, listed.len())
    };
    let (rows, listed) = key_rows(&s);
    assert!(rows > 0 && rows as usize == listed, "{rows} {listed}");
    let damage: [(&str, rusqlite::types::Value); 5] = [
        ("data", String::from("text, not a blob").into()),
        ("data", vec![0xffu8; 7].into()),
        ("keys", rusqlite::types::Value::Integer(5)),
        ("keys", vec![1u8, 2, 3].into()),
        ("day", String::from("x").into()),
    ];
    for (column, bad) in damage {
        s.conn
            .execute(&format!("UPDATE fingerprints SET {column} = ?2 WHERE entry_id = ?1"), params![id, bad])
            .unwrap();
        let check = fingerprints(&s).into_iter().find(|c| !c.ok).expect("reported");
        assert!(check.detail.starts_with("1 damaged fingerprints"), "{}", check.detail);
        // The entry changes at its source: its fingerprint is filed again,
        // the sync does not fail on the row it cannot read.
        // A text of other words: other keys, which the old ones must not
        // outlive.
        let changed = format!(
            "Officials in Islamabad said on Monday that the second phase of the corridor would turn to \
             farming and special economic zones, after talks on the port of Gwadar ({column})."
        );
        s.save_feed(f[0], &FetchState::default(), &[entry("a", None, &changed, 1)], at(4)).unwrap();
        assert!(fingerprints(&s).iter().all(|c| c.ok), "{column}: {:?}", fingerprints(&s));
        // No key of the old text is left behind, though the row did not
        // say which they were.
        let (rows, listed) = key_rows(&s);
        assert_eq!(rows as usize, listed, "{column}: key rows of the entry against the keys it lists");
        // And once more, repaired by doctor --repair.
        s.conn
            .execute(&format!("UPDATE fingerprints SET {column} = ?2 WHERE entry_id = ?1"), params![id, "x"])
            .unwrap();
        assert!(fingerprints(&s).iter().any(|c| !c.ok));
        s.repair().unwrap();
        assert!(fingerprints(&s).iter().all(|c| c.ok), "{column} repaired: {:?}", fingerprints(&s));
        s.save_feed(f[0], &FetchState::default(), &[entry("a", None, TEXT, 1)], at(5)).unwrap();
    }
    let b = id_of(&s, "b");
    assert!(dup_of(&s, "b") == Some(id) || dup_of(&s, "a") == Some(b), "one story still");
    // Pruned with its keys unreadable: the entry and every key of it go.
    s.conn.execute("UPDATE fingerprints SET keys = 'x' WHERE entry_id = ?1", [id]).unwrap();
    assert_eq!(s.prune(at(20), at(20), false).unwrap(), 2);
    let left: i64 = s
        .conn
        .query_row("SELECT (SELECT COUNT(*) FROM dedup_keys) + (SELECT COUNT(*) FROM dedup_keys_staged)", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_changed_text_is_an_update_and_another_packing_of_the_same_text_is_not() {
    let (mut s, f) = store_with_feeds(1);
    let save = |s: &mut Store, e: TaggedEntry| s.save_feed(f[0], &FetchState::default(), &[e], at(4)).unwrap();
    save(&mut s, entry("a", None, TEXT, 1));
    let id = id_of(&s, "a");
    let changed = entry("a", None, "A corrected text, long enough to be a story of its own.", 1);
    assert_eq!(save(&mut s, changed.clone()).updated, 1);
    assert_eq!(s.entry(EntryId(id)).unwrap().unwrap().text, "A corrected text, long enough to be a story of its own.");
    assert_eq!(save(&mut s, changed.clone()).updated, 0);
    // The same texts packed otherwise (another codec, level or syndic
    // version): the HTML is compared, nothing is rewritten.
    let e = &changed.entry;
    let texts = body::Texts {
        summary_text: e.summary_text.clone(),
        content_text: e.content_text.clone(),
        summary_html: e.summary_html.clone(),
        content_html: e.content_html.clone(),
    };
    let mut stored = vec![body::STORED];
    for t in [&texts.summary_text, &texts.content_text, &texts.summary_html, &texts.content_html] {
        stored.push(t.as_ref().map_or(0, |t| t.len() as u8 + 1));
    }
    for t in [&texts.summary_text, &texts.content_text, &texts.summary_html, &texts.content_html].into_iter().flatten()
    {
        stored.extend_from_slice(t.as_bytes());
    }
    assert_eq!(body::unpack(&stored).unwrap(), texts);
    s.conn.execute("UPDATE entries SET body = ?2 WHERE id = ?1", params![id, stored]).unwrap();
    assert_eq!(save(&mut s, changed).updated, 0);
}

/// Comparison data computed by a parse worker before boilerplate is known
/// (and lightened) leads to the same fingerprints and stories as data the
/// store computes itself: the writer recomputes it from the entry's text
/// when a footer turns out to be boilerplate within the batch.
#[test]
fn worker_comparison_data_gives_what_the_store_computes() {
    let footer = "Follow the Lakeside Chronicle on social media for more news from the region every day.";
    let articles = [
        "Officials approved the new harbour budget on Monday after a long debate about dredging costs and the fishing fleet.",
        "The railway line to the northern valleys will reopen in spring, engineers said, once the landslide damage is repaired.",
        "Farmers in the eastern district reported a record wheat harvest this year thanks to late rains and new irrigation canals.",
        "A new school for three hundred pupils opened in the old market quarter, funded by the city and two local charities.",
    ];
    // A worker's guess of the boilerplate: none, right (the footer), wrong
    // (a paragraph of the article, or one the store does not know).
    let first_paragraph = dedup::reduce(articles[0]).paragraph_keys()[0];
    let footer_key = dedup::reduce(footer).paragraph_keys()[0];
    let batch = |guess: Option<&[i64]>| -> Vec<TaggedEntry> {
        articles
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let text = format!("{a}\n\n{footer}");
                let e = entry(&format!("p{i}"), Some(&format!("https://x/{i}")), &text, 1);
                match guess {
                    Some(keys) => {
                        let c = dedup::Comparison::new(dedup::reduce(&text), |k| keys.contains(&k)).lighten();
                        e.with_comparison(c)
                    }
                    None => e,
                }
            })
            .collect()
    };
    let fingerprints = |s: &Store| -> Vec<(i64, Vec<u8>, Vec<u8>)> {
        s.conn
            .prepare("SELECT entry_id, data, keys FROM fingerprints ORDER BY entry_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let (mut by_store, f) = store_with_feeds(1);
    by_store.save_feed(f[0], &FetchState::default(), &batch(None), at(3)).unwrap();
    assert!(by_store.learnt.set.contains(&footer_key), "the footer was learnt as boilerplate");
    let guesses: [&[i64]; 4] = [&[], &[footer_key], &[footer_key, first_paragraph], &[first_paragraph, 42]];
    for guess in guesses {
        let (mut by_worker, g) = store_with_feeds(1);
        by_worker.save_feed(g[0], &FetchState::default(), &batch(Some(guess)), at(3)).unwrap();
        assert_eq!(fingerprints(&by_worker), fingerprints(&by_store), "guessed {guess:?}");
    }
}

/// A sync defers checkpoints, but not without bound: once the log holds
/// the limit, the next commit checkpoints it (and the log starts over).
#[test]
fn the_write_ahead_log_of_a_long_sync_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syndic.db");
    let wal_len = || std::fs::metadata(dir.path().join("syndic.db-wal")).map_or(0, |m| m.len());
    let peak = |limit: i64| {
        let _ = std::fs::remove_file(&path);
        let mut s = Store::open_at(&path).unwrap();
        let f = s.upsert_feeds(&[("https://f.example/feed".into(), None)]).unwrap()[0].id;
        s.defer_checkpoints_until(limit).unwrap();
        let mut peak = 0;
        for round in 0..30 {
            let batch: Vec<TaggedEntry> = (0..20)
                .map(|i| {
                    let n = round * 20 + i;
                    entry(&format!("e{n}"), Some(&format!("https://x/{n}")), &format!("{TEXT} Item {n}."), 1)
                })
                .collect();
            s.save_feed(f, &FetchState::default(), &batch, at(3)).unwrap();
            peak = peak.max(wal_len());
        }
        peak
    };
    let unbounded = peak(0);
    let bounded = peak(50);
    assert!(bounded < 200 * 4096, "log peaked at {bounded} bytes with a 50-page limit");
    assert!(unbounded > 2 * bounded, "unbounded {unbounded}, bounded {bounded}");
    assert_eq!(super::entries::MAX_WAL_PAGES * 4096, 64 << 20);
}

/// Past the keys' horizon the members of a large story keep their
/// fingerprints (each sync touching the story reads them all; computing a
/// 400-member story's again made such a sync four times slower); a late
/// copy joining it finds them stored, and its own is kept too.
#[test]
fn a_large_storys_members_keep_their_fingerprints() {
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let n = super::dedup::KEEP_FINGERPRINTS_STORY;
    let (mut s, f) = store_with_feeds(n + 1);
    let original = format!("{TEXT} The original report.");
    for (i, feed) in f.iter().take(n).enumerate() {
        let mut e = entry(&format!("m{i}"), Some("https://x/orig"), &format!("{original} Copy {i}."), 1);
        e.entry.published = day(i as i64 % 3);
        s.save_feed(*feed, &FetchState::default(), &[e], day(100)).unwrap();
    }
    let mut lone = entry("lone", Some("https://x/lone"), "Quetta: the assembly met to discuss the water budget.", 1);
    lone.entry.published = day(1);
    let mut recent = entry("recent", Some("https://x/recent"), "Lahore: rain is expected across Punjab this week.", 1);
    recent.entry.published = day(100);
    s.save_feed(f[n], &FetchState::default(), &[lone, recent], day(100)).unwrap();
    s.forget_old_keys(day(100)).unwrap();
    let count = |s: &Store, sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let members = "SELECT COUNT(*) FROM fingerprints p JOIN entries e ON e.id = p.entry_id WHERE e.entry_key LIKE 'm%'";
    assert_eq!(count(&s, members), n as i64, "every member keeps its fingerprint");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM entries WHERE duplicate_of IS NOT NULL"), n as i64 - 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM fingerprints"), n as i64 + 1, "the lone old entry's is dropped");
    // A late copy joins the story: its fingerprint is kept with the others.
    let mut late = entry("late", Some("https://x/orig"), &format!("{original} Late."), 1);
    late.entry.published = day(2);
    s.save_feed(f[0], &FetchState::default(), &[late], day(100)).unwrap();
    assert_eq!(count(&s, "SELECT COUNT(*) FROM entries WHERE duplicate_of IS NOT NULL"), n as i64);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM fingerprints"), n as i64 + 2);
}

/// Migration 012: stored feed URLs lose their #fragment (feeds.toml URLs are
/// read without it), keeping each feed's entries; of rows that differ only
/// by their fragments the one fetched last takes the bare URL, and a row
/// whose bare URL is taken keeps its own.
#[test]
fn migration_012_strips_feed_url_fragments_without_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v11.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..11] {
            schema::apply(&tx, sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 11).unwrap();
        // (b#x was edited to b#y in feeds.toml: b#y is the one fetched last.)
        for (id, url, last_attempt) in [
            (1, "https://a.example/feed#top", None),
            (2, "https://b.example/feed#x", Some(100)),
            (3, "https://b.example/feed#y", Some(200)),
            (4, "https://c.example/feed", None),
            (5, "https://c.example/feed#z", Some(300)),
            (6, "https://d.example/feed?q=1", None),
        ] {
            tx.execute("INSERT INTO feeds (id, url, last_attempt) VALUES (?1, ?2, ?3)", params![id, url, last_attempt])
                .unwrap();
        }
        tx.execute(
            "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at)
             VALUES (1, 1, 'k', 'T', 1, 'published', 1, 1)",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open_at(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let urls: Vec<(i64, String)> = s
        .conn
        .prepare("SELECT id, url FROM feeds ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let expected = [
        (1, "https://a.example/feed"),
        (2, "https://b.example/feed#x"),
        (3, "https://b.example/feed"),
        (4, "https://c.example/feed"),
        (5, "https://c.example/feed#z"),
        (6, "https://d.example/feed?q=1"),
    ];
    assert_eq!(urls, expected.map(|(i, u)| (i, u.to_owned())));
    let feed_of_entry: i64 = s.conn.query_row("SELECT feed_id FROM entries WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(feed_of_entry, 1);
}

/// Migration 013: an entry id is never given to another entry, not even
/// after the newest entries are deleted (a feed purged, a late entry pruned).
#[test]
fn entry_ids_are_never_given_twice() {
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", None, TEXT, 2)], at(3)).unwrap();
    let other = |k: &str| entry(k, None, &format!("Another story, number {k}, long enough to stand alone."), 2);
    s.save_feed(f[1], &FetchState::default(), &[other("b"), other("c")], at(3)).unwrap();
    let (a, c) = (id_of(&s, "a"), id_of(&s, "c"));
    assert!(c > a);
    // The newest entries go with their feed.
    assert!(s.purge_feed("https://f1.example/feed").unwrap().is_some());
    s.save_feed(f[0], &FetchState::default(), &[other("d")], at(4)).unwrap();
    let d = id_of(&s, "d");
    assert!(d > c, "d got {d}, c had {c}");
    // And the newest one pruned.
    let mut late = other("e");
    late.entry.published = at(1);
    s.save_feed(f[0], &FetchState::default(), &[late], at(4)).unwrap();
    let e = id_of(&s, "e");
    assert_eq!(s.prune(at(2), at(4), false).unwrap(), 1);
    s.save_feed(f[0], &FetchState::default(), &[other("g")], at(4)).unwrap();
    assert!(id_of(&s, "g") > e);
}

/// Migration 015: entries are found by a hash of their link; a store from
/// before it gets the hashes of the links it holds, so that a copy carrying
/// an old entry's link is still found by it.
#[test]
fn migration_015_keys_stored_links_and_copies_are_found_by_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v14.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..14] {
            schema::apply(&tx, sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 14).unwrap();
        for (id, url) in [(1, "https://a.example/feed"), (2, "https://b.example/feed")] {
            tx.execute("INSERT INTO feeds (id, url) VALUES (?1, ?2)", params![id, url]).unwrap();
        }
        for (id, url) in [(1, Some("https://news.example/story-1")), (2, None), (3, Some("https://news.example/s-3"))] {
            tx.execute(
                "INSERT INTO entries (id, feed_id, entry_key, title, url, published, date_source, first_seen, updated_at,
                        body)
                 VALUES (?1, 1, ?2, 'Old story', ?3, ?4, 'published', ?4, ?4, ?5)",
                params![
                    id,
                    format!("k{id}"),
                    url,
                    at(1).timestamp(),
                    body::pack(&body::Texts { content_text: Some(format!("{TEXT} {id}")), ..Default::default() })
                        .as_bytes()
                ],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let mut s = Store::open_at(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let keys: Vec<(i64, Option<i64>)> = s
        .conn
        .prepare("SELECT id, url_key FROM entries ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        keys,
        [
            (1, Some(entries::url_key("https://news.example/story-1"))),
            (2, None),
            (3, Some(entries::url_key("https://news.example/s-3")))
        ]
    );
    // (The first sync after an upgrade fingerprints the old entries.)
    s.ensure_dedup_current().unwrap();
    // Another feed carrying the first story's link: a copy, by link.
    let copy = entry("copy", Some("https://news.example/story-1"), "A different text altogether.", 2);
    s.save_feed(FeedId(2), &FetchState::default(), &[copy], at(3)).unwrap();
    assert_eq!(dup_of(&s, "copy"), Some(1));
    let reason: String =
        s.conn.query_row("SELECT dup_reason FROM entries WHERE entry_key = 'copy'", [], |r| r.get(0)).unwrap();
    assert_eq!(reason, "link");
}

/// Two links with the same key (a hash collision, forged here) are told
/// apart: a lookup by link compares the links themselves.
#[test]
fn entries_with_the_same_link_key_but_other_links_are_not_copies() {
    let (mut s, f) = store_with_feeds(2);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", Some("https://x.example/a"), TEXT, 2)], at(3)).unwrap();
    let key = entries::url_key("https://x.example/b");
    s.conn.execute("UPDATE entries SET url_key = ?1 WHERE entry_key = 'a'", [key]).unwrap();
    let other = entry("b", Some("https://x.example/b"), "Another story altogether, long enough to stand alone.", 2);
    s.save_feed(f[1], &FetchState::default(), &[other], at(3)).unwrap();
    assert_eq!(dup_of(&s, "b"), None);
}

/// A summary that is an excerpt of the content is not indexed again (its
/// words are found through the content); a summary of its own words is.
#[test]
fn an_excerpt_summary_is_searched_through_the_content_and_a_standfirst_by_itself() {
    let (mut s, f) = store_with_feeds(1);
    // Built again with their summaries: a tagged entry's texts are final.
    let with_summary = |t: TaggedEntry, summary: String| {
        TaggedEntry::new(NewEntry { summary_text: Some(summary), ..t.entry }, t.topics)
    };
    let excerpt = with_summary(entry("excerpt", None, TEXT, 2), format!("{} […]", &TEXT[..80]));
    let standfirst = with_summary(
        entry("standfirst", None, "Another article body, about something else entirely: trains.", 2),
        "Kestrel sightings rise along the corridor.".into(),
    );
    s.save_feed(f[0], &FetchState::default(), &[excerpt, standfirst], at(3)).unwrap();
    let in_column = |column: &str, word: &str| -> Vec<i64> {
        s.conn
            .prepare("SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1 ORDER BY rowid")
            .unwrap()
            .query_map([format!("{{{column}}}: {word}")], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let (e, sf) = (id_of(&s, "excerpt"), id_of(&s, "standfirst"));
    assert_eq!(in_column("summary", "industries"), Vec::<i64>::new(), "the excerpt is not indexed as a summary");
    assert_eq!(in_column("content", "industries"), [e]);
    assert_eq!(in_column("summary", "kestrel"), [sf]);
    let q = ListQuery { limit: 10, ..ListQuery::default() };
    let hits = s.search("industries", "industries", &q).unwrap();
    assert_eq!(hits.iter().map(|h| h.row.id.0).collect::<Vec<_>>(), [e]);
    let hits = s.search("kestrel", "kestrel", &q).unwrap();
    assert_eq!(hits.iter().map(|h| h.row.id.0).collect::<Vec<_>>(), [sf]);
}

/// Compacting gives the pages entries freed back and keeps every row; a
/// store larger than the bound is left as it is.
#[test]
fn compacting_frees_pages_keeps_rows_and_respects_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syndic.db");
    let mut s = Store::open_at(&path).unwrap();
    let f = s.upsert_feeds(&[("https://f0.example/feed".into(), None)]).unwrap()[0].id;
    // Texts that do not compress: a few kilobytes of packed text each.
    let mut x: u64 = 5;
    let mut words = |n: usize| -> String {
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                format!("w{:x}", x >> 40)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let entries: Vec<_> = (0..200).map(|i| entry(&format!("k{i}"), None, &words(400), 1)).collect();
    s.save_feed(f, &FetchState::default(), &entries, at(3)).unwrap();
    s.conn.execute_batch("UPDATE entries SET body = NULL WHERE id % 2 = 0").unwrap();
    let before = s.file_bytes().unwrap();
    assert_eq!(s.compact_if_at_most(before - 1).unwrap(), None);
    assert_eq!(s.file_bytes().unwrap(), before);
    let (was, now) = s.compact_if_at_most(before).unwrap().expect("compacted");
    assert_eq!(was, before);
    assert!(now * 100 < before * 90, "{before} -> {now} bytes");
    assert_eq!(s.conn.query_row("SELECT COUNT(*) FROM entries", [], |r| r.get::<_, i64>(0)).unwrap(), 200);
    assert_eq!(s.conn.query_row("PRAGMA freelist_count", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
    // The store's settings are back: the page cache and the journal.
    assert_eq!(s.conn.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0)).unwrap(), super::CACHE_SIZE);
    assert_eq!(s.conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)).unwrap(), "wal");
    assert_eq!(s.conn.query_row("PRAGMA temp_store", [], |r| r.get::<_, i64>(0)).unwrap(), 2, "MEMORY");

    // Pending (asked for by a dictionary's training): done once; a failure
    // leaves it pending; a store over the bound is no longer asked to be.
    let pending = |s: &Store| s.meta("compact_pending").unwrap().is_some();
    assert_eq!(s.compact_if_pending(u64::MAX).unwrap(), None, "nothing pending");
    s.conn.execute("INSERT INTO meta (key, value) VALUES ('compact_pending', '3')", []).unwrap();
    s.conn.execute_batch("BEGIN").unwrap();
    assert!(s.compact_if_pending(u64::MAX).is_err(), "VACUUM cannot run in a transaction");
    s.conn.execute_batch("COMMIT").unwrap();
    assert_eq!(s.meta("compact_pending").unwrap().as_deref(), Some("2"), "one attempt fewer");
    assert_eq!(s.conn.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0)).unwrap(), super::CACHE_SIZE);
    assert!(s.compact_if_pending(u64::MAX).unwrap().is_some());
    assert!(!pending(&s));
    assert_eq!(s.compact_if_pending(u64::MAX).unwrap(), None);
    s.conn.execute("INSERT INTO meta (key, value) VALUES ('compact_pending', '1')", []).unwrap();
    assert_eq!(s.compact_if_pending(0).unwrap(), None);
    assert!(!pending(&s));
    // The last attempt failing: no longer asked for.
    s.conn.execute("INSERT INTO meta (key, value) VALUES ('compact_pending', '1')", []).unwrap();
    s.conn.execute_batch("BEGIN").unwrap();
    assert!(s.compact_if_pending(u64::MAX).is_err());
    s.conn.execute_batch("COMMIT").unwrap();
    assert!(!pending(&s));
}

/// Migration 016 keeps every paragraph count, under the upper half of its
/// key, with its sample of entries re-encoded: a footer a feed's entries
/// carried before is still known boilerplate for the entries after.
#[test]
fn migration_016_keeps_paragraph_counts_under_shorter_keys() {
    let footer = "Subscribe to our newsletter for the latest corridor news and analysis.";
    let old_key = dedup::paragraph_hash_before_016(footer).unwrap();
    let new_key = dedup::paragraph_hash(footer).unwrap();
    assert_eq!(new_key, old_key >> 32);
    assert!(i32::try_from(new_key).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v15.db");
    let old_ids = |ids: &[i64]| -> Vec<u8> { ids.iter().flat_map(|v| v.to_le_bytes()).collect() };
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..15] {
            schema::apply(&tx, sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 15).unwrap();
        for (id, url) in [(1, "https://a.example/feed"), (2, "https://b.example/feed")] {
            tx.execute("INSERT INTO feeds (id, url) VALUES (?1, ?2)", params![id, url]).unwrap();
        }
        let mut insert = tx
            .prepare("INSERT INTO paragraph_counts (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, ?4, ?5)")
            .unwrap();
        insert.execute(params![old_key, 1, 5, 1, old_ids(&[3, 70_000, 1 << 40])]).unwrap();
        // Two paragraphs of feed 2 whose keys become one, and one of feed 1.
        let twin = (0x1234_5678_i64 << 32) | 5;
        insert.execute(params![twin, 2, 1, 0, old_ids(&[11])]).unwrap();
        insert.execute(params![twin + 4, 2, 2, 1, old_ids(&[12, 13])]).unwrap();
        insert.execute(params![twin, 1, 1, 0, old_ids(&[14])]).unwrap();
        // A feed deleted without the cascade (foreign keys off, as in the
        // sqlite3 shell): its rows are left out, not a failed migration.
        insert.execute(params![twin, 3, 4, 1, old_ids(&[15])]).unwrap();
        // Three rows of one feed that become one: counts added (without
        // overflow), the samples joined and cut to 8, boilerplate from 2.
        let triple = 0x0fed_cba9_i64 << 32;
        for (i, n) in [(1, i64::MAX), (2, 5), (3, 9)] {
            let ids: Vec<i64> = (0..8).map(|j| 100 * i + j).collect();
            insert.execute(params![triple | i, 1, n, i64::from(i == 2) * 2, old_ids(&ids)]).unwrap();
        }
        // Values syndic never writes: left out, not a failed migration.
        insert.execute(params![0x0123_4567_i64 << 32, 1, 1, 0, "text, not a blob"]).unwrap();
        drop(insert);
        tx.commit().unwrap();
    }
    let s = Store::open_at(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let rows: Vec<(i64, i64, i64, i64, Vec<i64>)> = s
        .conn
        .prepare("SELECT hash, feed_id, entries, boilerplate, sample FROM paragraph_counts ORDER BY hash, feed_id")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, super::dedup::ids_from_blob(&r.get::<_, Vec<u8>>(4)?)))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut expected = vec![
        (new_key, 1, 5, 1, vec![3, 70_000, 1 << 40]),
        (0x1234_5678, 1, 1, 0, vec![14]),
        (0x1234_5678, 2, 3, 1, vec![11, 12, 13]),
        (0x0fed_cba9, 1, i64::MAX, 1, (100..108).collect()),
    ];
    expected.sort();
    assert_eq!(rows, expected);
    assert!(s.boilerplate_keys().unwrap().contains(&new_key));
    // The sample of ids in LEB128: 3 bytes for an id of a million entries.
    assert_eq!(super::dedup::ids_to_blob(&[1_000_000]).len(), 3);
    let ids = [0, 1, 127, 128, 1 << 40, i64::MAX];
    assert_eq!(super::dedup::ids_from_blob(&super::dedup::ids_to_blob(&ids)), ids);
    // A damaged end is left out, never a panic.
    assert_eq!(super::dedup::ids_from_blob(&[0x05, 0x80, 0x80]), [5]);
    assert_eq!(super::dedup::ids_from_blob(&[0xff; 20]), Vec::<i64>::new());
}

/// A fingerprint filed in an earlier form (format 2, 3-byte values) that is
/// computed again unchanged counts as unchanged: it is neither refiled nor
/// its entry unpaired and paired again (found by review: the bytes were
/// compared).
#[test]
fn an_unchanged_fingerprint_filed_in_an_earlier_form_is_left_as_it_is() {
    let (mut s, feeds) = store_with_feeds(1);
    let text = format!("{TEXT} {TEXT} More words about the corridor and its budget of 42 billion.");
    s.save_feed(feeds[0], &FetchState::default(), &[entry("a", None, &text, 3)], at(3)).unwrap();
    let id = id_of(&s, "a");
    let blob: Vec<u8> =
        s.conn.query_row("SELECT data FROM fingerprints WHERE entry_id = ?1", [id], |r| r.get(0)).unwrap();
    assert_eq!(blob[0], 3);
    let fp = dedup::Fingerprint::decode(&blob).unwrap();
    let mut old = vec![2u8, u8::from(fp.full) | (u8::from(fp.truncated) << 1)];
    for n in [fp.shingles, fp.words, fp.sample.len() as u32, fp.lead.len() as u32, fp.numbers.len() as u32] {
        let mut n = n;
        while n >= 0x80 {
            old.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        old.push(n as u8);
    }
    for v in fp.sample.iter().chain(&fp.lead).chain(&fp.numbers) {
        old.extend_from_slice(&v.to_le_bytes()[..3]);
    }
    assert_eq!(dedup::Fingerprint::decode(&old).as_ref(), Some(&fp));
    s.conn.execute("UPDATE fingerprints SET data = ?2 WHERE entry_id = ?1", params![id, old]).unwrap();
    let f = super::dedup::facts(&s.conn, id).unwrap().unwrap();
    let c = super::dedup::comparison(&s.conn, dedup::reduce(&f.body)).unwrap();
    assert_eq!(c.fingerprint, fp, "the same fingerprint is computed again");
    let filing = super::dedup::Filing::ThisSync { keys_from: super::dedup::keys_from(&s.conn).unwrap() };
    assert!(!super::dedup::write_fingerprint(&s.conn, &f, &c, false, filing).unwrap());
    let kept: Vec<u8> =
        s.conn.query_row("SELECT data FROM fingerprints WHERE entry_id = ?1", [id], |r| r.get(0)).unwrap();
    assert_eq!(kept, old);
}

#[test]
fn staged_rows_merge_into_the_larger_table_and_win_its_conflicts() {
    // store::dedup::merge_staged moves the fewer rows: the staged ones into
    // the large table, or, when that holds fewer (a new store's first
    // sync), its rows into the staged table, which then takes its name.
    // Either way a staged count replaces the large table's row.
    let (s, f) = store_with_feeds(1);
    let feed = f[0].0;
    let put = |table: &str, hash: i64, entries: i64, boilerplate: i64| {
        s.conn
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO {table} (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, ?4, x'01')"
                ),
                params![hash, feed, entries, boilerplate],
            )
            .unwrap();
    };
    let rows = |table: &str| -> Vec<(i64, i64, i64)> {
        s.conn
            .prepare(&format!("SELECT hash, entries, boilerplate FROM {table} ORDER BY hash"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let keys = |table: &str| -> Vec<(i64, i64, i64)> {
        s.conn
            .prepare(&format!("SELECT key, day, entry_id FROM {table} ORDER BY 1, 2, 3"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let key = |table: &str, k: i64| {
        s.conn.execute(&format!("INSERT INTO {table} (key, day, entry_id) VALUES (?1, 7, 1)"), [k]).unwrap();
    };
    // The large tables smaller: swapped.
    put("paragraph_counts", 1, 2, 0);
    put("paragraph_counts_staged", 1, 3, 1);
    put("paragraph_counts_staged", 2, 1, 0);
    put("paragraph_counts_staged", 3, 1, 0);
    key("dedup_keys", 10);
    key("dedup_keys_staged", 10);
    key("dedup_keys_staged", 11);
    let merged = super::dedup::merge_staged(&s.conn).unwrap();
    assert_eq!((merged.rows(), merged.counts_swapped), ((2, 3, 0), true));
    assert_eq!(rows("paragraph_counts"), vec![(1, 3, 1), (2, 1, 0), (3, 1, 0)]);
    assert_eq!(keys("dedup_keys"), vec![(10, 7, 1), (11, 7, 1)]);
    assert!(rows("paragraph_counts_staged").is_empty() && keys("dedup_keys_staged").is_empty());
    // The tables keep their partial indexes of boilerplate and their
    // feed's foreign key.
    for table in ["paragraph_counts", "paragraph_counts_staged"] {
        let indexes: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql LIKE '%boilerplate = 1%'",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 1, "{table}");
    }
    // The large tables larger: the staged rows move.
    put("paragraph_counts_staged", 2, 5, 1);
    key("dedup_keys_staged", 12);
    let merged = super::dedup::merge_staged(&s.conn).unwrap();
    assert_eq!((merged.rows(), merged.counts_swapped), ((1, 1, 0), false));
    assert_eq!(rows("paragraph_counts"), vec![(1, 3, 1), (2, 5, 1), (3, 1, 0)]);
    assert_eq!(keys("dedup_keys"), vec![(10, 7, 1), (11, 7, 1), (12, 7, 1)]);
    assert!(super::dedup::boilerplate_keys(&s.conn).unwrap().len() == 2);
    s.conn.execute("DELETE FROM feeds WHERE id = ?1", [feed]).unwrap();
    assert!(rows("paragraph_counts").is_empty(), "the feed's counts go with it");
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().rows(), (0, 0, 0), "nothing staged");
}

#[test]
fn staged_rows_wait_until_they_are_an_eighth_of_the_large_table() {
    use rusqlite::OptionalExtension;
    // store::dedup::merge_staged merges a table's staged rows once they are
    // MERGE_FRACTION of its rows: a merge visits nearly every page of the
    // large table however few rows it moves. Until then they are read as
    // they are, and a paragraph counted again counts on from its staged row.
    let (s, f) = store_with_feeds(1);
    let feed = f[0].0;
    assert_eq!(super::dedup::MERGE_FRACTION, (1, 8));
    let count =
        |table: &str| -> i64 { s.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap() };
    for k in 0..16 {
        s.conn.execute("INSERT INTO dedup_keys (key, day, entry_id) VALUES (?1, 7, 1)", [1000 + k]).unwrap();
        s.conn
            .execute(
                "INSERT INTO paragraph_counts (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, 1, 0, x'01')",
                params![1000 + k, feed],
            )
            .unwrap();
    }
    let footer = dedup::reduce("A footer paragraph that every post of this site carries at its end.");
    let key = footer.paragraph_keys()[0];
    let footer_count = |table: &str| -> Option<i64> {
        s.conn
            .query_row(&format!("SELECT entries FROM {table} WHERE hash = ?1"), [key], |r| r.get(0))
            .optional()
            .unwrap()
    };
    // One staged count and one staged key of 16: they wait.
    super::dedup::count_paragraphs(&s.conn, super::dedup::Merged::BOTH, feed, 1, &footer).unwrap();
    s.conn.execute("INSERT INTO dedup_keys_staged (key, day, entry_id) VALUES (1, 7, 1)", []).unwrap();
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().rows(), (0, 0, 0));
    assert_eq!((count("dedup_keys_staged"), count("paragraph_counts_staged")), (1, 1));
    // Counted on (the staged row, not the large table's, which has none).
    super::dedup::count_paragraphs(&s.conn, super::dedup::Merged::BOTH, feed, 2, &footer).unwrap();
    assert_eq!((footer_count("paragraph_counts_staged"), footer_count("paragraph_counts")), (Some(2), None));
    // Two of 16 are an eighth: merged.
    s.conn.execute("INSERT INTO dedup_keys_staged (key, day, entry_id) VALUES (2, 7, 1)", []).unwrap();
    s.conn
        .execute(
            "INSERT INTO paragraph_counts_staged (hash, feed_id, entries, boilerplate, sample) VALUES (3, ?1, 1, 0, x'01')",
            [feed],
        )
        .unwrap();
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().rows(), (2, 2, 0));
    assert_eq!((count("dedup_keys_staged"), count("paragraph_counts_staged")), (0, 0));
    assert_eq!((count("dedup_keys"), count("paragraph_counts")), (18, 18));
    assert_eq!(footer_count("paragraph_counts"), Some(2));
    // Whatever their number when asked to (dedup --rebuild's empty tables
    // merge through the same path).
    super::dedup::count_paragraphs(&s.conn, super::dedup::Merged::BOTH, feed, 3, &footer).unwrap();
    assert_eq!(super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap().rows(), (0, 1, 0));
    assert_eq!(footer_count("paragraph_counts"), Some(3));
}

#[test]
fn a_key_staged_by_an_earlier_sync_still_finds_its_copies() {
    // Staged rows left waiting by one sync's end (store::dedup::merge_staged)
    // are read by the next: its copies, boilerplate learnt across the two.
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let (mut s, f) = store_with_feeds(2);
    let now = at(1);
    // A store whose large tables are much larger than one entry's rows.
    let filler: Vec<TaggedEntry> = (0..40)
        .map(|i| {
            let text = format!(
                "Filler story {i} about the weather in valley {i}: rain on day {i}, sun after, and the river at {i} metres."
            );
            entry(&format!("filler{i}"), Some(&format!("https://x/filler{i}")), &text, 1)
        })
        .collect();
    s.save_feed(f[0], &FetchState::default(), &filler, now).unwrap();
    s.forget_old_keys(now).unwrap();
    let staged =
        |s: &Store| -> i64 { s.conn.query_row("SELECT COUNT(*) FROM dedup_keys_staged", [], |r| r.get(0)).unwrap() };
    assert_eq!(staged(&s), 0, "the first sync's keys were merged");
    let original = paragraphs.join("\n\n");
    s.save_feed(f[0], &FetchState::default(), &[entry("orig", Some("https://x/orig"), &original, 1)], now).unwrap();
    s.forget_old_keys(now).unwrap();
    assert!(staged(&s) > 0, "one entry's keys wait");
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    s.save_feed(f[1], &FetchState::default(), &[entry("copy", Some("https://y/copy"), &copy, 1)], now).unwrap();
    assert_eq!(dup_of(&s, "copy"), Some(id_of(&s, "orig")));
}

#[test]
fn staged_keys_do_not_count_as_the_large_tables_when_choosing_to_keep_the_rest() {
    // store::dedup::forget_keys_between keeps the large table's survivors
    // in a new table when its keys to drop are half of it or more. Keys
    // staged by earlier syncs for the same days (they wait for a merge) are
    // dropped from the staged table and are no share of the large one.
    let (s, _) = store_with_feeds(1);
    s.conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let file = |id: i64, day: i64, table: &str| {
        let keys: Vec<i64> = (0..10).map(|k| id * 100 + k).collect();
        s.conn
            .execute(
                "INSERT INTO fingerprints (entry_id, data, keys, day) VALUES (?1, x'00', ?2, ?3)",
                params![id, dedup::encode_keys(&keys), day],
            )
            .unwrap();
        for k in keys {
            s.conn
                .execute(&format!("INSERT INTO {table} (key, day, entry_id) VALUES (?1, ?2, ?3)"), params![k, day, id])
                .unwrap();
        }
    };
    // The large table: 40 keys on day 5, 60 on day 20; staged: 40 on day 5.
    for id in 1..=4 {
        file(id, 5, "dedup_keys");
    }
    for id in 5..=10 {
        file(id, 20, "dedup_keys");
    }
    for id in 11..=14 {
        file(id, 5, "dedup_keys_staged");
    }
    let count = |sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let root = || count("SELECT rootpage FROM sqlite_schema WHERE name = 'dedup_keys'");
    let before = root();
    // Days 0 to 9 go: 80 keys listed, 40 of them the large table's, less
    // than half its 100: dropped one by one, the table kept.
    assert_eq!(super::dedup::forget_keys_between(&s.conn, 0, 0, 10).unwrap(), 80);
    assert_eq!(root(), before, "the large table was not copied");
    assert_eq!(count("SELECT COUNT(*) FROM dedup_keys"), 60);
    assert_eq!(count("SELECT COUNT(*) FROM dedup_keys WHERE day < 10"), 0);
    assert_eq!(count("SELECT COUNT(*) FROM dedup_keys_staged"), 0);
}

#[test]
fn lookups_that_skip_empty_large_tables_find_what_reading_both_finds() {
    // store::dedup::Merged: while a large table is empty (a new store's
    // first sync), the key lookups and paragraph counts read the staged
    // table alone; their results are those of reading both, and once a
    // sync's end has merged, the probe sees both tables hold rows.
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let (mut s, f) = store_with_feeds(2);
    let now = at(1);
    let original = paragraphs.join("\n\n");
    s.save_feed(f[0], &FetchState::default(), &[entry("orig", Some("https://x/orig"), &original, 1)], now).unwrap();
    let merged = super::dedup::Merged::probe(&s.conn).unwrap();
    assert_eq!((merged.keys, merged.counts), (false, false), "only staged rows before the sync's end");
    // The same lookups both ways: a copy's candidates, its paragraphs'
    // counts (in the other feed: their first).
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    let reduced = dedup::reduce(&copy);
    let c = dedup::Comparison::new(reduced.clone(), |_| false);
    // Found by its keys only: no link, text hash or title in common.
    let f0 = super::dedup::facts(&s.conn, id_of(&s, "orig")).unwrap().unwrap();
    let facts = super::dedup::Facts {
        id: -1,
        url: None,
        source_url: None,
        text_hash: None,
        title: "Another headline".into(),
        ..f0
    };
    let narrowed = DedupSettings { merged, ..DedupSettings::default() };
    let both = super::dedup::candidates(&s.conn, &facts, &c, &DedupSettings::default()).unwrap();
    assert!(!both.is_empty());
    assert_eq!(super::dedup::candidates(&s.conn, &facts, &c, &narrowed).unwrap(), both);
    let counted = |m: super::dedup::Merged| {
        let tx = s.conn.unchecked_transaction().unwrap();
        let learnt = super::dedup::count_paragraphs(&tx, m, f[1].0, 2, &reduced).unwrap();
        let rows: Vec<(i64, i64, i64, Vec<u8>)> = tx
            .prepare("SELECT hash, entries, boilerplate, sample FROM paragraph_counts_staged ORDER BY hash")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        tx.rollback().unwrap();
        (learnt, rows)
    };
    assert_eq!(counted(merged), counted(super::dedup::Merged::BOTH));
    // The sync's end: the large tables take the rows.
    s.forget_old_keys(now).unwrap();
    let after = super::dedup::Merged::probe(&s.conn).unwrap();
    assert_eq!((after.keys, after.counts), (true, true));
}

#[test]
fn keys_found_too_common_are_counted_first_and_looked_up_when_no_longer_so() {
    // store::dedup::COMMON_KEYS: a key with more than KEY_MAX_ENTRIES entries
    // in the window is left out; the lookup remembers it and next counts
    // its entries before fetching them, which changes nothing found: once
    // some are gone, it finds what a lookup without the hint finds.
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let original: String = seed.split("\n\n").skip(1).take(9).collect::<Vec<_>>().join("\n\n");
    let (mut s, f) = store_with_feeds(1);
    s.save_feed(f[0], &FetchState::default(), &[entry("orig", Some("https://x/orig"), &original, 1)], at(1)).unwrap();
    let c = dedup::Comparison::new(dedup::reduce(&original), |_| false);
    let f0 = super::dedup::facts(&s.conn, id_of(&s, "orig")).unwrap().unwrap();
    let facts = super::dedup::Facts { id: -1, url: None, source_url: None, text_hash: None, ..f0 };
    let day = facts.published.div_euclid(86_400);
    // 70 entries more share every key of the original, on its day.
    for id in 100_000..100_070 {
        for key in &c.keys {
            s.conn
                .execute(
                    "INSERT INTO dedup_keys_staged (key, day, entry_id) VALUES (?1, ?2, ?3)",
                    params![key, day, id],
                )
                .unwrap();
        }
    }
    let settings = DedupSettings::default();
    super::dedup::forget_common_keys();
    let common = super::dedup::candidates(&s.conn, &facts, &c, &settings).unwrap();
    assert!(common.iter().all(|h| h.0 < 100_000), "71 entries a key: too common, {common:?}");
    assert!(c.keys.iter().all(|k| super::dedup::is_common_key(*k)));
    assert_eq!(super::dedup::candidates(&s.conn, &facts, &c, &settings).unwrap(), common, "counted, not fetched");
    // Down to 61 entries a key: looked up again.
    s.conn.execute("DELETE FROM dedup_keys_staged WHERE entry_id < 100010", []).unwrap();
    let hinted = super::dedup::candidates(&s.conn, &facts, &c, &settings).unwrap();
    assert!(hinted.iter().any(|h| h.0 >= 100_010), "{hinted:?}");
    super::dedup::forget_common_keys();
    assert_eq!(super::dedup::candidates(&s.conn, &facts, &c, &settings).unwrap(), hinted);
    // The bound itself, with the hint: 65 entries a key are too many, 64
    // are not.
    let share_every_key = |id: i64| {
        for key in &c.keys {
            s.conn
                .execute(
                    "INSERT INTO dedup_keys_staged (key, day, entry_id) VALUES (?1, ?2, ?3)",
                    params![key, day, id],
                )
                .unwrap();
        }
    };
    // Both ways: with the large table read, and in a first sync, which
    // reads the staged one only.
    let first_sync = DedupSettings { merged: super::dedup::Merged { keys: false, counts: false }, ..settings.clone() };
    for settings in [&settings, &first_sync] {
        (100_070..100_075).for_each(share_every_key);
        assert!(super::dedup::candidates(&s.conn, &facts, &c, settings).unwrap().iter().all(|h| h.0 < 100_000));
        assert!(c.keys.iter().all(|k| super::dedup::is_common_key(*k)));
        s.conn.execute("DELETE FROM dedup_keys_staged WHERE entry_id = 100074", []).unwrap();
        let hits = super::dedup::candidates(&s.conn, &facts, &c, settings).unwrap();
        assert!(hits.iter().any(|h| h.0 >= 100_000), "64 entries a key are looked up: {hits:?}");
        s.conn.execute("DELETE FROM dedup_keys_staged WHERE entry_id >= 100070", []).unwrap();
    }
}

#[test]
fn old_keys_are_dropped_one_by_one_or_by_keeping_the_rest() {
    // store::dedup::forget_keys_between: a day's keys go one by one; when
    // the keys to drop are half the table or more (a sync after weeks
    // without one), the rest are kept in a new table instead. Either way
    // exactly the keys of the entries past the horizon go.
    let (mut s, f) = store_with_feeds(2);
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |d: i64| {
        let mut e = entry(&format!("d{d}"), Some(&format!("https://x/{d}")), &format!("{TEXT} On day {d}."), 1);
        e.entry.published = day(d);
        e
    };
    let count = |s: &Store, sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let all_keys = "(SELECT * FROM dedup_keys UNION ALL SELECT * FROM dedup_keys_staged)";
    // Every key left belongs to a fingerprint of its day, at or after `from`;
    // every such fingerprint's keys are all there.
    let check = |s: &Store, from: i64| {
        let base = 1_700_000_000i64.div_euclid(86_400);
        let stray = count(
            s,
            &format!(
                "SELECT COUNT(*) FROM {all_keys} k WHERE k.day < {} OR NOT EXISTS
                   (SELECT 1 FROM fingerprints p WHERE p.entry_id = k.entry_id AND p.day = k.day)",
                base + from
            ),
        );
        let expected = count(
            s,
            &format!("SELECT COALESCE(SUM(length(keys)), 0) / 4 FROM fingerprints WHERE day >= {}", base + from),
        );
        assert_eq!((stray, count(s, &format!("SELECT COUNT(*) FROM {all_keys}"))), (0, expected));
    };
    let root = |s: &Store| count(s, "SELECT rootpage FROM sqlite_schema WHERE name = 'dedup_keys'");
    let batch: Vec<TaggedEntry> = (0..=40).map(dated).collect();
    s.save_feed(f[0], &FetchState::default(), &batch, day(40)).unwrap();
    s.forget_old_keys(day(40)).unwrap();
    let horizon = |newest: i64| newest - DedupSettings::default().window_days - super::KEY_HORIZON_DAYS;
    check(&s, horizon(40));
    // The next day: a few days' keys go, one by one (the table stays).
    let table = root(&s);
    s.save_feed(f[0], &FetchState::default(), &[dated(41)], day(41)).unwrap();
    s.forget_old_keys(day(41)).unwrap();
    check(&s, horizon(41));
    assert!(count(&s, "SELECT COUNT(*) FROM dedup_keys") > 0);
    // Weeks later: nearly every key goes, the rest kept in a new table.
    // (The day's entry an article, its edited copy saved below.)
    let seed = include_str!("../../tests/fixtures/seed-article.txt");
    let paragraphs: Vec<&str> = seed.split("\n\n").skip(1).take(9).collect();
    let mut article = entry("d75", Some("https://x/75"), &paragraphs.join("\n\n"), 1);
    article.entry.published = day(75);
    s.save_feed(f[0], &FetchState::default(), &[article], day(75)).unwrap();
    let dropped = s.forget_old_keys(day(75)).unwrap();
    check(&s, horizon(75));
    assert!(dropped > 0 && root(&s) != table, "{dropped}");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM dedup_keys_staged"), 0);
    // An edited copy of the day's article on another site finds it by the
    // keys kept.
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..7].join("\n\n"));
    let mut copy = entry("copy", Some("https://y/copy"), &copy, 1);
    copy.entry.published = day(75);
    s.save_feed(f[1], &FetchState::default(), &[copy], day(75)).unwrap();
    assert_eq!(dup_of(&s, "copy"), Some(id_of(&s, "d75")));
}

/// A text of `words` pseudo-random words, different for each `seed`.
fn varied_text(seed: u64, words: usize) -> String {
    const VOCAB: [&str; 40] = [
        "harbour",
        "budget",
        "council",
        "railway",
        "valley",
        "engineers",
        "landslide",
        "spring",
        "fleet",
        "dredging",
        "minister",
        "election",
        "village",
        "farmers",
        "drought",
        "wheat",
        "prices",
        "market",
        "schools",
        "teachers",
        "hospital",
        "doctors",
        "bridge",
        "river",
        "flood",
        "police",
        "court",
        "judge",
        "airport",
        "pilots",
        "factory",
        "workers",
        "strike",
        "union",
        "exports",
        "cotton",
        "textile",
        "bank",
        "loan",
        "reform",
    ];
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out = Vec::new();
    for i in 0..words {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.push(VOCAB[(x >> 33) as usize % VOCAB.len()]);
        if i % 12 == 11 {
            out.push("and then");
        }
    }
    format!("{}.", out.join(" "))
}

#[test]
fn an_archive_of_old_entries_does_not_rewrite_the_key_table() {
    // store::dedup::forget_keys_between counts the large table's keys to drop
    // from the keys' horizon only: a sync that brings a new feed's archive
    // (its keys staged, dated before the horizon) drops them from the staged
    // table and leaves the large one as it is (found by review: it was
    // copied into the staged table and swapped, though none of its rows went).
    let (mut s, f) = store_with_feeds(2);
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let dated = |key: &str, seed: u64, d: i64| {
        let mut e = entry(key, Some(&format!("https://x/{key}")), &varied_text(seed, 120), 1);
        e.entry.published = day(d);
        e
    };
    let count = |s: &Store, sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let root = |s: &Store| count(s, "SELECT rootpage FROM sqlite_schema WHERE name = 'dedup_keys'");
    let recent: Vec<TaggedEntry> = (0..20).map(|i| dated(&format!("r{i}"), i, 100)).collect();
    s.save_feed(f[0], &FetchState::default(), &recent, day(100)).unwrap();
    s.forget_old_keys(day(100)).unwrap();
    let (table, large) = (root(&s), count(&s, "SELECT COUNT(*) FROM dedup_keys"));
    // A new feed's archive: a dozen posts of last year.
    let archive: Vec<TaggedEntry> = (0..12).map(|i| dated(&format!("a{i}"), 1000 + i, 1 + i as i64)).collect();
    s.save_feed(f[1], &FetchState::default(), &archive, day(100)).unwrap();
    let staged = count(&s, "SELECT COUNT(*) FROM dedup_keys_staged");
    let dropped = s.forget_old_keys(day(100)).unwrap();
    assert_eq!(dropped as i64, staged, "only the archive's staged keys go");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM dedup_keys"), large, "every key of the large table is kept");
    assert_eq!(root(&s), table, "so the large table is not copied into the staged one and swapped");
}

#[test]
fn staged_tables_keep_identical_definitions_across_swaps() {
    // After swaps of names (store::dedup::swap_with_staged) both tables of
    // a kind keep the same definition, and each its own index name.
    let (mut s, f) = store_with_feeds(2);
    let norm = |s: &Store, t: &str| -> (String, Vec<String>, Vec<String>) {
        let sql: String = s.conn.query_row("SELECT sql FROM sqlite_schema WHERE name = ?1", [t], |r| r.get(0)).unwrap();
        let sql = sql.replace(&format!("\"{t}\""), "T").replace(&format!("{t} "), "T ").replace(&format!("{t}("), "T(");
        let idx: Vec<String> = s
            .conn
            .prepare("SELECT name || ':' || sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")
            .unwrap()
            .query_map([t], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let fk: Vec<String> = s
            .conn
            .prepare(&format!(
                "SELECT \"table\" || ':' || \"from\" || ':' || on_delete FROM pragma_foreign_key_list('{t}')"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        (sql, idx, fk)
    };
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    for round in 0..5u64 {
        // A few entries, then drop the large tables' rows so the next merge swaps.
        let es: Vec<TaggedEntry> = (0..3)
            .map(|i| {
                let mut e = entry(
                    &format!("e{round}_{i}"),
                    Some(&format!("https://x/{round}/{i}")),
                    &varied_text(round * 10 + i, 80),
                    1,
                );
                e.entry.published = day(100 + round as i64);
                e
            })
            .collect();
        s.save_feed(f[(round % 2) as usize], &FetchState::default(), &es, day(100 + round as i64)).unwrap();
        s.conn.execute_batch("DELETE FROM dedup_keys; DELETE FROM paragraph_counts;").unwrap();
        s.forget_old_keys(day(100 + round as i64)).unwrap();
        for t in ["dedup_keys", "paragraph_counts"] {
            let (a, b) = (norm(&s, t), norm(&s, &format!("{t}_staged")));
            assert_eq!(a.0.replace("T_staged", "T"), b.0.replace("T_staged", "T"));
            assert_eq!((a.1.len(), &a.2), (b.1.len(), &b.2));
            let names =
                |idx: &[String]| idx.iter().map(|i| i.split(':').next().unwrap().to_owned()).collect::<Vec<_>>();
            if t == "paragraph_counts" {
                assert_eq!(names(&a.1), ["paragraph_counts_boilerplate"]);
                assert_eq!(names(&b.1), ["paragraph_counts_staged_boilerplate"]);
            }
        }
        assert!(s.doctor().unwrap().iter().all(|c| c.ok), "{:?}", s.doctor().unwrap());
    }
}

#[test]
fn an_orphan_paragraph_count_does_not_break_the_merge() {
    // A row whose feed is gone (deleted with foreign keys off, e.g. by the
    // sqlite3 shell) is left out when merge_table moves the large table's
    // rows into the staged one (found by review: the foreign key failed the
    // merge, and so every sync's end).
    let (mut s, f) = store_with_feeds(1);
    s.conn
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
        INSERT INTO paragraph_counts (hash, feed_id, entries, boilerplate, sample) VALUES (1, 999, 1, 0, x'01');
        PRAGMA foreign_keys = ON;",
        )
        .unwrap();
    let e = entry("a", Some("https://x/a"), &varied_text(7, 80), 1);
    s.save_feed(f[0], &FetchState::default(), &[e], at(1)).unwrap();
    let r = s.forget_old_keys(at(1));
    assert!(r.is_ok(), "{r:?}");
    assert!(s.conn.query_row("SELECT COUNT(*) FROM paragraph_counts", [], |r| r.get::<_, i64>(0)).unwrap() > 0);
}

#[test]
fn one_old_entry_next_to_a_large_storys_kept_fingerprints_does_not_rewrite_the_key_table() {
    let day = |d: i64| DateTime::<Utc>::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
    let n = super::dedup::KEEP_FINGERPRINTS_STORY;
    let (mut s, f) = store_with_feeds(n + 2);
    let original = format!("{TEXT} The original report.");
    for (i, feed) in f.iter().take(n).enumerate() {
        let mut e = entry(&format!("m{i}"), Some("https://x/orig"), &format!("{original} Copy {i}."), 1);
        e.entry.published = day(i as i64 % 3);
        s.save_feed(*feed, &FetchState::default(), &[e], day(100)).unwrap();
    }
    let recent: Vec<TaggedEntry> = (0..4)
        .map(|i| {
            let mut e = entry(&format!("r{i}"), Some(&format!("https://x/r{i}")), &varied_text(500 + i, 120), 1);
            e.entry.published = day(100);
            e
        })
        .collect();
    s.save_feed(f[n], &FetchState::default(), &recent, day(100)).unwrap();
    s.forget_old_keys(day(100)).unwrap();
    let count = |s: &Store, sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let root = |s: &Store| count(s, "SELECT rootpage FROM sqlite_schema WHERE name = 'dedup_keys'");
    let (table, large) = (root(&s), count(&s, "SELECT COUNT(*) FROM dedup_keys"));
    // The story's members keep their fingerprints past the horizon (their
    // keys long dropped): counted as keys to drop, they outnumbered the table.
    let kept_fp_keys = count(&s, "SELECT COALESCE(SUM(length(keys)), 0) / 4 FROM fingerprints WHERE day < 19700");
    assert!(2 * kept_fp_keys >= large, "{kept_fp_keys} {large}");
    // One post dated last year (a feed's old item), short: a few keys.
    let mut old = entry("old", Some("https://x/old"), "Quetta: the assembly met to discuss the water budget.", 1);
    old.entry.published = day(1);
    s.save_feed(f[n + 1], &FetchState::default(), &[old], day(100)).unwrap();
    let staged = count(&s, "SELECT COUNT(*) FROM dedup_keys_staged");
    let dropped = s.forget_old_keys(day(100)).unwrap();
    assert_eq!(dropped as i64, staged, "the old entry's staged keys");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM dedup_keys"), large);
    assert_eq!(root(&s), table, "the large key table is not rewritten for {dropped} staged keys");
}

/// Every exact key the entries call for (migration 021), computed in Rust
/// from their columns, and every key filed in either table.
type ExactKeyRows = BTreeSet<(i64, i64, i64)>;

fn exact_keys_called_for_and_filed(s: &Store) -> (ExactKeyRows, ExactKeyRows) {
    use super::dedup::ExactKey;
    let mut wanted = BTreeSet::new();
    let mut stmt = s.conn.prepare("SELECT id, url_key, text_hash, title_key, published FROM entries").unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let (id, published): (i64, i64) = (r.get(0).unwrap(), r.get(4).unwrap());
        let (link, text, title): (Option<i64>, Option<i64>, Option<i64>) =
            (r.get(1).unwrap(), r.get(2).unwrap(), r.get(3).unwrap());
        wanted.extend(link.map(|h| (ExactKey::Link.of(h), 0, id)));
        wanted.extend(text.map(|h| (ExactKey::Text.of(h), 0, id)));
        wanted.extend(title.map(|h| (ExactKey::Title.of(h), published.div_euclid(86_400), id)));
    }
    let filed = s
        .conn
        .prepare("SELECT key, day, entry_id FROM exact_keys UNION ALL SELECT key, day, entry_id FROM exact_keys_staged")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    let set: BTreeSet<_> = filed.iter().copied().collect();
    assert_eq!(set.len(), filed.len(), "a key filed in both tables: {filed:?}");
    (wanted, set)
}

/// The exact keys of links, texts and titles (migration 021) are filed by
/// triggers on entries, staged then merged: whatever writes an entry
/// (a sync, an edit, a date before 1970, a delete, its feed's removal), the
/// two tables hold exactly the keys its columns call for.
#[test]
fn exact_keys_follow_their_entries_whatever_changes_them() {
    let (mut s, f) = store_with_feeds(2);
    let now = at(3);
    let entries: Vec<TaggedEntry> = (0..6)
        .map(|i| {
            let mut e =
                entry(&format!("e{i}"), Some(&format!("https://x/e{i}")), &format!("{TEXT} Paragraph {i}."), 1 + i);
            e.entry.title = format!("Corridor story number {i} from the valley");
            e
        })
        .collect();
    s.save_feed(f[0], &FetchState::default(), &entries[..3], now).unwrap();
    s.save_feed(f[1], &FetchState::default(), &entries[3..], now).unwrap();
    let check = |s: &Store, when: &str| {
        let (wanted, filed) = exact_keys_called_for_and_filed(s);
        assert_eq!(filed, wanted, "{when}");
        wanted.len()
    };
    assert_eq!(check(&s, "saved"), 18, "a link, a text and a title each");
    let staged =
        |s: &Store| -> i64 { s.conn.query_row("SELECT COUNT(*) FROM exact_keys_staged", [], |r| r.get(0)).unwrap() };
    assert_eq!(staged(&s), 18, "a sync files them staged");
    assert_eq!(super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap().exact, 18);
    assert_eq!(staged(&s), 0);
    check(&s, "merged");
    // Changed in place, the old keys leave the large table, the new are staged.
    let e0 = id_of(&s, "e0");
    s.conn.execute("UPDATE entries SET url_key = 77, text_hash = NULL WHERE id = ?1", [e0]).unwrap();
    check(&s, "link and text changed");
    // Dated before 1970: the title's day is the floor of the division.
    for published in [-1, -86_400, -86_401, 0, 86_399, 86_400] {
        s.conn.execute("UPDATE entries SET published = ?2 WHERE id = ?1", params![e0, published]).unwrap();
        check(&s, &format!("published at {published}"));
    }
    s.conn.execute("UPDATE entries SET title_key = -5 WHERE id = ?1", [e0]).unwrap();
    check(&s, "title changed");
    for (id, published) in [(100, -86_401), (101, -1), (102, 86_399)] {
        s.conn
            .execute(
                "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at,
                        title_key)
                 VALUES (?1, ?2, ?1, 't', ?3, 'published', 0, 0, 9)",
                params![id, f[0].0, published],
            )
            .unwrap();
    }
    check(&s, "stored dated before 1970");
    // An edit the sync stores (new text, new link): filed again.
    let mut edited = entry("e1", Some("https://x/e1-moved"), &format!("{TEXT} Corrected."), 2);
    edited.entry.title = "A corrected title for the story".into();
    s.save_feed(f[0], &FetchState::default(), &[edited], at(4)).unwrap();
    check(&s, "edited by its feed");
    let stored: Option<i64> =
        s.conn.query_row("SELECT title_key FROM entries WHERE entry_key = 'e1'", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, super::dedup::title_key("A corrected title for the story"), "the new title's key");
    s.conn.execute("DELETE FROM entries WHERE id = ?1", [e0]).unwrap();
    check(&s, "deleted");
    s.conn.execute("DELETE FROM feeds WHERE id = ?1", [f[1].0]).unwrap();
    assert_eq!(check(&s, "its feed removed"), 9);
    s.conn.execute("DELETE FROM feeds", []).unwrap();
    let (_, filed) = exact_keys_called_for_and_filed(&s);
    assert!(filed.is_empty(), "{filed:?}");
}

/// A copy is found by the link or text of an entry whose exact key is in
/// the large table (merged by an earlier sync) or still staged.
#[test]
fn copies_are_found_by_exact_keys_merged_or_staged() {
    for merged in [true, false] {
        let (mut s, f) = store_with_feeds(3);
        let now = at(3);
        s.save_feed(f[0], &FetchState::default(), &[entry("orig", Some("https://x/orig"), TEXT, 1)], now).unwrap();
        if merged {
            super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap();
        }
        let in_large: i64 = s.conn.query_row("SELECT COUNT(*) FROM exact_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(in_large > 0, merged);
        // The same text under another link, and the same link with another text.
        s.save_feed(f[1], &FetchState::default(), &[entry("text", Some("https://y/text"), TEXT, 1)], now).unwrap();
        let other = "A different article entirely, about the harvest in the northern valleys and its prices.";
        s.save_feed(f[2], &FetchState::default(), &[entry("link", Some("https://x/orig"), other, 1)], now).unwrap();
        let reason = |key: &str| -> Option<String> {
            s.conn.query_row("SELECT dup_reason FROM entries WHERE entry_key = ?1", [key], |r| r.get(0)).unwrap()
        };
        let orig = id_of(&s, "orig");
        assert_eq!((dup_of(&s, "text"), reason("text").as_deref()), (Some(orig), Some("text")), "merged: {merged}");
        assert_eq!((dup_of(&s, "link"), reason("link").as_deref()), (Some(orig), Some("link")), "merged: {merged}");
    }
}

/// Migration 021 files the exact keys of the entries a store holds in the
/// large table, and drops the three indexes on entries they replace.
#[test]
fn migration_021_files_the_exact_keys_of_stored_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v20.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..20] {
            schema::apply(&tx, sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 20).unwrap();
        tx.execute("INSERT INTO feeds (id, url) VALUES (1, 'https://a.example/feed')", []).unwrap();
        let mut insert = tx
            .prepare(
                "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at,
                        url_key, text_hash, title_key)
                 VALUES (?1, 1, ?1, 't', ?2, 'published', 0, 0, ?3, ?4, ?5)",
            )
            .unwrap();
        insert.execute(params![1, 1_700_000_000, 11, 12, 13]).unwrap();
        insert.execute(params![2, -86_401, None::<i64>, -7, 13]).unwrap();
        insert.execute(params![3, 5, None::<i64>, None::<i64>, None::<i64>]).unwrap();
        drop(insert);
        tx.commit().unwrap();
    }
    let s = Store::open_at(&path).unwrap();
    let (wanted, filed) = exact_keys_called_for_and_filed(&s);
    assert_eq!(wanted.len(), 5);
    assert_eq!(filed, wanted);
    let staged: i64 = s.conn.query_row("SELECT COUNT(*) FROM exact_keys_staged", [], |r| r.get(0)).unwrap();
    assert_eq!(staged, 0, "all in the large table");
    let dropped: i64 = s
        .conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('entries_by_url_key', 'entries_by_text_hash', 'entries_by_title_key')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dropped, 0);
}

/// The exact keys' tables are never swapped by a merge (the triggers name
/// them): a merge into an empty large table moves the staged rows, and the
/// triggers go on filing into the staged table.
#[test]
fn a_merge_into_an_empty_table_of_exact_keys_keeps_the_triggers_filing_staged() {
    let (mut s, f) = store_with_feeds(1);
    let now = at(3);
    s.save_feed(f[0], &FetchState::default(), &[entry("a", Some("https://x/a"), TEXT, 1)], now).unwrap();
    // Fewer than EXACT_MERGE_MIN wait (moved row by row, they would save nothing).
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().exact, 0);
    assert_eq!(super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap().exact, 2, "a link and a text");
    s.save_feed(f[0], &FetchState::default(), &[entry("b", Some("https://x/b"), &format!("{TEXT} Later."), 1)], now)
        .unwrap();
    let count =
        |table: &str| -> i64 { s.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap() };
    assert_eq!((count("exact_keys"), count("exact_keys_staged")), (2, 2));
    let (wanted, filed) = exact_keys_called_for_and_filed(&s);
    assert_eq!(filed, wanted);
}

/// store::dedup::forget_lone_paragraphs: after a merge, the large table
/// forgets the paragraphs counted once in an entry first seen before the
/// horizon, whatever its date now; those counted twice, those of entries
/// first seen since, and staged ones stay.
#[test]
fn paragraphs_counted_once_before_the_horizon_are_forgotten() {
    let (s, f) = store_with_feeds(1);
    let feed = f[0].0;
    let day = 86_400;
    // (id, first seen, published): entry 1 dated again by its feed since,
    // entry 3 an old item first seen late.
    for (id, first_seen, published) in [(1, 10 * day, 100 * day), (2, 50 * day, 50 * day), (3, 55 * day, 5 * day)] {
        s.conn
            .execute(
                "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at)
                 VALUES (?1, ?2, ?1, 't', ?3, 'published', ?4, 0)",
                params![id, feed, published, first_seen],
            )
            .unwrap();
    }
    let put = |table: &str, hash: i64, entries: i64, ids: &[i64]| {
        s.conn
            .execute(
                &format!(
                    "INSERT INTO {table} (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, 0, ?4)"
                ),
                params![hash, feed, entries, super::dedup::ids_to_blob(ids)],
            )
            .unwrap();
    };
    put("paragraph_counts", 1, 1, &[1]); // once, long ago: forgotten
    put("paragraph_counts", 2, 1, &[2]); // once, first seen since the horizon
    put("paragraph_counts", 3, 2, &[1, 3]); // twice
    put("paragraph_counts", 4, 1, &[3]); // dated long ago, first seen since
    put("paragraph_counts", 5, 1, &[]); // a damaged sample, nothing to keep it for
    put("paragraph_counts_staged", 1, 1, &[1]);
    let hashes = |table: &str| -> Vec<i64> {
        s.conn
            .prepare(&format!("SELECT hash FROM {table} ORDER BY hash"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let forget = |table: &str, cutoff: i64| super::dedup::forget_lone_paragraphs(&s.conn, table, cutoff).unwrap();
    assert_eq!(forget("paragraph_counts", 40 * day), 2);
    assert_eq!(hashes("paragraph_counts"), vec![2, 3, 4]);
    assert_eq!(hashes("paragraph_counts_staged"), vec![1], "the other table untouched");
    assert_eq!(forget("paragraph_counts_staged", 40 * day), 1);
    assert!(hashes("paragraph_counts_staged").is_empty());
    // Nothing first seen since the horizon: every lone paragraph goes,
    // read a chunk at a time.
    for hash in 100..10_100 {
        put("paragraph_counts", hash, 1, &[1]);
    }
    assert_eq!(forget("paragraph_counts", 60 * day), 10_002);
    assert_eq!(hashes("paragraph_counts"), vec![3]);
}

/// store::dedup::forget_old_keys: when the paragraph counts are due to be
/// merged, the lone ones past the horizon are forgotten first, in both
/// tables; then the merge moves the fewer rows (here the large table's
/// few left, by a swap).
#[test]
fn paragraphs_counted_once_are_forgotten_before_the_counts_are_merged() {
    let (mut s, f) = store_with_feeds(1);
    let feed = f[0].0;
    let day = 86_400;
    let now = 100 * day;
    for (id, first_seen) in [(1, 10 * day), (2, 99 * day)] {
        s.conn
            .execute(
                "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at)
                 VALUES (?1, ?2, ?1, 't', ?3, 'published', ?3, 0)",
                params![id, feed, first_seen],
            )
            .unwrap();
    }
    let put = |table: &str, hash: i64, entries: i64, ids: &[i64]| {
        s.conn
            .execute(
                &format!(
                    "INSERT INTO {table} (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, 0, ?4)"
                ),
                params![hash, feed, entries, super::dedup::ids_to_blob(ids)],
            )
            .unwrap();
    };
    // The large table: 100 paragraphs of the old entry, once each, and one
    // counted twice; staged: 20 of the new entry, one of the old entry
    // (a store that merges seldom), and the count that goes on from the
    // large table's row of paragraph 1.
    for hash in 1..=100 {
        put("paragraph_counts", hash, 1, &[1]);
    }
    put("paragraph_counts", 1000, 2, &[1, 2]);
    for hash in 2001..=2020 {
        put("paragraph_counts_staged", hash, 1, &[2]);
    }
    put("paragraph_counts_staged", 3000, 1, &[1]);
    put("paragraph_counts_staged", 1, 2, &[1, 2]);
    let root = |s: &Store| -> i64 {
        s.conn
            .query_row("SELECT rootpage FROM sqlite_schema WHERE name = 'paragraph_counts'", [], |r| r.get(0))
            .unwrap()
    };
    let (large_root, staged_root): (i64, i64) = s
        .conn
        .query_row(
            "SELECT (SELECT rootpage FROM sqlite_schema WHERE name = 'paragraph_counts'),
                    (SELECT rootpage FROM sqlite_schema WHERE name = 'paragraph_counts_staged')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    s.forget_old_keys(DateTime::from_timestamp(now, 0).unwrap()).unwrap();
    let count = |sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM paragraph_counts_staged"), 0, "merged");
    // Forgotten first, the large table kept 2 rows against 21 staged: the
    // two tables swapped names (merged first, 22 rows would have moved).
    assert_eq!(root(&s), staged_root, "swapped");
    assert_ne!(root(&s), large_root);
    let kept: Vec<(i64, i64)> = s
        .conn
        .prepare("SELECT hash, entries FROM paragraph_counts ORDER BY hash")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut wanted = vec![(1, 2), (1000, 2)];
    wanted.extend((2001..=2020).map(|h| (h, 1)));
    assert_eq!(kept, wanted);
}

/// Copy detection takes an entry's title key as stored (store::entries::
/// save_entry files it); a rebuild computes every one again, and a damaged
/// one (not an integer) is computed again where it is read.
#[test]
fn a_rebuild_computes_stored_title_keys_again() {
    let (mut s, f) = store_with_feeds(1);
    let mut e = entry("a", Some("https://x/a"), TEXT, 1);
    e.entry.title = "Corridor story from the valley".into();
    s.save_feed(f[0], &FetchState::default(), &[e], at(3)).unwrap();
    let right = super::dedup::title_key("Corridor story from the valley");
    let stored = |s: &Store| -> Option<i64> {
        s.conn.query_row("SELECT title_key FROM entries WHERE entry_key = 'a'", [], |r| r.get(0)).unwrap()
    };
    assert!(right.is_some());
    assert_eq!(stored(&s), right);
    s.conn.execute("UPDATE entries SET title_key = 12345 WHERE entry_key = 'a'", []).unwrap();
    s.rebuild_dedup().unwrap();
    assert_eq!(stored(&s), right);
    let (wanted, filed) = exact_keys_called_for_and_filed(&s);
    assert_eq!(filed, wanted);
    s.conn.execute("UPDATE entries SET title_key = 'damaged' WHERE entry_key = 'a'", []).unwrap();
    let f = super::dedup::facts_without_body(&s.conn, id_of(&s, "a")).unwrap().unwrap();
    assert_eq!(f.title_key, None);
}

/// `doctor` tells of the exact keys staged once they are as many as a merge
/// waits for (store::dedup::EXACT_MERGE_MIN), not before: fewer is the
/// usual state of a store of some months.
#[test]
fn doctor_tells_of_exact_keys_staged_once_they_could_be_merged() {
    let (s, _) = store_with_feeds(1);
    let detail = |s: &Store| s.doctor().unwrap().into_iter().find(|c| c.name == "copy detection").unwrap().detail;
    let stage = |n: i64| {
        s.conn
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT OR IGNORE INTO exact_keys_staged (key, day, entry_id) SELECT i * 4 + 1, 0, i FROM n",
                [n],
            )
            .unwrap();
    };
    stage(super::dedup::EXACT_MERGE_MIN - 1);
    assert_eq!(detail(&s), "no entries waiting to be compared again");
    stage(super::dedup::EXACT_MERGE_MIN);
    assert!(detail(&s).contains("0 lookup keys, 65536 exact keys and 0 paragraph counts staged"), "{}", detail(&s));
}

/// `doctor` finds exact keys out of step with their entries (a store
/// written behind the triggers' back), and `doctor --repair` files them again.
#[test]
fn doctor_finds_exact_keys_out_of_step_and_repair_files_them_again() {
    let (mut s, f) = store_with_feeds(1);
    let mut e = entry("a", Some("https://x/a"), TEXT, 1);
    e.entry.title = "Corridor story from the valley".into();
    s.save_feed(f[0], &FetchState::default(), &[e], at(3)).unwrap();
    let check = |s: &Store| s.doctor().unwrap().into_iter().find(|c| c.name == "exact keys").unwrap();
    assert!(check(&s).ok, "{:?}", check(&s));
    s.conn
        .execute_batch(
            "DELETE FROM exact_keys_staged WHERE key & 3 = 2;
             INSERT INTO exact_keys (key, day, entry_id) VALUES (5, 0, 1), (7, 3, 999);",
        )
        .unwrap();
    let c = check(&s);
    assert!(!c.ok && c.detail.starts_with("1 exact keys missing and 2 stray"), "{c:?}");
    s.repair().unwrap();
    assert!(check(&s).ok, "{:?}", check(&s));
    let (wanted, filed) = exact_keys_called_for_and_filed(&s);
    assert_eq!(filed, wanted);
}

/// An article of `path` (tests/fixtures/news/articles) without its headline,
/// and an edited copy of it: its last paragraph cut, a credit added. The
/// copy shares no link, text or title with it: only lookup keys find it.
fn article_and_copy(text: &str) -> (String, String) {
    let paragraphs: Vec<&str> = text.split("\n\n").skip(1).map(str::trim).filter(|p| !p.is_empty()).collect();
    let copy = format!("{}\n\nOriginally published at F0.", paragraphs[..paragraphs.len() - 1].join("\n\n"));
    (paragraphs.join("\n\n"), copy)
}

/// A sync's store: recompare deferred, the large table's keys read from
/// the first batch on.
fn syncing(s: &mut Store) {
    s.defer_recompare();
    s.large_keys_after = 0;
}

/// Saves `entries` of `feed` in a batch of its own, as a sync does.
fn save_batch(s: &mut Store, feed: FeedId, entries: &[TaggedEntry], now: DateTime<Utc>) {
    s.begin_batch().unwrap();
    s.save_feed(feed, &FetchState::default(), entries, now).unwrap();
    s.commit_batch().unwrap();
}

/// A store at `path` with feeds F0..F2, and the stored original of the
/// Dasu article merged into the large tables.
fn store_with_dasu(path: &std::path::Path) -> (Store, Vec<FeedId>) {
    let mut s = Store::open_at(path).unwrap();
    let feeds: Vec<_> = (0..3).map(|i| (format!("https://f{i}.example/feed"), Some(format!("F{i}")))).collect();
    let f: Vec<FeedId> = s.upsert_feeds(&feeds).unwrap().into_iter().map(|f| f.id).collect();
    let (dasu, _) = article_and_copy(DASU);
    s.save_feed(f[0], &FetchState::default(), &[entry("dasu", Some("https://x/dasu"), &dasu, 1)], at(2)).unwrap();
    super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap();
    (s, f)
}

const DASU: &str = include_str!("../../tests/fixtures/news/articles/dasu.txt");
const DEATH: &str = include_str!("../../tests/fixtures/news/articles/death.txt");

#[test]
fn a_sync_looks_up_in_the_large_key_table_only_the_keys_it_read_from_it() {
    // store::dedup::LargeKeys: once a sync has stored enough new entries,
    // its transactions read the large lookup table's keys once and look up
    // in that table only the keys it holds (the staged table, always).
    let dir = tempfile::tempdir().unwrap();
    let (mut s, f) = store_with_dasu(&dir.path().join("s.db"));
    syncing(&mut s);
    let (_, dasu_copy) = article_and_copy(DASU);
    save_batch(&mut s, f[1], &[entry("dasu-copy", None, &dasu_copy, 1)], at(2));
    assert!(dup_of(&s, "dasu-copy").is_some(), "a copy found through the large table");
    let read = s.large_keys.clone().expect("the keys read for the batch");
    let distinct: i64 = s.conn.query_row("SELECT COUNT(DISTINCT key) FROM dedup_keys", [], |r| r.get(0)).unwrap();
    assert!(distinct > 20);
    assert_eq!(read.len() as i64, distinct);
    assert!(s.dedup.large_keys.is_none(), "outside a transaction, no lookup uses them");
    s.begin_batch().unwrap();
    let installed = s.dedup.large_keys.clone().expect("a sync's transaction looks up with them");
    assert!(std::sync::Arc::ptr_eq(&installed, &read), "kept from the batch before, not read again");
    s.rollback_batch();
    assert!(s.dedup.large_keys.is_none());
    // The set is in use: keys moved into the large table after it was
    // read are not looked up there, and a copy of their article is missed
    // (this is why every merge and every other connection's commit makes a
    // sync read the set again: the tests below).
    let (death, death_copy) = article_and_copy(DEATH);
    s.save_feed(f[0], &FetchState::default(), &[entry("death", Some("https://x/death"), &death, 1)], at(2)).unwrap();
    s.conn
        .execute_batch("INSERT INTO dedup_keys SELECT * FROM dedup_keys_staged; DELETE FROM dedup_keys_staged;")
        .unwrap();
    s.save_feed(f[2], &FetchState::default(), &[entry("death-copy", None, &death_copy, 1)], at(2)).unwrap();
    let facts = super::dedup::facts(&s.conn, id_of(&s, "death-copy")).unwrap().unwrap();
    let c = dedup::Comparison::new(dedup::reduce(&death_copy), |_| false);
    let death_id = id_of(&s, "death");
    let found = |large_keys| {
        let settings = DedupSettings { large_keys, ..DedupSettings::default() };
        super::dedup::candidates(&s.conn, &facts, &c, &settings).unwrap().iter().any(|h| h.0 == death_id)
    };
    assert!(found(None), "found by reading the large table");
    assert!(!found(Some(read)), "missed by the keys read before");
}

#[test]
fn the_large_keys_a_sync_read_are_read_again_after_another_connection_commits() {
    // Keys another connection merged into the large table since the set
    // was read (a `dedup --rebuild`, another program's writes) are seen:
    // PRAGMA data_version changed, the set is read again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (mut a, f) = store_with_dasu(&path);
    syncing(&mut a);
    let (_, dasu_copy) = article_and_copy(DASU);
    save_batch(&mut a, f[1], &[entry("dasu-copy", None, &dasu_copy, 1)], at(2));
    assert!(a.large_keys.is_some());
    let mut b = Store::open_at(&path).unwrap();
    let (death, death_copy) = article_and_copy(DEATH);
    b.save_feed(f[0], &FetchState::default(), &[entry("death", Some("https://x/death"), &death, 1)], at(2)).unwrap();
    super::dedup::merge_staged_from(&b.conn, (0, 1)).unwrap();
    drop(b);
    save_batch(&mut a, f[2], &[entry("death-copy", None, &death_copy, 1)], at(2));
    assert!(dup_of(&a, "death-copy").is_some(), "a copy of an article whose keys another connection merged");
}

#[test]
fn the_large_keys_a_sync_read_are_read_again_after_a_merge_or_a_swap() {
    // This connection's own merges (the staged rows into the large table,
    // or the two swapped) change what the large table holds without
    // changing data_version: each says so, and the set is read again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (mut s, f) = store_with_dasu(&path);
    syncing(&mut s);
    let (_, dasu_copy) = article_and_copy(DASU);
    save_batch(&mut s, f[1], &[entry("dasu-copy", None, &dasu_copy, 1)], at(2));
    assert!(s.large_keys.is_some());
    let (death, death_copy) = article_and_copy(DEATH);
    save_batch(&mut s, f[0], &[entry("death", Some("https://x/death"), &death, 1)], at(2));
    // More staged rows than large ones: the tables swap names.
    let keys_before: i64 = s.conn.query_row("SELECT COUNT(*) FROM dedup_keys", [], |r| r.get(0)).unwrap();
    s.conn
        .execute("INSERT INTO dedup_keys_staged (key, day, entry_id) SELECT key + 1, day, entry_id FROM dedup_keys", [])
        .unwrap();
    let merges = super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap();
    assert!(merges.keys as i64 > keys_before, "{merges:?}");
    save_batch(&mut s, f[2], &[entry("death-copy", None, &death_copy, 1)], at(2));
    assert!(dup_of(&s, "death-copy").is_some(), "a copy of an article whose keys were merged (swapped)");
    // A merge without a swap: a third article.
    let (blog, blog_copy) = article_and_copy(include_str!("../../tests/fixtures/news/articles/followup.txt"));
    save_batch(&mut s, f[0], &[entry("followup", Some("https://x/followup"), &blog, 1)], at(2));
    let merges = super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap();
    assert!(merges.keys > 0);
    save_batch(&mut s, f[1], &[entry("followup-copy", None, &blog_copy, 1)], at(2));
    assert!(dup_of(&s, "followup-copy").is_some(), "a copy of an article whose keys were merged");
}

#[test]
fn staged_rows_of_large_tables_wait_until_they_are_an_eighth_whichever_way_they_are_counted() {
    // store::dedup::count_rows_up_to counts the large table's rows one by
    // one up to COUNT_ROWS_MAX, past it the whole table: the same decisions.
    let (s, _) = store_with_feeds(1);
    let fill = |table: &str, from: i64, n: i64| {
        s.conn
            .execute(
                &format!(
                    "WITH RECURSIVE k(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM k WHERE x < ?1 + ?2 - 1)
                     INSERT INTO {table} (key, day, entry_id) SELECT x, 7, 1 FROM k"
                ),
                [from, n],
            )
            .unwrap();
    };
    // 50,000 staged against 400,010 large (the count goes past
    // COUNT_ROWS_MAX, 393,216: the whole table is counted): wait.
    fill("dedup_keys", 0, 400_010);
    fill("dedup_keys_staged", 1_000_000, 50_000);
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().keys, 0);
    // 50,002 staged: an eighth; merged.
    fill("dedup_keys_staged", 2_000_000, 2);
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().keys, 50_002);
    // 8,000 staged against 450,012 (counted row by row, 64,001 at most): wait.
    fill("dedup_keys_staged", 3_000_000, 8_000);
    assert_eq!(super::dedup::merge_staged(&s.conn).unwrap().keys, 0);
}

#[test]
fn the_large_keys_a_sync_read_are_read_again_after_a_merge_and_a_compaction() {
    // A review found that changing temp_store (a compaction does) dropped
    // the temporary table that counted this connection's merges: a set
    // read at a count of 0, before the sync's end merged, looked right
    // again to the next sync on the same Store, and missed the merged keys.
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_at(&dir.path().join("s.db")).unwrap();
    let feeds: Vec<_> = (0..3).map(|i| (format!("https://f{i}.example/feed"), Some(format!("F{i}")))).collect();
    let f: Vec<FeedId> = s.upsert_feeds(&feeds).unwrap().into_iter().map(|f| f.id).collect();
    syncing(&mut s);
    let (dasu, dasu_copy) = article_and_copy(DASU);
    // A first sync's batch reads the set: the large table is empty.
    save_batch(&mut s, f[0], &[entry("dasu", Some("https://x/dasu"), &dasu, 1)], at(2));
    assert_eq!(s.large_keys.as_ref().expect("read").len(), 0);
    // Its end: a merge, then a compaction (as sync::run does).
    assert!(super::dedup::merge_staged_from(&s.conn, (0, 1)).unwrap().keys > 0);
    s.compact_if_at_most(u64::MAX).unwrap().expect("compacted");
    // The next sync on the same Store.
    save_batch(&mut s, f[1], &[entry("dasu-copy", None, &dasu_copy, 1)], at(2));
    assert!(dup_of(&s, "dasu-copy").is_some(), "a copy of an article merged before the compaction");
}

#[test]
fn a_damaged_key_in_the_large_table_is_left_out_of_the_keys_read_and_fails_nothing() {
    // A key that is not an integer (written by hand, damaged) is no key a
    // lookup asks for: reading the set skips it instead of failing every
    // batch of every sync.
    let dir = tempfile::tempdir().unwrap();
    let (mut s, f) = store_with_dasu(&dir.path().join("s.db"));
    s.conn
        .execute("INSERT INTO dedup_keys (key, day, entry_id) VALUES ('x', 1, 1), (1.5, 1, 1), (4294967296, 1, 1)", [])
        .unwrap();
    syncing(&mut s);
    let (_, dasu_copy) = article_and_copy(DASU);
    save_batch(&mut s, f[1], &[entry("dasu-copy", None, &dasu_copy, 1)], at(2));
    assert!(dup_of(&s, "dasu-copy").is_some());
    let distinct: i64 = s
        .conn
        .query_row(
            "SELECT COUNT(DISTINCT key) FROM dedup_keys WHERE typeof(key) = 'integer' AND key < 4294967296",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(s.large_keys.as_ref().unwrap().len() as i64, distinct);
}

#[test]
fn the_large_keys_a_sync_read_are_read_again_after_another_connection_kept_open_merges() {
    // (From the review.) The other connection stays open and checkpoints
    // the log away: data_version still changes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (mut a, f) = store_with_dasu(&path);
    let mut b = Store::open_at(&path).unwrap();
    syncing(&mut a);
    let (_, dasu_copy) = article_and_copy(DASU);
    save_batch(&mut a, f[1], &[entry("dasu-copy", None, &dasu_copy, 1)], at(2));
    let read = a.large_keys.clone().unwrap();
    let (death, death_copy) = article_and_copy(DEATH);
    b.save_feed(f[0], &FetchState::default(), &[entry("death", Some("https://x/death"), &death, 1)], at(2)).unwrap();
    super::dedup::merge_staged_from(&b.conn, (0, 1)).unwrap();
    b.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    save_batch(&mut a, f[2], &[entry("death-copy", None, &death_copy, 1)], at(2));
    assert!(!std::sync::Arc::ptr_eq(a.large_keys.as_ref().unwrap(), &read), "read again");
    assert!(dup_of(&a, "death-copy").is_some());
}

/// Prepared by hand: entries 1 (first seen on day 10) and 2 (day 99), and
/// a row maker for the paragraph count tables.
fn store_with_old_and_new_entry() -> (Store, i64) {
    let (s, f) = store_with_feeds(1);
    let feed = f[0].0;
    let day = 86_400;
    for (id, first_seen) in [(1, 10 * day), (2, 99 * day)] {
        s.conn
            .execute(
                "INSERT INTO entries (id, feed_id, entry_key, title, published, date_source, first_seen, updated_at)
                 VALUES (?1, ?2, ?1, 't', ?3, 'published', ?3, 0)",
                params![id, feed, first_seen],
            )
            .unwrap();
    }
    (s, feed)
}

fn put_count(s: &Store, feed: i64, table: &str, hash: i64, entries: i64, ids: &[i64]) {
    s.conn
        .execute(
            &format!("INSERT INTO {table} (hash, feed_id, entries, boilerplate, sample) VALUES (?1, ?2, ?3, 0, ?4)"),
            params![hash, feed, entries, super::dedup::ids_to_blob(ids)],
        )
        .unwrap();
}

#[test]
fn counts_of_pruned_entries_are_forgotten_when_entries_are_kept_less_than_the_horizon() {
    // (From a review.) With `keep` shorter than the key horizon, no entry
    // first seen before the cutoff survives: the counts naming only pruned
    // entries are forgotten all the same (an early return on the oldest
    // entry's id kept them forever).
    let (mut s, feed) = store_with_old_and_new_entry();
    let day = 86_400;
    let now = 100 * day;
    for hash in 1..=100 {
        put_count(&s, feed, "paragraph_counts", hash, 1, &[1]);
    }
    for hash in 2001..=2020 {
        put_count(&s, feed, "paragraph_counts_staged", hash, 1, &[2]);
    }
    s.prune(DateTime::from_timestamp(now - 30 * day, 0).unwrap(), DateTime::from_timestamp(now, 0).unwrap(), false)
        .unwrap();
    s.forget_old_keys(DateTime::from_timestamp(now, 0).unwrap()).unwrap();
    let left: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM paragraph_counts WHERE hash BETWEEN 1 AND 100", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "counts naming only the pruned entry");
    // No entries at all: every lone count goes.
    let (s, feed) = store_with_old_and_new_entry();
    s.conn.execute("DELETE FROM entries", []).unwrap();
    put_count(&s, feed, "paragraph_counts", 1, 1, &[7]);
    assert_eq!(super::dedup::forget_lone_paragraphs(&s.conn, "paragraph_counts", now).unwrap(), 1);
}

#[test]
fn a_sync_that_forgets_lone_paragraphs_merges_the_counts() {
    // (From a review.) Whether the counts merge is decided once: forgetting
    // a staged row can take the staged ones under their eighth, and the
    // sync that read the large table for its lone rows must still merge
    // (else the next would read it whole again, and the next).
    let (mut s, feed) = store_with_old_and_new_entry();
    let now = 100 * 86_400;
    // Large: 79 rows of the new entry, 1 lone row of the old one (80).
    // Staged: 9 of the new entry, 1 of the old one: 10 = 80 / 8, due.
    for hash in 1..=79 {
        put_count(&s, feed, "paragraph_counts", hash, 1, &[2]);
    }
    put_count(&s, feed, "paragraph_counts", 500, 1, &[1]);
    for hash in 1001..=1009 {
        put_count(&s, feed, "paragraph_counts_staged", hash, 1, &[2]);
    }
    put_count(&s, feed, "paragraph_counts_staged", 1500, 1, &[1]);
    s.forget_old_keys(DateTime::from_timestamp(now, 0).unwrap()).unwrap();
    let count = |sql: &str| -> i64 { s.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM paragraph_counts WHERE hash IN (500, 1500)"), 0, "forgotten");
    assert_eq!(count("SELECT COUNT(*) FROM paragraph_counts_staged"), 0, "and merged");
    assert_eq!(count("SELECT COUNT(*) FROM paragraph_counts"), 88);
}

#[test]
fn a_young_stores_first_merge_forgets_nothing() {
    // The large table empty (a new store's first sync): its staged counts
    // are new, not read for lone ones; the tables swap.
    let (mut s, feed) = store_with_old_and_new_entry();
    let now = 100 * 86_400;
    // A count naming the old entry, staged: kept (the pass does not run).
    put_count(&s, feed, "paragraph_counts_staged", 1, 1, &[1]);
    put_count(&s, feed, "paragraph_counts_staged", 2, 1, &[2]);
    s.forget_old_keys(DateTime::from_timestamp(now, 0).unwrap()).unwrap();
    let hashes: Vec<i64> = s
        .conn
        .prepare("SELECT hash FROM paragraph_counts ORDER BY hash")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(hashes, vec![1, 2]);
}

/// The large paragraph-count table and its staged one: the root page of
/// each (which a swap exchanges), and each one's rows (hash, entries).
#[allow(clippy::type_complexity)]
fn count_tables(s: &Store) -> ((i64, i64), Vec<(i64, i64)>, Vec<(i64, i64)>) {
    let root = |name: &str| -> i64 {
        s.conn.query_row("SELECT rootpage FROM sqlite_schema WHERE name = ?1", [name], |r| r.get(0)).unwrap()
    };
    let rows = |table: &str| -> Vec<(i64, i64)> {
        s.conn
            .prepare(&format!("SELECT hash, entries FROM {table} ORDER BY hash"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    (
        (root("paragraph_counts"), root("paragraph_counts_staged")),
        rows("paragraph_counts"),
        rows("paragraph_counts_staged"),
    )
}

#[test]
fn lone_counts_that_are_most_of_the_large_table_go_by_keeping_the_others() {
    // store::dedup::forget_large_lone_paragraphs: after weeks without a
    // sync, the lone paragraphs past the horizon are most of the large
    // table. Its other rows move into the staged table (whose row of the
    // same paragraph wins), which takes its place; what is left is what
    // deleting the lone ones one by one leaves. In a sync's end, and with
    // too few rows held, so that the others are read again.
    for held_most in [None, Some(8)] {
        let (mut s, feed) = store_with_old_and_new_entry();
        let day = 86_400;
        let now = 100 * day;
        for hash in 1..=100 {
            put_count(&s, feed, "paragraph_counts", hash, 1, &[1]);
        }
        for hash in 1001..=1030 {
            put_count(&s, feed, "paragraph_counts", hash, 2, &[1, 2]);
        }
        put_count(&s, feed, "paragraph_counts", 1100, 1, &[2]); // lone, but first seen since

        // A count of a feed deleted behind syndic's back (foreign keys
        // off): it does not move (it would fail the sync's end).
        s.conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        put_count(&s, 999_999, "paragraph_counts", 1200, 2, &[1, 2]);
        s.conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        for hash in 2001..=2020 {
            put_count(&s, feed, "paragraph_counts_staged", hash, 1, &[2]);
        }
        put_count(&s, feed, "paragraph_counts_staged", 1001, 3, &[1, 2]); // goes on from the large row
        put_count(&s, feed, "paragraph_counts_staged", 50, 2, &[1, 2]); // goes on from a lone one
        put_count(&s, feed, "paragraph_counts_staged", 3000, 1, &[1]); // lone too, staged: forgotten
                                                                       // Due to merge (23 staged: an eighth of 131 or more).
        let ((_, staged_root), _, _) = count_tables(&s);
        match held_most {
            None => {
                s.forget_old_keys(DateTime::from_timestamp(now, 0).unwrap()).unwrap();
            }
            Some(most) => {
                let cutoff = now - 37 * day;
                assert_eq!(
                    super::dedup::forget_lone_paragraphs(&s.conn, "paragraph_counts_staged", cutoff).unwrap(),
                    1
                );
                let forgotten = super::dedup::forget_large_lone_paragraphs_holding(&s.conn, cutoff, most).unwrap();
                // 100 lone, the large row of 1001, which the staged one
                // replaces, and the deleted feed's.
                assert_eq!(forgotten, 102);
            }
        }
        let ((large, staged), kept, left) = count_tables(&s);
        assert_eq!(large, staged_root, "the staged table took the large one's place");
        assert_ne!(staged, staged_root);
        assert!(left.is_empty(), "{left:?}");
        let mut wanted = vec![(50, 2), (1001, 3)];
        wanted.extend((1002..=1030).map(|h| (h, 2)));
        wanted.push((1100, 1));
        wanted.extend((2001..=2020).map(|h| (h, 1)));
        assert_eq!(kept, wanted);
        // The schema reads as migration 018 wrote it: each table's partial
        // index under its own name.
        let indexes: Vec<(String, String)> = s
            .conn
            .prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'paragraph_counts%' ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let named = |i: &str, t: &str| (i.to_string(), t.to_string());
        assert!(indexes.contains(&named("paragraph_counts_boilerplate", "paragraph_counts")), "{indexes:?}");
        assert!(
            indexes.contains(&named("paragraph_counts_staged_boilerplate", "paragraph_counts_staged")),
            "{indexes:?}"
        );
        // And the staged table takes rows again, its feed's deletion
        // cascading.
        put_count(&s, feed, "paragraph_counts_staged", 5000, 1, &[2]);
        s.conn.execute("DELETE FROM feeds WHERE id = ?1", [feed]).unwrap();
        let ((_, _), kept, left) = count_tables(&s);
        assert!(kept.is_empty() && left.is_empty(), "{kept:?} {left:?}");
    }
}

#[test]
fn lone_counts_that_are_fewer_than_half_of_the_large_table_go_one_by_one() {
    // The other way: 40 lone rows past the horizon of 100 are deleted
    // where they are (those held, or, past what is held, found again);
    // the large table stays and the staged rows are merged into it.
    for held_most in [65_536, 10] {
        let (mut s, feed) = store_with_old_and_new_entry();
        let day = 86_400;
        let now = 100 * day;
        for hash in 1..=40 {
            put_count(&s, feed, "paragraph_counts", hash, 1, &[1]);
        }
        for hash in 1001..=1060 {
            put_count(&s, feed, "paragraph_counts", hash, 2, &[1, 2]);
        }
        let ((large_root, _), _, _) = count_tables(&s);
        let forgotten = super::dedup::forget_large_lone_paragraphs_holding(&s.conn, now - 37 * day, held_most).unwrap();
        assert_eq!(forgotten, 40);
        let ((large, _), kept, left) = count_tables(&s);
        assert_eq!(large, large_root, "deleted in place");
        assert!(left.is_empty());
        assert_eq!(kept, (1001..=1060).map(|h| (h, 2)).collect::<Vec<_>>());
        // And in a sync's end: the staged rows merged into the large table.
        for hash in 1..=40 {
            put_count(&s, feed, "paragraph_counts", hash, 1, &[1]);
        }
        for hash in 2001..=2020 {
            put_count(&s, feed, "paragraph_counts_staged", hash, 1, &[2]);
        }
        s.forget_old_keys(DateTime::from_timestamp(now, 0).unwrap()).unwrap();
        let ((large, _), kept, left) = count_tables(&s);
        assert_eq!(large, large_root, "merged into");
        assert!(left.is_empty());
        let mut wanted: Vec<(i64, i64)> = (1001..=1060).map(|h| (h, 2)).collect();
        wanted.extend((2001..=2020).map(|h| (h, 1)));
        assert_eq!(kept, wanted);
    }
}
