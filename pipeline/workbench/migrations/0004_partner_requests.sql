-- Customs-to-Customs in the workbench: what partner administrations sent us and what we sent
-- them, and cases opened at a partner's request. A partner-request case names the partner's
-- declaration as `<PARTNER>:<declaration_ref>`: the colon is not allowed in our declaration
-- ids, so it never meets one of our referrals.

ALTER TABLE cases
    ADD COLUMN origin text NOT NULL DEFAULT 'SCREENING'
        CHECK (origin IN ('SCREENING', 'PARTNER_REQUEST')),
    ADD COLUMN partner text CHECK (partner ~ '^[A-Z]{2}$'),
    ADD COLUMN ucr text,
    ADD CONSTRAINT cases_partner_request_names_partner
        CHECK ((origin = 'PARTNER_REQUEST') = (partner IS NOT NULL));
CREATE INDEX cases_by_ucr ON cases (ucr) WHERE ucr IS NOT NULL;

-- Cases opened before: their UCR from the filing of the version in force.
UPDATE cases c
   SET ucr = r.declaration->>'ucr'
  FROM referrals r
 WHERE r.declaration_id = c.declaration_id AND r.version = c.version
   AND jsonb_typeof(r.declaration->'ucr') = 'string';

-- Every PartnerMessage applied or sent, as it was on the wire. Messages refused (invalid, no
-- agreement, kind not accepted) are never stored: they are counted and logged without payload.
CREATE TABLE partner_messages (
    partner_message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id         text NOT NULL,
    direction          text NOT NULL CHECK (direction IN ('IN', 'OUT')),
    kind               text NOT NULL
                       CHECK (kind IN ('RISK_FINDING', 'EXAMINATION_REQUEST', 'EXAMINATION_RESULT')),
    partner            text NOT NULL CHECK (partner ~ '^[A-Z]{2}$'),
    ucr                text,
    transport_document text,
    container_ids      text[] NOT NULL DEFAULT '{}',
    in_reply_to        text,
    payload            jsonb NOT NULL,
    case_id            bigint REFERENCES cases,
    actor              text NOT NULL,                -- a user name, or system
    received_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (direction, message_id)
);
CREATE INDEX partner_messages_by_case ON partner_messages (case_id);
CREATE INDEX partner_messages_by_ucr ON partner_messages (ucr) WHERE ucr IS NOT NULL;
CREATE INDEX partner_messages_by_document ON partner_messages (transport_document)
    WHERE transport_document IS NOT NULL;
CREATE INDEX partner_messages_by_container ON partner_messages USING gin (container_ids);
