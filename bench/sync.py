#!/usr/bin/env python3
"""Offline-sync benchmark: first sync, empty pulls, sustained pushes and poke-to-visible latency of
the release server, beside the same reads and writes as raw SQL, in one run, on Postgres and SQLite.

  python3 bench/sync.py [--backend postgres|sqlite|both] [--rows 100000] [--duration 10] [--skip-build]

For each backend: a fresh database (`canyu_bench_sync` on Postgres, a temporary file on SQLite),
`canyu migrate`, `canyu seed-demo` sized so that one member holds at least --rows synced rows
(about 0.68 × rows suggestions, a fifth as many comments, half as many votes, 200 fans: every
suggestion, comment, official response, the user's own votes and memberships, the communities),
the member whose scopes (`user:<id>`, `community:<id>` of ACTIVE memberships) hold the most
`sync_entity` rows is picked in SQL, `target/release/canyu serve` starts, and:
  (1) first sync: `pull` pages of 1000 from a null cursor until `hasMore` is false — wall time,
      pages, rows received (no duplicate (type, entityId); as many as the user's scopes hold,
      counted in SQL), and the server's RSS after every page (bounded pages keep it flat) — beside
      one SQL statement reading the same index rows with their payload joins (psql on Postgres,
      sqlite3 fetchall on SQLite). Target ≤ 10 s.
  (2) empty pull: 300 sequential pulls with the final cursor (no changes, every time), p50/p95/p99,
      beside the statements an empty pull runs (client-group check, then in one read-only snapshot
      the counter, the user's role and ACTIVE memberships, the next index row after the cursor in
      the held scopes, the group's clients in an ack range): pgbench -c 1 -T 5 on Postgres, a
      sqlite3 loop of 300 on SQLite. Target ≤ 10 ms p95 on Postgres.
  (3) sustained push: 8 fans (fan00002…fan00009), each with its own client group and client, join a
      public community (JOIN_COMMUNITY), then push batches of 20 mutations (SET_VOTE UP/DOWN/NONE
      and ADD_COMMENT alternating, on 500 open suggestions) for --duration seconds — APPLIED
      mutations/s, errors, push p50/p95 — beside ADD_COMMENT's transaction as raw SQL (client row
      lock, comment, comment_count, seq last, change index, ledger, lastMutationId): pgbench -c 8 on
      Postgres, a single-writer BEGIN IMMEDIATE loop on SQLite. Target ≥ 300 mutations/s. Every
      suggestion's comment_count (and vote counters) must then equal its rows.
  (4) poke to visible: device B (fan00003) subscribes to `syncPoke` over /graphql/ws
      (graphql-transport-ws) and syncs; 50 times device A (fan00002) pushes a CREATE_SUGGESTION and
      B, on each poke, pulls from its cursor until it sees the new id — p50/p95 from just before
      A's push. Target ≤ 500 ms p95; printed beside the raw SQL of an empty pull.
The raw-SQL write baselines run last, after the API measurements and the counter check. Prints a
summary per backend: each figure, its target and its ratio to raw SQL; exits non-zero when a
correctness check fails (duplicates, missing rows, non-empty empty pulls, counter mismatches).

Needs `pip install websockets`, psql and pgbench (the PostgreSQL client and server packages; for
--backend postgres only) and Python's sqlite3 module (for --backend sqlite). Traffic goes to
127.0.0.1 only and is bounded in count and time; the server is stopped at the end, also on errors.
"""

import argparse
import collections
import datetime
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402

try:
    from websockets.sync.client import connect as ws_connect
    import warnings
    # The socket is closed in measure_poke's finally; the context-manager advice does not apply.
    warnings.filterwarnings("ignore", message=r"connect\(\) must be used as a context manager")
except ImportError:  # pragma: no cover - reported at start
    ws_connect = None

PG_DB = "canyu_bench_sync"
PASSWORD = "canyu-demo-password"
PAGE = 1000
EMPTY_PULLS = 300
WORKERS = 8
BATCH = 20
POKES = 50
TARGET_SUGGESTIONS = 500
VOTABLE = "('OPEN', 'UNDER_REVIEW', 'PLANNED', 'IN_PROGRESS')"
I32_MAX = 2**31 - 1

# About 50 fields: far below the complexity limit of 1000 (no connections are selected).
PULL_QUERY = """query($i: PullInput!) { pull(input: $i) {
  reset hasMore cursor scopeEvents { scope kind } acks { clientId lastMutationId }
  changes { __typename
    ... on SuggestionChange { seq op entityId version
          suggestion { id title body status upvotes downvotes commentCount } }
    ... on CommentChange { seq op entityId comment { id body suggestionId } }
    ... on VoteChange { seq op entityId vote { id value suggestionId } }
    ... on CommunityChange { seq entityId community { id name } }
    ... on MembershipChange { seq entityId membership { id status } }
    ... on PollChange { seq op entityId }
    ... on BallotChange { seq op entityId }
    ... on RevenueShareChange { seq op entityId }
    ... on GrowthEventChange { seq op entityId }
    ... on ReleaseChange { seq op entityId }
    ... on SanctionChange { seq op entityId }
    ... on AppealChange { seq op entityId } } } }"""
PUSH_QUERY = ("mutation($i: PushInput!) { push(input: $i) { lastMutationId retryAfterMs "
              "results { id outcome replayed code message seq } } }")
LOGIN_QUERY = "mutation($i: LogInInput!) { logIn(input: $i) { accessToken user { id } } }"
POKE_SUBSCRIPTION = "subscription($g: ID!) { syncPoke(clientGroupId: $g) }"

COUNTER_CHECKS = {
    "comment_count": """
        SELECT COUNT(*) FROM suggestion s
        LEFT JOIN (SELECT suggestion_id, COUNT(*) AS n FROM comment WHERE deleted_at IS NULL
                   GROUP BY suggestion_id) c ON c.suggestion_id = s.id
        WHERE s.comment_count <> COALESCE(c.n, 0)""",
    "vote counters": """
        SELECT COUNT(*) FROM suggestion s
        LEFT JOIN (SELECT suggestion_id,
                          SUM(CASE WHEN value = 'UP' THEN 1 ELSE 0 END) AS up,
                          SUM(CASE WHEN value = 'DOWN' THEN 1 ELSE 0 END) AS down
                   FROM vote GROUP BY suggestion_id) v ON v.suggestion_id = s.id
        WHERE s.upvotes <> COALESCE(v.up, 0) OR s.downvotes <> COALESCE(v.down, 0)""",
}

