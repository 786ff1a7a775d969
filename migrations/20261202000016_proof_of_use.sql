-- After the award II, part two: the proof of use (Verwendungsnachweis) and the settlement of
-- the grant (Schlussbescheid): the final grant follows the actual eligible costs; the rest is
-- paid through the payment runs, an overpayment is demanded back with interest (§ 49a VwVfG).

-- A settled grant is closed.
ALTER TABLE applications DROP CONSTRAINT applications_status_check;
ALTER TABLE applications ADD CONSTRAINT applications_status_check CHECK (status IN (
    'draft', 'submitted', 'in_review', 'changes_requested', 'decision_proposed', 'approved',
    'rejected', 'withdrawn', 'settled'));
ALTER TABLE applications DROP CONSTRAINT applications_check1;
ALTER TABLE applications ADD CONSTRAINT applications_granted_when_approved
    CHECK (status NOT IN ('approved', 'settled') OR granted_cents IS NOT NULL);

-- Interest on repayments: so many basis points above the base rate (§ 49a Abs. 3 VwVfG: five
-- percentage points), and the Basiszinssatz (§ 247 BGB) as the Bundesbank publishes it each
-- 1 January and 1 July.
ALTER TABLE programmes
    ADD COLUMN interest_margin_bp integer NOT NULL DEFAULT 500 CHECK (interest_margin_bp BETWEEN 0 AND 2000);

CREATE TABLE base_rates (
    valid_from date PRIMARY KEY,
    rate_bp    integer NOT NULL CHECK (rate_bp BETWEEN -1000 AND 2000)
);

INSERT INTO base_rates (valid_from, rate_bp) VALUES
    ('2019-07-01', -88), ('2020-01-01', -88), ('2020-07-01', -88), ('2021-01-01', -88),
    ('2021-07-01', -88), ('2022-01-01', -88), ('2022-07-01', -88), ('2023-01-01', 162),
    ('2023-07-01', 312), ('2024-01-01', 362), ('2024-07-01', 337), ('2025-01-01', 227),
    ('2025-07-01', 127);

-- One proof per grant: the Verwendungsnachweis, drafted by the municipality, submitted,
-- possibly sent back for more (Nachforderung), and checked by the ministry.
CREATE TABLE proofs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id     bigint NOT NULL UNIQUE REFERENCES applications (id),
    -- Only the state machine in src/proofs/workflow.rs writes this column.
    status             text NOT NULL DEFAULT 'draft' CHECK (status IN (
                           'draft', 'submitted', 'changes_requested', 'settled')),
    -- Sachbericht.
    work_done          text NOT NULL DEFAULT '',
    results            text NOT NULL DEFAULT '',
    deviations         text NOT NULL DEFAULT '',
    reuse_users        text NOT NULL DEFAULT '',
    reuse_howto        text NOT NULL DEFAULT '',
    -- Financing as realised, besides the grant.
    own_share_cents    bigint CHECK (own_share_cents >= 0),
    third_party_cents  bigint CHECK (third_party_cents >= 0),
    other_public_cents bigint CHECK (other_public_cents >= 0),
    -- Declarations.
    declared_procurement boolean NOT NULL DEFAULT false,
    declared_correct   boolean NOT NULL DEFAULT false,
    -- What the ministry asked for when it sent the proof back.
    request_message    text NOT NULL DEFAULT '',
    submitted_at       timestamptz,
    created_by         bigint NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (status = 'draft' OR submitted_at IS NOT NULL)
);

CREATE INDEX proofs_status ON proofs (status, submitted_at);

-- The Belegliste: each payment of the project, booked to a cost item of the plan in force
-- (its position there).
CREATE TABLE proof_receipts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proof_id      bigint NOT NULL REFERENCES proofs (id) ON DELETE CASCADE,
    paid_on       date NOT NULL,
    payee         text NOT NULL CHECK (payee <> ''),
    purpose       text NOT NULL CHECK (purpose <> ''),
    cost_position integer NOT NULL CHECK (cost_position > 0),
    amount_cents  bigint NOT NULL CHECK (amount_cents > 0)
);

