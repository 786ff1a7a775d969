-- Counts and sums of the submitted applications per round, status, category, Landkreis and
-- assignee, kept exact by the database in the writing transaction. The dashboard's counts per
-- status, the budget bars and the statistics add up a few hundred of these rows instead of
-- scanning every application. Replaces rounds.open_requested_cents, whose single row per round
-- every submission had to lock until its commit.
CREATE TABLE application_tallies (
    round_id         bigint NOT NULL REFERENCES rounds (id),
    status           text NOT NULL,
    category_code    text,
    district_id      bigint,
    assigned_to      bigint,
    applications     bigint NOT NULL,
    requested_cents  bigint NOT NULL,
    granted_cents    bigint NOT NULL,
    decided          bigint NOT NULL,
    -- From submission to decision, summed over the decided applications.
    decision_seconds bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (round_id, status, category_code, district_id, assigned_to)
);

-- One application's share of its tally row, with the sign of its arrival (1) or departure (-1).
CREATE TYPE application_tally_change AS (
    round_id bigint, status text, category_code text, district_id bigint, assigned_to bigint,
    applications bigint, requested_cents bigint, granted_cents bigint, decided bigint,
    decision_seconds bigint
);

CREATE FUNCTION application_tally_change(sign integer, a applications)
RETURNS application_tally_change LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(a.round_id, a.status, a.category_code, a.district_id, a.assigned_to, sign,
               sign * coalesce(a.requested_grant_cents, 0), sign * coalesce(a.granted_cents, 0),
               CASE WHEN a.decided_at IS NOT NULL THEN sign ELSE 0 END,
               sign * coalesce(extract(epoch FROM a.decided_at - a.submitted_at)::bigint, 0)
           )::application_tally_change
$$;

-- Adds the changes to their rows in key order, so that two transactions lock shared rows in the
-- same order and never deadlock.
CREATE FUNCTION application_tallies_add(changes application_tally_change[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO application_tallies AS t (round_id, status, category_code, district_id, assigned_to,
            applications, requested_cents, granted_cents, decided, decision_seconds)
    SELECT c.round_id, c.status, c.category_code, c.district_id, c.assigned_to, sum(c.applications),
           sum(c.requested_cents), sum(c.granted_cents), sum(c.decided), sum(c.decision_seconds)
    FROM unnest(changes) c
    GROUP BY c.round_id, c.status, c.category_code, c.district_id, c.assigned_to
    HAVING sum(c.applications) <> 0 OR sum(c.requested_cents) <> 0 OR sum(c.granted_cents) <> 0
        OR sum(c.decided) <> 0 OR sum(c.decision_seconds) <> 0
    ORDER BY c.round_id, c.status, c.category_code, c.district_id, c.assigned_to
    ON CONFLICT (round_id, status, category_code, district_id, assigned_to) DO UPDATE SET
        applications = t.applications + excluded.applications,
        requested_cents = t.requested_cents + excluded.requested_cents,
        granted_cents = t.granted_cents + excluded.granted_cents,
        decided = t.decided + excluded.decided,
        decision_seconds = t.decision_seconds + excluded.decision_seconds
$$;

-- Drafts (no Aktenzeichen yet) are not counted.
CREATE FUNCTION application_tallies_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM application_tallies_add(ARRAY(
            SELECT application_tally_change(1, n) FROM new_rows n WHERE n.reference IS NOT NULL));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM application_tallies_add(ARRAY(
            SELECT application_tally_change(1, n) FROM new_rows n WHERE n.reference IS NOT NULL
            UNION ALL
            SELECT application_tally_change(-1, o) FROM old_rows o WHERE o.reference IS NOT NULL));
    ELSE
        PERFORM application_tallies_add(ARRAY(
            SELECT application_tally_change(-1, o) FROM old_rows o WHERE o.reference IS NOT NULL));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER applications_tallies_insert AFTER INSERT ON applications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_tallies_track();
-- An update that moves no tallied figure (saving a draft's texts, say) cancels out and writes
-- nothing: application_tallies_add skips sums of zero.
CREATE TRIGGER applications_tallies_update AFTER UPDATE ON applications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_tallies_track();
CREATE TRIGGER applications_tallies_delete AFTER DELETE ON applications
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_tallies_track();

SELECT application_tallies_add(ARRAY(
    SELECT application_tally_change(1, a) FROM applications a WHERE a.reference IS NOT NULL));

DROP TRIGGER applications_open_requests_insert ON applications;
DROP TRIGGER applications_open_requests_update ON applications;
DROP FUNCTION rounds_track_open_requests();
ALTER TABLE rounds DROP COLUMN open_requested_cents;


-- The filters the tallies cannot answer. Their counts stop after 1,000 applications and read
-- the status from the index alone; the Kommune filter pages in the dashboard's default order.
DROP INDEX applications_requested;
CREATE INDEX applications_requested ON applications ((coalesce(requested_grant_cents, 0)), id)
    INCLUDE (status) WHERE reference IS NOT NULL;
DROP INDEX applications_submitted;
CREATE INDEX applications_submitted ON applications (submitted_at DESC, id DESC)
    INCLUDE (status) WHERE reference IS NOT NULL;
CREATE INDEX applications_municipality_submitted ON applications (municipality_id, submitted_at DESC, id DESC)
    INCLUDE (status) WHERE reference IS NOT NULL;
-- Without a histogram of the amount the planner guesses that any range holds 0.5 % of the
-- applications and sorts every match instead of walking the dashboard's order.
CREATE STATISTICS applications_requested_stats ON (coalesce(requested_grant_cents, 0)) FROM applications;

-- Instances keep the filters' lists of rounds, categories and Landkreise in memory and forget
-- them when this channel speaks (src/review/choices.rs).
CREATE FUNCTION announce_reference_data_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reference_data', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER rounds_announce AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rounds
    FOR EACH STATEMENT EXECUTE FUNCTION announce_reference_data_change();
CREATE TRIGGER categories_announce AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION announce_reference_data_change();
CREATE TRIGGER municipalities_announce AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON municipalities
    FOR EACH STATEMENT EXECUTE FUNCTION announce_reference_data_change();
