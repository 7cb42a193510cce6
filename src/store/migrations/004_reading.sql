-- syndic schema v4: reading.

-- When the entry was read (shown, opened or marked with `syndic read`); NULL
-- while unread. Read state belongs to the story: reading marks every member,
-- and a story counts as read when any member is (see store/reading.rs). No
-- index: `--unread` asks per listed story, through the primary key and
-- entries_by_duplicate_of.
ALTER TABLE entries ADD COLUMN read_at INTEGER;
-- --since/--until last-sync and sync --print-new: the entries a sync brought.
CREATE INDEX entries_by_first_seen ON entries(first_seen);
