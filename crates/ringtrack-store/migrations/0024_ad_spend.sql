-- What a business spent on its marketing, per month and source (and campaign, or '' for the
-- source as a whole): one row each. Shared by SQLite and PostgreSQL.
CREATE TABLE ad_spend (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    -- YYYY-MM
    month TEXT NOT NULL,
    source TEXT NOT NULL,
    campaign TEXT NOT NULL DEFAULT '',
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, month, source, campaign)
);
