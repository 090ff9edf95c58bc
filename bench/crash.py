#!/usr/bin/env python3
"""Crash test: `kill -9` the release server mid-load, restart it on the same database, and check
that nothing acknowledged was lost, nothing was applied twice or half, and every counter still
equals its rows — on SQLite and on Postgres.

  python3 bench/crash.py [--database sqlite|postgres|both] [--votes 1000] [--concurrency 64]
                         [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--seed 1]

For each database: a fresh one (a temporary SQLite file, or the Postgres database `canyu_crash`),
`canyu migrate`, `canyu seed-demo --users 300 --suggestions 500 --votes 1000 --comments 200`,
`canyu create-admin --handle crash_admin` (password on stdin), then `target/release/canyu serve`
(copied into the temporary directory first, so a rebuild meanwhile does not change the binary
between the restarts) on 127.0.0.1:18093, and every fan logs in (fan00000…, canyu-demo-password).
The server always runs with RATE_LIMIT_MUTATIONS=1000000 (the payout loop of one admin and the
setup exceed 120 mutations a minute), PASSWORD_HASH_QUEUE=64 (300 log-ins of the setup) and
REQUEST_TIMEOUT_MS=30000 (concurrent pushes into a debug build); every other setting is the
default. Three phases follow, each with its own `kill -9` (SIGKILL to the
server process) and restart:

  (a) castVote: --votes castVote mutations (UP/DOWN/NONE, each different from the pair's previous
      value) by the 300 fans on 60 open suggestions of the two PUBLIC communities (every fan is an
      ACTIVE member), --concurrency requests at once; each user's requests are sequential, so the
      order of acknowledgements per (user, suggestion) is known. SIGKILL when half are
      acknowledged. After the restart, in SQL: for every acknowledged pair the vote's value is the
      last acknowledged one or one sent after it; every other pair holds its seeded value or a
      value that was sent; no two rows per (user, suggestion); every suggestion's upvotes, downvotes
      and score equal COUNT(UP), COUNT(DOWN) and their difference; PRAGMA integrity_check (SQLite).
  (b) push: 3 fans with 2 devices each (a client group and a client per device); each device's
      outbox holds 300 mutations (CREATE_SUGGESTION with client-made UUIDv7 ids, SET_VOTE,
      ADD_COMMENT with UUIDv7 ids), pushed in batches of 20–100; device A of each fan pulls after
      every push (its cursor lives across the crash), device B does not. SIGKILL when 40 % of the
      mutations are acknowledged. After the restart: the server's lastMutationId of every client is
      at least what its last answer said; every mutation with an id ≤ lastMutationId is applied
      exactly once (its suggestion or comment exists once, its ledger row exists) and none beyond
      it is; counters equal rows. Each device then re-pushes its unacknowledged tail: ids ≤ the
      server's lastMutationId must come back `replayed: true` and APPLIED, the rest APPLIED and not
      replayed; a replay of the first acknowledged batch must return the stored results (same
      outcome and seq). When every outbox is empty the checks run again for all ids, then device A
      pulls on from its cursor and device B from a null cursor, until hasMore is false: both
      devices of a fan must hold the same synced layer, equal to the rows in SQL that fan may see
      (suggestions and comments of their communities, their votes, memberships, ballots, records).
  (c) payouts: crash_admin adopts 10 suggestions (10 contributors each) and reports 30 sales
      reports, which accrue 3 000 PENDING revenue-share records; 3 admin threads then call
      approveRevenueShares on chunks of 30–100 ids and markRevenueSharesPaid on each approved
      chunk; SIGKILL when half the calls are answered. After the restart: every record is wholly in
      one status (APPROVED with approvedAt only, PAID with approvedAt, paidAt and payoutReference);
      every call moved all its records or none (one approvedAt per approve call, the call's
      payoutReference on every record of a pay call); every acknowledged call's records moved; the
      audit_log holds exactly one ACCRUED entry per record and one APPROVED / PAID entry per move.
      The unanswered calls are then sent again (a call that had committed must answer CONFLICT and
      move nothing), the loop is finished and the checks run again (all 3 000 PAID).

No "panicked" may appear in the server's log. Prints a summary table per database (writes
acknowledged, found exactly once, counters ok, integrity ok, pulls converged) and every violation
(which check, which rows); exits non-zero on any. Everything talks to 127.0.0.1 only and is
bounded in time (30 s per request, 90 s for a start); the server is stopped and the temporary
directory removed at the end (kept, with the server logs, when a check fails).
"""

import argparse
import collections
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# CANYU_BIN names another build (CI uses the debug one it has already built).
BINARY = os.environ.get("CANYU_BIN") or os.path.join(ROOT, "target", "release", "canyu")
PORT = 18093
PG_DB = "canyu_crash"
PASSWORD = "canyu-demo-password"
ADMIN = "crash_admin"
ADMIN_PASSWORD = "crash-admin-password-1"
SEED = {"users": 300, "suggestions": 500, "votes": 1000, "comments": 200}
VOTABLE = "('OPEN', 'UNDER_REVIEW', 'PLANNED', 'IN_PROGRESS')"
SERVER_VARIABLES = ("CANYU_", "GRAPHQL_", "WS_", "RATE_LIMIT_", "PASSWORD_HASH_", "TRUSTED_PROXY_",
                    "REQUEST_TIMEOUT_", "DATABASE_", "BIND_ADDR", "ACCESS_TOKEN_", "REFRESH_TOKEN_",
                    "PARTNER_TOKEN_", "SYNC_", "JWT_", "CORS_", "RUST_LOG")
# Raised for the whole run (and printed): one admin's payout loop and the setup exceed the
# default 120 mutations a minute, 300 log-ins would overflow the default hashing queue of 16, and
# six devices pushing batches of 100 at once into a debug build on 2 cores can pass the default
# 5 s time limit (what is under test is what survives the kill, not latency).
SERVER_ENV = {"RATE_LIMIT_MUTATIONS": "1000000", "PASSWORD_HASH_QUEUE": "64", "REQUEST_TIMEOUT_MS": "30000",
              "ACCESS_TOKEN_TTL_SECS": "7200", "DATABASE_MAX_CONNECTIONS": "16", "CANYU_ENV": "production",
              "RUST_LOG": "warn"}
REQUEST_TIMEOUT = 30

LOGIN_QUERY = "mutation($i: LogInInput!) { logIn(input: $i) { accessToken user { id } } }"
VOTE_QUERY = ("mutation($s: ID!, $v: VoteValue!) { castVote(input: {suggestionId: $s, value: $v}) "
              "{ upvotes downvotes score viewerVote } }")
PUSH_QUERY = ("mutation($i: PushInput!) { push(input: $i) { lastMutationId retryAfterMs "
              "results { id outcome replayed code message seq } } }")
PULL_QUERY = """query($i: PullInput!) { pull(input: $i) {
  reset hasMore cursor userId scopeEvents { scope kind } acks { clientId lastMutationId }
  changes { __typename
    ... on SuggestionChange { seq op scope entityId
          suggestion { id title status upvotes downvotes score commentCount } }
    ... on CommentChange { seq op scope entityId comment { id suggestionId body } }
    ... on VoteChange { seq op scope entityId vote { id suggestionId userId value } }
    ... on MembershipChange { seq op scope entityId membership { id communityId status } }
    ... on CommunityChange { seq op scope entityId community { id } }
    ... on PollChange { seq op scope entityId poll { id } }
    ... on BallotChange { seq op scope entityId ballot { id } }
    ... on RevenueShareChange { seq op scope entityId record { id status } }
    ... on GrowthEventChange { seq op scope entityId event { id } }
    ... on ReleaseChange { seq op scope entityId release { id } }
    ... on SanctionChange { seq op scope entityId sanction { id } }
    ... on AppealChange { seq op scope entityId appeal { id } } } } }"""
PULL_LIMIT = 500
ADOPT_QUERY = "mutation($i: AdoptSuggestionInput!) { adoptSuggestion(input: $i) { id } }"
REPORT_QUERY = "mutation($i: ReportSalesInput!) { reportSales(input: $i) { id recordCount } }"
APPROVE_QUERY = "mutation($ids: [ID!]!) { approveRevenueShares(ids: $ids) { id status approvedAt } }"
PAY_QUERY = ("mutation($ids: [ID!]!, $r: String!) { markRevenueSharesPaid(ids: $ids, payoutReference: $r) "
             "{ id status paidAt payoutReference } }")


