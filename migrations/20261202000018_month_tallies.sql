-- Submissions and grants per calendar month (in Berlin) of each round, kept exact by the
-- database in the writing transaction like application_tallies. The statistics' charts over
-- time add up a few hundred of these rows; grouping the applications themselves by month reads
-- every one of them (56 ms at 100,000 applications, with an index-only scan).
-- Keyed by category and Landkreis as well: two submissions share a row here no more often than
-- they share their application_tallies row, so a busy month is not one row every submission
-- locks until its commit.
CREATE TABLE application_month_tallies (
    round_id      bigint NOT NULL REFERENCES rounds (id),
    -- The first day of the month; NULL for an application that lacks the date.
    month         date,
    category_code text,
    district_id   bigint,
    -- Applications first submitted in the month (whatever their status now): as
    -- application_tallies counts them, so the months add up to the count of applications.
    submitted     bigint NOT NULL,
    -- Grants (approved or settled) decided in the month, with their amount as it is now.
    granted       bigint NOT NULL,
    granted_cents bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (round_id, month, category_code, district_id)
);

CREATE TYPE application_month_change AS (
    round_id bigint, month date, category_code text, district_id bigint,
    submitted bigint, granted bigint, granted_cents bigint
);

-- One application's share of the month rows: its submission month, and its decision month if
-- it is a grant; with the sign of its arrival (1) or departure (-1).
CREATE FUNCTION application_month_changes(sign integer, a applications)
RETURNS SETOF application_month_change LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(a.round_id, date_trunc('month', a.submitted_at AT TIME ZONE 'Europe/Berlin')::date,
               a.category_code, a.district_id, sign, 0, 0)::application_month_change
    UNION ALL
    SELECT ROW(a.round_id, date_trunc('month', a.decided_at AT TIME ZONE 'Europe/Berlin')::date,
               a.category_code, a.district_id, 0, sign, sign * coalesce(a.granted_cents, 0))::application_month_change
    WHERE a.status IN ('approved', 'settled')
$$;

-- Adds the changes in key order (no deadlocks), skipping rows whose changes cancel out.
CREATE FUNCTION application_month_tallies_add(changes application_month_change[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO application_month_tallies AS t (round_id, month, category_code, district_id,
            submitted, granted, granted_cents)
    SELECT c.round_id, c.month, c.category_code, c.district_id,
           sum(c.submitted), sum(c.granted), sum(c.granted_cents)
    FROM unnest(changes) c
    GROUP BY c.round_id, c.month, c.category_code, c.district_id
    HAVING sum(c.submitted) <> 0 OR sum(c.granted) <> 0 OR sum(c.granted_cents) <> 0
    ORDER BY c.round_id, c.month, c.category_code, c.district_id
    ON CONFLICT (round_id, month, category_code, district_id) DO UPDATE SET
        submitted = t.submitted + excluded.submitted,
        granted = t.granted + excluded.granted,
        granted_cents = t.granted_cents + excluded.granted_cents
$$;

-- Drafts (no Aktenzeichen yet) are not counted. Most updates (a status step, a note, a draft's
-- texts) move no month figure and write nothing.
CREATE FUNCTION application_month_tallies_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM application_month_tallies_add(ARRAY(
            SELECT c FROM new_rows n, application_month_changes(1, n) c WHERE n.reference IS NOT NULL));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM application_month_tallies_add(ARRAY(
            SELECT c FROM new_rows n, application_month_changes(1, n) c WHERE n.reference IS NOT NULL
            UNION ALL
            SELECT c FROM old_rows o, application_month_changes(-1, o) c WHERE o.reference IS NOT NULL));
    ELSE
        PERFORM application_month_tallies_add(ARRAY(
            SELECT c FROM old_rows o, application_month_changes(-1, o) c WHERE o.reference IS NOT NULL));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER applications_month_tallies_insert AFTER INSERT ON applications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_month_tallies_track();
CREATE TRIGGER applications_month_tallies_update AFTER UPDATE ON applications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_month_tallies_track();
CREATE TRIGGER applications_month_tallies_delete AFTER DELETE ON applications
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_month_tallies_track();

SELECT application_month_tallies_add(ARRAY(
    SELECT c FROM applications a, application_month_changes(1, a) c WHERE a.reference IS NOT NULL));
