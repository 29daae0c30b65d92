-- Back to one identity per user: each user keeps the identity it was
-- created with (users.app_id, open_id) and its session_key; identities
-- that joined a person later are dropped, and sign in as new users.
ALTER TABLE users ADD COLUMN session_key TEXT;
--bun:split
ALTER TABLE users ADD COLUMN session_key_fp BYTEA;
--bun:split
ALTER TABLE users ADD COLUMN prev_session_key TEXT;
--bun:split
UPDATE users SET session_key = i.session_key, session_key_fp = i.session_key_fp, prev_session_key = i.prev_session_key
  FROM identities AS i WHERE i.app_id = users.app_id AND i.open_id = users.open_id;
--bun:split
DROP TABLE identities;
--bun:split
DROP INDEX users_union_id_key;
--bun:split
CREATE INDEX users_union_id_idx ON users (union_id) WHERE union_id IS NOT NULL;
--bun:split
ALTER TABLE sessions DROP COLUMN app_id;
--bun:split
CREATE OR REPLACE FUNCTION todos_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v BIGINT;
  n BIGINT;
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE users SET todo_count = todo_count + 1, done_count = done_count + NEW.done::int,
      todo_version = todo_version + 1 WHERE id = NEW.user_id RETURNING todo_version, todo_count INTO v, n;
    PERFORM pg_notify('wxtodo_todos', json_build_object('s', current_schema(), 'u', NEW.user_id, 'v', v, 'n', n, 'k', 'C', 'id', NEW.id,
      'title', NEW.title, 'done', NEW.done, 'cmi', NEW.client_mutation_id, 'at', NEW.created_at, 'up', NEW.updated_at)::text);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE users SET todo_count = todo_count - 1, done_count = done_count - OLD.done::int,
      todo_version = todo_version + 1 WHERE id = OLD.user_id RETURNING todo_version, todo_count INTO v, n;
    IF FOUND THEN
      PERFORM pg_notify('wxtodo_todos', json_build_object('s', current_schema(), 'u', OLD.user_id, 'v', v, 'n', n, 'k', 'D', 'id', OLD.id)::text);
    END IF;
  ELSE
    UPDATE users SET done_count = done_count + NEW.done::int - OLD.done::int,
      todo_version = todo_version + 1 WHERE id = NEW.user_id RETURNING todo_version, todo_count INTO v, n;
    PERFORM pg_notify('wxtodo_todos', json_build_object('s', current_schema(), 'u', NEW.user_id, 'v', v, 'n', n, 'k', 'U', 'id', NEW.id,
      'title', NEW.title, 'done', NEW.done, 'cmi', NEW.client_mutation_id, 'at', NEW.created_at, 'up', NEW.updated_at)::text);
  END IF;
  RETURN NULL;
END
$$;
