#!/usr/bin/env bash
# Manifest GET req/s and server CPU per request, anonymous vs Basic vs bearer, on ONE warm server:
# each mode is warmed up for WARMUP seconds, then the three are measured in turn CYCLES times
# for DURATION seconds each, and the medians of the per-cycle ratios are printed. On a machine
# whose speed drifts from one run to the next (a shared VM), comparing neighbouring runs of one
# server is steadier than comparing servers (issue 4 §3: each within 10 % of the others).
#
#   bench/auth/auth-modes.sh        # needs wrk and a built berth.jar
#
# Environment: CYCLES (8), DURATION (5), WARMUP (30), PULLS (true: audit.pulls), PORT (15310).
set -euo pipefail
cd "$(dirname "$0")/../.."
CYCLES=${CYCLES:-8}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-30}
PORT=${PORT:-15310}
BASE=http://127.0.0.1:$PORT
PASSWORD=bench-admin-password
WORK=$(mktemp -d /tmp/berth-auth-modes-XXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh

BERTH_AUTH_ENABLED=true BERTH_AUDIT_PULLS=${PULLS:-true} BERTH_ADMIN_PASSWORD=$PASSWORD \
  BERTH_LOG_ACCESS_LOG=false bin/berth serve --addr 127.0.0.1:$PORT --data "$WORK/data" \
  > "$WORK/berth.log" 2>&1 &
pid=$!
wait_for_berth "$BASE"
push_image
create_alice
token=$(curl -sf -u alice:alice-password "$BASE/service/token?service=berth&scope=repository:bench:pull" \
  | sed -E 's/.*"token":"([^"]+)".*/\1/')
declare -A header=(
  [anonymous]="X-Bench: anonymous"
  [basic]="Authorization: Basic $(printf alice:alice-password | base64 -w0)"
  [bearer]="Authorization: Bearer $token")
for mode in anonymous basic bearer; do # each must really succeed
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "${header[$mode]}" $BASE/v2/bench/manifests/v1)
  [ "$code" = 200 ] || { echo "check failed ($code) for $mode"; exit 1; }
done
measure() { # $1 mode $2 seconds; prints "req/s cpu-us-per-request non-2xx"
  local t0 t1 out
  t0=$(ticks "$pid")
  out=$(wrk -t2 -c64 -d"$2"s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H "${header[$1]}" "$BASE/v2/bench/manifests/v1")
  t1=$(ticks "$pid")
  echo "$out" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2} /Non-2xx/ {bad = $NF}
    END {printf "%s %.0f %d\n", r, t * 1e6 / hz / n, bad}'
}
for mode in anonymous basic bearer; do measure "$mode" "$WARMUP" > /dev/null; done
echo "# cycle mode req/s server-cpu-us/request non-2xx (load $(cut -d' ' -f1 /proc/loadavg))"
for cycle in $(seq 1 "$CYCLES"); do
  for mode in anonymous basic bearer; do
    echo "$cycle $mode $(measure "$mode" "$DURATION")" | tee -a "$WORK/results"
  done
done
echo "# medians over cycles: req/s, and ratios of req/s within each cycle"
awk "$MEDIAN_AWK"'
  {rps[$2, $1] = $3; cpu[$2, $1] = $4; cycles = $1}
  END {
    split("anonymous basic bearer", modes, " ")
    for (m = 1; m <= 3; m++) {
      for (c = 1; c <= cycles; c++) {r[c] = rps[modes[m], c]; u[c] = cpu[modes[m], c]}
      printf "%s %.0f req/s, %.0f us CPU/request\n", modes[m], median(r, cycles), median(u, cycles)
    }
    for (c = 1; c <= cycles; c++) {
      a[c] = rps["basic", c] / rps["anonymous", c]
      b[c] = rps["bearer", c] / rps["anonymous", c]
      d[c] = rps["basic", c] / rps["bearer", c]
    }
    printf "basic/anonymous %.2f  bearer/anonymous %.2f  basic/bearer %.2f\n",
      median(a, cycles), median(b, cycles), median(d, cycles)
  }' "$WORK/results"
