#!/usr/bin/env python3
"""Canyu beside PostGraphile 4: the same Postgres database, the same queries, one machine.

  bash bench/peer.sh [--duration 10] [--out bench/peer-latest.md]

(bench/peer.sh checks the tools, installs PostGraphile and runs this file; see its header.)

Seeds a fresh database `canyu_peer` (seed-demo: 1 000 fans, 10 000 suggestions, 200 000 votes,
20 000 comments; a Van Westendorp poll with 100 000 ballots; the schema `peer` from
bench/peer/peer.sql; ANALYZE), starts Canyu's release binary ($CANYU_BIN) and PostGraphile on it,
and measures with wrk, A/B (Canyu, then PostGraphile) for every workload and concurrency:
  W0  { __typename }
  W1  the top 20 of aurora-phones by score (ties by id, newest first) with author handles
  W1n W1, each suggestion with its first 3 comments (oldest first) and their authors' handles
  W1c, W1nc  W1 and W1n with a body of its own on every request (an "extensions" member with a
      number), so Canyu cannot send an answer it kept: every answer is computed, as when writes
      keep the database moving
  W2  castVote by 200 signed-in fans on the community's open suggestions, random values
  W3  the seeded poll's Van Westendorp results
  W4  W1 with every 20th request an abusive document (40 aliased listings, a 3-level nesting of
      100-item pages, a 22-level doubling fragment): errors are counted on the normal ones only
beside pgbench -M prepared on the raw SQL of W1, W1n and W2. Before any timing, every query is
sent once to both servers and the answers compared: they must hold the same data.

W2's suggestions are split in three: Canyu votes on one third, PostGraphile on another, the raw
SQL on the last, so each one's counters can be checked against its vote rows afterwards.

Then Canyu alone on SQLite (a seeded file, the same sizes): W1, W1n, W2 beside the same SQL
through one sqlite3 shell process.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pricing  # noqa: E402
import run as common  # noqa: E402

ROOT = common.ROOT
BENCH = common.BENCH
PEER = os.path.join(BENCH, "peer")
BINARY = os.environ.get("CANYU_BIN") or os.path.join(ROOT, "target", "release", "canyu")
POSTGRAPHILE = os.path.join(PEER, "node_modules", "postgraphile", "cli.js")
DB = "canyu_peer"
CANYU_PORT, PEER_PORT, LITE_PORT = 18190, 18191, 18192
LEVELS = (1, 8, 32)
LITE_LEVELS = (8, 32)
WARMUP = 3
USERS = 200
SEED_SIZES = ["--users", "1000", "--suggestions", "10000", "--votes", "200000", "--comments", "20000"]
OPEN = "('OPEN','UNDER_REVIEW','PLANNED','IN_PROGRESS')"

# Inherited variables that would change Canyu's settings; the script sets what it needs.
SERVER_VARIABLES = ("CANYU_", "GRAPHQL_", "WS_", "RATE_LIMIT_", "PASSWORD_HASH_", "TRUSTED_PROXY_", "REQUEST_TIMEOUT_",
                    "DATABASE_", "ANSWER_CACHE_", "BIND_ADDR", "ACCESS_TOKEN_", "REFRESH_TOKEN_", "PARTNER_TOKEN_", "JWT_", "SYNC_")
CANYU_SETTINGS = {
    "CANYU_ENV": "production",
    "DATABASE_MAX_CONNECTIONS": "10",
    "RATE_LIMIT_MUTATIONS": "1000000000",
    "ACCESS_TOKEN_TTL_SECS": "7200",
    "RUST_LOG": "warn",
}

# --------------------------------------------------------------------------------------------
# The queries: each workload as Canyu's document and PostGraphile's, returning the same data.

CANYU = {
    "W0": "{ __typename }",
    "W1": "query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 20) "
          "{ edges { node { id title score author { handle } } } } }",
    "W1n": "query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 20) { edges { node { id title score "
           "author { handle } comments(first: 3) { edges { node { id body author { handle } } } } } } } }",
    "W3": pricing.QUERY,
}
PG = {
    "W0": "{ __typename }",
    "W1": "query($c: UUID!) { allSuggestions(condition: { communityId: $c, deletedAt: null }, "
          "orderBy: [SCORE_DESC, ID_DESC], first: 20) { edges { node { id title score userByAuthorId { handle } } } } }",
    "W1n": "query($c: UUID!) { allSuggestions(condition: { communityId: $c, deletedAt: null }, "
           "orderBy: [SCORE_DESC, ID_DESC], first: 20) { edges { node { id title score userByAuthorId { handle } "
           "commentsBySuggestionId(condition: { deletedAt: null }, orderBy: [CREATED_AT_ASC, ID_ASC], first: 3) "
           "{ edges { node { id body userByAuthorId { handle } } } } } } } }",
    "W3": "query($p: UUID!) { pricingPollById(id: $p) { ballotCount } pollResults(pollId: $p) "
          "{ marginalCheapness optimalPrice indifferencePrice marginalExpensiveness validResponses } }",
}
CANYU_VOTE = ("mutation($s: ID!, $v: VoteValue!) { castVote(input: { suggestionId: $s, value: $v }) "
              "{ upvotes downvotes score } }")
PG_VOTE = ("mutation($u: UUID!, $s: UUID!, $v: String!) { castVote(input: { userId: $u, suggestionId: $s, value: $v }) "
           "{ suggestion { upvotes downvotes score } } }")
EXPECT = {"W0": '"__typename"', "W1": '"edges"', "W1n": '"edges"', "W3": '"optimalPrice"'}
REFUSAL_CODES = ["QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP", "QUERY_TOO_LARGE"]


def abusive(kind):
    """W4's abusive documents for `kind` ("canyu" or "pg"): every field they answer is named
    abuse_…, which is how bench/peer/mix.lua tells their answers from the listing's."""
    if kind == "canyu":
        listing = "suggestions(communityId: $c, sort: TOP, first: 20) { edges { node { id title score author { handle } } } }"
        deep = ("abuse_deep: suggestions(communityId: $c, first: 100) { edges { node { author { suggestions(first: 100) "
                "{ edges { node { comments(first: 100) { edges { node { body author { handle } } } } } } } } } } }")
        root, var = "QueryRoot", "$c: ID!"
    else:
        listing = ("allSuggestions(condition: { communityId: $c, deletedAt: null }, orderBy: [SCORE_DESC, ID_DESC], first: 20) "
                   "{ edges { node { id title score userByAuthorId { handle } } } }")
        deep = ("abuse_deep: allSuggestions(condition: { communityId: $c }, first: 100) { edges { node { userByAuthorId "
                "{ suggestionsByAuthorId(first: 100) { edges { node { commentsBySuggestionId(first: 100) "
                "{ edges { node { body userByAuthorId { handle } } } } } } } } } } }")
        root, var = "Query", "$c: UUID!"
    aliases = f"query({var}) {{ " + " ".join(f"abuse_{i}: {listing}" for i in range(40)) + " }"
    nested = f"query({var}) {{ {deep} }}"
    levels = 22
    bomb = " ".join(["query{...F0}"] + [f"fragment F{i} on {root}{{...F{i + 1} ...F{i + 1}}}" for i in range(levels)]
                    + [f"fragment F{levels} on {root}{{abuse_t: __typename}}"])
    return [("40 aliased listings", aliases, True), ("nested 100-item pages", nested, True),
            ("22-level doubling fragment", bomb, False)]


