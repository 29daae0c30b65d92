DROP TRIGGER todos_count ON todos;
--bun:split
CREATE OR REPLACE FUNCTION todos_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE users SET todo_count = todo_count + 1, done_count = done_count + NEW.done::int WHERE id = NEW.user_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE users SET todo_count = todo_count - 1, done_count = done_count - OLD.done::int WHERE id = OLD.user_id;
  ELSIF NEW.done IS DISTINCT FROM OLD.done THEN
    UPDATE users SET done_count = done_count + CASE WHEN NEW.done THEN 1 ELSE -1 END WHERE id = NEW.user_id;
  END IF;
  RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER todos_count AFTER INSERT OR DELETE OR UPDATE OF done ON todos
  FOR EACH ROW EXECUTE FUNCTION todos_count();
--bun:split
ALTER TABLE users DROP COLUMN todo_version;
