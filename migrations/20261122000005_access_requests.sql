-- "Zugang beantragen": municipal employees ask for an account; admins approve (which sends an
-- invitation) or decline (with a reason, by e-mail).
CREATE TABLE access_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (name <> ''),
    email           text NOT NULL CHECK (email = lower(email)),
    municipality_id bigint NOT NULL REFERENCES municipalities (id),
    function        text NOT NULL DEFAULT '',
    client          text NOT NULL DEFAULT '',
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'approved', 'declined')),
    decided_by      bigint REFERENCES users (id),
    decided_at      timestamptz,
    reason          text,
    user_id         bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_requests_state_idx ON access_requests (state, created_at);
CREATE INDEX access_requests_client_idx ON access_requests (client, created_at);
