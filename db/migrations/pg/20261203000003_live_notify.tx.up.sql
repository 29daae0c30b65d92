-- Live sync across instances: the statement that changes a todo raises a
-- NOTIFY on wxtodo_todos with the user's new list version and count and
-- the todo after the change (a title is at most 200 characters, so the
-- payload stays far under NOTIFY's 8,000 bytes); PostgreSQL delivers it
-- at commit, to every instance's listener. Ending a session raises one
-- on wxtodo_sessions, so that its sockets close on every instance.
-- Channels are the database's, not a schema's: the payload names the
-- schema, and a listener takes only its own.
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
    -- A user deleted with their todos has no row left to count in.
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
--bun:split
CREATE FUNCTION sessions_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wxtodo_sessions', json_build_object('s', current_schema(), 'id', OLD.id)::text);
  RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION sessions_ended();
