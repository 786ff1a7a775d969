-- Projektskizzen: projects a municipality describes before (or outside) a round, to consult
-- the ministry and to find partner municipalities. An outline is the municipality's draft
-- until it is sent to the ministry or put into the partner search; it becomes an application
-- with one click once a round is open.
CREATE TABLE outlines (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_id      bigint NOT NULL REFERENCES municipalities (id),
    created_by           bigint NOT NULL REFERENCES users (id),
    title                text NOT NULL CHECK (length(title) BETWEEN 1 AND 150),
    goal                 text NOT NULL CHECK (length(goal) BETWEEN 1 AND 3000),
    -- A category of the main programme, if the clerk knows it already.
    category_code        text,
    estimated_cost_cents bigint CHECK (estimated_cost_cents >= 0),
    planned_start        date,
    planned_end          date CHECK (planned_end >= planned_start),
    partners_wanted      boolean NOT NULL DEFAULT false,
    -- What partners are wanted for (required when they are).
    partners_for         text NOT NULL DEFAULT '' CHECK (length(partners_for) <= 2000),
    contact_name         text NOT NULL CHECK (length(contact_name) BETWEEN 1 AND 200),
    contact_email        text NOT NULL CHECK (length(contact_email) BETWEEN 3 AND 254),
    contact_phone        text NOT NULL DEFAULT '' CHECK (length(contact_phone) <= 40),
    -- Consultation with the ministry: not asked, asked ("zur Abstimmung"), agreed.
    consultation         text NOT NULL DEFAULT 'none'
                         CHECK (consultation IN ('none', 'requested', 'agreed')),
    consultation_at      timestamptz,
    agreed_at            timestamptz,
    agreed_by            bigint REFERENCES users (id),
    -- The reviewer who answered last: new messages of the municipality go to them.
    reviewer_id          bigint REFERENCES users (id),
    in_partner_search    boolean NOT NULL DEFAULT false CHECK (NOT in_partner_search OR partners_wanted),
    -- The application made from it.
    application_id       bigint UNIQUE REFERENCES applications (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((consultation = 'agreed') = (agreed_at IS NOT NULL AND agreed_by IS NOT NULL)),
    CHECK (consultation = 'none' OR consultation_at IS NOT NULL),
    search               tsvector GENERATED ALWAYS AS (
        to_tsvector('german', title || ' ' || goal || ' ' || partners_for)
    ) STORED
);

CREATE INDEX outlines_municipality ON outlines (municipality_id, updated_at DESC);
CREATE INDEX outlines_consultation ON outlines (consultation_at DESC) WHERE consultation <> 'none';
CREATE INDEX outlines_partner_search ON outlines (updated_at DESC) WHERE in_partner_search;
CREATE INDEX outlines_search ON outlines USING gin (search);

-- The consultation: messages both ways, like a case's.
CREATE TABLE outline_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outline_id    bigint NOT NULL REFERENCES outlines (id) ON DELETE CASCADE,
    author_id     bigint NOT NULL REFERENCES users (id),
    from_ministry boolean NOT NULL,
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX outline_messages_outline ON outline_messages (outline_id, at);

-- Partner search: another municipality's interest, and the owner's acceptance. An accepted
-- partner is preselected in the application made from the outline.
CREATE TABLE outline_interests (
    outline_id      bigint NOT NULL REFERENCES outlines (id) ON DELETE CASCADE,
    municipality_id bigint NOT NULL REFERENCES municipalities (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    message         text NOT NULL CHECK (length(message) BETWEEN 1 AND 2000),
    at              timestamptz NOT NULL DEFAULT now(),
    accepted_at     timestamptz,
    accepted_by     bigint REFERENCES users (id),
    PRIMARY KEY (outline_id, municipality_id),
    CHECK ((accepted_at IS NULL) = (accepted_by IS NULL))
);

CREATE INDEX outline_interests_municipality ON outline_interests (municipality_id);