# --------------------------------------------------------------------------------------------
# Processes


STARTED = time.time()


def clock():
    """Minutes and seconds since the start, for progress lines."""
    elapsed = int(time.time() - STARTED)
    return f"[{elapsed // 60:02d}:{elapsed % 60:02d}] "


def fail(message):
    sys.exit(f"bench/peer.py: {message}")


def note_pid(pid):
    path = os.environ.get("PEER_PIDFILE")
    if path:
        with open(path, "a") as f:
            f.write(f"{pid}\n")


def canyu_env(url, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVER_VARIABLES)}
    env.update({"DATABASE_URL": url, "RUST_LOG": "warn"})
    env.update(extra or {})
    return env


class Server:
    def __init__(self, label, cmd, env, port, logdir):
        self.label, self.cmd, self.env, self.port = label, cmd, env, port
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.log = os.path.join(logdir, f"{label.lower().replace(' ', '-')}.log")
        self.process = None

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=log, start_new_session=True)
        note_pid(self.process.pid)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                fail(f"{self.label} exited at start (code {self.process.returncode}); see {self.log}:\n{tail(self.log)}")
            try:
                if post(self.url, "{ __typename }", timeout=2).get("data"):
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        fail(f"{self.label} did not answer on {self.url} within 120 s; see {self.log}:\n{tail(self.log)}")

    def hwm_mib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def require_alive(self):
        if self.process.poll() is not None:
            fail(f"{self.label} exited during the run (code {self.process.returncode}); see its log:\n{tail(self.log)}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def post(url, query, variables=None, token=None, timeout=60):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        return json.loads(err.read() or b"{}")


def body_line(query, variables):
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Load


def wrk(url, script, concurrency, duration, env):
    """wrk on `url` with bench/peer/`script`; requests/s, p50/p99 in ms and the Lua counts."""
    return wrk_finish(wrk_start(url, script, concurrency, duration, env))


def wrk_start(url, script, concurrency, duration, env):
    """Starts wrk (see `wrk`) and returns it running; `wrk_finish` waits for its figures."""
    cmd = ["wrk", f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s", "--latency",
           "-s", os.path.join(PEER, script), url]
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk_finish(proc):
    out, err = proc.communicate()
    counts = re.search(r"COUNTS (.*)", out)
    if proc.returncode != 0 or not counts:
        fail(f"wrk failed ({' '.join(proc.args)}):\n{out}\n{err}")
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts.group(1))}
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in sockets.groups()) if sockets else 0

    def percentile(p):
        found = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        if not found:
            return float("nan")
        value, unit = found.groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": percentile(50),
            "p99": percentile(99), "errors": counts["bad"] + socket_errors, **counts, "socket_errors": socket_errors}


def measured(url, script, concurrency, duration, env, waits_of=None):
    """wrk after a warm-up; with `waits_of` (a database URL) the database's active backends are
    sampled during the measurement, and what they waited on is returned as "waits"."""
    wrk(url, script, concurrency, WARMUP, env)
    if waits_of is None:
        return wrk(url, script, concurrency, duration, env)
    sampler = WaitSampler(waits_of)
    try:
        result = wrk(url, script, concurrency, duration, env)
    finally:
        waits = sampler.stop()
    return {**result, "waits": waits}


class WaitSampler:
    """What the database's active backends wait on, from pg_stat_activity every 50 ms (one psql
    process running the query under \\watch): CPU when they wait on nothing, else
    type:event, e.g. Lock:transactionid (a row lock another transaction holds) or IO:WALSync."""

    QUERY = ("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
             "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() \\watch 0.05\n")

    def __init__(self, url):
        self.out = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(["psql", url, "-Atq", "-f", "-"], stdin=subprocess.PIPE,
                                        stdout=self.out, stderr=subprocess.DEVNULL, text=True)
        self.process.stdin.write(self.QUERY)
        self.process.stdin.flush()

    def stop(self):
        """The share of the samples of each wait, largest first, and how many were taken."""
        self.process.terminate()
        self.process.wait()
        self.out.seek(0)
        seen = [line.strip() for line in self.out if line.strip()]
        self.out.close()
        counts = {}
        for wait in seen:
            counts[wait] = counts.get(wait, 0) + 1
        shares = sorted(((n / len(seen), w) for w, n in counts.items()), reverse=True) if seen else []
        return {"samples": len(seen), "shares": shares}


def waits_text(waits):
    shares = ", ".join(f"{w} {share:.0%}" for share, w in waits["shares"][:5])
    return f"{shares} ({waits['samples']} backend samples)"


def pgbench(url, script, concurrency, duration, defines):
    """pgbench -M prepared with bench/peer/ or bench/ `script`; tx/s and failures."""
    cmd = [common.pgbench_path(), "-n", "-M", "prepared", f"-c{concurrency}", f"-j{min(2, concurrency)}",
           f"-T{duration}", "-f", script]
    for key, value in defines.items():
        cmd += ["-D", f"{key}={value}"]
    proc = subprocess.run(cmd + [url], capture_output=True, text=True)
    tps = re.search(r"tps = ([\d.]+)", proc.stdout)
    if proc.returncode != 0 or not tps:
        fail(f"pgbench failed ({' '.join(cmd)}):\n{proc.stdout}\n{proc.stderr}")
    failed = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    return {"rps": float(tps.group(1)), "errors": int(failed.group(1)) if failed else 0}


