-- The pages the tracking script has run on, per pool: how often, and how often the target
-- number was still visible after the swap (a site owner's sign that a page writes the
-- number in a way the script missed). One row per page (origin and path), bounded per pool.
CREATE TABLE dni_pages (
    pool_id TEXT NOT NULL REFERENCES number_pools (id),
    url TEXT NOT NULL,
    views BIGINT NOT NULL,
    target_visible_views BIGINT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    last_target_visible_at BIGINT,
    PRIMARY KEY (pool_id, url)
);
CREATE INDEX dni_pages_recent ON dni_pages (pool_id, last_seen_at);
