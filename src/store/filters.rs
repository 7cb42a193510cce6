//! The `filtered` flag of entries (see [`crate::filters`]): evaluated for
//! new entries after each sync, for all of them when the rules change.

use rusqlite::params;

use super::{Result, Store};
use crate::filters::EntryText;

/// The meta key holding the fingerprint of the filter rules in force.
const FINGERPRINT_KEY: &str = "filters_fingerprint";

/// What [`Store::apply_filters`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterReport {
    /// Entries evaluated.
    pub evaluated: usize,
    /// Entries whose flag changed.
    pub changed: usize,
    /// The rules had changed, so every entry was evaluated.
    pub all: bool,
}

impl Store {
    /// Sets the `filtered` flag with `is_excluded` (given the entry's feed
    /// URL and text): for every entry when `fingerprint` differs from the
    /// rules last applied, else for the entries not evaluated yet. One
    /// transaction; only changed flags are written.
    pub fn apply_filters(
        &mut self,
        fingerprint: &str,
        is_excluded: impl Fn(&str, &EntryText) -> bool,
    ) -> Result<FilterReport> {
        let all = self.meta(FINGERPRINT_KEY)?.as_deref() != Some(fingerprint);
        let tx = self.conn.transaction()?;
        let mut report = FilterReport { all, ..FilterReport::default() };
        // Decisions first, writes after: rows are not updated under a
        // running scan of the index they leave.
        let mut changes: Vec<(i64, bool)> = Vec::new();
        {
            let which = if all { "1 = 1" } else { "e.filtered IS NULL" };
            let mut select = tx.prepare(&format!(
                "SELECT e.id, f.url, e.title, COALESCE(e.author, ''), COALESCE(e.summary_text, ''),
                        COALESCE(e.content_text, ''), e.filtered
                 FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE {which}"
            ))?;
            let mut rows = select.query([])?;
            while let Some(r) = rows.next()? {
                let (title, author, summary, content): (String, String, String, String) =
                    (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
                let text = EntryText { title: &title, author: &author, summary: &summary, content: &content };
                let excluded = is_excluded(&r.get::<_, String>(1)?, &text);
                if r.get::<_, Option<bool>>(6)? != Some(excluded) {
                    changes.push((r.get(0)?, excluded));
                }
                report.evaluated += 1;
            }
        }
        {
            let mut update = tx.prepare("UPDATE entries SET filtered = ?2 WHERE id = ?1")?;
            for (id, excluded) in &changes {
                update.execute(params![id, excluded])?;
            }
        }
        report.changed = changes.len();
        if all {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![FINGERPRINT_KEY, fingerprint],
            )?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Marks every entry shown, as no rule is configured (`fingerprint`
    /// records that): two statements, no entry read into memory.
    pub fn clear_filters(&mut self, fingerprint: &str) -> Result<FilterReport> {
        let all = self.meta(FINGERPRINT_KEY)?.as_deref() != Some(fingerprint);
        let tx = self.conn.transaction()?;
        let which = if all { "filtered IS NOT 0" } else { "filtered IS NULL" };
        let changed = tx.execute(&format!("UPDATE entries SET filtered = 0 WHERE {which}"), [])?;
        if all {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![FINGERPRINT_KEY, fingerprint],
            )?;
        }
        tx.commit()?;
        Ok(FilterReport { evaluated: changed, changed, all })
    }

    /// How many stored entries the filters hide.
    pub fn filtered_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM entries WHERE filtered = 1", [], |r| r.get::<_, i64>(0))? as u64)
    }
}
