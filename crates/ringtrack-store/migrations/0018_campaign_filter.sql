-- The call log filters by campaign as it does by source (the web app's log offers both).
CREATE INDEX calls_by_utm_campaign ON calls (business_id, utm_campaign, created_at, id);
