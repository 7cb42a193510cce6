//! Read queries: list, search, show. Copies are folded into their original
//! (one row per story) unless the query asks for all entries.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension};

use super::{from_unix, Result, Store};
use crate::error::StoreError;
use crate::model::EntryId;
use crate::text::unspace_cjk;

/// Longest summary carried by a listed row, in characters.
pub const SUMMARY_CHARS: usize = 300;

/// Marks the start of a highlighted match in a search snippet.
pub const HIGHLIGHT_START: char = '\u{1}';
/// Marks the end of a highlighted match in a search snippet.
pub const HIGHLIGHT_END: char = '\u{2}';

/// Column weights for bm25: a title match counts far more than a body match.
const BM25_WEIGHTS: (f64, f64, f64) = (10.0, 3.0, 1.0);

/// Filters shared by `list`, `search` and `export json`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Stories in any of these topics (a story is in a topic when its
    /// original or one of its copies is).
    pub topics: Vec<String>,
    /// Only entries of these feeds (by feed URL); copies are then listed
    /// as the feed's own entries.
    pub feed_urls: Vec<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
    /// List copies too, each as its own row.
    pub all: bool,
    /// Include entries that `[filters]` hide.
    pub include_filtered: bool,
    /// Only stories no member of which has been read.
    pub unread: bool,
    /// Only entries first seen (stored) at or after this time.
    pub seen_since: Option<DateTime<Utc>>,
    /// Only entries first seen (stored) before this time.
    pub seen_until: Option<DateTime<Utc>>,
}

/// One listed entry (a story's original, or any entry with `all`).
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: EntryId,
    pub feed: String,
    pub feed_url: String,
    pub title: String,
    pub url: Option<String>,
    pub author: Option<String>,
    pub published: DateTime<Utc>,
    pub topics: Vec<String>,
    /// Plain text, at most [`SUMMARY_CHARS`] characters.
    pub summary: String,
    pub duplicate_of: Option<EntryId>,
    /// Number of copies of an original (0 for a copy).
    pub copies: u32,
    pub attribution: Option<String>,
    /// Its story has been read (see `store::reading`).
    pub read: bool,
}

/// A search result: the story's row, the best-matching snippet and score.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub row: EntryRow,
    /// Text around the match, matches between [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`].
    pub snippet: String,
    /// Relevance (negated bm25): higher is better.
    pub score: f64,
}

/// Another place of the same story.
#[derive(Debug, Clone)]
pub struct Related {
    pub id: EntryId,
    pub feed: String,
    pub title: String,
    pub url: Option<String>,
    pub published: DateTime<Utc>,
    pub attribution: Option<String>,
    pub reason: Option<String>,
}

/// Everything `show` prints about one entry.
#[derive(Debug, Clone)]
pub struct EntryDetail {
    pub row: EntryRow,
    pub text: String,
    pub content_html: Option<String>,
    pub source_url: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub date_source: String,
    /// For a copy: its original.
    pub original: Option<Related>,
    /// For an original: its copies; for a copy: the story's other copies.
    pub copies: Vec<Related>,
}

/// A user query that FTS5 could not take.
#[derive(Debug, thiserror::Error)]
#[error("cannot search for {query:?}: {reason}")]
pub struct BadQuery {
    pub query: String,
    pub reason: String,
}

const ROW_COLUMNS: &str = "e.id, COALESCE(f.name, f.title, f.url), f.url, e.title, e.url, e.author, e.published,
     substr(COALESCE(e.summary_text, e.content_text, ''), 1, 4 * 300), e.duplicate_of, e.attribution,
     (SELECT COUNT(*) FROM entries c WHERE c.duplicate_of = e.id)";

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    let summary: String = r.get(7)?;
    Ok(EntryRow {
        id: EntryId(r.get(0)?),
        feed: r.get(1)?,
        feed_url: r.get(2)?,
        title: r.get(3)?,
        url: r.get(4)?,
        author: r.get(5)?,
        published: from_unix(r.get(6)?).unwrap_or_default(),
        topics: Vec::new(),
        summary: short_summary(&summary),
        duplicate_of: r.get::<_, Option<i64>>(8)?.map(EntryId),
        copies: r.get(10)?,
        attribution: r.get(9)?,
        read: false,
    })
}

/// The first paragraphs of `text`, cut at a word to at most [`SUMMARY_CHARS`].
fn short_summary(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= SUMMARY_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(SUMMARY_CHARS - 1).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > SUMMARY_CHARS / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches(|c: char| c.is_ascii_punctuation() || c == ' '))
}

