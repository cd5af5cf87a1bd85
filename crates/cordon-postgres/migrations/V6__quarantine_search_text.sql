-- Each entry's search text (cordon-store's prefilter: sender, subject and
-- recipients in lower case, a line each), so that a search of the queue
-- asks for the rows that contain its texts rather than reading every one.
-- Rows written before it have none and are always read, as before.
ALTER TABLE cordon_quarantine ADD COLUMN search_text text;
