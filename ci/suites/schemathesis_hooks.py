"""Schemathesis hooks for Canyu (loaded by ci/suites/schemathesis.sh via SCHEMATHESIS_HOOKS).

* Strategies for the custom scalars hypothesis-graphql cannot generate: `Decimal` (exact decimal
  strings, extremes included), `JSON` (small objects shaped like `push` mutation args),
  `DateTime` (RFC 3339, near now and far), and `ID` (Canyu ids are UUIDs: mostly ids of real
  rows, read by schemathesis_setup.py into CANYU_ST_IDS, so generated calls reach the services).
* `map_body` re-draws each generated ID from the table its argument names (`suggestionId`,
  `pollId`, `user(id:)`, `voidRevenueShare(id:)`, ...) and gives client-made ids (`input.id`
  of the creates, `clientGroupId`, `clientId`) fresh UUIDs.
* Checks (the only ones the run enables): no 5xx, every error has `extensions.code`, no
  `INTERNAL`/`UNAVAILABLE`/`TIMEOUT` error, the body is a GraphQL response.
* Counts every response by status and error code into CANYU_ST_STATS (JSON) for the summary.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import re
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# ---------------------------------------------------------------- ids of real rows
_ids_file = os.environ.get("CANYU_ST_IDS")
_loaded = json.load(open(_ids_file)) if _ids_file and os.path.exists(_ids_file) else {}
IDS: dict[str, list[str]] = {k: list(v) for k, v in _loaded.get("ids", {}).items()}
# Never hand the signed-in account's own id to setUserBanned/setUserRole and friends: a run
# that bans or demotes itself tests nothing afterwards.
_viewer = _loaded.get("viewer_id")
if _viewer and "users" in IDS:
    IDS["users"] = [u for u in IDS["users"] if u != _viewer]
ALL_IDS = sorted({i for v in IDS.values() for i in v})
ALL_ID_SET = frozenset(ALL_IDS)
# A few fixed device ids, so pushes and pulls of one client group follow each other.
CLIENT_GROUPS = [str(uuid.UUID(int=0x0193_0000_0000_7000_8000_0000_0000_0001 + n)) for n in range(3)]
CLIENTS = [str(uuid.UUID(int=0x0193_0000_0000_7000_8000_0000_0000_1001 + n)) for n in range(3)]

_random_uuid = st.uuids().map(str)
_odd_ids = st.sampled_from(
    [
        "",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "01a2317f-a7a6-7092-ac87",  # truncated
        "{01a2317f-a7a6-7092-ac87-f364a4f26e50}",
        "urn:uuid:01a2317f-a7a6-7092-ac87-f364a4f26e50",
        "01A2317FA7A67092AC87F364A4F26E50",
        "1",
        "x" * 300,
    ]
)
_real_id = st.sampled_from(ALL_IDS) if ALL_IDS else _random_uuid
ID_VALUES = st.one_of(
    *([_real_id] * 8),  # mostly real rows
    _random_uuid,
    _odd_ids,
)

# ---------------------------------------------------------------- Decimal
DECIMAL_EXTREMES = [
    "79228162514264337593543950335",  # rust_decimal::MAX
    "-79228162514264337593543950335",
    "79228162514264337593543950336",  # one past MAX
    "0.0000000000000000000000000001",  # smallest positive at scale 28
    "0.00000000000000000000000000001",  # scale 29
    "-0",
    "0",
    "0.00",
    "-0.01",
    "1000000000000000",  # 10^15, the documented money maximum in minor units
    "10000000000000.00",
    "10000000000000.01",
    "9999999999999.99",
    "1e3",
    "1E-2",
    ".5",
    "5.",
    "+5",
    " 5",
    "NaN",
    "Infinity",
    "1_000",
    "0x10",
    "",
]
_plain_decimals = st.decimals(
    min_value=-(10**16), max_value=10**16, allow_nan=False, allow_infinity=False, places=None
).map(lambda d: format(d, "f"))
_prices = st.tuples(st.integers(min_value=0, max_value=100_000), st.sampled_from(["", ".0", ".5", ".99", ".123"])).map(
    lambda t: f"{t[0]}{t[1]}"
)
DECIMAL_VALUES = st.one_of(_prices, _prices, _plain_decimals, st.sampled_from(DECIMAL_EXTREMES)).map(nodes.String)

# ---------------------------------------------------------------- DateTime
_NOW = datetime.now(timezone.utc).replace(microsecond=0)
DATETIME_EXTREMES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "1970-01-01T00:00:00Z",
    "2038-01-19T03:14:08Z",
    "2026-02-29T00:00:00Z",  # not a leap year
    "2024-02-29T12:00:00+14:00",
    "2026-12-01T00:00:00-12:00",
    "2026-12-01 00:00:00Z",
    "2026-12-01T00:00:00",  # no offset
    "2026-12-01",
    "2026-12-01T24:00:00Z",
    "2026-12-01T23:59:60Z",  # leap second
    "+002026-12-01T00:00:00Z",
    "",
]


def _rfc3339(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


_near_now = st.integers(min_value=-90 * 86400, max_value=90 * 86400).map(lambda s: _rfc3339(_NOW + timedelta(seconds=s)))
_anywhen = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
).map(_rfc3339)
DATETIME_VALUES = st.one_of(_near_now, _near_now, _anywhen, st.sampled_from(DATETIME_EXTREMES)).map(nodes.String)


# ---------------------------------------------------------------- JSON
def to_value_node(value: object) -> graphql.ValueNode:
    """A Python value as a GraphQL literal (what a JSON-scalar argument is sent as)."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([to_value_node(v) for v in value])
    if isinstance(value, dict):
        return nodes.Object(
            [graphql.ObjectFieldNode(name=graphql.NameNode(value=str(k)), value=to_value_node(v)) for k, v in value.items()]
        )
    raise TypeError(type(value))


