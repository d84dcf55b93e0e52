-- The post-call pipeline: a durable job queue, stored recordings, transcriptions and the
-- per-business lead-scoring settings. Shared by SQLite and PostgreSQL.

-- A job is queued in the transaction of the change that causes it. A worker claims it with
-- a lease (`lease_owner`, `lease_until`, in Unix milliseconds); a job whose lease ran out
-- is claimable again, so a worker that died loses nothing. `dedupe_key` makes enqueueing
-- idempotent (a carrier that repeats a callback queues the job once). How often a job is
-- retried is the workers' policy, not the job's.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Audio kept in the object store: the call's recording (`call`) or its voicemail.
CREATE TABLE recordings (
    call_id TEXT NOT NULL REFERENCES calls (id),
    source TEXT NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    object_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    channels BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (call_id, source)
);

CREATE TABLE transcriptions (
    call_id TEXT NOT NULL REFERENCES calls (id),
    source TEXT NOT NULL,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    status TEXT NOT NULL,
    engine TEXT,
    text TEXT,
    segments TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (call_id, source)
);

ALTER TABLE voicemails ADD COLUMN has_transcription BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE voicemails ADD COLUMN has_recording BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE calls ADD COLUMN has_recording BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE scoring_settings (
    business_id TEXT PRIMARY KEY REFERENCES businesses (id),
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
