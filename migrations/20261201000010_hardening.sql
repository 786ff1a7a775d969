-- Password-reset requests wait here for the background step that looks the address up, so the
-- answer to the form does the same work for every address, with or without an account. Rows
-- stay for an hour after they are done: the limit per client counts them.
CREATE TABLE password_reset_requests (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    client text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz
);
CREATE INDEX password_reset_requests_client_idx ON password_reset_requests (client, requested_at);
CREATE INDEX password_reset_requests_waiting_idx ON password_reset_requests (id) WHERE done_at IS NULL;
