#!/usr/bin/env bash
# Supply-chain checks of Cargo.lock with cargo-deny, offline: RustSec advisories
# (vulnerabilities, unmaintained, unsound, yanked) from the snapshot of the advisory database
# in ../shared/advisory-db (relative to the repository root; ADVISORY_DB overrides), plus
# bans, licenses and sources as configured in ci/suites/deny.toml. Fails on any advisory that
# applies, a license not allowed there, a source other than crates.io, a wildcard version,
# and loudly when the database snapshot is missing.
#
#   bash ci/suites/advisories.sh
#
# Installs cargo-deny (exact version below) with `cargo install --locked` into
# ~/.cache/canyu-ci/cargo-deny-VERSION (CANYU_CI_CACHE overrides ~/.cache/canyu-ci): about
# 2 minutes cold on 2 cores (see below), then reused. The only network use is crates.io (that install, and
# `cargo fetch --locked` so that `cargo metadata` can run offline); the advisory database is
# never fetched: cargo-deny reads a throwaway git repository made from the snapshot.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DENY_VERSION=0.20.2
DENY_ROOT="$CACHE_ROOT/cargo-deny-$DENY_VERSION"
DENY="$DENY_ROOT/bin/cargo-deny"
ADB="${ADVISORY_DB:-$REPO_ROOT/../shared/advisory-db}"
started=$SECONDS

step "advisory database snapshot"
if [[ ! -d "$ADB/crates" ]]; then
    echo "FATAL: no RustSec advisory database at $ADB (expected a snapshot with a crates/ folder," >&2
    echo "       at ../shared/advisory-db beside the repository, or set ADVISORY_DB)" >&2
    exit 1
