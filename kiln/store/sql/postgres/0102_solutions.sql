-- Kiln's PostgreSQL schema, 102: the solution catalogue, as in DuckDB's schema. Providers'
-- entries, owned by their enterprise; codes, processes and loss types as '|'-delimited lists.
CREATE TABLE solutions (
    id BIGINT PRIMARY KEY, enterprise_id INTEGER NOT NULL, name TEXT NOT NULL,
    summary TEXT NOT NULL, industries TEXT NOT NULL, processes TEXT NOT NULL,
    losses TEXT NOT NULL, payload_min_kg DOUBLE PRECISION, payload_max_kg DOUBLE PRECISION,
    cycle_min_s DOUBLE PRECISION, cycle_max_s DOUBLE PRECISION,
    price_min_yuan DOUBLE PRECISION NOT NULL, price_max_yuan DOUBLE PRECISION NOT NULL,
    refs TEXT NOT NULL, updated_ms BIGINT NOT NULL, updated_by TEXT NOT NULL);
-- A provider's own list.
CREATE INDEX solutions_enterprise ON solutions (enterprise_id);
