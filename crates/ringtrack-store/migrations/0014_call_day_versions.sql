-- A version for each UTC day of a business's completed calls, raised in the transaction
-- that changes what the day sums (with its roll-ups): a node holding the day's calls in
-- memory for analytics knows, by one small read, whether they are still current.
-- Shared by SQLite and PostgreSQL.

CREATE TABLE call_day_versions (
    business_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (business_id, day)
);
INSERT INTO call_day_versions SELECT business_id, day, 1 FROM call_rollups GROUP BY business_id, day;