# The head of a pull's snapshot on Postgres, as api/src/changes/order.rs reads it.
PG_HEAD = ("WITH snapshot AS (SELECT pg_current_snapshot() AS s), "
           "open AS (SELECT x::text::bigint AS x FROM snapshot, pg_snapshot_xip(snapshot.s) AS x), "
           "here AS (SELECT oid FROM pg_database WHERE datname = current_database()) "
           "SELECT COALESCE((SELECT MIN(open.x) FROM open WHERE NOT EXISTS ("
           "SELECT 1 FROM pg_stat_get_activity(NULL) AS a, here "
           "WHERE a.backend_xid::text::bigint = open.x % 4294967296 "
           "AND a.datid IS NOT NULL AND a.datid <> here.oid)), "
           "(SELECT pg_snapshot_xmax(s)::text::bigint FROM snapshot)) - 1 + c.xid_offset AS head "
           "FROM sync_counter AS c WHERE c.id = 1")

# pgbench: what one pushed ADD_COMMENT commits, as raw SQL (on Postgres its seq is its
# transaction id plus the counter's offset, read with no lock). Client ids 0..7 own the sync_client
# rows 00000000-0000-4000-8000-00000000000N; the mutation id is the locked row's last + 1.
PG_PUSH_SCRIPT = r"""-- pgbench: one pushed ADD_COMMENT as raw SQL (bench/sync.py writes this file).
\set r random(1, @TARGETS@)
BEGIN;
SELECT id AS me, last_mutation_id + 1 AS mid FROM sync_client WHERE id = ('00000000-0000-4000-8000-' || lpad(:client_id::text, 12, '0'))::uuid FOR UPDATE \gset
SELECT s.id AS sid, s.community_id AS cid, gen_random_uuid() AS new_id FROM suggestion s JOIN bench_sync_target t ON t.id = s.id WHERE t.n = :r AND s.deleted_at IS NULL FOR UPDATE OF s \gset
INSERT INTO comment (id, suggestion_id, author_id, body, official, created_at) VALUES (':new_id', ':sid', '@AUTHOR@', 'bench comment (raw SQL)', false, now());
UPDATE suggestion SET comment_count = comment_count + 1 WHERE id = ':sid';
SELECT pg_current_xact_id()::text::bigint + xid_offset AS seq FROM sync_counter WHERE id = 1 \gset
INSERT INTO sync_entity (scope, entity, entity_id, seq, op_index, op, version, changed_at) VALUES ('community:' || ':cid', 'Comment', ':new_id', :seq, 0, 'UPSERT', 1, now()), ('community:' || ':cid', 'Suggestion', ':sid', :seq, 1, 'UPSERT', 1, now()) ON CONFLICT (scope, entity, entity_id) DO UPDATE SET seq = EXCLUDED.seq, op_index = EXCLUDED.op_index, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at, version = sync_entity.version + 1;
INSERT INTO sync_mutation_ledger (client_id, mutation_id, name, args_hash, outcome, result, seq, created_at) VALUES (':me', :mid, 'ADD_COMMENT', encode(sha256(convert_to('ADD_COMMENT' || ':new_id' || ':sid', 'UTF8')), 'hex'), 'APPLIED', '{"id":' || :mid || ',"outcome":"APPLIED","code":null,"message":null,"serverValues":null,"seq":' || :seq || '}', :seq, now());
UPDATE sync_client SET last_mutation_id = :mid, last_mutation_seq = :seq, updated_at = now() WHERE id = ':me';
COMMIT;
"""


class GraphQLError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# Small helpers


def log(*parts):
    print(*parts, flush=True)


def now_text():
    """A timestamp as the server's SQLite driver writes one (RFC 3339, UTC)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def pct(values, p):
    """The p-th percentile (linear interpolation); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100.0
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def q(text):
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def rss_mb(pid):
    """Resident memory of a process, MB (from /proc/<pid>/status VmRSS)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def run_logged(cmd, **kw):
    """common.run, printing the command's stderr when it fails."""
    try:
        return common.run(cmd, **kw)
    except subprocess.CalledProcessError as err:
        log(f"command failed ({err.returncode}): {' '.join(map(str, cmd[:3]))} …")
        if err.stdout:
            log(err.stdout.strip()[-2000:])
        if err.stderr:
            log(err.stderr.strip()[-2000:])
        raise


def field(response, name):
    """response.data[name], or GraphQLError carrying every error's message and code."""
    if response.get("errors"):
        raise GraphQLError("; ".join(
            f"{e.get('message')} [{(e.get('extensions') or {}).get('code')}]" for e in response["errors"]))
    return response["data"][name]


