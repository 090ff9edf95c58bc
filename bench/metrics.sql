-- pgbench: the aggregates behind communityMetrics as plain SQL — the statements the API sends,
-- with the community bound — the floor the API is measured against.
SELECT kind, status, COUNT(*), SUM(CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END),
       CAST(SUM(CAST(ROUND(EXTRACT(EPOCH FROM (first_response_at - created_at)) * 1000) AS BIGINT)) AS BIGINT),
       SUM(CASE WHEN resolved_at IS NOT NULL THEN 1 ELSE 0 END),
       CAST(SUM(CAST(ROUND(EXTRACT(EPOCH FROM (resolved_at - created_at)) * 1000) AS BIGINT)) AS BIGINT)
  FROM suggestion WHERE community_id = :community AND deleted_at IS NULL GROUP BY kind, status;
SELECT COUNT(*), CAST(SUM(ms) AS BIGINT) FROM (
  SELECT ms, ROW_NUMBER() OVER (ORDER BY ms) AS rn, COUNT(*) OVER () AS c FROM (
    SELECT CAST(ROUND(EXTRACT(EPOCH FROM (first_response_at - created_at)) * 1000) AS BIGINT) AS ms
    FROM suggestion WHERE community_id = :community AND deleted_at IS NULL
    AND first_response_at IS NOT NULL) d) r
  WHERE rn = (c + 1) / 2 OR rn = (c + 2) / 2;
SELECT COUNT(*), CAST(SUM(authored) AS BIGINT) FROM (
  SELECT COUNT(*) AS authored FROM suggestion WHERE community_id = :community AND deleted_at IS NULL
  GROUP BY author_id ORDER BY COUNT(*) DESC LIMIT 100) t;
SELECT COUNT(*), SUM(CASE WHEN i.suggestion_id IS NOT NULL THEN 1 ELSE 0 END)
  FROM release_item i JOIN release r ON r.id = i.release_id
  WHERE r.community_id = :community AND r.published_at IS NOT NULL;
