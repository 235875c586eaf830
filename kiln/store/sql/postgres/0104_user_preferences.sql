-- Kiln's PostgreSQL schema, 104: a person's preferences (the page language), by user name, as
-- in DuckDB's schema.
CREATE TABLE user_preferences (
    username TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_ms BIGINT NOT NULL,
    PRIMARY KEY (username, key));