def log(*parts):
    print(*parts, flush=True)


class Violations(list):
    """Every failed check, as 'which check: which rows'."""

    def add(self, check, detail, rows=None, limit=10):
        rows = list(rows or [])
        text = f"{check}: {detail}"
        if rows:
            shown = "; ".join(str(r) for r in rows[:limit])
            more = f" … and {len(rows) - limit} more" if len(rows) > limit else ""
            text += f" — {shown}{more}"
        self.append(text)
        log(f"    VIOLATION {text}")


def uuid7():
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = ((ms & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (((rand >> 62) & 0xFFF) << 64) \
        | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


# ---------------------------------------------------------------------------------------------
# HTTP


class Transport(Exception):
    """No complete answer arrived: the request may or may not have been applied."""


class GraphQLError(RuntimeError):
    def __init__(self, errors):
        self.errors = errors
        self.codes = [(e.get("extensions") or {}).get("code") for e in errors]
        super().__init__("; ".join(f"{e.get('message')} [{c}]" for e, c in zip(errors, self.codes)))


class Http:
    """One keep-alive connection to /graphql. Never resends: a lost answer is `Transport`. A
    connection idle for IDLE_REOPEN seconds is replaced before it is used, since the server
    closes idle ones after 5 s and a request written into one it is closing is lost."""

    IDLE_REOPEN = 2.0

    def __init__(self, port=PORT, token=None, timeout=REQUEST_TIMEOUT):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = None
        self.used = 0.0

    def post(self, query, variables, token=None):
        body = json.dumps({"query": query, "variables": variables}).encode()
        headers = {"Content-Type": "application/json"}
        token = token or self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.conn is not None and time.monotonic() - self.used > self.IDLE_REOPEN:
            self.close()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.used = time.monotonic()
            self.conn.request("POST", "/graphql", body, headers)
            response = self.conn.getresponse()
            data = response.read()
            self.used = time.monotonic()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            raise Transport(f"{type(err).__name__}: {err}") from None
        try:
            parsed = json.loads(data)
        except ValueError:
            self.close()
            raise Transport(f"HTTP {response.status}, not JSON: {data[:200]!r}") from None
        if response.will_close:
            self.close()
        return parsed

    def field(self, query, variables, name):
        body = self.post(query, variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"][name]

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


def healthz(port=PORT, timeout=1.0):
    """(status, body) of GET /healthz, or (None, error text)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body.decode(errors="replace")
    except (OSError, http.client.HTTPException) as err:
        return None, f"{type(err).__name__}: {err}"


# ---------------------------------------------------------------------------------------------
# Databases


def text(value):
    """A column value as text: UUID blobs in their usual form, NULL as None."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return str(uuid.UUID(bytes=bytes(value)))
    return str(value)


class Database:
    def __init__(self, backend, admin_url, workdir, name=PG_DB):
        self.backend, self.admin_url = backend, admin_url
        self._sqlite = None
        if backend == "postgres":
            self.name = name
            self.url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
            self.server_url = self.url
        else:
            self.path = os.path.join(workdir, "crash.db")
            self.server_url = f"sqlite://{self.path}?mode=rwc"

    def create(self):
        if self.backend == "postgres":
            psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            psql(self.admin_url, f"CREATE DATABASE {self.name}")
        else:
            self.remove_files()

    def drop(self):
        self.close()
        if self.backend == "postgres":
            try:
                psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            except subprocess.CalledProcessError as err:
                log(f"could not drop {self.name}: {err.stderr.strip()}")
        else:
            self.remove_files()

    def remove_files(self):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.remove(self.path + suffix)

    def sqlite(self):
        if self._sqlite is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 30000")
            self._sqlite = conn
        return self._sqlite

    def close(self):
        """Closes the reading connection (before a load, so only the server holds the file)."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    def rows(self, sql):
        """Every row of a query, each value as text (or None)."""
        if self.backend == "postgres":
            out = psql(self.url, sql, raw=True)
            if out.endswith("\n"):
                out = out[:-1]
            if out == "":
                return []
            return [[None if v == "<NULL>" else v for v in rec.split("\x1f")] for rec in out.split("\x1e")]
        return [[text(v) for v in row] for row in self.sqlite().execute(sql).fetchall()]

    def scalar(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def integrity(self):
        """PRAGMA integrity_check's answer (SQLite), or None on Postgres."""
        if self.backend != "sqlite":
            return None
        return "; ".join(r[0] for r in self.sqlite().execute("PRAGMA integrity_check").fetchall())

    def counter_mismatches(self):
        """Suggestions whose vote counters or comment_count differ from their rows."""
        return self.rows("""
            SELECT s.id, s.upvotes, s.downvotes, s.score, COALESCE(v.up, 0), COALESCE(v.down, 0),
                   s.comment_count, COALESCE(c.n, 0)
            FROM suggestion s
            LEFT JOIN (SELECT suggestion_id, SUM(CASE WHEN value = 'UP' THEN 1 ELSE 0 END) AS up,
                              SUM(CASE WHEN value = 'DOWN' THEN 1 ELSE 0 END) AS down
                       FROM vote GROUP BY suggestion_id) v ON v.suggestion_id = s.id
            LEFT JOIN (SELECT suggestion_id, COUNT(*) AS n FROM comment WHERE deleted_at IS NULL
                       GROUP BY suggestion_id) c ON c.suggestion_id = s.id
            WHERE s.upvotes <> COALESCE(v.up, 0) OR s.downvotes <> COALESCE(v.down, 0)
               OR s.score <> COALESCE(v.up, 0) - COALESCE(v.down, 0)
               OR s.comment_count <> COALESCE(c.n, 0)
            ORDER BY s.id""")

    def duplicate_votes(self):
        return self.rows("SELECT user_id, suggestion_id, COUNT(*) FROM vote GROUP BY user_id, suggestion_id "
                         "HAVING COUNT(*) > 1")


def psql(url, sql, raw=False):
    cmd = ["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-Atq"]
    if raw:
        cmd += ["-F", "\x1f", "-R", "\x1e", "-P", "null=<NULL>"]
    out = subprocess.run(cmd + ["-c", sql], check=True, capture_output=True, text=True, timeout=120).stdout
    return out if raw else out.strip()


def run_cli(binary, args, env, stdin=None):
    try:
        return subprocess.run([binary] + args, env=env, input=stdin, check=True, capture_output=True,
                              text=True, timeout=300).stdout
    except subprocess.CalledProcessError as err:
        log(f"`canyu {' '.join(args)}` failed ({err.returncode}): {err.stderr.strip()[-2000:]}")
        raise


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(SERVER_VARIABLES)}


def copy_binary(workdir):
    """Copies the release binary (waiting up to 3 minutes while it is being rebuilt)."""
    deadline = time.time() + 180
    while True:
        try:
            target = os.path.join(workdir, "canyu")
            shutil.copy2(BINARY, target)
            os.chmod(target, 0o755)
            # A half-written binary would fail here; try again then.
            subprocess.run([target, "--help"], check=True, capture_output=True, timeout=30)
            with open(target, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:12]
            return target, digest, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(BINARY)))
        except (OSError, subprocess.SubprocessError) as err:
            if time.time() > deadline:
                sys.exit(f"{BINARY} is not usable: {err}")
            log(f"waiting for {BINARY} ({err})…")
            time.sleep(10)


# ---------------------------------------------------------------------------------------------
# The server


