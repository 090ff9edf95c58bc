# Shared helpers for the outside suites in ci/suites/ (sourced, not run).
#
# Provides: REPO_ROOT, SUITES_DIR, CACHE_ROOT, WORK (a temp dir removed on exit), step, die,
# canyu_binary (a private copy of the release binary), free_port, start_server, stop_server,
# wait_healthz. Every server started here listens on 127.0.0.1 only and is stopped on exit.

SUITES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SUITES_DIR/../.." && pwd)"
# Installs that should survive between runs on the same machine (cargo tools, pip wheels).
# shellcheck disable=SC2034  # used by the scripts that source this file
CACHE_ROOT="${CANYU_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/canyu-ci}"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'FATAL: %s\n' "$*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/canyu-suite.XXXXXX")"
SERVER_PID=""
SERVER_LOG=""

_suite_cleanup() {
    local rc=$?
    stop_server || true
    if [[ -n "${KEEP_SUITE_WORK:-}" ]]; then
        echo "(work dir kept: $WORK)"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap _suite_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# canyu_binary: prints the path of a private copy of the release binary, so a rebuild of
# target/release/canyu during the run cannot change it. CANYU_BIN overrides the source.
# In CI (CI=true) the release binary is built first (a no-op when it is up to date);
# elsewhere an existing binary is used, waiting a little if it is being rebuilt.
canyu_binary() {
    local src="${CANYU_BIN:-$REPO_ROOT/target/release/canyu}"
    if [[ -z "${CANYU_BIN:-}" && ( "${CI:-}" == "true" || "${CANYU_BUILD:-}" == "1" ) ]]; then
        echo "building the release binary (cargo build --release --locked -p canyu)" >&2
        (cd "$REPO_ROOT" && cargo build --release --locked -p canyu --bin canyu >&2)
    fi
    local waited=0
    while [[ ! -x "$src" ]]; do
        if (( waited >= 180 )); then
            die "no release binary at $src (build it with: cargo build --release)"
        fi
        (( waited == 0 )) && echo "waiting for $src to appear (a rebuild in progress?)" >&2
        sleep 5
        waited=$((waited + 5))
    done
    # A binary caught mid-write fails to copy or run: retry a few times.
    local i
    for i in 1 2 3 4 5 6; do
        if cp "$src" "$WORK/canyu" 2>/dev/null && "$WORK/canyu" --version >/dev/null 2>&1; then
            echo "$WORK/canyu"
            return 0
        fi
        sleep 10
    done
    die "could not copy a working binary from $src"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_healthz URL SECONDS: polls URL until it answers 200.
wait_healthz() {
    local url="$1" limit="${2:-60}" i
    for ((i = 0; i < limit * 4; i++)); do
        if curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; then
            return 0
        fi
        if [[ -n "$SERVER_PID" ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server exited during start-up; its log:" >&2
            tail -n 50 "$SERVER_LOG" >&2 || true
            return 1
        fi
        sleep 0.25
    done
    echo "the server did not answer $url within ${limit}s; its log:" >&2
    tail -n 50 "$SERVER_LOG" >&2 || true
    return 1
}

# start_server BIN DATABASE_URL PORT LOG [VAR=VALUE...]: serves on 127.0.0.1:PORT in the
# background (stdout and stderr to LOG) and waits for /healthz.
start_server() {
    local bin="$1" db="$2" port="$3" log="$4"
    shift 4
    SERVER_LOG="$log"
    env DATABASE_URL="$db" BIND_ADDR="127.0.0.1:$port" RUST_LOG="${RUST_LOG:-info}" \
        CANYU_ENV="${CANYU_ENV:-development}" "$@" "$bin" serve >"$log" 2>&1 &
    SERVER_PID=$!
    wait_healthz "http://127.0.0.1:$port/healthz" 60
}

# stop_server: SIGTERM, then SIGKILL after 10 s, for the server started above only.
stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 40; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
