-- Each user's list version: every change of the user's todos increases
-- it, in the statement that makes the change, so a client compares
-- versions to know whether it missed something.
ALTER TABLE users ADD COLUMN todo_version BIGINT NOT NULL DEFAULT 0;
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
--bun:split
DROP TRIGGER todos_count ON todos;
--bun:split
CREATE TRIGGER todos_count AFTER INSERT OR DELETE OR UPDATE ON todos
  FOR EACH ROW EXECUTE FUNCTION todos_count();
