CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      TEXT NOT NULL,
    open_id     TEXT NOT NULL,
    union_id    TEXT,
    nickname    TEXT NOT NULL DEFAULT '',
    avatar_url  TEXT NOT NULL DEFAULT '',
    -- Counters kept in step with todos so totalCount never scans.
    todo_count  INTEGER NOT NULL DEFAULT 0,
    done_count  INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    CONSTRAINT users_app_id_open_id_key UNIQUE (app_id, open_id)
);
--bun:split
CREATE INDEX users_union_id_idx ON users (union_id) WHERE union_id IS NOT NULL;
--bun:split
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  BLOB NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_key TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
--bun:split
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
--bun:split
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
--bun:split
-- AUTOINCREMENT: IDs are never reused, so ID order stays creation order.
CREATE TABLE todos (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title              TEXT NOT NULL,
    done               BOOLEAN NOT NULL DEFAULT FALSE,
    client_mutation_id TEXT,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    CONSTRAINT todos_user_id_client_mutation_id_key UNIQUE (user_id, client_mutation_id)
);
--bun:split
CREATE INDEX todos_user_id_id_idx ON todos (user_id, id DESC);
--bun:split
CREATE INDEX todos_user_id_done_id_idx ON todos (user_id, done, id DESC);
--bun:split
CREATE TABLE login_codes (
    code_hash  BLOB PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    -- The session the login opened: a retry replaces it.
    session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
