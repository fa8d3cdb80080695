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
# Two servers differ by up to ±8 % from one start to the next (JIT), and this machine's speed
# drifts within a run: PAIRS=N repeats the whole run with N fresh pairs and reports each pair's
# median and the median of every cycle; CONTROL=1 starts both servers WITHOUT pull records (an
# A/A run: how far apart two identical servers measure); THREADS=1 adds the servers' CPU per
# request by thread (request carriers, HTTP selectors, GC, JIT, the audit and metadata writers);
# BASIC=1 sends admin's Basic credentials with every GET (as the shared harness does) rather
# than pulling anonymously. SYSCALLS=1 adds each server's file syscalls per request (pread64,
# pwrite64, fsync, fdatasync; perf tracepoints, needs root): a SQLite reader whose page cache was
# emptied re-reads with pread.
#
#   bench/auth/audit-pulls.sh        # needs wrk and a built berth.jar
#
# Environment: CLIENTS (distinct), CYCLES (8), DURATION (8), WARMUP (40), PAIRS (1), CONTROL (0),
# THREADS (0), SYSCALLS (0), BASIC (0), PORT (15320; and +1), MANIFESTS (2000, for
# CLIENTS=manifests).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS=${CLIENTS:-distinct}
CYCLES=${CYCLES:-8}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-40}
PORT=${PORT:-15320}
MANIFESTS=${MANIFESTS:-2000}
PAIRS=${PAIRS:-1}
CONTROL=${CONTROL:-0}
THREADS=${THREADS:-0}
SYSCALLS=${SYSCALLS:-0}
BASIC=${BASIC:-0}
SYSCALL_EVENTS=syscalls:sys_enter_pread64,syscalls:sys_enter_pwrite64
SYSCALL_EVENTS+=,syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync
PASSWORD=bench-admin-password
WORK=$(mktemp -d /tmp/berth-audit-pulls-XXXX)
declare -A pids=() ports=([on]=$PORT [off]=$((PORT + 1)))
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh

