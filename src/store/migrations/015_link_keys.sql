-- syndic schema v15: entries are found by link through a hash of it.
--
-- Copy detection looks up every new entry's link (and the link its source
-- line names) among all stored entries. The index on the links themselves
-- held each link a second time: 170 bytes per entry for links of 114
-- characters. It now holds an 8-byte hash of the link (url_key, xxh3); a
-- lookup checks the link itself on the rows it finds.
ALTER TABLE entries ADD COLUMN url_key INTEGER;
DROP INDEX entries_by_url;

-- (the store fills the link keys here)

CREATE INDEX entries_by_url_key ON entries(url_key) WHERE url_key IS NOT NULL;
