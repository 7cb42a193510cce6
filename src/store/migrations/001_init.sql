-- syndic schema v1. Shipped migrations are never edited: append a new file.
-- Times are unix seconds (UTC).

CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT NOT NULL UNIQUE,   -- as configured (absolute)
    name                 TEXT,                   -- from feeds.toml; NULL = use the feed's title
    title                TEXT,                   -- the feed's own title
    site_url             TEXT,
    etag                 TEXT,
    last_modified        TEXT,
    last_attempt         INTEGER,
    last_success         INTEGER,
    http_status          INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_attempt         INTEGER                 -- earliest next fetch (Retry-After, backoff)
);

CREATE TABLE entries (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entry_key     TEXT NOT NULL,                -- guid:… / link:… / hash:…
    title         TEXT NOT NULL,
    url           TEXT,                         -- canonical link
    author        TEXT,
    published     INTEGER NOT NULL,             -- published, else updated, else first seen
    date_source   TEXT NOT NULL,                -- published / updated / first_seen
    first_seen    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    summary_html  TEXT,
    summary_text  TEXT,
    content_html  TEXT,
    content_text  TEXT,
    source_url    TEXT,                         -- the original, as named by the feed itself
    text_hash     INTEGER,                      -- hash of the normalised text (exact copies)
    duplicate_of  INTEGER REFERENCES entries(id) ON DELETE SET NULL,
    dup_reason    TEXT,                         -- link / text / near / manual
    attribution   TEXT,                         -- the source a copy credits ("Bol news")
    UNIQUE (feed_id, entry_key)
);
-- list: newest first.
CREATE INDEX entries_by_published ON entries(published DESC, id DESC);
-- list --feed.
CREATE INDEX entries_by_feed ON entries(feed_id, published DESC);
-- exact copies: the same canonical link or the same text in another feed.
CREATE INDEX entries_by_url ON entries(url) WHERE url IS NOT NULL;
CREATE INDEX entries_by_text_hash ON entries(text_hash) WHERE text_hash IS NOT NULL;
-- a story's copies.
CREATE INDEX entries_by_duplicate_of ON entries(duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE entry_topics (
    topic    TEXT NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    PRIMARY KEY (topic, entry_id)
) WITHOUT ROWID;
CREATE INDEX entry_topics_by_entry ON entry_topics(entry_id);

-- Entries removed by prune, so that the next sync does not bring them back.
CREATE TABLE tombstones (
    feed_id    INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entry_key  TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (feed_id, entry_key)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Full-text index, rowid = entries.id. Kept in step by the store in the same
-- transaction as the entry (its text is prepared in Rust: Chinese and
-- Japanese characters are spaced so that unicode61 indexes each one).
CREATE VIRTUAL TABLE entries_fts USING fts5(
    title, summary, content,
    tokenize = 'unicode61 remove_diacritics 2'
);
