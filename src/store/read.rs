//! Read queries: list, search, show. Copies are folded into their original
//! (one row per story) unless the query asks for all entries.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension};

use super::{from_unix, Result, Store};
use crate::error::StoreError;
use crate::model::EntryId;
use crate::search::{best_snippet, highlights, SNIPPET_SCAN_BYTES};

/// Longest summary carried by a listed row, in characters.
pub const SUMMARY_CHARS: usize = 300;

pub use crate::search::{HIGHLIGHT_END, HIGHLIGHT_START};

/// How many of the newest matching entries `search` ranks. A word in nearly
/// every entry ("the") costs the same at a million entries as at ten
/// thousand; a rarer word has fewer matches than this and all are ranked.
pub const SEARCH_WINDOW: usize = 5_000;

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
    /// Its stored text is damaged (a damaged file): it is shown without it.
    pub text_damaged: bool,
}

/// A search result: the story's row, the best-matching snippet and score.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub row: EntryRow,
    /// Text around the match, matches between [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`].
    pub snippet: String,
    /// Relevance (negated bm25): higher is better.
    pub score: f64,
    /// The story member the snippet comes from, if its stored text is
    /// damaged (the snippet is then its title's).
    pub damaged: Option<EntryId>,
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
     e.body, e.duplicate_of, e.attribution,
     (SELECT COUNT(*) FROM entries c WHERE c.duplicate_of = e.id)";

/// Bytes of a listed row's text unpacked for its summary: enough for
/// [`SUMMARY_CHARS`] characters four times over, however wide they are.
const SUMMARY_SCAN_BYTES: usize = 4 * 4 * SUMMARY_CHARS;

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    // A damaged text is the only error: one bad row must not hide the rest.
    let summary = super::entries::summary_text(r.get_ref(7)?, SUMMARY_SCAN_BYTES);
    let text_damaged = summary.is_err();
    let summary = summary.unwrap_or_default();
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
        text_damaged,
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
        sql.push_str(&format!(
            " AND e.feed_id IN (SELECT id FROM feeds WHERE url IN ({}))",
            placeholders(q.feed_urls.len())
        ));
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

/// The SQL and parameters of [`Store::list`].
fn list_sql(q: &ListQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {ROW_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE 1 = 1");
    let mut params = Vec::new();
    filters(q, &mut sql, &mut params);
    sql.push_str(" ORDER BY e.published DESC, e.id DESC LIMIT ?");
    params.push(Value::Integer(q.limit.min(i64::MAX as usize) as i64));
    (sql, params)
}

/// The SQL and parameters that rank a search: (story root, rank, the
/// story's best-matching entry), best first, at most `q.limit` rows.
///
/// Ranks first, decorates after: the newest [`SEARCH_WINDOW`] matches that
/// pass the filters are scored with bm25 (nothing else is computed per
/// match), folded into their stories and cut to the limit; only the rows
/// shown are then read and given a snippet ([`Store::search`]).
fn search_sql(fts_query: &str, q: &ListQuery) -> (String, Vec<Value>) {
    let fold = !q.all && q.feed_urls.is_empty();
    let root = if fold { "COALESCE(m.duplicate_of, m.id)" } else { "m.id" };
    let (wt, ws, wc) = BM25_WEIGHTS;
    let mut sql = format!(
        "WITH matches AS (
             SELECT {root} AS root, m.id AS hit, bm25(entries_fts, {wt}, {ws}, {wc}) AS rank
             FROM entries_fts JOIN entries m ON m.id = entries_fts.rowid JOIN entries e ON e.id = {root}
             WHERE entries_fts MATCH ?"
    );
    let mut params = vec![Value::Text(fts_query.to_owned())];
    filters(q, &mut sql, &mut params);
    sql.push_str(&format!(
        " ORDER BY entries_fts.rowid DESC LIMIT {SEARCH_WINDOW}
         )
         SELECT root, MIN(rank) AS best, hit FROM matches GROUP BY root ORDER BY best, root DESC LIMIT ?"
    ));
    params.push(Value::Integer(q.limit.min(i64::MAX as usize) as i64));
    (sql, params)
}

impl Store {
    /// Stories (or entries, with `all`) newest first.
    pub fn list(&self, q: &ListQuery) -> Result<Vec<EntryRow>> {
        let (sql, params) = list_sql(q);
        let mut stmt = self.conn.prepare(&sql)?;
        let rows: Vec<EntryRow> =
            stmt.query_map(params_from_iter(params), row_from)?.collect::<rusqlite::Result<_>>()?;
        self.with_read(self.with_topics(rows, !q.all && q.feed_urls.is_empty())?)
    }

