-- syndic schema v4: reading.

-- When the entry was read (shown, opened or marked with `syndic read`); NULL
-- while unread. Read state belongs to the story: reading marks every member,
-- and a story counts as read when any member is (see store/reading.rs).
ALTER TABLE entries ADD COLUMN read_at INTEGER;
-- list --unread: the unread entries, newest first.
CREATE INDEX entries_unread ON entries(published DESC, id DESC) WHERE read_at IS NULL;
-- --since last-sync and sync --print-new: the entries a sync brought.
CREATE INDEX entries_by_first_seen ON entries(first_seen);
