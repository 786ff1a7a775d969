-- The public catalogue of funded solutions (Nachnutzungskatalog): what a municipality agreed
-- to publish about its application. An entry is shown only while its application is approved
-- or settled: undecided, rejected and withdrawn applications never appear, whatever was
-- agreed. It names a role mailbox, never a person.
CREATE TABLE catalogue_entries (
    application_id bigint PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    -- The application's title, kept in step by the trigger below (for the search).
    title          text NOT NULL,
    summary        text NOT NULL CHECK (length(summary) BETWEEN 1 AND 1000),
    reuse          text NOT NULL CHECK (length(reuse) BETWEEN 1 AND 5000),
    technologies   text NOT NULL DEFAULT '' CHECK (length(technologies) <= 1000),
    mailbox        text NOT NULL CHECK (length(mailbox) BETWEEN 3 AND 254 AND mailbox LIKE '%_@_%'),
    published_by   bigint NOT NULL REFERENCES users (id),
    published_at   timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    search         tsvector GENERATED ALWAYS AS (
        to_tsvector('german', title || ' ' || summary || ' ' || reuse || ' ' || technologies)
    ) STORED
);

CREATE INDEX catalogue_entries_search ON catalogue_entries USING gin (search);
CREATE INDEX catalogue_entries_published ON catalogue_entries (published_at DESC, application_id DESC);

CREATE FUNCTION catalogue_title_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalogue_entries SET title = NEW.title WHERE application_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER catalogue_title_follows AFTER UPDATE OF title ON applications
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title)
    EXECUTE FUNCTION catalogue_title_follows();

-- "Nachnutzung anfragen": requests sent to an entry's mailbox; the owner sees them (also after
-- withdrawing the entry), and they bound how often one client or one entry can be written to.
CREATE TABLE catalogue_requests (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    name           text NOT NULL,
    email          text NOT NULL,
    municipality   text NOT NULL,
    message        text NOT NULL,
    client         text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX catalogue_requests_client ON catalogue_requests (client, at);
CREATE INDEX catalogue_requests_entry ON catalogue_requests (application_id, at);

-- What the public sees of an entry: only approved or settled applications, with the facts a
-- notice makes public (municipality, partners, Landkreis, period, grant) and where the project
-- stands: "bewilligt" before its period, "in_umsetzung" during it, "abgeschlossen" after it or
-- once settled. Every public page and open-data file reads this view.
CREATE VIEW catalogue_public AS
SELECT e.application_id AS id, a.reference, e.title, e.summary, e.reuse, e.technologies,
       e.mailbox, e.search, e.published_at, e.updated_at,
       a.category_code, c.title AS category_title, a.district_id,
       m.name AS municipality, dm.name AS district, r.title AS round_title, r.year AS round_year,
       coalesce((SELECT string_agg(pm.name, ', ' ORDER BY pm.name)
                 FROM application_partners p JOIN municipalities pm ON pm.id = p.municipality_id
                 WHERE p.application_id = a.id AND p.confirmed_at IS NOT NULL), '') AS partners,
       d.period_start, coalesce(a.period_end, d.period_end) AS period_end, a.granted_cents,
       CASE
           WHEN a.status = 'settled'
                OR coalesce(a.period_end, d.period_end) < (now() AT TIME ZONE 'Europe/Berlin')::date
               THEN 'abgeschlossen'
           WHEN d.period_start <= (now() AT TIME ZONE 'Europe/Berlin')::date THEN 'in_umsetzung'
           ELSE 'bewilligt'
       END AS phase
FROM catalogue_entries e
JOIN applications a ON a.id = e.application_id
JOIN municipalities m ON m.id = a.municipality_id
JOIN rounds r ON r.id = a.round_id
LEFT JOIN municipalities dm ON dm.id = a.district_id
LEFT JOIN categories c ON c.programme_id = r.programme_id AND c.code = a.category_code
LEFT JOIN LATERAL (
    SELECT period_start, period_end FROM decisions
    WHERE application_id = a.id AND state = 'confirmed' AND outcome = 'approve'
    ORDER BY id DESC LIMIT 1
) d ON true
WHERE a.status IN ('approved', 'settled');
