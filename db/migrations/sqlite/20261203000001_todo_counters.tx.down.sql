DROP TRIGGER IF EXISTS todos_count_insert;
--bun:split
DROP TRIGGER IF EXISTS todos_count_delete;
--bun:split
DROP TRIGGER IF EXISTS todos_count_done;