CREATE INDEX proof_receipts_proof ON proof_receipts (proof_id, paid_on, id);

CREATE TABLE proof_attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proof_id     bigint NOT NULL REFERENCES proofs (id) ON DELETE CASCADE,
    file_name    text NOT NULL CHECK (file_name <> ''),
    storage_key  text NOT NULL UNIQUE,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       bytea NOT NULL,
    uploaded_by  bigint NOT NULL REFERENCES users (id),
    uploaded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE proof_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proof_id    bigint NOT NULL REFERENCES proofs (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    actor_id    bigint REFERENCES users (id),
    at          timestamptz NOT NULL DEFAULT now(),
    message     text NOT NULL DEFAULT ''
);

CREATE INDEX proof_events_proof ON proof_events (proof_id, at);

-- The settlement: proposed by one reviewer with the Prüfvermerk's checklist, confirmed by a
-- second one with the Schlussbescheid. Its figures are exact to the cent and kept as decided.
CREATE TABLE settlements (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proof_id            bigint NOT NULL REFERENCES proofs (id),
    state               text NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'confirmed', 'sent_back')),
    -- Prüfvermerk: each point checked.
    report_complete     boolean NOT NULL,
    receipts_add_up     boolean NOT NULL,
    costs_plausible     boolean NOT NULL,
    procurement_declared boolean NOT NULL,
    reuse_described     boolean NOT NULL,
    note                text NOT NULL DEFAULT '',
    -- The figures.
    planned_eligible_cents bigint NOT NULL,
    actual_eligible_cents  bigint NOT NULL CHECK (actual_eligible_cents >= 0),
    -- Costs the reviewer does not recognise, with the reason (part of the note).
    disallowed_cents    bigint NOT NULL DEFAULT 0 CHECK (disallowed_cents >= 0),
    granted_cents       bigint NOT NULL,
    final_grant_cents   bigint NOT NULL CHECK (final_grant_cents >= 0 AND final_grant_cents <= granted_cents),
    paid_cents          bigint NOT NULL,
    -- Final grant minus paid: > 0 is paid out, < 0 is demanded back.
    balance_cents       bigint NOT NULL,
    interest_cents      bigint NOT NULL DEFAULT 0 CHECK (interest_cents >= 0),
    interest_until      date,
    repayment_due_on    date,
    proposed_by         bigint NOT NULL REFERENCES users (id),
    proposed_at         timestamptz NOT NULL DEFAULT now(),
    settled_by          bigint REFERENCES users (id),
    settled_at          timestamptz,
    settle_note         text NOT NULL DEFAULT '',
    notice_pdf          bytea,
    -- The final payout this settlement ordered, if any.
    payout_id           bigint REFERENCES payout_requests (id),
    CONSTRAINT settlements_four_eyes CHECK (settled_by IS NULL OR settled_by <> proposed_by),
    CHECK ((state = 'proposed') = (settled_by IS NULL)),
    CHECK (state <> 'confirmed' OR notice_pdf IS NOT NULL),
    CHECK (balance_cents = final_grant_cents - paid_cents),
    CHECK (balance_cents < 0 OR interest_cents = 0)
);

CREATE UNIQUE INDEX settlements_open ON settlements (proof_id) WHERE state = 'proposed';
CREATE UNIQUE INDEX settlements_final ON settlements (proof_id) WHERE state = 'confirmed';

-- The interest per payout behind a repayment demand, as computed (for the notice and audit).
CREATE TABLE settlement_interest (
    settlement_id  bigint NOT NULL REFERENCES settlements (id) ON DELETE CASCADE,
    payout_id      bigint NOT NULL REFERENCES payout_requests (id),
    repaid_cents   bigint NOT NULL CHECK (repaid_cents > 0),
    paid_on        date NOT NULL,
    days           integer NOT NULL CHECK (days >= 0),
    interest_cents bigint NOT NULL CHECK (interest_cents >= 0),
    PRIMARY KEY (settlement_id, payout_id)
);
