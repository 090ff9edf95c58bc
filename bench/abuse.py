#!/usr/bin/env python3
"""Abuse check: the release server under hostile requests, one attack at a time, then the
legitimate listing's throughput with and without attacks mixed in.

  python3 bench/abuse.py [--quick] [--port 18095] [--strict-targets] [--keep]

Seeds a fresh temporary SQLite database with `canyu seed-demo` (default sizes: 300 fans, 3 000
suggestions, 30 000 votes, 6 000 comments; `brand_staff` is STAFF) and two admins (`canyu create-admin`),
starts `target/release/canyu serve` with CANYU_ENV=production and the default limits, and sends:
  1. a 22-level doubling fragment document                        -> QUERY_TOO_COMPLEX
  2. an ADMIN's open socket, demoted over HTTP by another admin   -> close 4403 (and a mutation
     sent over the socket first                                   -> `error` BAD_USER_INPUT)
  3. createPricingPoll with a price of 79228162514264337593543950335 (STAFF) -> BAD_USER_INPUT
  4. 12 aliased logIn guesses -> refused; 40 aliased guesses -> QUERY_TOO_COMPLEX; a 3 000-token
     document -> QUERY_TOO_LARGE; 15 wrong log-ins for one handle -> RATE_LIMITED from the 11th,
     with retryAfterSeconds (the documents go first: they must not use up the count; every
     account the script needs signs in before, since the address's budget fills too)
  5. setSuggestionStatus(SHIPPED) on the seeded suggestion with the most votes (timed; not a
     refusal)
  6. a pull of limit 1000 nesting comments(first:100) and author { suggestions(first:100) }
     under every SuggestionChange                                 -> QUERY_TOO_COMPLEX
  7. /graphql/ws: one 100 KB frame before connection_init -> 1009; continuation frames past
     64 KiB -> 1009; 51 subscriptions on one socket -> the 51st `error` RATE_LIMITED; an 11th
     socket for one user -> 4429; a socket that never sends connection_init -> 4408 (after the
     default 10 s; it waits beside the other socket attacks)
  8. a listing cursor with an edited payload and the old signature -> BAD_USER_INPUT
  9. reportSales with externalId =HYPERLINK("http://x") after an adoption, then the CSV export
     -> the cell starts with '
 10. a log-in flood on a server restarted with TRUSTED_PROXY_HEADER=X-Forwarded-For: 32
     concurrent clients, each its own forwarded address and unknown handle, 10 failed log-ins
     each (320), twice with fresh addresses and handles; counts UNAUTHENTICATED (hashed) and
     RATE_LIMITED (a full hashing queue) and the server's RSS after each round.
     Target: RSS <= 64 MiB after the first round, and within 10% of that after the second.
For every attack it prints what was sent, what came back (HTTP status, extensions.code, close
code; a socket's time is until its close frame arrived), the wall time until the answer arrived
and the server's RSS after it (VmRSS of the server process).

Then, on a fresh server with the default limits, throughput: wrk (2 threads, 8 connections,
bench/abuse_mix.lua) on the top-20 listing of the largest demo community, alone (A) and with 1
request in 20 an attack (B: the fragment bomb, 40 aliases, the forged cursor, 12 logIn guesses
in turn), after a warm-up, as A/B/A/B/A/B (A/B/A/B with --quick); prints requests/s and
legitimate listings/s of each run and the B/A ratios of their means (refusals are cheaper than
listings, so B's requests/s alone flatters it). Target: B at most 10% lower than A, in both.

Exits 1 when an attack is not refused as expected (or a legitimate request fails); a missed
performance target is reported, and fails the run only with --strict-targets (exit 2). --quick
shortens the warm-up and wrk runs (1 s + 4 s instead of 3 s + 10 s) and runs two A/B pairs, not
three (about 40 s in all). Needs the release binary (`cargo build --release`), wrk (Debian:
apt-get install wrk) and `pip install websockets`.
Traffic goes to 127.0.0.1 only, bounded in count and time; every server it starts is stopped.
"""

import argparse
import base64
import csv
import http.client
import io
import itertools
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from datetime import datetime, timedelta, timezone

try:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect
    # Sockets are closed explicitly; the context-manager advice does not apply.
    warnings.filterwarnings("ignore", message=r"connect\(\) must be used as a context manager")
except ImportError:  # pragma: no cover - reported at start
    ws_connect = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BINARY = os.path.join(ROOT, "target", "release", "canyu")
PASSWORD = "canyu-demo-password"
ADMIN_PASSWORD = "abuse-admin-password"
HUGE_PRICE = "79228162514264337593543950335"  # 2^96 - 1, rust_decimal's largest mantissa

# Inherited variables that would change the server's limits; the script sets what it needs.
SERVER_VARIABLES = ("CANYU_", "GRAPHQL_", "WS_", "RATE_LIMIT_", "PASSWORD_HASH_", "TRUSTED_PROXY_", "REQUEST_TIMEOUT_",
                    "DATABASE_", "BIND_ADDR", "ACCESS_TOKEN_", "REFRESH_TOKEN_", "PARTNER_TOKEN_", "JWT_", "SYNC_")

