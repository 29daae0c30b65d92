-- Each user's list version: every change of the user's todos increases
-- it, in the statement that makes the change, so a client compares
-- versions to know whether it missed something.
ALTER TABLE users ADD COLUMN todo_version INTEGER NOT NULL DEFAULT 0;
--bun:split
DROP TRIGGER todos_count_insert;
--bun:split
DROP TRIGGER todos_count_delete;
--bun:split
DROP TRIGGER todos_count_done;
--bun:split
CREATE TRIGGER todos_count_insert AFTER INSERT ON todos BEGIN
  UPDATE users SET todo_count = todo_count + 1, done_count = done_count + NEW.done,
    todo_version = todo_version + 1 WHERE id = NEW.user_id;
END;
--bun:split
CREATE TRIGGER todos_count_delete AFTER DELETE ON todos BEGIN
  UPDATE users SET todo_count = todo_count - 1, done_count = done_count - OLD.done,
    todo_version = todo_version + 1 WHERE id = OLD.user_id;
END;
--bun:split
CREATE TRIGGER todos_count_update AFTER UPDATE ON todos BEGIN
  UPDATE users SET done_count = done_count + NEW.done - OLD.done,
    todo_version = todo_version + 1 WHERE id = NEW.user_id;
END;
