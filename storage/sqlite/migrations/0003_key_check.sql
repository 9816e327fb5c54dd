-- The check of the key that seals payout details (a hash of it, never the key): a start with
-- another key, or without the key, is refused rather than sealing new details with a key
-- the old ones do not open, and losing sight of payout reuse. One row.
CREATE TABLE sealing_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key_check   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
