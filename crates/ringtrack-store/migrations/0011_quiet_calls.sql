-- Calls still in progress, by their last sign of life: the sweep that asks the carrier
-- about calls whose final status never came reads them without scanning the call log.
-- Shared by SQLite and PostgreSQL.

CREATE INDEX calls_in_progress ON calls (updated_at) WHERE status = 'in_progress';
