#!/usr/bin/env python3
"""castVote on the embedded SQLite database: two Canyu binaries side by side, on one seeded file.

    CANYU_BIN=target/release/canyu python3 bench/sqlite_writes.py --baseline OTHER_BINARY
        [--duration 10] [--rounds 2]

Seeds a SQLite file with bench/peer.sh's sizes (seed-demo 1 000 fans, 10 000 suggestions,
200 000 votes, 20 000 comments; ANALYZE), then for each concurrency (8 and 32) alternates,
--rounds times: the baseline binary, then $CANYU_BIN (default target/release/canyu), each
started on the same file with bench/peer.sh's settings (CANYU_ENV=production, pool 10, the
mutation rate limit raised), 200 fans signed in, castVote on random open suggestions of the
largest community with random values (bench/peer/vote.lua) for --duration seconds after a 3 s
warm-up, every response checked. Afterwards it checks that every suggestion's counters equal its
vote rows and that no (suggestion, user) pair is stored twice. Prints one markdown table with
each pair's ratio; all traffic goes to 127.0.0.1 and is bounded in time (about 3 minutes with
the defaults, after a minute of seeding).
"""

import argparse
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402

LEVELS = (8, 32)


def seeded(work):
    """A seeded, analyzed file; the largest community's open suggestions and the fans."""
    path = os.path.join(work, "canyu.db")
    seed = peer.seed_sqlite_start(path)
    out, err = seed.communicate()
    if seed.returncode != 0:
        peer.fail(f"seed-demo on SQLite failed:\n{out}\n{err}")
    community = dict(re.findall(r"community (\S+): (\S+)", out))["aurora-phones"]
    db = sqlite3.connect(path)
    db.execute("ANALYZE")
    db.commit()
    open_ids = [peer.as_uuid(r[0]) for r in db.execute(
        f"SELECT id FROM suggestion WHERE community_id = ? AND deleted_at IS NULL AND status IN {peer.OPEN} "
        "ORDER BY id", (uuid.UUID(community).bytes,))]
    handles = [r[0] for r in db.execute(
        f"SELECT handle FROM user WHERE handle LIKE 'fan%' ORDER BY handle LIMIT {peer.USERS}")]
    db.close()
    return path, open_ids, handles


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the Canyu binary to compare with")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (after a 3 s warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="baseline-then-candidate alternations per concurrency")
    args = parser.parse_args()
    for binary in (args.baseline, peer.BINARY):
        if not os.access(binary, os.X_OK):
            peer.fail(f"no Canyu binary at {binary}")
    if not shutil.which("wrk"):
        peer.fail("wrk not found (Debian: apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="canyu-sqlite-writes-")
    try:
        print(f"{peer.clock()}seeding SQLite (seed-demo {' '.join(peer.SEED_SIZES)})…", flush=True)
        path, open_ids, handles = seeded(work)
        files = {"targets": peer.write_lines(work, "targets", open_ids)}
        rows = []
        for c in LEVELS:
            for r in range(1, args.rounds + 1):
                pair = []
                for label, binary in (("baseline", args.baseline), ("candidate", peer.BINARY)):
                    print(f"{peer.clock()}c={c} round {r}: {label}…", end="", flush=True)
                    result = peer.vote_cell(binary, f"Canyu {label}", f"sqlite://{path}?mode=rwc", peer.LITE_PORT,
                                            files, handles, c, args.duration, work)
                    print(f" {result['rps']:,.0f} req/s", flush=True)
                    pair.append(result)
                rows.append((c, r, pair))
        db = sqlite3.connect(path)
        scope_s = "s.id IN ({})".format(",".join(peer.blob(x) for x in open_ids))
        scope_v = "v.suggestion_id IN ({})".format(",".join(peer.blob(x) for x in open_ids))
        mismatched = db.execute(peer.COUNTER_CHECK.format(scope=scope_s)).fetchone()[0]
        duplicates = db.execute(peer.DUPLICATES.format(scope=scope_v)).fetchone()[0]
        db.close()
        print()
        print(f"- baseline: {args.baseline}; candidate: {peer.BINARY}")
        print(f"- castVote on {len(open_ids)} open suggestions by {len(handles)} fans, {args.duration} s a cell "
              "after a 3 s warm-up, synchronous=FULL (WAL)")
        print()
        print("| conc. | round | baseline req/s | p50 ms | p99 ms | errors | candidate req/s | p50 ms | p99 ms "
              "| errors | candidate ÷ baseline |")
        print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for c, r, (a, b) in rows:
            print(f"| {c} | {r} | {a['rps']:,.0f} | {a['p50']:.2f} | {a['p99']:.1f} | {a['errors']} "
                  f"| {b['rps']:,.0f} | {b['p50']:.2f} | {b['p99']:.1f} | {b['errors']} | {b['rps'] / a['rps']:.2f} |")
        print()
        print(f"After the runs: {mismatched} suggestions whose counters differ from their rows, "
              f"{duplicates} duplicate (suggestion, user) pairs")
        if mismatched or duplicates or any(a["errors"] or b["errors"] for _, _, (a, b) in rows):
            peer.fail("errors, or counters that do not match the vote rows")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
