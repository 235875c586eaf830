-- Kiln's embedded schema (DuckDB). Idempotent: run at every start.
-- Asset tables key on id only: the one writer hands out ids by natural key (slug paths), and
-- DuckDB's INSERT OR REPLACE needs a single key.
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS districts (
    id INTEGER PRIMARY KEY, code VARCHAR, name_en VARCHAR, name_zh VARCHAR);
CREATE TABLE IF NOT EXISTS enterprises (
    id INTEGER PRIMARY KEY, slug VARCHAR NOT NULL, name VARCHAR, name_zh VARCHAR,
    district VARCHAR, industry_code VARCHAR, robot_maker BOOLEAN);
CREATE TABLE IF NOT EXISTS sites (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, slug VARCHAR, name VARCHAR, timezone VARCHAR);
-- A site's shift calendar: shifts/workdays/holidays/breaks (NULL: around the clock).
ALTER TABLE sites ADD COLUMN IF NOT EXISTS calendar VARCHAR;
CREATE TABLE IF NOT EXISTS lines (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, site_id INTEGER, slug VARCHAR, name VARCHAR,
    area VARCHAR);
CREATE TABLE IF NOT EXISTS stations (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, line_id INTEGER, slug VARCHAR, name VARCHAR,
    position INTEGER, operators INTEGER);
CREATE TABLE IF NOT EXISTS equipment (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, station_id INTEGER, slug VARCHAR, name VARCHAR,
    template VARCHAR, ideal_cycle_s DOUBLE);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, equipment_id INTEGER, name VARCHAR,
    unit VARCHAR, kind VARCHAR, lo DOUBLE, hi DOUBLE);
-- Telemetry: no primary key (a per-row key costs ~8x on insert); points stay clustered by
-- (series, ts) so zone maps prune and compression stays near 3 bytes a point.
CREATE TABLE IF NOT EXISTS points (series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE);
-- Small live batches land here and are moved into points, sorted, by compact().
CREATE TABLE IF NOT EXISTS points_hot (series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE);
-- Last values live in memory and are saved here at compaction and on close (keeping them
-- current on every write cost a quarter of the write); after a crash they are recomputed.
CREATE TABLE IF NOT EXISTS series_last (series INTEGER PRIMARY KEY, ts BIGINT, value DOUBLE);
CREATE TABLE IF NOT EXISTS states (
    equipment INTEGER NOT NULL, ts BIGINT NOT NULL, state TINYINT NOT NULL, reason VARCHAR);
CREATE TABLE IF NOT EXISTS counts (
    equipment INTEGER NOT NULL, ts BIGINT NOT NULL, good BIGINT NOT NULL, scrap BIGINT NOT NULL);
ALTER TABLE counts ADD COLUMN IF NOT EXISTS rework BIGINT DEFAULT 0;  -- parts to be reworked
-- Identities of committed batches, so a redelivered batch is stored once.
CREATE TABLE IF NOT EXISTS batches (id VARCHAR PRIMARY KEY, committed_ms BIGINT);
-- Security: users, bearer tokens (stored hashed), web sessions, consents and the audit log.
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username VARCHAR NOT NULL, password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL, enterprise_id INTEGER, created_ms BIGINT, disabled BOOLEAN DEFAULT false);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY, user_id INTEGER, name VARCHAR NOT NULL, token_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL, enterprise_id INTEGER, equipment INTEGER[], created_ms BIGINT,
    expires_ms BIGINT, revoked_ms BIGINT, last_used_ms BIGINT);
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS mqtt_hash VARCHAR;  -- device tokens: broker password
CREATE TABLE IF NOT EXISTS sessions (
    id_hash VARCHAR PRIMARY KEY, user_id INTEGER NOT NULL, csrf VARCHAR NOT NULL,
    created_ms BIGINT, expires_ms BIGINT);
CREATE TABLE IF NOT EXISTS consents (
    enterprise_id INTEGER NOT NULL, indicator VARCHAR NOT NULL, granted_by INTEGER,
    granted_ms BIGINT, revoked_ms BIGINT);
CREATE SEQUENCE IF NOT EXISTS audit_seq;
CREATE TABLE IF NOT EXISTS audit (
    id BIGINT DEFAULT nextval('audit_seq'), ts_ms BIGINT NOT NULL, actor VARCHAR, role VARCHAR,
    enterprise_id INTEGER, action VARCHAR NOT NULL, target VARCHAR, detail VARCHAR, address VARCHAR);
