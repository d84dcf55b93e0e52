-- Durations a carrier could report before they were bounded (at most a day): a call or
-- voicemail of 2^63-1 seconds made every sum over the business's calls overflow, so its
-- statistics failed for ever. Such values are brought into bounds, with what was summed
-- from them. Shared by SQLite and PostgreSQL.

UPDATE call_rollups SET seconds = (
    SELECT COALESCE(SUM(CASE WHEN c.duration_seconds > 86400 THEN 86400 ELSE c.duration_seconds END), 0)
    FROM calls c
    WHERE c.business_id = call_rollups.business_id AND c.created_at / 86400 = call_rollups.day
      AND c.status = call_rollups.status AND c.qualified = call_rollups.qualified
)
WHERE seconds < 0 OR seconds > calls * 86400;
UPDATE calls SET duration_seconds = 86400 WHERE duration_seconds > 86400;
UPDATE calls SET duration_seconds = 0 WHERE duration_seconds < 0;
UPDATE voicemails SET duration_seconds = 86400 WHERE duration_seconds > 86400;
UPDATE voicemails SET duration_seconds = 0 WHERE duration_seconds < 0;
