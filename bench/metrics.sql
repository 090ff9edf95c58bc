-- pgbench: the statements communityMetrics sends for a community's all-time figures, with the
-- community bound — the floor the API is measured against. The kinds and statuses come from
-- the figures kept on write, the median from a walk of the answered suggestions in order of
-- their time (the offset and limit of the middle rows are the API's, from the answered count).
BEGIN READ ONLY;
SELECT kind, status, CAST(SUM(suggestions) AS BIGINT), CAST(SUM(responded) AS BIGINT),
       CAST(SUM(response_ms) AS BIGINT), CAST(SUM(resolved) AS BIGINT),
       CAST(SUM(resolution_ms) AS BIGINT)
  FROM metric_day WHERE community_id = :community GROUP BY kind, status;
SELECT COUNT(*), CAST(SUM(ms) AS BIGINT) FROM (
  SELECT first_response_ms AS ms FROM suggestion
  WHERE community_id = :community AND deleted_at IS NULL AND first_response_ms IS NOT NULL
  ORDER BY first_response_ms LIMIT :limit OFFSET :offset) m;
SELECT COUNT(*), CAST(SUM(suggestions) AS BIGINT) FROM (
  SELECT suggestions FROM metric_author WHERE community_id = :community AND suggestions > 0
  ORDER BY suggestions DESC LIMIT 100) t;
SELECT COUNT(*), SUM(CASE WHEN i.suggestion_id IS NOT NULL THEN 1 ELSE 0 END)
  FROM release_item i JOIN release r ON r.id = i.release_id
  WHERE r.community_id = :community AND r.published_at IS NOT NULL;
COMMIT;
