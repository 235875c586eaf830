-- Kiln's PostgreSQL schema, 1: telemetry. Each file runs once, in order, in one transaction
-- (kiln.store.postgres_migrations); a change to a released file goes into a new file instead.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
-- Points: one partition per UTC day (points_YYYYMMDD), created and attached before the first
-- write of a day (kiln.store.postgres_partitions); no default partition, so a day never has to
-- be moved out of one. No per-row key: a redelivered batch is refused by its id (batches).
CREATE TABLE points (
    series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL
) PARTITION BY RANGE (ts);
-- Chart and point reads are index-only scans: with value in the index they never visit the
-- heap, whose rows live streams interleave across every series (measured: a day of one series
-- out of 200 at 1 Hz, 19 ms instead of 290 ms once the day is vacuumed).
CREATE INDEX points_series_ts ON points (series, ts) INCLUDE (value);
-- The latest point of each series, upserted with every batch (only when newer), so every
-- process sharing the database sees the same last values. Every row is rewritten all day:
-- half-empty pages keep the new versions on their page (HOT), so neither table nor key bloats.
CREATE TABLE series_last (
    series INTEGER PRIMARY KEY, ts BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL
) WITH (fillfactor = 50);
-- State changes are sparse and read as "the last change before t" over all history: one
-- table, so that lookup is one index probe rather than one per stored day.
CREATE TABLE states (
    equipment INTEGER NOT NULL, ts BIGINT NOT NULL, state SMALLINT NOT NULL, reason TEXT);
CREATE INDEX states_equipment_ts ON states (equipment, ts);
-- Counts are dense (a report a minute per equipment) and always read by time window: by day.
CREATE TABLE counts (
    equipment INTEGER NOT NULL, ts BIGINT NOT NULL, good BIGINT NOT NULL, scrap BIGINT NOT NULL,
    rework BIGINT NOT NULL DEFAULT 0
) PARTITION BY RANGE (ts);
CREATE INDEX counts_equipment_ts ON counts (equipment, ts);
-- Identities of committed batches, claimed in the transaction that stores the batch.
CREATE TABLE batches (id TEXT PRIMARY KEY, committed_ms BIGINT NOT NULL);
