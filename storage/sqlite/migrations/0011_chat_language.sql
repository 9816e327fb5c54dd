-- A linked group or channel has no language of its own: its posts are written in the language
-- of the admin who linked it (as of the last link).
ALTER TABLE agency_chats ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
