DROP TRIGGER IF EXISTS todos_count ON todos;
--bun:split
DROP FUNCTION IF EXISTS todos_count();
