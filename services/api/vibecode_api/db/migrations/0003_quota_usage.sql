-- One round trip for a quota check: take the user's lock, then measure every quota.
-- plpgsql runs each statement with a fresh snapshot (VOLATILE), so the measurement is taken
-- after the lock was granted and sees every write committed by the user's previous holder.
-- depends: 0002_tenancy

CREATE FUNCTION vibe_usage(p_user text, p_workspace text, p_lock boolean)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    result jsonb;
BEGIN
    IF p_lock THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_user, 7163));
    END IF;
    SELECT jsonb_build_object(
        'workspaces', (SELECT count(*) FROM workspaces WHERE user_id = p_user),
        'filesPerWorkspace', (SELECT count(*) FROM files WHERE workspace_id = p_workspace),
        'storageBytes', (SELECT coalesce(sum(bytes), 0) FROM files WHERE user_id = p_user),
        'vectorChunks', (SELECT coalesce(sum(chunk_count), 0) FROM files WHERE user_id = p_user),
        'concurrentSessions', (SELECT count(*) FROM sessions WHERE user_id = p_user
                               AND state IN ('loading', 'starting', 'ready'))
    ) INTO result;
    RETURN result;
END
$$;
