-- Back to one identity per user: each user keeps the identity it was
-- created with (users.app_id, open_id) and its session_key; identities
-- that joined a person later are dropped, and sign in as new users.
ALTER TABLE users ADD COLUMN session_key TEXT;
--bun:split
ALTER TABLE users ADD COLUMN session_key_fp BLOB;
--bun:split
ALTER TABLE users ADD COLUMN prev_session_key TEXT;
--bun:split
UPDATE users SET
  session_key = (SELECT i.session_key FROM identities AS i WHERE i.app_id = users.app_id AND i.open_id = users.open_id),
  session_key_fp = (SELECT i.session_key_fp FROM identities AS i WHERE i.app_id = users.app_id AND i.open_id = users.open_id),
  prev_session_key = (SELECT i.prev_session_key FROM identities AS i WHERE i.app_id = users.app_id AND i.open_id = users.open_id);
--bun:split
DROP TABLE identities;
--bun:split
DROP INDEX users_union_id_key;
--bun:split
CREATE INDEX users_union_id_idx ON users (union_id) WHERE union_id IS NOT NULL;
--bun:split
ALTER TABLE sessions DROP COLUMN app_id;
--bun:split
DROP TRIGGER todos_count_move;
--bun:split
DROP TRIGGER todos_count_update;
--bun:split
CREATE TRIGGER todos_count_update AFTER UPDATE ON todos BEGIN
  UPDATE users SET done_count = done_count + NEW.done - OLD.done,
    todo_version = todo_version + 1 WHERE id = NEW.user_id;
END;
