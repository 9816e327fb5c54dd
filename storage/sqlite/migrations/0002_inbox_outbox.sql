-- The inbox (every update stored before it is acknowledged) and the outbox (every message
-- kolbot sends); "user" is a reserved word in PostgreSQL, so conversations say user_id.

ALTER TABLE conversations RENAME COLUMN user TO user_id;

CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    update_id   TEXT    NOT NULL,
    sender      TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'handled', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT    NOT NULL,
    last_error  TEXT,
    received_at TEXT    NOT NULL,
    handled_at  TEXT,
    UNIQUE (source, update_id)
);
CREATE INDEX inbox_unhandled ON inbox (next_try_at) WHERE status = 'pending';
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE status = 'handled';
CREATE INDEX inbox_sender ON inbox (source, sender, id);

-- The inbox replaces processed_updates. What the first release handled stays known as handled
-- rows under the platform's bare name (it did not key updates by bot): Telegram hands its last
-- unconfirmed batch over again after the upgrade, and the inbox recognises it (SqliteInbox).
-- They age out with other handled rows.
INSERT INTO inbox (source, update_id, sender, payload, status, next_try_at, received_at,
                   handled_at)
SELECT platform, update_id, '', '{}', 'handled', processed_at, processed_at, processed_at
FROM processed_updates;
DROP TABLE processed_updates;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    platform        TEXT    NOT NULL,
    chat            TEXT    NOT NULL,
    payload         TEXT,
    ref             TEXT,
    priority        INTEGER NOT NULL DEFAULT 0,
    collapse_key    TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
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
CREATE INDEX deliveries_due ON deliveries (priority, id) WHERE status = 'pending';
CREATE INDEX deliveries_chat ON deliveries (platform, chat, status);
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_collapse ON deliveries (collapse_key) WHERE status = 'pending';
CREATE INDEX deliveries_finished ON deliveries (finished_at);
CREATE INDEX accounts_unreachable ON accounts (platform, dm_chat) WHERE reachable = 0;

-- One open flag per reason and detail, enforced by the index rather than checked first.
DROP INDEX review_flags_open;
CREATE UNIQUE INDEX review_flags_open ON review_flags (person_id, reason, detail)
    WHERE resolved_at IS NULL;
