-- syndic schema v8: each entry's text stored once, compressed (issue 11,
-- "Store text once").
--
-- Until now an entry kept four text columns: the sanitised HTML and the
-- plain text of its summary and of its content, about two thirds of the
-- database. They become one blob, `body`, holding the four texts deflated
-- together (the plain text costs little once compressed beside its HTML);
-- its layout is crate::store::body (a format byte first, so that the codec
-- can change). `text_len` keeps the length in characters of the plain text
-- (content, else summary) for the "longer version" queries of
-- store::reading, which compare lengths without unpacking anything.
--
-- The store packs every existing entry in Rust where the marker line below
-- stands (schema.rs, the same transaction), then the old columns go.
ALTER TABLE entries ADD COLUMN body BLOB;
ALTER TABLE entries ADD COLUMN text_len INTEGER NOT NULL DEFAULT 0;
UPDATE entries SET text_len = length(COALESCE(content_text, summary_text, ''));

-- The filters' trigger names the old text columns; it is made again on the
-- new one after the packing (which changes no entry's text, so queues none).
DROP TRIGGER entries_filter_changed;

-- (the store packs the texts here)

CREATE TRIGGER entries_filter_changed AFTER UPDATE OF title, author, body ON entries
BEGIN
    INSERT OR IGNORE INTO filter_queue (entry_id) VALUES (new.id);
END;

ALTER TABLE entries DROP COLUMN summary_html;
ALTER TABLE entries DROP COLUMN summary_text;
ALTER TABLE entries DROP COLUMN content_html;
ALTER TABLE entries DROP COLUMN content_text;
