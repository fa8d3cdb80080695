#!/usr/bin/env bash
# The shared harness's A/B comparison (../shared/bench/compare.sh) of Berth with pull records
# (A: audit.pulls=true, the default) against Berth without (B: false), both with access control
# on and the harness logging in as admin (Basic). The manifest scenario GETs 2,000 distinct
# manifests round-robin at c=64, so no two pull records in a batch are identical and none is
# coalesced (decision 017): the audit writer's worst case in the standard scenarios.
#
#   bench/auth/audit-harness.sh        # needs a built berth.jar and Go (the harness builds itself)
#
# WARMUP seconds (90) of distinct-client manifest GETs (bench/auth/distinct-clients.lua) on each
# server first: the writer's per-record code runs ~150 times a second and reaches C2 minutes after
# the request path does, so a cold pair measures the JIT (docs/benchmarks.md, session 7).
#
# compare.sh runs A before B in every round; SWAP=1 makes A the server without pull records, so
# that two runs (one each way) separate the records' cost from going first.
#
# Environment: SCENARIOS (manifest), ROUNDS (3), WARMUP (90), SWAP (0), PORT (15330; and +1),
# BENCH (../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
SCENARIOS=${SCENARIOS:-manifest}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-90}
SWAP=${SWAP:-0}
PORT=${PORT:-15330}
BENCH=${BENCH:-$(cd .. && pwd)/shared/bench}
PASSWORD=bench-admin-password
WORK=$(mktemp -d /tmp/berth-audit-harness-XXXX)
declare -A pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh
for mode in on off; do
  port=$PORT pulls=true
  [ "$mode" = off ] && port=$((PORT + 1)) pulls=false
  [ "$SWAP" = 1 ] && port=$((2 * PORT + 1 - port))
  BERTH_AUTH_ENABLED=true BERTH_AUDIT_PULLS=$pulls BERTH_ADMIN_PASSWORD=$PASSWORD \
    BERTH_LOG_ACCESS_LOG=false bin/berth serve --addr 127.0.0.1:$port --data "$WORK/data-$mode" \
    > "$WORK/berth-$mode.log" 2>&1 &
  pids[$mode]=$!
  BASE=http://127.0.0.1:$port
  wait_for_berth "$BASE"
  if [ "$WARMUP" -gt 0 ]; then
    push_image
    wrk -t2 -c64 -d"$WARMUP"s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      -s bench/auth/distinct-clients.lua "$BASE/v2/bench/manifests/v1" > /dev/null
  fi
done
a=on b=off
[ "$SWAP" = 1 ] && a=off b=on
REGBENCH_USER=admin REGBENCH_PASS=$PASSWORD PIDS_A=${pids[$a]} PIDS_B=${pids[$b]} \
  SCENARIOS=$SCENARIOS ROUNDS=$ROUNDS OUT="$WORK/results" \
  "$BENCH/compare.sh" "http://127.0.0.1:$PORT" "http://127.0.0.1:$((PORT + 1))"
dropped=$(grep -o '[0-9]* pull record(s) dropped' "$WORK/berth-on.log" | tail -1 || true)
echo "# A = pull records $a, B = $b; pull records dropped: ${dropped:-none}"