class Server:
    def __init__(self, binary, db_url, workdir, label, port=PORT, extra=None, base=None):
        self.binary, self.db_url, self.port = binary, db_url, port
        self.extra = dict(SERVER_ENV if base is None else base, **(extra or {}))
        self.logpath = os.path.join(workdir, f"{label}.log")
        self.process = None
        self.starts = 0

    def port_busy(self):
        import socket
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def start(self, timeout=90):
        """Starts `canyu serve` and waits for /healthz 200; returns the seconds it took."""
        if self.port_busy():
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use")
        env = clean_env()
        env.update({"DATABASE_URL": self.db_url, "BIND_ADDR": f"127.0.0.1:{self.port}"})
        env.update(self.extra)
        self.starts += 1
        with open(self.logpath, "ab") as out:
            out.write(f"\n===== start {self.starts} at {time.strftime('%H:%M:%S')} =====\n".encode())
            out.flush()
            started = time.perf_counter()
            self.process = subprocess.Popen([self.binary, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode} at start; see {self.logpath}")
            if healthz(self.port)[0] == 200:
                return time.perf_counter() - started
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not answer /healthz 200 in {timeout} s; see {self.logpath}")

    def kill9(self):
        """SIGKILL to the server process, no warning; returns once it is gone."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        with open(self.logpath, "ab") as out:
            out.write(f"\n===== SIGKILL at {time.strftime('%H:%M:%S')} =====\n".encode())

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass

    def panics(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return [line.rstrip() for line in f if "panicked" in line]
        except OSError:
            return []


# ---------------------------------------------------------------------------------------------
# Shared setup


class Context:
    """One database's run: the database, the server, the fans' tokens and the targets."""

    def __init__(self, backend, args, workdir, binary):
        self.backend, self.args, self.workdir = backend, args, workdir
        self.rng = random.Random(args.seed)
        self.db = Database(backend, args.admin_url, workdir)
        self.server = Server(binary, self.db.server_url, workdir, f"server-{backend}")
        self.binary = binary
        self.violations = Violations()
        self.rows = []  # summary rows
        self.tokens = {}  # handle -> (token, user id)

    def restart_after_kill(self):
        """Restarts on the same database; returns the seconds to /healthz 200."""
        seconds = self.server.start()
        log(f"    restarted on the same database: /healthz 200 after {seconds:.2f} s")
        return seconds

    def check_integrity(self, label):
        answer = self.db.integrity()
        if answer is None:
            return "n/a (PG)"
        if answer != "ok":
            self.violations.add(f"{label}: PRAGMA integrity_check", answer)
            return "FAIL"
        return "ok"

    def check_counters(self, label):
        bad = self.db.counter_mismatches()
        if bad:
            self.violations.add(
                f"{label}: counters = rows", f"{len(bad)} suggestions differ "
                "(id, upvotes, downvotes, score, COUNT(UP), COUNT(DOWN), comment_count, COUNT(comments))", bad)
        total = int(self.db.scalar("SELECT COUNT(*) FROM suggestion"))
        dups = self.db.duplicate_votes()
        if dups:
            self.violations.add(f"{label}: one vote row per (user, suggestion)", f"{len(dups)} pairs with several rows "
                                "(user, suggestion, rows)", dups)
        return bad, dups, total


def setup(ctx):
    db, args = ctx.db, ctx.args
    db.create()
    env = clean_env()
    env.update({"DATABASE_URL": db.server_url, "RUST_LOG": "warn"})
    run_cli(ctx.binary, ["migrate"], env)
    seeded = run_cli(ctx.binary, ["seed-demo"] + [x for k, v in SEED.items() for x in (f"--{k}", str(v))], env)
    log("  " + seeded.strip().replace("\n", "\n  "))
    run_cli(ctx.binary, ["create-admin", "--handle", ADMIN], env, stdin=ADMIN_PASSWORD + "\n")
    if ctx.backend == "postgres":
        psql(db.url, "ANALYZE")
    ctx.public = [r[0] for r in db.rows("SELECT id FROM community WHERE visibility = 'PUBLIC' ORDER BY slug")]
    public_list = ", ".join(f"'{c}'" for c in ctx.public)
    ctx.users = {h: uid for uid, h in db.rows('SELECT id, handle FROM "user" WHERE handle LIKE \'fan%\' ORDER BY handle')}
    members = collections.defaultdict(set)
    for uid, cid in db.rows("SELECT user_id, community_id FROM membership WHERE status = 'ACTIVE'"):
        members[uid].add(cid)
    ctx.members = members
    # Open suggestions of the public communities, in an order independent of the backend.
    if db.backend == "sqlite":
        in_public = "(" + ", ".join(f"X'{uuid.UUID(c).hex}'" for c in ctx.public) + ")"
    else:
        in_public = f"({public_list})"
    open_rows = db.rows(f"SELECT id, community_id, status FROM suggestion WHERE community_id IN {in_public} "
                        f"AND deleted_at IS NULL AND status IN {VOTABLE}")
    open_rows.sort(key=lambda r: r[0])
    ctx.rng.shuffle(open_rows)
    ctx.vote_pool = [r[0] for r in open_rows[:60]]
    ctx.adoptable = [r[0] for r in open_rows[60:] if r[2] in ("OPEN", "UNDER_REVIEW")][:10]
    ctx.suggestion_community = {r[0]: r[1] for r in open_rows}
    log(f"  {len(ctx.users)} fans; {len(ctx.public)} public communities; {len(open_rows)} open suggestions in them; "
        f"vote pool {len(ctx.vote_pool)}, adoptable {len(ctx.adoptable)}")
    for handle, uid in ctx.users.items():
        missing = [c for c in ctx.public if c not in members[uid]]
        if missing:
            raise RuntimeError(f"{handle} is not an ACTIVE member of {missing}")


def log_in_all(ctx):
    handles = sorted(ctx.users) + [ADMIN]
    started = time.perf_counter()
    errors = []
    lock = threading.Lock()
    queue = list(handles)

    def work():
        http_ = Http()
        while True:
            with lock:
                if not queue:
                    break
                handle = queue.pop()
            password = ADMIN_PASSWORD if handle == ADMIN else PASSWORD
            try:
                payload = http_.field(LOGIN_QUERY, {"i": {"handle": handle, "password": password}}, "logIn")
                with lock:
                    ctx.tokens[handle] = (payload["accessToken"], payload["user"]["id"])
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(f"{handle}: {err}")
        http_.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    if errors:
        raise RuntimeError(f"{len(errors)} log-ins failed: {errors[:3]}")
    log(f"  {len(ctx.tokens)} accounts logged in in {time.perf_counter() - started:.1f} s")


class InFlight:
    """Counts requests sent and not yet answered, and answers, across worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.answered = 0

    def begin(self):
        with self.lock:
            self.in_flight += 1

    def end(self, answered):
        with self.lock:
            self.in_flight -= 1
            if answered:
                self.answered += 1


def run_until_kill(ctx, threads, kill_now, stop, counters):
    """Starts the load's `threads`, kills the server with `kill -9` as soon as `kill_now` is
    set (with the requests then in flight left in flight), and waits for the threads. Returns
    whether it killed, how many requests were in flight then, and after how many seconds."""
    started = time.perf_counter()
    for t in threads:
        t.start()
    finished = threading.Thread(target=lambda: [t.join() for t in threads], daemon=True)
    finished.start()
    while not kill_now.wait(0.002):
        if not finished.is_alive():
            break
    with counters.lock:
        in_flight = counters.in_flight
    killed = kill_now.is_set()
    stop.set()  # no new requests; those in flight stay in flight
    if killed:
        ctx.server.kill9()
    kill_seconds = time.perf_counter() - started
    finished.join(timeout=REQUEST_TIMEOUT * 3)
    return killed, in_flight, kill_seconds


# ---------------------------------------------------------------------------------------------
# (a) castVote


def phase_votes(ctx):
    db, args, rng = ctx.db, ctx.args, ctx.rng
    label = "(a) castVote"
    log(f"{label}: {args.votes} votes, {args.concurrency} at once, SIGKILL at {args.votes // 2} acknowledged…")
    fans = sorted(ctx.users)
    pool = ctx.vote_pool
    pool_set = set(pool)
    seeded = {}
    for uid, sid, value in db.rows("SELECT user_id, suggestion_id, value FROM vote"):
        if sid in pool_set:
            seeded[(uid, sid)] = value
    # The plan: (handle, suggestion, value), each value different from the pair's previous one.
    last = {}
    pairs_of = collections.defaultdict(list)
    plan = []
    for _ in range(args.votes):
        handle = rng.choice(fans)
        uid = ctx.users[handle]
        if pairs_of[handle] and rng.random() < 0.35:
            sid = rng.choice(pairs_of[handle])
        else:
            sid = rng.choice(pool)
            if sid not in pairs_of[handle]:
                pairs_of[handle].append(sid)
        previous = last.get((uid, sid), seeded.get((uid, sid), "NONE"))
        value = rng.choice([v for v in ("UP", "DOWN", "NONE") if v != previous])
        last[(uid, sid)] = value
        plan.append((handle, sid, value))
    workers = args.concurrency
    queues = [[] for _ in range(workers)]
    slot = {h: i % workers for i, h in enumerate(fans)}
    for step in plan:
        queues[slot[step[0]]].append(step)

    attempts = collections.defaultdict(list)  # (uid, sid) -> [(value, outcome)] in send order
    lock = threading.Lock()
    counters = InFlight()
    acked = [0]
    errors = collections.Counter()
    inconsistent = []
    kill_now = threading.Event()
    stop = threading.Event()
    kill_after = max(1, int(args.votes * args.kill_at))

    def work(queue):
        client = Http()
        for handle, sid, value in queue:
            if stop.is_set():
                break
            uid = ctx.users[handle]
            entry = [value, "lost"]
            with lock:
                attempts[(uid, sid)].append(entry)
            counters.begin()
            try:
                body = client.post(VOTE_QUERY, {"s": sid, "v": value}, token=ctx.tokens[handle][0])
            except Transport:
                counters.end(False)
                continue
            counters.end(True)
            if body.get("errors"):
                code = ((body["errors"][0].get("extensions") or {}).get("code"))
                entry[1] = f"error {code}"
                with lock:
                    errors[code] += 1
                continue
            vote = body["data"]["castVote"]
            entry[1] = "ack"
            with lock:
                acked[0] += 1
                if vote["viewerVote"] != value or vote["score"] != vote["upvotes"] - vote["downvotes"]:
                    inconsistent.append((handle, sid, value, vote))
                if acked[0] >= kill_after:
                    kill_now.set()
        client.close()

    threads = [threading.Thread(target=work, args=(q,), daemon=True) for q in queues if q]
    db.close()
    killed, in_flight, kill_seconds = run_until_kill(ctx, threads, kill_now, stop, counters)
    sent = sum(len(v) for v in attempts.values())
    log(f"    SIGKILL after {kill_seconds:.2f} s: {acked[0]} acknowledged, {in_flight} in flight, "
        f"{sent} sent of {args.votes}; error answers {dict(errors)}" if killed else
        f"    WARNING: the load ended before the kill ({acked[0]} acknowledged)")
    if not killed:
        ctx.violations.add(f"{label}: kill mid-load", "the load finished before the kill threshold")
    restart = ctx.restart_after_kill()

    # Checks.
    current = {(uid, sid): value for uid, sid, value in db.rows("SELECT user_id, suggestion_id, value FROM vote")}
    lost, phantom, found = [], [], 0
    acked_pairs = 0
    handle_of = {uid: h for h, uid in ctx.users.items()}
    for (uid, sid), entries in attempts.items():
        db_value = current.get((uid, sid), "NONE")
        last_ack = max((i for i, (_, outcome) in enumerate(entries) if outcome == "ack"), default=None)
        if last_ack is not None:
            acked_pairs += 1
            allowed = {entries[last_ack][0]} | {v for v, o in entries[last_ack + 1:] if o == "lost"}
            if db_value in allowed:
                found += 1
            else:
                lost.append((handle_of[uid], sid, f"row {db_value}", [f"{v}:{o}" for v, o in entries]))
        else:
            allowed = {seeded.get((uid, sid), "NONE")} | {v for v, o in entries if o == "lost"}
            if db_value not in allowed:
                phantom.append((handle_of[uid], sid, f"row {db_value}", f"seeded {seeded.get((uid, sid), 'NONE')}",
                                [f"{v}:{o}" for v, o in entries]))
    if lost:
        ctx.violations.add(f"{label}: acknowledged vote present", f"{len(lost)} of {acked_pairs} acknowledged pairs "
                           "hold neither the last acknowledged value nor a later unacknowledged one "
                           "(fan, suggestion, row, attempts in order)", lost)
    if phantom:
        ctx.violations.add(f"{label}: unacknowledged pairs", f"{len(phantom)} pairs hold a value never sent", phantom)
    if inconsistent:
        ctx.violations.add(f"{label}: answers", f"{len(inconsistent)} answers whose viewerVote is not the value sent",
                           inconsistent)
    bad, dups, total = ctx.check_counters(label)
    integrity = ctx.check_integrity(label)
    ctx.rows.append({
        "phase": label, "acked": f"{acked[0]} votes ({acked_pairs} pairs)",
        "once": f"{found}/{acked_pairs} pairs" + ("" if not dups else f", {len(dups)} dup pairs"),
        "counters": "ok" if not bad else f"FAIL {len(bad)}/{total}",
        "integrity": integrity, "pulls": "—",
        "kill": f"{kill_seconds:.1f} s, {in_flight} in flight", "restart": f"{restart:.2f} s"})


# ---------------------------------------------------------------------------------------------
# (b) push


def pull_vars(group, cursor):
    return {"i": {"clientGroupId": group, "protocolVersion": 1, "schemaVersion": 2, "cursor": cursor,
                  "limit": PULL_LIMIT}}


def push_vars(group, client, mutations):
    return {"i": {"clientGroupId": group, "clientId": client, "protocolVersion": 1, "schemaVersion": 2,
                  "mutations": mutations}}


PAYLOAD_FIELD = {"SuggestionChange": "suggestion", "CommentChange": "comment", "VoteChange": "vote",
                 "MembershipChange": "membership", "CommunityChange": "community", "PollChange": "poll",
                 "BallotChange": "ballot", "RevenueShareChange": "record", "GrowthEventChange": "event",
                 "ReleaseChange": "release", "SanctionChange": "sanction", "AppealChange": "appeal"}


class Device:
    """One client group with one client, its outbox and (when it pulls) its synced layer."""

    def __init__(self, handle, name, token, user_id, pulls):
        self.handle, self.name, self.user_id, self.pulls = handle, name, user_id, pulls
        self.token = token
        self.group, self.client = str(uuid.uuid4()), str(uuid.uuid4())
        self.outbox = []  # mutation dicts, ids 1..N
        self.acked = 0  # lastMutationId of the last answer received
        self.results = {}  # mutation id -> result as first answered
        self.batches = []  # (first id, last id) of every answered push
        self.cursor = None
        self.layer = {}  # (typename, entity id) -> {scope: (seq, payload)}
        self.pull_pages = 0
        self.last_acks = {}
        self.failure = None
        self.http = Http(token=token)

    def apply_page(self, page):
        if page["reset"]:
            self.layer.clear()
        for event in page["scopeEvents"]:
            if event["kind"] == "REMOVED":
                for key in list(self.layer):
                    self.layer[key].pop(event["scope"], None)
                    if not self.layer[key]:
                        del self.layer[key]
        for change in page["changes"]:
            key = (change["__typename"], change["entityId"])
            if change["op"] == "DELETE":
                entry = self.layer.get(key)
                if entry is not None:
                    entry.pop(change["scope"], None)
                    if not entry:
                        del self.layer[key]
                continue
            payload = change.get(PAYLOAD_FIELD[change["__typename"]])
            self.layer.setdefault(key, {})[change["scope"]] = (int(change["seq"]), payload)
        for ack in page["acks"]:
            self.last_acks[ack["clientId"]] = ack["lastMutationId"]

    def pull_all(self, max_pages=1000):
        for _ in range(max_pages):
            page = self.http.field(PULL_QUERY, pull_vars(self.group, self.cursor), "pull")
            self.apply_page(page)
            self.cursor = page["cursor"]
            self.pull_pages += 1
            if not page["hasMore"]:
                return
        raise RuntimeError(f"{self.name}: still hasMore after {max_pages} pages")

    def view(self):
        """The synced layer as {(typename, id): normalized row}, the newest copy of each row."""
        out = {}
        for key, scopes in self.layer.items():
            _seq, payload = max(scopes.values(), key=lambda sp: sp[0])
            out[key] = normalize(key[0], payload)
        return out


def normalize(typename, payload):
    if payload is None:
        return None
    if typename == "SuggestionChange":
        return (payload["id"], payload["title"], payload["status"], str(payload["upvotes"]),
                str(payload["downvotes"]), str(payload["score"]), str(payload["commentCount"]))
    if typename == "CommentChange":
        return (payload["id"], payload["suggestionId"], payload["body"])
    if typename == "VoteChange":
        return (payload["id"], payload["suggestionId"], payload["userId"], payload["value"])
    if typename == "MembershipChange":
        return (payload["id"], payload["communityId"], payload["status"])
    if typename == "RevenueShareChange":
        return (payload["id"], payload["status"])
    return (payload["id"],)


def expected_view(db, user_id):
    """What `user_id` may see, from SQL, in the shape of Device.view()."""
    communities = {c for u, c, s in db.rows("SELECT user_id, community_id, status FROM membership")
                   if u == user_id and s == "ACTIVE"}
    view = {}
    for cid in communities:
        view[("CommunityChange", cid)] = (cid,)
    suggestions = set()
    for sid, cid, title, status, up, down, score, cc in db.rows(
            "SELECT id, community_id, title, status, upvotes, downvotes, score, comment_count FROM suggestion "
            "WHERE deleted_at IS NULL"):
        if cid in communities:
            suggestions.add(sid)
            view[("SuggestionChange", sid)] = (sid, title, status, up, down, score, cc)
    for cid_, sid, body in db.rows("SELECT id, suggestion_id, body FROM comment WHERE deleted_at IS NULL"):
        if sid in suggestions:
            view[("CommentChange", cid_)] = (cid_, sid, body)
    for vid, sid, uid, value in db.rows("SELECT id, suggestion_id, user_id, value FROM vote"):
        if uid == user_id:
            view[("VoteChange", vid)] = (vid, sid, uid, value)
    for mid, cid, uid, status in db.rows("SELECT id, community_id, user_id, status FROM membership"):
        if uid == user_id:
            view[("MembershipChange", mid)] = (mid, cid, status)
    for pid, cid in db.rows("SELECT id, community_id FROM pricing_poll"):
        if cid in communities:
            view[("PollChange", pid)] = (pid,)
    for bid, uid in db.rows("SELECT id, user_id FROM pricing_ballot"):
        if uid == user_id:
            view[("BallotChange", bid)] = (bid,)
    for rid, uid, status in db.rows("SELECT id, beneficiary_id, status FROM revenue_share_record"):
        if uid == user_id:
            view[("RevenueShareChange", rid)] = (rid, status)
    for gid, uid in db.rows("SELECT id, user_id FROM growth_event"):
        if uid == user_id:
            view[("GrowthEventChange", gid)] = (gid,)
    for rid, cid in db.rows("SELECT id, community_id FROM release WHERE published_at IS NOT NULL"):
        if cid in communities:
            view[("ReleaseChange", rid)] = (rid,)
    for sid, uid in db.rows("SELECT id, user_id FROM sanction"):
        if uid == user_id:
            view[("SanctionChange", sid)] = (sid,)
    for aid, uid in db.rows("SELECT id, user_id FROM appeal"):
        if uid == user_id:
            view[("AppealChange", aid)] = (aid,)
    return view


def diff_views(a, b):
    """Differences between two views, by type: keys only in a, only in b, rows that differ."""
    out = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            out.append(f"{key[0]} {key[1]} only in the first {a[key]}")
        elif key not in a:
            out.append(f"{key[0]} {key[1]} only in the second {b[key]}")
        elif a[key] != b[key]:
            out.append(f"{key[0]} {key[1]}: {a[key]} vs {b[key]}")
    return out


def build_outbox(ctx, device, tag, n):
    rng = ctx.rng
    own = []
    for mid in range(1, n + 1):
        r = rng.random()
        if r < 0.3:
            sid = uuid7()
            community = rng.choice(ctx.public)
            own.append(sid)
            device.outbox.append({"id": mid, "name": "CREATE_SUGGESTION",
                                  "args": {"id": sid, "communityId": community, "kind": "IDEA",
                                           "title": f"crash-push {tag} {mid}", "body": f"pushed by {tag}"}})
        else:
            target = rng.choice(own) if own and rng.random() < 0.4 else rng.choice(ctx.vote_pool)
            if r < 0.65:
                device.outbox.append({"id": mid, "name": "SET_VOTE",
                                      "args": {"suggestionId": target, "value": rng.choice(["UP", "DOWN", "NONE"])}})
            else:
                device.outbox.append({"id": mid, "name": "ADD_COMMENT",
                                      "args": {"id": uuid7(), "suggestionId": target,
                                               "body": f"crash-comment {tag} {mid}"}})


def push_effects(db):
    """Server state of the pushed mutations: ({client: lastMutationId}, {(client, id): outcome},
    {suggestion id: count}, {title: count}, {comment id: count}, {body: count})."""
    last = {cid: int(lm) for cid, lm in db.rows("SELECT id, last_mutation_id FROM sync_client")}
    ledger = {(cid, int(mid)): outcome for cid, mid, outcome in
              db.rows("SELECT client_id, mutation_id, outcome FROM sync_mutation_ledger")}
    by_id, by_title = collections.Counter(), collections.Counter()
    for sid, title in db.rows("SELECT id, title FROM suggestion WHERE title LIKE 'crash-push %'"):
        by_id[sid] += 1
        by_title[title] += 1
    cby_id, cby_body = collections.Counter(), collections.Counter()
    for cid, body in db.rows("SELECT id, body FROM comment WHERE body LIKE 'crash-comment %'"):
        cby_id[cid] += 1
        cby_body[body] += 1
    return last, ledger, by_id, by_title, cby_id, cby_body


def check_exactly_once(ctx, label, devices):
    """Every mutation ≤ the server's lastMutationId applied once, none beyond; returns counts."""
    last, ledger, by_id, by_title, cby_id, cby_body = push_effects(ctx.db)
    missing, extra, twice, behind = [], [], [], []
    applied = 0
    for d in devices:
        server_last = last.get(d.client, 0)
        if server_last < d.acked:
            behind.append((d.name, f"answered lastMutationId {d.acked}", f"server holds {server_last}"))
        for m in d.outbox:
            mid, name, a = m["id"], m["name"], m["args"]
            inside = mid <= server_last
            problems = []
            if ((d.client, mid) in ledger) != inside:
                problems.append("ledger row " + ("missing" if inside else "present"))
            if name == "CREATE_SUGGESTION":
                n_id, n_title = by_id.get(a["id"], 0), by_title.get(a["title"], 0)
                if inside and (n_id != 1 or n_title != 1):
                    problems.append(f"suggestion rows by id {n_id}, by title {n_title}")
                if not inside and (n_id or n_title):
                    problems.append(f"suggestion beyond lastMutationId exists (by id {n_id}, by title {n_title})")
            elif name == "ADD_COMMENT":
                n_id, n_body = cby_id.get(a["id"], 0), cby_body.get(a["body"], 0)
                if inside and (n_id != 1 or n_body != 1):
                    problems.append(f"comment rows by id {n_id}, by body {n_body}")
                if not inside and (n_id or n_body):
                    problems.append(f"comment beyond lastMutationId exists (by id {n_id}, by body {n_body})")
            if inside and ledger.get((d.client, mid)) not in (None, "APPLIED"):
                problems.append(f"ledger outcome {ledger.get((d.client, mid))}")
            if problems:
                row = (d.name, mid, name, a.get("id") or a.get("suggestionId"), ", ".join(problems))
                (missing if inside else extra).append(row)
            elif inside:
                applied += 1
    if behind:
        ctx.violations.add(f"{label}: acknowledged mutations kept", "a client's lastMutationId went back "
                           "(device, answered, server)", behind)
    if missing:
        ctx.violations.add(f"{label}: applied exactly once (id ≤ lastMutationId)", f"{len(missing)} mutations "
                           "(device, id, name, entity, problem)", missing)
    if extra:
        ctx.violations.add(f"{label}: nothing beyond lastMutationId", f"{len(extra)} mutations "
                           "(device, id, name, entity, problem)", extra)
    inside_total = sum(min(last.get(d.client, 0), len(d.outbox)) for d in devices)
    return applied, inside_total, last, not (behind or missing or extra)


def phase_push(ctx):
    db, args, rng = ctx.db, ctx.args, ctx.rng
    label = "(b) push"
    fans = ["fan00001", "fan00002", "fan00003"]
    devices = []
    for handle in fans:
        token, uid = ctx.tokens[handle]
        for name, pulls in (("A", True), ("B", False)):
            d = Device(handle, f"{handle}/{name}", token, uid, pulls)
            build_outbox(ctx, d, f"{handle}{name}", args.push_mutations)
            devices.append(d)
    total = sum(len(d.outbox) for d in devices)
    kill_after = int(total * 0.4)
    log(f"{label}: {len(devices)} devices of {len(fans)} fans, {total} mutations in batches of 20–100, "
        f"SIGKILL at {kill_after} acknowledged…")
    for d in devices:
        if d.pulls:
            d.pull_all()
    log(f"    devices A synced first: {[len(d.layer) for d in devices if d.pulls]} rows")

    lock = threading.Lock()
    acked = [0]
    counters = InFlight()
    kill_now, stop = threading.Event(), threading.Event()
    pre_kill_failures = []

    def work(d):
        local = random.Random(rng.random())
        try:
            while d.acked < len(d.outbox) and not stop.is_set():
                size = local.randint(20, 100)
                batch = d.outbox[d.acked:d.acked + size]
                counters.begin()
                try:
                    payload = d.http.field(PUSH_QUERY, push_vars(d.group, d.client, batch), "push")
                except Transport as err:
                    counters.end(False)
                    if not stop.is_set() and not kill_now.is_set():
                        pre_kill_failures.append(f"{d.name}: push {batch[0]['id']}…: {err}")
                    return
                counters.end(True)
                first = batch[0]["id"]
                for result in payload["results"]:
                    d.results.setdefault(result["id"], result)
                    if result["outcome"] != "APPLIED" or result["replayed"]:
                        pre_kill_failures.append(f"{d.name}: mutation {result['id']} {result['outcome']} "
                                                 f"replayed={result['replayed']} {result.get('code')} "
                                                 f"{result.get('message')}")
                d.batches.append((first, payload["lastMutationId"]))
                with lock:
                    acked[0] += payload["lastMutationId"] - d.acked
                    d.acked = payload["lastMutationId"]
                    if acked[0] >= kill_after:
                        kill_now.set()
                if payload.get("retryAfterMs"):
                    time.sleep(payload["retryAfterMs"] / 1000)
                if d.pulls and not stop.is_set():
                    try:
                        d.pull_all()
                    except Transport:
                        return
        except Exception as err:  # noqa: BLE001 - reported
            if not stop.is_set():
                d.failure = f"{type(err).__name__}: {err}"

    threads = [threading.Thread(target=work, args=(d,), daemon=True) for d in devices]
    db.close()
    killed, in_flight, kill_seconds = run_until_kill(ctx, threads, kill_now, stop, counters)
    acked_at_kill = sum(d.acked for d in devices)
    log(f"    SIGKILL after {kill_seconds:.2f} s: {acked_at_kill} mutations acknowledged, {in_flight} pushes or pulls "
        f"in flight; per device {[d.acked for d in devices]}" if killed else
        "    WARNING: the stream ended before the kill")
    if not killed:
        ctx.violations.add(f"{label}: kill mid-stream", "the stream finished before the kill threshold")
    failures = pre_kill_failures + [f"{d.name}: {d.failure}" for d in devices if d.failure]
    if failures:
        ctx.violations.add(f"{label}: pushes before the kill", f"{len(failures)} failures", failures)
    restart = ctx.restart_after_kill()
    for d in devices:
        d.http.close()  # a kept-alive socket to the killed process

    # After the restart, before anything is resent.
    applied, inside, server_last, once_ok = check_exactly_once(ctx, label + " after restart", devices)
    log(f"    after restart: server lastMutationId per device {[server_last.get(d.client, 0) for d in devices]}; "
        f"{applied}/{inside} mutations ≤ lastMutationId applied exactly once")
    empties = []
    for d in devices:
        try:
            empty = d.http.field(PUSH_QUERY, push_vars(d.group, d.client, []), "push")
        except Exception as err:  # noqa: BLE001 - reported
            empties.append((d.name, str(err)))
            continue
        if empty["lastMutationId"] != server_last.get(d.client, 0):
            empties.append((d.name, f"empty push says {empty['lastMutationId']}, SQL {server_last.get(d.client)}"))
    if empties:
        ctx.violations.add(f"{label}: lastMutationId answered = stored", "devices", empties)
    bad_a, dups_a, _ = ctx.check_counters(label + " after restart")
    integrity_a = ctx.check_integrity(label + " after restart")

    # Resend each device's unacknowledged tail, then a replay of its first acknowledged batch.
    replay_problems, resend_failures = [], []
    replays_answered = 0
    for d in devices:
        known = server_last.get(d.client, 0)
        position = d.acked
        guard = 0
        while position < len(d.outbox) and guard < 50:
            guard += 1
            batch = d.outbox[position:position + 100]
            try:
                payload = d.http.field(PUSH_QUERY, push_vars(d.group, d.client, batch), "push")
            except Exception as err:  # noqa: BLE001
                resend_failures.append((d.name, batch[0]["id"], str(err)))
                break
            for result in payload["results"]:
                mid = result["id"]
                if mid <= known:
                    replays_answered += 1
                    if not result["replayed"] or result["outcome"] != "APPLIED":
                        replay_problems.append((d.name, mid, "≤ server lastMutationId", result))
                else:
                    d.results.setdefault(mid, result)
                    if result["replayed"] or result["outcome"] != "APPLIED":
                        replay_problems.append((d.name, mid, "new", result))
            if payload.get("retryAfterMs"):
                time.sleep(payload["retryAfterMs"] / 1000)
            if payload["lastMutationId"] <= position and not payload.get("retryAfterMs"):
                resend_failures.append((d.name, position, f"no progress: {payload}"))
                break
            position = payload["lastMutationId"]
        d.acked = position
        if d.batches:
            first, last_id = d.batches[0]
            batch = d.outbox[first - 1:last_id]
            try:
                payload = d.http.field(PUSH_QUERY, push_vars(d.group, d.client, batch), "push")
                for result in payload["results"]:
                    replays_answered += 1
                    original = d.results.get(result["id"])
                    if (not result["replayed"] or original is None or result["outcome"] != original["outcome"]
                            or result["seq"] != original["seq"]):
                        replay_problems.append((d.name, result["id"], "replay of an acknowledged batch",
                                                {"now": result, "first": original}))
            except Exception as err:  # noqa: BLE001
                resend_failures.append((d.name, "replay", str(err)))
    if resend_failures:
        ctx.violations.add(f"{label}: resending the tail", "failures", resend_failures)
    if replay_problems:
        ctx.violations.add(f"{label}: the ledger answers replays", f"{len(replay_problems)} results "
                           "(device, id, kind, result)", replay_problems)
    log(f"    tails resent; {replays_answered} replayed results checked; per device lastMutationId "
        f"{[d.acked for d in devices]}")

    applied_all, inside_all, _last, once_all = check_exactly_once(ctx, label + " after the resend", devices)
    # SET_VOTE: the final value of each pair is the last value one of the devices pushed for it.
    finals = collections.defaultdict(set)
    for d in devices:
        per_pair = {}
        for m in d.outbox:
            if m["name"] == "SET_VOTE":
                per_pair[(d.user_id, m["args"]["suggestionId"])] = m["args"]["value"]
        for pair, value in per_pair.items():
            finals[pair].add(value)
    current = {(uid, sid): value for uid, sid, value in db.rows("SELECT user_id, suggestion_id, value FROM vote")}
    wrong_votes = [(ctx_handle(ctx, uid), sid, current.get((uid, sid), "NONE"), sorted(values))
                   for (uid, sid), values in finals.items() if current.get((uid, sid), "NONE") not in values]
    if wrong_votes:
        ctx.violations.add(f"{label}: SET_VOTE values", f"{len(wrong_votes)} pairs hold a value that is no device's "
                           "last (fan, suggestion, row, last values)", wrong_votes)
    bad_b, dups_b, suggestions_total = ctx.check_counters(label + " after the resend")

    # Pull: A from its cursor, B from null; both = SQL.
    converged, pull_problems = 0, []
    views = {}
    for d in devices:
        if not d.pulls:
            d.cursor = None
            d.layer = {}
        try:
            d.pull_all()
            views[d.name] = d.view()
        except Exception as err:  # noqa: BLE001
            pull_problems.append((d.name, f"pull failed: {err}"))
    for handle in fans:
        a, b = views.get(f"{handle}/A"), views.get(f"{handle}/B")
        if a is None or b is None:
            continue
        expected = expected_view(db, ctx.users[handle])
        problems = []
        ab = diff_views(a, b)
        if ab:
            problems.append(f"A vs B: {len(ab)} differences: {ab[:5]}")
        ae = diff_views(a, expected)
        if ae:
            problems.append(f"A vs SQL: {len(ae)} differences: {ae[:5]}")
        be = diff_views(b, expected)
        if be:
            problems.append(f"B vs SQL: {len(be)} differences: {be[:5]}")
        if problems:
            pull_problems.append((handle, " | ".join(problems)))
        else:
            converged += 1
        log(f"    {handle}: A holds {len(a)} rows, B {len(b)}, SQL {len(expected)}; by type "
            f"{dict(sorted(collections.Counter(k[0] for k in expected).items()))}")
    ack_problems = []
    for d in devices:
        if d.last_acks.get(d.client) != len(d.outbox):
            ack_problems.append((d.name, f"last ack seen {d.last_acks.get(d.client)}, lastMutationId {len(d.outbox)}"))
    if ack_problems:
        ctx.violations.add(f"{label}: pull acks", "the final pull does not ack the client's last mutation", ack_problems)
    if pull_problems:
        ctx.violations.add(f"{label}: pulls converge", f"{len(pull_problems)} fans", pull_problems)
    integrity_b = ctx.check_integrity(label + " after the resend")
    acknowledged = acked_at_kill
    ctx.rows.append({
        "phase": label, "acked": f"{acknowledged} mutations (of {total})",
        "once": f"{applied}/{inside} ≤ lastMutationId" + (" ok" if once_ok else " FAIL")
                + f"; after resend {applied_all}/{inside_all}",
        "counters": "ok" if not (bad_a or bad_b or dups_a or dups_b) else
                    f"FAIL {len(bad_a)}+{len(bad_b)}/{suggestions_total}",
        "integrity": integrity_a if integrity_a == integrity_b else f"{integrity_a}/{integrity_b}",
        "pulls": f"{converged}/{len(fans)} fans (A=B=SQL)",
        "kill": f"{kill_seconds:.1f} s, {in_flight} in flight", "restart": f"{restart:.2f} s"})
    for d in devices:
        d.http.close()


def ctx_handle(ctx, uid):
    return next((h for h, u in ctx.users.items() if u == uid), uid)


# ---------------------------------------------------------------------------------------------
# (c) payouts


def phase_payouts(ctx):
    db, args, rng = ctx.db, ctx.args, ctx.rng
    label = "(c) payouts"
    admin = Http(token=ctx.tokens[ADMIN][0])
    fans = sorted(ctx.users)
    contributors = [ctx.users[h] for h in fans[10:20]]
    for sid in ctx.adoptable:
        admin.field(ADOPT_QUERY, {"i": {"id": uuid7(), "suggestionId": sid, "productLine": "crash-line",
                                        "shareBps": 100, "currency": "USD", "startsAt": "2026-01-01T00:00:00Z",
                                        "contributors": [{"userId": u, "weightBps": 1000} for u in contributors]}},
                    "adoptSuggestion")
    accrued = 0
    for i in range(args.reports):
        day = 1 + i % 28
        month = 1 + i // 28
        report = admin.field(REPORT_QUERY, {"i": {
            "externalId": f"crash-report-{i}", "productLine": "crash-line",
            "periodStart": f"2026-{month:02d}-{day:02d}T00:00:00Z",
            "periodEnd": f"2026-{month:02d}-{day:02d}T23:00:00Z", "netSales": "10000.00", "currency": "USD"}},
            "reportSales")
        accrued += report["recordCount"]
    ids = sorted(r[0] for r in db.rows("SELECT id FROM revenue_share_record WHERE status = 'PENDING'"))
    rng.shuffle(ids)
    chunks = []
    position = 0
    while position < len(ids):
        size = rng.randint(30, 100)
        chunks.append(ids[position:position + size])
        position += size
    total_calls = 2 * len(chunks)
    kill_after = total_calls // 2
    log(f"{label}: {len(ctx.adoptable)} adopted ideas × 10 contributors, {args.reports} reports → {accrued} records "
        f"({len(ids)} PENDING); {len(chunks)} chunks of 30–100, {total_calls} calls by 3 admin threads, "
        f"SIGKILL at {kill_after} answered…")
    calls = []  # dicts: kind, chunk, ids, ref, outcome ('ack', 'error CODE', 'lost'), answer
    lock = threading.Lock()
    queue = list(range(len(chunks)))
    answered = [0]
    counters = InFlight()
    kill_now, stop = threading.Event(), threading.Event()
    odd = []

    def call(client, kind, n):
        ids_ = chunks[n]
        ref = f"crash-pay-{n}" if kind == "pay" else None
        entry = {"kind": kind, "chunk": n, "ids": ids_, "ref": ref, "outcome": "lost", "answer": None}
        with lock:
            calls.append(entry)
        counters.begin()
        try:
            if kind == "approve":
                body = client.post(APPROVE_QUERY, {"ids": ids_})
            else:
                body = client.post(PAY_QUERY, {"ids": ids_, "r": ref})
        except Transport:
            counters.end(False)
            return entry
        counters.end(True)
        if body.get("errors"):
            entry["outcome"] = f"error {(body['errors'][0].get('extensions') or {}).get('code')}"
            entry["answer"] = body["errors"][0].get("message")
        else:
            entry["outcome"] = "ack"
            moved = body["data"]["approveRevenueShares" if kind == "approve" else "markRevenueSharesPaid"]
            want = "APPROVED" if kind == "approve" else "PAID"
            if sorted(r["id"] for r in moved) != sorted(ids_) or any(r["status"] != want for r in moved):
                odd.append((kind, n, "answer does not list every id in the new status"))
        with lock:
            answered[0] += 1
            if answered[0] >= kill_after:
                kill_now.set()
        return entry

    def work():
        client = Http(token=ctx.tokens[ADMIN][0])
        while not stop.is_set():
            with lock:
                if not queue:
                    break
                n = queue.pop(0)
            entry = call(client, "approve", n)
            if entry["outcome"] != "ack" or stop.is_set():
                continue
            call(client, "pay", n)
        client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(3)]
    db.close()
    killed, in_flight, kill_seconds = run_until_kill(ctx, threads, kill_now, stop, counters)
    outcomes = collections.Counter(c["outcome"] for c in calls)
    log(f"    SIGKILL after {kill_seconds:.2f} s: {answered[0]} calls answered, {in_flight} in flight; "
        f"outcomes {dict(outcomes)}" if killed else "    WARNING: the loop ended before the kill")
    if not killed:
        ctx.violations.add(f"{label}: kill mid-loop", "the loop finished before the kill threshold")
    errors_before = [(c["kind"], c["chunk"], c["outcome"], c["answer"]) for c in calls if c["outcome"].startswith("error")]
    if errors_before or odd:
        ctx.violations.add(f"{label}: calls before the kill", "unexpected answers", errors_before + odd)
    restart = ctx.restart_after_kill()
    admin.close()  # a kept-alive socket to the killed process

    summary_after = check_payouts(ctx, label + " after restart", calls, accrued)

    # Resend what was not answered, then finish every chunk.
    resend_problems = []
    for c in [c for c in calls if c["outcome"] == "lost"]:
        state = record_states(db)
        statuses = {state[i][0] for i in c["ids"]}
        moved = statuses <= ({"APPROVED", "PAID"} if c["kind"] == "approve" else {"PAID"})
        again = call(admin, c["kind"], c["chunk"])
        if moved and not again["outcome"].startswith("error CONFLICT"):
            resend_problems.append((c["kind"], c["chunk"], "had committed", f"resend answered {again['outcome']}"))
        if not moved and again["outcome"] != "ack":
            resend_problems.append((c["kind"], c["chunk"], "had not committed",
                                    f"resend answered {again['outcome']} {again['answer']}"))
        c["resent"] = True
        c["resent_committed"] = moved
    for n in range(len(chunks)):
        state = record_states(db)
        statuses = {state[i][0] for i in chunks[n]}
        if statuses == {"PENDING"}:
            if call(admin, "approve", n)["outcome"] != "ack":
                resend_problems.append(("approve", n, "finishing", calls[-1]["outcome"], calls[-1]["answer"]))
                continue
            statuses = {"APPROVED"}
        if statuses == {"APPROVED"}:
            if call(admin, "pay", n)["outcome"] != "ack":
                resend_problems.append(("pay", n, "finishing", calls[-1]["outcome"], calls[-1]["answer"]))
    admin.close()
    resent = [c for c in calls if c.get("resent")]
    committed = [c for c in calls if c.get("resent_committed")]
    names = ", ".join(f"{c['kind']} chunk {c['chunk']}" for c in committed) or "none"
    log(f"    {len(resent)} unanswered calls sent again: {len(committed)} had committed before the kill ({names}), "
        f"{len(resent) - len(committed)} had not")
    if resend_problems:
        ctx.violations.add(f"{label}: resending unanswered calls", f"{len(resend_problems)} calls "
                           "(kind, chunk, state, answer)", resend_problems)
    summary_final = check_payouts(ctx, label + " after finishing", calls, accrued, final=True)
    integrity = ctx.check_integrity(label)
    ctx.rows.append({
        "phase": label,
        "acked": f"{summary_after['acked_calls']} calls ({summary_after['acked_records']} record moves)",
        "once": f"{summary_after['consistent']}/{accrued} records, {summary_after['calls_ok']}/{summary_after['calls']} "
                f"calls whole; final {summary_final['consistent']}/{accrued} PAID",
        "counters": "audit ok" if summary_after["audit_ok"] and summary_final["audit_ok"] else "audit FAIL",
        "integrity": integrity, "pulls": "—",
        "kill": f"{kill_seconds:.1f} s, {in_flight} in flight", "restart": f"{restart:.2f} s"})


