-- The foundation schema: municipality directory, accounts and sessions, programmes with their
-- categories and rounds, and the append-only audit log. Money is integer cents, rates basis points.

CREATE TABLE municipalities (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    kind        text NOT NULL CHECK (kind IN ('gemeinde', 'verwaltungsgemeinschaft', 'landkreis', 'kreisfreie_stadt', 'land')),
    ags         text UNIQUE CHECK (ags ~ '^[0-9]{8}$'),
    ars         text UNIQUE CHECK (ars ~ '^[0-9]{12}$'),
    parent_id   bigint REFERENCES municipalities (id),
    street      text,
    postal_code text CHECK (postal_code ~ '^[0-9]{5}$'),
    city        text,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ags IS NOT NULL OR ars IS NOT NULL)
);

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    display_name    text NOT NULL CHECK (display_name <> ''),
    -- NULL until the invitee has set a password.
    password_hash   text,
    roles           text[] NOT NULL CHECK (
                        cardinality(roles) > 0
                        AND roles <@ ARRAY['clerk', 'reviewer', 'admin']
                        -- a municipal clerk never holds a ministry role
                        AND NOT ('clerk' = ANY (roles) AND cardinality(roles) > 1)),
    municipality_id bigint REFERENCES municipalities (id),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- clerks belong to exactly one municipality, ministry staff to none
    CHECK (('clerk' = ANY (roles)) = (municipality_id IS NOT NULL))
);
CREATE INDEX users_municipality_idx ON users (municipality_id);

-- Server-side sessions. Only a hash of the cookie value is stored, so a leaked table opens no session.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE programmes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    short_name  text NOT NULL UNIQUE,
    legal_basis text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    eligibility text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE programme_contacts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id bigint NOT NULL REFERENCES programmes (id) ON DELETE CASCADE,
    name         text NOT NULL,
    organisation text NOT NULL DEFAULT '',
    address      text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    position     integer NOT NULL DEFAULT 0
);

CREATE TABLE categories (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id bigint NOT NULL REFERENCES programmes (id),
    code         text NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    position     integer NOT NULL DEFAULT 0,
    retired      boolean NOT NULL DEFAULT false,
    UNIQUE (programme_id, code)
);

CREATE TABLE rounds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    programme_id    bigint NOT NULL REFERENCES programmes (id),
    title           text NOT NULL,
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    budget_cents    bigint NOT NULL CHECK (budget_cents >= 0),
    opens_at        timestamptz NOT NULL,
    closes_at       timestamptz NOT NULL,
    max_rate_bp     integer NOT NULL CHECK (max_rate_bp BETWEEN 1 AND 10000),
    min_grant_cents bigint NOT NULL DEFAULT 0 CHECK (min_grant_cents >= 0),
    max_grant_cents bigint CHECK (max_grant_cents IS NULL OR max_grant_cents >= min_grant_cents),
    financing_type  text NOT NULL CHECK (financing_type IN ('anteilfinanzierung', 'festbetragsfinanzierung')),
    state           text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (closes_at > opens_at)
);

CREATE TABLE round_categories (
    round_id    bigint NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    category_id bigint NOT NULL REFERENCES categories (id),
    PRIMARY KEY (round_id, category_id)
);

-- Append-only: who did what to which object, and when.
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor_id bigint REFERENCES users (id),
    action   text NOT NULL,
    subject  text NOT NULL DEFAULT '',
    details  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
