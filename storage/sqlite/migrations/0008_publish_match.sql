-- Publishing reads approved people in id order, a batch at a time after the last one taken:
-- with this index each batch starts where the last ended, instead of every batch reading
-- every approved person and sorting them.
CREATE INDEX people_status_id ON people (status, id);
