-- Counts over the quarantine (cordon-store's tally: entries by state, by
-- state and rule, held per hour, decided per hour), changed in the same
-- transaction as the entries, so that the console's overview and counts
-- never read every entry. Keys are cordon-store's `TallyKey` as text.
CREATE TABLE cordon_quarantine_tally (
    key   text PRIMARY KEY,
    count bigint NOT NULL
);

-- The row '#built' says the counts are complete. A new database has nothing
-- to count; an older one's quarantine is counted by the first gateway that
-- reads the tally.
INSERT INTO cordon_quarantine_tally (key, count)
    SELECT '#built', 1 WHERE NOT EXISTS (SELECT 1 FROM cordon_quarantine);