# --------------------------------------------------------------------------------------------
# Answers compared


def canyu_listing(data, comments):
    rows = []
    for edge in data["suggestions"]["edges"]:
        n = edge["node"]
        row = [n["id"], n["title"], n["score"], n["author"]["handle"]]
        if comments:
            row.append([(c["node"]["id"], c["node"]["body"], c["node"]["author"]["handle"])
                        for c in n["comments"]["edges"]])
        rows.append(row)
    return rows


def pg_listing(data, comments):
    rows = []
    for edge in data["allSuggestions"]["edges"]:
        n = edge["node"]
        row = [n["id"], n["title"], n["score"], n["userByAuthorId"]["handle"]]
        if comments:
            row.append([(c["node"]["id"], c["node"]["body"], c["node"]["userByAuthorId"]["handle"])
                        for c in n["commentsBySuggestionId"]["edges"]])
        rows.append(row)
    return rows


def canyu_poll(data):
    poll = data["pricingPoll"]
    vw = poll["results"]["vanWestendorp"]
    return {"ballotCount": poll["ballotCount"], **{k: (None if v is None else str(v)) for k, v in vw.items()}}


def pg_poll(data):
    vw = data["pollResults"]
    return {"ballotCount": data["pricingPollById"]["ballotCount"],
            **{k: (None if v is None else str(v)) for k, v in vw.items()}}


def answer(server, query, variables, token=None):
    reply = post(server.url, query, variables, token)
    if reply.get("errors") or not reply.get("data"):
        fail(f"{server.label} answered {json.dumps(reply)[:1500]}\nto {query}")
    return reply["data"]


# --------------------------------------------------------------------------------------------
# Seeding


def psql(url, sql):
    return common.psql(url, sql)


def psql_file(url, path):
    common.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-f", path])


def require_free(admin_url):
    """Stops before touching anything when another run holds the ports or the database."""
    for port in (CANYU_PORT, PEER_PORT, LITE_PORT):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As servers do: connections of an earlier run left in TIME_WAIT do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
                probe.listen(1)
            except OSError:
                fail(f"127.0.0.1:{port} is in use (another bench/peer.sh run?); stop it first")
    sessions = int(common.psql(admin_url, f"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{DB}'"))
    if sessions:
        fail(f"{sessions} sessions are connected to the database {DB} (another bench/peer.sh run?); "
             f"stop them first, this run drops and recreates it")


