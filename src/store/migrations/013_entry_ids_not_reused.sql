-- syndic schema v13: an entry id is never given to another entry.
--
-- Entry ids are what `list` shows and `show`, `open` and `dedup --merge`
-- take. SQLite gives a new row the largest id plus one, so deleting the
-- newest entries (`remove --purge` of a feed just added, `prune` of a late
-- entry) handed their ids to the next ones: an id noted before then showed
-- another entry. The largest id ever deleted is remembered here, and new
-- entries are numbered above it (store::entries::save_entry).
CREATE TRIGGER entries_ids_not_reused AFTER DELETE ON entries
WHEN OLD.id >= COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'entries_next_id'), 0)
BEGIN
    INSERT INTO meta (key, value) VALUES ('entries_next_id', OLD.id + 1)
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
END;
