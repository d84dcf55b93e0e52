-- Whether a page's latest view still showed the target number: times are kept in whole
-- seconds, so comparing the last view's time with the last visible view's cannot tell two
-- views in the same second apart. Pages reported before this know only those times.
ALTER TABLE dni_pages ADD COLUMN latest_showed_target BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE dni_pages SET latest_showed_target = TRUE WHERE last_target_visible_at = last_seen_at;
