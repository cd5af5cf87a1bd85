-- Each entry's summary (cordon-store's `QuarantineSummary`: id, state, time,
-- sender, subject, recipients and rules, without the findings and reasons),
-- so that a search of the queue reads summaries and loads only the records
-- it shows. Rows written before it have none; their record is read in its
-- place (a record's JSON decodes as its summary).
ALTER TABLE cordon_quarantine ADD COLUMN summary text;
