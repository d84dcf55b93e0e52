-- Call flows get immutable versions and a round-robin rotation; calls get what the call
-- path records; carrier callbacks are remembered so a repeated one changes nothing.
-- Shared by SQLite and PostgreSQL.

ALTER TABLE call_flows ADD COLUMN current_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_flows ADD COLUMN rotation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_flows ADD COLUMN deleted_at BIGINT;

CREATE TABLE call_flow_versions (
    call_flow_id TEXT NOT NULL REFERENCES call_flows (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    steps TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (call_flow_id, version)
);

ALTER TABLE calls ADD COLUMN call_sid TEXT;
ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
ALTER TABLE calls ADD COLUMN tracking_number TEXT;
ALTER TABLE calls ADD COLUMN destination_number TEXT;
ALTER TABLE calls ADD COLUMN call_flow_id TEXT REFERENCES call_flows (id);
ALTER TABLE calls ADD COLUMN call_flow_version BIGINT;
ALTER TABLE calls ADD COLUMN call_flow_name TEXT;
ALTER TABLE calls ADD COLUMN caller_city TEXT;
ALTER TABLE calls ADD COLUMN caller_state TEXT;
ALTER TABLE calls ADD COLUMN caller_zip TEXT;
ALTER TABLE calls ADD COLUMN first_time_caller BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE calls ADD COLUMN source TEXT;
ALTER TABLE calls ADD COLUMN utm_source TEXT;
ALTER TABLE calls ADD COLUMN utm_medium TEXT;
ALTER TABLE calls ADD COLUMN utm_campaign TEXT;
ALTER TABLE calls ADD COLUMN gclid TEXT;
ALTER TABLE calls ADD COLUMN landing_page TEXT;
ALTER TABLE calls ADD COLUMN referrer TEXT;
ALTER TABLE calls ADD COLUMN session_id TEXT;
ALTER TABLE calls ADD COLUMN answered_at BIGINT;
ALTER TABLE calls ADD COLUMN ended_at BIGINT;
ALTER TABLE calls ADD COLUMN cost_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN recording_url TEXT;
ALTER TABLE calls ADD COLUMN voicemail_url TEXT;
ALTER TABLE calls ADD COLUMN voicemail_seconds BIGINT;
-- The flow engine's state between the carrier's requests.
ALTER TABLE calls ADD COLUMN engine_state TEXT;
CREATE UNIQUE INDEX calls_by_sid ON calls (call_sid);
CREATE INDEX calls_by_business ON calls (business_id, created_at, id);
CREATE INDEX calls_by_caller ON calls (business_id, caller_number);

-- One row per carrier callback handled: a repeat answers the same TwiML.
CREATE TABLE call_events (
    call_id TEXT NOT NULL REFERENCES calls (id),
    kind TEXT NOT NULL,
    seq BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (call_id, kind, seq)
);
