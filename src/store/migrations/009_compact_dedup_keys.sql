-- syndic schema v9: copy detection's lookup keys are 32-bit, and the key
-- table has no index of its own on days.
--
-- Keys are now the upper 32 bits of a shingle hash (dedup::Prepared::index_keys):
-- SQLite stores them in 4 bytes instead of 8, in dedup_keys and in each
-- fingerprint's list of keys. A false match costs one verification: keys only
-- propose candidates, fingerprints decide.
--
-- The index dedup_keys_by_day (one entry per key row, a third of the table)
-- served to drop the keys of old entries; they are now found through the
-- fingerprints by day (one row per entry), and meta 'dedup_keys_from' records
-- the first day whose keys may still be filed (store::dedup::forget_old_keys).
--
-- Every fingerprint and key is rebuilt by the next sync (no dedup_version:
-- see store/stories.rs), as after migration 006.
DROP INDEX dedup_keys_by_day;
DELETE FROM dedup_keys;
DELETE FROM fingerprints;
CREATE INDEX fingerprints_by_day ON fingerprints(day);
DELETE FROM meta WHERE key IN ('dedup_version', 'dedup_keys_from');

-- The boilerplate known at the start of a sync, handed to the parse workers
-- (store::dedup::boilerplate_keys), and the check of one paragraph, without
-- reading every paragraph count.
CREATE INDEX paragraph_counts_boilerplate ON paragraph_counts(hash) WHERE boilerplate = 1;
