-- Daily roll-ups of completed calls by status and verdict (a few rows a day, whatever the
-- volume), kept in the transaction that completes or changes a call, so that totals and
-- statistics over a million calls stay exact and quick.
-- Shared by SQLite and PostgreSQL.

CREATE TABLE call_rollups (
    business_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    status TEXT NOT NULL,
    qualified BOOLEAN NOT NULL,
    calls BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    ai_sum BIGINT NOT NULL,
    ai_count BIGINT NOT NULL,
    PRIMARY KEY (business_id, day, status, qualified)
);

-- Who called on which day, and who ever called: distinct callers without reading calls.
CREATE TABLE caller_days (
    business_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    caller_number TEXT NOT NULL,
    PRIMARY KEY (business_id, day, caller_number)
);
CREATE TABLE business_callers (
    business_id TEXT NOT NULL,
    caller_number TEXT NOT NULL,
    PRIMARY KEY (business_id, caller_number)
);

INSERT INTO call_rollups
SELECT business_id, created_at / 86400, status, qualified, count(*), CAST(COALESCE(SUM(duration_seconds), 0) AS BIGINT),
       CAST(COALESCE(SUM(ai_score), 0) AS BIGINT), count(ai_score)
FROM calls WHERE status <> 'in_progress'
GROUP BY business_id, created_at / 86400, status, qualified;
INSERT INTO caller_days SELECT DISTINCT business_id, created_at / 86400, caller_number FROM calls WHERE status <> 'in_progress';
INSERT INTO business_callers SELECT DISTINCT business_id, caller_number FROM calls WHERE status <> 'in_progress';
