#!/usr/bin/env python3
"""Pricing-poll results benchmark: a Van Westendorp poll with 100 000 ballots on Postgres.

  python3 bench/pricing.py [--duration 10] [--ballots 100000] [--skip-build]

Seeds a fresh database `canyu_bench_pricing` with a public community, one member per ballot, a
poll, its ballots (whole-yen answers, ordered) and the per-poll aggregates built from them (what
`castBallot` maintains one ballot at a time), starts `target/release/canyu`, and measures
`pricingPoll(id) { ballotCount results { vanWestendorp { … } } }` through the API (wrk) against
the recomputation of the same curves from the ballots as SQL (pgbench), in the same run.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402

DB = "canyu_bench_pricing"

SEED = """
INSERT INTO "user" (id, handle, display_name, password_hash, role, token_version, created_at, updated_at)
  SELECT gen_random_uuid(), 'voter' || g, 'Voter ' || g, 'x', 'MEMBER', 0, now(), now()
  FROM generate_series(1, {n}) g;
INSERT INTO "user" (id, handle, display_name, password_hash, role, token_version, created_at, updated_at)
  VALUES ('00000000-0000-7000-8000-000000000001', 'bench_staff', 'Staff', 'x', 'STAFF', 0, now(), now());
INSERT INTO community (id, slug, name, description, visibility, member_count, created_by, created_at, updated_at)
  VALUES ('00000000-0000-7000-8000-0000000000c1', 'bench', 'Bench', '', 'PUBLIC', {n},
          '00000000-0000-7000-8000-000000000001', now() - interval '2 days', now());
INSERT INTO membership (id, community_id, user_id, role, status, joined_at, created_at)
  SELECT gen_random_uuid(), '00000000-0000-7000-8000-0000000000c1', id, 'MEMBER', 'ACTIVE',
         now() - interval '2 days', now() - interval '2 days'
  FROM "user" WHERE handle LIKE 'voter%';
INSERT INTO pricing_poll (id, community_id, product_name, description, currency, method, price_points,
                          opens_at, closes_at, binding, ballot_count, eligibility_taken, created_by, created_at)
  VALUES ('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000c1', 'Aurora 9',
          '', 'JPY', 'VAN_WESTENDORP', '', now() - interval '1 day', now() + interval '1 day', false,
          {n}, false, '00000000-0000-7000-8000-000000000001', now());
INSERT INTO pricing_ballot (id, poll_id, user_id, too_cheap, cheap, expensive, too_expensive, created_at, updated_at)
  SELECT gen_random_uuid(), '00000000-0000-7000-8000-0000000000b1', u.id, a, a + b, a + b + c, a + b + c + d, now(), now()
  FROM (SELECT id, 100 + (random() * 300)::int AS a, 1 + (random() * 200)::int AS b,
               1 + (random() * 200)::int AS c, 1 + (random() * 300)::int AS d
        FROM "user" WHERE handle LIKE 'voter%') u;
INSERT INTO pricing_tally (poll_id, answer, price, ballots)
  SELECT poll_id, 'TOO_CHEAP', too_cheap, COUNT(*) FROM pricing_ballot GROUP BY poll_id, too_cheap
  UNION ALL SELECT poll_id, 'CHEAP', cheap, COUNT(*) FROM pricing_ballot GROUP BY poll_id, cheap
  UNION ALL SELECT poll_id, 'EXPENSIVE', expensive, COUNT(*) FROM pricing_ballot GROUP BY poll_id, expensive
  UNION ALL SELECT poll_id, 'TOO_EXPENSIVE', too_expensive, COUNT(*) FROM pricing_ballot GROUP BY poll_id, too_expensive;
ANALYZE;
"""

POLL = "00000000-0000-7000-8000-0000000000b1"
QUERY = ("query($p: ID!) { pricingPoll(id: $p) { ballotCount results { vanWestendorp "
         "{ marginalCheapness optimalPrice indifferencePrice marginalExpensiveness validResponses } } } }")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{DB}"
    root = common.ROOT
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "canyu"], cwd=root, check=True)
    common.psql(args.admin_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    common.psql(args.admin_url, f"CREATE DATABASE {DB}")
    env = {**os.environ, "DATABASE_URL": url, "RUST_LOG": "warn"}
    common.run([common.BINARY, "migrate"], env=env)
    print(f"seeding a Van Westendorp poll with {args.ballots} ballots…", flush=True)
    common.psql(url, SEED.format(n=args.ballots))

    server = subprocess.Popen(
        [common.BINARY, "serve"],
        env={**env, "BIND_ADDR": f"127.0.0.1:{common.PORT}", "DATABASE_MAX_CONNECTIONS": "16",
             # The cost of computing the results is measured, not of sending an answer kept.
             "CANYU_ENV": "production", "ANSWER_CACHE_BYTES": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    rows = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{common.PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        answer = common.graphql(QUERY, {"p": POLL})
        print("API answer:", json.dumps(answer["data"]["pricingPoll"]))
        for c in (1, 8):
            api = common.wrk("poll_results.lua", c, args.duration, {"POLL_ID": POLL})
            sql = common.pgbench(url, "recompute.sql", c, args.duration, {"poll": f"'{POLL}'"})
            rows.append((c, api, sql))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    print()
    print(f"{'conc':>4} {'API req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'recompute tx/s':>15} {'p50 ms':>7} {'p99 ms':>7} {'p50 ratio':>9}")
    for c, api, sql in rows:
        print(f"{c:>4} {api['rps']:>10.0f} {api['p50']:>7.2f} {api['p99']:>7.2f} {api['bad']:>6} "
              f"{sql['rps']:>15.1f} {sql['p50']:>7.2f} {sql['p99']:>7.2f} {sql['p50'] / api['p50']:>9.1f}x")


if __name__ == "__main__":
    main()
