#!/usr/bin/env python3
"""Database outage: restart Postgres under load and measure how the release server fails and
recovers, without restarting it.

  python3 bench/outage.py [--hold 0] [--clients 8] [--baseline 5]
                          [--admin-url postgres://postgres@127.0.0.1:5432/postgres]

WARNING: this restarts the local Postgres cluster: `pg_ctlcluster --skip-systemctl-redirect <ver>
main restart -m immediate` (with --hold N: `stop -m immediate`, N seconds down, then `start`).
Every other session on that cluster is cut off. It runs once per invocation, never in a loop, and
the cluster is started again if the script stops while Postgres is down.

Setup: a fresh Postgres database `canyu_outage`, `canyu migrate`, `canyu seed-demo --users 300
--suggestions 2000 --votes 5000 --comments 200`, `target/release/canyu serve` (copied into a
temporary directory) on 127.0.0.1:18094 with the default pool and RATE_LIMIT_MUTATIONS=1000000
(the load votes faster than 120 a minute per fan); 64 fans log in. Then:
  - the load: --clients threads, each alternating the top-20 listing of a public community
    (`suggestions(communityId, sort: TOP, first: 20)` with author and score) and a castVote by one
    of the fans on one of 200 open suggestions; each request is timed (15 s client timeout) and
    classified: ok, GraphQL error (by extensions.code), HTTP status, or dropped (no answer);
  - /healthz polled every 100 ms (3 s client timeout);
  - a websocket subscriber (graphql-transport-ws, fan00299's token) on
    `suggestionUpdated(suggestionId: S)`, S kept out of the load; fan00298 votes on S as a probe
    (before the outage, and after recovery), and the subscriber must get the event with the
    probe's counters within 5 s, on the same socket;
  - `pg_isready` every 50 ms tells when Postgres went down and when it accepts connections again.
After --baseline seconds of load the restart runs; the load goes on until the rate is back (or 20 s
after Postgres is up). Prints: the outage window; every request that started during the outage or
failed after it (codes, latencies, hangs over 1 s, dropped connections); /healthz answers during
the outage; the time from Postgres up to the first successful request and to the first 1-s window
at ≥ 80 % of the baseline rate; the subscriber's events; "panicked" lines in the server log; and
whether the server process stayed the same. Exits non-zero when a target is missed: every failed
request answered within 1 s with UNAVAILABLE (no other code, no hang, no dropped connection),
/healthz 503 seen during the outage, the subscriber received after recovery, rate back ≤ 10 s.
"""

import argparse
import collections
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crash  # noqa: E402

try:
    from websockets.sync.client import connect as ws_connect
    import warnings
    warnings.filterwarnings("ignore", message=r"connect\(\) must be used as a context manager")
except ImportError:  # pragma: no cover - reported at start
    ws_connect = None

PORT = 18094
PG_DB = "canyu_outage"
SEED = ["--users", "300", "--suggestions", "2000", "--votes", "5000", "--comments", "200"]
SERVER_ENV = {"RATE_LIMIT_MUTATIONS": "1000000", "ACCESS_TOKEN_TTL_SECS": "7200", "CANYU_ENV": "production",
              "RUST_LOG": "warn"}
CLIENT_TIMEOUT = 15
FAIL_FAST = 1.0
RECOVERY_TARGET = 10.0
LISTING = ("query($c: ID!) { suggestions(communityId: $c, sort: TOP, first: 20) "
           "{ edges { node { id title score upvotes author { handle } } } } }")
SUBSCRIPTION = "subscription($s: ID!) { suggestionUpdated(suggestionId: $s) { id upvotes downvotes score } }"

log = crash.log


def now():
    return time.monotonic()


