#!/usr/bin/env bash
# Property-based fuzzing of the GraphQL API with Schemathesis (its GraphQL mode: every root
# query and mutation field, arguments generated from the introspected schema, valid and
# invalid), against the release server on a fresh temp SQLite database filled by
# `canyu seed-demo` (plus a few polls, an adopted idea with sales, a partner: see
# schemathesis_setup.py). Two runs: anonymous, then signed in as an ADMIN made with
# `canyu create-admin`. Fails when any response is a 5xx, an error has no `extensions.code`,
# an error is coded INTERNAL/UNAVAILABLE/TIMEOUT, a body is not a GraphQL response, the server
# log has a "panicked" line, or /healthz does not answer 200 afterwards.
#
#   bash ci/suites/schemathesis.sh
#
# Knobs: ST_MAX_EXAMPLES (per operation and run, default 100), ST_RUN_TIMEOUT (seconds per run,
# default 300), ST_SEED (a seed to replay), ST_WORKERS (default 2).
# Installs schemathesis (exact version below) into the venv ci/suites/.venv (git-ignored; pip's
# download cache is ~/.cache/pip). Hooks: ci/suites/schemathesis_hooks.py (custom scalars,
# UUID ids of real rows, the checks). Needs python3 >= 3.10 and the release binary
# (target/release/canyu, or CANYU_BIN; built first when CI=true). Traffic: 127.0.0.1 only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SCHEMATHESIS_VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-$SUITES_DIR/.venv}"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
RUN_TIMEOUT="${ST_RUN_TIMEOUT:-300}"
WORKERS="${ST_WORKERS:-2}"
CHECKS=canyu_no_server_error,canyu_errors_have_code,canyu_graphql_response
started=$SECONDS

step "schemathesis $SCHEMATHESIS_VERSION in $VENV"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "python3 >= 3.10 is needed, found $(python3 --version)"
if [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)" \
      != "$SCHEMATHESIS_VERSION" ]]; then
    t0=$SECONDS
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    echo "installed in $((SECONDS - t0))s"
else
    echo "already installed"
fi

step "seeded database"
bin="$(canyu_binary)"
db="$WORK/st.db"
export DATABASE_URL="sqlite://$db?mode=rwc"
export CANYU_ENV=development
"$bin" seed-demo --users 50 --suggestions 200 --votes 500 --comments 200 2>&1 | grep -v ' INFO ' || true
admin_password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
printf '%s\n' "$admin_password" | "$bin" create-admin --handle ci_admin 2>&1 | grep -v ' INFO ' || true

step "server (RUST_LOG=info, log in the work dir)"
port="$(free_port)"
url="http://127.0.0.1:$port/graphql"
log="$WORK/server.log"
# The rate limits are raised so that generated calls reach the services instead of being
# refused as RATE_LIMITED after the first few (the limits themselves are tested in tests/).
start_server "$bin" "$DATABASE_URL" "$port" "$log" \
    ACCESS_TOKEN_TTL_SECS=3600 RATE_LIMIT_MUTATIONS=1000000 RATE_LIMIT_SIGNUPS=1000000 \
    RATE_LIMIT_LOGIN_FAILURES=1000000 RATE_LIMIT_REFRESHES=1000000
echo "serving on 127.0.0.1:$port"

step "setup: rows seed-demo does not make, ids for the hooks"
ids="$WORK/ids.json"
python3 "$SUITES_DIR/schemathesis_setup.py" "$url" "$db" ci_admin "$admin_password" "$ids"
token="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$ids")"

export SCHEMATHESIS_HOOKS="$SUITES_DIR/schemathesis_hooks.py"
export CANYU_ST_IDS="$ids"
seed_args=()
[[ -n "${ST_SEED:-}" ]] && seed_args=(--seed "$ST_SEED")

# run NAME [schemathesis options...]: one bounded schemathesis run; its output in $WORK/NAME.out.
declare -A RUN_RC
run() {
    local name="$1"
    shift
    step "schemathesis: $name ($MAX_EXAMPLES examples per operation, at most ${RUN_TIMEOUT}s)"
    local rc=0 t0=$SECONDS
    # cwd = the work dir, so nothing (.hypothesis/, reports) is left in the repository.
    (cd "$WORK" && CANYU_ST_STATS="$WORK/$name.stats.json" timeout --kill-after=10 "$RUN_TIMEOUT" \
        "$VENV/bin/schemathesis" run "$url" --no-color \
        --checks "$CHECKS" --max-examples "$MAX_EXAMPLES" --workers "$WORKERS" \
        --request-timeout 15 --generation-database none "${seed_args[@]}" "$@") \
        >"$WORK/$name.out" 2>&1 || rc=$?
    # Schemathesis' own report, without the per-operation progress lines.
    awk '/^=+ (FAILURES|SUMMARY) =+$/ { on = 1 } on' "$WORK/$name.out" | head -c 20000
    if ((rc == 124 || rc == 137)); then
        echo "TIMED OUT after ${RUN_TIMEOUT}s (last lines:)"
        tail -n 20 "$WORK/$name.out"
    fi
    echo "($name: exit $rc in $((SECONDS - t0))s)"
    RUN_RC[$name]=$rc
}

run anonymous
run signed-in --header "Authorization: Bearer $token"

step "after the runs"
failed=0
health="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz" || true)"
echo "/healthz: $health"
[[ "$health" == "200" ]] || failed=1
stop_server
panics="$(grep -c 'panicked' "$log" || true)"
echo "server log: $(wc -l <"$log") lines, $panics panicked, $(grep -c ' ERROR ' "$log" || true) ERROR"
# What the server warned about, most frequent first (colours stripped, ids and times dropped).
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E ' (WARN|ERROR) ' \
    | sed -E 's/^[0-9TZ:.-]+ +//; s/request_id=[0-9a-f-]+//; s/\{[^}]*\}//' | cut -c1-200 \
    | sort | uniq -c | sort -rn | head -n 10 || true
if ((panics > 0)); then
    grep -n -A4 'panicked' "$log" | head -n 60
    failed=1
fi

step "summary"
for name in anonymous signed-in; do
    python3 - "$WORK/$name.stats.json" "$WORK/$name.out" "$name" "${RUN_RC[$name]}" <<'EOF' || failed=1
import json, re, sys
stats_path, out_path, name, rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out = open(out_path, errors="replace").read()
m = re.search(r"Test cases:\s*\n\s*(.+)", out)
print(f"{name}: schemathesis exit {rc}; test cases: {m.group(1).strip() if m else '?'}")
try:
    s = json.load(open(stats_path))
except (OSError, ValueError):
    print("  no statistics (the run did not finish)")
    sys.exit(1)
print(f"  responses {s['responses']}, by status {s['status']}")
print(f"  errors by code {dict(sorted(s['codes'].items(), key=lambda kv: -kv[1]))}")
print(f"  operations {s['operations']}, with at least one error-free answer {s['operations_reached']}")
print("  most frequent errors:")
for msg, n in s["top_messages"][:12]:
    print(f"    {n:5d}  {msg}")
bad = s["failures"]
print(f"  failures: {bad or 'none'}")
for kind, example in s["failure_examples"].items():
    print(f"  first {kind}:\n    " + example.replace("\n", "\n    "))
sys.exit(1 if bad or rc != 0 else 0)
EOF
done

echo
echo "schemathesis suite: $( ((failed == 0)) && echo PASSED || echo FAILED ) in $((SECONDS - started))s"
exit "$failed"
