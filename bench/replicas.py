#!/usr/bin/env python3
"""castVote through one Canyu replica and through two on the same Postgres database.

    python3 bench/replicas.py [--duration 10] [--rounds 2]

Uses the database bench/peer.sh seeds (canyu_peer: seed-demo 1 000 fans, 10 000 suggestions,
200 000 votes, 20 000 comments, and the bench schema of voters and target suggestions); seeds
it the same way when it is missing. Starts two release servers (CANYU_ENV=production, pool 10
each, the mutation rate limit raised as in bench/peer.sh), signs 200 fans in, and for each
concurrency (8 and 32) alternates, --rounds times: one replica taking all the connections,
then both replicas taking half each at the same moment (two wrk processes), every response
checked. During every cell it samples what the database's active backends wait on
(pg_stat_activity every 50 ms). Afterwards it checks that every voted suggestion's counters
equal its vote rows. Prints one markdown table; all traffic goes to 127.0.0.1 and is bounded
in time (about 2 minutes with the defaults, after the seed).
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402
import run as common  # noqa: E402

PORTS = (18193, 18194)
LEVELS = (8, 32)


def seeded(admin_url, url):
    """Whether canyu_peer holds bench/peer.sh's seed."""
    found = common.psql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{peer.DB}'")
    return found == "1" and common.psql(url, "SELECT to_regclass('bench.voter') IS NOT NULL") == "t"


def cell(servers, concurrency, duration, env, url):
    """castVote spread over `servers` (the connections split evenly), after a warm-up: the
    summed requests/s, the worst p99, the errors and the database's waits."""
    share = concurrency // len(servers)
    # Each wrk process draws its own random sequence (WRK_PROCESS, bench/peer/vote.lua).
    envs = [{**env, "WRK_PROCESS": str(n)} for n in range(len(servers))]
    for proc in [peer.wrk_start(s.url, "vote.lua", share, peer.WARMUP, e) for s, e in zip(servers, envs)]:
        peer.wrk_finish(proc)
    sampler = peer.WaitSampler(url)
    try:
        results = [peer.wrk_finish(p) for p in [peer.wrk_start(s.url, "vote.lua", share, duration, e)
                                                for s, e in zip(servers, envs)]]
    finally:
        waits = sampler.stop()
    return {"rps": sum(r["rps"] for r in results), "p99": max(r["p99"] for r in results),
            "errors": sum(r["errors"] for r in results), "waits": waits}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (after a 3 s warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="one-then-two alternations per concurrency")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not os.access(peer.BINARY, os.X_OK):
        peer.fail(f"no Canyu binary at {peer.BINARY}: cargo build --release -p canyu, or set CANYU_BIN")
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{peer.DB}"
    if not seeded(args.admin_url, url):
        print("seeding canyu_peer as bench/peer.sh does…", flush=True)
        peer.seed_postgres(args.admin_url, url)
    since = common.psql(url, "SELECT now()")
    work = tempfile.mkdtemp(prefix="canyu-replicas-")
    servers = []
    try:
        for n, port in enumerate(PORTS):
            env = peer.canyu_env(url, {**peer.CANYU_SETTINGS, "BIND_ADDR": f"127.0.0.1:{port}"})
            servers.append(peer.Server(f"Canyu replica {n + 1}", [peer.BINARY, "serve"], env, port, work).start())
        voters = [line.split("|") for line in common.psql(url, "SELECT id, handle FROM bench.voter ORDER BY n")
                  .splitlines()]
        print(f"signing in {len(voters)} fans…", flush=True)
        tokens = peer.sign_in(servers[0], [h for _, h in voters])
        targets = common.psql(url, "SELECT id FROM bench.target WHERE set_no = 0 ORDER BY n").splitlines()
        env = {"MODE": "canyu", "ACTORS_FILE": peer.write_lines(work, "tokens", tokens),
               "SUGGESTIONS_FILE": peer.write_lines(work, "targets", targets)}
        rows = []
        for concurrency in LEVELS:
            for round_no in range(args.rounds):
                for count in (1, 2):
                    print(f"c={concurrency} round {round_no + 1}: {count} replica(s)…", end="", flush=True)
                    result = cell(servers[:count], concurrency, args.duration, env, url)
                    print(f" {result['rps']:,.0f} req/s", flush=True)
                    for server in servers:
                        server.require_alive()
                    rows.append((concurrency, round_no + 1, count, result))
        counters = peer.pg_counters(url, 0, since)
    finally:
        for server in servers:
            server.stop()

    print()
    print(f"castVote on one Postgres database ({peer.DB}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{args.duration} s a cell after a {peer.WARMUP} s warm-up, release binary {peer.BINARY}")
    print()
    print("| conc. | round | replicas | req/s | p99 ms | errors | two ÷ one | database waits (share of samples) |")
    print("|--:|--:|--:|--:|--:|--:|--:|---|")
    one = {}
    for concurrency, round_no, count, result in rows:
        if count == 1:
            one[(concurrency, round_no)] = result["rps"]
        ratio = f"{result['rps'] / one[(concurrency, round_no)]:.2f}" if count == 2 else "–"
        print(f"| {concurrency} | {round_no} | {count} | {result['rps']:,.0f} | {result['p99']:.1f} | "
              f"{result['errors']} | {ratio} | {peer.waits_text(result['waits'])} |")
    print()
    print(f"After the runs: {peer.counters_text(counters)}")
    if counters["mismatched"] or counters["duplicates"] or any(r[3]["errors"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
