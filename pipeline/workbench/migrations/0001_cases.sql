-- The workbench's store: accounts and sessions, the referrals read from Kafka, the cases
-- officers work, their audit trail, examinations, watch-list clearances, and an outbox of
-- records still to publish. Timestamps are UTC.

CREATE TABLE accounts (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 128),
    role          text NOT NULL CHECK (role IN ('officer', 'supervisor', 'analyst')),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the digest of its token: a copy of the table logs nobody in.
CREATE TABLE web_sessions (
    token_hash   bytea PRIMARY KEY,
    username     text NOT NULL REFERENCES accounts,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_sessions_by_user ON web_sessions (username);

-- Where the workbench has read each partition to, written in the same transaction as what it
-- read: a restart resumes exactly there, so nothing is lost or applied twice.
CREATE TABLE kafka_offsets (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

CREATE TABLE cases (
    case_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    declaration_id       text NOT NULL,
    version              integer NOT NULL,          -- the version whose referral is in force
    outcome              text NOT NULL CHECK (outcome IN ('RFI', 'HRCM', 'DNL')),
    priority             smallint NOT NULL,
    score                double precision NOT NULL,
    summary              text NOT NULL,
    mode                 text,
    office               text,                      -- discharge location (UN/LOCODE)
    loading_location     text,
    estimated_loading_at timestamptz,
    transport_document   text,
    container_ids        text[] NOT NULL DEFAULT '{}',
    rule_ids             text[] NOT NULL DEFAULT '{}',
    party_names          text NOT NULL DEFAULT '',  -- upper case, for search
    status               text NOT NULL DEFAULT 'OPEN'
                         CHECK (status IN ('OPEN', 'IN_PROGRESS', 'CLOSED')),
    disposition          text CHECK (disposition IN ('EXAMINATION_ORDERED', 'RELEASED',
                                     'FALSE_POSITIVE', 'CONFIRMED_RISK', 'WITHDRAWN')),
    assignee             text REFERENCES accounts,
    assessed_at          timestamptz NOT NULL,
    opened_at            timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    closed_at            timestamptz,
    retain_until         timestamptz,
    revision             integer NOT NULL DEFAULT 1,
    CHECK ((status = 'CLOSED') = (disposition IS NOT NULL)),
    CHECK ((status = 'CLOSED') = (closed_at IS NOT NULL))
);
-- One open case per declaration: a newer version's referral updates it.
CREATE UNIQUE INDEX cases_one_open ON cases (declaration_id) WHERE status <> 'CLOSED';
CREATE INDEX cases_worklist ON cases (priority, estimated_loading_at, score DESC, opened_at)
    WHERE status <> 'CLOSED';
CREATE INDEX cases_by_declaration ON cases (declaration_id);
CREATE INDEX cases_by_document ON cases (transport_document);
CREATE INDEX cases_by_container ON cases USING gin (container_ids);
CREATE INDEX cases_by_rule ON cases USING gin (rule_ids);
-- Party-name search: a trigram index answers LIKE '%term%' without reading every case.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX cases_by_party_name ON cases USING gin (party_names gin_trgm_ops);
CREATE INDEX cases_retention ON cases (retain_until) WHERE retain_until IS NOT NULL;

-- Every referral version as the worker wrote it, the filing included.
CREATE TABLE referrals (
    declaration_id text NOT NULL,
    version        integer NOT NULL,
    case_id        bigint REFERENCES cases,
    outcome        text NOT NULL,
    score          double precision NOT NULL,
    hit            jsonb NOT NULL,
    declaration    jsonb,
    assessed_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (declaration_id, version)
);
CREATE INDEX referrals_by_case ON referrals (case_id);

-- Assessments of the declarations that have a case: the versions' history in the case view.
CREATE TABLE assessments (
    declaration_id text NOT NULL,
    version        integer NOT NULL,
    outcome        text NOT NULL,
    score          double precision NOT NULL,
    message_type   text NOT NULL,
    superseded_by  integer,
    assessed_at    timestamptz NOT NULL,
    PRIMARY KEY (declaration_id, version)
);

CREATE TABLE case_parties (
    case_id   bigint NOT NULL REFERENCES cases,
    role      text NOT NULL,
    party_key text NOT NULL,
    name      text NOT NULL,
    country   text,
    ids       text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (case_id, role)
);
CREATE INDEX case_parties_by_party ON case_parties (party_key);

-- The audit trail: who changed what, when, from what to what. Never updated; rows go only
-- when their case's retention has run out (see the trigger below).
CREATE TABLE case_events (
    event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    kind       text NOT NULL,
    before     jsonb,
    after      jsonb,
    note       text
);
CREATE INDEX case_events_by_case ON case_events (case_id, event_id);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'the audit trail is append-only';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cases WHERE case_id = OLD.case_id
                   AND retain_until IS NOT NULL AND retain_until < now()) THEN
        RAISE EXCEPTION 'audit events are kept until their case''s retention ends';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();

CREATE TABLE examinations (
    examination_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases,
    declaration_id text NOT NULL,
    version        integer NOT NULL,
    result         text NOT NULL
                   CHECK (result IN ('SEIZURE', 'IRREGULARITY', 'NO_FINDING', 'NOT_EXAMINED')),
    examined_at    timestamptz NOT NULL,
    recorded_by    text NOT NULL REFERENCES accounts,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX examinations_by_case ON examinations (case_id);

CREATE TABLE clearances (
    clearance_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases,
    party_key    text NOT NULL,
    role         text NOT NULL,
    party_name   text NOT NULL,
    entry_id     text NOT NULL,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 10 AND 2000),
    expires_on   date NOT NULL,
    cleared_by   text NOT NULL REFERENCES accounts,
    cleared_at   timestamptz NOT NULL DEFAULT now(),
    lifted_by    text REFERENCES accounts,
    lifted_at    timestamptz
);
CREATE UNIQUE INDEX clearances_one_in_force ON clearances (party_key, entry_id)
    WHERE lifted_at IS NULL;

-- Records to publish to Kafka, written in the transaction of the change they report: the
-- publisher sends them in order and marks them sent, so none is lost and none is invented.
CREATE TABLE outbox (
    outbox_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text NOT NULL,
    key          bytea,
    value        bytea,                             -- null: a tombstone
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (outbox_id) WHERE published_at IS NULL;
