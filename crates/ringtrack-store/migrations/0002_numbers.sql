-- Tracking numbers, number groups, call flows (named here; their versions come with the
-- call-flow engine), the calls table the numbers are counted from, and idempotency keys.
-- Shared by SQLite and PostgreSQL.

CREATE TABLE call_flows (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX call_flows_by_business ON call_flows (business_id, created_at, id);

CREATE TABLE number_groups (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT number_groups_unique_name UNIQUE (business_id, name)
);
CREATE INDEX number_groups_by_business ON number_groups (business_id, created_at, id);

CREATE TABLE numbers (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    phone_number TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    number_type TEXT NOT NULL CHECK (number_type IN ('local', 'toll_free')),
    locality TEXT,
    region TEXT,
    call_flow_id TEXT REFERENCES call_flows (id),
    group_id TEXT REFERENCES number_groups (id),
    pool_id TEXT,
    source TEXT,
    sms_enabled BOOLEAN NOT NULL,
    monthly_cost_cents BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'released')),
    carrier_sid TEXT NOT NULL,
    -- Months paid so far; the next renewal falls due at renews_at.
    months_paid BIGINT NOT NULL,
    renews_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    released_at BIGINT
);
-- A number has at most one owner that has not released it.
CREATE UNIQUE INDEX numbers_one_owner ON numbers (phone_number) WHERE status <> 'released';
CREATE INDEX numbers_by_business ON numbers (business_id, created_at, id);
CREATE INDEX numbers_by_phone ON numbers (phone_number, released_at);
CREATE INDEX numbers_renewals ON numbers (renews_at) WHERE status <> 'released';
CREATE INDEX numbers_by_group ON numbers (group_id);

CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    number_id TEXT REFERENCES numbers (id),
    caller_number TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL DEFAULT 0,
    qualified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX calls_by_number ON calls (number_id, created_at);

-- The first answer to a request that spends money, replayed for a repeat of the same key.
CREATE TABLE idempotency_keys (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, idempotency_key)
);