LOG_IN = "mutation($i: LogInInput!) { logIn(input: $i) { accessToken user { id handle role } } }"
LOG_IN_VARS = "mutation($h: String!, $p: String!) { logIn(input: { handle: $h, password: $p }) { accessToken } }"
UPDATED = "subscription($id: ID!) { suggestionUpdated(suggestionId: $id) { id score } }"
TOP20 = "query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 20) { edges { node { id title score author { handle } } } } }"
TOP1 = "query($after: String) { suggestions(sort: TOP, first: 1, after: $after) { edges { node { id } } pageInfo { endCursor } } }"
PULL = ("query($g: ID!) { pull(input: { clientGroupId: $g, protocolVersion: 1, schemaVersion: 2, limit: 1000 }) "
        "{ cursor changes { ... on SuggestionChange { suggestion { id comments(first: 100) { nodes { body } } "
        "author { suggestions(first: 100) { nodes { id } } } } } } } }")


def dig(value, *keys):
    """value[k0][k1]…, or None where a step is missing."""
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def fragment_bomb(levels=22):
    parts = ["query{...F0}"]
    parts += [f"fragment F{i} on QueryRoot{{...F{i + 1} ...F{i + 1}}}" for i in range(levels)]
    parts.append(f"fragment F{levels} on QueryRoot{{__typename}}")
    return " ".join(parts)


def log_in_guesses(n, handle, right=None):
    """A document of `n` aliased logIn guesses for `handle`; guess 7 is `right` when given."""
    fields = []
    for i in range(n):
        password = right if (right and i == 7) else f"guess number {i}"
        fields.append(f'g{i}: logIn(input: {{handle: "{handle}", password: "{password}"}}) {{ accessToken }}')
    return "mutation { " + " ".join(fields) + " }"


# --------------------------------------------------------------------------------------------
# The server and HTTP


class Reply:
    def __init__(self, status, body, ms, text=""):
        self.status, self.body, self.ms, self.text = status, body, ms, text

    @property
    def code(self):
        return dig(self.body, "errors", 0, "extensions", "code")

    @property
    def extensions(self):
        return dig(self.body, "errors", 0, "extensions") or {}

    @property
    def message(self):
        return dig(self.body, "errors", 0, "message") or ""

    def data(self, name):
        """data[name], or an exception naming what came back instead."""
        value = dig(self.body, "data", name)
        if value is None:
            raise RuntimeError(f"{name}: HTTP {self.status} {self.text[:500]}")
        return value

    def got(self):
        return f"HTTP {self.status} {self.code or 'no error'}"