def request(conn_holder, query, variables, token=None):
    """One POST /graphql: (outcome, codes, http status, seconds). outcome: ok | error | http | dropped."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = now()
    try:
        if conn_holder[0] is None:
            conn_holder[0] = http.client.HTTPConnection("127.0.0.1", PORT, timeout=CLIENT_TIMEOUT)
        conn = conn_holder[0]
        conn.request("POST", "/graphql", body, headers)
        response = conn.getresponse()
        data = response.read()
        if response.will_close:
            conn.close()
            conn_holder[0] = None
    except (OSError, http.client.HTTPException) as err:
        if conn_holder[0] is not None:
            conn_holder[0].close()
        conn_holder[0] = None
        return "dropped", [type(err).__name__], None, now() - started, started
    seconds = now() - started
    try:
        parsed = json.loads(data)
    except ValueError:
        return "http", [f"HTTP {response.status}"], response.status, seconds, started
    if parsed.get("errors"):
        codes = [(e.get("extensions") or {}).get("code") for e in parsed["errors"]]
        return "error", codes, response.status, seconds, started, parsed["errors"][0].get("message")
    if response.status != 200:
        return "http", [f"HTTP {response.status}"], response.status, seconds, started
    return "ok", [], response.status, seconds, started, parsed.get("data")


class Load:
    def __init__(self, clients, tokens, community_ids, targets, seed):
        self.clients, self.tokens, self.community_ids, self.targets = clients, tokens, community_ids, targets
        self.records = []  # (start, end, kind, outcome, codes, status, message)
        self.stop = threading.Event()
        self.threads = []
        self.seed = seed

    def run(self, n):
        rng = random.Random(self.seed + n)
        holder = [None]
        i = 0
        while not self.stop.is_set():
            i += 1
            if i % 2:
                kind = "listing"
                result = request(holder, LISTING, {"c": rng.choice(self.community_ids)})
            else:
                kind = "vote"
                token = rng.choice(self.tokens)
                result = request(holder, crash.VOTE_QUERY, {"s": rng.choice(self.targets),
                                                            "v": rng.choice(["UP", "DOWN", "NONE"])}, token)
            outcome, codes, status, seconds, started = result[:5]
            message = result[5] if outcome == "error" and len(result) > 5 else None
            self.records.append((started, started + seconds, kind, outcome, tuple(codes), status, message))
        if holder[0] is not None:
            holder[0].close()

    def start(self):
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(self.clients)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=CLIENT_TIMEOUT + 5)


class Poller(threading.Thread):
    """Calls `probe` every `interval` seconds and keeps (time, answer, seconds)."""

    def __init__(self, probe, interval):
        super().__init__(daemon=True)
        self.probe, self.interval = probe, interval
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            started = now()
            answer = self.probe()
            self.samples.append((started, answer, now() - started))
            rest = self.interval - (now() - started)
            if rest > 0:
                self.halt.wait(rest)


def pg_ready(host="127.0.0.1", port="5432"):
    try:
        return subprocess.run(["pg_isready", "-h", host, "-p", port, "-t", "1"], capture_output=True,
                              timeout=5).returncode
    except subprocess.TimeoutExpired:
        return 99


class Subscriber(threading.Thread):
    """One graphql-transport-ws socket subscribed to suggestionUpdated(S); never reconnects."""

    def __init__(self, token, suggestion_id):
        super().__init__(daemon=True)
        self.token, self.suggestion_id = token, suggestion_id
        self.events = []  # (time, payload)
        self.other = []  # (time, message) of errors / completes
        self.closed = None  # (time, reason)
        self.halt = threading.Event()
        self.ws = None
        self.ready = threading.Event()
        self.lock = threading.Condition()

    def run(self):
        try:
            self.ws = ws_connect(f"ws://127.0.0.1:{PORT}/graphql/ws", subprotocols=["graphql-transport-ws"],
                                 proxy=None, compression=None, open_timeout=10)
            self.ws.send(json.dumps({"type": "connection_init",
                                     "payload": {"authorization": f"Bearer {self.token}"}}))
            ack = json.loads(self.ws.recv(timeout=10))
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"expected connection_ack, got {ack}")
            self.ws.send(json.dumps({"id": "1", "type": "subscribe",
                                     "payload": {"query": SUBSCRIPTION, "variables": {"s": self.suggestion_id}}}))
            self.ready.set()
            while not self.halt.is_set():
                try:
                    message = json.loads(self.ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                kind = message.get("type")
                if kind == "ping":
                    self.ws.send(json.dumps({"type": "pong"}))
                    continue
                with self.lock:
                    if kind == "next" and not (message.get("payload") or {}).get("errors"):
                        self.events.append((now(), message["payload"]["data"]["suggestionUpdated"]))
                    elif kind != "pong":
                        self.other.append((now(), message))
                    self.lock.notify_all()
        except Exception as err:  # noqa: BLE001 - a closed socket is a finding, reported
            if not self.halt.is_set():
                with self.lock:
                    self.closed = (now(), f"{type(err).__name__}: {err}")
                    self.lock.notify_all()
        finally:
            self.ready.set()

    def wait_for(self, predicate, timeout, since=0):
        """The first event (time, payload) from index `since` on that satisfies predicate, or None."""
        deadline = now() + timeout
        seen = since
        with self.lock:
            while True:
                for at, payload in self.events[seen:]:
                    if predicate(payload):
                        return at, payload
                seen = len(self.events)
                rest = deadline - now()
                if rest <= 0 or self.closed:
                    return None
                self.lock.wait(rest)

    def close(self):
        self.halt.set()
        try:
            if self.ws is not None:
                self.ws.send(json.dumps({"id": "1", "type": "complete"}))
                self.ws.close()
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self.join(timeout=5)


def probe_vote(token, suggestion_id, subscriber, value, retry_for=0.0):
    """Casts `value` on S; returns (vote answered at, event latency in s or None, answer)."""
    holder = [None]
    deadline = now() + retry_for
    while True:
        since = len(subscriber.events)  # the event may arrive before the answer
        result = request(holder, crash.VOTE_QUERY, {"s": suggestion_id, "v": value}, token)
        if result[0] == "ok" or now() >= deadline:
            break
        time.sleep(0.2)
    if holder[0] is not None:
        holder[0].close()
    if result[0] != "ok":
        return None, None, result
    sent_at = result[4]
    vote = result[5]["castVote"]
    found = subscriber.wait_for(lambda p: p["upvotes"] == vote["upvotes"] and p["downvotes"] == vote["downvotes"],
                                5.0, since)
    return sent_at, (found[0] - sent_at) if found else None, vote


def pg_cluster():
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        sys.exit("no cluster under /etc/postgresql")
    return versions[-1], "main"


def pg_ctl(action, *extra):
    version, name = pg_cluster()
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action] + list(extra)
    started = now()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return done.returncode, (done.stdout + done.stderr).strip(), now() - started, " ".join(cmd)


def fmt(seconds):
    return "n/a" if seconds is None else f"{seconds:.2f} s"


def restart_cluster(args, ready, log_):
    """The outage: Postgres restarted with -m immediate (held down --hold seconds). Returns
    (t_restart, t_down, t_up): when the restart began, when pg_isready first failed, when it
    first succeeded again."""
    version, name = pg_cluster()
    log_(f"\nWARNING: restarting the Postgres cluster {version}/{name} now (-m immediate"
         f"{f', {args.hold:g} s down' if args.hold > 0 else ''}); every session on it is cut off.")
    t_restart = now()
    if args.hold > 0:
        rc, out, secs, cmd = pg_ctl("stop", "-m", "immediate")
        log_(f"  `{cmd}` → {rc} in {secs:.2f} s {out}")
        time.sleep(args.hold)
        rc, out, secs, cmd = pg_ctl("start")
        log_(f"  `{cmd}` → {rc} in {secs:.2f} s {out}")
    else:
        rc, out, secs, cmd = pg_ctl("restart", "-m", "immediate")
        log_(f"  `{cmd}` → {rc} in {secs:.2f} s {out}")
    if rc != 0:
        raise RuntimeError(f"pg_ctlcluster failed: {out}")
    deadline = now() + 30
    t_down = t_up = None
    while now() < deadline:
        for at, code, _ in list(ready.samples):
            if at < t_restart:
                continue
            if t_down is None and code != 0:
                t_down = at
            if t_down is not None and code == 0 and at > t_down:
                t_up = at
                break
        if t_up:
            break
        time.sleep(0.05)
    if t_down is None:
        t_down = t_restart
    if t_up is None:
        raise RuntimeError("Postgres did not accept connections again within 30 s")
    return t_restart, t_down, t_up


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hold", type=float, default=0.0,
                        help="0 (default): `restart -m immediate`; more: stop -m immediate, wait that long, start")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds of load before the restart")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and the database")
    args = parser.parse_args()
    if ws_connect is None:
        sys.exit("the websockets package is missing: pip install websockets")
    for tool in ("psql", "pg_isready", "pg_ctlcluster"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    sys.exit(run(args, PG_DB, restart_cluster))


def run(args, db_name, disrupt):
    """Sets up, runs the load around `disrupt(args, ready_poller, log)`, prints the figures;
    returns the exit status."""
    wall = now()
    workdir = tempfile.mkdtemp(prefix="canyu-outage-")
    binary, digest, mtime = crash.copy_binary(workdir)
    log(f"binary {crash.BINARY} (built {mtime}, sha256 {digest}…), copied to {binary}")
    db = crash.Database("postgres", args.admin_url, workdir, name=db_name)
    server = crash.Server(binary, db.server_url, workdir, "server-outage", port=PORT, base=SERVER_ENV)
    failures = []
    restarting = [False]
    load = health = ready = subscriber = None
    try:
        db.create()
        env = crash.clean_env()
        env.update({"DATABASE_URL": db.server_url, "RUST_LOG": "warn"})
        crash.run_cli(binary, ["migrate"], env)
        log("  " + crash.run_cli(binary, ["seed-demo"] + SEED, env).strip().replace("\n", "\n  "))
        crash.psql(db.url, "ANALYZE")
        public = [r[0] for r in db.rows("SELECT id FROM community WHERE visibility = 'PUBLIC' ORDER BY slug")]
        in_public = ", ".join(f"'{c}'" for c in public)
        open_ids = [r[0] for r in db.rows(
            f"SELECT id FROM suggestion WHERE community_id IN ({in_public}) AND deleted_at IS NULL "
            f"AND status IN {crash.VOTABLE} ORDER BY id LIMIT 201")]
        subscribed, targets = open_ids[0], open_ids[1:]
        log(f"server variables: {' '.join(f'{k}={v}' for k, v in SERVER_ENV.items())} (pool and every other "
            "setting default)")
        server.start()
        pid = server.process.pid
        handles = [f"fan{i:05d}" for i in range(64)] + ["fan00298", "fan00299"]
        tokens = {}
        client = crash.Http(port=PORT)
        for handle in handles:
            payload = client.field(crash.LOGIN_QUERY, {"i": {"handle": handle, "password": crash.PASSWORD}}, "logIn")
            tokens[handle] = payload["accessToken"]
        client.close()
        log(f"  {len(tokens)} fans logged in; load on {len(targets)} suggestions of {len(public)} public "
            f"communities; subscribed suggestion {subscribed}")

        subscriber = Subscriber(tokens["fan00299"], subscribed)
        subscriber.start()
        subscriber.ready.wait(15)
        if subscriber.closed:
            raise RuntimeError(f"the subscriber could not start: {subscriber.closed}")
        time.sleep(0.3)
        # NONE first: the probe's UP must change the vote (the same vote again publishes nothing).
        probe_vote(tokens["fan00298"], subscribed, subscriber, "NONE")
        _, before_latency, before_vote = probe_vote(tokens["fan00298"], subscribed, subscriber, "UP")
        log(f"  probe before the outage: event after {fmt(before_latency)} ({before_vote})")

        load = Load(args.clients, [tokens[h] for h in handles[:64]], public, targets, args.seed)
        health = Poller(lambda: crash.healthz(PORT, timeout=3.0)[0], 0.1)
        ready = Poller(pg_ready, 0.05)
        load.start()
        health.start()
        ready.start()
        time.sleep(args.baseline)

        others = db.rows("SELECT datname, COUNT(*) FROM pg_stat_activity WHERE datname IS NOT NULL "
                         f"AND datname <> '{db_name}' AND pid <> pg_backend_pid() GROUP BY datname")
        log(f"\nother sessions on the cluster right now: {others or 'none'}")
        restarting[0] = True
        t_restart, t_down, t_up = disrupt(args, ready, log)
        restarting[0] = False
        log(f"  Postgres refused connections from +{t_down - t_restart:.2f} s, accepting again after "
            f"{t_up - t_down:.2f} s down")

        # Load until the rate is back (1-s windows) and the probe is done, at most 20 s after up.
        baseline_start, baseline_end = t_restart - args.baseline + 0.5, t_restart
        ok_before = [r for r in load.records if r[3] == "ok" and baseline_start <= r[1] < baseline_end]
        baseline_rate = len(ok_before) / (baseline_end - baseline_start)
        per_second = collections.Counter(int(r[1] - baseline_start) for r in ok_before)
        t_rate = None
        while now() < t_up + 20:
            time.sleep(0.2)
            ends = sorted(r[1] for r in list(load.records) if r[3] == "ok" and r[1] >= t_up)
            w = t_up
            while w + 1 <= now():
                count = sum(1 for e in ends if w <= e < w + 1)
                if count >= 0.8 * baseline_rate:
                    t_rate = w + 1 - t_up
                    break
                w += 0.1
            if t_rate is not None:
                break
        probe_at, after_latency, after_vote = probe_vote(tokens["fan00298"], subscribed, subscriber, "DOWN",
                                                         retry_for=10.0)
        time.sleep(1.0)
        load.finish()
        health.halt.set()
        ready.halt.set()
        health.join(5)
        ready.join(5)

        # ---- figures
        records = sorted(load.records)
        during = [r for r in records if t_down <= r[0] < t_up or (r[0] < t_down and r[1] > t_down)]
        failed = [r for r in records if r[3] != "ok" and r[0] >= baseline_start]
        failed_during = [r for r in failed if r[0] < t_up]
        failed_after = [r for r in failed if r[0] >= t_up]
        first_ok = min((r[1] for r in records if r[3] == "ok" and r[0] >= t_up), default=None)
        first_ok_any = min((r[1] for r in records if r[3] == "ok" and r[1] >= t_up), default=None)

        def code_key(r):
            if r[3] != "error":
                return r[3] if r[3] != "http" else "/".join(r[4])
            return "+".join(sorted({c or "no code" for c in r[4]}))

        def describe(rs):
            return dict(collections.Counter(code_key(r) for r in rs).most_common())

        def latency_stats(rs):
            if not rs:
                return "none"
            ls = [r[1] - r[0] for r in rs]
            return (f"p50 {statistics.median(ls) * 1000:.0f} ms, max {max(ls) * 1000:.0f} ms, "
                    f"over 1 s: {sum(1 for x in ls if x > FAIL_FAST)}")

        bad_codes = [r for r in failed if r[3] != "error" or any(c != "UNAVAILABLE" for c in r[4])]
        slow_failed = [r for r in failed if r[1] - r[0] > FAIL_FAST]
        hangs = [r for r in during if r[1] - r[0] > FAIL_FAST]
        dropped = [r for r in failed if r[3] == "dropped"]
        samples = [(at, code, secs) for at, code, secs in health.samples if t_down <= at < t_up]
        health_counts = collections.Counter("no answer" if c is None else str(c) for _, c, _ in samples)
        health_slow = [s for s in samples if s[2] > FAIL_FAST]
        health_back = min((at + secs for at, code, secs in health.samples if at >= t_up and code == 200),
                          default=None)
        first_503 = min((at for at, code, _ in health.samples if at >= t_restart and code == 503), default=None)
        panics = server.panics()
        same_process = server.process.poll() is None and server.process.pid == pid

        log("\n=== outage figures ===")
        log(f"Postgres: down {t_up - t_down:.2f} s (from the first refused pg_isready to the first accepted one; "
            f"{'stop -m immediate, ' + format(args.hold, 'g') + ' s, start' if args.hold > 0 else 'restart -m immediate'})")
        log(f"baseline ({baseline_end - baseline_start:.1f} s before the restart): {baseline_rate:.0f} successful "
            f"requests/s ({args.clients} clients; per second {[per_second[k] for k in sorted(per_second)]})")
        log(f"requests in flight or started during the outage: {len(during)}; outcomes {describe(during)}; "
            f"latency {latency_stats(during)}")
        log(f"failed requests started before Postgres was up: {len(failed_during)} {describe(failed_during)}; "
            f"latency {latency_stats(failed_during)}")
        log(f"failed requests started after Postgres was up: {len(failed_after)} {describe(failed_after)}; "
            f"latency {latency_stats(failed_after)}; last one ended at "
            f"{fmt(max((r[1] for r in failed_after), default=t_up) - t_up)} after up")
        messages = collections.Counter((r[2], code_key(r), r[6] or "") for r in failed)
        for (kind, key, message), n in messages.most_common(10):
            log(f"    {n}× {kind} {key}: {message[:160]}")
        log(f"  failed with a code other than UNAVAILABLE (or no answer / HTTP error): {len(bad_codes)}; "
            f"failed after more than 1 s: {len(slow_failed)}; hangs over 1 s (started in the outage): {len(hangs)}; "
            f"dropped connections: {len(dropped)}")
        involved = [r for r in records if r in during or (r[3] != "ok" and r[0] >= baseline_start)]
        shown = [r for r in involved if r[1] - r[0] > FAIL_FAST
                 or (r[3] != "ok" and (r[3] != "error" or any(c != "UNAVAILABLE" for c in r[4])))]
        log(f"timeline (seconds from the first refused pg_isready; Postgres up at {t_up - t_down:+.2f}): of "
            f"{len(involved)} requests in flight during the outage or failed, "
            f"{sum(1 for r in involved if r[3] == 'ok' and r[1] - r[0] <= FAIL_FAST)} ok ≤ 1 s, "
            f"{sum(1 for r in involved if r[3] == 'error' and set(r[4]) == {'UNAVAILABLE'} and r[1] - r[0] <= FAIL_FAST)} "
            f"UNAVAILABLE ≤ 1 s; the others:")
        for r in shown[:60]:
            log(f"    {r[0] - t_down:+7.2f} → {r[1] - t_down:+7.2f} s ({(r[1] - r[0]) * 1000:6.0f} ms) {r[2]:7} "
                f"{code_key(r) if r[3] != 'ok' else 'ok'}")
        if len(shown) > 60:
            log(f"    … {len(shown) - 60} more")
        polls = [(at, code, secs) for at, code, secs in health.samples if t_restart - 0.3 <= at < t_up + 0.5]
        runs = []  # consecutive polls with the same answer
        for at, code, secs in polls:
            if runs and runs[-1]["code"] == code:
                runs[-1]["last"] = at
                runs[-1]["secs"].append(secs)
            else:
                runs.append({"code": code, "first": at, "last": at, "secs": [secs]})
        log("/healthz polls (sent at, seconds from the first refused pg_isready): " + "; ".join(
            f"{r['first'] - t_down:+.2f}…{r['last'] - t_down:+.2f} s {len(r['secs'])}× "
            f"{'no answer in 3 s' if r['code'] is None else r['code']} "
            f"({min(r['secs']) * 1000:.0f}–{max(r['secs']) * 1000:.0f} ms)" for r in runs))
        log(f"/healthz during the outage: {len(samples)} polls, {dict(health_counts)}; over 1 s: {len(health_slow)}; "
            f"first 503 at {fmt(first_503 - t_down if first_503 else None)}; 200 again "
            f"{fmt(health_back - t_up if health_back else None)} after Postgres was up")
        log(f"recovery: first successful request (sent after Postgres was up) {fmt(first_ok - t_up if first_ok else None)} "
            f"after up (first success of any request {fmt(first_ok_any - t_up if first_ok_any else None)}); "
            f"rate back to ≥ 80 % of baseline (1-s window) {fmt(t_rate)} after up")
        log(f"subscriber: before the outage event after {fmt(before_latency)}; socket closed: "
            f"{subscriber.closed[1] if subscriber.closed else 'no'}; other messages {[m for _, m in subscriber.other][:3]}; "
            f"{len(subscriber.events)} events in all; probe vote after recovery sent "
            f"{fmt(probe_at - t_up if probe_at else None)} after up ({after_vote if probe_at else after_vote[:4]}) → "
            f"event after {fmt(after_latency)}")
        log(f"server: same process {'yes' if same_process else 'NO'} (pid {pid}); 'panicked' lines in its log: {len(panics)}")
        for line in panics[:5]:
            log(f"    {line[:200]}")

        targets_ = [
            ("fail fast: every failed request ≤ 1 s with UNAVAILABLE, no hang, no drop",
             not bad_codes and not slow_failed and not hangs and not dropped,
             f"{len(failed)} failed: {describe(failed)}; >1 s failed {len(slow_failed)}, hangs {len(hangs)}, "
             f"dropped {len(dropped)}"),
            ("/healthz 503 during the outage", health_counts.get("503", 0) > 0, f"{dict(health_counts)}"),
            ("subscriber receives after recovery, same socket", after_latency is not None and not subscriber.closed,
             f"event after {fmt(after_latency)}"),
            ("rate back ≤ 10 s after Postgres is up", t_rate is not None and t_rate <= RECOVERY_TARGET,
             f"{fmt(t_rate)} (first success {fmt(first_ok - t_up if first_ok else None)})"),
            ("no 'panicked' in the server log", not panics, f"{len(panics)} lines"),
            ("the server was not restarted", same_process, f"pid {pid}"),
        ]
        log(f"\n{'target':76}result  figure")
        for name_, ok, figure in targets_:
            log(f"{name_:76}{'ok' if ok else 'MISS':8}{figure}")
            if not ok:
                failures.append(f"{name_}: {figure}")
    except Exception as err:  # noqa: BLE001 - reported
        traceback.print_exc()
        failures.append(f"aborted: {type(err).__name__}: {err}")
    finally:
        for thing in (load,):
            if thing is not None:
                thing.finish()
        for poller in (health, ready):
            if poller is not None:
                poller.halt.set()
        if subscriber is not None:
            subscriber.close()
        if restarting[0] and disrupt is restart_cluster and pg_ready() != 0:
            log("Postgres is not accepting connections: starting the cluster again…")
            log(str(pg_ctl("start")[:2]))
        server.stop()
        if not args.keep:
            db.drop()
        if args.keep or failures:
            log(f"kept {workdir} (the server log)" + (f" and the database {db_name}" if args.keep else ""))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    log(f"\ntotal {now() - wall:.0f} s; finished at {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return 1 if failures else 0


if __name__ == "__main__":
    main()
