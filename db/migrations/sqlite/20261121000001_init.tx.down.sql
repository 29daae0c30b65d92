DROP TABLE IF EXISTS login_codes;
--bun:split
DROP TABLE IF EXISTS todos;
--bun:split
DROP TABLE IF EXISTS sessions;
--bun:split
DROP TABLE IF EXISTS users;
