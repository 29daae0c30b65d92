ALTER TABLE login_codes DROP COLUMN session_key_fp;
--bun:split
ALTER TABLE login_codes DROP COLUMN session_key;
--bun:split
ALTER TABLE login_codes DROP COLUMN union_id;
--bun:split
ALTER TABLE login_codes DROP COLUMN open_id;