def record_states(db):
    return {rid: (status, approved, paid, ref) for rid, status, approved, paid, ref in
            db.rows("SELECT id, status, approved_at, paid_at, payout_reference FROM revenue_share_record")}


def check_payouts(ctx, label, calls, accrued, final=False):
    db = ctx.db
    state = record_states(db)
    audit = collections.Counter()
    for entity_id, action in db.rows("SELECT entity_id, action FROM audit_log WHERE entity_type = 'REVENUE_SHARE_RECORD'"):
        audit[(entity_id, action)] += 1
    mixed, audit_bad = [], []
    consistent = 0
    for rid, (status, approved, paid, ref) in state.items():
        whole = {"PENDING": approved is None and paid is None and ref is None,
                 "APPROVED": approved is not None and paid is None and ref is None,
                 "PAID": approved is not None and paid is not None and ref is not None}.get(status, False)
        if final and status != "PAID":
            whole = False
        if whole:
            consistent += 1
        else:
            mixed.append((rid, status, f"approvedAt {approved}", f"paidAt {paid}", f"payoutReference {ref}"))
        want = {"ACCRUED": 1, "APPROVED": int(status in ("APPROVED", "PAID")), "PAID": int(status == "PAID")}
        got = {action: audit.get((rid, action), 0) for action in want}
        others = {a: n for (e, a), n in audit.items() if e == rid and a not in want}
        if got != want or others:
            audit_bad.append((rid, status, f"audit {got} {others or ''}".strip(), f"expected {want}"))
    if len(state) != accrued:
        ctx.violations.add(f"{label}: records", f"{len(state)} records, {accrued} accrued")
    if mixed:
        ctx.violations.add(f"{label}: every record wholly in one status" + (" (all PAID)" if final else ""),
                           f"{len(mixed)} records (id, status, approvedAt, paidAt, payoutReference)", mixed)
    if audit_bad:
        ctx.violations.add(f"{label}: one audit entry per move", f"{len(audit_bad)} records "
                           "(id, status, audit entries, expected)", audit_bad)
    partial, lost_acks = [], []
    calls_ok = 0
    acked_calls = acked_records = 0
    checked = list(calls)
    for c in checked:
        rows = [state.get(i, ("MISSING", None, None, None)) for i in c["ids"]]
        if c["kind"] == "approve":
            moved = [r for r in rows if r[0] in ("APPROVED", "PAID")]
            stamps = {r[1] for r in moved}
            whole = len(moved) in (0, len(rows)) and len(stamps) <= 1
        else:
            moved = [r for r in rows if r[0] == "PAID"]
            refs = {r[3] for r in moved}
            whole = len(moved) in (0, len(rows)) and refs <= {c["ref"]}
            # A chunk is paid by one call only: another call's reference on it is a double move.
        if whole:
            calls_ok += 1
        else:
            partial.append((c["kind"], f"chunk {c['chunk']}", c["outcome"], f"{len(moved)}/{len(rows)} moved",
                            sorted({r[0] for r in rows})))
        if c["outcome"] == "ack":
            acked_calls += 1
            acked_records += len(rows)
            if len(moved) != len(rows):
                lost_acks.append((c["kind"], f"chunk {c['chunk']}", f"{len(moved)}/{len(rows)} moved"))
    if partial:
        ctx.violations.add(f"{label}: each call all-or-nothing", f"{len(partial)} calls "
                           "(kind, chunk, answer, moved, statuses)", partial)
    if lost_acks:
        ctx.violations.add(f"{label}: acknowledged calls kept", f"{len(lost_acks)} calls", lost_acks)
    by_status = collections.Counter(s[0] for s in state.values())
    log(f"    {label}: records by status {dict(by_status)}; {consistent}/{len(state)} wholly in one status; "
        f"{calls_ok}/{len(checked)} calls all-or-nothing; audit mismatches {len(audit_bad)}")
    return {"consistent": consistent, "calls_ok": calls_ok, "calls": len(checked), "acked_calls": acked_calls,
            "acked_records": acked_records, "audit_ok": not audit_bad}


