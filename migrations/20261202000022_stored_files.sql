-- Every key under which a kept file is named by a record: what the sweep of the file store
-- keeps. A file no record names (an upload kept just before its transaction failed, or a
-- crash between the two) is removed once it is old enough not to be an upload in progress.
CREATE VIEW stored_file_keys AS
SELECT storage_key FROM application_attachments
UNION ALL SELECT storage_key FROM payout_attachments
UNION ALL SELECT storage_key FROM proof_attachments;