class Http:
    """One keep-alive HTTP/1.1 connection to the server's /graphql (one per thread)."""

    def __init__(self, token=None):
        self.token = token
        self.conn = None

    def graphql(self, query, variables):
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", common.PORT, timeout=120)
            try:
                self.conn.request("POST", "/graphql", body, headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest,
                    ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
            return json.loads(data)
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def pull_vars(group, cursor):
    return {"i": {"clientGroupId": group, "protocolVersion": 1, "schemaVersion": 2,
                  "cursor": cursor, "limit": PAGE}}


def push_vars(group, client, mutations):
    return {"i": {"clientGroupId": group, "clientId": client, "protocolVersion": 1,
                  "schemaVersion": 2, "mutations": mutations}}


def pull_all(client, group, cursor, on_page=None, max_pages=100_000):
    """Pulls from `cursor` until hasMore is false; returns (cursor, pages)."""
    pages = 0
    while True:
        page = field(client.graphql(PULL_QUERY, pull_vars(group, cursor)), "pull")
        pages += 1
        if on_page:
            on_page(page)
        cursor = page["cursor"]
        if not page["hasMore"]:
            return cursor, pages
        if pages >= max_pages:
            raise RuntimeError(f"still hasMore after {pages} pages")


def log_in(handle):
    body = common.graphql(LOGIN_QUERY, {"i": {"handle": handle, "password": PASSWORD}})
    payload = field(body, "logIn")
    return payload["accessToken"], payload["user"]["id"]


# ---------------------------------------------------------------------------------------------
# Databases


class Database:
    """The benchmark database of one backend: created fresh, queried for setup and checks."""

    def __init__(self, backend, admin_url, workdir):
        self.backend = backend
        self.admin_url = admin_url
        self._sqlite = None
        self.blob_ids = True
        if backend == "postgres":
            self.url = f"{admin_url.rsplit('/', 1)[0]}/{PG_DB}"
            self.server_url = self.url
        else:
            self.path = os.path.join(workdir, "canyu_bench_sync.db")
            self.server_url = f"sqlite://{self.path}?mode=rwc"

    def create(self):
        if self.backend == "postgres":
            common.psql(self.admin_url, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            common.psql(self.admin_url, f"CREATE DATABASE {PG_DB}")
        else:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)

    def sqlite(self):
        """A reading connection (autocommit) to the SQLite file."""
        if self._sqlite is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._sqlite = conn
        return self._sqlite

    def detect_id_storage(self):
        if self.backend == "sqlite":
            row = self.sqlite().execute('SELECT typeof(id) FROM "user" LIMIT 1').fetchone()
            self.blob_ids = bool(row) and row[0] == "blob"

    def uid(self, text):
        """A UUID as the SQLite file stores it (a 16-byte blob, or text)."""
        return uuid.UUID(text).bytes if self.blob_ids else str(uuid.UUID(text))

    @staticmethod
    def text(value):
        if isinstance(value, (bytes, bytearray)) and len(value) == 16:
            return str(uuid.UUID(bytes=bytes(value)))
        if value is None:
            return ""
        return str(value)

    def rows(self, sql):
        """Rows of a parameterless query, every value as text (UUIDs in their usual form)."""
        if self.backend == "postgres":
            out = common.psql(self.url, sql)
            return [line.split("|") for line in out.split("\n") if line != ""]
        return [[self.text(v) for v in row] for row in self.sqlite().execute(sql).fetchall()]

    def scalar(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def close(self):
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


def seed_size(rows):
    """Seed sizes under which the best-placed member holds a little over `rows` synced rows:
    all suggestions (S), comments (S/5), official responses (~S/3), own votes, 3 communities,
    3 memberships ≈ 1.53 S."""
    suggestions = math.ceil(rows * 0.68) + 10
    return {"users": 200, "suggestions": suggestions, "votes": suggestions // 2,
            "comments": suggestions // 5}


def pick_user(db):
    """The user whose scopes hold the most live index rows: (handle, id, scopes, rows)."""
    per_scope = {scope: int(n) for scope, n in
                 db.rows("SELECT scope, COUNT(*) FROM sync_entity WHERE op = 'UPSERT' GROUP BY scope")}
    users = db.rows('SELECT id, handle, role FROM "user"')
    communities = collections.defaultdict(list)
    for user_id, community_id in db.rows("SELECT user_id, community_id FROM membership WHERE status = 'ACTIVE'"):
        communities[user_id].append(community_id)
    best = None
    for user_id, handle, role in users:
        scopes = [f"user:{user_id}"] + [f"community:{c}" for c in communities[user_id]]
        if role == "ADMIN":
            scopes += [f"admin:{c}" for c in communities[user_id]]
        visible = sum(per_scope.get(s, 0) for s in scopes)
        if best is None or visible > best[3] or (visible == best[3] and handle < best[0]):
            best = (handle, user_id, sorted(scopes), visible)
    return best


def target_suggestions(db):
    """Up to 500 open (votable) suggestions of the public community with the most suggestions,
    as (suggestion id, community id)."""
    return db.rows(f"""
        SELECT s.id, s.community_id FROM suggestion s JOIN community c ON c.id = s.community_id
        WHERE c.visibility = 'PUBLIC' AND s.deleted_at IS NULL AND s.status IN {VOTABLE}
          AND c.slug = (SELECT c2.slug FROM community c2 JOIN suggestion s2 ON s2.community_id = c2.id
                        WHERE c2.visibility = 'PUBLIC' GROUP BY c2.slug ORDER BY COUNT(*) DESC, c2.slug LIMIT 1)
        ORDER BY s.id LIMIT {TARGET_SUGGESTIONS}""")


def counter_checks(db):
    """{check: suggestions whose counters differ from their rows}."""
    return {name: int(db.scalar(sql)) for name, sql in COUNTER_CHECKS.items()}


# ---------------------------------------------------------------------------------------------
# The server


def port_busy():
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", common.PORT)) == 0


def healthy():
    try:
        conn = http.client.HTTPConnection("127.0.0.1", common.PORT, timeout=1)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def start_server(db, logpath):
    if port_busy():
        raise RuntimeError(f"127.0.0.1:{common.PORT} is already in use; stop what listens there first")
    env = {**os.environ, "DATABASE_URL": db.server_url, "BIND_ADDR": f"127.0.0.1:{common.PORT}",
           "RUST_LOG": "warn", "DATABASE_MAX_CONNECTIONS": "16", "ACCESS_TOKEN_TTL_SECS": "3600",
           "CANYU_ENV": "production",
           # Eight fans push for --duration seconds, then one of them pushes 50 more times: far
           # past the default of 120 mutation fields a minute per user, which is not under test.
           "RATE_LIMIT_MUTATIONS": "1000000000"}
    with open(logpath, "wb") as out:
        server = subprocess.Popen([common.BINARY, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    for _ in range(150):
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}; see {logpath}")
        if healthy():
            return server
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the server did not answer /healthz in 30 s; see {logpath}")


def stop_server(server):
    if server is None or server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# pgbench


def pgbench(url, name, script, clients, duration, workdir):
    """Runs a custom pgbench script; returns tps, average and percentile latencies (ms), failures."""
    path = os.path.join(workdir, f"{name}.sql")
    with open(path, "w") as f:
        f.write(script)
    logdir = tempfile.mkdtemp(prefix=f"pgbench-{name}-", dir=workdir)
    cmd = [common.pgbench_path(), "-n", f"-c{clients}", f"-j{min(2, clients)}", f"-T{duration}",
           "-f", path, "-l", f"--log-prefix={logdir}/log", url]
    out = run_logged(cmd).stdout
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    average = re.search(r"latency average = ([\d.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    latencies = []
    for logfile in os.listdir(logdir):
        with open(os.path.join(logdir, logfile)) as f:
            latencies += [int(line.split()[2]) / 1000.0 for line in f if line.strip()]
    shutil.rmtree(logdir, ignore_errors=True)
    return {"tps": tps, "avg": float(average.group(1)) if average else mean(latencies),
            "p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99),
            "failed": int(failed.group(1)) if failed else 0,
            "transactions": int(processed.group(1)) if processed else len(latencies)}


# ---------------------------------------------------------------------------------------------
# (1) first sync


def first_sync_sql(scopes, placeholders):
    in_list = ", ".join("?" for _ in scopes) if placeholders else ", ".join(q(s) for s in scopes)
    return ("SELECT e.seq, e.op_index, e.entity, e.entity_id, s.title, s.body, c.body, v.value "
            "FROM sync_entity e "
            "LEFT JOIN suggestion s ON e.entity = 'Suggestion' AND s.id = e.entity_id "
            "LEFT JOIN comment c ON e.entity = 'Comment' AND c.id = e.entity_id "
            "LEFT JOIN vote v ON e.entity = 'Vote' AND v.id = e.entity_id "
            f"WHERE e.scope IN ({in_list}) ORDER BY e.seq, e.op_index")


def measure_first_sync(db, server, token, expected):
    client = Http(token)
    group = str(uuid.uuid4())
    seen = set()
    stats = {"rows": 0, "duplicates": 0, "null_payloads": 0, "resets": 0,
             "by_type": collections.Counter(), "rss": [rss_mb(server.pid)]}
    payload_field = {"SuggestionChange": "suggestion", "CommentChange": "comment", "VoteChange": "vote"}

    def on_page(page):
        for change in page["changes"]:
            key = (change["__typename"], change["entityId"])
            if key in seen:
                stats["duplicates"] += 1
            seen.add(key)
            stats["rows"] += 1
            stats["by_type"][change["__typename"]] += 1
            name = payload_field.get(change["__typename"])
            if name and change.get("op") == "UPSERT" and change.get(name) is None:
                stats["null_payloads"] += 1
        if page["reset"]:
            stats["resets"] += 1
        stats["rss"].append(rss_mb(server.pid))

    started = time.perf_counter()
    cursor, pages = pull_all(client, group, None, on_page, max_pages=expected // PAGE * 3 + 100)
    seconds = time.perf_counter() - started
    rss = stats["rss"]
    result = {"seconds": seconds, "pages": pages, "rows": stats["rows"], "expected": expected,
              "duplicates": stats["duplicates"], "null_payloads": stats["null_payloads"],
              "resets": stats["resets"], "rss_start": rss[0], "rss_max": max(rss), "rss_end": rss[-1],
              "by_type": dict(stats["by_type"]), "cursor": cursor, "group": group, "client": client}
    log(f"    {pages} pages, {stats['rows']} rows in {seconds:.2f} s ({stats['rows'] / seconds:.0f} rows/s); "
        f"SQL says the user holds {expected}; duplicates {stats['duplicates']}; "
        f"by type {dict(sorted(stats['by_type'].items()))}")
    log(f"    server RSS: start {rss[0]:.1f} MB, max {max(rss):.1f} MB, end {rss[-1]:.1f} MB")
    return result


def first_sync_baseline(db, scopes):
    if db.backend == "postgres":
        sql = first_sync_sql(scopes, placeholders=False)
        started = time.perf_counter()
        run_logged(["psql", db.url, "-X", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-Atqc", sql])
        seconds = time.perf_counter() - started
        rows = int(common.psql(db.url, f"SELECT COUNT(*) FROM ({sql}) x"))
    else:
        conn = db.sqlite()
        started = time.perf_counter()
        rows = len(conn.execute(first_sync_sql(scopes, placeholders=True), scopes).fetchall())
        seconds = time.perf_counter() - started
    log(f"    raw SQL: {rows} rows in {seconds:.3f} s ({rows / seconds:.0f} rows/s)")
    return {"seconds": seconds, "rows": rows}


# ---------------------------------------------------------------------------------------------
# (2) empty pulls


def measure_empty_pulls(client, group, cursor):
    for _ in range(5):  # warm-up, not measured
        field(client.graphql(PULL_QUERY, pull_vars(group, cursor)), "pull")
    latencies, bad = [], 0
    for _ in range(EMPTY_PULLS):
        started = time.perf_counter()
        page = field(client.graphql(PULL_QUERY, pull_vars(group, cursor)), "pull")
        latencies.append((time.perf_counter() - started) * 1000)
        if page["changes"] != [] or page["hasMore"] or page["reset"] or page["scopeEvents"] or page["acks"]:
            bad += 1
    result = {"p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99),
              "avg": mean(latencies), "bad": bad}
    log(f"    {EMPTY_PULLS} empty pulls: p50 {result['p50']:.2f} ms, p95 {result['p95']:.2f} ms, "
        f"p99 {result['p99']:.2f} ms, avg {result['avg']:.2f} ms; not empty: {bad}")
    return result


def empty_pull_baseline(db, user_id, group, scopes, workdir):
    if db.backend == "postgres":
        head = int(db.scalar(PG_HEAD))
        in_list = ", ".join(q(s) for s in scopes)
        script = f"""-- pgbench: the statements of an empty pull (bench/sync.py writes this file).
INSERT INTO sync_client_group (id, user_id, created_at) VALUES ({q(group)}, {q(user_id)}, now()) ON CONFLICT (id) DO NOTHING;
SELECT id, user_id, created_at FROM sync_client_group WHERE id = {q(group)};
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT id, seq, epoch, cursor_key, horizon_seq FROM sync_counter WHERE id = 1;
{PG_HEAD};
SELECT id, role, token_version, banned_at FROM "user" WHERE id = {q(user_id)};
SELECT id, community_id, user_id, role, status, joined_at, created_at FROM membership WHERE user_id = {q(user_id)} AND status = 'ACTIVE';
SELECT scope, entity, entity_id, seq, op_index, op, version, changed_at FROM sync_entity WHERE scope IN ({in_list}) AND (seq > {head} OR (seq = {head} AND op_index > {I32_MAX})) ORDER BY seq, op_index LIMIT 1;
SELECT id, client_group_id, last_mutation_id, last_mutation_seq FROM sync_client WHERE client_group_id = {q(group)} AND last_mutation_seq > {max(head - 1000, 0)} AND last_mutation_seq <= {head};
COMMIT;
"""
        result = pgbench(db.url, "empty_pull", script, 1, 5, workdir)
        log(f"    raw SQL (pgbench -c 1 -T 5): {result['tps']:.0f} tx/s, latency average {result['avg']:.3f} ms "
            f"(p50 {result['p50']:.3f}, p95 {result['p95']:.3f})")
        return result
    head = int(db.scalar("SELECT seq FROM sync_counter WHERE id = 1"))
    conn = db.sqlite()
    user_b, group_b = db.uid(user_id), db.uid(group)
    marks = ", ".join("?" for _ in scopes)
    latencies = []
    for _ in range(EMPTY_PULLS):
        started = time.perf_counter()
        conn.execute("INSERT INTO sync_client_group (id, user_id, created_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (id) DO NOTHING", (group_b, user_b, now_text()))
        conn.execute("SELECT id, user_id, created_at FROM sync_client_group WHERE id = ?", (group_b,)).fetchall()
        conn.execute("BEGIN")
        conn.execute("SELECT id, seq, epoch, cursor_key, horizon_seq FROM sync_counter WHERE id = 1").fetchall()
        conn.execute('SELECT id, role, token_version, banned_at FROM "user" WHERE id = ?', (user_b,)).fetchall()
        conn.execute("SELECT id, community_id, user_id, role, status, joined_at, created_at FROM membership "
                     "WHERE user_id = ? AND status = 'ACTIVE'", (user_b,)).fetchall()
        conn.execute(f"SELECT scope, entity, entity_id, seq, op_index, op, version, changed_at FROM sync_entity "
                     f"WHERE scope IN ({marks}) AND (seq > ? OR (seq = ? AND op_index > ?)) "
                     "ORDER BY seq, op_index LIMIT 1", (*scopes, head, head, I32_MAX)).fetchall()
        conn.execute("SELECT id, client_group_id, last_mutation_id, last_mutation_seq FROM sync_client "
                     "WHERE client_group_id = ? AND last_mutation_seq > ? AND last_mutation_seq <= ?",
                     (group_b, max(head - 1000, 0), head)).fetchall()
        conn.execute("COMMIT")
        latencies.append((time.perf_counter() - started) * 1000)
    result = {"avg": mean(latencies), "p50": pct(latencies, 50), "p95": pct(latencies, 95),
              "p99": pct(latencies, 99), "tps": 1000.0 / mean(latencies)}
    log(f"    raw SQL (sqlite3 × {EMPTY_PULLS}): p50 {result['p50']:.3f} ms, p95 {result['p95']:.3f} ms, "
        f"avg {result['avg']:.3f} ms")
    return result


# ---------------------------------------------------------------------------------------------
# (3) sustained pushes


def measure_pushes(logins, suggestion_ids, community_id, duration):
    workers = []
    for n, (handle, token, _user_id) in enumerate(logins):
        worker = {"handle": handle, "http": Http(token), "group": str(uuid.uuid4()),
                  "client": str(uuid.uuid4()), "next": 1, "applied": 0, "mutation_errors": 0,
                  "request_errors": 0, "latencies": [], "messages": [], "rng": random.Random(1000 + n),
                  "end": None, "crash": None}
        joined = field(worker["http"].graphql(PUSH_QUERY, push_vars(
            worker["group"], worker["client"],
            [{"id": 1, "name": "JOIN_COMMUNITY", "args": {"communityId": community_id}}])), "push")
        outcomes = [r["outcome"] for r in joined["results"]]
        if outcomes != ["APPLIED"]:
            raise RuntimeError(f"{handle} could not join {community_id}: {joined['results']}")
        worker["next"] = joined["lastMutationId"] + 1
        workers.append(worker)

    go = threading.Event()
    clock = {}

    def note(worker, message):
        if len(worker["messages"]) < 3:
            worker["messages"].append(message)

    def resync(worker):
        """After a failed request: learn the client's lastMutationId with an empty push."""
        try:
            payload = field(worker["http"].graphql(
                PUSH_QUERY, push_vars(worker["group"], worker["client"], [])), "push")
            worker["next"] = payload["lastMutationId"] + 1
        except Exception as err:  # noqa: BLE001 - counted, then retried on the next batch
            note(worker, f"resync: {err}")
            time.sleep(0.1)

    def work(worker):
        try:
            go.wait()
            deadline = clock["deadline"]
            rng = worker["rng"]
            values = ("UP", "DOWN", "NONE")
            votes = 0
            while time.perf_counter() < deadline:
                batch = []
                for k in range(BATCH):
                    mid = worker["next"] + k
                    target = rng.choice(suggestion_ids)
                    if mid % 2 == 0:
                        batch.append({"id": mid, "name": "SET_VOTE",
                                      "args": {"suggestionId": target, "value": values[votes % 3]}})
                        votes += 1
                    else:
                        batch.append({"id": mid, "name": "ADD_COMMENT",
                                      "args": {"id": str(uuid.uuid4()), "suggestionId": target,
                                               "body": f"bench comment {mid} by {worker['handle']}"}})
                started = time.perf_counter()
                try:
                    payload = field(worker["http"].graphql(
                        PUSH_QUERY, push_vars(worker["group"], worker["client"], batch)), "push")
                except Exception as err:  # noqa: BLE001 - a GraphQL or transport error is counted
                    worker["request_errors"] += 1
                    note(worker, f"push: {err}")
                    resync(worker)
                    continue
                worker["latencies"].append((time.perf_counter() - started) * 1000)
                for result in payload["results"]:
                    if result["outcome"] == "APPLIED" and not result["replayed"]:
                        worker["applied"] += 1
                    else:
                        worker["mutation_errors"] += 1
                        note(worker, f"mutation {result['id']}: {result['outcome']} {result.get('code')} "
                                     f"{result.get('message')}")
                missing = len(batch) - len(payload["results"])
                if missing > 0:
                    worker["mutation_errors"] += missing
                    note(worker, f"{missing} mutations without a result (retryAfterMs "
                                 f"{payload.get('retryAfterMs')})")
                worker["next"] = payload["lastMutationId"] + 1
        except Exception as err:  # noqa: BLE001 - reported with the results
            worker["crash"] = f"{type(err).__name__}: {err}"
        finally:
            worker["end"] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    clock["deadline"] = start + duration
    go.set()
    for thread in threads:
        thread.join(timeout=duration + 180)
    elapsed = max((w["end"] or time.perf_counter()) for w in workers) - start
    applied = sum(w["applied"] for w in workers)
    latencies = [x for w in workers for x in w["latencies"]]
    mutation_errors = sum(w["mutation_errors"] for w in workers)
    request_errors = sum(w["request_errors"] for w in workers)
    crashes = [f"{w['handle']}: {w['crash']}" for w in workers if w["crash"]]
    messages = [f"{w['handle']}: {m}" for w in workers for m in w["messages"]]
    for worker in workers:
        worker["http"].close()
    result = {"applied": applied, "seconds": elapsed, "mps": applied / elapsed if elapsed > 0 else 0.0,
              "errors": mutation_errors + request_errors + len(crashes), "mutation_errors": mutation_errors,
              "request_errors": request_errors, "pushes": len(latencies),
              "p50": pct(latencies, 50), "p95": pct(latencies, 95), "crashes": crashes}
    log(f"    {applied} mutations APPLIED in {elapsed:.1f} s by {len(workers)} clients = {result['mps']:.0f}/s; "
        f"{len(latencies)} pushes of {BATCH}, p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms; "
        f"errors: {mutation_errors} mutations not APPLIED, {request_errors} failed requests, "
        f"{len(crashes)} crashed workers")
    for line in (crashes + messages)[:10]:
        log(f"      {line}")
    return result


def push_baseline(db, author_id, targets, duration, workdir):
    """ADD_COMMENT's transaction as raw SQL; returns transactions/s."""
    group = str(uuid.uuid4())
    if db.backend == "postgres":
        ids = ", ".join(q(sid) for sid, _ in targets)
        common.psql(db.url, f"""
            DROP TABLE IF EXISTS bench_sync_target;
            CREATE TABLE bench_sync_target (n int PRIMARY KEY, id uuid NOT NULL);
            INSERT INTO bench_sync_target SELECT row_number() OVER (ORDER BY id), id FROM suggestion WHERE id IN ({ids});
            INSERT INTO sync_client_group (id, user_id, created_at) VALUES ({q(group)}, {q(author_id)}, now());
            INSERT INTO sync_client (id, client_group_id, last_mutation_id, last_mutation_seq, updated_at)
              SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, {q(group)}, 0, 0, now()
              FROM generate_series(0, {WORKERS - 1}) g
              ON CONFLICT (id) DO UPDATE SET client_group_id = EXCLUDED.client_group_id;
            ANALYZE bench_sync_target""")
        count = int(common.psql(db.url, "SELECT COUNT(*) FROM bench_sync_target"))
        script = (PG_PUSH_SCRIPT.replace("@TARGETS@", str(count)).replace("@AUTHOR@", author_id))
        result = pgbench(db.url, "add_comment", script, WORKERS, duration, workdir)
        log(f"    raw SQL (pgbench -c {WORKERS} -T {duration}): {result['tps']:.0f} ADD_COMMENT tx/s, "
            f"latency average {result['avg']:.2f} ms, failed {result['failed']}")
        return result
    conn = sqlite3.connect(db.path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        client = str(uuid.uuid4())
        client_b, author_b = db.uid(client), db.uid(author_id)
        conn.execute("INSERT INTO sync_client_group (id, user_id, created_at) VALUES (?, ?, ?)",
                     (db.uid(group), author_b, now_text()))
        conn.execute("INSERT INTO sync_client (id, client_group_id, last_mutation_id, last_mutation_seq, updated_at) "
                     "VALUES (?, ?, 0, 0, ?)", (client_b, db.uid(group), now_text()))
        rng = random.Random(7)
        ids = [db.uid(sid) for sid, _ in targets]
        latencies = []
        deadline = time.perf_counter() + duration
        started_all = time.perf_counter()
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            sid = rng.choice(ids)
            new_id = uuid.uuid4()
            new_b = db.uid(str(new_id))
            now = now_text()
            conn.execute("BEGIN IMMEDIATE")
            mid = conn.execute("SELECT last_mutation_id FROM sync_client WHERE id = ?", (client_b,)).fetchone()[0] + 1
            community = conn.execute("SELECT community_id FROM suggestion WHERE id = ? AND deleted_at IS NULL",
                                     (sid,)).fetchone()[0]
            conn.execute("INSERT INTO comment (id, suggestion_id, author_id, body, official, created_at, edited_at, "
                         "deleted_at) VALUES (?, ?, ?, ?, 0, ?, NULL, NULL)",
                         (new_b, sid, author_b, "bench comment (raw SQL)", now))
            conn.execute("UPDATE suggestion SET comment_count = comment_count + 1 WHERE id = ?", (sid,))
            seq = conn.execute("UPDATE sync_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq").fetchall()[0][0]
            scope = "community:" + Database.text(community)
            conn.execute("INSERT INTO sync_entity (scope, entity, entity_id, seq, op_index, op, version, changed_at) "
                         "VALUES (?, 'Comment', ?, ?, 0, 'UPSERT', 1, ?), (?, 'Suggestion', ?, ?, 1, 'UPSERT', 1, ?) "
                         "ON CONFLICT (scope, entity, entity_id) DO UPDATE SET seq = excluded.seq, "
                         "op_index = excluded.op_index, op = excluded.op, changed_at = excluded.changed_at, "
                         "version = sync_entity.version + 1",
                         (scope, new_b, seq, now, scope, sid, seq, now))
            args_hash = hashlib.sha256(json.dumps(["ADD_COMMENT", str(new_id)]).encode()).hexdigest()
            result_json = json.dumps({"id": mid, "outcome": "APPLIED", "code": None, "message": None,
                                      "serverValues": None, "seq": seq})
            conn.execute("INSERT INTO sync_mutation_ledger (client_id, mutation_id, name, args_hash, outcome, result, "
                         "seq, created_at) VALUES (?, ?, 'ADD_COMMENT', ?, 'APPLIED', ?, ?, ?)",
                         (client_b, mid, args_hash, result_json, seq, now))
            conn.execute("UPDATE sync_client SET last_mutation_id = ?, last_mutation_seq = ?, updated_at = ? "
                         "WHERE id = ?", (mid, seq, now, client_b))
            conn.execute("COMMIT")
            latencies.append((time.perf_counter() - started) * 1000)
        seconds = time.perf_counter() - started_all
    finally:
        conn.close()
    result = {"tps": len(latencies) / seconds, "avg": mean(latencies), "p50": pct(latencies, 50),
              "p95": pct(latencies, 95), "failed": 0, "transactions": len(latencies)}
    log(f"    raw SQL (sqlite3, one writer, {duration} s): {result['tps']:.0f} ADD_COMMENT tx/s, "
        f"latency average {result['avg']:.3f} ms")
    return result


# ---------------------------------------------------------------------------------------------
# (4) poke to visible


def ws_receive(ws, timeout):
    """The next graphql-transport-ws message, answering pings on the way."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message.get("type") == "ping":
            ws.send(json.dumps({"type": "pong"}))
            continue
        return message


def measure_poke(login_a, login_b, community_id):
    _handle_a, token_a, _ = login_a
    _handle_b, token_b, _ = login_b
    group_a, client_a, group_b = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    http_a, http_b = Http(token_a), Http(token_b)
    ws = ws_connect(f"ws://127.0.0.1:{common.PORT}/graphql/ws", subprotocols=["graphql-transport-ws"],
                    proxy=None, compression=None, open_timeout=10)
    listener = None
    stop = threading.Event()
    try:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token_b}"}}))
        ack = ws_receive(ws, 10)
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"expected connection_ack, got {ack}")
        ws.send(json.dumps({"id": "1", "type": "subscribe",
                            "payload": {"query": POKE_SUBSCRIPTION, "variables": {"g": group_b}}}))
        started = time.perf_counter()
        initial = collections.Counter()

        def count_rows(page):
            initial["rows"] += len(page["changes"])

        cursor, pages = pull_all(http_b, group_b, None, count_rows)
        log(f"    device B's first sync: {initial['rows']} rows, {pages} pages in "
            f"{time.perf_counter() - started:.1f} s")

        state = {"cursor": cursor, "failure": None, "pokes": 0, "pulls": 0}
        found = {}
        changed = threading.Condition()

        def on_page(page):
            at = time.perf_counter()
            with changed:
                for change in page["changes"]:
                    if change["__typename"] == "SuggestionChange":
                        found.setdefault(change["entityId"], at)
                changed.notify_all()

        def listen():
            try:
                while not stop.is_set():
                    try:
                        message = ws_receive(ws, 0.2)
                    except TimeoutError:
                        continue
                    kind = message.get("type")
                    if kind == "next":
                        if (message.get("payload") or {}).get("errors"):
                            raise RuntimeError(f"syncPoke error: {message['payload']['errors']}")
                        state["pokes"] += 1
                        state["cursor"], pages_pulled = pull_all(http_b, group_b, state["cursor"], on_page)
                        state["pulls"] += pages_pulled
                    elif kind in ("error", "complete"):
                        raise RuntimeError(f"subscription ended: {message}")
            except Exception as err:  # noqa: BLE001 - reported by the main thread
                if not stop.is_set():
                    state["failure"] = f"{type(err).__name__}: {err}"
                    with changed:
                        changed.notify_all()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        latencies, misses, rejected = [], 0, []
        for n in range(1, POKES + 1):
            suggestion_id = str(uuid.uuid4())
            mutation = {"id": n, "name": "CREATE_SUGGESTION",
                        "args": {"id": suggestion_id, "communityId": community_id, "kind": "IDEA",
                                 "title": f"poke {n}", "body": "poke-to-visible benchmark"}}
            started = time.perf_counter()
            payload = field(http_a.graphql(PUSH_QUERY, push_vars(group_a, client_a, [mutation])), "push")
            if [r["outcome"] for r in payload["results"]] != ["APPLIED"]:
                rejected.append(payload["results"])
                continue
            with changed:
                changed.wait_for(lambda: suggestion_id in found or state["failure"], timeout=10)
                seen_at = found.get(suggestion_id)
            if state["failure"]:
                raise RuntimeError(state["failure"])
            if seen_at is None:
                misses += 1
            else:
                latencies.append((seen_at - started) * 1000)
    finally:
        stop.set()
        try:
            ws.send(json.dumps({"id": "1", "type": "complete"}))
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        ws.close()
        if listener is not None:
            listener.join(timeout=15)
        http_a.close()
        http_b.close()
    result = {"p50": pct(latencies, 50), "p95": pct(latencies, 95), "max": max(latencies, default=float("nan")),
              "seen": len(latencies), "misses": misses + len(rejected), "pokes": state["pokes"]}
    log(f"    {len(latencies)}/{POKES} suggestions seen by B: p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
        f"max {result['max']:.1f} ms; {state['pokes']} pokes received; not seen within 10 s: {misses}; "
        f"push not APPLIED: {len(rejected)} {rejected[:1]}")
    return result


# ---------------------------------------------------------------------------------------------
# One backend


def bench_backend(backend, args, workdir):
    db = Database(backend, args.admin_url, workdir)
    results = {"backend": backend}
    log(f"\n=== {backend} ===")
    db.create()
    env = {**os.environ, "DATABASE_URL": db.server_url, "RUST_LOG": "warn"}
    run_logged([common.BINARY, "migrate"], env=env)
    size = seed_size(args.rows)
    log(f"seeding {size['users']} fans, {size['suggestions']} suggestions, {size['votes']} votes, "
        f"{size['comments']} comments…")
    started = time.perf_counter()
    seeded = run_logged([common.BINARY, "seed-demo", "--users", str(size["users"]),
                         "--suggestions", str(size["suggestions"]), "--votes", str(size["votes"]),
                         "--comments", str(size["comments"])], env=env).stdout
    log(seeded.strip())
    log(f"seeded in {time.perf_counter() - started:.0f} s")
    db.detect_id_storage()
    if backend == "postgres":
        common.psql(db.url, "ANALYZE")
    handle, user_id, scopes, visible = pick_user(db)
    results.update(user=handle, visible=visible)
    log(f"{handle} holds the most synced rows: {visible} in {len(scopes)} scopes")
    if visible < args.rows:
        log(f"WARNING: fewer than --rows {args.rows} rows; the first sync measures {visible}")
    targets = target_suggestions(db)
    if not targets:
        raise RuntimeError("no open suggestion in a public community")
    community_id = targets[0][1]
    suggestion_ids = [sid for sid, _ in targets]

    server = None
    logpath = os.path.join(workdir, f"server-{backend}.log")
    try:
        server = start_server(db, logpath)
        token, _ = log_in(handle)
        logins = []
        for i in range(2, 2 + WORKERS):
            fan = f"fan{i:05d}"
            fan_token, fan_id = log_in(fan)
            logins.append((fan, fan_token, fan_id))

        log(f"(1) first sync of {handle}, pages of {PAGE}…")
        first = measure_first_sync(db, server, token, visible)
        results["first"] = first
        try:
            results["first_sql"] = first_sync_baseline(db, scopes)
        except Exception as err:  # noqa: BLE001 - the API figure stands without its baseline
            log(f"    raw SQL baseline failed: {err}")
            results["first_sql"] = None

        log(f"(2) {EMPTY_PULLS} empty pulls with the final cursor…")
        results["empty"] = measure_empty_pulls(first["client"], first["group"], first["cursor"])
        first["client"].close()
        try:
            results["empty_sql"] = empty_pull_baseline(db, user_id, first["group"], scopes, workdir)
        except Exception as err:  # noqa: BLE001
            log(f"    raw SQL baseline failed: {err}")
            results["empty_sql"] = None

        log(f"(3) {WORKERS} clients pushing batches of {BATCH} for {args.duration} s "
            f"(community {community_id}, {len(suggestion_ids)} suggestions)…")
        results["push"] = measure_pushes(logins, suggestion_ids, community_id, args.duration)
        results["checks"] = counter_checks(db)
        log("    counters after the pushes: " + ", ".join(
            f"{name} {'OK' if n == 0 else f'MISMATCH ({n} suggestions)'}" for name, n in results["checks"].items()))

        log(f"(4) poke to visible, {POKES} times (A = {logins[0][0]}, B = {logins[1][0]})…")
        results["poke"] = measure_poke(logins[0], logins[1], community_id)

        log("(3') the same writes as raw SQL…")
        try:
            results["push_sql"] = push_baseline(db, logins[0][2], targets, args.duration, workdir)
            results["checks_after_sql"] = counter_checks(db)
            log("    counters after the raw SQL too: " + ", ".join(
                f"{name} {'OK' if n == 0 else f'MISMATCH ({n})'}" for name, n in results["checks_after_sql"].items()))
        except Exception as err:  # noqa: BLE001
            log(f"    raw SQL baseline failed: {err}")
            results["push_sql"] = None
    finally:
        stop_server(server)
        db.close()
        if backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db.path + suffix):
                    os.remove(db.path + suffix)
    return results


# ---------------------------------------------------------------------------------------------
# Summary


def summarize(r):
    """Prints one backend's table; returns the failed correctness checks."""
    failures = []
    rows = []
    nan = float("nan")

    def verdict(ok):
        return "ok" if ok else "MISS"

    first, first_sql = r.get("first"), r.get("first_sql")
    if first:
        sql_s = first_sql["seconds"] if first_sql else nan
        rows.append(("first sync", f"{first['seconds']:.2f} s, {first['rows'] / first['seconds']:.0f} rows/s",
                     "≤ 10 s", f"{sql_s:.3f} s" if first_sql else "n/a",
                     f"{first['seconds'] / sql_s:.1f}× time" if first_sql else "n/a",
                     verdict(first["seconds"] <= 10)))
        rows_ok = (first["rows"] == first["expected"] and first["duplicates"] == 0
                   and first["resets"] == 0 and first["null_payloads"] == 0)
        rows.append(("  rows received / in SQL", f"{first['rows']} / {first['expected']} in {first['pages']} pages",
                     "equal, no dups", f"{first_sql['rows']} rows" if first_sql else "", "",
                     "ok" if rows_ok else "FAIL"))
        if not rows_ok:
            failures.append(f"{r['backend']}: first sync rows {first['rows']} vs {first['expected']} in SQL, "
                            f"{first['duplicates']} duplicates, {first['resets']} resets, "
                            f"{first['null_payloads']} null payloads")
        rows.append(("  server RSS start/max/end", f"{first['rss_start']:.0f} / {first['rss_max']:.0f} / "
                     f"{first['rss_end']:.0f} MB", "flat", "", "", ""))
    empty, empty_sql = r.get("empty"), r.get("empty_sql")
    if empty:
        pg = r["backend"] == "postgres"
        rows.append(("empty pull p50/p95/p99", f"{empty['p50']:.2f} / {empty['p95']:.2f} / {empty['p99']:.2f} ms",
                     "p95 ≤ 10 ms" if pg else "(PG target)",
                     f"avg {empty_sql['avg']:.3f} ms" if empty_sql else "n/a",
                     f"{empty['avg'] / empty_sql['avg']:.1f}× time (avg)" if empty_sql else "n/a",
                     verdict(empty["p95"] <= 10) if pg else "info"))
        rows.append(("  pulls with changes", f"{empty['bad']} of {EMPTY_PULLS}", "0", "", "",
                     "ok" if empty["bad"] == 0 else "FAIL"))
        if empty["bad"]:
            failures.append(f"{r['backend']}: {empty['bad']} empty pulls were not empty")
    push, push_sql = r.get("push"), r.get("push_sql")
    if push:
        rows.append(("sustained push", f"{push['mps']:.0f} mutations/s", "≥ 300/s",
                     f"{push_sql['tps']:.0f} ADD_COMMENT tx/s" if push_sql else "n/a",
                     f"{push['mps'] / push_sql['tps']:.2f}× rate" if push_sql else "n/a",
                     verdict(push["mps"] >= 300)))
        rows.append(("  push p50/p95 (batch of 20)", f"{push['p50']:.1f} / {push['p95']:.1f} ms", "",
                     f"avg {push_sql['avg']:.2f} ms / tx" if push_sql else "", "", ""))
        rows.append(("  errors", f"{push['errors']}", "0", f"{push_sql['failed']} failed" if push_sql else "", "",
                     "ok" if push["errors"] == 0 else "FAIL"))
        if push["errors"]:
            failures.append(f"{r['backend']}: {push['errors']} push errors")
    checks = r.get("checks")
    if checks:
        bad = {k: v for k, v in checks.items() if v}
        rows.append(("  counters = rows", "OK" if not bad else f"MISMATCH {bad}", "OK", "", "",
                     "ok" if not bad else "FAIL"))
        if bad:
            failures.append(f"{r['backend']}: counters differ from rows after the pushes: {bad}")
    poke = r.get("poke")
    if poke:
        rows.append(("poke → visible p50/p95", f"{poke['p50']:.1f} / {poke['p95']:.1f} ms", "p95 ≤ 500 ms",
                     f"pull SQL avg {empty_sql['avg']:.3f} ms" if empty_sql else "n/a",
                     f"{poke['p95'] / empty_sql['avg']:.0f}× time (p95)" if empty_sql else "n/a",
                     verdict(poke["p95"] <= 500 and poke["misses"] == 0)))
        if poke["misses"]:
            rows.append(("  not seen / not applied", f"{poke['misses']} of {POKES}", "0", "", "", "FAIL"))
            failures.append(f"{r['backend']}: {poke['misses']} poked suggestions not seen by device B")
    after = r.get("checks_after_sql")
    if after and any(after.values()):
        failures.append(f"{r['backend']}: counters differ after the raw-SQL baseline: {after}")

    title = f"{r['backend']}: {r.get('user', '?')} holds {r.get('visible', '?')} synced rows"
    headers = ("figure", "API", "target", "raw SQL", "API vs SQL", "")
    widths = [max(len(str(row[i])) for row in rows + [headers]) for i in range(len(headers))]
    log(f"\n{title}")
    for row in [headers] + rows:
        log("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--rows", type=int, default=100_000, help="synced rows the first-synced user holds (at least)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of sustained pushes (and of their SQL baseline)")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    if ws_connect is None:
        sys.exit("the websockets package is missing: pip install websockets")
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    if "postgres" in backends:
        common.pgbench_path()
        if not shutil.which("psql"):
            sys.exit("psql not found (install the PostgreSQL client package)")

    if not args.skip_build:
        log("building the release binary…")
        subprocess.run(["cargo", "build", "--release", "-p", "canyu"], cwd=common.ROOT, check=True)
    if not os.path.exists(common.BINARY):
        sys.exit(f"{common.BINARY} is missing: build it, or drop --skip-build")

    workdir = tempfile.mkdtemp(prefix="canyu-bench-sync-")
    all_results, failures = [], []
    for backend in backends:
        try:
            all_results.append(bench_backend(backend, args, workdir))
        except Exception as err:  # noqa: BLE001 - the other backend still runs
            traceback.print_exc()
            failures.append(f"{backend}: aborted: {type(err).__name__}: {err}")
    log("\n=== summary ===")
    for results in all_results:
        failures += summarize(results)
    if failures:
        log(f"\nfailed checks (server logs kept in {workdir}):")
        for failure in failures:
            log(f"  - {failure}")
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
