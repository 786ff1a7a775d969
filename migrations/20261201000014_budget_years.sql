-- Budget per Haushaltsjahr: a round's budget split by budget year, each grant committed to
-- years according to its cost plan (the reviewer may move amounts between years within the
-- grant), and what of each year's commitment is paid. No year is ever over-committed: the
-- CHECK holds it under any concurrency, the approval's guarded update reports it.

CREATE TABLE round_budget_years (
    round_id        bigint NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    budget_cents    bigint NOT NULL CHECK (budget_cents >= 0),
    committed_cents bigint NOT NULL DEFAULT 0 CHECK (committed_cents >= 0),
    paid_cents      bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    PRIMARY KEY (round_id, year),
    CONSTRAINT round_budget_years_not_over_committed CHECK (committed_cents <= budget_cents),
    CHECK (paid_cents <= committed_cents)
);

-- The split a decision proposes; the confirmation commits it.
CREATE TABLE decision_years (
    decision_id bigint NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    cents       bigint NOT NULL CHECK (cents >= 0),
    PRIMARY KEY (decision_id, year)
);

-- A grant's commitment per year, and what of it has been paid.
CREATE TABLE grant_years (
    application_id  bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    round_id        bigint NOT NULL,
    year            integer NOT NULL,
    committed_cents bigint NOT NULL CHECK (committed_cents >= 0),
    paid_cents      bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    PRIMARY KEY (application_id, year),
    FOREIGN KEY (round_id, year) REFERENCES round_budget_years (round_id, year),
    CHECK (paid_cents <= committed_cents)
);

-- Every existing round keeps its whole budget (and what it granted) in its own year.
INSERT INTO round_budget_years (round_id, year, budget_cents, committed_cents)
SELECT id, year, budget_cents, granted_cents FROM rounds;

INSERT INTO grant_years (application_id, round_id, year, committed_cents, paid_cents)
SELECT a.id, a.round_id, r.year, a.granted_cents, a.paid_cents
FROM applications a JOIN rounds r ON r.id = a.round_id
WHERE a.granted_cents IS NOT NULL AND a.granted_cents > 0;

UPDATE round_budget_years y SET paid_cents = g.paid
FROM (SELECT round_id, year, sum(paid_cents) AS paid FROM grant_years GROUP BY round_id, year) g
WHERE g.round_id = y.round_id AND g.year = y.year;

-- A new round starts with its whole budget in its own year; the admin may split it.
CREATE FUNCTION rounds_default_budget_year() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO round_budget_years (round_id, year, budget_cents) VALUES (NEW.id, NEW.year, NEW.budget_cents);
    RETURN NULL;
END;
$$;

CREATE TRIGGER rounds_default_budget_year AFTER INSERT ON rounds
    FOR EACH ROW EXECUTE FUNCTION rounds_default_budget_year();
