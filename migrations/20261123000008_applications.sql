-- Applications (Anträge): one row per application, its sections as typed by the clerks, its
-- partners, attachments, timeline and the snapshots taken at each (re)submission.

CREATE TABLE applications (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id              bigint NOT NULL REFERENCES rounds (id),
    municipality_id       bigint NOT NULL REFERENCES municipalities (id),
    -- Only the state machine in src/applications/workflow.rs writes this column.
    status                text NOT NULL DEFAULT 'draft' CHECK (status IN (
                              'draft', 'submitted', 'in_review', 'changes_requested',
                              'decision_proposed', 'approved', 'rejected', 'withdrawn')),
    -- Aktenzeichen, assigned at the first submission.
    reference             text UNIQUE CHECK (reference ~ '^EGOV-[0-9]{4}-[0-9]{4,}$'),
    -- Copies of validated answers, for lists, filters and statistics.
    title                 text NOT NULL DEFAULT '',
    category_code         text,
    total_cost_cents      bigint CHECK (total_cost_cents >= 0),
    eligible_cost_cents   bigint CHECK (eligible_cost_cents >= 0),
    requested_grant_cents bigint CHECK (requested_grant_cents >= 0),
    -- The amount of the Zuwendungsbescheid, set with the approval.
    granted_cents         bigint CHECK (granted_cents >= 0),
    created_by            bigint NOT NULL REFERENCES users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    submitted_at          timestamptz,
    decided_at            timestamptz,
    CHECK ((status = 'draft') = (reference IS NULL) OR status = 'withdrawn'),
    CHECK (status <> 'approved' OR granted_cents IS NOT NULL)
);

CREATE INDEX applications_municipality ON applications (municipality_id, updated_at DESC);
CREATE INDEX applications_round_status ON applications (round_id, status);

-- Gap-free Aktenzeichen numbers: the counter row is updated in the submitting transaction, so a
-- rolled-back submission gives its number back and a committed one never shares it.
CREATE TABLE reference_counters (
    year integer PRIMARY KEY,
    last integer NOT NULL CHECK (last >= 0)
);

-- The answers of one section exactly as typed (field name → text); their status is worked out
-- from them against the round's current rules. `version` counts saves, for optimistic locking.
CREATE TABLE application_sections (
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    section        text NOT NULL CHECK (section IN (
                       'antragsteller', 'vorhaben', 'verbund', 'kosten', 'anlagen', 'erklaerungen')),
    answers        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(answers) = 'object'),
    version        integer NOT NULL DEFAULT 1,
    -- During a Nachforderung only reopened sections can be changed.
    reopened       boolean NOT NULL DEFAULT false,
    updated_by     bigint NOT NULL REFERENCES users (id),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, section)
);

CREATE TABLE application_partners (
    application_id  bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    municipality_id bigint NOT NULL REFERENCES municipalities (id),
    added_at        timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz,
    confirmed_by    bigint REFERENCES users (id),
    PRIMARY KEY (application_id, municipality_id),
    CHECK ((confirmed_at IS NULL) = (confirmed_by IS NULL))
);

CREATE INDEX application_partners_municipality ON application_partners (municipality_id);

CREATE TABLE application_attachments (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id     bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    -- NULL for a free additional document.
    attachment_type_id bigint REFERENCES round_attachment_types (id) ON DELETE SET NULL,
    -- The name the user's file had, cleaned; only ever shown and offered as download name.
    file_name          text NOT NULL CHECK (file_name <> ''),
    -- Where the file store keeps it: server-generated, never derived from user input.
    storage_key        text NOT NULL UNIQUE,
    content_type       text NOT NULL,
    size_bytes         bigint NOT NULL CHECK (size_bytes > 0),
    sha256             bytea NOT NULL,
    uploaded_by        bigint NOT NULL REFERENCES users (id),
    uploaded_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX application_attachments_application ON application_attachments (application_id);

-- The timeline: every status change and every other event the applicant or reviewers see.
CREATE TABLE application_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL,
    from_status    text,
    to_status      text,
    actor_id       bigint REFERENCES users (id),
    -- Free text that belongs to the event: a withdrawal reason, a reviewer's message.
    message        text NOT NULL DEFAULT '',
    -- Structured details, e.g. the reopened sections and deadline of a Nachforderung.
    details        jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX application_events_application ON application_events (application_id, at);

-- What was submitted: all answers at each (re)submission, for the per-field diff.
CREATE TABLE application_revisions (
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    number         integer NOT NULL CHECK (number > 0),
    answers        jsonb NOT NULL,
    submitted_at   timestamptz NOT NULL DEFAULT now(),
    submitted_by   bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (application_id, number)
);

-- What a round has granted so far, raised by each confirmed approval in the same transaction.
-- The check makes the budget a hard limit: no approval beyond it, under any concurrency, and no
-- budget cut below what is granted.
ALTER TABLE rounds
    ADD COLUMN granted_cents bigint NOT NULL DEFAULT 0 CHECK (granted_cents >= 0),
    ADD CONSTRAINT rounds_budget_covers_grants CHECK (granted_cents <= budget_cents);
