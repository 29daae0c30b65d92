-- Several mini-programs over one user base. A user is now a person: the
-- one who owns the todos, the profile and the phone number, with one
-- identity per app (WeChat gives a person an openid per app, and one
-- unionid across the apps bound to one Open Platform account). Each
-- identity keeps its app's session_key, sealed with DATA_KEY as before.
-- users.app_id and open_id stay as the identity the person was created
-- with (SQLite cannot drop a UNIQUE column without rebuilding the table
-- that todos, sessions and login codes reference); sign-in reads
-- identities.
CREATE TABLE identities (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id           TEXT NOT NULL,
    open_id          TEXT NOT NULL,
    union_id         TEXT, -- as WeChat sent it for this identity; the person's is users.union_id
    session_key      TEXT,
    session_key_fp   BLOB,
    prev_session_key TEXT,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    CONSTRAINT identities_app_id_open_id_key UNIQUE (app_id, open_id)
);
--bun:split
CREATE INDEX identities_user_id_idx ON identities (user_id);
--bun:split
INSERT INTO identities (user_id, app_id, open_id, union_id, session_key, session_key_fp, prev_session_key, created_at, updated_at)
  SELECT id, app_id, open_id, union_id, session_key, session_key_fp, prev_session_key, created_at, updated_at FROM users ORDER BY id;
--bun:split
-- A unionid names one person. Should two users share one (not with one
-- app), the oldest keeps it; the others' identities keep theirs and join
-- that person at their next sign-in.
UPDATE users SET union_id = NULL WHERE union_id IS NOT NULL
  AND id > (SELECT min(o.id) FROM users AS o WHERE o.union_id = users.union_id);
--bun:split
DROP INDEX users_union_id_idx;
--bun:split
CREATE UNIQUE INDEX users_union_id_key ON users (union_id) WHERE union_id IS NOT NULL;
--bun:split
ALTER TABLE users DROP COLUMN session_key;
--bun:split
ALTER TABLE users DROP COLUMN session_key_fp;
--bun:split
ALTER TABLE users DROP COLUMN prev_session_key;
--bun:split
-- The app a session signed in with: WeChat data is that app's.
ALTER TABLE sessions ADD COLUMN app_id TEXT NOT NULL DEFAULT '';
--bun:split
UPDATE sessions SET app_id = (SELECT app_id FROM users WHERE users.id = sessions.user_id);
--bun:split
-- When two persons turn out to be one (a unionid that WeChat sent late),
-- one's todos move to the other: a move counts as a delete from the one
-- list and a create in the other, for the counters and the versions.
DROP TRIGGER todos_count_update;
--bun:split
CREATE TRIGGER todos_count_update AFTER UPDATE ON todos WHEN NEW.user_id = OLD.user_id BEGIN
  UPDATE users SET done_count = done_count + NEW.done - OLD.done,
    todo_version = todo_version + 1 WHERE id = NEW.user_id;
END;
--bun:split
CREATE TRIGGER todos_count_move AFTER UPDATE OF user_id ON todos WHEN NEW.user_id <> OLD.user_id BEGIN
  UPDATE users SET todo_count = todo_count - 1, done_count = done_count - OLD.done,
    todo_version = todo_version + 1 WHERE id = OLD.user_id;
  UPDATE users SET todo_count = todo_count + 1, done_count = done_count + NEW.done,
    todo_version = todo_version + 1 WHERE id = NEW.user_id;
END;
