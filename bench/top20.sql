-- pgbench: the same work as the top-20 GraphQL query, as one SQL statement.
SELECT s.id, s.title, s.score, u.handle
FROM suggestion s JOIN "user" u ON u.id = s.author_id
WHERE s.community_id = :community AND s.deleted_at IS NULL
ORDER BY s.score DESC, s.id DESC
LIMIT 20;
