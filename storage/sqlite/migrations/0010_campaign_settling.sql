-- Pausing, resuming and closing a campaign change its status at once; the rows of its offers
-- (held, released, withdrawn) follow in short batches, so no transaction writes a million
-- of them. settle_after: the last offer settled so far; NULL when nothing is owed.
ALTER TABLE campaigns ADD COLUMN settle_after INTEGER;
CREATE INDEX campaigns_settling ON campaigns (id) WHERE settle_after IS NOT NULL;