def _ids_of(kind: str) -> st.SearchStrategy[str]:
    pool = IDS.get(kind) or ALL_IDS
    return st.sampled_from(pool) if pool else _random_uuid


_short_text = st.text(max_size=40)
# The keys the `push` mutations read (docs/sync.md), with plausible values, any subset.
PUSH_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "id": _random_uuid,
        "communityId": _ids_of("communities"),
        "suggestionId": _ids_of("suggestions"),
        "pollId": _ids_of("polls"),
        "kind": st.sampled_from(["IDEA", "COMPLAINT", "QUESTION", "idea", ""]),
        "title": _short_text,
        "body": _short_text,
        "productLine": st.sampled_from(["bricks", "phones", ""]),
        "value": st.sampled_from(["UP", "DOWN", "NONE", "up", 1]),
        "choice": st.sampled_from(["549", "499.00", "-1", "abc"]),
        "baseSeq": st.integers(min_value=-1, max_value=10_000),
    },
)
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))
_small_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=10,
)
JSON_VALUES = st.one_of(PUSH_ARGS, PUSH_ARGS, PUSH_ARGS, st.dictionaries(st.text(max_size=10), _small_json, max_size=5), _small_json).map(
    to_value_node
)

schemathesis.graphql.scalar("Decimal", DECIMAL_VALUES)
schemathesis.graphql.scalar("DateTime", DATETIME_VALUES)
schemathesis.graphql.scalar("JSON", JSON_VALUES)
schemathesis.graphql.scalar("ID", ID_VALUES.map(nodes.String))

# ---------------------------------------------------------------- ids by argument name
ARG_KINDS = {
    "userId": "users",
    "beneficiaryId": "users",
    "communityId": "communities",
    "suggestionId": "suggestions",
    "duplicateOfId": "suggestions",
    "commentId": "comments",
    "pollId": "polls",
}
# `id` / `ids` arguments of root fields.
ROOT_ID_KINDS = {
    "user": "users",
    "setUserRole": "users",
    "setUserBanned": "users",
    "community": "communities",
    "suggestion": "suggestions",
    "pricingPoll": "polls",
    "ideaReward": "rewards",
    "endIdeaReward": "rewards",
    "revokePartner": "partners",
    "voidRevenueShare": "revenue_shares",
    "approveRevenueShares": "revenue_shares",
    "markRevenueSharesPaid": "revenue_shares",
    "markNotificationsRead": "notifications",
}
# Client-made ids of creates (`input.id`): fresh mostly, an existing one now and then.
CREATE_FIELDS = {"addComment", "adoptSuggestion", "createCommunity", "createPricingPoll", "submitSuggestion"}


