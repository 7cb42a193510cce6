-- syndic schema v16: paragraph counts in fewer bytes.
--
-- A paragraph's boilerplate key is now the upper 32 bits of its hash (4 bytes
-- in SQLite instead of 8), and the sample of entries that carry it is a list
-- of LEB128 numbers (an id of a million entries in 3 bytes instead of 8): a
-- row takes 17 bytes instead of 27. The store converts the rows where the
-- marker line stands (Rust: the samples), merging the rare two of a feed
-- whose keys are now the same.
CREATE TABLE paragraph_counts_16 (
    hash        INTEGER NOT NULL,
    feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    entries     INTEGER NOT NULL,
    boilerplate INTEGER NOT NULL DEFAULT 0,
    sample      BLOB NOT NULL,
    PRIMARY KEY (hash, feed_id)
) WITHOUT ROWID;

-- (the store converts the paragraph counts here)

DROP TABLE paragraph_counts;
ALTER TABLE paragraph_counts_16 RENAME TO paragraph_counts;
CREATE INDEX paragraph_counts_boilerplate ON paragraph_counts(hash) WHERE boilerplate = 1;
