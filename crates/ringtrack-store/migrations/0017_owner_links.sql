-- The one link `serve` prints on its first start: whoever opens it creates the first
-- person, admin of the first business. Shared by SQLite and PostgreSQL; the token is kept
-- only as its SHA-256.

CREATE TABLE owner_links (
    token_hash TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
