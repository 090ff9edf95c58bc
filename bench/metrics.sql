-- pgbench: the aggregates behind communityMetrics as plain SQL, one statement per figure, the
-- floor the API is measured against.
SELECT kind, status, COUNT(*), SUM(CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END)
  FROM suggestion WHERE community_id = :community AND deleted_at IS NULL GROUP BY kind, status;
SELECT COUNT(*), SUM(ROUND(EXTRACT(EPOCH FROM (first_response_at - created_at)) * 1000))
  FROM suggestion WHERE community_id = :community AND deleted_at IS NULL AND first_response_at IS NOT NULL;
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY first_response_at - created_at)
  FROM suggestion WHERE community_id = :community AND deleted_at IS NULL AND first_response_at IS NOT NULL;
SELECT COUNT(*), SUM(ROUND(EXTRACT(EPOCH FROM (resolved_at - created_at)) * 1000))
  FROM suggestion WHERE community_id = :community AND deleted_at IS NULL AND resolved_at IS NOT NULL;
SELECT SUM(n) FROM (SELECT COUNT(*) AS n FROM suggestion WHERE community_id = :community
  AND deleted_at IS NULL GROUP BY author_id ORDER BY COUNT(*) DESC LIMIT 100) t;
SELECT COUNT(*), SUM(CASE WHEN i.suggestion_id IS NOT NULL THEN 1 ELSE 0 END)
  FROM release_item i JOIN release r ON r.id = i.release_id
  WHERE r.community_id = :community AND r.published_at IS NOT NULL;
