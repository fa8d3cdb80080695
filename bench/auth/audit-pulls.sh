#!/usr/bin/env bash
# Anonymous manifest GET req/s and server CPU per request with pull records (audit.pulls=true)
# vs without (false), on TWO warm servers side by side, measured in turn CYCLES times (issue 4
# §5: pull records cost at most 5 %). CLIENTS picks the load: "distinct" (default: every request
# from a client of its own, bench/auth/distinct-clients.lua, so that no two pull records are
# identical), "repeating" (one wrk client repeating itself), "manifests" (one client pulling
# MANIFESTS distinct manifests by tag round-robin, bench/auth/many-manifests.lua, the shape of the
# shared harness's manifest scenario) or "digests" (the same by digest). Decision 017 says how
# pull records are grouped. Medians of per-cycle ratios.
#
#   bench/auth/audit-pulls.sh        # needs wrk and a built berth.jar
#
# Environment: CLIENTS (distinct), CYCLES (8), DURATION (8), WARMUP (40), PORT (15320; and +1),
# MANIFESTS (2000, for CLIENTS=manifests).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS=${CLIENTS:-distinct}
CYCLES=${CYCLES:-8}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-40}
PORT=${PORT:-15320}
MANIFESTS=${MANIFESTS:-2000}
PASSWORD=bench-admin-password
WORK=$(mktemp -d /tmp/berth-audit-pulls-XXXX)
declare -A pids=() ports=([on]=$PORT [off]=$((PORT + 1)))
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh

script=()
case "$CLIENTS" in
  distinct) script=(-s bench/auth/distinct-clients.lua) ;;
  manifests) script=(-s bench/auth/many-manifests.lua) ;;
  digests) script=(-s bench/auth/many-manifests.lua) ;;
  repeating) ;;
  *) echo "CLIENTS: distinct, repeating, manifests or digests, not '$CLIENTS'" >&2; exit 2 ;;
esac
# Tags m1..mN of repository "bench": N manifests that differ in an annotation; their digests go
# to $WORK/digests-$mode (each server has its own: push_image's layer is random).
push_manifests() {
  local i m
  : > "$WORK/digests-$mode"
  for i in $(seq 1 "$MANIFESTS"); do
    m=$(sed "s/}\$/,\"annotations\":{\"bench.index\":\"$i\"}}/" "$WORK/manifest")
    printf '%s' "$m" | sha256sum | sed 's/^/sha256:/; s/ .*//' >> "$WORK/digests-$mode"
    [ "$i" = 1 ] || echo next
    printf 'url = "%s/v2/bench/manifests/m%d"\nrequest = "PUT"\nuser = "admin:%s"\n' \
      "$BASE" "$i" "$PASSWORD"
    printf 'header = "Content-Type: application/vnd.oci.image.manifest.v1+json"\n'
    printf 'data-raw = "%s"\noutput = /dev/null\n' "${m//\"/\\\"}"
  done > "$WORK/curl-config"
  curl -sf --config "$WORK/curl-config"
}
export MANIFESTS
for mode in on off; do
  pulls=true; [ "$mode" = off ] && pulls=false
  BERTH_AUTH_ENABLED=true BERTH_AUDIT_PULLS=$pulls BERTH_ADMIN_PASSWORD=$PASSWORD \
    BERTH_LOG_ACCESS_LOG=false bin/berth serve --addr 127.0.0.1:${ports[$mode]} \
    --data "$WORK/data-$mode" > "$WORK/berth-$mode.log" 2>&1 &
  pids[$mode]=$!
  BASE=http://127.0.0.1:${ports[$mode]}
  wait_for_berth "$BASE"
  push_image
  case "$CLIENTS" in manifests | digests) push_manifests ;; esac
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v2/bench/manifests/v1")
  [ "$code" = 200 ] || { echo "anonymous pull from $mode failed ($code)"; exit 1; }
done
measure() { # $1 mode $2 seconds; prints "req/s cpu-us-per-request non-2xx"
  local t0 t1 out
  t0=$(ticks "${pids[$1]}")
  # CLIENTS=digests: the lua script pulls by the digests this server stored (push_manifests).
  [ "$CLIENTS" = digests ] && export DIGESTS="$WORK/digests-$1"
  out=$(wrk -t2 -c64 -d"$2"s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "${script[@]}" "http://127.0.0.1:${ports[$1]}/v2/bench/manifests/v1")
  t1=$(ticks "${pids[$1]}")
  echo "$out" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2} /Non-2xx/ {bad = $NF}
    END {printf "%s %.0f %d\n", r, t * 1e6 / hz / n, bad}'
}
for mode in on off; do measure "$mode" "$WARMUP" > /dev/null; done
echo "# clients: $CLIENTS; cycle mode req/s server-cpu-us/request non-2xx (load $(cut -d' ' -f1 /proc/loadavg))"
for cycle in $(seq 1 "$CYCLES"); do
  # alternate which goes first, so that neither always follows the other's leftovers
  order="on off"; [ $((cycle % 2)) = 0 ] && order="off on"
  for mode in $order; do
    echo "$cycle $mode $(measure "$mode" "$DURATION")" | tee -a "$WORK/results"
  done
done
records=$(curl -sf -u "admin:$PASSWORD" \
  "http://127.0.0.1:${ports[on]}/api/v1/audit-logs?format=jsonl&action=manifest.pull" | wc -l || true)
dropped=$(grep -o '[0-9]* pull record(s) dropped' "$WORK/berth-on.log" | tail -1 || true)
echo "# pull records dropped: ${dropped:-none}${records:+; pull records stored: $records}"
awk "$MEDIAN_AWK"'
  {rps[$2, $1] = $3; cpu[$2, $1] = $4; cycles = $1}
  END {
    for (c = 1; c <= cycles; c++) {
      ron[c] = rps["on", c]; roff[c] = rps["off", c]; con[c] = cpu["on", c]; coff[c] = cpu["off", c]
      ratio[c] = rps["on", c] / rps["off", c]; cost[c] = cpu["on", c] - cpu["off", c]
    }
    printf "# medians: on %.0f req/s %.0f us CPU/request; off %.0f req/s %.0f us CPU/request\n",
      median(ron, cycles), median(con, cycles), median(roff, cycles), median(coff, cycles)
    printf "# on/off req/s (median of per-cycle ratios) %.3f; extra server CPU per request %.0f us\n",
      median(ratio, cycles), median(cost, cycles)
  }' "$WORK/results"
