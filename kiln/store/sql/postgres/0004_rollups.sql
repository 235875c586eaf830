-- Kiln's PostgreSQL schema, 4: rollups, as in DuckDB's schema (kiln.store.postgres_rollups).
-- Per series and minute (and hour): n, total, low, high and last of the raw points. Plain
-- tables keyed by (series, ts): a row per series-minute is 1/60 of the raw rows at 1 Hz, and
-- retention deletes by range rather than dropping days, so day partitions would buy nothing.
CREATE TABLE rollup_1m (
    series INTEGER NOT NULL, ts BIGINT NOT NULL, n BIGINT NOT NULL,
    total DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL, last DOUBLE PRECISION NOT NULL, PRIMARY KEY (series, ts));
CREATE TABLE rollup_1h (LIKE rollup_1m INCLUDING ALL);
-- The (series, hour)s written since their last rollup, and the earliest ts written in each:
-- upserted in the transaction of each write, emptied by compaction as it recomputes them.
CREATE TABLE rollup_dirty (
    series INTEGER NOT NULL, hour BIGINT NOT NULL, from_ms BIGINT NOT NULL,
    PRIMARY KEY (series, hour));
CREATE INDEX rollup_dirty_hour ON rollup_dirty (hour);
-- Per series, the time before which retention removed raw points: a late point before it is
-- merged into the rollups, since recomputing from raw points would lose what they hold.
CREATE TABLE raw_cuts (series INTEGER PRIMARY KEY, cut_ms BIGINT NOT NULL);
-- Every hour stored before this migration awaits its first rollup.
INSERT INTO rollup_dirty
SELECT series, ts / 3600000, min(ts) FROM points GROUP BY 1, 2;
