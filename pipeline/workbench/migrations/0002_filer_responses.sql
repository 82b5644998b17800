-- The filers' side of a referral: who filed it, their responses, and escalation when a
-- response is overdue or a screening did not clear the consignment.

ALTER TABLE cases
    ADD COLUMN filer_id text,
    ADD COLUMN escalated_at timestamptz,
    ADD COLUMN escalation text CHECK (escalation IN ('NOT_CLEARED', 'DEADLINE')),
    ADD COLUMN screening_cleared boolean NOT NULL DEFAULT false,
    ADD COLUMN responded_at timestamptz;

-- Escalated cases first, then as before.
DROP INDEX cases_worklist;
CREATE INDEX cases_worklist ON cases
    ((escalated_at IS NULL), priority, estimated_loading_at, score DESC, opened_at)
    WHERE status <> 'CLOSED';
CREATE INDEX cases_deadlines ON cases (estimated_loading_at)
    WHERE status <> 'CLOSED' AND escalated_at IS NULL AND responded_at IS NULL;

CREATE TABLE referral_responses (
    response_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases,
    version      integer NOT NULL,
    filer_id     text NOT NULL,
    kind         text NOT NULL
                 CHECK (kind IN ('RFI_ANSWER', 'SCREENING_RESULT', 'DNL_ACKNOWLEDGEMENT')),
    submitted_at timestamptz NOT NULL,
    text         text NOT NULL DEFAULT '',
    method       text CHECK (method IN ('XRAY', 'EDS', 'ETD', 'EDD', 'PHYSICAL')),
    result       text CHECK (result IN ('CLEARED', 'NOT_CLEARED')),
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_responses_by_case ON referral_responses (case_id);
