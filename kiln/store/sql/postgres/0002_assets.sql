-- Kiln's PostgreSQL schema, 2: assets, keyed on id as in DuckDB (ids are handed out by natural
-- key under an advisory lock; see kiln.store.postgres_assets). meta's catalog_version row
-- changes with every import, so other processes know to reload their catalogue.
CREATE TABLE districts (id INTEGER PRIMARY KEY, code TEXT, name_en TEXT, name_zh TEXT);
CREATE TABLE enterprises (
    id INTEGER PRIMARY KEY, slug TEXT NOT NULL, name TEXT, name_zh TEXT, district TEXT,
    industry_code TEXT, robot_maker BOOLEAN);
CREATE TABLE sites (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, slug TEXT, name TEXT, timezone TEXT,
    calendar TEXT);  -- shifts/workdays/holidays/breaks (NULL: around the clock)
CREATE TABLE lines (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, site_id INTEGER, slug TEXT, name TEXT,
    area TEXT);
CREATE TABLE stations (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, line_id INTEGER, slug TEXT, name TEXT,
    position INTEGER, operators INTEGER);
CREATE TABLE equipment (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, station_id INTEGER, slug TEXT, name TEXT,
    template TEXT, ideal_cycle_s DOUBLE PRECISION);
CREATE TABLE signals (
    id INTEGER PRIMARY KEY, enterprise_id INTEGER, equipment_id INTEGER, name TEXT, unit TEXT,
    kind TEXT, lo DOUBLE PRECISION, hi DOUBLE PRECISION);
INSERT INTO meta VALUES ('catalog_version', '0');
