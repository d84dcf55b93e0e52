-- People who sign in to the web app, the businesses each belongs to, their sessions and
-- the single-use links that set a password. Shared by SQLite and PostgreSQL.
-- Secrets are never stored: sessions and links by the SHA-256 of their token.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- Lower-cased: one person, one address, however it is typed.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Argon2id, PHC string; NULL until the person sets one through a link.
    password_hash TEXT,
    -- The TOTP secret, sealed; two-factor is on once enabled_at is set.
    totp_secret TEXT,
    totp_enabled_at BIGINT,
    -- The last 30-second step a code was accepted for: a code works once.
    totp_last_step BIGINT,
    -- Sessions started before it are over (a password change ends them all).
    sessions_valid_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users (id),
    business_id TEXT NOT NULL REFERENCES businesses (id),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, business_id)
);
CREATE INDEX memberships_by_business ON memberships (business_id, created_at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    -- The business the person is working in (switched from the header).
    business_id TEXT NOT NULL REFERENCES businesses (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE user_links (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX user_links_by_user ON user_links (user_id);

-- A password accepted from someone with two-factor on, waiting for their code (minutes).
CREATE TABLE second_factor_waits (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);

-- Single-use codes that stand in for the authenticator, shown once when two-factor is on.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed sign-ins, by account and by address, for the growing delays.
CREATE TABLE sign_in_failures (
    subject TEXT NOT NULL,
    failed_at BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_subject ON sign_in_failures (subject, failed_at);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (failed_at);
