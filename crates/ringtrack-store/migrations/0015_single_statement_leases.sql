-- A lease chooses and takes its pool number in one UPDATE, which sets the previous
-- holder aside in the row (its visit then ends); and overflows are counted in a few rows
-- a pool instead of on the pool's own row, which every visit shown the target had to lock.
-- Shared by SQLite and PostgreSQL.

ALTER TABLE pool_numbers ADD COLUMN previous_session_id TEXT;

CREATE TABLE pool_overflows (
    pool_id TEXT NOT NULL REFERENCES number_pools (id),
    shard BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (pool_id, shard)
);
INSERT INTO pool_overflows SELECT id, 0, overflow_count FROM number_pools WHERE overflow_count > 0;
ALTER TABLE number_pools DROP COLUMN overflow_count;
