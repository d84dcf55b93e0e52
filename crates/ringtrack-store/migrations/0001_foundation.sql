-- Tenants, their money and their API keys. Shared by SQLite and PostgreSQL.
-- Times are Unix seconds; ids are UUID v7 text.

CREATE TABLE businesses (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    balance_cents BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every change of a balance, with the balance it left: the audit trail behind balance_cents.
CREATE TABLE balance_entries (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    amount_cents BIGINT NOT NULL,
    balance_after_cents BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX balance_entries_by_business ON balance_entries (business_id, created_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_by_business ON api_keys (business_id, created_at, id);
