//! Which entries `[filters]` hide (see [`crate::filters`]): the table
//! `filtered_entries`, brought up to date for the queued entries (new or
//! changed) after each sync, and for every entry when the rules change.

use rusqlite::{params, Transaction};

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
    /// which entries are hidden: every entry when `fingerprint` differs from
    /// the rules last applied, else the queued ones. One transaction.
    pub fn apply_filters(
        &mut self,
        fingerprint: &str,
        is_excluded: impl Fn(&str, &EntryText) -> bool,
    ) -> Result<FilterReport> {
        let all = self.meta(FINGERPRINT_KEY)?.as_deref() != Some(fingerprint);
        // The usual case for a read command: nothing new since the last time,
        // and no write lock taken.
        if !all && !self.has_queue()? {
            return Ok(FilterReport::default());
        }
        let tx = self.conn.transaction()?;
        let mut report = FilterReport { all, ..FilterReport::default() };
        // Decisions first, writes after: no table is written under its own scan.
        let mut decisions: Vec<(i64, bool)> = Vec::new();
        {
            let which = if all { "" } else { "JOIN filter_queue q ON q.entry_id = e.id" };
            let mut select = tx.prepare(&format!(
                "SELECT e.id, f.url, e.title, COALESCE(e.author, ''), e.body, h.entry_id IS NOT NULL
                 FROM entries e {which} JOIN feeds f ON f.id = e.feed_id
                 LEFT JOIN filtered_entries h ON h.entry_id = e.id"
            ))?;
            let mut rows = select.query([])?;
            while let Some(r) = rows.next()? {
                let (title, author): (String, String) = (r.get(2)?, r.get(3)?);
                let plain = super::entries::plain_texts(r.get_ref(4)?, usize::MAX)?;
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
        if all {
            set_fingerprint(&tx, fingerprint)?;
        }
        tx.commit()?;
        Ok(report)
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

    #[test]
    fn only_queued_entries_are_evaluated_until_the_rules_change() {
        let mut s = Store::open_in_memory().unwrap();
        let feed = s.upsert_feeds(&[("https://a.example/feed".into(), None)]).unwrap()[0].id;
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        s.save_feed(feed, &FetchState::default(), &[entry("1", "Ad: buy", 1), entry("2", "News", 2)], now).unwrap();
        let asked = std::cell::Cell::new(0);

        // First time: the rules are new, every entry is evaluated.
        let r = s.apply_filters("v1", rule(&asked)).unwrap();
        assert_eq!((r.all, r.evaluated, r.changed, asked.get()), (true, 2, 1, 2));
        assert_eq!(hidden(&s), ["Ad: buy"]);
        // Nothing new: nothing evaluated.
        let r = s.apply_filters("v1", rule(&asked)).unwrap();
        assert_eq!((r.all, r.evaluated, asked.get()), (false, 0, 2));
        // A new entry and one changed at its source: those two only.
        s.save_feed(feed, &FetchState::default(), &[entry("2", "Ad: now", 2), entry("3", "More news", 3)], now)
            .unwrap();
        let r = s.apply_filters("v1", rule(&asked)).unwrap();
        assert_eq!((r.evaluated, r.changed, asked.get()), (2, 1, 4));
        assert_eq!(hidden(&s), ["Ad: buy", "Ad: now"]);
        // No rules any more: nothing hidden, nothing to evaluate.
        let r = s.clear_filters("none").unwrap();
        assert_eq!((r.all, r.changed), (true, 2));
        assert!(hidden(&s).is_empty());
        assert_eq!(s.clear_filters("none").unwrap(), FilterReport::default());
        // Deleting an entry takes its rows along.
        s.apply_filters("v2", rule(&asked)).unwrap();
        s.conn.execute("DELETE FROM entries WHERE entry_key = '1'", []).unwrap();
        assert_eq!(hidden(&s), ["Ad: now"]);
    }
}
