-- syndic schema v18: a sync files its lookup keys and paragraph counts in
-- small tables of their own, merged into the large ones at its end
-- (store::dedup::merge_staged).
--
-- Both large tables are keyed by hashes, so the rows of each new entry land
-- on pages all over them: in a store of years (650,000 keys, 2.7 million
-- paragraph counts) every transaction of a sync dirtied, logged and later
-- checkpointed most of their pages again, and a cold sync of 10,000 entries
-- took 2.4 times as long as into an empty store. The staged tables hold one
-- sync's rows only, so its transactions write few pages; the merge visits
-- each page of the large ones once, in key order. Everything that reads
-- these rows reads both tables (a staged paragraph count replaces the large
-- table's row for its paragraph and feed). A sync stopped before its end
-- leaves its staged rows, still read, to the next sync's merge.
CREATE TABLE dedup_keys_staged (
    key      INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (key, day, entry_id)
) WITHOUT ROWID;

CREATE TABLE paragraph_counts_staged (
    hash        INTEGER NOT NULL,
    feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entries     INTEGER NOT NULL,
    boilerplate INTEGER NOT NULL DEFAULT 0,
    sample      BLOB NOT NULL,
    PRIMARY KEY (hash, feed_id)
) WITHOUT ROWID;
CREATE INDEX paragraph_counts_staged_boilerplate ON paragraph_counts_staged(hash) WHERE boilerplate = 1;
