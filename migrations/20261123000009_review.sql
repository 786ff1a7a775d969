-- Ministry review: assignment, full-text search, assessments, internal notes, messages with the
-- municipality, and decisions under the four-eyes principle.

ALTER TABLE applications
    ADD COLUMN assigned_to bigint REFERENCES users (id),
    -- The Landkreis (or kreisfreie Stadt) of the applicant, for filters and statistics.
    ADD COLUMN district_id bigint REFERENCES municipalities (id),
    -- Summary, description and municipality name, kept in step with the answers, for search.
    ADD COLUMN search_text text NOT NULL DEFAULT '',
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('german', coalesce(reference, '') || ' ' || title || ' ' || search_text)
    ) STORED;

CREATE INDEX applications_search ON applications USING gin (search);
-- The dashboard's default order and its keyset pagination.
CREATE INDEX applications_submitted ON applications (submitted_at DESC, id DESC)
    WHERE reference IS NOT NULL;
CREATE INDEX applications_assigned ON applications (assigned_to) WHERE assigned_to IS NOT NULL;
-- Counts per status and the statistics, read from the index alone (the table's rows are
-- wide with texts and the search vector).
CREATE INDEX applications_overview ON applications (status, category_code, district_id)
    INCLUDE (round_id, municipality_id, requested_grant_cents, granted_cents, submitted_at, decided_at)
    WHERE reference IS NOT NULL;
-- The amount filter and sorting by amount.
CREATE INDEX applications_requested ON applications ((coalesce(requested_grant_cents, 0)), id)
    WHERE reference IS NOT NULL;

-- The Nebenbestimmungen a decision proposes by default; reviewers edit them per case.
ALTER TABLE rounds ADD COLUMN conditions_template text NOT NULL DEFAULT
    'Die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gemeinden (GV) (ANBest-Gk) sind Bestandteil dieses Bescheides. Die Zuwendung ist zweckgebunden für das bewilligte Vorhaben zu verwenden. Der Verwendungsnachweis (Sachbericht und zahlenmäßiger Nachweis) ist innerhalb von sechs Monaten nach Ende des Bewilligungszeitraums vorzulegen. Die Ergebnisse sind anderen Thüringer Kommunen zur Nachnutzung bereitzustellen.';

-- The Prüfvermerk: each save is kept, the latest counts.
CREATE TABLE application_assessments (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    reviewer_id    bigint NOT NULL REFERENCES users (id),
    at             timestamptz NOT NULL DEFAULT now(),
    -- {"eligible_applicant": {"result": "ok", "note": "…"}, …}
    items          jsonb NOT NULL CHECK (jsonb_typeof(items) = 'object')
);

CREATE INDEX application_assessments_application ON application_assessments (application_id, at DESC);

-- Internal notes: ministry only, never shown to municipalities.
CREATE TABLE application_notes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    author_id      bigint NOT NULL REFERENCES users (id),
    at             timestamptz NOT NULL DEFAULT now(),
    body           text NOT NULL CHECK (body <> '')
);

CREATE INDEX application_notes_application ON application_notes (application_id, at);

-- Messages between the ministry and the municipality on a case.
CREATE TABLE application_messages (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    author_id      bigint NOT NULL REFERENCES users (id),
    from_ministry  boolean NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    body           text NOT NULL CHECK (body <> '')
);

CREATE INDEX application_messages_application ON application_messages (application_id, at);

-- Proposed and confirmed decisions. A proposal is confirmed or sent back by a different
-- reviewer; a confirmed one is final and carries its notice.
CREATE TABLE decisions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id  bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    outcome         text NOT NULL CHECK (outcome IN ('approve', 'reject')),
    granted_cents   bigint CHECK (granted_cents > 0),
    eligible_cents  bigint CHECK (eligible_cents > 0),
    -- Why the eligible costs were cut, or why the application is rejected.
    reason          text NOT NULL DEFAULT '',
    period_start    date,
    period_end      date,
    conditions      text NOT NULL DEFAULT '',
    state           text NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'confirmed', 'sent_back')),
    proposed_by     bigint NOT NULL REFERENCES users (id),
    proposed_at     timestamptz NOT NULL DEFAULT now(),
    settled_by      bigint REFERENCES users (id),
    settled_at      timestamptz,
    settle_note     text NOT NULL DEFAULT '',
    -- The notice (Zuwendungs- or Ablehnungsbescheid) as issued.
    notice_pdf      bytea,
    CHECK (outcome = 'reject' OR (granted_cents IS NOT NULL AND eligible_cents IS NOT NULL
                                   AND period_start IS NOT NULL AND period_end >= period_start)),
    -- Vier-Augen-Prinzip: nobody settles their own proposal.
    CONSTRAINT decisions_four_eyes CHECK (settled_by IS NULL OR settled_by <> proposed_by),
    CHECK ((state = 'proposed') = (settled_by IS NULL)),
    CHECK (state <> 'confirmed' OR notice_pdf IS NOT NULL)
);

-- One open proposal per application at a time, one confirmed decision ever.
CREATE UNIQUE INDEX decisions_open ON decisions (application_id) WHERE state = 'proposed';
CREATE UNIQUE INDEX decisions_final ON decisions (application_id) WHERE state = 'confirmed';

-- Round statistics reports (per round and category, per Landkreis) read these columns.
CREATE INDEX applications_round_category ON applications (round_id, category_code);

CREATE INDEX applications_district ON applications (district_id);

-- Applications from before this migration get their district and searchable municipality name.
UPDATE applications a SET search_text = m.name, district_id = coalesce(m.parent_id, m.id)
FROM municipalities m WHERE m.id = a.municipality_id;

-- What the open applications of a round ask for (submitted up to decision proposed), kept
-- exact by the database itself: the budget bars read one number instead of summing every time.
ALTER TABLE rounds ADD COLUMN open_requested_cents bigint NOT NULL DEFAULT 0;

CREATE FUNCTION application_is_open(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS
$$ SELECT status IN ('submitted', 'in_review', 'changes_requested', 'decision_proposed') $$;

CREATE FUNCTION rounds_track_open_requests() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE rounds r SET open_requested_cents = r.open_requested_cents + d.delta
        FROM (SELECT round_id, sum(requested_grant_cents) AS delta FROM new_rows
              WHERE application_is_open(status) AND requested_grant_cents IS NOT NULL GROUP BY round_id) d
        WHERE r.id = d.round_id AND d.delta <> 0;
    ELSE
        UPDATE rounds r SET open_requested_cents = r.open_requested_cents + d.delta
        FROM (SELECT round_id, sum(amount) AS delta FROM (
                  SELECT round_id, coalesce(requested_grant_cents, 0) AS amount FROM new_rows WHERE application_is_open(status)
                  UNION ALL
                  SELECT round_id, -coalesce(requested_grant_cents, 0) FROM old_rows WHERE application_is_open(status)) c
              GROUP BY round_id) d
        WHERE r.id = d.round_id AND d.delta <> 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER applications_open_requests_insert AFTER INSERT ON applications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rounds_track_open_requests();
CREATE TRIGGER applications_open_requests_update AFTER UPDATE ON applications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rounds_track_open_requests();

UPDATE rounds r SET open_requested_cents = coalesce((
    SELECT sum(requested_grant_cents) FROM applications a
    WHERE a.round_id = r.id AND application_is_open(a.status)), 0);
