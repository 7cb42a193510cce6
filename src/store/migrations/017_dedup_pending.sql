-- Entries that carry a paragraph a sync learnt as boilerplate, to be
-- compared again once, at the end of that sync (store::dedup::settle),
-- rather than once per paragraph learnt. Written in the same transaction as
-- the paragraph counts that made the paragraph boilerplate: a sync stopped
-- before its end leaves them to the next one.
CREATE TABLE dedup_pending (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE
);
