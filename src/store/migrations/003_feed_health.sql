-- syndic schema v3: what a feed's server told us about its future.

-- Where a permanent redirect (301/308) moved the feed; fetched from then on.
ALTER TABLE feeds ADD COLUMN moved_to TEXT;
-- The server answered 410 Gone: not fetched again until `sync --force`.
ALTER TABLE feeds ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;
-- A feed the page at its URL links to, when the URL answered with HTML.
ALTER TABLE feeds ADD COLUMN discovered TEXT;
-- The feed's own date (channel pubDate / lastBuildDate / dc:date, Atom updated).
ALTER TABLE feeds ADD COLUMN feed_updated INTEGER;

-- Copy detection: entries that name another entry's link as their source.
CREATE INDEX entries_by_source_url ON entries(source_url) WHERE source_url IS NOT NULL;