    /// Full-text search, best match first, copies folded into their
    /// original unless `q.all`. `fts_query` is already in FTS5 syntax;
    /// `user_query` is what was typed (its words are highlighted).
    pub fn search(
        &self,
        fts_query: &str,
        user_query: &str,
        q: &ListQuery,
    ) -> std::result::Result<Vec<SearchHit>, SearchError> {
        let fold = !q.all && q.feed_urls.is_empty();
        let bad = |e: rusqlite::Error| -> SearchError {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::Unknown) {
                let msg = e.to_string();
                SearchError::BadQuery(BadQuery { query: user_query.to_owned(), reason: explain_fts_error(&msg) })
            } else {
                SearchError::Store(e.into())
            }
        };
        let (sql, params) = search_sql(fts_query, q);
        let mut stmt = self.conn.prepare(&sql).map_err(bad)?;
        let ranked: Vec<(i64, f64, i64)> = stmt
            .query_map(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(bad)?
            .collect::<rusqlite::Result<_>>()
            .map_err(bad)?;
        Ok(self.decorate(ranked, user_query, fold)?)
    }

    /// The rows of ranked hits, each with a snippet of its best-matching entry.
    fn decorate(&self, ranked: Vec<(i64, f64, i64)>, user_query: &str, fold: bool) -> Result<Vec<SearchHit>> {
        let words = highlights(user_query);
        let row_sql = format!("SELECT {ROW_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1");
        let mut row_stmt = self.conn.prepare_cached(&row_sql)?;
        // Only a bounded window of the text is read and scanned: a 20 MB
        // entry costs what a long article does.
        let mut text_stmt = self.conn.prepare_cached("SELECT title, body FROM entries WHERE id = ?1")?;
        let mut rows = Vec::with_capacity(ranked.len());
        let mut decorations = Vec::with_capacity(ranked.len());
        for (root, rank, hit) in ranked {
            rows.push(row_stmt.query_row([root], row_from)?);
            let (title, plain) = text_stmt.query_row([hit], |r| {
                Ok((r.get::<_, String>(0)?, super::entries::plain_texts(r.get_ref(1)?, SNIPPET_SCAN_BYTES)))
            })?;
            // A damaged text: the snippet comes from the title.
            let damaged = plain.is_err().then_some(EntryId(hit));
            let plain = plain.unwrap_or_default();
            let texts =
                [title.as_str(), plain.summary.as_deref().unwrap_or(""), plain.content.as_deref().unwrap_or("")];
            let snip = best_snippet(&texts, &words);
            decorations.push((rank, snip, damaged));
        }
        let rows = self.with_read(self.with_topics(rows, fold)?)?;
        Ok(rows
            .into_iter()
            .zip(decorations)
            .map(|(row, (rank, snippet, damaged))| SearchHit { row, snippet, score: -rank, damaged })
            .collect())
    }

