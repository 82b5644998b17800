-- House filings of one master (contract v1.1 transport_document.master_number): each case
-- keeps its master's number as a key without case, spaces or punctuation, so that the cases of
-- one master's houses find each other whichever was referred first. Most cases name no master.

ALTER TABLE cases ADD COLUMN master_number text;
CREATE INDEX cases_by_master ON cases (master_number, assessed_at DESC)
    WHERE master_number IS NOT NULL;

-- Cases opened before: their master from the filing of the version in force. Master numbers
-- are ASCII in practice, and for ASCII this is master_key exactly (letters and digits, upper
-- case); any other is left for the case's next referral version to set.
UPDATE cases c
   SET master_number = nullif(upper(regexp_replace(m.number, '[^A-Za-z0-9]+', '', 'g')), '')
  FROM (SELECT declaration_id, version,
               declaration->'transport_document'->>'master_number' AS number
          FROM referrals
         WHERE jsonb_typeof(declaration->'transport_document'->'master_number') = 'string') m
 WHERE m.declaration_id = c.declaration_id AND m.version = c.version
   AND m.number ~ '^[\x01-\x7f]*$';
