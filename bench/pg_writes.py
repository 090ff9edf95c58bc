#!/usr/bin/env python3
"""castVote on Postgres: two Canyu binaries side by side, with the raw transaction as the floor.

    CANYU_BIN=target/release/canyu python3 bench/pg_writes.py --baseline OTHER_BINARY
        [--duration 10] [--rounds 2]

Uses the database bench/peer.sh seeds (canyu_peer: seed-demo 1 000 fans, 10 000 suggestions,
200 000 votes, 20 000 comments, and the bench schema of voters and target suggestions); seeds
it the same way when it is missing. For each concurrency (8 and 32) alternates, --rounds times:
the baseline binary, then $CANYU_BIN (default target/release/canyu), each started alone on the
database with bench/peer.sh's settings (CANYU_ENV=production, pool 10, the mutation rate limit
raised), castVote by 200 signed-in fans on random target suggestions with random values
(bench/peer/vote.lua) for --duration seconds after a 3 s warm-up, every response checked; then
the same vote's raw SQL (bench/peer/w2.sql, on the third set of targets) through
pgbench -M prepared. Afterwards it checks
that every voted suggestion's counters equal its vote rows. Prints one markdown table with each
binary's ratio to the other and to the raw transaction; all traffic goes to 127.0.0.1 and is
bounded in time (about 3 minutes with the defaults, after the seed).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402
import replicas  # noqa: E402
import run as common  # noqa: E402

LEVELS = (8, 32)
PORT = 18195


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the Canyu binary to compare with")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (after a 3 s warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="baseline-candidate-raw alternations per concurrency")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for binary in (args.baseline, peer.BINARY):
        if not os.access(binary, os.X_OK):
            peer.fail(f"no Canyu binary at {binary}")
    if not shutil.which("wrk"):
        peer.fail("wrk not found (Debian: apt-get install wrk)")
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{peer.DB}"
    if not replicas.seeded(args.admin_url, url):
        print("seeding canyu_peer as bench/peer.sh does…", flush=True)
        peer.seed_postgres(args.admin_url, url)
    since = common.psql(url, "SELECT now()")
    voters = [line.split("|") for line in common.psql(url, "SELECT id, handle FROM bench.voter ORDER BY n")
              .splitlines()]
    targets = common.psql(url, "SELECT id FROM bench.target WHERE set_no = 0 ORDER BY n").splitlines()
    raw = {"users": len(voters),
           "suggestions": int(common.psql(url, "SELECT COUNT(*) FROM bench.target WHERE set_no = 2"))}
    work = tempfile.mkdtemp(prefix="canyu-pg-writes-")
    try:
        handles = [h for _, h in voters]
        files = {"targets": peer.write_lines(work, "targets", targets)}
        rows = []
        for c in LEVELS:
            for r in range(1, args.rounds + 1):
                results = []
                for label, binary in (("baseline", args.baseline), ("candidate", peer.BINARY)):
                    print(f"{peer.clock()}c={c} round {r}: {label}…", end="", flush=True)
                    results.append(peer.vote_cell(binary, f"Canyu {label}", url, PORT, files, handles, c,
                                                  args.duration, work))
                    print(f" {results[-1]['rps']:,.0f} req/s", flush=True)
                print(f"{peer.clock()}c={c} round {r}: raw SQL…", end="", flush=True)
                results.append(peer.pgbench(url, os.path.join(peer.PEER, "w2.sql"), c, args.duration, raw))
                print(f" {results[-1]['rps']:,.0f} tx/s", flush=True)
                rows.append((c, r, results))
        counters = peer.pg_counters(url, 0, since)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"castVote on Postgres ({peer.DB}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{args.duration} s a cell after a {peer.WARMUP} s warm-up")
    print(f"- baseline: {args.baseline}; candidate: {peer.BINARY}")
    print()
    print("| conc. | round | baseline req/s | p50 ms | p99 ms | errors | candidate req/s | p50 ms | p99 ms "
          "| errors | raw tx/s | candidate ÷ baseline | baseline ÷ raw | candidate ÷ raw |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c, r, (a, b, raw) in rows:
        print(f"| {c} | {r} | {a['rps']:,.0f} | {a['p50']:.2f} | {a['p99']:.1f} | {a['errors']} "
              f"| {b['rps']:,.0f} | {b['p50']:.2f} | {b['p99']:.1f} | {b['errors']} | {raw['rps']:,.0f} "
              f"| {b['rps'] / a['rps']:.2f} | {a['rps'] / raw['rps']:.2f} | {b['rps'] / raw['rps']:.2f} |")
    print()
    print(f"After the runs: {peer.counters_text(counters)}")
    if counters["mismatched"] or counters["duplicates"] or any(
            a["errors"] or b["errors"] or raw["errors"] for _, _, (a, b, raw) in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
