DROP TRIGGER todos_count_insert;
--bun:split
DROP TRIGGER todos_count_delete;
--bun:split
DROP TRIGGER todos_count_update;
--bun:split
CREATE TRIGGER todos_count_insert AFTER INSERT ON todos BEGIN
  UPDATE users SET todo_count = todo_count + 1, done_count = done_count + NEW.done WHERE id = NEW.user_id;
END;
--bun:split
CREATE TRIGGER todos_count_delete AFTER DELETE ON todos BEGIN
  UPDATE users SET todo_count = todo_count - 1, done_count = done_count - OLD.done WHERE id = OLD.user_id;
END;
--bun:split
CREATE TRIGGER todos_count_done AFTER UPDATE OF done ON todos WHEN NEW.done <> OLD.done BEGIN
  UPDATE users SET done_count = done_count + (CASE WHEN NEW.done THEN 1 ELSE -1 END) WHERE id = NEW.user_id;
END;
--bun:split
ALTER TABLE users DROP COLUMN todo_version;
