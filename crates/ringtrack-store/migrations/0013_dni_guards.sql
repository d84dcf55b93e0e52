-- What keeps one client from holding a whole pool: each visit's address as a keyed hash
-- (never the address), so leases can be counted per address, and when each number was
-- leased, so a lease kept alive by heartbeats alone can be reclaimed after a while.
-- Shared by SQLite and PostgreSQL.

ALTER TABLE dni_sessions ADD COLUMN client_key TEXT;
ALTER TABLE pool_numbers ADD COLUMN leased_at BIGINT NOT NULL DEFAULT 0;
UPDATE pool_numbers SET leased_at = last_seen_at WHERE session_id IS NOT NULL AND last_seen_at IS NOT NULL;
