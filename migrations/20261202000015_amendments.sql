-- After the award II, part one: changes during the project (Änderungsanträge). A municipality
-- asks for a longer period, a changed cost plan or a lower total; small shifts between cost
-- items are only notified, everything else is decided with four eyes and confirmed by an
-- Änderungsbescheid. Also: the Fehlbedarfsfinanzierung as a round's financing type, and the
-- per-round rules of the grant's later life.

ALTER TABLE rounds DROP CONSTRAINT rounds_financing_type_check;
ALTER TABLE rounds ADD CONSTRAINT rounds_financing_type_check
    CHECK (financing_type IN ('anteilfinanzierung', 'fehlbedarfsfinanzierung', 'festbetragsfinanzierung'));

-- Per round: how far a cost item may move without a decision (share of the item, total
-- unchanged), and how long after the project's end the proof of use is due.
ALTER TABLE rounds
    ADD COLUMN change_shift_bp integer NOT NULL DEFAULT 2000 CHECK (change_shift_bp BETWEEN 0 AND 10000),
    ADD COLUMN proof_due_months integer NOT NULL DEFAULT 6 CHECK (proof_due_months BETWEEN 1 AND 24);

CREATE OR REPLACE VIEW round_rows AS
SELECT r.id, r.programme_id, r.title, r.year, r.budget_cents, r.opens_at, r.closes_at, r.max_rate_bp,
       r.min_grant_cents, r.max_grant_cents, r.financing_type, r.state, r.conditions_template,
       coalesce(array_agg(c.code ORDER BY c.position, c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS categories,
       coalesce(array_agg(c.title ORDER BY c.position, c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS category_titles,
       (SELECT coalesce(array_agg(a.name || CASE WHEN a.required THEN '' ELSE ' (optional)' END ORDER BY a.position), '{}')
        FROM round_attachment_types a WHERE a.round_id = r.id) AS attachments,
       r.retained_bp, r.payout_window_months, r.change_shift_bp, r.proof_due_months
FROM rounds r
LEFT JOIN round_categories rc ON rc.round_id = r.id
LEFT JOIN categories c ON c.id = rc.category_id
GROUP BY r.id;

CREATE TABLE amendments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id    bigint NOT NULL REFERENCES applications (id),
    -- 1, 2, … per grant: "Änderungsantrag 2".
    number            integer NOT NULL CHECK (number > 0),
    -- Only the state machine in src/amendments/workflow.rs writes this column.
    status            text NOT NULL CHECK (status IN (
                          'submitted', 'notified', 'proposed', 'approved', 'rejected', 'withdrawn')),
    reason            text NOT NULL CHECK (reason <> ''),
    -- The grant's terms before the change and as asked for.
    period_start      date NOT NULL,
    old_period_end    date NOT NULL,
    new_period_end    date NOT NULL CHECK (new_period_end >= period_start),
    old_granted_cents bigint NOT NULL CHECK (old_granted_cents > 0),
    new_granted_cents bigint NOT NULL CHECK (new_granted_cents > 0 AND new_granted_cents <= old_granted_cents),
    old_eligible_cents bigint NOT NULL CHECK (old_eligible_cents > 0),
    new_eligible_cents bigint NOT NULL CHECK (new_eligible_cents > 0),
    -- Why the change needs the ministry's decision, in the clerk's words; empty: only notified.
    needs_decision    text[] NOT NULL DEFAULT '{}',
    submitted_by      bigint NOT NULL REFERENCES users (id),
    submitted_at      timestamptz NOT NULL DEFAULT now(),
    -- Made when the form is shown: a form sent twice files one change.
    submission_key    text NOT NULL CHECK (submission_key ~ '^[A-Za-z0-9_-]{16,100}$'),
    -- The reviewer's proposal (approve or reject, with the reason of a rejection) …
    approve           boolean,
    proposal_note     text NOT NULL DEFAULT '',
    proposed_by       bigint REFERENCES users (id),
    proposed_at       timestamptz,
    -- … and its confirmation by a second person, with the Änderungsbescheid as issued.
    settled_by        bigint REFERENCES users (id),
    settled_at        timestamptz,
    notice_pdf        bytea,
    UNIQUE (application_id, number),
    UNIQUE (application_id, submission_key),
    CONSTRAINT amendments_four_eyes CHECK (settled_by IS NULL OR settled_by <> proposed_by),
    CHECK (status <> 'notified' OR needs_decision = '{}'),
    CHECK (status NOT IN ('proposed', 'approved', 'rejected')
           OR (proposed_by IS NOT NULL AND approve IS NOT NULL)),
    CHECK ((status IN ('approved', 'rejected')) = (settled_by IS NOT NULL)),
    CHECK ((status IN ('approved', 'rejected')) = (notice_pdf IS NOT NULL)),
    CHECK (status <> 'approved' OR approve),
    CHECK (status <> 'rejected' OR NOT approve)
);

-- One open change per grant at a time: the next one starts from what the last one decided.
CREATE UNIQUE INDEX amendments_open ON amendments (application_id)
    WHERE status IN ('submitted', 'proposed');
CREATE INDEX amendments_status ON amendments (status, submitted_at);

-- The cost plan before the change (revised = false) and as asked for (revised = true).
CREATE TABLE amendment_plan_rows (
    amendment_id bigint NOT NULL REFERENCES amendments (id) ON DELETE CASCADE,
    revised      boolean NOT NULL,
    position     integer NOT NULL CHECK (position > 0),
    kind         text NOT NULL,
    description  text NOT NULL CHECK (description <> ''),
    year         integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    eligible     boolean NOT NULL,
    PRIMARY KEY (amendment_id, revised, position)
);

-- The change's timeline.
CREATE TABLE amendment_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    amendment_id bigint NOT NULL REFERENCES amendments (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    actor_id     bigint REFERENCES users (id),
    at           timestamptz NOT NULL DEFAULT now(),
    message      text NOT NULL DEFAULT '',
    from_status  text,
    to_status    text
);

CREATE INDEX amendment_events_amendment ON amendment_events (amendment_id, at);

-- The grant's period as it stands (the decision's, or the last approved change's).
ALTER TABLE applications ADD COLUMN period_end date;
UPDATE applications a SET period_end = d.period_end
FROM decisions d WHERE d.application_id = a.id AND d.state = 'confirmed' AND d.outcome = 'approve';
