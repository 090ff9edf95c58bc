-- pgbench: W2's floor, castVote's writes as raw SQL in one transaction: lock the suggestion,
-- read the voter's previous vote, and only when the value changes upsert the row and move
-- upvotes, downvotes and score by the difference (set semantics, as castVote: the counters keep
-- equal to the rows). Voters are bench.voter's, suggestions bench.target's set 2 (the third of
-- the open suggestions that neither server votes on); values UP, UP, DOWN, NONE as the wrk runs.
\set u random(1, :users)
\set s random(1, :suggestions)
\set v random(1, 4)
BEGIN;
SELECT s.id FROM suggestion s
  WHERE s.id = (SELECT id FROM bench.target WHERE set_no = 2 AND n = :s) AND s.deleted_at IS NULL
  FOR UPDATE;
WITH arg AS (
  SELECT (SELECT id FROM bench.target WHERE set_no = 2 AND n = :s) AS sid,
         (SELECT id FROM bench.voter WHERE n = :u) AS uid,
         (ARRAY['UP', 'UP', 'DOWN', 'NONE'])[:v] AS val
), prev AS (
  SELECT arg.*, coalesce((SELECT v.value FROM vote v WHERE v.suggestion_id = arg.sid AND v.user_id = arg.uid),
                         'NONE') AS was
  FROM arg
), written AS (
  INSERT INTO vote (id, suggestion_id, user_id, value, created_at, updated_at)
  SELECT gen_random_uuid(), sid, uid, val, now(), now() FROM prev WHERE was <> val
  ON CONFLICT (suggestion_id, user_id) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
)
UPDATE suggestion s
  SET upvotes = s.upvotes + d.up, downvotes = s.downvotes + d.down, score = s.score + d.up - d.down
  FROM (SELECT sid, (val = 'UP')::int - (was = 'UP')::int AS up,
               (val = 'DOWN')::int - (was = 'DOWN')::int AS down
        FROM prev WHERE was <> val) d
  WHERE s.id = d.sid;
END;
