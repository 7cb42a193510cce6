-- syndic schema v14: entry texts packed with a dictionary of the store's own.
--
-- An entry's texts are a few kilobytes, too short for a compressor to learn
-- the language, the markup and the feeds' recurring lines from the entry
-- alone. Once a store holds enough entries, a Zstandard dictionary is
-- trained on its newest ones and kept here; the texts packed from then on
-- name it by id (store::body, store::dictionary). A dictionary is never
-- changed or deleted while a text may name it.
CREATE TABLE text_dictionaries (
    id      INTEGER PRIMARY KEY,   -- the id its frames name (zstd's, derived from its content)
    data    BLOB NOT NULL,
    created INTEGER NOT NULL,      -- unix time it was trained
    samples INTEGER NOT NULL       -- how many entries it was trained on
);