script=()
[ "$BASIC" = 1 ] && script+=(-H "Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64 -w0)")
case "$CLIENTS" in
  distinct) script+=(-s bench/auth/distinct-clients.lua) ;;
  manifests) script+=(-s bench/auth/many-manifests.lua) ;;
  digests) script+=(-s bench/auth/many-manifests.lua) ;;
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
start_servers() {
  local mode pulls code
  for mode in on off; do
    pulls=true; [ "$mode" = off ] || [ "$CONTROL" = 1 ] && pulls=false
    rm -rf "$WORK/data-$mode"
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
}
measure() { # $1 mode $2 seconds; prints "req/s cpu-us-per-request non-2xx"
  local t0 t1 out before=$WORK/threads-before perf_pid=
  t0=$(ticks "${pids[$1]}")
  [ "$THREADS" = 1 ] && thread_ticks "${pids[$1]}" > "$before"
  if [ "$SYSCALLS" = 1 ]; then
    perf stat -x, -e "$SYSCALL_EVENTS" -p "${pids[$1]}" -o "$WORK/perf-stat" &
    perf_pid=$!
  fi
  # CLIENTS=digests: the lua script pulls by the digests this server stored (push_manifests).
  [ "$CLIENTS" = digests ] && export DIGESTS="$WORK/digests-$1"
  out=$(wrk -t2 -c64 -d"$2"s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "${script[@]}" "http://127.0.0.1:${ports[$1]}/v2/bench/manifests/v1")
  t1=$(ticks "${pids[$1]}")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    # "mode event count requests" per cycle, into $WORK/syscalls
    awk -F, -v m="$1" -v n="$(echo "$out" | awk '/requests in/ {print $1}')" \
      '$3 ~ /^syscalls:/ {sub(/.*sys_enter_/, "", $3); print m, $3, $1 + 0, n}' \
      "$WORK/perf-stat" >> "$WORK/syscalls"
  fi
  if [ "$THREADS" = 1 ]; then
    # "mode kind ticks requests" per cycle, into $WORK/threads
    join -t$'\t' "$before" <(thread_ticks "${pids[$1]}") | awk -F'\t' -v m="$1" \
      -v n="$(echo "$out" | awk '/requests in/ {print $1}')" '{print m, $1, $3 - $2, n}' \
      >> "$WORK/threads"
  fi
  echo "$out" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2} /Non-2xx/ {bad = $NF}
    END {printf "%s %.0f %d\n", r, t * 1e6 / hz / n, bad}'
}
[ "$CONTROL" = 1 ] && echo "# control (A/A): both servers WITHOUT pull records"
: > "$WORK/results"
for pair in $(seq 1 "$PAIRS"); do
  start_servers
  for mode in on off; do measure "$mode" "$WARMUP" > /dev/null; done
  [ "$THREADS" = 1 ] && : > "$WORK/threads"
  [ "$SYSCALLS" = 1 ] && : > "$WORK/syscalls"
  echo "# pair $pair; clients: $CLIENTS; pair cycle mode req/s server-cpu-us/request non-2xx" \
    "(load $(cut -d' ' -f1 /proc/loadavg))"
  for cycle in $(seq 1 "$CYCLES"); do
    # alternate which goes first, so that neither always follows the other's leftovers
    order="on off"; [ $((cycle % 2)) = 0 ] && order="off on"
    for mode in $order; do
      echo "$pair $cycle $mode $(measure "$mode" "$DURATION")" | tee -a "$WORK/results"
    done
  done
  if [ "$CONTROL" != 1 ]; then
    records=$(curl -sf -u "admin:$PASSWORD" \
      "http://127.0.0.1:${ports[on]}/api/v1/audit-logs?format=jsonl&action=manifest.pull" \
      | wc -l || true)
    dropped=$(grep -o '[0-9]* pull record(s) dropped' "$WORK/berth-on.log" | tail -1 || true)
    echo "# pull records dropped: ${dropped:-none}${records:+; pull records stored: $records}"
  fi
  if [ "$THREADS" = 1 ]; then
    echo "# pair $pair: server CPU per request by thread (us), on / off"
    awk -v hz="$(getconf CLK_TCK)" '
      {t[$1, $2] += $3; reqs[$1, $2] += $4; kinds[$2] = 1}
      END {
        for (k in kinds) {
          on = reqs["on", k] ? t["on", k] * 1e6 / hz / reqs["on", k] : 0
          off = reqs["off", k] ? t["off", k] * 1e6 / hz / reqs["off", k] : 0
          if (on >= 0.05 || off >= 0.05) printf "#   %-16s %7.2f %7.2f\n", k, on, off
        }
      }' "$WORK/threads" | sort -k3 -nr
  fi
  if [ "$SYSCALLS" = 1 ]; then
    echo "# pair $pair: file syscalls per 1,000 requests, on / off"
    awk '{c[$1, $2] += $3; reqs[$1, $2] += $4; kinds[$2] = 1}
      END {
        for (k in kinds) {
          on = reqs["on", k] ? c["on", k] * 1000 / reqs["on", k] : 0
          off = reqs["off", k] ? c["off", k] * 1000 / reqs["off", k] : 0
          printf "#   %-10s %9.2f %9.2f\n", k, on, off
        }
      }' "$WORK/syscalls" | sort
  fi
  stop_servers
done
awk "$MEDIAN_AWK"'
  {rps[$3, $1, $2] = $4; cpu[$3, $1, $2] = $5; if ($1 > pairs) pairs = $1; if ($2 > cycles) cycles = $2}
  END {
    all = 0
    for (p = 1; p <= pairs; p++) {
      for (c = 1; c <= cycles; c++) {
        ron[c] = rps["on", p, c]; roff[c] = rps["off", p, c]; con[c] = cpu["on", p, c]
        coff[c] = cpu["off", p, c]
        ratio[c] = rps["on", p, c] / rps["off", p, c]; cost[c] = cpu["on", p, c] - cpu["off", p, c]
        every[++all] = ratio[c]; costs[all] = cost[c]
      }
      printf "# pair %d medians: on %.0f req/s %.0f us CPU/request; off %.0f req/s %.0f us CPU/request\n",
        p, median(ron, cycles), median(con, cycles), median(roff, cycles), median(coff, cycles)
      printf "# pair %d on/off req/s (median of per-cycle ratios) %.3f; extra server CPU per request %.0f us\n",
        p, median(ratio, cycles), median(cost, cycles)
    }
    if (pairs > 1)
      printf "# all %d cycles of %d pairs: on/off req/s median %.3f; extra CPU per request %.0f us\n",
        all, pairs, median(every, all), median(costs, all)
  }' "$WORK/results"
