-- pgbench: W1n's floor, as one SQL statement: the top 20 of a community by score (ties by id,
-- newest first) with author handles, each with its first 3 live comments (oldest first, ties by
-- id) and their authors' handles.
SELECT s.id, s.title, s.score, u.handle, c.id, c.body, cu.handle
FROM (SELECT id, title, score, author_id FROM suggestion
      WHERE community_id = :community AND deleted_at IS NULL
      ORDER BY score DESC, id DESC LIMIT 20) s
JOIN "user" u ON u.id = s.author_id
LEFT JOIN LATERAL (SELECT c.id, c.body, c.author_id, c.created_at FROM comment c
                   WHERE c.suggestion_id = s.id AND c.deleted_at IS NULL
                   ORDER BY c.created_at, c.id LIMIT 3) c ON true
LEFT JOIN "user" cu ON cu.id = c.author_id
ORDER BY s.score DESC, s.id DESC, c.created_at, c.id;
