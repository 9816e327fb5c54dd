-- A row held for the end of its person's quiet hours says so. Such a row waits for a time
-- the person chose, not for the platform: it heads no chat's queue (what is due for that
-- chat goes past it, SqliteOutbox's head-of-chat rule), and a change of the person's
-- settings finds it to re-time it. A row waiting out a backoff or a 429 is never marked:
-- it keeps its chat's order. Rows queued before this migration are not marked, as nothing
-- tells a held row from one handed back behind a failed one; they go at their time.
ALTER TABLE deliveries ADD COLUMN quiet INTEGER NOT NULL DEFAULT 0 CHECK (quiet IN (0, 1));
-- The rows held for quiet hours, per platform and soonest first, for `kolbot outbox status`,
-- without reading the rest of a backlog.
CREATE INDEX deliveries_quiet ON deliveries (platform, next_attempt_at)
    WHERE status = 'pending' AND quiet = 1;
