-- Issue 31, trust in the app. Shared by SQLite and PostgreSQL.

-- An invitation to a business for someone who has an account already (or whose account
-- another business made): never a password, only a single-use link (token kept as its
-- SHA-256) that the person opens while signed in to join, or declines.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    -- The inviter's name, for the person to read.
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Accepted, declined (by this link or another for the same business) or withdrawn.
    answered_at BIGINT
);
CREATE INDEX invitations_by_user ON invitations (user_id, business_id);

-- The business whose admin was shown the link that made this password link (NULL when the
-- link went by email, or for a password reset): a password it sets opens that business only.
ALTER TABLE user_links ADD COLUMN business_id TEXT REFERENCES businesses (id);
-- The business whose shown link set the password (NULL when the person proved their
-- address, or an operator set it): its admin may know the password, so another business's
-- invitation is joined only through that business's own link.
ALTER TABLE users ADD COLUMN password_link_business_id TEXT REFERENCES businesses (id);
-- Sign-in opens the business the person used last.
ALTER TABLE memberships ADD COLUMN last_used_at BIGINT;

-- Attempts at guessing (sign-in, codes, links, resets) per subject: an attempt takes its
-- slot in one statement before any password is checked, so concurrent attempts cannot all
-- slip through. Replaces the failures counted after the fact.
DROP TABLE sign_in_failures;
CREATE TABLE attempt_slots (
    subject TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    -- No further attempt before this.
    ready_at BIGINT NOT NULL
);
CREATE INDEX attempt_slots_by_time ON attempt_slots (last_at);
