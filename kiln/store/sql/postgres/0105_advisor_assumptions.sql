-- Kiln's PostgreSQL schema, 105: each enterprise's changes to the advisor's default
-- assumptions (a JSON object), as in DuckDB's schema.
CREATE TABLE advisor_assumptions (
    enterprise_id INTEGER PRIMARY KEY, doc TEXT NOT NULL, updated_ms BIGINT NOT NULL,
    updated_by TEXT NOT NULL);
