-- Reports (issue 32). A call's landing page as reports group it: its address without the
-- query or fragment (each visitor's own utm and click ids), filled by the store when a call
-- is written (and by this migration's backfill for calls before it).
ALTER TABLE calls ADD COLUMN landing_page_address TEXT;

-- A report a business keeps under a name: the report page's query string, which
-- reproduces it (grouping, metrics, period, sort).
CREATE TABLE saved_reports (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    UNIQUE (business_id, name)
);
