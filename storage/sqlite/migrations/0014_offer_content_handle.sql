-- The person's account a submitted post's link names (its handle, as social_profiles keeps
-- it), so the agency sees whose post it is; NULL when the link names none
-- (instagram.com/p/..., youtube.com/watch?v=...), as for posts recorded before links were
-- matched to accounts.
ALTER TABLE offers ADD COLUMN content_handle TEXT;