# Arguments whose random values are nearly always refused: half the time (60% for the ints) a
# value that passes the input checks instead, so the call gets past them to the rules behind.
def _word(rnd: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(lo, hi)))


PLAUSIBLE_STRINGS = {
    "handle": lambda r: r.choice(["fan00001", "fan00002", "ci_" + _word(r, "abcdefghijklmnopqrstuvwxyz0123456789_", 3, 12)]),
    "password": lambda r: r.choice(["canyu-demo-password", "correct horse battery staple", _word(r, "abcdef0123", 10, 20)]),
    "currentPassword": lambda r: "canyu-demo-password",
    "newPassword": lambda r: "another correct horse",
    "slug": lambda r: "ci-" + _word(r, "abcdefghijklmnopqrstuvwxyz0123456789-", 1, 20),
    "currency": lambda r: r.choice(["USD", "USD", "JPY", "BHD", "EUR", "usd", "XXX"]),
    "productLine": lambda r: r.choice(["bricks", "bricks", "phones"]),
    "scopes": lambda r: r.choice(["sales:write", "ideas:read", "admin"]),
    "kind": lambda r: r.choice(["IDEA", "COMPLAINT"]),
    "choice": lambda r: r.choice(["549", "499", "599", "1", "2", "549.00", "550"]),
    "payoutReference": lambda r: "SEPA-" + _word(r, "0123456789", 1, 6),
}
PLAUSIBLE_INTS = {
    "protocolVersion": lambda r: 1,
    "schemaVersion": lambda r: r.choice([2, 2, 1]),
    "weightBps": lambda r: r.choice([10000, 5000, 1]),
    "shareBps": lambda r: r.choice([100, 1, 10000]),
    "quorum": lambda r: r.randint(1, 3),
    "first": lambda r: r.randint(1, 100),
    "limit": lambda r: r.randint(1, 1000),
    "ackedThrough": lambda r: r.randint(0, 5),
}


class _Retarget(graphql.Visitor):
    def __init__(self, rnd: random.Random) -> None:
        super().__init__()
        self.rnd = rnd
        self.names: list[str] = []
        self.root: str | None = None

    def enter_field(self, node, *_):
        if self.root is None:
            self.root = node.name.value

    def enter_argument(self, node, *_):
        self.names.append(node.name.value)

    def leave_argument(self, node, *_):
        self.names.pop()

    def enter_object_field(self, node, *_):
        self.names.append(node.name.value)

    def leave_object_field(self, node, *_):
        self.names.pop()

    def enter_int_value(self, node, *_):
        if self.names and self.names[-1] in PLAUSIBLE_INTS and self.rnd.random() < 0.6:
            return nodes.Int(PLAUSIBLE_INTS[self.names[-1]](self.rnd))
        return None

    def enter_string_value(self, node, *_):
        if not self.names:
            return None
        name = self.names[-1]
        if name in PLAUSIBLE_STRINGS and self.rnd.random() < 0.5:
            return nodes.String(PLAUSIBLE_STRINGS[name](self.rnd))
        generated_id = node.value in ALL_ID_SET
        if name in ("clientGroupId", "clientId") and (generated_id or self.rnd.random() < 0.5):
            return nodes.String(self.rnd.choice(CLIENT_GROUPS if name == "clientGroupId" else CLIENTS))
        if not generated_id:
            return None  # a random or odd id: keep it, it tests the refusals
        kind = ARG_KINDS.get(name)
        if kind is None and name in ("id", "ids"):
            if len(self.names) == 1:
                kind = ROOT_ID_KINDS.get(self.root or "")
            elif self.root in CREATE_FIELDS and self.rnd.random() < 0.9:
                return nodes.String(str(uuid.uuid4()))
        pool = IDS.get(kind or "")
        if pool and self.rnd.random() < 0.9:
            return nodes.String(self.rnd.choice(pool))
        return None


@schemathesis.hook
def flatmap_body(context, body):
    if not isinstance(body, graphql.DocumentNode):
        return st.just(body)
    return st.randoms(use_true_random=False).map(lambda rnd: graphql.visit(body, _Retarget(rnd)))


