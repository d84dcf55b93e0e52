-- Outbound webhooks: endpoints per business, an outbox of events written in the
-- transaction of the change that causes them, and each delivery's attempts.
-- Shared by SQLite and PostgreSQL.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    active BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    -- After a rotation the old secret also signs, until it expires.
    previous_secret TEXT,
    previous_secret_expires_at BIGINT,
    -- When deliveries started failing (cleared by a success); three days of it disables.
    failing_since BIGINT,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX webhook_endpoints_by_business ON webhook_endpoints (business_id, created_at, id);

-- `payload` is the body, made at the first delivery and kept, so every attempt and every
-- endpoint gets the same bytes for one event.
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    type TEXT NOT NULL,
    subject_id TEXT,
    payload TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id TEXT NOT NULL REFERENCES webhook_events (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt BIGINT NOT NULL,
    status_code BIGINT,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempt);
