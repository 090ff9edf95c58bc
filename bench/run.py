#!/usr/bin/env python3
"""Closed-loop benchmark: the release server under HTTP load (wrk) beside the same work as raw
SQL (pgbench), in one run, on one Postgres.

  python3 bench/run.py [--duration 10] [--concurrency 8,32] [--admin-url postgres://...]

Seeds a fresh database `canyu_bench` with 1 000 users, 10 000 suggestions and 200 000 votes
(`canyu seed-demo`), starts `target/release/canyu`, and measures:
  (a) the top-20 suggestions of a community with author and score (GraphQL) vs the SQL query;
  (b) castVote by many users (GraphQL) vs the raw vote upsert + counter update transaction.
Prints requests/s, p50/p99 latency and the ratio to raw SQL, and checks afterwards that every
suggestion's counters equal its vote rows. Needs wrk (Debian: apt-get install wrk) and pgbench
(ships with the PostgreSQL server package). Traffic goes to 127.0.0.1 only and is bounded in time.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

# Every client of a benchmark database (Canyu, PostGraphile, psql, pgbench) talks to it over
# loopback without TLS, as PostGraphile's node-postgres does by default: libpq and sqlx would
# otherwise negotiate TLS with a server that has ssl on (Debian's default) and pay for it on every
# round trip. A PGSSLMODE already set in the environment is kept.
os.environ.setdefault("PGSSLMODE", "disable")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
# CANYU_BIN names another build (to compare two, one after the other).
BINARY = os.environ.get("CANYU_BIN") or os.path.join(ROOT, "target", "release", "canyu")
PORT = 18090
DB = "canyu_bench"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def psql(url, sql):
    return run(["psql", url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql]).stdout.strip()


def pgbench_path():
    found = shutil.which("pgbench") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))), None)
    if not found:
        sys.exit("pgbench not found (install the PostgreSQL server package)")
    return found


def graphql(query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/graphql", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wrk(script, concurrency, duration, env):
    out = run(
        ["wrk", f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", os.path.join(BENCH, script),
         f"http://127.0.0.1:{PORT}/graphql"],
        env={**os.environ, **env},
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = int(re.search(r"BAD_RESPONSES (\d+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)

    def percentile(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": rps,
        "p50": percentile(50),
        "p99": percentile(99),
        "bad": bad + (int(errors.group(1)) if errors else 0),
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def pgbench(url, script, concurrency, duration, defines):
    logdir = tempfile.mkdtemp(prefix="pgbench-")
    cmd = [pgbench_path(), "-n", f"-c{concurrency}", f"-j{min(2, concurrency)}", f"-T{duration}", "-f", os.path.join(BENCH, script),
           "-l", f"--log-prefix={logdir}/log"]
    for key, value in defines.items():
        cmd += ["-D", f"{key}={value}"]
    out = run(cmd + [url]).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    latencies = []
    for path in glob.glob(f"{logdir}/log*"):
        with open(path) as f:
            latencies += [int(line.split()[2]) / 1000.0 for line in f if line.strip()]
    shutil.rmtree(logdir, ignore_errors=True)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"rps": tps, "p50": q[49], "p99": q[98], "bad": int(failed.group(1)) if failed else 0}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    base = args.admin_url.rsplit("/", 1)[0]
    url = f"{base}/{DB}"

    if not args.skip_build:
        print("building the release binary…", flush=True)
        subprocess.run(["cargo", "build", "--release", "-p", "canyu"], cwd=ROOT, check=True)
    psql(args.admin_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(args.admin_url, f"CREATE DATABASE {DB}")
    env = {**os.environ, "DATABASE_URL": url, "RUST_LOG": "warn"}
    print("seeding 1 000 users, 10 000 suggestions, 200 000 votes…", flush=True)
    seeded = run([BINARY, "seed-demo", "--users", "1000", "--suggestions", "10000", "--votes", "200000",
                  "--comments", "0"], env=env).stdout
    print(seeded.strip())
    community = re.search(r"community aurora-phones: (\S+)", seeded).group(1)
    psql(url, "CREATE TABLE bench_user AS SELECT row_number() OVER (ORDER BY id) AS n, id, handle "
              "FROM \"user\" WHERE handle LIKE 'fan%'; CREATE UNIQUE INDEX ON bench_user (n)")
    psql(url, "CREATE TABLE bench_suggestion AS SELECT row_number() OVER (ORDER BY id) AS n, id "
              f"FROM suggestion WHERE community_id = '{community}' "
              "AND status IN ('OPEN','UNDER_REVIEW','PLANNED','IN_PROGRESS'); "
              "CREATE UNIQUE INDEX ON bench_suggestion (n); ANALYZE")
    users = int(psql(url, "SELECT COUNT(*) FROM bench_user"))
    open_suggestions = int(psql(url, "SELECT COUNT(*) FROM bench_suggestion"))

    server = subprocess.Popen(
        [BINARY, "serve"],
        env={**env, "BIND_ADDR": f"127.0.0.1:{PORT}", "DATABASE_MAX_CONNECTIONS": "32",
             "ACCESS_TOKEN_TTL_SECS": "3600", "CANYU_ENV": "production",
             # The cost of computing the listing is measured, not of sending an answer kept.
             "ANSWER_CACHE_BYTES": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    results = {}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        work = tempfile.mkdtemp(prefix="canyu-bench-")
        handles = psql(url, "SELECT handle FROM bench_user ORDER BY n LIMIT 200").split("\n")
        tokens = []
        for handle in handles:
            body = graphql("mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }",
                           {"i": {"handle": handle, "password": "canyu-demo-password"}})
            tokens.append(body["data"]["logIn"]["accessToken"])
        with open(f"{work}/tokens", "w") as f:
            f.write("\n".join(tokens))
        with open(f"{work}/suggestions", "w") as f:
            f.write(psql(url, "SELECT id FROM bench_suggestion ORDER BY n"))

        for c in levels:
            print(f"(a) top-20, concurrency {c}…", flush=True)
            results[("a", "api", c)] = wrk("top20.lua", c, args.duration, {"COMMUNITY_ID": community})
            results[("a", "sql", c)] = pgbench(url, "top20.sql", c, args.duration, {"community": f"'{community}'"})
        for c in levels:
            print(f"(b) castVote, concurrency {c}…", flush=True)
            results[("b", "api", c)] = wrk("vote.lua", c, args.duration,
                                           {"TOKENS_FILE": f"{work}/tokens", "SUGGESTIONS_FILE": f"{work}/suggestions"})
        mismatched = psql(url, """
            SELECT COUNT(*) FROM suggestion s
            LEFT JOIN (SELECT suggestion_id,
                              COUNT(*) FILTER (WHERE value = 'UP') AS up,
                              COUNT(*) FILTER (WHERE value = 'DOWN') AS down
                       FROM vote GROUP BY suggestion_id) v ON v.suggestion_id = s.id
            WHERE s.upvotes <> COALESCE(v.up, 0) OR s.downvotes <> COALESCE(v.down, 0)
               OR s.score <> s.upvotes - s.downvotes""")
        duplicates = psql(url, "SELECT COUNT(*) FROM (SELECT 1 FROM vote GROUP BY suggestion_id, user_id "
                               "HAVING COUNT(*) > 1) d")
        votes = psql(url, "SELECT COUNT(*) FROM vote")
        # The raw transactions bump counters without reading the vote first: run them last.
        for c in levels:
            results[("b", "sql", c)] = pgbench(url, "vote.sql", c, args.duration,
                                               {"users": users, "suggestions": open_suggestions})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)

    names = {"a": "(a) top-20 of a community", "b": "(b) castVote"}
    print()
    print(f"{'scenario':28} {'conc':>4} {'API req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'SQL tx/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}")
    for s in ("a", "b"):
        for c in levels:
            api, sql = results[(s, "api", c)], results[(s, "sql", c)]
            print(f"{names[s]:28} {c:>4} {api['rps']:>10.0f} {api['p50']:>7.2f} {api['p99']:>7.2f} {api['bad']:>6} "
                  f"{sql['rps']:>9.0f} {sql['p50']:>7.2f} {sql['p99']:>7.2f} {api['rps'] / sql['rps']:>6.2f}")
    print()
    print(f"after the castVote runs: {votes} vote rows, {mismatched} suggestions whose counters differ "
          f"from their rows, {duplicates} duplicate (suggestion, user) pairs")
    if mismatched != "0" or duplicates != "0":
        sys.exit("counters do not match the vote rows")


if __name__ == "__main__":
    main()
