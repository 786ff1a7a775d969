-- Second factor (TOTP, RFC 6238) with single-use recovery codes. A session starts at the
-- 'password' stage when the account has a second factor, and becomes 'full' after the code.
ALTER TABLE users
    ADD COLUMN totp_secret text,
    ADD COLUMN totp_enabled_at timestamptz,
    -- The last time step a code was accepted for: a code cannot be used twice.
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

ALTER TABLE sessions
    ADD COLUMN stage text NOT NULL DEFAULT 'full' CHECK (stage IN ('password', 'full')),
    ADD COLUMN second_factor boolean NOT NULL DEFAULT false;
