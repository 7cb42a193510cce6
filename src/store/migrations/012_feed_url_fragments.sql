-- syndic schema v12: a feed's URL has no #fragment.
--
-- A fragment never reaches the server, and feeds.toml URLs that differ only
-- by one are the same feed; but the URL was stored with it, so editing only
-- the fragment made a new feed (fetched again, its entries stored twice).
-- feeds.toml URLs are now read without it; stored ones lose theirs here. Of
-- rows that differ only by their fragments the one fetched last (the one
-- feeds.toml lists now, after an edit of the fragment) takes the bare URL;
-- a row whose bare URL is taken keeps its own (an orphan, listed by `feeds
-- --orphans`).
UPDATE feeds SET url = substr(url, 1, instr(url, '#') - 1)
WHERE instr(url, '#') > 0
  AND NOT EXISTS (SELECT 1 FROM feeds g WHERE g.url = substr(feeds.url, 1, instr(feeds.url, '#') - 1))
  AND id = (SELECT h.id FROM feeds h
            WHERE instr(h.url, '#') > 0
              AND substr(h.url, 1, instr(h.url, '#') - 1) = substr(feeds.url, 1, instr(feeds.url, '#') - 1)
            ORDER BY COALESCE(h.last_attempt, 0) DESC, h.id LIMIT 1);
