-- Deadline reminders look for accepted offers not yet reminded, every few minutes: through
-- this index they read the accepted ones only, never the millions offered, declined or
-- withdrawn.
CREATE INDEX offers_accepted ON offers (campaign_id) WHERE status = 'accepted';
