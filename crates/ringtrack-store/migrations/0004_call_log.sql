-- The call log's read side: a person's verdict kept apart from the automatic one, notes
-- and tags, the lead score, voicemails, and the indexes the filters use.
-- Shared by SQLite and PostgreSQL.

-- `qualified` stays the effective verdict: the person's when given, else the automatic one.
ALTER TABLE calls ADD COLUMN qualified_auto BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE calls ADD COLUMN qualified_by_person BOOLEAN;
ALTER TABLE calls ADD COLUMN notes TEXT;
ALTER TABLE calls ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN ai_score BIGINT;
ALTER TABLE calls ADD COLUMN ai_category TEXT;
ALTER TABLE calls ADD COLUMN ai_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN has_transcription BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX calls_by_status ON calls (business_id, status, created_at, id);
CREATE INDEX calls_by_flow ON calls (business_id, call_flow_id, created_at, id);
CREATE INDEX calls_by_utm_source ON calls (business_id, utm_source, created_at, id);
CREATE INDEX calls_by_update ON calls (business_id, updated_at);

CREATE TABLE voicemails (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    call_id TEXT NOT NULL UNIQUE REFERENCES calls (id),
    recording_url TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    transcription_text TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX voicemails_by_business ON voicemails (business_id, created_at, id);
