DROP TABLE IF EXISTS wechat_tokens;
--bun:split
ALTER TABLE sessions ADD COLUMN session_key TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE users DROP COLUMN phone_number;
--bun:split
ALTER TABLE users DROP COLUMN prev_session_key;
--bun:split
ALTER TABLE users DROP COLUMN session_key_fp;
--bun:split
ALTER TABLE users DROP COLUMN session_key;
