-- Text messages through tracking numbers, both ways, and the people who opted out.
-- Shared by SQLite and PostgreSQL.

-- `contact` is the other party (the recipient of an outbound text, the sender of an
-- inbound one), so that a conversation is one indexed range. `carrier_sid` is unique:
-- a repeated inbound webhook or status callback finds the row it already made.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    number_id TEXT REFERENCES numbers (id),
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    contact TEXT NOT NULL,
    body TEXT NOT NULL,
    direction TEXT NOT NULL,
    status TEXT NOT NULL,
    segments BIGINT NOT NULL,
    cost_cents BIGINT NOT NULL,
    error TEXT,
    media_urls TEXT NOT NULL DEFAULT '[]',
    carrier_sid TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX messages_by_business ON messages (business_id, created_at, id);
CREATE INDEX messages_by_contact ON messages (business_id, contact, created_at, id);
CREATE INDEX messages_by_number ON messages (business_id, number_id, created_at, id);

CREATE TABLE sms_opt_outs (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    phone_number TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (business_id, phone_number)
);
