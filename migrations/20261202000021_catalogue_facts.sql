-- The catalogue's search, filters and counts read one table. Until now every list page joined
-- each entry to its application, its municipalities, its round and its confirmed decision and
-- computed the phase for all entries before it could filter, count and sort: about 150 ms of
-- database time per page at 10,000 published projects. The facts the public filters on are now
-- kept on the entry itself, in the writing transaction, by the triggers below; the view joins the
-- rest only for the rows a page shows.
ALTER TABLE catalogue_entries
    -- Shown at all: the application is approved or settled (never undecided, rejected or withdrawn).
    ADD COLUMN visible      boolean NOT NULL DEFAULT false,
    ADD COLUMN settled      boolean NOT NULL DEFAULT false,
    ADD COLUMN category_code text,
    ADD COLUMN district_id  bigint,
    -- The period of the confirmed approval; its end as changed since (amendments).
    ADD COLUMN period_start date,
    ADD COLUMN period_end   date;

-- The facts of one entry from its sources (the one place that says what they are).
CREATE FUNCTION catalogue_facts(app bigint, OUT visible boolean, OUT settled boolean,
                                OUT category_code text, OUT district_id bigint,
                                OUT period_start date, OUT period_end date, OUT title text)
LANGUAGE sql STABLE AS $$
    SELECT a.status IN ('approved', 'settled'), a.status = 'settled', a.category_code,
           a.district_id, d.period_start, coalesce(a.period_end, d.period_end), a.title
    FROM applications a
    LEFT JOIN decisions d ON d.application_id = a.id AND d.state = 'confirmed'
                         AND d.outcome = 'approve'
    WHERE a.id = app
$$;

CREATE FUNCTION catalogue_entry_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT f.visible, f.settled, f.category_code, f.district_id, f.period_start, f.period_end, f.title
    INTO NEW.visible, NEW.settled, NEW.category_code, NEW.district_id, NEW.period_start,
         NEW.period_end, NEW.title
    FROM catalogue_facts(NEW.application_id) f;
    RETURN NEW;
END $$;

CREATE TRIGGER catalogue_entry_facts BEFORE INSERT ON catalogue_entries
    FOR EACH ROW EXECUTE FUNCTION catalogue_entry_facts();

CREATE FUNCTION catalogue_refresh(app bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE catalogue_entries e
    SET (visible, settled, category_code, district_id, period_start, period_end, title) =
        (SELECT f.visible, f.settled, f.category_code, f.district_id, f.period_start,
                f.period_end, f.title FROM catalogue_facts(app) f)
    WHERE e.application_id = app
$$;

-- The title trigger becomes one of the facts.
DROP TRIGGER catalogue_title_follows ON applications;
DROP FUNCTION catalogue_title_follows();

CREATE FUNCTION catalogue_application_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM catalogue_refresh(NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER catalogue_application_follows
    AFTER UPDATE OF status, category_code, district_id, period_end, title ON applications
    FOR EACH ROW WHEN ((OLD.status, OLD.category_code, OLD.district_id, OLD.period_end, OLD.title)
                       IS DISTINCT FROM
                       (NEW.status, NEW.category_code, NEW.district_id, NEW.period_end, NEW.title))
    EXECUTE FUNCTION catalogue_application_follows();

CREATE FUNCTION catalogue_decision_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM catalogue_refresh(NEW.application_id);
    RETURN NULL;
END $$;

CREATE TRIGGER catalogue_decision_follows
    AFTER INSERT OR UPDATE OF state, outcome, period_start, period_end ON decisions
    FOR EACH ROW EXECUTE FUNCTION catalogue_decision_follows();

-- The entries published so far.
SELECT catalogue_refresh(application_id) FROM catalogue_entries;

-- The list pages newest first, and the filters' distinct values, among what is shown.
DROP INDEX catalogue_entries_published;
CREATE INDEX catalogue_entries_published ON catalogue_entries (published_at DESC, application_id DESC)
    WHERE visible;

-- Where a project stands ("bewilligt" before its period, "in_umsetzung" during it,
-- "abgeschlossen" after it or once settled), by Berlin's calendar.
CREATE FUNCTION catalogue_phase(settled boolean, period_start date, period_end date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN settled OR period_end < (now() AT TIME ZONE 'Europe/Berlin')::date THEN 'abgeschlossen'
        WHEN period_start <= (now() AT TIME ZONE 'Europe/Berlin')::date THEN 'in_umsetzung'
        ELSE 'bewilligt'
    END
$$;

-- What the public sees of an entry, as before; now read for the rows a page shows.
CREATE OR REPLACE VIEW catalogue_public AS
SELECT e.application_id AS id, a.reference, e.title, e.summary, e.reuse, e.technologies,
       e.mailbox, e.search, e.published_at, e.updated_at,
       e.category_code, c.title AS category_title, e.district_id,
       m.name AS municipality, dm.name AS district, r.title AS round_title, r.year AS round_year,
       coalesce((SELECT string_agg(pm.name, ', ' ORDER BY pm.name)
                 FROM application_partners p JOIN municipalities pm ON pm.id = p.municipality_id
                 WHERE p.application_id = a.id AND p.confirmed_at IS NOT NULL), '') AS partners,
       e.period_start, e.period_end, a.granted_cents,
       catalogue_phase(e.settled, e.period_start, e.period_end) AS phase
FROM catalogue_entries e
JOIN applications a ON a.id = e.application_id
JOIN municipalities m ON m.id = a.municipality_id
JOIN rounds r ON r.id = a.round_id
LEFT JOIN municipalities dm ON dm.id = e.district_id
LEFT JOIN categories c ON c.programme_id = r.programme_id AND c.code = e.category_code
WHERE e.visible;

CREATE INDEX catalogue_entries_category ON catalogue_entries (category_code) WHERE visible;
CREATE INDEX catalogue_entries_district ON catalogue_entries (district_id) WHERE visible;
