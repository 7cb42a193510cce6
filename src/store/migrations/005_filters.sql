-- syndic schema v5: [filters] in feeds.toml.

-- Whether an exclude rule matches the entry: 1 hidden from list, search and
-- exports (unless --include-filtered), 0 shown, NULL not evaluated yet (new,
-- or changed at the source since). A flag rather than a check at read time,
-- so that listing stays an index walk with a million entries.
ALTER TABLE entries ADD COLUMN filtered INTEGER;
-- The entries still to evaluate after a sync.
CREATE INDEX entries_to_filter ON entries(id) WHERE filtered IS NULL;
-- A changed text is evaluated again.
CREATE TRIGGER entries_refilter AFTER UPDATE OF title, author, summary_text, content_text ON entries
WHEN new.filtered IS NOT NULL
BEGIN
    UPDATE entries SET filtered = NULL WHERE id = new.id;
END;
