-- The legal texts of a programme's notices and of the portal's legal pages, kept by admins
-- (Rechtstexte). Empty until the operator enters them: a notice is not issued while its
-- required texts (letterhead, Rechtsbehelfsbelehrung) are empty, and the legal pages leave
-- out what is not filled in instead of showing placeholders.
CREATE TABLE programme_legal_texts (
    programme_id        bigint PRIMARY KEY REFERENCES programmes (id) ON DELETE CASCADE,
    -- Notices: the authority and its address, one line each (the first is printed large).
    letterhead          text NOT NULL DEFAULT '',
    legal_remedy        text NOT NULL DEFAULT '',
    -- Printed in every Zuwendungsbescheid before the decision's own Nebenbestimmungen.
    standard_conditions text NOT NULL DEFAULT '',
    -- Printed under the signing reviewer's name (unit, function).
    signature_line      text NOT NULL DEFAULT '',
    -- Impressum and Datenschutzerklärung.
    publisher           text NOT NULL DEFAULT '',
    represented_by      text NOT NULL DEFAULT '',
    responsible_unit    text NOT NULL DEFAULT '',
    content_responsible text NOT NULL DEFAULT '',
    vat_id              text NOT NULL DEFAULT '',
    hosting_provider    text NOT NULL DEFAULT '',
    dpo_contact         text NOT NULL DEFAULT '',
    account_retention   text NOT NULL DEFAULT '',
    record_retention    text NOT NULL DEFAULT '',
    updated_at          timestamptz NOT NULL DEFAULT now()
);

INSERT INTO programme_legal_texts (programme_id) SELECT id FROM programmes;