fi
ADB="$(cd "$ADB" && pwd)"
snapshot="$(head -n 1 "$ADB/SNAPSHOT" 2>/dev/null || echo 'unknown')"
advisory_count="$(find "$ADB/crates" -name 'RUSTSEC-*.md' | wc -l)"
echo "$ADB: snapshot $snapshot, $advisory_count advisories"
((advisory_count > 0)) || die "the snapshot at $ADB holds no advisory"
snapshot_date="$(awk '{print $2}' <<<"$snapshot")"
if [[ "$snapshot_date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
    age_days=$(( ($(date +%s) - $(date -d "$snapshot_date" +%s)) / 86400 ))
    echo "snapshot age: $age_days days"
    ((age_days <= 90)) || echo "WARNING: the snapshot is older than 90 days; advisories published since are not checked"
else
    snapshot_date=""
fi

step "cargo-deny $DENY_VERSION in $DENY_ROOT"
if [[ "$("$DENY" --version 2>/dev/null || true)" != "cargo-deny $DENY_VERSION" ]]; then
    t0=$SECONDS
    # Its own target dir (not the repository's, nor a CARGO_TARGET_DIR the caller set), gone after.
    # Built without cargo-deny's fat LTO and single codegen unit, at opt-level 1: a cold install
    # then takes about half the time (263 s with its own profile here), and a check runs in
    # seconds either way.
    (cd "$WORK" && CARGO_TARGET_DIR="$WORK/deny-target" \
        CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_OPT_LEVEL=1 timeout 1800 \
        cargo install --locked --quiet --version "$DENY_VERSION" --root "$DENY_ROOT" cargo-deny)
    echo "installed in $((SECONDS - t0))s"
else
    echo "already installed"
fi

step "dependency sources (cargo fetch --locked, crates.io; a no-op when cached)"
(cd "$REPO_ROOT" && timeout 600 cargo fetch --locked --quiet)

# cargo-deny keeps each database at <db-path>/<name>-<hash of its url> and requires a git
# repository there (it reads the last commit's time). Ask it where it looks, then put a
# throwaway repository made from the snapshot (committed at the snapshot's date) there.
dbroot="$WORK/advisory-dbs"
mkdir -p "$dbroot"
config="$WORK/deny.toml"
awk -v path="$dbroot" '{ print } /^\[advisories\]/ { printf "db-path = \"%s\"\n", path }' \
    "$SUITES_DIR/deny.toml" >"$config"
grep -q '^db-path' "$config" || die "ci/suites/deny.toml has no [advisories] table"
deny() {
    "$DENY" --offline --locked --color never --manifest-path "$REPO_ROOT/Cargo.toml" \
        --config "$config" "$@"
}
dbdir="$( (deny -L debug check advisories 2>&1 || true) \
    | sed -n "s/.*Opening advisory database at '\(.*\)'.*/\1/p" | head -n 1)"
[[ -n "$dbdir" && "$dbdir" == "$dbroot"/* ]] || die "could not tell where cargo-deny looks for the database (got '$dbdir')"
mkdir -p "$dbdir"
cp -R "$ADB/." "$dbdir/"
chmod -R u+w "$dbdir"
rm -rf "$dbdir/.git"
date_env=()
[[ -n "$snapshot_date" ]] && date_env=(GIT_AUTHOR_DATE="${snapshot_date}T00:00:00Z" GIT_COMMITTER_DATE="${snapshot_date}T00:00:00Z")
(cd "$dbdir" && git init -q -b main . && git add -A \
    && env "${date_env[@]}" git -c user.name=ci -c user.email=ci@localhost -c commit.gpgsign=false \
        commit -q -m "RustSec advisory-db snapshot $snapshot")

step "cargo deny check advisories bans licenses sources"
rc=0
deny check --show-stats advisories bans licenses sources 2>&1 | tee "$WORK/deny.out" || rc=${PIPESTATUS[0]}
# The same findings as JSON, for the summary below.
deny --format json check advisories bans licenses sources >/dev/null 2>"$WORK/deny.json" || true

step "summary"
python3 - "$WORK/deny.json" "$ADB" <<'EOF'
import json, pathlib, re, sys, tomllib
advisories, others = [], {}


def versions(package, aid):
    """patched / unaffected ranges, from the advisory's own file in the snapshot."""
    path = pathlib.Path(sys.argv[2], "crates", str(package), f"{aid}.md")
    try:
        m = re.search(r"```toml\n(.*?)```", path.read_text(), re.S)
        v = tomllib.loads(m.group(1)).get("versions", {}) if m else {}
    except (OSError, ValueError):
        return "?"
    patched = ", ".join(v.get("patched") or []) or "no fixed release"
    unaffected = ", ".join(v.get("unaffected") or [])
    return patched + (f"; unaffected: {unaffected}" if unaffected else "")


for line in open(sys.argv[1], errors="replace"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("type") != "diagnostic":
        continue
    f = d.get("fields", {})
    sev = f.get("severity")
    adv = f.get("advisory")
    if adv:
        crates = {(g.get("Krate", {}).get("name"), g.get("Krate", {}).get("version")) for g in f.get("graphs", [])}
        patched = versions(adv.get("package"), adv.get("id"))
        for name, version in sorted(crates) or [(adv.get("package"), "?")]:
            advisories.append((sev, adv.get("id"), name, version, adv.get("title", ""), patched, adv.get("informational") or "vulnerability"))
    elif sev in ("error", "warning"):
        others.setdefault((sev, f.get("code")), []).append(f.get("message", ""))
if advisories:
    print(f"{len(advisories)} advisory finding(s):")
    for sev, aid, name, version, title, patched, kind in advisories:
        print(f"  [{sev}] {aid} {name} {version} ({kind}): {title}\n      fixed in: {patched}")
else:
    print("advisories: none apply")
for (sev, code), msgs in sorted(others.items()):
    print(f"{sev} {code}: {len(msgs)}" + (f" (e.g. {msgs[0]})" if msgs else ""))
EOF
echo
echo "advisories suite: $( ((rc == 0)) && echo PASSED || echo "FAILED (cargo deny exit $rc)" ) in $((SECONDS - started))s"
exit "$rc"