class Server:
    """`canyu serve` on `port` with the database `url` and `extra` variables."""

    def __init__(self, url, port, workdir, extra=None, label="server"):
        self.url, self.port, self.extra, self.label = url, port, dict(extra or {}), label
        self.logpath = os.path.join(workdir, f"{label}.log")
        self.process = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(SERVER_VARIABLES)}
        env.update({"DATABASE_URL": self.url, "BIND_ADDR": f"127.0.0.1:{self.port}", "CANYU_ENV": "production",
                    "RUST_LOG": "warn"})
        env.update(self.extra)
        log = open(self.logpath, "ab")
        self.process = subprocess.Popen([BINARY, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.label} exited at start (code {self.process.returncode}); see {self.logpath}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit(f"{self.label} did not become healthy in 60 s; see {self.logpath}")

    def status_kib(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mib(self):
        return self.status_kib("VmRSS") / 1024.0

    def hwm_mib(self):
        return self.status_kib("VmHWM") / 1024.0

    def stop(self):
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def post(self, query, variables=None, token=None, headers=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return self.request("POST", "/graphql", body, token, headers)

    def request(self, method, path, body=None, token=None, headers=None):
        h = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=h)
        response = conn.getresponse()
        raw = response.read()
        ms = (time.perf_counter() - start) * 1000
        conn.close()
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return Reply(response.status, parsed, ms, text)

    # WebSockets ----------------------------------------------------------------------------

    def ws_open(self):
        """A socket on /graphql/ws; its `clock.at` is when the server's close frame arrived."""
        clock = CloseClock()
        logger = logging.getLogger(f"abuse.ws.{next(SOCKET_NUMBERS)}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(clock)
        ws = ws_connect(f"ws://127.0.0.1:{self.port}/graphql/ws", subprotocols=["graphql-transport-ws"],
                        compression=None, open_timeout=10, close_timeout=5, max_size=None, logger=logger)
        ws.clock = clock
        return ws

    def ws_signed_in(self, token):
        ws = self.ws_open()
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        reply = json.loads(ws.recv(timeout=10))
        if reply.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {reply}")
        return ws


SOCKET_NUMBERS = itertools.count()


class CloseClock(logging.Handler):
    """Notes when the library logs the server's close frame ("< CLOSE …", at DEBUG), which is
    when the refusal arrived; the TCP close that ends recv() may follow much later."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.at = None

    def emit(self, record):
        if self.at is None and record.getMessage().startswith("< CLOSE"):
            self.at = time.perf_counter()


def ws_closed(ws, start, timeout=15.0):
    """Waits for `ws` to close, skipping messages; returns (code, reason, ms from `start` to the
    close frame, ms to the end of the connection); code None when it did not close in time."""
    deadline = time.perf_counter() + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return None, "did not close in time", timeout * 1000, timeout * 1000
        try:
            ws.recv(timeout=left)
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            ended = time.perf_counter()
            frame_at = ws.clock.at or ended
            ms, end_ms = (frame_at - start) * 1000, (ended - start) * 1000
            if closed.rcvd is not None:
                return closed.rcvd.code, closed.rcvd.reason, ms, end_ms
            return 1006, "closed without a close frame", ms, end_ms


def ws_message(ws, want_id, timeout=10.0):
    """The next message with id `want_id` (others skipped), or None."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.perf_counter())))
        except (TimeoutError, ConnectionClosed):
            return None
        if message.get("id") == want_id:
            return message
    return None


def ws_payload_code(message):
    return dig(message, "payload", 0, "extensions", "code")


# --------------------------------------------------------------------------------------------
# Results


class Results:
    def __init__(self):
        self.rows = []
        self.failed = []
        self.missed = []

    def add(self, key, attack, sent, expected, got, ms, rss, ok, note=""):
        self.rows.append((key, attack, expected, got, ms, rss, ok))
        mark = "ok" if ok else "NOT AS EXPECTED"
        print(f"[{key}] {attack}\n      sent: {sent}\n      got:  {got}  (expected {expected})"
              f"\n      {ms:.1f} ms until the answer, RSS {rss:.1f} MiB after  -> {mark}"
              + (f"\n      {note}" if note else ""), flush=True)
        if not ok:
            self.failed.append(f"{key} {attack}: got {got}, expected {expected}")

    def target(self, what, met):
        if not met:
            self.missed.append(what)

    def table(self):
        print()
        print(f"{'#':4} {'attack':44} {'expected':28} {'got':40} {'ms':>9} {'RSS MiB':>8}  result")
        for key, attack, expected, got, ms, rss, ok in self.rows:
            print(f"{key:4} {attack[:44]:44} {expected[:28]:28} {got[:40]:40} {ms:>9.1f} {rss:>8.1f}  "
                  f"{'ok' if ok else 'FAIL'}")


def run(cmd, env, stdin=None):
    return subprocess.run(cmd, env=env, input=stdin, check=True, capture_output=True, text=True)


class Sqlite:
    """Read-only look-ups in the server's SQLite file (ids as blobs or text)."""

    def __init__(self, path):
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        row = self.conn.execute('SELECT typeof(id) FROM "user" LIMIT 1').fetchone()
        self.blob = bool(row) and row[0] == "blob"

    def uid(self, text):
        return uuid.UUID(text).bytes if self.blob else str(uuid.UUID(text))

    @staticmethod
    def text(value):
        if isinstance(value, (bytes, bytearray)) and len(value) == 16:
            return str(uuid.UUID(bytes=bytes(value)))
        return value

    def rows(self, sql, args=()):
        return [[self.text(v) for v in row] for row in self.conn.execute(sql, args).fetchall()]


# --------------------------------------------------------------------------------------------
# The attacks


def attack_fragments(server, res):
    query = fragment_bomb(22)
    reply = server.post(query)
    res.add("1", "22-level doubling fragments", f"{len(query)}-byte document, 2^22 paths",
            "QUERY_TOO_COMPLEX", reply.got(), reply.ms, server.rss_mib(),
            reply.code == "QUERY_TOO_COMPLEX" and dig(reply.body, "data") is None)


def attack_demoted_admin(server, res, boss, fallen, suggestion):
    ws = server.ws_signed_in(fallen["token"])
    try:
        mutation = f'mutation {{ setUserRole(userId: "{fallen["id"]}", role: ADMIN) {{ role }} }}'
        start = time.perf_counter()
        ws.send(json.dumps({"id": "m", "type": "subscribe", "payload": {"query": mutation}}))
        message = ws_message(ws, "m")
        ms = (time.perf_counter() - start) * 1000
        kind = message.get("type") if message else "nothing"
        code = ws_payload_code(message) if message else None
        res.add("2a", "mutation over an admin's socket", "subscribe{setUserRole(self, ADMIN)}",
                "error BAD_USER_INPUT", f"{kind} {code}", ms, server.rss_mib(),
                kind == "error" and code == "BAD_USER_INPUT")
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": UPDATED,
                                                                     "variables": {"id": suggestion}}}))
        time.sleep(0.2)
        start = time.perf_counter()
        demoted = server.post("mutation($id: ID!) { setUserRole(userId: $id, role: MEMBER) { role } }",
                              {"id": fallen["id"]}, boss["token"])
        code, reason, ms, end_ms = ws_closed(ws, start)
        role = server.post("{ viewer { role } }", token=fallen["token"])
        res.add("2b", "demoted ADMIN's open socket", "setUserRole(MEMBER) over HTTP by another admin",
                "close 4403", f"close {code} ({reason[:24]})", ms, server.rss_mib(),
                code == 4403 and dig(demoted.body, "data", "setUserRole", "role") == "MEMBER",
                note=f"demotion answered in {demoted.ms:.1f} ms ({demoted.got()}); connection ended after "
                     f"{end_ms:.0f} ms; viewer role afterwards: {dig(role.body, 'data', 'viewer', 'role') or role.code}")
    finally:
        ws.close()


