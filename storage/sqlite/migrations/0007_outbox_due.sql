-- A claim reads due rows per platform and priority, earliest due first: rows waiting for a
-- later time (a retry, quiet hours) sit after the due ones in this index and are never read
-- on the way, however many there are.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (platform, priority, next_attempt_at, id)
    WHERE status = 'pending';
