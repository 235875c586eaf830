-- Kiln's PostgreSQL schema, 101: alarms, as in DuckDB's schema. One row per alarm (its current
-- state), its history in alarm_events, and the rules defined through the API or the UI.
CREATE TABLE alarms (
    id BIGINT PRIMARY KEY, key TEXT NOT NULL, enterprise_id INTEGER NOT NULL,
    equipment_id INTEGER NOT NULL, kind TEXT NOT NULL, severity SMALLINT NOT NULL,
    message TEXT NOT NULL, rule TEXT, series INTEGER, value DOUBLE PRECISION,
    score DOUBLE PRECISION, active BOOLEAN NOT NULL,
    acknowledged BOOLEAN NOT NULL, raised_ms BIGINT NOT NULL, last_change_ms BIGINT NOT NULL,
    cleared_ms BIGINT, acked_ms BIGINT, acked_by TEXT, ack_comment TEXT,
    shelved_until_ms BIGINT, shelved_by TEXT, occurrences INTEGER NOT NULL,
    flapping BOOLEAN NOT NULL, closed BOOLEAN NOT NULL);
-- The console lists an enterprise's open alarms, and its history newest first.
CREATE INDEX alarms_open ON alarms (enterprise_id) WHERE NOT closed;
CREATE INDEX alarms_raised ON alarms (enterprise_id, raised_ms);
CREATE TABLE alarm_events (
    alarm_id BIGINT NOT NULL, ts_ms BIGINT NOT NULL, action TEXT NOT NULL, who TEXT,
    comment TEXT, severity SMALLINT NOT NULL, message TEXT NOT NULL,
    enterprise_id INTEGER NOT NULL, equipment_id INTEGER NOT NULL);
CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id, ts_ms);
CREATE INDEX alarm_events_ts ON alarm_events (enterprise_id, ts_ms);
CREATE TABLE alarm_rules (
    name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_ms BIGINT, updated_by TEXT);
