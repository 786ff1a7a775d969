-- The transactional outbox: features insert messages in the same transaction as the change that
-- causes them; the delivery worker sends them. Content is rendered at enqueue time, so a retry
-- sends exactly the same message with the same Message-ID.
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      text NOT NULL UNIQUE,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    recipient_name  text NOT NULL DEFAULT '',
    subject         text NOT NULL,
    body_text       text NOT NULL,
    body_html       text NOT NULL,
    -- For messages that must go out at most once, e.g. a deadline reminder per draft and day.
    once_key        text UNIQUE,
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A claimed message belongs to one worker until then; after a crash another worker retries.
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CHECK (recipient !~ '[[:cntrl:]]' AND subject !~ '[[:cntrl:]]')
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE state IN ('queued', 'sending');
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at DESC);
