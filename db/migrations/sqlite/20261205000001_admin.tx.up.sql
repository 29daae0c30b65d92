-- Operators: an account can be disabled (its sessions end, its logins
-- are refused), sessions say when they were last used, operators sign in
-- with tokens of their own (hashed, like session tokens), and every
-- operator action is recorded.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
--bun:split
ALTER TABLE users ADD COLUMN disabled_reason TEXT;
--bun:split
-- Moved with the sliding expiry, at most once per renewal interval.
ALTER TABLE sessions ADD COLUMN last_used_at TIMESTAMP;
--bun:split
UPDATE sessions SET last_used_at = created_at;
--bun:split
CREATE TABLE operator_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    CONSTRAINT operator_tokens_name_key UNIQUE (name),
    CONSTRAINT operator_tokens_token_hash_key UNIQUE (token_hash)
);
--bun:split
CREATE TABLE admin_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TIMESTAMP NOT NULL,
    operator  TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    client_ip TEXT NOT NULL
);
