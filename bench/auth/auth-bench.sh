#!/usr/bin/env bash
# Manifest GET req/s on a public project: anonymous vs Basic credentials vs a bearer token, and
# the same GET with access control off, alternated over ROUNDS rounds (issue 4 §3); and
# anonymous pulls with pull records (audit.pulls, the default) vs without (issue 4 §5: "no-audit"),
# both from one client repeating itself (what wrk does; identical pulls are coalesced into one
# record per batch, decision 017) and with every request from a client of its own ("distinct":
# a User-Agent per request, bench/auth/distinct-clients.lua, so that nothing is coalesced).
#
#   bench/auth/auth-bench.sh            # needs wrk (apt-get install wrk) and a built berth.jar
#
# Environment: ROUNDS (3), CYCLES (2: anonymous, Basic, bearer in turn, per round), DURATION (10s),
# CONNECTIONS (64), THREADS (2), PORT (15300), WARMUP_MAX (60: seconds). Each round starts fresh servers; each server is warmed up with the
# requests it will be measured with, in 5 s windows, until two windows in a row are within 5 % of
# each other (the JIT takes 20-40 s on two cores shared with wrk; at most WARMUP_MAX seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
CYCLES=${CYCLES:-2}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PORT=${PORT:-15300}
WORK=$(mktemp -d /tmp/berth-auth-bench-XXXX)
PASSWORD=bench-admin-password
BASE=http://127.0.0.1:$PORT
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh

start() { # $1: auth.enabled, $2: audit.pulls (default true)
  BERTH_AUTH_ENABLED=$1 BERTH_AUDIT_PULLS=${2:-true} BERTH_ADMIN_PASSWORD=$PASSWORD BERTH_LOG_ACCESS_LOG=false \
    bin/berth serve --addr 127.0.0.1:$PORT --data "$WORK/data-$1-${2:-true}" > "$WORK/berth-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' $BASE/v2/ || true)
    [ "$code" = 200 ] || [ "$code" = 401 ] && return 0
    sleep 0.1
  done
  echo "berth did not start"; cat "$WORK/berth-$1.log"; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

run() { # $1 label, rest: extra wrk args
  local label=$1; shift
  local rps
  rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
      -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$@" "$BASE/v2/bench/manifests/v1" \
    | awk '/Requests\/sec/ {print $2}')
  echo "$label $rps" | tee -a "$WORK/results"
}

warm() { # JIT warm-up, not counted: 5 s windows until two in a row agree within 5 %
  local previous=0 rps waited=0
  while [ "$waited" -lt "${WARMUP_MAX:-60}" ]; do
    rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d5s \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$@" "$BASE/v2/bench/manifests/v1" \
      | awk '/Requests\/sec/ {print int($2)}')
    waited=$((waited + 5))
    if [ "$previous" -gt 0 ] && [ $((rps * 100)) -ge $((previous * 95)) ] && [ $((rps * 100)) -le $((previous * 105)) ]; then
      break
    fi
    previous=$rps
  done
  echo "#   warmed up for ${waited}s (last window $rps req/s)"
}


DISTINCT=(-s bench/auth/distinct-clients.lua)
for round in $(seq 1 "$ROUNDS"); do
  echo "# round $round, load $(cut -d' ' -f1 /proc/loadavg)"
  start false; push_image
  warm
  run "off" ; stop
  start true; push_image; [ "$round" = 1 ] && create_alice || true
  curl -s -o /dev/null -w '' -u alice:alice-password $BASE/v2/ || true
  token=$(curl -sf -u alice:alice-password "$BASE/service/token?service=berth&scope=repository:bench:pull" \
    | sed -E 's/.*"token":"([^"]+)".*/\1/')
  # each check: the request must really succeed with these credentials
  for h in "" "Authorization: Basic $(printf alice:alice-password | base64 -w0)" "Authorization: Bearer $token"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' ${h:+-H "$h"} $BASE/v2/bench/manifests/v1)
    [ "$code" = 200 ] || { echo "check failed ($code) for '$h'"; exit 1; }
  done
  warm
  warm -H "Authorization: Bearer $token"
  warm -H "Authorization: Basic $(printf alice:alice-password | base64 -w0)"
  for _ in $(seq 1 "$CYCLES"); do # interleaved, so that a drift over time hits all three alike
    run "anonymous"
    run "basic" -H "Authorization: Basic $(printf alice:alice-password | base64 -w0)"
    run "bearer" -H "Authorization: Bearer $token"
  done
  run "distinct" "${DISTINCT[@]}"
  dropped=$(grep -o '[0-9]* pull record(s) dropped' "$WORK/berth-true.log" | tail -1 || true)
  echo "#   pull records dropped: ${dropped:-none}"
  stop
  start true false; push_image
  warm
  run "no-audit"
  run "no-audit-distinct" "${DISTINCT[@]}"
  stop
done
echo "# medians (req/s)"
for label in off anonymous basic bearer no-audit distinct no-audit-distinct; do
  printf '%s ' "$label"; grep "^$label " "$WORK/results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
done