def attack_huge_price(server, res, staff, community):
    now = datetime.now(timezone.utc)
    base = {"communityId": community, "productName": "Aurora 9", "currency": "USD", "method": "CHOICE",
            "opensAt": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "closesAt": (now + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    query = "mutation($input: CreatePricingPollInput!) { createPricingPoll(input: $input) { id pricePoints } }"
    reply = server.post(query, {"input": {**base, "pricePoints": [HUGE_PRICE, "499"]}}, staff["token"])
    res.add("3a", "pricing poll, price 2^96-1 (string)", f'pricePoints: ["{HUGE_PRICE}", "499"] as STAFF',
            "BAD_USER_INPUT", reply.got(), reply.ms, server.rss_mib(), reply.code == "BAD_USER_INPUT",
            note=f"field {reply.extensions.get('field')}: {reply.message[:100]}")
    # The same as a JSON number in the variables, and as a literal in the document.
    raw = (json.dumps({"query": query, "variables": {"input": {**base, "pricePoints": ["__HUGE__", 499]}}})
           .replace('"__HUGE__"', HUGE_PRICE).encode())
    reply = server.request("POST", "/graphql", raw, staff["token"])
    res.add("3b", "pricing poll, price 2^96-1 (JSON number)", f"pricePoints: [{HUGE_PRICE}, 499]",
            "BAD_USER_INPUT", reply.got(), reply.ms, server.rss_mib(), reply.code == "BAD_USER_INPUT",
            note=f"field {reply.extensions.get('field')}: {reply.message[:100]}")
    literal = (f'mutation {{ createPricingPoll(input: {{ communityId: "{community}", productName: "Aurora 9", '
               f'currency: "USD", method: CHOICE, pricePoints: [{HUGE_PRICE}, 499], opensAt: "{base["opensAt"]}", '
               f'closesAt: "{base["closesAt"]}" }}) {{ id }} }}')
    reply = server.post(literal, token=staff["token"])
    res.add("3c", "pricing poll, price 2^96-1 (literal)", f"pricePoints: [{HUGE_PRICE}, 499] in the document",
            "BAD_USER_INPUT", reply.got(), reply.ms, server.rss_mib(), reply.code == "BAD_USER_INPUT",
            note=reply.message[:120])


def attack_log_ins(server, res, handle):
    # Documents first: refused whole, they must leave the handle's and the address's counts alone.
    reply = server.post(log_in_guesses(12, handle, right=PASSWORD))
    res.add("4a", "12 aliased logIn guesses (one right)", f"mutation {{ g0: logIn(..) … g11 }} for {handle}",
            "BAD_USER_INPUT, no token", reply.got(), reply.ms, server.rss_mib(),
            reply.code == "BAD_USER_INPUT" and "accessToken" not in reply.text)
    reply = server.post(log_in_guesses(40, handle))
    res.add("4b", "40 aliased logIn guesses", "mutation { g0: logIn(..) … g39 }",
            "QUERY_TOO_COMPLEX", reply.got(), reply.ms, server.rss_mib(), reply.code == "QUERY_TOO_COMPLEX")
    tokens = "{ " + "a " * 3000 + "}"
    reply = server.post(tokens)
    res.add("4c", "3000-token document", f"{{ a a a … }} ({len(tokens)} bytes)",
            "QUERY_TOO_LARGE", reply.got(), reply.ms, server.rss_mib(), reply.code == "QUERY_TOO_LARGE")
    codes, retry, eleventh_ms = [], None, 0.0
    for i in range(15):
        reply = server.post(LOG_IN_VARS, {"h": handle, "p": f"wrong guess {i}"})
        codes.append(reply.code)
        if i == 10:
            eleventh_ms = reply.ms
            retry = reply.extensions.get("retryAfterSeconds")
    ok = (codes[:10] == ["UNAUTHENTICATED"] * 10 and codes[10:] == ["RATE_LIMITED"] * 5
          and isinstance(retry, int) and 1 <= retry <= 60)
    summary = f"{codes[:10].count('UNAUTHENTICATED')}xUNAUTH, then {codes[10:].count('RATE_LIMITED')}xRATE_LIMITED"
    res.add("4d", "15 wrong log-ins for one handle", f"15 x logIn({handle}, wrong) from 127.0.0.1",
            "10xUNAUTH, 5xRATE_LIMITED", summary, eleventh_ms, server.rss_mib(), ok,
            note=f"codes: {codes}; 11th retryAfterSeconds={retry}; time is the 11th's")


def attack_ship(server, res, db, staff):
    rows = db.rows("SELECT id, status, upvotes, downvotes, (SELECT COUNT(*) FROM vote v WHERE v.suggestion_id = s.id) "
                   "FROM suggestion s ORDER BY 5 DESC LIMIT 1")
    sid, status, up, down, voters = rows[0]
    note = f"suggestion {sid}: {voters} voters ({up} up, {down} down), seeded status {status}"
    query = "mutation($i: SetStatusInput!) { setSuggestionStatus(input: $i) { id status } }"
    if status in ("SHIPPED", "DECLINED"):
        reopen = server.post(query, {"i": {"suggestionId": sid, "status": "UNDER_REVIEW"}}, staff["token"])
        reopen.data("setSuggestionStatus")
        note += ", reopened to UNDER_REVIEW first"
    count = "SELECT COUNT(*) FROM notification WHERE suggestion_id = ?"
    before = db.rows(count, (db.uid(sid),))[0][0]
    start = time.perf_counter()
    reply = server.post(query, {"i": {"suggestionId": sid, "status": "SHIPPED"}}, staff["token"])
    shipped = dig(reply.body, "data", "setSuggestionStatus", "status")
    rss = server.rss_mib()
    # Voters are told by a fan-out after the commit: wait until its count stops growing.
    after, last_change, fanned_ms = before, time.perf_counter(), 0.0
    while time.perf_counter() - last_change < 1.0 and time.perf_counter() - start < 30:
        now = db.rows(count, (db.uid(sid),))[0][0]
        if now != after:
            after, last_change = now, time.perf_counter()
            fanned_ms = (last_change - start) * 1000
        time.sleep(0.02)
    res.add("5", "ship the most-voted suggestion", f"setSuggestionStatus(SHIPPED) as STAFF",
            "SHIPPED (timed)", f"HTTP {reply.status} {shipped or reply.code}", reply.ms, rss, shipped == "SHIPPED",
            note=note + f"; {after - before} notifications written, the last {fanned_ms:.0f} ms after the request")


def attack_pull(server, res, fan):
    reply = server.post(PULL, {"g": str(uuid.uuid4())}, fan["token"])
    res.add("6", "pull 1000 nesting two pages of 100", "pull(limit:1000){changes{…comments(first:100) "
            "author{suggestions(first:100)}}}", "QUERY_TOO_COMPLEX", reply.got(), reply.ms, server.rss_mib(),
            reply.code == "QUERY_TOO_COMPLEX" and dig(reply.body, "data") is None)


def attack_sockets(server, res, fan, suggestion):
    # The socket that never sends connection_init waits beside the others.
    idle = {}

    def wait_idle():
        start = time.perf_counter()
        try:
            ws = server.ws_open()
        except Exception as err:  # noqa: BLE001 - reported as the outcome
            idle["result"] = (None, f"open failed: {err}", 0.0, 0.0)
            return
        code, reason, ms, end_ms = ws_closed(ws, start, timeout=20)
        idle["result"] = (code, reason, ms, end_ms)
        ws.close()

    idle_thread = threading.Thread(target=wait_idle, daemon=True)
    idle_thread.start()

    ws = server.ws_open()
    start = time.perf_counter()
    try:
        ws.send("x" * 100_000)
    except ConnectionClosed:
        pass
    code, reason, ms, end_ms = ws_closed(ws, start)
    ws.close()
    res.add("7a", "100 KB text frame before init", "one 100 000-byte text frame", "close 1009",
            f"close {code} ({reason[:24]})", ms, server.rss_mib(), code == 1009,
            note=f"{reason}; connection ended after {end_ms:.0f} ms")

    ws = server.ws_open()
    chunk = "x" * 8192
    start = time.perf_counter()
    try:
        ws.send(iter([chunk] * 12))  # 96 KiB in 12 frames of 8 KiB, each well under the limit
    except ConnectionClosed:
        pass
    code, reason, ms, end_ms = ws_closed(ws, start)
    ws.close()
    res.add("7b", "continuation frames past 64 KiB", "12 fragments of 8 KiB (96 KiB) in one message",
            "close 1009", f"close {code} ({reason[:24]})", ms, server.rss_mib(), code == 1009,
            note=f"{reason}; connection ended after {end_ms:.0f} ms")

    ws = server.ws_signed_in(fan["token"])
    try:
        for i in range(1, 51):
            ws.send(json.dumps({"id": str(i), "type": "subscribe",
                                "payload": {"query": UPDATED, "variables": {"id": suggestion}}}))
        time.sleep(0.3)
        start = time.perf_counter()
        ws.send(json.dumps({"id": "51", "type": "subscribe",
                            "payload": {"query": UPDATED, "variables": {"id": suggestion}}}))
        message = ws_message(ws, "51")
        ms = (time.perf_counter() - start) * 1000
        kind = message.get("type") if message else "nothing"
        code = ws_payload_code(message) if message else None
        # Nothing earlier was refused: subscription 50 is still live (no message for it yet).
        res.add("7c", "51 subscriptions on one socket", "51 x subscribe{suggestionUpdated}",
                "51st error RATE_LIMITED", f"{kind} {code}", ms, server.rss_mib(),
                kind == "error" and code == "RATE_LIMITED")
    finally:
        ws.close()
    time.sleep(0.3)

    sockets = []
    try:
        for _ in range(10):
            sockets.append(server.ws_signed_in(fan["token"]))
        eleventh = server.ws_open()
        sockets.append(eleventh)
        start = time.perf_counter()
        eleventh.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {fan['token']}"}}))
        code, reason, ms, end_ms = ws_closed(eleventh, start)
        res.add("7d", "11 sockets for one user", "10 signed-in sockets, then an 11th connection_init",
                "close 4429", f"close {code} ({reason[:24]})", ms, server.rss_mib(), code == 4429,
                note=f"{reason}; connection ended after {end_ms:.0f} ms")
    finally:
        for s in sockets:
            s.close()

    idle_thread.join(timeout=25)
    code, reason, ms, end_ms = idle.get("result", (None, "no result", 0.0, 0.0))
    res.add("7e", "socket that never sends connection_init", "open /graphql/ws, send nothing",
            "close 4408 after 10 s", f"close {code} ({reason[:24]})", ms, server.rss_mib(),
            code == 4408 and ms >= 9000,
            note=f"WS_INIT_TIMEOUT_MS left at its default (10 000 ms), time from opening; connection ended "
                 f"after {end_ms:.0f} ms")


def forge_cursor(cursor):
    body, signature = cursor.split(".", 1)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    edited = dict(payload)
    if "taken_at" in edited:
        edited["taken_at"] = 4_102_444_800  # 2100-01-01: a cursor that never expires
    else:
        edited["key"] = "-1 OR 1=1"
    forged = base64.urlsafe_b64encode(json.dumps(edited, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{forged}.{signature}", payload, edited


def attack_cursor(server, res):
    first = server.post(TOP1)
    cursor = first.data("suggestions")["pageInfo"]["endCursor"]
    forged, payload, edited = forge_cursor(cursor)
    changed = sorted(k for k in edited if edited.get(k) != payload.get(k))
    reply = server.post(TOP1, {"after": forged})
    res.add("8", "forged listing cursor", f"endCursor of suggestions(TOP, first:1), {', '.join(changed)} edited, "
            "signature kept", "BAD_USER_INPUT (after)", f"{reply.got()} field={reply.extensions.get('field')}",
            reply.ms, server.rss_mib(), reply.code == "BAD_USER_INPUT" and reply.extensions.get("field") == "after",
            note=f"payload keys: {sorted(payload)}")
    return forged


def attack_csv(server, res, admin, community):
    listing = server.post("query($c: ID!) { suggestions(communityId: $c, status: [OPEN], sort: NEW, first: 1) "
                          "{ edges { node { id } } } }", {"c": community}, admin["token"])
    idea = listing.data("suggestions")["edges"][0]["node"]["id"]
    line = "abuse-line"
    adopted = server.post("mutation($input: AdoptSuggestionInput!) { adoptSuggestion(input: $input) { id } }",
                          {"input": {"suggestionId": idea, "productLine": line, "currency": "USD",
                                     "startsAt": "2025-01-01T00:00:00Z"}}, admin["token"])
    adopted.data("adoptSuggestion")
    external = '=HYPERLINK("http://x")'
    report = server.post("mutation($input: ReportSalesInput!) { reportSales(input: $input) { id recordCount } }",
                         {"input": {"externalId": external, "productLine": line, "periodStart": "2025-03-01T00:00:00Z",
                                    "periodEnd": "2025-04-01T00:00:00Z", "netSales": "1000.00", "currency": "USD"}},
                         admin["token"])
    report.data("reportSales")
    reply = server.request("GET", "/exports/revenue-shares.csv", token=admin["token"])
    cells = []
    if reply.status == 200:
        rows = list(csv.DictReader(io.StringIO(reply.text)))
        cells = [row.get("external_id", "") for row in rows if "HYPERLINK" in row.get("external_id", "")]
    got = f"HTTP {reply.status}, cell {cells[0] if cells else 'missing'}"
    res.add("9", "formula in a CSV cell", f"reportSales(externalId: {external}) then GET the CSV as ADMIN",
            "cell starts with '", got, reply.ms, server.rss_mib(),
            reply.status == 200 and bool(cells) and all(c.startswith("'") for c in cells),
            note=f"{len(cells)} row(s) carry the external id")


def attack_flood(server, res, round_no, clients=32, attempts=10):
    answers = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients)

    def client(i):
        # Documentation ranges (RFC 5737), only ever written into the header.
        forwarded = f"{('198.51.100', '203.0.113')[round_no - 1]}.{i + 1}"
        handle = f"nobody_r{round_no}_{i:02d}"
        barrier.wait()
        for k in range(attempts):
            try:
                reply = server.post(LOG_IN_VARS, {"h": handle, "p": f"flood guess {k}"},
                                    headers={"X-Forwarded-For": forwarded})
                answers[i].append((reply.code, reply.message))
            except OSError as err:
                answers[i].append(("socket error", str(err)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    peak = [server.rss_mib()]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mib())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ms = (time.perf_counter() - start) * 1000
    done.set()
    sampler.join()
    flat = [a for per in answers for a in per]
    hashed = sum(1 for code, _ in flat if code == "UNAUTHENTICATED")
    queue_full = sum(1 for code, msg in flat if code == "RATE_LIMITED" and "waiting" in msg)
    limited = sum(1 for code, msg in flat if code == "RATE_LIMITED" and "waiting" not in msg)
    other = len(flat) - hashed - queue_full - limited
    rss = server.rss_mib()
    got = f"{hashed} UNAUTH, {queue_full} RL(queue), {limited + other} else"
    others = sorted({code for code, _ in flat if code not in ("UNAUTHENTICATED", "RATE_LIMITED")}, key=str)
    res.add(f"10{'ab'[round_no - 1]}", f"log-in flood, round {round_no} (32 x 10)",
            f"{len(flat)} logIn, 32 clients, own X-Forwarded-For and unknown handle each",
            "UNAUTH or RL(queue) only", got, ms, rss, other == 0 and limited == 0 and len(flat) == clients * attempts,
            note=f"{limited} refused by a rate limit, {other} other answers; sampled peak RSS during the round {peak[0]:.1f} MiB; VmHWM {server.hwm_mib():.1f} MiB; "
                 f"RssAnon {server.status_kib('RssAnon') / 1024:.1f} MiB, RssFile {server.status_kib('RssFile') / 1024:.1f} MiB"
                 + (f"; other codes: {others}" if others else ""))
    return rss, hashed, queue_full


# --------------------------------------------------------------------------------------------
# Throughput


def wrk(server, workdir, seconds, every, expected_codes):
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", os.path.join(BENCH, "abuse_mix.lua"),
         f"http://127.0.0.1:{server.port}/graphql"],
        env={**os.environ, "LEGIT_FILE": os.path.join(workdir, "legit.json"),
             "ATTACKS_FILE": os.path.join(workdir, "attacks.jsonl"), "ATTACK_EVERY": str(every),
             "EXPECTED_CODES": ",".join(expected_codes)},
        check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    elapsed = float(re.search(r"\d+ requests in ([\d.]+)s", out).group(1))
    counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", re.search(r"ABUSE_COUNTS (.*)", out).group(1)))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: (.*)", out)

    def percentile(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "listed_ps": counts["listed"] / elapsed, "p50": percentile(50), "p99": percentile(99), **counts,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": sockets.group(1) if sockets else "none"}


def throughput(server, res, workdir, community, forged, quick):
    warm, seconds, pairs = (1, 4, 2) if quick else (3, 10, 3)
    with open(os.path.join(workdir, "legit.json"), "w") as f:
        f.write(json.dumps({"query": TOP20, "variables": {"c": community}}) + "\n")
    attacks = [
        {"query": fragment_bomb(22)},
        {"query": log_in_guesses(40, "fan00005")},
        {"query": TOP1, "variables": {"after": forged}},
        {"query": log_in_guesses(12, "fan00006", right=PASSWORD)},
    ]
    with open(os.path.join(workdir, "attacks.jsonl"), "w") as f:
        for body in attacks:
            f.write(json.dumps(body) + "\n")
    expected = ["QUERY_TOO_COMPLEX", "BAD_USER_INPUT"]
    print(f"\nthroughput: wrk -t2 -c8, {warm} s warm-up, then {'/'.join(['A/B'] * pairs)} of {seconds} s "
          f"(A: top-20 listing alone; B: 1 request in 20 an attack)", flush=True)
    wrk(server, workdir, warm, 0, expected)
    runs = []
    for label in ["A", "B"] * pairs:
        r = wrk(server, workdir, seconds, 0 if label == "A" else 20, expected)
        r["label"] = label
        runs.append(r)
        print(f"  {label}: {r['rps']:.0f} req/s ({r['listed_ps']:.0f} listings/s), p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, "
              f"listed {r['listed']}, refused {r['refused']}, unexpected {r['unexpected']}, "
              f"non-2xx {r['non2xx']}, socket errors {r['socket_errors']}", flush=True)
    a = [r["rps"] for r in runs if r["label"] == "A"]
    b = [r["rps"] for r in runs if r["label"] == "B"]
    ratio = (sum(b) / len(b)) / (sum(a) / len(a))
    listed_a = [r["listed_ps"] for r in runs if r["label"] == "A"]
    listed_b = [r["listed_ps"] for r in runs if r["label"] == "B"]
    listed_ratio = (sum(listed_b) / len(listed_b)) / (sum(listed_a) / len(listed_a))
    print("  B/A per pair, requests/s: " + ", ".join(f"{y / x:.3f}" for x, y in zip(a, b))
          + f" (of the means {ratio:.3f}); legitimate listings/s: "
          + ", ".join(f"{y / x:.3f}" for x, y in zip(listed_a, listed_b)) + f" (of the means {listed_ratio:.3f})")
    for r in runs:
        total = r["listed"] + r["refused"] + r["unexpected"]
        if r["unexpected"]:
            res.failed.append(f"throughput run {r['label']}: {r['unexpected']} unexpected responses")
        if r["label"] == "B" and not (0.03 * total <= r["refused"] <= 0.07 * total):
            res.failed.append(f"throughput run B: {r['refused']} refusals of {total} responses (expected ~5%)")
        if r["label"] == "A" and r["refused"]:
            res.failed.append(f"throughput run A: {r['refused']} refusals of legitimate requests")
    return runs, ratio, listed_ratio


# --------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter warm-up and wrk runs")
    parser.add_argument("--port", type=int, default=18095)
    parser.add_argument("--strict-targets", action="store_true", help="exit non-zero when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, logs)")
    args = parser.parse_args()
    began = time.time()
    if ws_connect is None:
        sys.exit("needs the websockets package: pip install websockets")
    if not shutil.which("wrk"):
        sys.exit("wrk not found (Debian: apt-get install wrk)")
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"{BINARY} missing: cargo build --release")

    workdir = tempfile.mkdtemp(prefix="canyu-abuse-")
    dbpath = os.path.join(workdir, "abuse.db")
    url = f"sqlite://{dbpath}?mode=rwc"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANYU_")}
    env.update({"DATABASE_URL": url, "RUST_LOG": "warn"})
    print(f"seeding {dbpath} (canyu seed-demo, default sizes)…", flush=True)
    seeded = run([BINARY, "seed-demo"], env).stdout
    print("  " + seeded.strip().replace("\n", "\n  "))
    communities = dict(re.findall(r"community (\S+): (\S+)", seeded))
    for handle in ("abuse_boss", "abuse_fallen"):
        run([BINARY, "create-admin", "--handle", handle], env, stdin=ADMIN_PASSWORD + "\n")
    db = Sqlite(dbpath)
    largest_id = db.rows("SELECT community_id FROM suggestion GROUP BY community_id ORDER BY COUNT(*) DESC LIMIT 1")[0][0]
    largest = next((slug for slug, cid in communities.items() if cid == largest_id), largest_id)
    community = communities.get(largest, largest_id)
    print(f"  largest community: {largest} ({community}); admins abuse_boss, abuse_fallen", flush=True)

    res = Results()
    servers = []
    try:
        print("\nserver with the default limits (CANYU_ENV=production)", flush=True)
        server = Server(url, args.port, workdir, label="defaults").start()
        servers.append(server)
        idle_rss = server.rss_mib()
        print(f"  pid {server.process.pid}, RSS {idle_rss:.1f} MiB at start (RssAnon "
              f"{server.status_kib('RssAnon') / 1024:.1f}, RssFile {server.status_kib('RssFile') / 1024:.1f})\n", flush=True)

        def log_in(handle, password):
            reply = server.post(LOG_IN, {"i": {"handle": handle, "password": password}})
            payload = reply.data("logIn")
            return {"token": payload["accessToken"], "id": payload["user"]["id"], "handle": handle}

        # Every account signs in now: the log-in attacks later fill this address's budget.
        boss = log_in("abuse_boss", ADMIN_PASSWORD)
        fallen = log_in("abuse_fallen", ADMIN_PASSWORD)
        staff = log_in("brand_staff", PASSWORD)
        socket_fan = log_in("fan00001", PASSWORD)
        pull_fan = log_in("fan00002", PASSWORD)
        top = server.post(TOP20, {"c": community})
        suggestion = top.data("suggestions")["edges"][0]["node"]["id"]

        attack_fragments(server, res)
        attack_demoted_admin(server, res, boss, fallen, suggestion)
        attack_huge_price(server, res, staff, community)
        attack_ship(server, res, db, staff)
        attack_pull(server, res, pull_fan)
        attack_sockets(server, res, socket_fan, suggestion)
        forged = attack_cursor(server, res)
        attack_csv(server, res, boss, community)
        attack_log_ins(server, res, "fan00003")
        server.stop()

        print("\nserver restarted with TRUSTED_PROXY_HEADER=X-Forwarded-For (phase 10 only; other limits "
              "default: PASSWORD_HASH_CONCURRENCY = cores, PASSWORD_HASH_QUEUE = 16)", flush=True)
        server = Server(url, args.port, workdir, {"TRUSTED_PROXY_HEADER": "X-Forwarded-For"}, label="flood").start()
        servers.append(server)
        base_rss = server.rss_mib()
        print(f"  pid {server.process.pid}, RSS {base_rss:.1f} MiB before the flood\n", flush=True)
        rss1, hashed1, full1 = attack_flood(server, res, 1)
        rss2, hashed2, full2 = attack_flood(server, res, 2)
        res.target("RSS <= 64 MiB after the first flood round", rss1 <= 64)
        res.target("RSS after the second round within 10% of the first", rss2 <= rss1 * 1.10)
        server.stop()

        print("\nserver restarted with the default limits for throughput", flush=True)
        server = Server(url, args.port, workdir, label="throughput").start()
        servers.append(server)
        runs, ratio, listed_ratio = throughput(server, res, workdir, community, forged, args.quick)
        res.target("requests/s with 5% attacks at most 10% lower", ratio >= 0.90)
        res.target("legitimate listings/s with 5% attacks at most 10% lower", listed_ratio >= 0.90)
        end_rss = server.rss_mib()
        server.stop()
    finally:
        for s in servers:
            s.stop()

    res.table()
    print()
    print(f"server RSS at start, before any request: {idle_rss:.1f} MiB")
    print(f"log-in flood: RSS {base_rss:.1f} MiB before, {rss1:.1f} MiB after round 1 "
          f"({hashed1} of 320 hashed, {full1} refused by the full queue), {rss2:.1f} MiB after round 2 "
          f"({hashed2} hashed, {full2} refused); target <= 64 MiB and within 10%: "
          f"{'met' if rss1 <= 64 and rss2 <= rss1 * 1.10 else 'MISSED'}")
    print(f"throughput ({largest} top-20, wrk -t2 -c8, {'4' if args.quick else '10'} s runs, req/s): "
          + ", ".join(f"{r['label']} {r['rps']:.0f}" for r in runs)
          + f"; B/A of the means {ratio:.3f} in requests/s, {listed_ratio:.3f} in legitimate listings/s "
          f"(A {sum(r['listed_ps'] for r in runs if r['label'] == 'A') / (len(runs) // 2):.0f}, "
          f"B {sum(r['listed_ps'] for r in runs if r['label'] == 'B') / (len(runs) // 2):.0f}; target >= 0.90: "
          f"{'met' if min(ratio, listed_ratio) >= 0.90 else 'MISSED'}); RSS after {end_rss:.1f} MiB")
    print(f"run took {time.time() - began:.0f} s")
    if args.keep:
        print(f"kept {workdir}")
    else:
        db.conn.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if res.missed:
        print("targets missed: " + "; ".join(res.missed))
    if res.failed:
        print("NOT REFUSED AS EXPECTED:\n  " + "\n  ".join(res.failed))
        sys.exit(1)
    if res.missed and args.strict_targets:
        sys.exit(2)
    print("every attack was refused as expected")


if __name__ == "__main__":
    main()
