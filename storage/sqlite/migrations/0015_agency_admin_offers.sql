-- Whether an agency's own admins are offered its campaigns. Off unless the agency says so
-- (kolbot agency set): an admin who is an influencer too would otherwise take a slot of a
-- campaign they run, without anyone having decided that they may.
ALTER TABLE agencies ADD COLUMN offers_to_admins INTEGER NOT NULL DEFAULT 0
    CHECK (offers_to_admins IN (0, 1));
