-- People, how they reach us, what they claim, and the conversations that collect it.
-- Times are ISO 8601 UTC text; money never appears here.

CREATE TABLE people (
    id              INTEGER PRIMARY KEY,
    display_name    TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    country         TEXT    NOT NULL,
    timezone        TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'applicant'
                    CHECK (status IN ('applicant', 'approved', 'rejected', 'suspended')),
    status_reason   TEXT,
    consent_version TEXT    NOT NULL,
    consent_at      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    erased_at       TEXT
);

CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY,
    platform         TEXT    NOT NULL,
    platform_user_id TEXT    NOT NULL,
    person_id        INTEGER REFERENCES people (id) ON DELETE CASCADE,
    dm_chat          TEXT    NOT NULL,
    reachable        INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT    NOT NULL,
    UNIQUE (platform, platform_user_id)
);
CREATE INDEX accounts_person ON accounts (person_id);
CREATE INDEX accounts_dm_chat ON accounts (dm_chat);

-- A handle claimed by two people is kept for both and flagged: the one who proves ownership
-- by signing in with the network wins later, so uniqueness is per person here.
CREATE TABLE social_profiles (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    network     TEXT    NOT NULL,
    handle      TEXT    NOT NULL,
    followers   INTEGER NOT NULL CHECK (followers >= 0),
    verified_at TEXT,
    UNIQUE (person_id, network, handle)
);
CREATE INDEX social_profiles_handle ON social_profiles (network, handle);

CREATE TABLE person_niches (
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    niche     TEXT    NOT NULL,
    PRIMARY KEY (person_id, niche)
);
CREATE INDEX person_niches_niche ON person_niches (niche);

-- details: encrypted; masked: safe to show; fingerprint: keyed hash to find reuse
-- across people without decrypting anything.
CREATE TABLE payouts (
    person_id   INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    method      TEXT    NOT NULL CHECK (method IN ('paypal', 'iban')),
    details     TEXT    NOT NULL,
    masked      TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX payouts_fingerprint ON payouts (fingerprint);

CREATE TABLE review_flags (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    resolved_at TEXT
);
CREATE INDEX review_flags_open ON review_flags (person_id) WHERE resolved_at IS NULL;

CREATE TABLE conversations (
    platform   TEXT NOT NULL,
    chat       TEXT NOT NULL,
    user       TEXT NOT NULL,
    flow       TEXT NOT NULL,
    step       TEXT NOT NULL,
    data       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (platform, chat, user)
);
CREATE INDEX conversations_expiry ON conversations (expires_at);

CREATE TABLE processed_updates (
    platform     TEXT NOT NULL,
    update_id    TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (platform, update_id)
);
CREATE INDEX processed_updates_age ON processed_updates (processed_at);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_person ON audit_log (person_id);