# ---------------------------------------------------------------- checks and counts
_lock = threading.Lock()
STATS = {
    "responses": 0,
    "status": Counter(),
    "codes": Counter(),
    "messages": Counter(),  # (code, message) of the errors, for the summary's top list
    "operations": Counter(),
    "reached": Counter(),  # operations whose response had data and no error
    "failures": Counter(),
}
FAILURE_EXAMPLES: dict[str, str] = {}
BAD_CODES = {"INTERNAL", "UNAVAILABLE", "TIMEOUT"}


def _payload(response):
    try:
        return response.json()
    except Exception:
        return None


def _record_failure(kind: str, case, response, detail: str) -> None:
    with _lock:
        STATS["failures"][kind] += 1
        if kind not in FAILURE_EXAMPLES:
            body = response.text if hasattr(response, "text") else ""
            FAILURE_EXAMPLES[kind] = (
                f"{case.operation.label}: {detail}\n  query: {case.body.get('query') if isinstance(case.body, dict) else case.body}\n"
                f"  status {response.status_code}, body: {body[:600]}"
            )


@schemathesis.hook
def after_call(context, case, response):
    payload = _payload(response)
    with _lock:
        STATS["responses"] += 1
        STATS["status"][str(response.status_code)] += 1
        STATS["operations"][case.operation.label] += 1
        if isinstance(payload, dict):
            errors = payload.get("errors") or []
            for error in errors:
                code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
                STATS["codes"][str(code)] += 1
                message = error.get("message", "") if isinstance(error, dict) else ""
                STATS["messages"][f"{code}: {re.sub(r'[0-9a-f-]{36}', '<uuid>', str(message))[:120]}"] += 1
            if payload.get("data") is not None and not errors:
                STATS["reached"][case.operation.label] += 1


@schemathesis.check
def canyu_no_server_error(ctx, response, case):
    """No 5xx, and no error coded INTERNAL (a bug), UNAVAILABLE or TIMEOUT."""
    if response.status_code >= 500:
        _record_failure(f"HTTP {response.status_code}", case, response, "5xx response")
        raise AssertionError(f"server error: HTTP {response.status_code}")
    payload = _payload(response)
    if isinstance(payload, dict):
        for error in payload.get("errors") or []:
            code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
            if code in BAD_CODES:
                _record_failure(f"code {code}", case, response, error.get("message", ""))
                raise AssertionError(f"error coded {code}: {error.get('message')}")


@schemathesis.check
def canyu_errors_have_code(ctx, response, case):
    """Every entry of `errors` carries a string `extensions.code`."""
    payload = _payload(response)
    if not isinstance(payload, dict):
        return
    for error in payload.get("errors") or []:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if not isinstance(code, str) or not code:
            _record_failure("error without extensions.code", case, response, json.dumps(error)[:300])
            raise AssertionError(f"an error without extensions.code: {json.dumps(error)[:300]}")


@schemathesis.check
def canyu_graphql_response(ctx, response, case):
    """A GraphQL answer is a JSON object with `data` or `errors` (the HTTP-level refusals too)."""
    payload = _payload(response)
    if not isinstance(payload, dict) or not ("data" in payload or "errors" in payload):
        _record_failure("not a GraphQL response", case, response, "body is not a JSON object with data/errors")
        raise AssertionError(f"not a GraphQL response (HTTP {response.status_code}): {response.text[:200]}")


def _dump_stats() -> None:
    out = os.environ.get("CANYU_ST_STATS")
    if not out:
        return
    with _lock:
        data = {
            "responses": STATS["responses"],
            "status": dict(STATS["status"]),
            "codes": dict(STATS["codes"]),
            "top_messages": STATS["messages"].most_common(25),
            "operations": len(STATS["operations"]),
            "operations_reached": len(STATS["reached"]),
            "operations_never_reached": sorted(set(STATS["operations"]) - set(STATS["reached"])),
            "failures": dict(STATS["failures"]),
            "failure_examples": FAILURE_EXAMPLES,
        }
    with open(out, "w") as f:
        json.dump(data, f, indent=1)


atexit.register(_dump_stats)
