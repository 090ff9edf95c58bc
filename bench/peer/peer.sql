-- The schema `peer` that bench/peer.sh gives PostGraphile beside `public`: Postgres functions
-- that do what Canyu does where PostGraphile's generated CRUD cannot.
--
--   peer.cast_vote(user_id, suggestion_id, value)  -> mutation castVote
--       Canyu's castVote (api/src/services/votes.rs): under the suggestion's row lock, a live
--       suggestion of a community the user is an ACTIVE member of, not DUPLICATE, DECLINED or
--       SHIPPED; the same value again changes nothing; otherwise the vote row is upserted
--       (NONE is stored as NONE, as Canyu does) and upvotes, downvotes, score and hot_rank change
--       by the difference. Canyu also writes a tally_change row (stable listing cursors), the
--       sync change index and a rate-limit count, and publishes a live event: none of that here.
--       The user comes as an argument: PostGraphile checks no token.
--   peer.poll_results(poll_id)                     -> query pollResults
--       The Van Westendorp result of Canyu's pricingPoll(id) { results { vanWestendorp } }
--       (api/src/services/pricing_math.rs), from the same per-poll aggregates (pricing_tally):
--       curves on the grid of the distinct prices answered, the lowest crossing of each pair by
--       linear interpolation, rounded half-even, in minor units (the seeded poll is in JPY, whose
--       minor unit is the yen, so these are the very numbers Canyu prints). Null for a poll of
--       another method, and for a binding poll until it has closed.

DROP SCHEMA IF EXISTS peer CASCADE;
CREATE SCHEMA peer;

CREATE TYPE peer.van_westendorp AS (
  marginal_cheapness bigint,
  optimal_price bigint,
  indifference_price bigint,
  marginal_expensiveness bigint,
  valid_responses integer
);

