-- Daily roll-ups of completed calls, kept in the transaction that completes or changes a
-- call, so that totals and statistics over a million calls stay exact and quick.
-- Ids and sources that are absent are '' here (a primary key cannot hold NULL).
-- Shared by SQLite and PostgreSQL.

CREATE TABLE call_rollups (
    business_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    status TEXT NOT NULL,
    qualified BOOLEAN NOT NULL,
    number_id TEXT NOT NULL,
    call_flow_id TEXT NOT NULL,
    utm_source TEXT NOT NULL,
    calls BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    ai_sum BIGINT NOT NULL,
    ai_count BIGINT NOT NULL,
    PRIMARY KEY (business_id, day, status, qualified, number_id, call_flow_id, utm_source)
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
SELECT business_id, created_at / 86400, status, qualified, COALESCE(number_id, ''), COALESCE(call_flow_id, ''),
       COALESCE(utm_source, ''), count(*), CAST(COALESCE(SUM(duration_seconds), 0) AS BIGINT),
       CAST(COALESCE(SUM(ai_score), 0) AS BIGINT), count(ai_score)
FROM calls WHERE status <> 'in_progress'
GROUP BY business_id, created_at / 86400, status, qualified, COALESCE(number_id, ''), COALESCE(call_flow_id, ''),
         COALESCE(utm_source, '');
INSERT INTO caller_days SELECT DISTINCT business_id, created_at / 86400, caller_number FROM calls WHERE status <> 'in_progress';
INSERT INTO business_callers SELECT DISTINCT business_id, caller_number FROM calls WHERE status <> 'in_progress';
