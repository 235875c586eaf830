-- Kiln's PostgreSQL schema, 103: robots installed on stations, with the advisor's prediction at
-- the time (its follow-up), as in DuckDB's schema.
CREATE TABLE installations (
    id BIGINT PRIMARY KEY, enterprise_id INTEGER NOT NULL, line_id INTEGER NOT NULL,
    station_id INTEGER NOT NULL, installed_ms BIGINT NOT NULL, solution_id BIGINT,
    description TEXT NOT NULL, prediction TEXT NOT NULL, recorded_ms BIGINT NOT NULL,
    recorded_by TEXT NOT NULL);
CREATE INDEX installations_line ON installations (line_id, installed_ms);
