-- Pausing and resuming a campaign reschedules its unsent offer and post rows by their
-- reference: one index lookup each, not a pass over every delivery.
CREATE INDEX deliveries_pending_ref ON deliveries (ref) WHERE status = 'pending';
