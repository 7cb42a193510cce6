-- syndic schema v19: the store queues new and changed entries for the
-- filters itself (store::entries::save_entry, Store::repair), in the same
-- statements' transaction, instead of triggers on entries.
--
-- An AFTER trigger makes every INSERT into entries a statement that writes
-- two tables, which SQLite runs with a statement journal: a copy of every
-- page the insert changes (the entry's row and its nine indexes), 2% of a
-- sync writer's instructions. Packing a text again with the store's
-- dictionary (the same texts) no longer queues the entry either.
DROP TRIGGER IF EXISTS entries_filter_new;
DROP TRIGGER IF EXISTS entries_filter_changed;
