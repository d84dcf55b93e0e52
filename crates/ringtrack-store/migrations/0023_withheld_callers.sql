-- A caller who withheld their number (anonymous, restricted, …): kept as the carrier wrote
-- it, never matched with another such caller, never texted. Shared by SQLite and PostgreSQL.
ALTER TABLE calls ADD COLUMN caller_withheld BOOLEAN NOT NULL DEFAULT FALSE;
