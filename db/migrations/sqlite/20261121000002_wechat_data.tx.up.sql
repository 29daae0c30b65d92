-- WeChat's session_key moves from each session to its user, sealed with
-- DATA_KEY (AES-GCM, see package secret): WeChat keeps one valid key per
-- user, and a database dump must reveal none. The fingerprint (an HMAC
-- under DATA_KEY) tells a new key from the current one without opening it;
-- the previous key tells "the key moved on" from bad input.
ALTER TABLE users ADD COLUMN session_key TEXT;
--bun:split
ALTER TABLE users ADD COLUMN session_key_fp BLOB;
--bun:split
ALTER TABLE users ADD COLUMN prev_session_key TEXT;
--bun:split
ALTER TABLE users ADD COLUMN phone_number TEXT;
--bun:split
-- The plaintext keys go; sessions made before this migration decrypt no
-- data until their user logs in again.
ALTER TABLE sessions DROP COLUMN session_key;
--bun:split
-- One access_token per AppID, shared by every instance. The lease lets one
-- instance at a time refresh it.
CREATE TABLE wechat_tokens (
    app_id       TEXT PRIMARY KEY,
    token        TEXT,          -- sealed with DATA_KEY
    expires_at   TIMESTAMP,
    lease_owner  TEXT,
    lease_until  TIMESTAMP,
    refresh_at   TIMESTAMP
);
