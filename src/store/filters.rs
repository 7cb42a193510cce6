//! Which entries `[filters]` hide (see [`crate::filters`]): the table
//! `filtered_entries`, brought up to date for the queued entries (new or
//! changed) after each sync, for every entry when the global rules change,
//! and for a feed's entries when its own rules change.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{Result, Store};
use crate::filters::EntryText;

/// The meta key holding the fingerprint of the filter rules in force.
const FINGERPRINT_KEY: &str = "filters_fingerprint";

/// SQL condition, on an entry `e`, that holds unless `[filters]` hide it.
pub(super) const NOT_FILTERED: &str = "NOT EXISTS (SELECT 1 FROM filtered_entries h WHERE h.entry_id = e.id)";

/// What [`Store::apply_filters`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterReport {
    /// Entries evaluated.
    pub evaluated: usize,
    /// Entries hidden or shown again.
    pub changed: usize,
    /// The rules had changed, so every entry was evaluated.
    pub all: bool,
}

impl Store {
    /// Decides with `is_excluded` (given the entry's feed URL and text)
    /// which entries are hidden: every entry when `fingerprint` (of the
    /// global rules) differs from the one last applied; else the queued ones
    /// and those of the feeds whose own rules changed (`feed_rules`: each
    /// configured feed with rules of its own, by URL, with a fingerprint of
    /// them; a feed not listed has none). One transaction.
    pub fn apply_filters(
        &mut self,
        fingerprint: &str,
        feed_rules: &HashMap<&str, String>,
        is_excluded: impl Fn(&str, &EntryText) -> bool,
    ) -> Result<FilterReport> {
        let all = self.meta(FINGERPRINT_KEY)?.as_deref() != Some(fingerprint);
        let stale = self.feeds_with_changed_rules(feed_rules, all)?;
        // The usual case for a read command: nothing new since the last time,
        // and no write lock taken.
        if !all && stale.is_empty() && !self.has_queue()? {
            return Ok(FilterReport::default());
        }
        // Immediate: the write lock is taken (waiting for another writer)
        // before the reads the writes depend on.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The lock may have been waited for while a sync trained the store's
        // dictionary: its texts must not be judged by their titles alone.
        super::dictionary::load_text_dictionaries(&tx)?;
        let mut report = FilterReport { all, ..FilterReport::default() };
        // Decisions first, writes after: no table is written under its own scan.
        let mut decisions: Vec<(i64, bool)> = Vec::new();
        let mut seen: HashSet<i64> = HashSet::new();
        let select = |which: &str| {
            format!(
                "SELECT e.id, f.url, e.title, COALESCE(e.author, ''), e.body, h.entry_id IS NOT NULL
                 FROM entries e {which} JOIN feeds f ON f.id = e.feed_id
                 LEFT JOIN filtered_entries h ON h.entry_id = e.id"
            )
        };
        // Every entry; or the queued ones, then those of each feed whose rules changed.
        let mut passes: Vec<(String, Option<i64>)> = Vec::new();
        if all {
            passes.push((select(""), None));
        } else {
            passes.push((select("JOIN filter_queue q ON q.entry_id = e.id"), None));
            for (feed_id, _) in &stale {
                passes.push((format!("{} WHERE e.feed_id = ?1", select("")), Some(*feed_id)));
            }
        }
        for (sql, feed_id) in &passes {
            let mut select = tx.prepare(sql)?;
            let mut rows = match feed_id {
                Some(id) => select.query([id])?,
                None => select.query([])?,
            };
            while let Some(r) = rows.next()? {
                // (Not when every entry is read in one pass: no set of a million ids.)
                if !all && !seen.insert(r.get(0)?) {
                    continue;
                }
                let (title, author): (String, String) = (r.get(2)?, r.get(3)?);
                // A damaged text is judged by the title and author: failing
                // here would stop every command that shows entries, and the
                // sync that mends it.
                let plain = super::entries::plain_texts(r.get_ref(4)?, usize::MAX).unwrap_or_else(|e| {
                    let error = crate::error::StoreError::from(e);
                    tracing::warn!(entry = r.get::<_, i64>(0).unwrap_or_default(), %error, "filtered by its title and author only");
                    Default::default()
                });
                let (summary, content) = (plain.summary.unwrap_or_default(), plain.content.unwrap_or_default());
                let text = EntryText { title: &title, author: &author, summary: &summary, content: &content };
                let excluded = is_excluded(&r.get::<_, String>(1)?, &text);
                if excluded != r.get::<_, bool>(5)? {
                    decisions.push((r.get(0)?, excluded));
                }
                report.evaluated += 1;
            }
        }
        write_decisions(&tx, &decisions)?;
        report.changed = decisions.len();
        tx.execute("DELETE FROM filter_queue", [])?;
        {
            let mut record = tx.prepare_cached("UPDATE feeds SET filters_key = ?2 WHERE id = ?1")?;
            for (feed_id, key) in &stale {
                record.execute(params![feed_id, key])?;
            }
        }
        if all {
            set_fingerprint(&tx, fingerprint)?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// The feeds whose recorded rules differ from `feed_rules` (every feed
    /// with rules recorded or configured when `all`), with the fingerprint
    /// to record. Reads only the feeds that have rules, recorded or configured.
    fn feeds_with_changed_rules(
        &self,
        feed_rules: &HashMap<&str, String>,
        all: bool,
    ) -> Result<Vec<(i64, Option<String>)>> {
        let mut stale = Vec::new();
        let mut recorded =
            self.conn.prepare_cached("SELECT id, url, filters_key FROM feeds WHERE filters_key IS NOT NULL")?;
        let rows =
            recorded.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        let mut done: HashSet<String> = HashSet::new();
        for row in rows {
            let (id, url, key) = row?;
            let wanted = feed_rules.get(url.as_str());
            if all || wanted != Some(&key) {
                stale.push((id, wanted.cloned()));
            }
            done.insert(url);
        }
        let mut by_url = self.conn.prepare_cached("SELECT id FROM feeds WHERE url = ?1")?;
        for (url, key) in feed_rules {
            if done.contains(*url) {
                continue;
            }
            // Configured with rules, none recorded yet.
            if let Some(id) = by_url.query_row([url], |r| r.get::<_, i64>(0)).optional()? {
                stale.push((id, Some(key.clone())));
            }
        }
        stale.sort_unstable();
        Ok(stale)
    }

    /// No rule is configured: nothing is hidden and nothing needs evaluating
    /// (`fingerprint` records that). Three statements, no entry read.
    pub fn clear_filters(&mut self, fingerprint: &str) -> Result<FilterReport> {
        let all = self.meta(FINGERPRINT_KEY)?.as_deref() != Some(fingerprint);
        // Without rules nothing was hidden since they were recorded.
        if !all && !self.has_queue()? {
            return Ok(FilterReport::default());
        }
        let tx = self.conn.transaction()?;
        let changed = tx.execute("DELETE FROM filtered_entries", [])?;
        let evaluated = tx.execute("DELETE FROM filter_queue", [])?;
        tx.execute("UPDATE feeds SET filters_key = NULL WHERE filters_key IS NOT NULL", [])?;
        if all {
            set_fingerprint(&tx, fingerprint)?;
        }
        tx.commit()?;
        Ok(FilterReport { evaluated, changed, all })
    }

    /// Returns true if and only if some entry waits to be evaluated.
    fn has_queue(&self) -> Result<bool> {
        Ok(self.conn.prepare_cached("SELECT 1 FROM filter_queue LIMIT 1")?.exists([])?)
    }

    /// How many stored entries the filters hide.
    pub fn filtered_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM filtered_entries", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

fn write_decisions(tx: &Transaction, decisions: &[(i64, bool)]) -> Result<()> {
    let mut hide = tx.prepare("INSERT OR IGNORE INTO filtered_entries (entry_id) VALUES (?1)")?;
    let mut show = tx.prepare("DELETE FROM filtered_entries WHERE entry_id = ?1")?;
    for (id, excluded) in decisions {
        if *excluded {
            hide.execute([id])?;
        } else {
            show.execute([id])?;
        }
    }
    Ok(())
}

fn set_fingerprint(tx: &Transaction, fingerprint: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![FINGERPRINT_KEY, fingerprint],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{DateSource, EntryKey, NewEntry};
    use crate::store::{FetchState, TaggedEntry};

    fn entry(key: &str, title: &str, day: u32) -> TaggedEntry {
        TaggedEntry::new(
            NewEntry {
                key: EntryKey(key.into()),
                title: title.into(),
                url: None,
                author: None,
                published: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
                date_source: DateSource::Published,
                summary_html: None,
                summary_text: None,
                content_html: None,
                content_text: Some(format!("{title}: a text of its own, long enough to stand alone.")),
                source_url: None,
                text_hash: None,
                item_hash: None,
            },
            vec![],
        )
    }

    /// Hides titles starting with "Ad"; counts how many entries it is asked about.
    fn rule(asked: &std::cell::Cell<usize>) -> impl Fn(&str, &EntryText) -> bool + '_ {
        move |_, t| {
            asked.set(asked.get() + 1);
            t.title.starts_with("Ad")
        }
    }

    fn hidden(s: &Store) -> Vec<String> {
        let mut stmt = s
            .conn
            .prepare("SELECT e.title FROM filtered_entries h JOIN entries e ON e.id = h.entry_id ORDER BY e.title")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    /// A feed's own rules added, changed or removed (the feed gone from
    /// feeds.toml): its entries are evaluated, no other feed's.
    #[test]
    fn a_feeds_own_rules_changing_evaluates_its_entries_only() {
        let mut s = Store::open_in_memory().unwrap();
        let urls = ["https://a.example/feed", "https://b.example/feed"];
        let feeds = s.upsert_feeds(&urls.map(|u| (u.to_string(), None))).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        s.save_feed(feeds[0].id, &FetchState::default(), &[entry("1", "Ad: buy", 1), entry("2", "News", 2)], now)
            .unwrap();
        s.save_feed(feeds[1].id, &FetchState::default(), &[entry("3", "Ad: sell", 1), entry("4", "Sport", 2)], now)
            .unwrap();
        // Global rules hide nothing; feed b's own rule hides its "Ad" titles.
        let asked = std::cell::Cell::new(0);
        let rules =
            |b: Option<&str>| -> HashMap<&str, String> { b.map(|k| (urls[1], k.to_string())).into_iter().collect() };
        let by_feed = |b_hides: bool| {
            let asked = &asked;
            move |url: &str, t: &EntryText| {
                asked.set(asked.get() + 1);
                b_hides && url == urls[1] && t.title.starts_with("Ad")
            }
        };
        let r = s.apply_filters("g", &rules(Some("b1")), by_feed(true)).unwrap();
        assert_eq!((r.all, r.evaluated, asked.get()), (true, 4, 4));
        assert_eq!(hidden(&s), ["Ad: sell"]);
        assert_eq!(s.apply_filters("g", &rules(Some("b1")), by_feed(true)).unwrap(), FilterReport::default());
        // Feed b's rules change: its two entries only.
        let r = s.apply_filters("g", &rules(Some("b2")), by_feed(true)).unwrap();
        assert_eq!((r.all, r.evaluated, asked.get()), (false, 2, 6));
        // Feed b has no rules of its own any more (or left feeds.toml): its entries again, shown.
        let r = s.apply_filters("g", &rules(None), by_feed(false)).unwrap();
        assert_eq!((r.all, r.evaluated, r.changed, asked.get()), (false, 2, 1, 8));
        assert!(hidden(&s).is_empty());
        assert_eq!(s.apply_filters("g", &rules(None), by_feed(false)).unwrap(), FilterReport::default());
        // A new entry of feed a and new rules for b: the queued entry and b's two.
        s.save_feed(feeds[0].id, &FetchState::default(), &[entry("5", "Ad: new", 3)], now).unwrap();
        let r = s.apply_filters("g", &rules(Some("b3")), by_feed(true)).unwrap();
        assert_eq!((r.evaluated, asked.get()), (3, 11));
        assert_eq!(hidden(&s), ["Ad: sell"]);
    }

    #[test]
    fn only_queued_entries_are_evaluated_until_the_rules_change() {
        let mut s = Store::open_in_memory().unwrap();
        let feed = s.upsert_feeds(&[("https://a.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        s.save_feed(feed, &FetchState::default(), &[entry("1", "Ad: buy", 1), entry("2", "News", 2)], now).unwrap();
        let asked = std::cell::Cell::new(0);

        // First time: the rules are new, every entry is evaluated.
        let r = s.apply_filters("v1", &HashMap::new(), rule(&asked)).unwrap();
        assert_eq!((r.all, r.evaluated, r.changed, asked.get()), (true, 2, 1, 2));
        assert_eq!(hidden(&s), ["Ad: buy"]);
        // Nothing new: nothing evaluated.
        let r = s.apply_filters("v1", &HashMap::new(), rule(&asked)).unwrap();
        assert_eq!((r.all, r.evaluated, asked.get()), (false, 0, 2));
        // A new entry and one changed at its source: those two only.
        s.save_feed(feed, &FetchState::default(), &[entry("2", "Ad: now", 2), entry("3", "More news", 3)], now)
            .unwrap();
        let r = s.apply_filters("v1", &HashMap::new(), rule(&asked)).unwrap();
        assert_eq!((r.evaluated, r.changed, asked.get()), (2, 1, 4));
        assert_eq!(hidden(&s), ["Ad: buy", "Ad: now"]);
        // No rules any more: nothing hidden, nothing to evaluate.
        let r = s.clear_filters("none").unwrap();
        assert_eq!((r.all, r.changed), (true, 2));
        assert!(hidden(&s).is_empty());
        assert_eq!(s.clear_filters("none").unwrap(), FilterReport::default());
        // Deleting an entry takes its rows along.
        s.apply_filters("v2", &HashMap::new(), rule(&asked)).unwrap();
        s.conn.execute("DELETE FROM entries WHERE entry_key = '1'", []).unwrap();
        assert_eq!(hidden(&s), ["Ad: now"]);
    }
}
