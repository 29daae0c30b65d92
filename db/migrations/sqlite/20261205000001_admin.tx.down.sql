DROP TABLE admin_audit;
--bun:split
DROP TABLE operator_tokens;
--bun:split
ALTER TABLE sessions DROP COLUMN last_used_at;
--bun:split
ALTER TABLE users DROP COLUMN disabled_reason;
--bun:split
ALTER TABLE users DROP COLUMN disabled_at;