# ---------------------------------------------------------------------------------------------
# One database


def run_database(backend, args, workdir, binary):
    ctx = Context(backend, args, workdir, binary)
    log(f"\n=== {backend} ===")
    started = time.perf_counter()
    try:
        setup(ctx)
        ctx.server.start()
        log_in_all(ctx)
        for phase in (phase_votes, phase_push, phase_payouts):
            try:
                phase(ctx)
            except Exception as err:  # noqa: BLE001 - the next phase still runs
                traceback.print_exc()
                ctx.violations.add(f"{phase.__name__}", f"aborted: {type(err).__name__}: {err}")
                if ctx.server.process is None or ctx.server.process.poll() is not None:
                    try:
                        ctx.server.start()
                    except Exception as err2:  # noqa: BLE001
                        ctx.violations.add("restart", str(err2))
                        break
    except Exception as err:  # noqa: BLE001 - reported with the summary
        traceback.print_exc()
        ctx.violations.add("setup", f"aborted: {type(err).__name__}: {err}")
    finally:
        ctx.server.stop()
        panics = ctx.server.panics()
        if panics:
            ctx.violations.add("server log", f"{len(panics)} lines with 'panicked'", panics)
        if backend == "sqlite" and os.path.exists(ctx.db.path):
            # The final check, after a clean stop.
            answer = ctx.db.integrity()
            if answer != "ok":
                ctx.violations.add("final PRAGMA integrity_check", answer)
        ctx.db.close()
    ctx.seconds = time.perf_counter() - started
    return ctx


