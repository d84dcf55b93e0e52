-- A lease chooses and takes its pool number in one UPDATE, which sets the previous
-- holder aside in the row (its visit then ends) and keeps the holder's visitor and
-- address there, so that what a visit or an address holds is read from the pool's rows
-- alone; and overflows are counted in a few rows a pool instead of on the pool's own
-- row, which every visit shown the target had to lock.
-- Shared by SQLite and PostgreSQL.

ALTER TABLE pool_numbers ADD COLUMN previous_session_id TEXT;
ALTER TABLE pool_numbers ADD COLUMN holder_visitor_id TEXT;
ALTER TABLE pool_numbers ADD COLUMN holder_client_key TEXT;
UPDATE pool_numbers SET
    holder_visitor_id = (SELECT visitor_id FROM dni_sessions WHERE dni_sessions.id = pool_numbers.session_id),
    holder_client_key = (SELECT client_key FROM dni_sessions WHERE dni_sessions.id = pool_numbers.session_id)
WHERE session_id IS NOT NULL;
CREATE INDEX pool_numbers_by_visitor ON pool_numbers (pool_id, holder_visitor_id);
CREATE INDEX pool_numbers_by_client ON pool_numbers (pool_id, holder_client_key);

CREATE TABLE pool_overflows (
    pool_id TEXT NOT NULL REFERENCES number_pools (id),
    shard BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (pool_id, shard)
);
INSERT INTO pool_overflows SELECT id, 0, overflow_count FROM number_pools WHERE overflow_count > 0;
ALTER TABLE number_pools DROP COLUMN overflow_count;
