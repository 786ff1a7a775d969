-- After the award: payout requests (Mittelabruf) with four-eyes checking and ordering, payment
-- runs (Zahllauf) with their SEPA files, and what each grant has paid and has pending.

-- The account the state cash office pays from, per programme (pain.001 debtor).
ALTER TABLE programmes
    ADD COLUMN debtor_name text NOT NULL DEFAULT 'Freistaat Thüringen',
    ADD COLUMN debtor_iban text NOT NULL DEFAULT '' CHECK (debtor_iban = '' OR debtor_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    ADD COLUMN debtor_bic  text NOT NULL DEFAULT '' CHECK (debtor_bic = '' OR debtor_bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$');

-- Per round: the share of each grant paid only after the proof of use is checked, and how soon
-- after the payout requested money must be spent (ANBest: about two months).
ALTER TABLE rounds
    ADD COLUMN retained_bp integer NOT NULL DEFAULT 1000 CHECK (retained_bp BETWEEN 0 AND 10000),
    ADD COLUMN payout_window_months integer NOT NULL DEFAULT 2 CHECK (payout_window_months BETWEEN 1 AND 12);

-- The round as the pages read it, now with its payout rules (new columns go last).
CREATE OR REPLACE VIEW round_rows AS
SELECT r.id, r.programme_id, r.title, r.year, r.budget_cents, r.opens_at, r.closes_at, r.max_rate_bp,
       r.min_grant_cents, r.max_grant_cents, r.financing_type, r.state, r.conditions_template,
       coalesce(array_agg(c.code ORDER BY c.position, c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS categories,
       coalesce(array_agg(c.title ORDER BY c.position, c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS category_titles,
       (SELECT coalesce(array_agg(a.name || CASE WHEN a.required THEN '' ELSE ' (optional)' END ORDER BY a.position), '{}')
        FROM round_attachment_types a WHERE a.round_id = r.id) AS attachments,
       r.retained_bp, r.payout_window_months
FROM rounds r
LEFT JOIN round_categories rc ON rc.round_id = r.id
LEFT JOIN categories c ON c.id = rc.category_id
GROUP BY r.id;

-- Kept exact by the trigger below: what has reached the municipality, and what is requested
-- and on its way (submitted, checked, ordered, in a run). Together never more than the grant.
ALTER TABLE applications
    ADD COLUMN paid_cents bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    ADD COLUMN payout_pending_cents bigint NOT NULL DEFAULT 0 CHECK (payout_pending_cents >= 0),
    ADD CONSTRAINT applications_payouts_within_grant
        CHECK (paid_cents + payout_pending_cents <= coalesce(granted_cents, 0));

-- A Zahllauf: ordered payouts collected for one value date, with the credit transfer file
-- exactly as first produced (a second download gives the same file and the same message id, so
-- the cash office's duplicate check catches a file sent twice).
CREATE TABLE payment_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id   bigint NOT NULL REFERENCES programmes (id),
    -- "ZL-2027-0003": also the pain.001 message id.
    number         text NOT NULL UNIQUE CHECK (number ~ '^ZL-[0-9]{4}-[0-9]{4,}$'),
    execution_date date NOT NULL,
    transfers      integer NOT NULL CHECK (transfers > 0),
    total_cents    bigint NOT NULL CHECK (total_cents > 0),
    file           bytea NOT NULL,
    created_by     bigint NOT NULL REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    downloads      integer NOT NULL DEFAULT 0,
    last_download_at timestamptz,
    paid_by        bigint REFERENCES users (id),
    paid_at        timestamptz,
    CHECK ((paid_by IS NULL) = (paid_at IS NULL))
);

CREATE TABLE payout_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES applications (id),
    -- 1, 2, … per grant: "Mittelabruf 2".
    number          integer NOT NULL CHECK (number > 0),
    -- Only the state machine in src/payouts/workflow.rs writes this column.
    status          text NOT NULL CHECK (status IN (
                        'draft', 'submitted', 'checked', 'ordered', 'in_run', 'paid', 'returned', 'withdrawn')),
    requested_cents bigint NOT NULL CHECK (requested_cents > 0),
    -- What the check found correct: the requested amount, or less with a reason.
    approved_cents  bigint CHECK (approved_cents > 0 AND approved_cents <= requested_cents),
    approval_note   text NOT NULL DEFAULT '',
    account_holder  text NOT NULL CHECK (account_holder <> ''),
    iban            text NOT NULL CHECK (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    -- Why the account differs from the application's (empty when it does not).
    account_reason  text NOT NULL DEFAULT '',
    submitted_by    bigint NOT NULL REFERENCES users (id),
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    -- Made when the form is shown: a form sent twice (a double click) files one request.
    submission_key  text NOT NULL CHECK (submission_key ~ '^[A-Za-z0-9_-]{16,100}$'),
    checked_by      bigint REFERENCES users (id),
    checked_at      timestamptz,
    ordered_by      bigint REFERENCES users (id),
    ordered_at      timestamptz,
    run_id          bigint REFERENCES payment_runs (id),
    paid_at         timestamptz,
    UNIQUE (application_id, number),
    UNIQUE (application_id, submission_key),
    -- Vier-Augen-Prinzip of budget law: the payment is ordered by someone other than the
    -- person who found the request correct.
    CONSTRAINT payout_requests_four_eyes CHECK (ordered_by IS NULL OR ordered_by <> checked_by),
    CHECK (status NOT IN ('checked', 'ordered', 'in_run', 'paid')
           OR (checked_by IS NOT NULL AND approved_cents IS NOT NULL)),
    CHECK (status NOT IN ('ordered', 'in_run', 'paid') OR ordered_by IS NOT NULL),
    CHECK ((status IN ('in_run', 'paid')) = (run_id IS NOT NULL)),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL))
);

CREATE INDEX payout_requests_application ON payout_requests (application_id, number);
CREATE INDEX payout_requests_status ON payout_requests (status, submitted_at);
CREATE INDEX payout_requests_run ON payout_requests (run_id) WHERE run_id IS NOT NULL;

-- The payments a request is needed for (what, to whom, when due); their sum is the request.
CREATE TABLE payout_items (
    payout_id    bigint NOT NULL REFERENCES payout_requests (id) ON DELETE CASCADE,
    position     integer NOT NULL CHECK (position > 0),
    purpose      text NOT NULL CHECK (purpose <> ''),
    payee        text NOT NULL CHECK (payee <> ''),
    due_on       date NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (payout_id, position)
);

-- Receipts a request comes with (invoices, orders), added by the municipality until it is
-- checked; the files are in the file store like the application's Anlagen.
CREATE TABLE payout_attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_id    bigint NOT NULL REFERENCES payout_requests (id) ON DELETE CASCADE,
    file_name    text NOT NULL CHECK (file_name <> ''),
    storage_key  text NOT NULL UNIQUE,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       bytea NOT NULL,
    uploaded_by  bigint NOT NULL REFERENCES users (id),
    uploaded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payout_attachments_payout ON payout_attachments (payout_id, uploaded_at);

-- The request's timeline.
CREATE TABLE payout_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_id   bigint NOT NULL REFERENCES payout_requests (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    actor_id    bigint REFERENCES users (id),
    at          timestamptz NOT NULL DEFAULT now(),
    message     text NOT NULL DEFAULT '',
    from_status text,
    to_status   text
);

CREATE INDEX payout_events_payout ON payout_events (payout_id, at);

-- Gap-free run numbers per year, like the Aktenzeichen.
CREATE TABLE payment_run_counters (
    year integer PRIMARY KEY,
    last integer NOT NULL CHECK (last >= 0)
);

CREATE FUNCTION payout_is_pending(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS
$$ SELECT status IN ('submitted', 'checked', 'ordered', 'in_run') $$;

-- Keeps applications.paid_cents and payout_pending_cents exact; the CHECK on applications
-- then refuses any change that would pay or promise more than the grant.
CREATE FUNCTION payouts_track_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pending_delta bigint := 0;
    paid_delta    bigint := 0;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF payout_is_pending(OLD.status) THEN
            pending_delta := pending_delta - coalesce(OLD.approved_cents, OLD.requested_cents);
        ELSIF OLD.status = 'paid' THEN
            paid_delta := paid_delta - OLD.approved_cents;
        END IF;
    END IF;
    IF payout_is_pending(NEW.status) THEN
        pending_delta := pending_delta + coalesce(NEW.approved_cents, NEW.requested_cents);
    ELSIF NEW.status = 'paid' THEN
        paid_delta := paid_delta + NEW.approved_cents;
    END IF;
    IF pending_delta <> 0 OR paid_delta <> 0 THEN
        UPDATE applications
        SET payout_pending_cents = payout_pending_cents + pending_delta,
            paid_cents = paid_cents + paid_delta
        WHERE id = NEW.application_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER payout_requests_balance AFTER INSERT OR UPDATE ON payout_requests
    FOR EACH ROW EXECUTE FUNCTION payouts_track_balance();
