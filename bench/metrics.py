#!/usr/bin/env python3
"""Loop-metrics benchmark: `communityMetrics` on a community of 100 000 suggestions, Postgres.

  python3 bench/metrics.py [--duration 10] [--suggestions 100000] [--skip-build]

Seeds a fresh database `canyu_bench_metrics` with one public community of N suggestions by
3 000 authors (every kind and status; half answered officially, the shipped and declined ones
resolved) with the figures the services keep on write (`metric_day`, `metric_author`, the
times in milliseconds) and 50 published releases of 10 items (6 linked), vacuums and analyzes
it (what autovacuum, off on this machine, would have done), starts
`target/release/canyu`, and measures `communityMetrics(communityId)` through the API as a STAFF
user (wrk) beside the same aggregates as plain SQL (pgbench, bench/metrics.sql), alternating,
at concurrency 1 and 8. Prints requests/s, p50 and p99 of both and the p50 ratio.
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

DB = "canyu_bench_metrics"
COMMUNITY = "00000000-0000-7000-8000-0000000000c1"

SEED = """
INSERT INTO "user" (id, handle, display_name, password_hash, role, token_version, created_at, updated_at)
  SELECT md5('author' || g)::uuid, 'author' || g, 'Author ' || g, 'x', 'MEMBER', 0, now(), now()
  FROM generate_series(1, 3000) g;
INSERT INTO community (id, slug, name, description, visibility, member_count, created_by, created_at, updated_at)
  VALUES ('{community}', 'bench', 'Bench', '', 'PUBLIC', 3000, md5('author1')::uuid,
          now() - interval '90 days', now());
INSERT INTO suggestion (id, community_id, author_id, kind, title, body, status, upvotes, downvotes, score,
                        comment_count, hot_rank, first_response_at, resolved_at, created_at, updated_at)
  SELECT md5('s' || g)::uuid, '{community}',
         md5('author' || (1 + (g * 7919) % 3000 * (g % 3 + 1) % 3000))::uuid,
         (ARRAY['IDEA', 'COMPLAINT', 'BUG'])[1 + g % 3], 'Suggestion ' || g, '',
         (ARRAY['OPEN', 'OPEN', 'OPEN', 'UNDER_REVIEW', 'PLANNED', 'IN_PROGRESS', 'SHIPPED', 'DECLINED',
                'DUPLICATE', 'OPEN'])[1 + g % 10],
         0, 0, 0, 0, 0,
         CASE WHEN g % 2 = 0 THEN t + make_interval(secs => 60 + (g * 37) % 86400) END,
         CASE WHEN g % 10 IN (6, 7) THEN t + make_interval(secs => 3600 + (g * 101) % 2592000) END,
         t, t
  FROM (SELECT g, now() - make_interval(secs => (g * 53) % 7776000) AS t
        FROM generate_series(1, {n}) g) s;
UPDATE suggestion SET
  first_response_ms = CAST(ROUND(EXTRACT(EPOCH FROM (first_response_at - created_at)) * 1000) AS BIGINT),
  resolution_ms = CAST(ROUND(EXTRACT(EPOCH FROM (resolved_at - created_at)) * 1000) AS BIGINT);
INSERT INTO metric_day (community_id, day, kind, status, suggestions, responded, response_ms, resolved, resolution_ms)
  SELECT community_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), kind, status, COUNT(*),
         COUNT(first_response_ms), COALESCE(SUM(first_response_ms), 0), COUNT(resolution_ms),
         COALESCE(SUM(resolution_ms), 0)
  FROM suggestion WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4;
INSERT INTO metric_author (community_id, author_id, suggestions)
  SELECT community_id, author_id, COUNT(*) FROM suggestion WHERE deleted_at IS NULL GROUP BY 1, 2;
INSERT INTO release (id, community_id, version, notes, published_at, created_by, created_at)
  SELECT md5('r' || r)::uuid, '{community}', 'v' || r, '', now() - make_interval(days => r),
         md5('author1')::uuid, now() - make_interval(days => r)
  FROM generate_series(1, 50) r;
INSERT INTO release_item (release_id, position, title, suggestion_id)
  SELECT md5('r' || r)::uuid, p, 'Item ' || p,
         CASE WHEN p < 6 THEN md5('s' || (r * 10 + p) * 10 + 6)::uuid END
  FROM generate_series(1, 50) r, generate_series(0, 9) p;
"""

QUERY = ("query($c: ID!) { communityMetrics(communityId: $c) { suggestionCount byKind { kind count } "
         "byStatus { status count } replyRate complaintReplyRate medianFirstResponseSeconds "
         "meanFirstResponseSeconds meanResolutionSeconds adoptionRate topContributorShare "
         "userSourcedReleaseShare } }")


def staff_token():
    handle, password = "bench_staff", "bench staff password"
    common.graphql(
        "mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }",
        {"i": {"handle": handle, "password": password, "displayName": "Staff"}},
    )
    return handle, password


def log_in(handle, password):
    answer = common.graphql(
        "mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }",
        {"i": {"handle": handle, "password": password}},
    )
    return answer["data"]["logIn"]["accessToken"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--suggestions", type=int, default=100_000)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{DB}"
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "canyu"], cwd=common.ROOT, check=True)
    common.psql(args.admin_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    common.psql(args.admin_url, f"CREATE DATABASE {DB}")
    env = {**os.environ, "DATABASE_URL": url, "RUST_LOG": "warn"}
    common.run([common.BINARY, "migrate"], env=env)
    print(f"seeding a community of {args.suggestions} suggestions…", flush=True)
    common.psql(url, SEED.format(n=args.suggestions, community=COMMUNITY))
    common.psql(url, "VACUUM ANALYZE")

    server = subprocess.Popen(
        [common.BINARY, "serve"],
        env={**env, "BIND_ADDR": f"127.0.0.1:{common.PORT}", "DATABASE_MAX_CONNECTIONS": "10",
             # The cost of computing the metrics is measured, not of sending an answer kept.
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
        handle, password = staff_token()
        common.psql(url, f"UPDATE \"user\" SET role = 'STAFF' WHERE handle = '{handle}'")
        token = log_in(handle, password)
        answer = common.graphql(QUERY, {"c": COMMUNITY}, token)
        if answer.get("errors"):
            sys.exit(f"the API refused the query: {answer['errors']}")
        print("API answer:", json.dumps(answer["data"]["communityMetrics"]))
        # Every even-numbered suggestion of the seed is answered.
        answered = args.suggestions // 2
        for c in (1, 8):
            api = common.wrk("metrics.lua", c, args.duration, {"COMMUNITY_ID": COMMUNITY, "TOKEN": token})
            sql = common.pgbench(url, "metrics.sql", c, args.duration, {
                "community": f"'{COMMUNITY}'", "offset": str((answered - 1) // 2),
                "limit": str(2 - answered % 2)})
            rows.append((c, api, sql))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    print()
    print(f"{'conc':>4} {'API req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'SQL tx/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'API/SQL p50':>11}")
    for c, api, sql in rows:
        print(f"{c:>4} {api['rps']:>10.1f} {api['p50']:>7.2f} {api['p99']:>7.2f} {api['bad']:>6} "
              f"{sql['rps']:>9.1f} {sql['p50']:>7.2f} {sql['p99']:>7.2f} {api['p50'] / sql['p50']:>10.2f}x")


if __name__ == "__main__":
    main()
