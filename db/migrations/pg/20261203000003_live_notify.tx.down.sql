DROP TRIGGER sessions_ended ON sessions;
--bun:split
DROP FUNCTION sessions_ended();
--bun:split
CREATE OR REPLACE FUNCTION todos_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE users SET todo_count = todo_count + 1, done_count = done_count + NEW.done::int,
      todo_version = todo_version + 1 WHERE id = NEW.user_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE users SET todo_count = todo_count - 1, done_count = done_count - OLD.done::int,
      todo_version = todo_version + 1 WHERE id = OLD.user_id;
  ELSE
    UPDATE users SET done_count = done_count + NEW.done::int - OLD.done::int,
      todo_version = todo_version + 1 WHERE id = NEW.user_id;
  END IF;
  RETURN NULL;
END
$$;
