-- syndic schema v6: stories as connected components of verified pairs.
-- The fingerprints are rebuilt from the stored text: the next sync sees no
-- dedup_version and rebuilds every story (see store/stories.rs).

DROP TABLE IF EXISTS lsh_buckets;
DROP TABLE IF EXISTS lead_shingles;
DROP TABLE fingerprints;

-- Per entry: its comparison text, encoded by dedup::Fingerprint::encode
-- (shingles of a short text, a content-defined sample of a long one, the
-- lead's and the figures'), and the index keys it is filed under (so that
-- they can be removed without an index on entry_id).
CREATE TABLE fingerprints (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    data     BLOB NOT NULL,
    keys     BLOB NOT NULL,          -- little-endian i64 keys of dedup_keys
    day      INTEGER NOT NULL        -- published / 86400 when filed
);

-- Candidate lookup: sampled shingles of each entry's lead and whole text.
-- Keyed by (key, day) so that a lookup reads only the days of the window.
CREATE TABLE dedup_keys (
    key      INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (key, day, entry_id)
) WITHOUT ROWID;
-- Keys of entries published long before the newest are dropped after each
-- sync (store::dedup::forget_old_keys): the table holds a few weeks of news
-- whatever the size of the store, so a lookup costs the same at a million
-- entries as at ten thousand.
CREATE INDEX dedup_keys_by_day ON dedup_keys(day);

-- Verified "same article" pairs (a < b): what holds a story together.
-- kind: 0 merged by the user, 1 source, 2 link, 3 text, 4 same text,
-- 5 excerpt, 6 part (see dedup::PairKind); shorter: the part's entry.
CREATE TABLE dedup_pairs (
    a           INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    b           INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    kind        INTEGER NOT NULL,
    shorter     INTEGER,
    containment REAL NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX dedup_pairs_by_b ON dedup_pairs(b);

-- Boilerplate is decided, not counted: a paragraph is boilerplate once it
-- recurs in entries that are different articles apart from it. sample holds
-- up to 8 entry ids (little-endian i64) that carry it.
DROP TABLE paragraph_counts;
CREATE TABLE paragraph_counts (
    hash        INTEGER NOT NULL,
    feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entries     INTEGER NOT NULL,
    boilerplate INTEGER NOT NULL DEFAULT 0,
    sample      BLOB NOT NULL,
    PRIMARY KEY (hash, feed_id)
) WITHOUT ROWID;

DELETE FROM meta WHERE key = 'dedup_version';
