#!/usr/bin/env python3
"""Listing cost against community size: the same reads on a 10 000- and a 300 000-suggestion
database, one request at a time, in one run.

  python3 bench/scale.py [--samples 20] [--admin-url postgres://...] [--skip-build] [--skip-seed]

Seeds two Postgres databases with `canyu seed-demo` (`canyu_scale_small`: 1 000 users, 10 000
suggestions, 200 000 votes, 20 000 comments; `canyu_scale_large`: 3 000 users, 300 000
suggestions, 300 000 votes, 30 000 comments — its largest community holds about 180 000), which
analyzes what it loads; `--skip-seed` reuses them. Then, for each database in turn, starts
`target/release/canyu` (or $CANYU_BIN) on it and times, anonymously, sequentially, after three
warm-up requests, the p50 of `--samples` requests of:
  - TOP, HOT, NEW and MOST_DISCUSSED, first 20, of the largest community: page 1, and page 5
    (the request that follows page 4's `endCursor`, read fresh for each sample);
  - the listing of all communities by TOP: page 1 and page 5;
  - search "battery": in the largest community and in all communities.
Every response is checked for errors and for a full page. Prints the p50s and the targets'
ratios: page 5 ÷ page 1 (≤ 1.5), large ÷ small (≤ 1.5), search everywhere ÷ in the community
(≤ 3). Traffic goes to 127.0.0.1 only.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402

PORT = 18093
SIZES = {
    "small": ["--users", "1000", "--suggestions", "10000", "--votes", "200000", "--comments", "20000"],
    "large": ["--users", "3000", "--suggestions", "300000", "--votes", "300000", "--comments", "30000"],
}
LIST = ("query($c: ID, $sort: SuggestionSort, $search: String, $after: String) { "
        "suggestions(communityId: $c, sort: $sort, search: $search, first: 20, after: $after) { "
        "edges { node { id title score author { handle } } } pageInfo { hasNextPage endCursor } } }")


def post(variables):
    body = json.dumps({"query": LIST, "variables": variables}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/graphql", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.get("errors"):
        sys.exit(f"errors for {variables}: {answer['errors']}")
    page = answer["data"]["suggestions"]
    if len(page["edges"]) != 20:
        sys.exit(f"a short page ({len(page['edges'])}) for {variables}")
    return elapsed, page["pageInfo"]["endCursor"]


def p50(variables, samples, page):
    """The p50 in ms of the request for `page` (1-based) of the listing `variables`."""
    times = []
    for i in range(samples + 3):
        cursor = None
        for _ in range(page - 1):
            _, cursor = post({**variables, "after": cursor})
        elapsed, _ = post({**variables, "after": cursor})
        if i >= 3:
            times.append(elapsed)
    return statistics.median(times)


def measure(binary, url, samples):
    largest = common.psql(url, "SELECT community_id FROM suggestion GROUP BY community_id "
                               "ORDER BY COUNT(*) DESC LIMIT 1")
    size = common.psql(url, f"SELECT COUNT(*) FROM suggestion WHERE community_id = '{largest}'")
    server = subprocess.Popen(
        [binary, "serve"],
        env={**os.environ, "DATABASE_URL": url, "BIND_ADDR": f"127.0.0.1:{PORT}", "RUST_LOG": "warn",
             "CANYU_ENV": "production", "DATABASE_MAX_CONNECTIONS": "10",
             # The cost of computing a page is measured, not of sending one kept from before.
             "ANSWER_CACHE_BYTES": "0"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        figures = {}
        for sort in ("TOP", "HOT", "NEW", "MOST_DISCUSSED"):
            for page in (1, 5):
                figures[(sort, page)] = p50({"c": largest, "sort": sort}, samples, page)
        for page in (1, 5):
            figures[("all TOP", page)] = p50({"c": None, "sort": "TOP"}, samples, page)
        figures[("search in community", 1)] = p50({"c": largest, "search": "battery"}, samples, 1)
        figures[("search everywhere", 1)] = p50({"c": None, "search": "battery"}, samples, 1)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    return int(size), figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    binary = os.environ.get("CANYU_BIN", common.BINARY)
    base = args.admin_url.rsplit("/", 1)[0]
    if not args.skip_build and "CANYU_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "-p", "canyu"], cwd=common.ROOT, check=True)

    results = {}
    for name, sizes in SIZES.items():
        url = f"{base}/canyu_scale_{name}"
        if not args.skip_seed:
            common.psql(args.admin_url, f"DROP DATABASE IF EXISTS canyu_scale_{name} WITH (FORCE)")
            common.psql(args.admin_url, f"CREATE DATABASE canyu_scale_{name}")
            print(f"seeding {name}: {' '.join(sizes)}…", flush=True)
            seeded = common.run([binary, "seed-demo", *sizes],
                                env={**os.environ, "DATABASE_URL": url, "RUST_LOG": "warn"}).stdout
            assert re.search(r"seeded", seeded), seeded
        print(f"measuring {name}…", flush=True)
        results[name] = measure(binary, url, args.samples)

    (small_n, small), (large_n, large) = results["small"], results["large"]
    print()
    print(f"largest community: {small_n} suggestions (small), {large_n} (large); p50 of {args.samples}, ms")
    print()
    print("| read | small p50 | large p50 | large ÷ small |")
    print("|---|---|---|---|")
    for key in small:
        label = f"{key[0]} page {key[1]}" if "search" not in key[0] else key[0]
        print(f"| {label} | {small[key]:.2f} | {large[key]:.2f} | {large[key] / small[key]:.2f} |")
    print()
    print("| ratio (target) | small | large |")
    print("|---|---|---|")
    for sort in ("TOP", "HOT", "NEW", "MOST_DISCUSSED", "all TOP"):
        print(f"| {sort} page 5 ÷ page 1 (≤ 1.5) | {small[(sort, 5)] / small[(sort, 1)]:.2f} "
              f"| {large[(sort, 5)] / large[(sort, 1)]:.2f} |")
    print(f"| search everywhere ÷ in the community (≤ 3) "
          f"| {small[('search everywhere', 1)] / small[('search in community', 1)]:.2f} "
          f"| {large[('search everywhere', 1)] / large[('search in community', 1)]:.2f} |")


if __name__ == "__main__":
    main()
