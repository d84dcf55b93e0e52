-- Dynamic number insertion: pools of tracking numbers leased to website visitors, the
-- visits (sessions) that held them, and the web forms captured with the same attribution.
-- Shared by SQLite and PostgreSQL.

CREATE TABLE number_pools (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    call_flow_id TEXT REFERENCES call_flows (id),
    target_number TEXT NOT NULL,
    session_timeout_seconds BIGINT NOT NULL,
    visitor_filter TEXT NOT NULL,
    overflow_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Deleted pools stay, so that the visits they leased still attribute calls.
    deleted_at BIGINT
);
CREATE INDEX number_pools_by_business ON number_pools (business_id, created_at, id);

-- One row per pool number, holding its current lease: a number has one row, so it can
-- never be leased to two sessions. `free_since` orders free numbers (least recently
-- released first).
CREATE TABLE pool_numbers (
    number_id TEXT PRIMARY KEY REFERENCES numbers (id),
    pool_id TEXT NOT NULL REFERENCES number_pools (id),
    session_id TEXT,
    last_seen_at BIGINT,
    free_since BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX pool_numbers_by_pool ON pool_numbers (pool_id, free_since);

-- A visit: what brought the visitor, which number it showed (none: the target, when the
-- pool overflowed or the visitor did not pass the filter), and how long it held it.
CREATE TABLE dni_sessions (
    id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL REFERENCES number_pools (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    visitor_id TEXT NOT NULL,
    number_id TEXT,
    landing_page TEXT,
    referrer TEXT,
    user_agent TEXT,
    utm_source TEXT,
    utm_medium TEXT,
    utm_campaign TEXT,
    utm_term TEXT,
    utm_content TEXT,
    gclid TEXT,
    fbclid TEXT,
    msclkid TEXT,
    started_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX dni_sessions_by_visitor ON dni_sessions (pool_id, visitor_id, started_at);
CREATE INDEX dni_sessions_by_number ON dni_sessions (number_id, started_at);
CREATE INDEX dni_sessions_by_pool ON dni_sessions (pool_id, last_seen_at);

CREATE TABLE form_submissions (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    pool_id TEXT REFERENCES number_pools (id),
    session_id TEXT,
    form_name TEXT,
    page_url TEXT,
    fields TEXT NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT,
    utm_source TEXT,
    utm_medium TEXT,
    utm_campaign TEXT,
    gclid TEXT,
    referrer TEXT,
    landing_page TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX form_submissions_by_business ON form_submissions (business_id, created_at, id);
