-- What WeChat answered for a claimed code whose sign-in then failed (the
-- database went away after the exchange): WeChat refuses a code twice, so
-- the retry signs in with this instead. The session_key is sealed with
-- DATA_KEY, as on users.
ALTER TABLE login_codes ADD COLUMN open_id TEXT;
--bun:split
ALTER TABLE login_codes ADD COLUMN union_id TEXT;
--bun:split
ALTER TABLE login_codes ADD COLUMN session_key TEXT;
--bun:split
ALTER TABLE login_codes ADD COLUMN session_key_fp BLOB;
