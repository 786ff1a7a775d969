-- Shared SQL pieces that the compile-time-checked queries use by name (a query macro takes
-- one literal string, so what several queries share lives in the database).

-- Links in invitations and password resets carry one-time tokens in `?token=…`; a delivered
-- message, and an admin's view of any message, no longer needs them.
CREATE FUNCTION scrub_tokens(body text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(body, 'token=[A-Za-z0-9_-]+', 'token=entfernt', 'g');
