-- Shared SQL pieces that the compile-time-checked queries use by name (a query macro takes
-- one literal string, so what several queries share lives in the database).

-- Links in invitations and password resets carry one-time tokens in `?token=…`; a delivered
-- message, and an admin's view of any message, no longer needs them.
CREATE FUNCTION scrub_tokens(body text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(body, 'token=[A-Za-z0-9_-]+', 'token=entfernt', 'g');

-- Submitted and not withdrawn (decided ones included), for layers that do not know the states.
CREATE FUNCTION application_is_submitted(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status NOT IN ('draft', 'withdrawn');

-- An application with the names lists and pages show with it.
CREATE VIEW application_rows AS
SELECT a.id, a.round_id, r.title AS round_title, r.closes_at AS round_closes_at,
       a.municipality_id, m.name AS municipality_name, a.status, a.reference, a.title,
       a.requested_grant_cents, a.created_at, a.updated_at, a.submitted_at
FROM applications a
JOIN rounds r ON r.id = a.round_id
JOIN municipalities m ON m.id = a.municipality_id;

-- The lists of an application (and of a round) as JSON arrays, for pages that read several of
-- them in one statement. PL/pgSQL, so that each connection plans them once.
CREATE FUNCTION application_sections_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'section', s.section, 'answers', s.answers, 'version', s.version, 'reopened', s.reopened,
                'updated_at', s.updated_at, 'updated_by_name', u.display_name)), '[]')
            FROM application_sections s JOIN users u ON u.id = s.updated_by
            WHERE s.application_id = application);
END $$;

CREATE FUNCTION application_partners_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'municipality_id', p.municipality_id, 'name', m.name, 'ags', m.ags,
                'confirmed_at', p.confirmed_at, 'confirmed_by_name', u.display_name)
                ORDER BY m.name, m.id), '[]')
            FROM application_partners p JOIN municipalities m ON m.id = p.municipality_id
            LEFT JOIN users u ON u.id = p.confirmed_by
            WHERE p.application_id = application);
END $$;

CREATE FUNCTION application_attachments_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'id', f.id, 'attachment_type_id', f.attachment_type_id, 'file_name', f.file_name,
                'storage_key', f.storage_key, 'content_type', f.content_type, 'size_bytes', f.size_bytes,
                'uploaded_at', f.uploaded_at, 'uploaded_by_name', u.display_name)
                ORDER BY f.uploaded_at, f.id), '[]')
            FROM application_attachments f JOIN users u ON u.id = f.uploaded_by
            WHERE f.application_id = application);
END $$;

CREATE FUNCTION round_document_types_json(round bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'id', t.id, 'name', t.name, 'required', t.required) ORDER BY t.position), '[]')
            FROM round_attachment_types t WHERE t.round_id = round);
END $$;

CREATE FUNCTION application_events_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'at', e.at, 'kind', e.kind, 'actor_name', u.display_name, 'message', e.message,
                'details', e.details) ORDER BY e.at, e.id), '[]')
            FROM application_events e LEFT JOIN users u ON u.id = e.actor_id
            WHERE e.application_id = application);
END $$;

CREATE FUNCTION application_revisions_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'number', r.number, 'answers', r.answers, 'submitted_at', r.submitted_at)
                ORDER BY r.number), '[]')
            FROM application_revisions r WHERE r.application_id = application);
END $$;

CREATE FUNCTION application_messages_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'at', m.at, 'author', u.display_name, 'from_ministry', m.from_ministry, 'body', m.body)
                ORDER BY m.at, m.id), '[]')
            FROM application_messages m JOIN users u ON u.id = m.author_id
            WHERE m.application_id = application);
END $$;

CREATE FUNCTION application_notes_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object(
                'at', n.at, 'author', u.display_name, 'body', n.body) ORDER BY n.at, n.id), '[]')
            FROM application_notes n JOIN users u ON u.id = n.author_id
            WHERE n.application_id = application);
END $$;

-- The latest Prüfvermerk, or NULL.
CREATE FUNCTION application_assessment_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT json_build_object('at', s.at, 'assessor', u.display_name, 'items', s.items)
            FROM application_assessments s JOIN users u ON u.id = s.reviewer_id
            WHERE s.application_id = application ORDER BY s.at DESC, s.id DESC LIMIT 1);
END $$;

-- The assignee as [id, name], or NULL.
CREATE FUNCTION application_assignee_json(application bigint) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT json_build_array(u.id, u.display_name)
            FROM applications a JOIN users u ON u.id = a.assigned_to WHERE a.id = application);
END $$;

-- Active accounts holding a role, as [[id, name], …] by name.
CREATE FUNCTION active_users_with_role_json(role text) RETURNS json
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_array(u.id, u.display_name)
                ORDER BY u.display_name, u.id), '[]')
            FROM users u WHERE role = ANY (u.roles) AND u.active);
END $$;

-- A round with its open categories (codes and titles, in programme order) and the documents
-- it asks for, optional ones marked "(optional)".
CREATE VIEW round_rows AS
SELECT r.id, r.programme_id, r.title, r.year, r.budget_cents, r.opens_at, r.closes_at, r.max_rate_bp,
       r.min_grant_cents, r.max_grant_cents, r.financing_type, r.state, r.conditions_template,
       coalesce(array_agg(c.code ORDER BY c.position, c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS categories,
       coalesce(array_agg(c.title ORDER BY c.position, c.code) FILTER (WHERE c.id IS NOT NULL), '{}') AS category_titles,
       (SELECT coalesce(array_agg(a.name || CASE WHEN a.required THEN '' ELSE ' (optional)' END ORDER BY a.position), '{}')
        FROM round_attachment_types a WHERE a.round_id = r.id) AS attachments
FROM rounds r
LEFT JOIN round_categories rc ON rc.round_id = r.id
LEFT JOIN categories c ON c.id = rc.category_id
GROUP BY r.id;

-- Reviewers find an application by the running number of its Aktenzeichen alone ("0001").
CREATE INDEX applications_reference_number ON applications (split_part(reference, '-', 3))
    WHERE reference IS NOT NULL;
