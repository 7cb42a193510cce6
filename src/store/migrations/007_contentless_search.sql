-- syndic schema v7: the search index keeps no copy of the text.
--
-- Until now entries_fts stored its own copy of every entry's title, summary
-- and content (about a fifth of the database). It is now contentless: it
-- holds only the index; snippets are cut in Rust from the entries' stored
-- text (crate::search::snippet). External content (content='entries') is not
-- possible: the indexed text is the stored text with Chinese and Japanese
-- characters spaced (text::spaced_cjk), which SQL cannot recompute.
-- contentless_delete = 1 lets the store delete and replace a row by rowid.
-- The store fills the new index from the entries right after this file runs
-- (schema.rs, the same transaction).
DROP TABLE entries_fts;
CREATE VIRTUAL TABLE entries_fts USING fts5(
    title, summary, content,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- list: the stories (originals) newest first, read from the index alone
-- when counting what --limit left out (the "N more" line): the copy flag is
-- at the end of a row, behind its text, and costly to reach row by row.
CREATE INDEX entries_stories_by_published ON entries(published DESC, id DESC) WHERE duplicate_of IS NULL;