-- Canyu's HOT key (services/suggestions.rs hot_rank).
CREATE FUNCTION peer.hot_rank(score integer, created_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT round((sign(score)::float8 * log(greatest(abs(score), 1)::float8)
                + (extract(epoch FROM created_at)::float8 - 1700000000) / 45000) * 1000000)::bigint
$$;
COMMENT ON FUNCTION peer.hot_rank(integer, timestamptz) IS E'@omit';

CREATE FUNCTION peer.cast_vote(user_id uuid, suggestion_id uuid, value text) RETURNS public.suggestion
LANGUAGE plpgsql VOLATILE STRICT AS $$
#variable_conflict use_column
DECLARE
  locked public.suggestion;
  previous text;
  up integer;
  down integer;
BEGIN
  IF cast_vote.value NOT IN ('UP', 'DOWN', 'NONE') THEN
    RAISE EXCEPTION 'value must be UP, DOWN or NONE' USING ERRCODE = '22023';
  END IF;
  SELECT s.* INTO locked FROM public.suggestion s
    WHERE s.id = cast_vote.suggestion_id AND s.deleted_at IS NULL FOR UPDATE;
  IF NOT FOUND OR NOT EXISTS (
      SELECT 1 FROM public.membership m
      WHERE m.community_id = locked.community_id AND m.user_id = cast_vote.user_id
        AND m.status = 'ACTIVE') THEN
    RAISE EXCEPTION 'suggestion not found' USING ERRCODE = 'P0002';
  END IF;
  IF locked.status IN ('DUPLICATE', 'DECLINED', 'SHIPPED') THEN
    RAISE EXCEPTION 'a % suggestion takes no votes', locked.status USING ERRCODE = '22023';
  END IF;
  SELECT v.value INTO previous FROM public.vote v
    WHERE v.suggestion_id = cast_vote.suggestion_id AND v.user_id = cast_vote.user_id;
  previous := coalesce(previous, 'NONE');
  IF previous = cast_vote.value THEN
    RETURN locked;
  END IF;
  INSERT INTO public.vote (id, suggestion_id, user_id, value, created_at, updated_at)
    VALUES (gen_random_uuid(), cast_vote.suggestion_id, cast_vote.user_id, cast_vote.value, now(), now())
    ON CONFLICT (suggestion_id, user_id)
    DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at;
  up := (cast_vote.value = 'UP')::integer - (previous = 'UP')::integer;
  down := (cast_vote.value = 'DOWN')::integer - (previous = 'DOWN')::integer;
  UPDATE public.suggestion s
    SET upvotes = s.upvotes + up,
        downvotes = s.downvotes + down,
        score = (s.upvotes + up) - (s.downvotes + down),
        hot_rank = peer.hot_rank((s.upvotes + up) - (s.downvotes + down), s.created_at)
    WHERE s.id = locked.id
    RETURNING s.* INTO locked;
  RETURN locked;
END
$$;

-- numerator / denominator to the nearest integer, ties to even; null for a zero denominator
-- (pricing_math.rs round_half_even).
CREATE FUNCTION peer.round_half_even(numerator numeric, denominator numeric) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  n numeric := CASE WHEN denominator < 0 THEN -numerator ELSE numerator END;
  d numeric := abs(denominator);
  q numeric;
  r numeric;
BEGIN
  IF d = 0 THEN
    RETURN NULL;
  END IF;
  q := div(n, d);
  r := n - q * d;
  IF r < 0 THEN
    q := q - 1;
    r := r + d;
  END IF;
  IF r < d - r OR (r = d - r AND mod(q, 2) = 0) THEN
    RETURN q;
  END IF;
  RETURN q + 1;
END
$$;
COMMENT ON FUNCTION peer.round_half_even(numeric, numeric) IS E'@omit';

-- Where the line from (p0, d0) to (p1, d1) meets zero, rounded half-even
-- (pricing_math.rs crossing): (p0·(d1 − d0) − d0·(p1 − p0)) / (d1 − d0).
CREATE FUNCTION peer.crossing(p0 numeric, p1 numeric, d0 numeric, d1 numeric) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT peer.round_half_even(p0 * (d1 - d0) - d0 * (p1 - p0), d1 - d0)
$$;
COMMENT ON FUNCTION peer.crossing(numeric, numeric, numeric, numeric) IS E'@omit';

CREATE FUNCTION peer.poll_results(poll_id uuid) RETURNS peer.van_westendorp
LANGUAGE sql STABLE STRICT AS $$
  WITH poll AS (
    SELECT p.id FROM public.pricing_poll p
    WHERE p.id = poll_results.poll_id AND p.method = 'VAN_WESTENDORP'
      AND (NOT p.binding OR p.closed_at IS NOT NULL OR p.closes_at <= now())
  ),
  per_price AS (
    SELECT t.price,
           coalesce(sum(t.ballots) FILTER (WHERE t.answer = 'TOO_CHEAP'), 0) AS tc,
           coalesce(sum(t.ballots) FILTER (WHERE t.answer = 'CHEAP'), 0) AS ch,
           coalesce(sum(t.ballots) FILTER (WHERE t.answer = 'EXPENSIVE'), 0) AS ex,
           coalesce(sum(t.ballots) FILTER (WHERE t.answer = 'TOO_EXPENSIVE'), 0) AS te
    FROM public.pricing_tally t JOIN poll ON t.poll_id = poll.id
    WHERE t.ballots <> 0 AND t.answer IN ('TOO_CHEAP', 'CHEAP', 'EXPENSIVE', 'TOO_EXPENSIVE')
    GROUP BY t.price
  ),
  total AS (SELECT coalesce(sum(tc), 0) AS n FROM per_price),
  -- Counts at most p, as running totals over the grid.
  running AS (
    SELECT price,
           sum(tc) OVER w AS tc, sum(ch) OVER w AS ch, sum(ex) OVER w AS ex, sum(te) OVER w AS te
    FROM per_price WINDOW w AS (ORDER BY price)
  ),
  -- tooCheap = n − tc, cheap = n − ch, notCheap = ch, expensive = ex, notExpensive = n − ex,
  -- tooExpensive = te; each pair's difference at every grid price.
  diffs AS (
    SELECT price,
           (n - tc) - ch AS pmc,
           (n - tc) - te AS opp,
           (n - ch) - ex AS ipp,
           te - (n - ex) AS pme
    FROM running, total
  ),
  steps AS (
    SELECT price AS p0, lead(price) OVER o AS p1,
           pmc AS pmc0, lead(pmc) OVER o AS pmc1, opp AS opp0, lead(opp) OVER o AS opp1,
           ipp AS ipp0, lead(ipp) OVER o AS ipp1, pme AS pme0, lead(pme) OVER o AS pme1
    FROM diffs WINDOW o AS (ORDER BY price)
  )
  SELECT CASE WHEN total.n = 0 THEN NULL ELSE (
           SELECT peer.crossing(p0, p1, pmc0, pmc1) FROM steps
           WHERE p1 IS NOT NULL AND sign(pmc0) <> sign(pmc1) ORDER BY p0 LIMIT 1) END,
         CASE WHEN total.n = 0 THEN NULL ELSE (
           SELECT peer.crossing(p0, p1, opp0, opp1) FROM steps
           WHERE p1 IS NOT NULL AND sign(opp0) <> sign(opp1) ORDER BY p0 LIMIT 1) END,
         CASE WHEN total.n = 0 THEN NULL ELSE (
           SELECT peer.crossing(p0, p1, ipp0, ipp1) FROM steps
           WHERE p1 IS NOT NULL AND sign(ipp0) <> sign(ipp1) ORDER BY p0 LIMIT 1) END,
         CASE WHEN total.n = 0 THEN NULL ELSE (
           SELECT peer.crossing(p0, p1, pme0, pme1) FROM steps
           WHERE p1 IS NOT NULL AND sign(pme0) <> sign(pme1) ORDER BY p0 LIMIT 1) END,
         total.n::integer
  FROM total
  WHERE EXISTS (SELECT 1 FROM poll)
$$;
