-- The words a business primes the speech model with (services, brand names, places), as a
-- JSON list of strings.
ALTER TABLE businesses ADD COLUMN transcription_terms TEXT NOT NULL DEFAULT '[]';