    /// One entry with its text and the other places of its story.
    pub fn entry(&self, id: EntryId) -> Result<Option<EntryDetail>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS}, e.source_url, e.first_seen, e.date_source
             FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1"
        );
        let found = self
            .conn
            .query_row(&sql, [id.0], |r| {
                // A damaged text: the entry is shown without it, flagged.
                let texts = super::entries::all_texts(r.get_ref(7)?);
                let mut row = row_from(r)?;
                row.text_damaged |= texts.is_err();
                let texts = texts.unwrap_or_default();
                Ok((
                    row,
                    texts.text().to_owned(),
                    texts.html().map(str::to_owned),
                    r.get::<_, Option<String>>(11)?,
                    r.get::<_, i64>(12)?,
                    r.get::<_, String>(13)?,
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
        let sql = if story { TOPICS_OF_STORY } else { TOPICS_OF_ENTRY };
        let mut stmt = self.conn.prepare_cached(sql)?;
        for row in &mut rows {
            row.topics = stmt.query_map(params![row.id.0], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        }
        Ok(rows)
    }

    /// Returns true if and only if some stored entry has `topic`.
    pub fn has_topic(&self, topic: &str) -> Result<bool> {
        Ok(self.conn.prepare_cached("SELECT 1 FROM entry_topics WHERE topic = ?1 LIMIT 1")?.exists([topic])?)
    }

    /// Every topic that some stored entry has.
    pub fn stored_topics(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT DISTINCT topic FROM entry_topics ORDER BY topic")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// The topics of a story: its original's and its copies'.
const TOPICS_OF_STORY: &str = "SELECT DISTINCT t.topic FROM entry_topics t
     WHERE t.entry_id IN (SELECT ?1 UNION ALL SELECT id FROM entries WHERE duplicate_of = ?1) ORDER BY t.topic";
/// The topics of one entry.
const TOPICS_OF_ENTRY: &str = "SELECT t.topic FROM entry_topics t WHERE t.entry_id = ?1 ORDER BY t.topic";

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
    use super::*;
    use crate::store::Store;

    /// The query plan of `sql`, one line per step.
    fn plan(store: &Store, sql: &str, params: &[Value]) -> Vec<String> {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Statements without given parameters get 1 for each.
        let ones = vec![Value::Integer(1); stmt.parameter_count()];
        let params = if params.is_empty() { &ones[..] } else { params };
        stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3)).unwrap().map(|r| r.unwrap()).collect()
    }

    /// Returns the steps that read a whole table, index or the search
    /// index's content instead of seeking. Allowed walks: entries newest
    /// first (`list` stops at its limit), FTS5 answering MATCH from its
    /// index, the bounded windows of ranked matches and counted rows, and
    /// the partial index of boilerplate paragraphs (that set is the answer).
    fn full_scans(plan: &[String]) -> Vec<String> {
        const ALLOWED: [&str; 6] = [
            "USING INDEX entries_by_published",
            "USING COVERING INDEX entries_by_published",
            "USING INDEX entries_stories_by_published",
            "USING COVERING INDEX entries_stories_by_published",
            "USING COVERING INDEX paragraph_counts_boilerplate",
            "USING COVERING INDEX paragraph_counts_staged_boilerplate",
        ];
        plan.iter()
            .filter(|step| {
                let allowed = ALLOWED.iter().any(|a| step.contains(a))
                    || (step.contains("VIRTUAL TABLE INDEX") && step.contains(":M"))
                    || *step == "SCAN matches"
                    || step.starts_with("SCAN (subquery-")
                    || step.starts_with("SCAN CONSTANT ROW");
                step.starts_with("SCAN ") && !allowed
            })
            .cloned()
            .collect()
    }

    // See issue 11: "list and search must not scan entry_topics or count
    // every feed's entries"; the plans must use indexes.
    #[test]
    fn read_queries_use_indexes() {
        let store = Store::open_in_memory().unwrap();
        let day = DateTime::from_timestamp(1_700_000_000, 0);
        let queries = [
            ListQuery { limit: 50, ..ListQuery::default() },
            ListQuery { limit: 50, all: true, ..ListQuery::default() },
            ListQuery { limit: 50, topics: vec!["t".into()], ..ListQuery::default() },
            ListQuery { limit: 50, topics: vec!["t".into()], all: true, ..ListQuery::default() },
            ListQuery { limit: 50, feed_urls: vec!["https://f.example/feed".into()], ..ListQuery::default() },
            ListQuery { limit: 50, since: day, until: day, ..ListQuery::default() },
            ListQuery { limit: 50, unread: true, ..ListQuery::default() },
            ListQuery { limit: 50, seen_since: day, ..ListQuery::default() },
        ];
        let mut checked = Vec::new();
        for q in &queries {
            let (sql, params) = list_sql(q);
            checked.push((format!("list {q:?}"), plan(&store, &sql, &params)));
            let (sql, params) = crate::store::reading::count_sql(q, 1_000);
            checked.push((format!("count {q:?}"), plan(&store, &sql, &params)));
            let (sql, params) = search_sql("\"gwadar\"", q);
            checked.push((format!("search {q:?}"), plan(&store, &sql, &params)));
        }
        let row = format!("SELECT {ROW_COLUMNS} FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.id = ?1");
        checked.push(("search row, show".into(), plan(&store, &row, &[])));
        for (what, sql) in [
            ("story topics", TOPICS_OF_STORY),
            ("entry topics", TOPICS_OF_ENTRY),
            ("copies", "SELECT e.id FROM entries e JOIN feeds f ON f.id = e.feed_id WHERE e.duplicate_of = ?1"),
            ("has topic", "SELECT 1 FROM entry_topics WHERE topic = ?1 LIMIT 1"),
            ("sync: is the entry new", "SELECT 1 FROM entries WHERE feed_id = ?1 AND entry_key = ?2"),
            ("sync: tombstone", crate::store::known::TOMBSTONED),
            ("sync: an entry as stored, before it is prepared", crate::store::known::STORED),
        ] {
            checked.push((what.into(), plan(&store, sql, &[])));
        }
        for (what, sql) in crate::store::dedup::sync_queries() {
            checked.push((what.into(), plan(&store, &sql, &[])));
        }
        for (what, plan) in &checked {
            assert!(full_scans(plan).is_empty(), "{what} scans a table: {plan:#?}");
        }
        // The check itself can fail.
        let scan = plan(&store, "SELECT id FROM entries WHERE title = 'x'", &[]);
        assert!(!full_scans(&scan).is_empty(), "{scan:?}");
        let scan = plan(&store, "SELECT DISTINCT topic FROM entry_topics t", &[]);
        assert!(!full_scans(&scan).is_empty(), "{scan:?}");
    }

    #[test]
    fn summary_is_cut_at_a_word() {
        let long = "word ".repeat(100);
        let s = short_summary(&long);
        assert!(s.chars().count() <= 300 && s.ends_with("word…"), "{s}");
        assert_eq!(short_summary("a\n\nb"), "a b");
    }
}
