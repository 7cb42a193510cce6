-- syndic schema v5: [filters] in feeds.toml.

-- The entries an exclude rule matches: hidden from list, search, stats and
-- exports unless --include-filtered. A table of their ids rather than a
-- column of entries, so that evaluating the rules again writes a few small
-- rows instead of rewriting every (large) entry row.
CREATE TABLE filtered_entries (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE
);

-- The entries to evaluate after a sync: new ones, and those whose text
-- changed at the source.
CREATE TABLE filter_queue (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE
);
CREATE TRIGGER entries_filter_new AFTER INSERT ON entries
BEGIN
    INSERT OR IGNORE INTO filter_queue (entry_id) VALUES (new.id);
END;
CREATE TRIGGER entries_filter_changed AFTER UPDATE OF title, author, summary_text, content_text ON entries
BEGIN
    INSERT OR IGNORE INTO filter_queue (entry_id) VALUES (new.id);
END;
