-- pgbench: the raw vote write — upsert the vote row and bump the counters in one transaction.
\set u random(1, :users)
\set s random(1, :suggestions)
BEGIN;
INSERT INTO vote (id, suggestion_id, user_id, value, created_at, updated_at)
  SELECT gen_random_uuid(), bs.id, bu.id, 'UP', now(), now()
  FROM bench_suggestion bs, bench_user bu WHERE bs.n = :s AND bu.n = :u
  ON CONFLICT (suggestion_id, user_id) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
UPDATE suggestion SET upvotes = upvotes + 1, score = score + 1
  WHERE id = (SELECT id FROM bench_suggestion WHERE n = :s);
END;
