-- The documents a round asks for (Antragsunterlagen), each required or optional.
CREATE TABLE round_attachment_types (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id bigint NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name     text NOT NULL CHECK (name <> ''),
    required boolean NOT NULL DEFAULT true,
    UNIQUE (round_id, name)
);
