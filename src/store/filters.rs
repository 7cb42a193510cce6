//! Which entries `[filters]` hide (see [`crate::filters`]): the table
//! `filtered_entries`, brought up to date for the queued entries (new or
//! changed) after each sync, and for every entry when the rules change.

use std::collections::HashSet;

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
        let tx = self.conn.transaction()?;
        let mut report = FilterReport { all, ..FilterReport::default() };
        let hidden: HashSet<i64> = {
            let mut stmt = tx.prepare("SELECT entry_id FROM filtered_entries")?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            ids
        };
        // Decisions first, writes after: no table is written under its own scan.
        let mut decisions: Vec<(i64, bool)> = Vec::new();
        {
            let which = if all { "" } else { "JOIN filter_queue q ON q.entry_id = e.id" };
            let mut select = tx.prepare(&format!(
                "SELECT e.id, f.url, e.title, COALESCE(e.author, ''), COALESCE(e.summary_text, ''),
                        COALESCE(e.content_text, '')
                 FROM entries e {which} JOIN feeds f ON f.id = e.feed_id"
            ))?;
            let mut rows = select.query([])?;
            while let Some(r) = rows.next()? {
                let (title, author, summary, content): (String, String, String, String) =
                    (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
                let text = EntryText { title: &title, author: &author, summary: &summary, content: &content };
                let excluded = is_excluded(&r.get::<_, String>(1)?, &text);
                let id: i64 = r.get(0)?;
                if excluded != hidden.contains(&id) {
                    decisions.push((id, excluded));
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
        let tx = self.conn.transaction()?;
        let changed = tx.execute("DELETE FROM filtered_entries", [])?;
        let evaluated = tx.execute("DELETE FROM filter_queue", [])?;
        if all {
            set_fingerprint(&tx, fingerprint)?;
        }
        tx.commit()?;
        Ok(FilterReport { evaluated, changed, all })
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
