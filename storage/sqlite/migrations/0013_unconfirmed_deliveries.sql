-- A send whose answer was lost (a read timeout, a server error after it went out) may have
-- arrived: it is repeated at most KOLBOT_DELIVERY_UNCONFIRMED_REPEATS times, then left
-- 'unconfirmed' for an operator (`kolbot outbox retry --unconfirmed`). lost_answers counts
-- those sends of a row. SQLite cannot change a CHECK in place, so the table is made anew,
-- its rows (ids included) and indexes with it.
CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    platform        TEXT    NOT NULL,
    chat            TEXT    NOT NULL,
    payload         TEXT,
    ref             TEXT,
    priority        INTEGER NOT NULL DEFAULT 0,
    collapse_key    TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed',
                                      'unconfirmed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    lost_answers    INTEGER NOT NULL DEFAULT 0 CHECK (lost_answers >= 0),
    -- The first of the failed tries in a row: an outage is measured from it, not from when
    -- the message was queued (a broadcast's tail may wait hours, and that is no outage).
    failing_since   TEXT,
    parts_sent      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    message_id      TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    finished_at     TEXT,
    CHECK ((payload IS NULL) <> (ref IS NULL))
);
INSERT INTO deliveries_new (id, dedupe_key, platform, chat, payload, ref, priority,
                            collapse_key, status, attempts, failing_since, parts_sent,
                            next_attempt_at, lease_owner, lease_until, message_id, last_error,
                            created_at, finished_at)
SELECT id, dedupe_key, platform, chat, payload, ref, priority, collapse_key, status, attempts,
       failing_since, parts_sent, next_attempt_at, lease_owner, lease_until, message_id,
       last_error, created_at, finished_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (platform, priority, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_chat ON deliveries (platform, chat, status);
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_collapse ON deliveries (collapse_key) WHERE status = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at);
CREATE INDEX deliveries_pending_ref ON deliveries (ref) WHERE status = 'pending';
-- Rows waiting out a backoff after failed tries, per platform, soonest first: once the
-- platform answers again they are made due at once, and while it does not, the soonest is
-- tried early to find out; neither reads the rest of a backlog.
CREATE INDEX deliveries_backoff ON deliveries (platform, next_attempt_at)
    WHERE status = 'pending' AND failing_since IS NOT NULL;
