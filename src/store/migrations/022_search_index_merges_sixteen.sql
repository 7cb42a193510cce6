-- syndic schema v22: the search index merges its segments sixteen at a time.
--
-- Migration 020 took FTS5's `automerge` from 4 to 8. Each indexed term is
-- written again once per level of segments, and a store of a million
-- entries still had four levels: its merges were the largest part of what
-- a sync into it paid beyond a sync into an empty store (see README
-- "Cold sync into a million entries"). With 16 a level holds up to fifteen
-- segments before they are merged, and a store climbs one level fewer; a
-- query reads more segments, which did not set the search time (README
-- "Reads at a million entries").
--
-- `crisismerge` (16 by default) merges a whole level at once, inside the
-- transaction that gives it its sixteenth segment: with `automerge` at 16
-- too, a level would mostly be merged that way as soon as it reached
-- sixteen (at a million entries, 16 segments of 3,400 pages in one sync)
-- instead of a few pages per transaction. At 32 it stays what it was, a bound the incremental merges
-- keep well below.
INSERT INTO entries_fts (entries_fts, rank) VALUES ('automerge', 16);
INSERT INTO entries_fts (entries_fts, rank) VALUES ('crisismerge', 32);
