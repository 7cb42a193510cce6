-- syndic schema v21: the exact keys of entries (their link, text and title
-- hashes) are looked up in a table of their own, staged as migration 018
-- stages the lookup keys.
--
-- Copy detection finds an entry's copies of all time by the hash of its link
-- and of its text, and those of the last week by the hash of its title. These
-- were partial indexes on entries, and hashes land on pages all over them: in
-- a store of a million entries (three indexes of 4,500 pages each) a sync's
-- every transaction dirtied, logged, evicted and read back from the log most
-- of their pages again. A sync now files the keys in the small staged table
-- (triggers on entries keep both tables right, whatever writes the entries),
-- merged into the large one in key order once it holds an eighth as many
-- (store::dedup::merge_staged). A lookup reads both.
--
-- key: the hash with its two low bits replaced by its kind (1 link, 2 text,
-- 3 title; store::dedup::ExactKey). day: the day the entry is published
-- (floor of published / 86400) for titles, which are looked up within the
-- copy-detection window; 0 for links and texts, looked up whenever.
CREATE TABLE exact_keys (
    key      INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (key, day, entry_id)
) WITHOUT ROWID;

CREATE TABLE exact_keys_staged (
    key      INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (key, day, entry_id)
) WITHOUT ROWID;

INSERT INTO exact_keys (key, day, entry_id)
    SELECT (url_key & -4) | 1, 0, id FROM entries WHERE url_key IS NOT NULL
    UNION ALL
    SELECT (text_hash & -4) | 2, 0, id FROM entries WHERE text_hash IS NOT NULL
    UNION ALL
    SELECT (title_key & -4) | 3, published / 86400 - (published % 86400 < 0), id FROM entries WHERE title_key IS NOT NULL
    ORDER BY 1, 2, 3;

DROP INDEX entries_by_url_key;
DROP INDEX entries_by_text_hash;
DROP INDEX entries_by_title_key;

-- One statement for the three keys (a trigger's statements each cost as
-- much as the rows they write).
CREATE TRIGGER entries_exact_keys_insert AFTER INSERT ON entries BEGIN
    INSERT OR IGNORE INTO exact_keys_staged (key, day, entry_id)
        SELECT (NEW.url_key & -4) | 1, 0, NEW.id WHERE NEW.url_key IS NOT NULL
        UNION ALL
        SELECT (NEW.text_hash & -4) | 2, 0, NEW.id WHERE NEW.text_hash IS NOT NULL
        UNION ALL
        SELECT (NEW.title_key & -4) | 3, NEW.published / 86400 - (NEW.published % 86400 < 0), NEW.id
        WHERE NEW.title_key IS NOT NULL;
END;

CREATE TRIGGER entries_exact_keys_link AFTER UPDATE OF url_key ON entries
WHEN OLD.url_key IS NOT NEW.url_key BEGIN
    DELETE FROM exact_keys WHERE key = (OLD.url_key & -4) | 1 AND day = 0 AND entry_id = OLD.id;
    DELETE FROM exact_keys_staged WHERE key = (OLD.url_key & -4) | 1 AND day = 0 AND entry_id = OLD.id;
    INSERT OR IGNORE INTO exact_keys_staged (key, day, entry_id)
        SELECT (NEW.url_key & -4) | 1, 0, NEW.id WHERE NEW.url_key IS NOT NULL;
END;

CREATE TRIGGER entries_exact_keys_text AFTER UPDATE OF text_hash ON entries
WHEN OLD.text_hash IS NOT NEW.text_hash BEGIN
    DELETE FROM exact_keys WHERE key = (OLD.text_hash & -4) | 2 AND day = 0 AND entry_id = OLD.id;
    DELETE FROM exact_keys_staged WHERE key = (OLD.text_hash & -4) | 2 AND day = 0 AND entry_id = OLD.id;
    INSERT OR IGNORE INTO exact_keys_staged (key, day, entry_id)
        SELECT (NEW.text_hash & -4) | 2, 0, NEW.id WHERE NEW.text_hash IS NOT NULL;
END;

CREATE TRIGGER entries_exact_keys_title AFTER UPDATE OF title_key, published ON entries
WHEN OLD.title_key IS NOT NEW.title_key
  OR OLD.published / 86400 - (OLD.published % 86400 < 0) != NEW.published / 86400 - (NEW.published % 86400 < 0)
BEGIN
    DELETE FROM exact_keys WHERE OLD.title_key IS NOT NULL AND key = (OLD.title_key & -4) | 3
        AND day = OLD.published / 86400 - (OLD.published % 86400 < 0) AND entry_id = OLD.id;
    DELETE FROM exact_keys_staged WHERE OLD.title_key IS NOT NULL AND key = (OLD.title_key & -4) | 3
        AND day = OLD.published / 86400 - (OLD.published % 86400 < 0) AND entry_id = OLD.id;
    INSERT OR IGNORE INTO exact_keys_staged (key, day, entry_id)
        SELECT (NEW.title_key & -4) | 3, NEW.published / 86400 - (NEW.published % 86400 < 0), NEW.id
        WHERE NEW.title_key IS NOT NULL;
END;

CREATE TRIGGER entries_exact_keys_delete AFTER DELETE ON entries BEGIN
    DELETE FROM exact_keys WHERE key = (OLD.url_key & -4) | 1 AND day = 0 AND entry_id = OLD.id;
    DELETE FROM exact_keys_staged WHERE key = (OLD.url_key & -4) | 1 AND day = 0 AND entry_id = OLD.id;
    DELETE FROM exact_keys WHERE key = (OLD.text_hash & -4) | 2 AND day = 0 AND entry_id = OLD.id;
    DELETE FROM exact_keys_staged WHERE key = (OLD.text_hash & -4) | 2 AND day = 0 AND entry_id = OLD.id;
    DELETE FROM exact_keys WHERE key = (OLD.title_key & -4) | 3
        AND day = OLD.published / 86400 - (OLD.published % 86400 < 0) AND entry_id = OLD.id;
    DELETE FROM exact_keys_staged WHERE key = (OLD.title_key & -4) | 3
        AND day = OLD.published / 86400 - (OLD.published % 86400 < 0) AND entry_id = OLD.id;
END;
