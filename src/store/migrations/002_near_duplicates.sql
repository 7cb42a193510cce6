-- syndic schema v2: near-duplicate detection.

-- How sure the grouping is (containment of the shorter text), and a key of
-- the normalised title for candidate lookup.
ALTER TABLE entries ADD COLUMN dup_score REAL;
ALTER TABLE entries ADD COLUMN title_key INTEGER;
CREATE INDEX entries_by_title_key ON entries(title_key, published) WHERE title_key IS NOT NULL;

-- Per entry: its comparison text as sorted little-endian u64 shingle hashes,
-- the shingles of its lead, the hashes of its numbers.
CREATE TABLE fingerprints (
    entry_id  INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    shingles  BLOB NOT NULL,
    lead      BLOB NOT NULL,
    numbers   BLOB NOT NULL,
    words     INTEGER NOT NULL,
    truncated INTEGER NOT NULL
);

-- MinHash LSH: one row per band. Keyed by (bucket, day) so that a lookup
-- reads only the days of the dedup window, whatever the size of the store.
CREATE TABLE lsh_buckets (
    bucket   INTEGER NOT NULL,
    day      INTEGER NOT NULL,       -- published / 86400
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    PRIMARY KEY (bucket, day, entry_id)
) WITHOUT ROWID;
CREATE INDEX lsh_buckets_by_entry ON lsh_buckets(entry_id);

-- Lead index: the shingles of each entry's first words, so that an excerpt
-- finds its full article (and the other way round).
CREATE TABLE lead_shingles (
    shingle  INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    PRIMARY KEY (shingle, day, entry_id)
) WITHOUT ROWID;
CREATE INDEX lead_shingles_by_entry ON lead_shingles(entry_id);

-- In how many entries of a feed a paragraph occurs: paragraphs a feed
-- repeats are its boilerplate (footers, bios), left out of comparisons.
CREATE TABLE paragraph_counts (
    hash    INTEGER NOT NULL,
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entries INTEGER NOT NULL,
    PRIMARY KEY (hash, feed_id)
) WITHOUT ROWID;

-- The user's corrections, kept across `dedup --rebuild`: original_id NULL
-- means "this entry stands alone" (split), else "this is a copy of it".
CREATE TABLE dedup_overrides (
    entry_id    INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    original_id INTEGER REFERENCES entries(id) ON DELETE CASCADE,
    created     INTEGER NOT NULL
);
