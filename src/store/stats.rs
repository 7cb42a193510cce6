//! The counts behind `syndic stats`, grouped by day in SQL so that a long
//! window over a large store returns a few hundred rows, not its entries.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{from_unix, Result, Store};

/// The window and grouping of a stats query.
#[derive(Debug, Clone, Copy)]
pub struct StatsQuery {
    /// Entries published at or after this time...
    pub since: DateTime<Utc>,
    /// ...and before this one.
    pub until: DateTime<Utc>,
    /// Seconds added to a time before cutting it into days (the local zone).
    pub offset_secs: i64,
    pub include_filtered: bool,
}

/// Stories (originals) of one topic published on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDay {
    pub topic: String,
    /// Days since 1970-01-01 in the query's zone.
    pub day: i64,
    pub stories: u64,
}

/// One feed's entries on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedDay {
    pub feed_url: String,
    pub day: i64,
    pub entries: u64,
    /// Of them, copies of another feed's story.
    pub copies: u64,
    /// Of them, originals that other feeds copied.
    pub copied: u64,
}

/// A story and how many other feeds carried it.
#[derive(Debug, Clone)]
pub struct Republished {
    pub id: i64,
    pub title: String,
    pub feed: String,
    pub published: DateTime<Utc>,
    pub copies: u64,
}

/// A feed, its name and its newest entry.
#[derive(Debug, Clone)]
pub struct FeedActivity {
    pub url: String,
    pub name: String,
    pub last_published: Option<DateTime<Utc>>,
}

impl Store {
    /// Stories per topic and day (a story is in the topics of its original
    /// and of its copies).
    pub fn stories_per_topic_day(&self, q: &StatsQuery) -> Result<Vec<TopicDay>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.topic, (r.published + ?3) / 86400 AS day, COUNT(DISTINCT r.id)
             FROM entries r
             JOIN entries x ON x.id = r.id OR x.duplicate_of = r.id
             JOIN entry_topics t ON t.entry_id = x.id
             WHERE r.duplicate_of IS NULL AND r.published >= ?1 AND r.published < ?2
               AND (?4 OR NOT EXISTS (SELECT 1 FROM filtered_entries h WHERE h.entry_id = r.id))
             GROUP BY t.topic, day ORDER BY t.topic, day",
        )?;
        let rows = stmt
            .query_map(params![q.since.timestamp(), q.until.timestamp(), q.offset_secs, q.include_filtered], |r| {
                Ok(TopicDay { topic: r.get(0)?, day: r.get(1)?, stories: r.get::<_, i64>(2)? as u64 })
            })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stories (originals) per day, whatever their topic.
    pub fn stories_per_day(&self, q: &StatsQuery) -> Result<Vec<(i64, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT (published + ?3) / 86400 AS day, COUNT(*) FROM entries
             WHERE duplicate_of IS NULL AND published >= ?1 AND published < ?2 AND (?4 OR NOT EXISTS (SELECT 1 FROM filtered_entries h WHERE h.entry_id = entries.id))
             GROUP BY day ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![q.since.timestamp(), q.until.timestamp(), q.offset_secs, q.include_filtered], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Entries per feed and day, with how many are copies and how many
    /// were copied.
    pub fn entries_per_feed_day(&self, q: &StatsQuery) -> Result<Vec<FeedDay>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.url, (e.published + ?3) / 86400 AS day, COUNT(*),
                    SUM(e.duplicate_of IS NOT NULL),
                    SUM(EXISTS (SELECT 1 FROM entries c WHERE c.duplicate_of = e.id))
             FROM entries e JOIN feeds f ON f.id = e.feed_id
             WHERE e.published >= ?1 AND e.published < ?2 AND (?4 OR NOT EXISTS (SELECT 1 FROM filtered_entries h WHERE h.entry_id = e.id))
             GROUP BY f.url, day ORDER BY f.url, day",
        )?;
        let rows = stmt.query_map(
            params![q.since.timestamp(), q.until.timestamp(), q.offset_secs, q.include_filtered],
            |r| {
                Ok(FeedDay {
                    feed_url: r.get(0)?,
                    day: r.get(1)?,
                    entries: r.get::<_, i64>(2)? as u64,
                    copies: r.get::<_, i64>(3)? as u64,
                    copied: r.get::<_, i64>(4)? as u64,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The stories of the window with the most copies, most first.
    pub fn most_republished(&self, q: &StatsQuery, limit: usize) -> Result<Vec<Republished>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.title, COALESCE(f.name, f.title, f.url), e.published, COUNT(*) AS n
             FROM entries e JOIN entries c ON c.duplicate_of = e.id JOIN feeds f ON f.id = e.feed_id
             WHERE e.published >= ?1 AND e.published < ?2 AND (?3 OR NOT EXISTS (SELECT 1 FROM filtered_entries h WHERE h.entry_id = e.id))
             GROUP BY e.id ORDER BY n DESC, e.published DESC, e.id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![q.since.timestamp(), q.until.timestamp(), q.include_filtered, limit.min(i64::MAX as usize) as i64],
            |r| {
                Ok(Republished {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    feed: r.get(2)?,
                    published: from_unix(r.get(3)?).unwrap_or_default(),
                    copies: r.get::<_, i64>(4)? as u64,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every feed with the date of its newest entry (an index lookup each).
    pub fn feed_activity(&self) -> Result<Vec<FeedActivity>> {
        let mut stmt = self.conn.prepare(
            "SELECT f.url, COALESCE(f.name, f.title, f.url),
                    (SELECT MAX(e.published) FROM entries e WHERE e.feed_id = f.id)
             FROM feeds f ORDER BY f.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeedActivity {
                url: r.get(0)?,
                name: r.get(1)?,
                last_published: r.get::<_, Option<i64>>(2)?.and_then(from_unix),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