def seed_postgres(admin_url, url, lite_seed=None):
    """Seeds canyu_peer afresh; `lite_seed`, the SQLite seed running beside it, is stopped if this
    fails."""
    common.psql(admin_url, f"DROP DATABASE IF EXISTS {DB}")
    common.psql(admin_url, f"CREATE DATABASE {DB}")
    started = time.time()
    pg = subprocess.Popen([BINARY, "seed-demo", *SEED_SIZES], env=canyu_env(url), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    out, err = pg.communicate()
    if pg.returncode != 0:
        if lite_seed:
            lite_seed.kill()
        fail(f"seed-demo on Postgres failed:\n{out}\n{err}")
    print(f"  Postgres: {out.strip().splitlines()[0]} ({time.time() - started:.0f} s)", flush=True)
    communities = dict(re.findall(r"community (\S+): (\S+)", out))
    print("  Postgres: a Van Westendorp poll with 100 000 ballots (bench/pricing.py's SQL)…", flush=True)
    common.psql(url, pricing.SEED.format(n=100_000).replace("ANALYZE;", ""))  # one ANALYZE below
    psql_file(url, os.path.join(PEER, "peer.sql"))
    # Helpers for pgbench and the checks, outside the schemas PostGraphile exposes.
    community = communities["aurora-phones"]
    common.psql(url, f"""
        CREATE SCHEMA bench;
        CREATE TABLE bench.voter AS SELECT row_number() OVER (ORDER BY handle) AS n, id, handle
          FROM "user" WHERE handle LIKE 'fan%' ORDER BY handle LIMIT {USERS};
        CREATE UNIQUE INDEX ON bench.voter (n);
        CREATE TABLE bench.target AS
          SELECT (k - 1) % 3 AS set_no, (k - 1) / 3 + 1 AS n, id FROM (
            SELECT row_number() OVER (ORDER BY id) AS k, id FROM suggestion
            WHERE community_id = '{community}' AND deleted_at IS NULL AND status IN {OPEN}) t;
        CREATE UNIQUE INDEX ON bench.target (set_no, n);
        CREATE UNIQUE INDEX ON bench.target (id);
        ANALYZE""")
    return communities


def seed_sqlite_start(path):
    return subprocess.Popen([BINARY, "seed-demo", *SEED_SIZES], env=canyu_env(f"sqlite://{path}?mode=rwc"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --------------------------------------------------------------------------------------------
# Counters against rows


COUNTER_CHECK = """
SELECT COUNT(*) FROM suggestion s LEFT JOIN (
  SELECT suggestion_id, SUM(CASE WHEN value = 'UP' THEN 1 ELSE 0 END) AS up,
         SUM(CASE WHEN value = 'DOWN' THEN 1 ELSE 0 END) AS down
  FROM vote GROUP BY suggestion_id) v ON v.suggestion_id = s.id
WHERE ({scope})
  AND (s.upvotes <> COALESCE(v.up, 0) OR s.downvotes <> COALESCE(v.down, 0)
       OR s.score <> COALESCE(v.up, 0) - COALESCE(v.down, 0))"""
DUPLICATES = """SELECT COUNT(*) FROM (SELECT 1 FROM vote v WHERE ({scope})
  GROUP BY v.suggestion_id, v.user_id HAVING COUNT(*) > 1) d"""
TOUCHED = "SELECT COUNT(*) FROM vote v WHERE ({scope}) AND v.updated_at >= '{since}'"


def pg_counters(url, set_no, since):
    scope_s = f"s.id IN (SELECT id FROM bench.target WHERE set_no = {set_no})"
    scope_v = f"v.suggestion_id IN (SELECT id FROM bench.target WHERE set_no = {set_no})"
    return {"mismatched": int(psql(url, COUNTER_CHECK.format(scope=scope_s))),
            "duplicates": int(psql(url, DUPLICATES.format(scope=scope_v))),
            "written": int(psql(url, TOUCHED.format(scope=scope_v, since=since))),
            "suggestions": int(psql(url, f"SELECT COUNT(*) FROM bench.target WHERE set_no = {set_no}"))}


def counters_text(c):
    ok = c["mismatched"] == 0 and c["duplicates"] == 0
    return (f"{c['written']} vote rows written on {c['suggestions']} suggestions, {c['mismatched']} suggestions whose "
            f"counters differ from their rows, {c['duplicates']} duplicate (suggestion, user) pairs"
            f" — {'OK' if ok else 'MISMATCH'}")


# --------------------------------------------------------------------------------------------
# SQLite floors: one sqlite3 shell process running the statement many times


def sqlite_floor(path, make_script, seconds):
    """Statements per second of `make_script(k)` (k repetitions) in one sqlite3 process, sized to
    run about `seconds`."""
    def timed(k):
        script = make_script(k)
        started = time.perf_counter()
        proc = subprocess.run(["sqlite3", "-bail", path], input=script.encode(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        took = time.perf_counter() - started
        if proc.returncode != 0:
            fail(f"sqlite3 failed: {proc.stderr.decode(errors='replace')[:2000]}")
        return took
    k = 50
    took = timed(k)
    while took < 0.5 and k < 1_000_000:
        k *= 4
        took = timed(k)
    k = max(k, int(k * seconds / took))
    return k / timed(k)


def blob(value):
    """A UUID as the SQLite literal Canyu stores it as (16 bytes)."""
    return f"X'{uuid.UUID(str(value)).hex}'"


def as_uuid(value):
    return str(uuid.UUID(bytes=value)) if isinstance(value, bytes) else str(uuid.UUID(str(value)))


SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nPRAGMA foreign_keys=ON;\nPRAGMA busy_timeout=5000;\n"


def sqlite_w1(community):
    return (f"SELECT s.id, s.title, s.score, u.handle FROM suggestion s JOIN user u ON u.id = s.author_id "
            f"WHERE s.community_id = {blob(community)} AND s.deleted_at IS NULL ORDER BY s.score DESC, s.id DESC LIMIT 20;\n")


def sqlite_w1n(community):
    return (f"WITH top AS (SELECT id, title, score, author_id FROM suggestion WHERE community_id = {blob(community)} "
            f"AND deleted_at IS NULL ORDER BY score DESC, id DESC LIMIT 20), "
            f"c AS (SELECT * FROM (SELECT c.id, c.body, c.author_id, c.created_at, c.suggestion_id, row_number() OVER "
            f"(PARTITION BY c.suggestion_id ORDER BY c.created_at, c.id) AS place FROM comment c "
            f"WHERE c.suggestion_id IN (SELECT id FROM top) AND c.deleted_at IS NULL) WHERE place <= 3) "
            f"SELECT t.id, t.title, t.score, u.handle, c.id, c.body, cu.handle FROM top t JOIN user u ON u.id = t.author_id "
            f"LEFT JOIN c ON c.suggestion_id = t.id LEFT JOIN user cu ON cu.id = c.author_id "
            f"ORDER BY t.score DESC, t.id DESC, c.created_at, c.id;\n")


def sqlite_w2(users, suggestions, k, stamp):
    rng = random.Random(7)
    parts = [SQLITE_PRAGMAS, "CREATE TEMP TABLE prev (value TEXT);\n"]
    for _ in range(k):
        s, u = blob(rng.choice(suggestions)), blob(rng.choice(users))
        v = rng.choice(("UP", "UP", "DOWN", "NONE"))
        parts.append(
            "BEGIN IMMEDIATE;\n"
            "DELETE FROM prev;\n"
            f"INSERT INTO prev SELECT COALESCE((SELECT value FROM vote WHERE suggestion_id = {s} AND user_id = {u}), 'NONE');\n"
            f"INSERT INTO vote (id, suggestion_id, user_id, value, created_at, updated_at) SELECT {blob(uuid.uuid4())}, {s}, "
            f"{u}, '{v}', '{stamp}', '{stamp}' FROM prev WHERE prev.value <> '{v}' "
            "ON CONFLICT (suggestion_id, user_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;\n"
            f"UPDATE suggestion SET upvotes = upvotes + ('{v}' = 'UP') - ((SELECT value FROM prev) = 'UP'), "
            f"downvotes = downvotes + ('{v}' = 'DOWN') - ((SELECT value FROM prev) = 'DOWN'), "
            f"score = score + ('{v}' = 'UP') - ((SELECT value FROM prev) = 'UP') - ('{v}' = 'DOWN') + ((SELECT value FROM prev) = 'DOWN') "
            f"WHERE id = {s} AND (SELECT value FROM prev) <> '{v}';\n"
            "COMMIT;\n")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# The report


def fmt_rps(x):
    return "–" if x is None else f"{x:,.0f}"


def fmt_ms(x):
    return "–" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def fmt_ratio(a, b):
    return "–" if not a or not b else f"{a / b:.2f}"


def command_output(cmd):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (proc.stdout or proc.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def machine_header(url, load_at_start):
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open(os.path.join(PEER, "node_modules", "postgraphile", "package.json")) as f:
        postgraphile = json.load(f)["version"]
    commit = command_output(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"])
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(BINARY)))
    dirty = command_output(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    return {
        "machine": f"{os.cpu_count()} cores ({cpu}), {mem} RAM, {platform.system()} {platform.release()}",
        "postgres": psql(url, "SHOW server_version"),
        "node": command_output(["node", "--version"]),
        "postgraphile": postgraphile,
        "canyu": f"git commit {commit}{' (with local changes)' if dirty not in ('', '?') else ''} of this checkout; "
                 f"binary {BINARY} (sha256 {digest(BINARY)[:12]}, built {built}, {command_output([BINARY, '--version'])})",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": load_at_start,
        "wrk": command_output(["wrk", "-v"]).split(" [")[0],
        "pgbench": command_output([common.pgbench_path(), "--version"]),
        "sqlite3": command_output(["sqlite3", "--version"]).split(" ")[0],
    }


def report(args, header, rows, floors, rss, counters, lite, notes, elapsed):
    out = []
    add = out.append
    add("# Canyu beside PostGraphile 4 — bench/peer.sh")
    add("")
    add(f"- Run: {header['date']}, bash bench/peer.sh --duration {args.duration}")
    add(f"- Machine: {header['machine']}; load average {header['load']} at the start, {load_average()} at the end "
        "(anything else running shows here)")
    add(f"- Versions: Postgres {header['postgres']} (127.0.0.1:5432, one database for both servers); "
        f"Node {header['node']}; PostGraphile {header['postgraphile']}; Canyu: {header['canyu']}")
    add(f"- Load: {header['wrk']}, 2 threads (1 at concurrency 1), closed loop, {WARMUP} s warm-up then "
        f"{args.duration} s per cell, Canyu then PostGraphile for each workload and concurrency; raw SQL: "
        f"{header['pgbench']}, -M prepared, 2 threads, {args.duration} s; SQLite floor: sqlite3 {header['sqlite3']}")
    add("- Servers: Canyu CANYU_ENV=production, DATABASE_MAX_CONNECTIONS=10, RATE_LIMIT_MUTATIONS=1000000000, "
        "other limits default; PostGraphile NODE_ENV=production, one Node process, --max-pool-size 10, "
        "--disable-graphiql, --disable-query-log, schemas public,peer; every client on loopback without TLS "
        f"(PGSSLMODE={os.environ.get('PGSSLMODE')}, as node-postgres by default): {header.get('tls', '?')} "
        "of the database's connections used TLS before the measurements")
    add("- Data: seed-demo 1 000 fans, 10 000 suggestions, 200 000 votes, 20 000 comments; a Van Westendorp poll "
        "with 100 000 ballots; ANALYZE. Errors: non-200, an \"errors\" member, a missing answer, or a socket error")
    add("")
    add("| workload | conc. | Canyu req/s | p50 ms | p99 ms | errors | PostGraphile req/s | p50 ms | p99 ms | errors "
        "| Canyu ÷ PostGraphile | raw SQL tx/s | Canyu ÷ raw |")
    add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for (name, label), c, a, b in rows:
        floor = floors.get((COMPUTED.get(name, name), c))
        add(f"| {label} | {c} | {fmt_rps(a['rps'])} | {fmt_ms(a['p50'])} | {fmt_ms(a['p99'])} | {a['errors']} "
            f"| {fmt_rps(b['rps'])} | {fmt_ms(b['p50'])} | {fmt_ms(b['p99'])} | {b['errors']} "
            f"| {fmt_ratio(a['rps'], b['rps'])} | {fmt_rps(floor['rps']) if floor else '–'} "
            f"| {fmt_ratio(a['rps'], floor['rps']) if floor else '–'} |")
    add("")
    add(f"Peak RSS over the run (VmHWM): Canyu {rss['canyu']:.1f} MiB, PostGraphile {rss['pg']:.1f} MiB "
        f"(the Node process).")
    add("")
    add("Counters after W2 (each writer on its own third of the open suggestions):")
    add(f"- Canyu: {counters_text(counters['canyu'])}")
    add(f"- PostGraphile (peer.cast_vote): {counters_text(counters['pg'])}")
    if "sql" in counters:
        add(f"- raw SQL (pgbench, after its runs): {counters_text(counters['sql'])}")
    add("")
    add(f"## The embedded default: Canyu on SQLite")
    add("")
    add("| workload | conc. | Canyu req/s | p50 ms | p99 ms | errors | sqlite3 shell q/s (one process) | Canyu ÷ sqlite3 |")
    add("|---|--:|--:|--:|--:|--:|--:|--:|")
    for (name, label), c, a in lite["rows"]:
        floor = lite["floors"].get(COMPUTED.get(name, name))
        add(f"| {label} | {c} | {fmt_rps(a['rps'])} | {fmt_ms(a['p50'])} | {fmt_ms(a['p99'])} | {a['errors']} "
            f"| {fmt_rps(floor)} | {fmt_ratio(a['rps'], floor)} |")
    add("")
    add(f"Canyu on SQLite: peak RSS {lite['rss']:.1f} MiB; after W2 {lite['counters']}")
    add("")
    add("Notes:")
    for line in notes:
        add(f"- {line}")
    add("")
    add(f"Run took {elapsed / 60:.1f} min.")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------


WORKLOADS = [("W0", "W0 `{ __typename }`"), ("W1", "W1 top-20 + author"), ("W1n", "W1n top-20 + 3 comments each"),
             ("W1c", "W1c = W1, every answer computed"), ("W1nc", "W1nc = W1n, every answer computed"),
             ("W2", "W2 castVote"), ("W3", "W3 poll results"), ("W4", "W4 = W1 + 5% abusive")]
# Workloads that send another's document with a body of its own every time.
COMPUTED = {"W1c": "W1", "W1nc": "W1n"}
LOG_IN = "mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }"


def vote_cell(binary, label, database_url, port, files, handles, concurrency, duration, work):
    """One Canyu binary alone on `database_url`: castVote's figures (bench/peer/vote.lua on
    files["targets"]), signing `handles` in on first use (the tokens kept in files["tokens"])."""
    server = Server(label, [binary, "serve"],
                    canyu_env(database_url, {**CANYU_SETTINGS, "BIND_ADDR": f"127.0.0.1:{port}"}), port, work)
    server.start()
    try:
        if "tokens" not in files:
            files["tokens"] = write_lines(work, "tokens", sign_in(server, handles))
        env = {"MODE": "canyu", "ACTORS_FILE": files["tokens"], "SUGGESTIONS_FILE": files["targets"]}
        result = measured(server.url, "vote.lua", concurrency, duration, env)
        server.require_alive()
        return result
    finally:
        server.stop()


def write_lines(work, name, lines):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def sign_in(server, handles):
    return [answer(server, LOG_IN, {"i": {"handle": h, "password": "canyu-demo-password"}})["logIn"]["accessToken"]
            for h in handles]


def compare_answers(canyu, pg, variables, files, token, user_id):
    """Every workload once through both servers: the same data, or the run stops."""
    same = []
    for name, comments in (("W1", False), ("W1n", True)):
        a = canyu_listing(answer(canyu, CANYU[name], variables[name]), comments)
        b = pg_listing(answer(pg, PG[name], variables[name]), comments)
        if a != b:
            fail(f"{name}: Canyu and PostGraphile disagree:\nCanyu {json.dumps(a)[:1500]}\n"
                 f"PostGraphile {json.dumps(b)[:1500]}")
        same.append(f"{name} {len(a)} suggestions" + (f", {sum(len(r[4]) for r in a)} comments" if comments else ""))
    a = canyu_poll(answer(canyu, CANYU["W3"], variables["W3"]))
    b = pg_poll(answer(pg, PG["W3"], variables["W3"]))
    if a != b:
        fail(f"W3: Canyu {a} but PostGraphile {b}")
    same.append("W3 " + ", ".join(f"{k} {v}" for k, v in a.items()))
    # A vote and its retraction through each, on the suggestions each votes on in W2.
    for value in ("UP", "NONE"):
        x = answer(canyu, CANYU_VOTE, {"s": first_line(files["set0"]), "v": value}, token)["castVote"]
        y = answer(pg, PG_VOTE, {"u": user_id, "s": first_line(files["set1"]), "v": value})["castVote"]["suggestion"]
        if set(x) != set(y):
            fail(f"W2: Canyu answered {x}, PostGraphile {y}")
    same.append("W2 upvotes, downvotes and score after a vote")
    return same


def first_line(path):
    with open(path) as f:
        return f.readline().strip()


def probe_abusive(canyu, pg, community, work):
    """W4's abusive documents, each sent once: Canyu must refuse them; PostGraphile answers them.
    Writes each server's attack file; returns the files and a note."""
    files, seen = {}, {}
    for kind, server in (("canyu", canyu), ("pg", pg)):
        bodies = []
        for label, query, needs_community in abusive(kind):
            variables = {"c": community} if needs_community else {}
            bodies.append(body_line(query, variables))
            started = time.perf_counter()
            reply = post(server.url, query, variables, timeout=120)
            ms = (time.perf_counter() - started) * 1000
            code = ((reply.get("errors") or [{}])[0].get("extensions") or {}).get("code")
            if kind == "canyu" and code not in REFUSAL_CODES:
                fail(f"Canyu did not refuse the abusive document ({label}): {json.dumps(reply)[:800]}")
            outcome = code or ("errors" if reply.get("errors") else "answered")
            seen.setdefault(label, {})[kind] = (outcome, ms, len(json.dumps(reply)))
        files[kind] = write_lines(work, f"{kind}-attacks.jsonl", bodies)
    note = "W4's abusive documents, sent once each before the runs: " + "; ".join(
        f"{label}: Canyu {r['canyu'][0]} in {r['canyu'][1]:.1f} ms, PostGraphile {r['pg'][0]} in {r['pg'][1]:.0f} ms "
        f"({r['pg'][2] / 1024:.0f} KiB)" for label, r in seen.items())
    return files, note


def run_matrix(canyu, pg, files, duration, url, seeded_at):
    """Every workload at every concurrency, Canyu then PostGraphile; the counters after W2."""
    def script_env(name, kind):
        if name == "W2":
            if kind == "canyu":
                return "vote.lua", {"MODE": "canyu", "ACTORS_FILE": files["tokens"], "SUGGESTIONS_FILE": files["set0"]}
            return "vote.lua", {"MODE": "peer", "ACTORS_FILE": files["users"], "SUGGESTIONS_FILE": files["set1"]}
        if name == "W4":
            return "mix.lua", {"LEGIT_FILE": files[f"{kind}-W1"], "ATTACKS_FILE": files[f"{kind}-W4"],
                               "ATTACK_EVERY": "20", "EXPECT": '"edges"', "EXPECTED_CODES": ",".join(REFUSAL_CODES)}
        if name in COMPUTED:
            base = COMPUTED[name]
            return "fixed.lua", {"BODY_FILE": files[f"{kind}-{base}"], "EXPECT": EXPECT[base], "UNIQUE": "1"}
        return "fixed.lua", {"BODY_FILE": files[f"{kind}-{name}"], "EXPECT": EXPECT[name]}

    rows, counters, w4, waits = [], {}, [], []
    total, cell = len(WORKLOADS) * len(LEVELS), 0
    for name, label in WORKLOADS:
        for c in LEVELS:
            cell += 1
            print(f"{clock()}[{cell}/{total}] {name} concurrency {c}: Canyu…", end="", flush=True)
            sampled = url if name == "W2" else None
            script, env = script_env(name, "canyu")
            a = measured(canyu.url, script, c, duration, env, sampled)
            print(f" {a['rps']:,.0f} req/s; PostGraphile…", end="", flush=True)
            script, env = script_env(name, "pg")
            b = measured(pg.url, script, c, duration, env, sampled)
            print(f" {b['rps']:,.0f} req/s", flush=True)
            if sampled:
                waits.append(f"c={c}: Canyu {waits_text(a['waits'])}; PostGraphile {waits_text(b['waits'])}")
            canyu.require_alive()
            pg.require_alive()
            rows.append(((name, label), c, a, b))
            if name == "W4":
                w4.append(f"c={c}: Canyu {a['good']} listings, {a['refused']} refused, {a['served']} answered; "
                          f"PostGraphile {b['good']} listings, {b['served']} answered, {b['refused']} refused")
        if name == "W2":
            counters["canyu"] = pg_counters(url, 0, seeded_at)
            counters["pg"] = pg_counters(url, 1, seeded_at)
            print(f"  counters: Canyu {counters_text(counters['canyu'])}; PostGraphile {counters_text(counters['pg'])}",
                  flush=True)
    note = ("W4 responses (req/s, p50 and p99 count every response; errors only the normal listings'): "
            + "; ".join(w4))
    wait_note = ("W2 on Postgres, what the database's active backends waited on (pg_stat_activity every 50 ms "
                 "during each cell; CPU = on no wait): " + "; ".join(waits))
    return rows, counters, [note, wait_note]


def run_floors(url, community, users, suggestions, duration):
    """pgbench -M prepared on W1's, W1n's and W2's SQL at every concurrency."""
    floors = {}
    jobs = {"W1": (os.path.join(BENCH, "top20.sql"), {"community": community}),
            "W1n": (os.path.join(PEER, "w1n.sql"), {"community": community}),
            "W2": (os.path.join(PEER, "w2.sql"), {"users": users, "suggestions": suggestions})}
    for name, (script, defines) in jobs.items():
        for c in LEVELS:
            print(f"{clock()}raw SQL {name} concurrency {c}…", end="", flush=True)
            floors[(name, c)] = pgbench(url, script, c, duration, defines)
            print(f" {floors[(name, c)]['rps']:,.0f} tx/s", flush=True)
    return floors


def sqlite_phase(work, lite_path, lite_seed, duration, servers):
    """Canyu alone on the seeded SQLite file: W1, W1n, W2 beside the sqlite3 shell floors."""
    out, err = lite_seed.communicate()
    if lite_seed.returncode != 0:
        fail(f"seed-demo on SQLite failed:\n{out}\n{err}")
    community = dict(re.findall(r"community (\S+): (\S+)", out))["aurora-phones"]
    db = sqlite3.connect(lite_path)
    db.execute("ANALYZE")
    db.commit()
    open_ids = [as_uuid(r[0]) for r in db.execute(
        f"SELECT id FROM suggestion WHERE community_id = ? AND deleted_at IS NULL AND status IN {OPEN} ORDER BY id",
        (uuid.UUID(community).bytes,))]
    voters = [(as_uuid(r[0]), r[1]) for r in db.execute(
        f"SELECT id, handle FROM user WHERE handle LIKE 'fan%' ORDER BY handle LIMIT {USERS}")]
    db.close()
    # Canyu votes on one half of the open suggestions, the sqlite3 floor on the other.
    halves = [open_ids[0::2], open_ids[1::2]]
    lite = Server("Canyu SQLite", [BINARY, "serve"],
                  canyu_env(f"sqlite://{lite_path}?mode=rwc", {**CANYU_SETTINGS, "BIND_ADDR": f"127.0.0.1:{LITE_PORT}"}),
                  LITE_PORT, work)
    print(f"{clock()}starting Canyu on SQLite…", flush=True)
    servers.append(lite.start())
    print(f"{clock()}signing in {len(voters)} fans on Canyu (SQLite)…", flush=True)
    files = {"tokens": write_lines(work, "lite-tokens", sign_in(lite, [h for _, h in voters])),
             "set0": write_lines(work, "lite-set0", halves[0])}
    for name in ("W1", "W1n"):
        files[name] = write_lines(work, f"lite-{name}.json", [body_line(CANYU[name], {"c": community})])
    rows = []
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    labels = dict(WORKLOADS)
    for name in ("W1", "W1n", "W1c", "W1nc", "W2"):
        label = labels[name]
        for c in LITE_LEVELS:
            print(f"{clock()}SQLite {name} concurrency {c}: Canyu…", end="", flush=True)
            if name == "W2":
                script, env = "vote.lua", {"MODE": "canyu", "ACTORS_FILE": files["tokens"], "SUGGESTIONS_FILE": files["set0"]}
            elif name in COMPUTED:
                base = COMPUTED[name]
                script, env = "fixed.lua", {"BODY_FILE": files[base], "EXPECT": EXPECT[base], "UNIQUE": "1"}
            else:
                script, env = "fixed.lua", {"BODY_FILE": files[name], "EXPECT": EXPECT[name]}
            a = measured(lite.url, script, c, duration, env)
            print(f" {a['rps']:,.0f} req/s", flush=True)
            lite.require_alive()
            rows.append(((name, label), c, a))
    rss = lite.hwm_mib()
    lite.stop()
    servers.remove(lite)

    db = sqlite3.connect(lite_path)
    scope_s = "s.id IN ({})".format(",".join(blob(x) for x in halves[0]))
    scope_v = "v.suggestion_id IN ({})".format(",".join(blob(x) for x in halves[0]))
    counts = {"mismatched": db.execute(COUNTER_CHECK.format(scope=scope_s)).fetchone()[0],
              "duplicates": db.execute(DUPLICATES.format(scope=scope_v)).fetchone()[0],
              "written": db.execute(f"SELECT COUNT(*) FROM vote v WHERE ({scope_v}) AND v.updated_at >= ?",
                                    (since,)).fetchone()[0],
              "suggestions": len(halves[0])}
    stamp = db.execute("SELECT updated_at FROM vote ORDER BY updated_at DESC LIMIT 1").fetchone()[0]
    db.close()
    print(f"  SQLite counters: {counters_text(counts)}", flush=True)
    print(f"{clock()}sqlite3 shell floors…", flush=True)
    seconds = max(2, min(duration, 5))
    floors = {
        "W1": sqlite_floor(lite_path, lambda k: SQLITE_PRAGMAS + sqlite_w1(community) * k, seconds),
        "W1n": sqlite_floor(lite_path, lambda k: SQLITE_PRAGMAS + sqlite_w1n(community) * k, seconds),
        "W2": sqlite_floor(lite_path, lambda k: sqlite_w2([v for v, _ in voters], halves[1], k, stamp), seconds),
    }
    return {"rows": rows, "floors": floors, "rss": rss, "counts": counts, "counters": counters_text(counts),
            "floor_seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (after a 3 s warm-up)")
    parser.add_argument("--out", default=os.path.join(BENCH, "peer-latest.md"), help="where the report goes too")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    load_at_start = load_average()
    if args.duration < 1:
        fail("--duration must be at least 1")
    for tool in ("wrk", "psql", "node", "sqlite3"):
        if not shutil.which(tool):
            fail(f"{tool} not found (bash bench/peer.sh checks and installs what it can)")
    common.pgbench_path()
    if not os.access(BINARY, os.X_OK):
        fail(f"no Canyu binary at {BINARY}: cargo build --release -p canyu, or set CANYU_BIN")
    if not os.path.exists(POSTGRAPHILE):
        fail(f"PostGraphile is not installed ({POSTGRAPHILE} missing): run bash bench/peer.sh, which installs it")
    try:
        common.psql(args.admin_url, "SELECT 1")
    except subprocess.CalledProcessError as err:
        fail(f"Postgres does not answer at {args.admin_url}: {err.stderr.strip()}")
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{DB}"
    require_free(args.admin_url)

    def stop_on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)

    work = tempfile.mkdtemp(prefix="canyu-peer-")
    servers = []
    lite_seed = None
    try:
        print(f"{clock()}seeding Postgres ({DB}) and SQLite (seed-demo {' '.join(SEED_SIZES)}), side by side…", flush=True)
        lite_path = os.path.join(work, "canyu.db")
        lite_seed = seed_sqlite_start(lite_path)
        community = seed_postgres(args.admin_url, url, lite_seed)["aurora-phones"]
        header = machine_header(url, load_at_start)
        seeded_at = psql(url, "SELECT now()")

        canyu = Server("Canyu", [BINARY, "serve"],
                       canyu_env(url, {**CANYU_SETTINGS, "BIND_ADDR": f"127.0.0.1:{CANYU_PORT}"}), CANYU_PORT, work)
        pg = Server("PostGraphile",
                    ["node", POSTGRAPHILE, "--connection", url, "--schema", "public,peer", "--host", "127.0.0.1",
                     "--port", str(PEER_PORT), "--max-pool-size", "10", "--disable-graphiql", "--disable-query-log"],
                    {**os.environ, "NODE_ENV": "production"}, PEER_PORT, work)
        print(f"{clock()}starting Canyu and PostGraphile…", flush=True)
        servers += [canyu.start(), pg.start()]

        voters = [line.split("|") for line in psql(url, "SELECT id, handle FROM bench.voter ORDER BY n").splitlines()]
        print(f"{clock()}signing in {len(voters)} fans on Canyu…", flush=True)
        tokens = sign_in(canyu, [h for _, h in voters])
        files = {"tokens": write_lines(work, "tokens", tokens), "users": write_lines(work, "users", [v[0] for v in voters])}
        for k in range(3):
            files[f"set{k}"] = write_lines(
                work, f"set{k}", psql(url, f"SELECT id FROM bench.target WHERE set_no = {k} ORDER BY n").splitlines())
        variables = {"W0": {}, "W1": {"c": community}, "W1n": {"c": community}, "W3": {"p": pricing.POLL}}
        for name in ("W0", "W1", "W1n", "W3"):
            for kind, queries in (("canyu", CANYU), ("pg", PG)):
                files[f"{kind}-{name}"] = write_lines(work, f"{kind}-{name}.json", [body_line(queries[name], variables[name])])
        print(f"{clock()}comparing the answers…", flush=True)
        same = compare_answers(canyu, pg, variables, files, tokens[0], voters[0][0])
        print("  same data: " + "; ".join(same), flush=True)
        attack_files, attack_note = probe_abusive(canyu, pg, community, work)
        files["canyu-W4"], files["pg-W4"] = attack_files["canyu"], attack_files["pg"]

        header["tls"] = psql(url, "SELECT count(*) FILTER (WHERE s.ssl) || ' of ' || count(*) FROM pg_stat_ssl s "
                                  "JOIN pg_stat_activity a USING (pid) "
                                  "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()")
        rows, counters, matrix_notes = run_matrix(canyu, pg, files, args.duration, url, seeded_at)
        with open(files["set2"]) as f:
            set2 = len(f.read().split())
        floors = run_floors(url, community, len(voters), set2, args.duration)
        counters["sql"] = pg_counters(url, 2, seeded_at)
        rss = {"canyu": canyu.hwm_mib(), "pg": pg.hwm_mib()}
        for server in servers:
            server.stop()
        servers.clear()

        lite = sqlite_phase(work, lite_path, lite_seed, args.duration, servers)

        notes = [attack_note, *matrix_notes]
        failed_sql = sum(f["errors"] for f in floors.values())
        if failed_sql:
            notes.append(f"pgbench reported {failed_sql} failed transactions")
        notes += [
            "Same data: both servers' answers were compared before the runs (" + "; ".join(same) + ").",
            "W2: Canyu verifies a bearer token, checks membership and status under the suggestion's row lock, writes "
            "the vote, the counters and HOT key, a tally_change row, the sync change index and a rate-limit count, "
            "and publishes a live event; PostGraphile's peer.cast_vote gets the user id as an argument (no token) and "
            "does the same checks and vote and counter writes only. The raw SQL floor locks, reads the previous vote "
            "and writes vote and counters.",
            "W1, W1n, W4: every request's body is the same, so Canyu sends the answer it kept while nothing is "
            "committed to the database (each request reads pg_current_snapshot() first; README, Kept anonymous "
            "answers); PostGraphile computes every answer. W1c and W1nc send the same documents with a body of "
            "their own each time (an extensions member with a number): Canyu computes every answer there too, "
            "as it does while writes keep the database moving, and pays the snapshot statement on top.",
            "W3: Canyu computes the curves in Rust from the per-poll aggregates (pricing_tally); PostGraphile runs "
            "peer.poll_results, the same computation in SQL over the same rows. No raw SQL floor is given for W0, "
            "W3 and W4.",
            f"SQLite floor: the statement repeated in one sqlite3 process (no concurrency), about {lite['floor_seconds']} s; "
            "W2's as BEGIN IMMEDIATE, read the previous vote, upsert, counter update, COMMIT, with synchronous=FULL "
            "in WAL mode as Canyu runs it.",
        ]
        text = report(args, header, rows, floors, rss, counters, lite, notes, time.time() - STARTED)
        print()
        print(text, end="")
        with open(args.out, "w") as f:
            f.write(text)
        print(f"(written to {args.out})")
        bad = [k for k, v in counters.items() if v["mismatched"] or v["duplicates"]]
        if lite["counts"]["mismatched"] or lite["counts"]["duplicates"]:
            bad.append("SQLite")
        if bad:
            fail("counters do not match the vote rows: " + ", ".join(bad))
    finally:
        for server in servers:
            server.stop()
        if lite_seed and lite_seed.poll() is None:
            lite_seed.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
