-- Agencies run campaigns; their admins are platform accounts (agency staff need not be
-- influencers), joined by redeeming a one-time invite. The audit log, kept since 0001, now
-- says on what an action was taken, for which agency, and whether it was refused.

CREATE TABLE agencies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One agency per account: a command such as /invite then always knows which agency it is for.
CREATE TABLE agency_admins (
    id               INTEGER PRIMARY KEY,
    agency_id        INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    platform         TEXT    NOT NULL,
    platform_user_id TEXT    NOT NULL,
    added_at         TEXT    NOT NULL,
    UNIQUE (platform, platform_user_id)
);
CREATE INDEX agency_admins_agency ON agency_admins (agency_id);

-- code_hash: SHA-256 of the code; a copy of the database does not hand out unused invites.
CREATE TABLE agency_invites (
    id         INTEGER PRIMARY KEY,
    code_hash  TEXT    NOT NULL UNIQUE,
    agency_id  INTEGER NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    used_at    TEXT,
    used_by    TEXT,
    CHECK ((used_at IS NULL) = (used_by IS NULL))
);
CREATE INDEX agency_invites_agency ON agency_invites (agency_id);

-- No foreign keys here: the record of what was done outlives what it was done to.
ALTER TABLE audit_log ADD COLUMN agency_id INTEGER;
ALTER TABLE audit_log ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'allowed'
    CHECK (outcome IN ('allowed', 'refused'));
CREATE INDEX audit_log_agency ON audit_log (agency_id) WHERE agency_id IS NOT NULL;
