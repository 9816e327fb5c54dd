-- Who set a person's status. Screening decides by rule, so it decides again when the person
-- edits what it judged; an operator's decision stands until an operator changes it.
ALTER TABLE people ADD COLUMN status_by TEXT NOT NULL DEFAULT 'operator'
    CHECK (status_by IN ('screening', 'operator'));

-- Until now only screening made applicants and declined for a small audience.
UPDATE people SET status_by = 'screening'
    WHERE status = 'applicant' OR status_reason = 'followers_below_minimum';
