"""Prepares a seeded Canyu server for ci/suites/schemathesis.sh (standard library only).

    python3 schemathesis_setup.py URL DB_PATH HANDLE PASSWORD OUT_JSON

Signs in as HANDLE (an ADMIN made with `canyu create-admin`), creates the rows that seed-demo
does not make (pricing polls and a ballot, an adopted idea with a sales report and its
revenue-share records, a partner, a notification), then reads the id of every row of the
tables the schema's `ID` arguments point at from the SQLite file, and writes OUT_JSON:
{"token": ..., "viewer_id": ..., "ids": {"users": [...], "communities": [...], ...}}.
The hooks (schemathesis_hooks.py) draw generated IDs mostly from these lists.
Talks to URL only (it must be a loopback address).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

URL, DB_PATH, HANDLE, PASSWORD, OUT = sys.argv[1:6]
if urlparse(URL).hostname not in ("127.0.0.1", "localhost", "::1"):
    sys.exit(f"refusing a non-loopback URL: {URL}")


def gql(query: str, variables: dict | None = None, token: str | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(URL, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def must(payload: dict, what: str) -> dict:
    if payload.get("errors"):
        raise SystemExit(f"setup step {what!r} failed: {json.dumps(payload['errors'])}")
    return payload["data"]


def soft(payload: dict, what: str) -> dict | None:
    """A setup step that may be refused (the rules change): report it, go on."""
    if payload.get("errors"):
        print(f"  (setup step {what} refused: {payload['errors'][0].get('message')})")
        return None
    return payload["data"]


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_in(handle: str, password: str) -> tuple[str, str]:
    data = must(
        gql(
            "mutation($h: String!, $p: String!) { logIn(input: {handle: $h, password: $p}) "
            "{ accessToken user { id } } }",
            {"h": handle, "p": password},
        ),
        f"logIn {handle}",
    )
    return data["logIn"]["accessToken"], data["logIn"]["user"]["id"]


token, viewer_id = log_in(HANDLE, PASSWORD)
now = datetime.now(timezone.utc)

communities = must(gql("{ communities(first: 50) { nodes { id slug visibility } } }", token=token), "communities")
community_ids = [c["id"] for c in communities["communities"]["nodes"]]
public = [c["id"] for c in communities["communities"]["nodes"] if c["visibility"] == "PUBLIC"] or community_ids
if not community_ids:
    raise SystemExit("the seeded database has no community")
community = public[0]
for cid in community_ids:
    soft(gql("mutation($c: ID!) { joinCommunity(communityId: $c) { status } }", {"c": cid}, token), "joinCommunity")

# Pricing polls, one per method, open now; a binding one; a closed one.
poll = """mutation($i: CreatePricingPollInput!) { createPricingPoll(input: $i) { id } }"""
opens, closes = iso(now - timedelta(hours=1)), iso(now + timedelta(days=7))
polls = []
for extra in (
    {"method": "CHOICE", "pricePoints": ["499", "549", "599"]},
    {"method": "GABOR_GRANGER", "pricePoints": ["10", "20.50", "30"]},
    {"method": "VAN_WESTENDORP"},
    {"method": "CHOICE", "pricePoints": ["1", "2"], "binding": True, "quorum": 2},
):
    data = soft(
        gql(
            poll,
            {
                "i": {
                    "communityId": community,
                    "productName": f"CI product {extra['method']}",
                    "currency": "USD",
                    "opensAt": opens,
                    "closesAt": closes,
                    **extra,
                }
            },
            token,
        ),
        "createPricingPoll",
    )
    if data:
        polls.append(data["createPricingPoll"]["id"])
if polls:
    soft(gql('mutation($p: ID!) { castBallot(input: {pollId: $p, choice: "549"}) { updatedAt } }', {"p": polls[0]}, token), "castBallot")
    soft(gql("mutation($p: ID!) { closePricingPoll(pollId: $p) { status } }", {"p": polls[-1]}, token), "closePricingPoll")

# An adopted idea, a sales report, its revenue-share records.
open_suggestions = must(
    gql("{ suggestions(first: 5, status: [OPEN]) { nodes { id author { id } } } }", token=token), "suggestions"
)["suggestions"]["nodes"]
if open_suggestions:
    soft(
        gql(
            "mutation($i: AdoptSuggestionInput!) { adoptSuggestion(input: $i) { id } }",
            {
                "i": {
                    "suggestionId": open_suggestions[0]["id"],
                    "productLine": "bricks",
                    "currency": "USD",
                    "startsAt": iso(now - timedelta(days=60)),
                }
            },
            token,
        ),
        "adoptSuggestion",
    )
    for n, amount in enumerate(("125000.00", "-250.00", "9999.99")):
        soft(
            gql(
                "mutation($i: ReportSalesInput!) { reportSales(input: $i) { id } }",
                {
                    "i": {
                        "externalId": f"ci-{n}",
                        "productLine": "bricks",
                        "periodStart": iso(now - timedelta(days=30 - n)),
                        "periodEnd": iso(now - timedelta(days=29 - n)),
                        "netSales": amount,
                        "currency": "USD",
                    }
                },
                token,
            ),
            "reportSales",
        )
    # A comment by a fan on the admin's own suggestion, so the admin has a notification.
    mine = soft(
        gql(
            "mutation($i: SubmitSuggestionInput!) { submitSuggestion(input: $i) { id } }",
            {"i": {"communityId": community, "kind": "IDEA", "title": "CI idea", "body": "made by the suite"}},
            token,
        ),
        "submitSuggestion",
    )
    if mine:
        try:
            fan_token, _ = log_in("fan00000", "canyu-demo-password")
            soft(gql("mutation($c: ID!) { joinCommunity(communityId: $c) { status } }", {"c": community}, fan_token), "fan joinCommunity")
            soft(
                gql(
                    'mutation($s: ID!) { addComment(input: {suggestionId: $s, body: "a fan says hi"}) { id } }',
                    {"s": mine["submitSuggestion"]["id"]},
                    fan_token,
                ),
                "addComment",
            )
        except SystemExit as exc:
            print(f"  ({exc})")
soft(
    gql(
        'mutation { createPartner(input: {name: "CI partner", scopes: ["sales:write", "ideas:read"]}) { partner { id } } }',
        token=token,
    ),
    "createPartner",
)

# Every id, straight from the database (read-only; the server keeps running in WAL mode).
TABLES = {
    "users": "user",
    "communities": "community",
    "suggestions": "suggestion",
    "comments": "comment",
    "polls": "pricing_poll",
    "rewards": "idea_reward",
    "sales_reports": "sales_report",
    "revenue_shares": "revenue_share_record",
    "notifications": "notification",
    "partners": "partner",
}


def as_uuid(value: object) -> str | None:
    try:
        if isinstance(value, (bytes, bytearray)) and len(value) == 16:
            return str(uuid.UUID(bytes=bytes(value)))
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError):
        return None


ids: dict[str, list[str]] = {}
db = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True, timeout=30)
for key, table in TABLES.items():
    try:
        rows = db.execute(f'SELECT id FROM "{table}" LIMIT 5000').fetchall()
    except sqlite3.Error as exc:
        print(f"  (no ids from {table}: {exc})")
        rows = []
    ids[key] = sorted({u for (v,) in rows if (u := as_uuid(v))})
db.close()

with open(OUT, "w") as f:
    json.dump({"token": token, "viewer_id": viewer_id, "ids": ids}, f)
print("ids for the hooks: " + ", ".join(f"{k} {len(v)}" for k, v in ids.items()))