def print_summary(ctx):
    headers = {"phase": "phase", "acked": "writes acknowledged", "once": "found exactly once",
               "counters": "counters ok", "integrity": "integrity ok", "pulls": "pulls converged",
               "kill": "kill -9 at", "restart": "restart"}
    rows = [headers] + ctx.rows
    widths = {k: max(len(str(r.get(k, ""))) for r in rows) for k in headers}
    log(f"\n{ctx.backend}: {len(ctx.violations)} violation(s), {ctx.seconds:.0f} s, server starts {ctx.server.starts}, "
        f"panics in log {len(ctx.server.panics())}")
    for r in rows:
        log("  " + "  ".join(str(r.get(k, "")).ljust(widths[k]) for k in headers).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--votes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction of votes acknowledged at the kill")
    parser.add_argument("--push-mutations", type=int, default=300, help="mutations in each device's outbox")
    parser.add_argument("--reports", type=int, default=30, help="sales reports (100 records each)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    if "postgres" in backends and not shutil.which("psql"):
        sys.exit("psql not found (install the PostgreSQL client package)")
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="canyu-crash-")
    binary, digest, mtime = copy_binary(workdir)
    log(f"binary {BINARY} (built {mtime}, sha256 {digest}…), copied to {binary}")
    log("server variables for every start: " + " ".join(f"{k}={v}" for k, v in SERVER_ENV.items())
        + " (RATE_LIMIT_MUTATIONS and PASSWORD_HASH_QUEUE raised for the setup and the payout loop,"
           " REQUEST_TIMEOUT_MS for concurrent pushes into a debug build)")
    results = []
    try:
        for backend in backends:
            results.append(run_database(backend, args, workdir, binary))
    finally:
        failed = any(ctx.violations for ctx in results)
        log("\n=== summary ===")
        for ctx in results:
            print_summary(ctx)
        for ctx in results:
            if ctx.violations:
                log(f"\n{ctx.backend} violations:")
                for v in ctx.violations:
                    log(f"  - {v}")
        log(f"\ntotal {time.perf_counter() - started:.0f} s")
        if failed or args.keep:
            log(f"kept {workdir} (server logs{', SQLite file' if 'sqlite' in backends else ''})"
                + (f" and the database {PG_DB}" if "postgres" in backends else ""))
        else:
            for ctx in results:
                ctx.db.drop()
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed or len(results) < len(backends) else 0)


if __name__ == "__main__":
    main()