-- Dead letters: messages an adapter refused, with the reason and the payload's first bytes.
-- The newest ingest.dead_letters_keep rows are kept; dead_letter_counts keeps every count.
CREATE SEQUENCE IF NOT EXISTS dead_letter_seq;
CREATE TABLE IF NOT EXISTS dead_letters (
    id BIGINT DEFAULT nextval('dead_letter_seq'), ts_ms BIGINT NOT NULL, enterprise_id INTEGER,
    adapter VARCHAR NOT NULL, source VARCHAR NOT NULL, reason VARCHAR NOT NULL, payload BLOB);
CREATE TABLE IF NOT EXISTS dead_letter_counts (
    adapter VARCHAR NOT NULL, source VARCHAR NOT NULL, enterprise_id INTEGER NOT NULL,
    n BIGINT NOT NULL, last_ms BIGINT, last_reason VARCHAR,
    PRIMARY KEY (adapter, source, enterprise_id));
-- Product runs: from start_ms on the equipment makes this product, ideally in pri_s seconds
-- a unit (NULL: the product's last known cycle on that equipment, else unknown). A product
-- change on a line is one row per equipment of the line.
CREATE TABLE IF NOT EXISTS product_runs (
    equipment INTEGER NOT NULL, start_ms BIGINT NOT NULL, product VARCHAR NOT NULL,
    pri_s DOUBLE, enterprise_id INTEGER NOT NULL, line_id INTEGER, recorded_ms BIGINT,
    recorded_by VARCHAR, PRIMARY KEY (equipment, start_ms));
-- The plan tracker: plans and indicator definitions as JSON documents, the figures the city
-- published, and enterprises' statistical filings, every version kept (current marks the
-- latest; a correction adds a version and never rewrites one).
CREATE TABLE IF NOT EXISTS plan_documents (
    kind VARCHAR NOT NULL, key VARCHAR NOT NULL, doc VARCHAR NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS published_figures (
    indicator VARCHAR NOT NULL, scope VARCHAR NOT NULL, year INTEGER NOT NULL,
    measure VARCHAR NOT NULL, value DOUBLE NOT NULL, source VARCHAR, note VARCHAR,
    reliability VARCHAR, PRIMARY KEY (indicator, scope, year, measure));
CREATE TABLE IF NOT EXISTS filings (
    enterprise_id INTEGER NOT NULL, year SMALLINT NOT NULL, month TINYINT NOT NULL,
    version INTEGER NOT NULL, current BOOLEAN NOT NULL, reason VARCHAR, filed_by VARCHAR,
    filed_ms BIGINT, channel VARCHAR, flags VARCHAR,
    output_value DOUBLE, revenue DOUBLE, robot_output_value DOUBLE, robots_installed DOUBLE,
    employees DOUBLE, reform_investment DOUBLE, energy_use DOUBLE,
    PRIMARY KEY (enterprise_id, year, month, version));
-- Rollups (kiln.store.duckdb_rollups): each series per minute and per hour, enough for
-- buckets() to answer avg (total / n), min (low), max (high), last and count exactly.
-- rollup_dirty holds the (series, hour)s written since they were last rolled up, and the
-- earliest time written in each; compact() recomputes them from the raw points.
-- Times are whole UTC minutes (hours) since the epoch: an INTEGER compresses to half a BIGINT
-- of milliseconds there.
CREATE TABLE IF NOT EXISTS rollup_1m (
    series INTEGER NOT NULL, minute INTEGER NOT NULL, n BIGINT NOT NULL, total DOUBLE,
    low DOUBLE, high DOUBLE, last DOUBLE);
CREATE TABLE IF NOT EXISTS rollup_1h (
    series INTEGER NOT NULL, hour INTEGER NOT NULL, n BIGINT NOT NULL, total DOUBLE, low DOUBLE,
    high DOUBLE, last DOUBLE);
CREATE TABLE IF NOT EXISTS rollup_dirty (
    series INTEGER NOT NULL, hour BIGINT NOT NULL, from_ms BIGINT NOT NULL,
    PRIMARY KEY (series, hour));
-- Big direct writes mark the hours they touch here, for a range of series, in a statement of
-- their own before their points (an upsert of every (series, hour) into the keyed table cost
-- them a fifth of their rate); roll_up expands the marks into rollup_dirty first.
CREATE TABLE IF NOT EXISTS rollup_hour_marks (
    hour BIGINT NOT NULL, series_lo INTEGER NOT NULL, series_hi INTEGER NOT NULL,
    from_ms BIGINT NOT NULL);
-- Retention (kiln.store.retention): raw points of a series before cut_ms may have been deleted,
-- so a late point there is merged into the rollups instead of replacing them.
CREATE TABLE IF NOT EXISTS raw_cuts (series INTEGER PRIMARY KEY, cut_ms BIGINT NOT NULL);
-- Alarms: one row per alarm (its current state), its history in alarm_events, and the rules
-- defined through the API or the UI (rules from the TOML file are not stored).
CREATE TABLE IF NOT EXISTS alarms (
    id BIGINT PRIMARY KEY, key VARCHAR NOT NULL, enterprise_id INTEGER NOT NULL,
    equipment_id INTEGER NOT NULL, kind VARCHAR NOT NULL, severity SMALLINT NOT NULL,
    message VARCHAR NOT NULL, rule VARCHAR, series INTEGER, value DOUBLE, score DOUBLE,
    active BOOLEAN NOT NULL, acknowledged BOOLEAN NOT NULL,
    raised_ms BIGINT NOT NULL, last_change_ms BIGINT NOT NULL, cleared_ms BIGINT,
    acked_ms BIGINT, acked_by VARCHAR, ack_comment VARCHAR, shelved_until_ms BIGINT,
    shelved_by VARCHAR, occurrences INTEGER NOT NULL, flapping BOOLEAN NOT NULL,
    closed BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_events (
    alarm_id BIGINT NOT NULL, ts_ms BIGINT NOT NULL, action VARCHAR NOT NULL, who VARCHAR,
    comment VARCHAR, severity SMALLINT NOT NULL, message VARCHAR NOT NULL,
    enterprise_id INTEGER NOT NULL, equipment_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_rules (
    name VARCHAR PRIMARY KEY, doc VARCHAR NOT NULL, updated_ms BIGINT, updated_by VARCHAR);
-- The solution catalogue (kiln.store.solution_tables): providers' entries, owned by their
-- enterprise; codes, processes and loss types as '|'-delimited lists.
CREATE TABLE IF NOT EXISTS solutions (
    id BIGINT PRIMARY KEY, enterprise_id INTEGER NOT NULL, name VARCHAR NOT NULL,
    summary VARCHAR NOT NULL, industries VARCHAR NOT NULL, processes VARCHAR NOT NULL,
    losses VARCHAR NOT NULL, payload_min_kg DOUBLE, payload_max_kg DOUBLE, cycle_min_s DOUBLE,
    cycle_max_s DOUBLE, price_min_yuan DOUBLE NOT NULL, price_max_yuan DOUBLE NOT NULL,
    refs VARCHAR NOT NULL, updated_ms BIGINT NOT NULL, updated_by VARCHAR NOT NULL);
-- Robots installed on stations, with the advisor's prediction at the time (its follow-up).
CREATE TABLE IF NOT EXISTS installations (
    id BIGINT PRIMARY KEY, enterprise_id INTEGER NOT NULL, line_id INTEGER NOT NULL,
    station_id INTEGER NOT NULL, installed_ms BIGINT NOT NULL, solution_id BIGINT,
    description VARCHAR NOT NULL, prediction VARCHAR NOT NULL, recorded_ms BIGINT NOT NULL,
    recorded_by VARCHAR NOT NULL);
-- A person's preferences (the page language), by user name.
CREATE TABLE IF NOT EXISTS user_preferences (
    username VARCHAR NOT NULL, key VARCHAR NOT NULL, value VARCHAR NOT NULL,
    updated_ms BIGINT NOT NULL, PRIMARY KEY (username, key));
-- Each enterprise's changes to the advisor's default assumptions (a JSON object).
CREATE TABLE IF NOT EXISTS advisor_assumptions (
    enterprise_id INTEGER PRIMARY KEY, doc VARCHAR NOT NULL, updated_ms BIGINT NOT NULL,
    updated_by VARCHAR NOT NULL);