/// WHERE clauses and their parameters for the filters of `q`, applied to
/// the entry `e` (the story's original unless `q.all`).
pub(super) fn filters(q: &ListQuery, sql: &mut String, params: &mut Vec<Value>) {
    if !q.all && q.feed_urls.is_empty() {
        sql.push_str(" AND e.duplicate_of IS NULL");
    }
    // [filters]: hidden unless asked for.
    if !q.include_filtered {
        sql.push_str(" AND ");
        sql.push_str(super::filters::NOT_FILTERED);
    }
    if let Some(since) = q.since {
        sql.push_str(" AND e.published >= ?");
        params.push(Value::Integer(since.timestamp()));
    }
    if let Some(until) = q.until {
        sql.push_str(" AND e.published < ?");
        params.push(Value::Integer(until.timestamp()));
    }
    if let Some(seen) = q.seen_since {
        sql.push_str(" AND e.first_seen >= ?");
        params.push(Value::Integer(seen.timestamp()));
    }
    if let Some(seen) = q.seen_until {
        sql.push_str(" AND e.first_seen < ?");
        params.push(Value::Integer(seen.timestamp()));
    }
    if q.unread {
        sql.push_str(" AND ");
        sql.push_str(super::reading::STORY_UNREAD);
    }
    if !q.feed_urls.is_empty() {
        sql.push_str(&format!(" AND f.url IN ({})", placeholders(q.feed_urls.len())));
        params.extend(q.feed_urls.iter().map(|u| Value::Text(u.clone())));
    }
    if !q.topics.is_empty() {
        let members = if q.all || !q.feed_urls.is_empty() {
            "t.entry_id = e.id"
        } else {
            "t.entry_id IN (SELECT e.id UNION ALL SELECT c.id FROM entries c WHERE c.duplicate_of = e.id)"
        };
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM entry_topics t WHERE {members} AND t.topic IN ({}))",
            placeholders(q.topics.len())
        ));
        params.extend(q.topics.iter().map(|t| Value::Text(t.clone())));
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl Store {
    /// Stories (or entries, with `all`) newest first.
    pub fn list(&self, q: &ListQuery) -> Result<Vec<EntryRow>> {
        let mut sql = format!("SELECT {ROW_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE 1 = 1");
        let mut params = Vec::new();
        filters(q, &mut sql, &mut params);
        sql.push_str(" ORDER BY e.published DESC, e.id DESC LIMIT ?");
        params.push(Value::Integer(q.limit.min(i64::MAX as usize) as i64));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows: Vec<EntryRow> =
            stmt.query_map(params_from_iter(params), row_from)?.collect::<rusqlite::Result<_>>()?;
        self.with_read(self.with_topics(rows, !q.all && q.feed_urls.is_empty())?)
    }

    /// Full-text search, best match first, copies folded into their
    /// original unless `q.all`. `fts_query` is already in FTS5 syntax.
    pub fn search(
        &self,
        fts_query: &str,
        user_query: &str,
        q: &ListQuery,
    ) -> std::result::Result<Vec<SearchHit>, SearchError> {
        let fold = !q.all && q.feed_urls.is_empty();
        let root = if fold { "COALESCE(e.duplicate_of, e.id)" } else { "e.id" };
        let (wt, ws, wc) = BM25_WEIGHTS;
        let mut sql = format!(
            "WITH hits AS (
                 SELECT rowid AS id, bm25(entries_fts, {wt}, {ws}, {wc}) AS rank,
                        snippet(entries_fts, -1, char(1), char(2), '…', 16) AS snip
                 FROM entries_fts WHERE entries_fts MATCH ?
             ),
             best AS (
                 SELECT {root} AS root, h.rank, h.snip,
                        ROW_NUMBER() OVER (PARTITION BY {root} ORDER BY h.rank, e.id) AS n
                 FROM hits h JOIN entries e ON e.id = h.id
             )
             SELECT {ROW_COLUMNS}, b.rank, b.snip
             FROM best b JOIN entries e ON e.id = b.root JOIN feeds f ON f.id = e.feed_id
             WHERE b.n = 1"
        );
        let mut params = vec![Value::Text(fts_query.to_owned())];
        filters(q, &mut sql, &mut params);
        sql.push_str(" ORDER BY b.rank, e.published DESC LIMIT ?");
        params.push(Value::Integer(q.limit.min(i64::MAX as usize) as i64));

        // The SQL is ours and fixed: a plain SQLITE_ERROR from it can only
        // come from the MATCH expression the user wrote (busy, full, corrupt
        // and the like have codes of their own).
        let bad = |e: rusqlite::Error| -> SearchError {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::Unknown) {
                let msg = e.to_string();
                SearchError::BadQuery(BadQuery { query: user_query.to_owned(), reason: explain_fts_error(&msg) })
            } else {
                SearchError::Store(e.into())
            }
        };
        let mut stmt = self.conn.prepare(&sql).map_err(bad)?;
        let hits: Vec<(EntryRow, f64, String)> = stmt
            .query_map(params_from_iter(params), |r| Ok((row_from(r)?, r.get::<_, f64>(11)?, r.get::<_, String>(12)?)))
            .map_err(bad)?
            .collect::<rusqlite::Result<_>>()
            .map_err(bad)?;
        let (rows, rest): (Vec<EntryRow>, Vec<(f64, String)>) =
            hits.into_iter().map(|(row, rank, snip)| (row, (rank, snip))).unzip();
        let rows = self.with_read(self.with_topics(rows, fold)?)?;
        Ok(rows
            .into_iter()
            .zip(rest)
            .map(|(row, (rank, snip))| SearchHit { row, snippet: unspace_cjk(&snip), score: -rank })
            .collect())
    }

    /// One entry with its text and the other places of its story.
    pub fn entry(&self, id: EntryId) -> Result<Option<EntryDetail>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS}, COALESCE(e.content_text, e.summary_text, ''), COALESCE(e.content_html, e.summary_html),
                    e.source_url, e.first_seen, e.date_source
             FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1"
        );
        let found = self
            .conn
            .query_row(&sql, [id.0], |r| {
                Ok((
                    row_from(r)?,
                    r.get::<_, String>(11)?,
                    r.get::<_, Option<String>>(12)?,
                    r.get::<_, Option<String>>(13)?,
                    r.get::<_, i64>(14)?,
                    r.get::<_, String>(15)?,
                ))
            })
            .optional()?;
        let Some((row, text, content_html, source_url, first_seen, date_source)) = found else {
            return Ok(None);
        };
        let mut row = self.with_read(self.with_topics(vec![row], false)?)?.remove(0);
        let root = row.duplicate_of.unwrap_or(row.id);
        let original = match row.duplicate_of {
            Some(o) => self.related("e.id = ?1", o.0)?.into_iter().next(),
            None => None,
        };
        let copies: Vec<Related> =
            self.related("e.duplicate_of = ?1", root.0)?.into_iter().filter(|c| c.id != row.id).collect();
        if row.duplicate_of.is_none() {
            row.copies = copies.len() as u32;
        }
        Ok(Some(EntryDetail {
            row,
            text,
            content_html,
            source_url,
            first_seen: from_unix(first_seen).unwrap_or_default(),
            date_source,
            original,
            copies,
        }))
    }

    fn related(&self, condition: &str, id: i64) -> Result<Vec<Related>> {
        let sql = format!(
            "SELECT e.id, COALESCE(f.name, f.title, f.url), e.title, e.url, e.published, e.attribution, e.dup_reason
             FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE {condition} ORDER BY e.published, e.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([id], |r| {
            Ok(Related {
                id: EntryId(r.get(0)?),
                feed: r.get(1)?,
                title: r.get(2)?,
                url: r.get(3)?,
                published: from_unix(r.get(4)?).unwrap_or_default(),
                attribution: r.get(5)?,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The copies of each of `originals`, in publication order.
    pub fn copies_of(&self, original: EntryId) -> Result<Vec<Related>> {
        self.related("e.duplicate_of = ?1", original.0)
    }

    /// Fills in each row's topics: its own, or with `story` those of its
    /// whole story (original and copies).
    fn with_topics(&self, mut rows: Vec<EntryRow>, story: bool) -> Result<Vec<EntryRow>> {
        let sql = if story {
            "SELECT DISTINCT t.topic FROM entry_topics t
             WHERE t.entry_id = ?1 OR t.entry_id IN (SELECT id FROM entries WHERE duplicate_of = ?1) ORDER BY t.topic"
        } else {
            "SELECT t.topic FROM entry_topics t WHERE t.entry_id = ?1 ORDER BY t.topic"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        for row in &mut rows {
            row.topics = stmt.query_map(params![row.id.0], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        }
        Ok(rows)
    }

    /// Every topic that some stored entry has.
    pub fn stored_topics(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT DISTINCT topic FROM entry_topics ORDER BY topic")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    BadQuery(#[from] BadQuery),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn explain_fts_error(msg: &str) -> String {
    let msg = msg.trim_start_matches("fts5: ");
    format!("{msg}; put words in double quotes to search for them literally")
}

#[cfg(test)]
mod tests {
    use super::short_summary;

    #[test]
    fn summary_is_cut_at_a_word() {
        let long = "word ".repeat(100);
        let s = short_summary(&long);
        assert!(s.chars().count() <= 300 && s.ends_with("word…"), "{s}");
        assert_eq!(short_summary("a\n\nb"), "a b");
    }
}
