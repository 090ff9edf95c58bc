#!/usr/bin/env bash
# GraphQL-over-HTTP conformance: runs every server audit of the npm package `graphql-http`
# (its `serverAudits`) against the release server on a fresh temp SQLite database, and fails
# if any MUST or SHOULD audit is not met (a SHOULD that graphql-http calls a warning counts
# as a failure here; MAY audits are printed but never fail the run).
#
#   bash ci/suites/graphql-http.sh
#
# Installs graphql-http and graphql@16 (exact versions below) into ci/suites/.node (git-ignored;
# npm's download cache is ~/.npm). Needs Node >= 18 and the release binary (target/release/canyu,
# or CANYU_BIN; built first when CI=true). Traffic goes to 127.0.0.1 only; bounded to ~2 min.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

GRAPHQL_HTTP_VERSION=1.23.1
GRAPHQL_VERSION=16.15.0
NODE_DIR="${GRAPHQL_HTTP_NODE_DIR:-$SUITES_DIR/.node}"
export GRAPHQL_HTTP_NODE_DIR="$NODE_DIR"
started=$SECONDS

step "graphql-http $GRAPHQL_HTTP_VERSION + graphql $GRAPHQL_VERSION in $NODE_DIR"
command -v node >/dev/null || die "node is not installed (Node >= 18 is needed)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
    || die "Node >= 18 is needed, found $(node --version)"
installed_version() {
    node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("") }' \
        "$NODE_DIR/node_modules/$1/package.json"
}
if [[ "$(installed_version graphql-http)" != "$GRAPHQL_HTTP_VERSION" \
   || "$(installed_version graphql)" != "$GRAPHQL_VERSION" ]]; then
    mkdir -p "$NODE_DIR"
    t0=$SECONDS
    timeout 300 npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
        --save-exact "graphql-http@$GRAPHQL_HTTP_VERSION" "graphql@$GRAPHQL_VERSION"
    echo "installed in $((SECONDS - t0))s"
else
    echo "already installed"
fi

step "server on a fresh SQLite database"
bin="$(canyu_binary)"
port="$(free_port)"
log="$WORK/server.log"
start_server "$bin" "sqlite://$WORK/audit.db?mode=rwc" "$port" "$log"
echo "serving on 127.0.0.1:$port ($("$bin" --version))"

step "graphql-http server audits against http://127.0.0.1:$port/graphql"
rc=0
timeout 120 node "$SUITES_DIR/graphql-http-audit.mjs" "http://127.0.0.1:$port/graphql" || rc=$?
stop_server

if grep -q 'panicked' "$log"; then
    echo "the server log has a panic:" >&2
    grep -n -A3 'panicked' "$log" >&2
    rc=1
fi
echo
echo "graphql-http suite: $( ((rc == 0)) && echo PASSED || echo "FAILED (exit $rc)" ) in $((SECONDS - started))s"
exit "$rc"
