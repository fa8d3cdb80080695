#!/usr/bin/env bash
# The shared harness's A/B comparison (../shared/bench/compare.sh) of Berth with pull records
# (audit.pulls=true, the default) against Berth without (false), both with access control on and
# the harness logging in as admin (Basic). The manifest scenario GETs 2,000 distinct manifests
# round-robin at c=64, so almost every pull in a batch names another manifest and the records
# list them one by one (decision 017): the audit writer's worst case in the standard scenarios.
#
#   bench/auth/audit-harness.sh        # needs a built berth.jar and Go (the harness builds itself)
#
# WARMUP seconds (90) of distinct-client manifest GETs (bench/auth/distinct-clients.lua) on each
# server first: the writer's per-record code runs ~150 times a second and reaches C2 minutes after
# the request path does, so a cold pair measures the JIT (docs/benchmarks.md, session 7). Then
# WARMUP_RUNS (3) unmeasured runs of the harness's own SCENARIOS on each server, so that the code
# of the measured load (2,000 manifests by tag and digest, and their records) is compiled too.
#
# Neither place is neutral: compare.sh runs A before B in every round, and the server started
# and warmed up first has been idle the longest when the rounds begin; two identical servers so
# placed measured 0.85-1.00 A/B, A slower in 7 of 8 figures (docs/benchmarks.md, session 8).
# So A is always started and warmed up first, and ORDERS says which server is A: "on" (the
# server with pull records), "off", or "both" (the default: the whole run twice with fresh
# servers, on as A and then off as A, and per figure the geometric mean of the two on/off
# ratios, in which A's disadvantage cancels; then every round's own on/off ratio of both orders
# pooled, their median and geometric mean with bootstrap 95 % intervals: what the rounds can
# resolve).
# CONTROL=1 starts both servers WITHOUT pull records (an A/A run: how far apart two identical
# servers measure here).
#
# PHASE sets how long each GET/HEAD phase of the manifest scenario lasts (regbench's -md; its
# default 5s when unset). The machine's speed wanders over a few seconds here, so A's and B's
# phase of one round, a whole scenario apart, see different speeds (single-round ratios
# 0.55-1.8 with 5 s phases and with 2 s alike); 2 s phases give 2.4x the rounds an hour, each as
# noisy, so more pairs to pool (docs/benchmarks.md, session 11).
#
# KEEP=DIR keeps each order's comparison (compare-on.json, compare-off.json: every round's
# figures) and the servers' logs there; the rest of the work directory is removed at the end.
# POOL="DIR..." runs nothing (needs only jq and awk): it pools the rounds kept in those
# directories (several runs) and prints their on/off medians and geometric means as a run with
# ORDERS=both does.
#
# Environment: SCENARIOS (manifest), ROUNDS (3), WARMUP (90), WARMUP_RUNS (3), ORDERS (both),
# CONTROL (0), PHASE (unset), KEEP (unset), POOL (unset), PORT (15330; and +1),
# BENCH (../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
SCENARIOS=${SCENARIOS:-manifest}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-90}
WARMUP_RUNS=${WARMUP_RUNS:-3}
ORDERS=${ORDERS:-both}
CONTROL=${CONTROL:-0}
PHASE=${PHASE:-}
KEEP=${KEEP:-}
POOL=${POOL:-}
PORT=${PORT:-15330}
BENCH=${BENCH:-$(cd .. && pwd)/shared/bench}
PASSWORD=bench-admin-password

# Every round's own on/off ratio from the comparisons given (compare-on.json and
# compare-off.json, of one run or of several; A and B of a round ran back to back, so the
# machine's drift over a run cancels within a pair), per req/s figure and for both GET figures
# together: their median and their geometric mean, each with a bootstrap 95 % interval (2,000
# resamples, fixed seed; the geometric mean's is the tighter when the ratios scatter without
# outliers).
pooled() {
  echo "# on/off per round, both orders pooled:"
  echo "#   figure pairs median 95%-interval geometric-mean 95%-interval"
  # compare-on.json has on as A (on/off = A/B), compare-off.json off as A (on/off = B/A). Per
  # round also both GET figures as one (the geometric mean of the two; they ran one after the other
  # and move together, so they are not two independent pairs).
  jq -r '
    (input_filename | test("compare-off[^/]*$")) as $off_first
    | def ratio: if $off_first then .[1] / .[0] else .[0] / .[1] end;
    (.rows | map(select(.unit == "req/s"))) as $rows
    | ($rows[] | . as $r | range(0; [.a_values, .b_values] | map(length) | min)
       | [$r.a_values[.], $r.b_values[.]] | select(all(. > 0)) | "\($r.name) \(ratio)"),
      (($rows | map(select(.name | test("^manifest[.]get_(tag|digest)[.]c64[.]rps$")))) as $g
       | select($g | length == 2)
       | range(0; [$g[].a_values, $g[].b_values] | map(length) | min) as $i
       | [$g[] | [.a_values[$i], .b_values[$i]]] | select(all(.[]; all(. > 0)))
       | map(ratio) | "manifest.get_both.c64.rps \(.[0] * .[1] | sqrt)")' "$@" |
    awk '
      function median(v, n,   i, j, t) {
        for (i = 2; i <= n; i++) {
          t = v[i]
          for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
          v[j + 1] = t
        }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      }
      {n[$1]++; r[$1, n[$1]] = $2}
      END {
        srand(1)
        for (f in n) {
          k = n[f]
          g = 0
          for (i = 1; i <= k; i++) {
            v[i] = r[f, i]
            g += log(v[i])
          }
          m = median(v, k)
          for (b = 1; b <= 2000; b++) {
            s = 0
            for (i = 1; i <= k; i++) {
              v[i] = r[f, int(rand() * k) + 1]
              s += log(v[i])
            }
            boot[b] = median(v, k)
            gboot[b] = exp(s / k)
          }
          median(boot, 2000)
          median(gboot, 2000)
          printf "#   %s %d %.3f %.3f..%.3f %.3f %.3f..%.3f\n", f, k, m, boot[50], boot[1951],
            exp(g / k), gboot[50], gboot[1951]
        }
      }' | sort | column -t
}

if [ -n "$POOL" ]; then
  kept=()
  for dir in $POOL; do
    for order in on off; do
      [ -f "$dir/compare-$order.json" ] || { echo "POOL: no $dir/compare-$order.json" >&2; exit 2; }
      kept+=("$dir/compare-$order.json")
    done
  done
  pooled "${kept[@]}"
  exit 0
fi

WORK=$(mktemp -d /tmp/berth-audit-harness-XXXX)
declare -A pids=()
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT
regbench=$("$BENCH/build.sh")
# shellcheck source=/dev/null
. "$BENCH/env.sh" # BENCH_WORK: where compare.sh keeps the harness's cache
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh
phase=()
[ -n "$PHASE" ] && phase=(-md "$PHASE")
case "$ORDERS" in
  on | off) orders=("$ORDERS") ;;
  both) orders=(on off) ;;
  *) echo "ORDERS: on, off or both, not '$ORDERS'" >&2; exit 2 ;;
esac

# One compare.sh run with fresh servers, A (started and warmed up first) the server with pull
# records when $1 is "on", the other when "off"; the comparison goes to $WORK/compare-$1.json.
run_order() {
  local first=$1 mode port pulls a=on b=off dropped
  [ "$first" = off ] && a=off b=on
  for mode in $a $b; do
    port=$PORT pulls=true
    [ "$mode" = "$b" ] && port=$((PORT + 1))
    [ "$mode" = off ] || [ "$CONTROL" = 1 ] && pulls=false
    rm -rf "$WORK/data-$mode"
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
    for run in $(seq 1 "$WARMUP_RUNS"); do
      REGBENCH_PASS=$PASSWORD "$regbench" run -url "$BASE" -s "$SCENARIOS" -round "$run" \
        -label warmup -seed 1 -cache "$BENCH_WORK/.cache" -q -user admin "${phase[@]}" \
        > "$WORK/warmup.txt" 2>&1 ||
        { echo "warm-up run failed:"; cat "$WORK/warmup.txt"; exit 1; } >&2
    done
  done
  if [ "$CONTROL" = 1 ]; then
    echo "# A = the server started as '$a', B = '$b' (control: both WITHOUT pull records)"
  else
    echo "# A = pull records $a, B = $b"
  fi
  rm -rf "$WORK/results"
  thread_ticks "${pids[$a]}" > "$WORK/threads-a"
  thread_ticks "${pids[$b]}" > "$WORK/threads-b"
  REGBENCH_USER=admin REGBENCH_PASS=$PASSWORD PIDS_A=${pids[$a]} PIDS_B=${pids[$b]} \
    SCENARIOS=$SCENARIOS ROUNDS=$ROUNDS OUT="$WORK/results" \
    "$BENCH/compare.sh" "http://127.0.0.1:$PORT" "http://127.0.0.1:$((PORT + 1))" "${phase[@]}"
  cp "$WORK/results/compare.json" "$WORK/compare-$first.json"
  if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    cp "$WORK/compare-$first.json" "$KEEP/"
    cp "$WORK/berth-on.log" "$KEEP/berth-on-$first-first.log"
    cp "$WORK/berth-off.log" "$KEEP/berth-off-$first-first.log"
  fi
  # Where each server's CPU went over the whole comparison (seconds by thread kind).
  echo "# server CPU over the comparison by thread (s), A ($a) / B ($b):"
  join -t$'\t' "$WORK/threads-a" <(thread_ticks "${pids[$a]}") > "$WORK/ticks-a"
  join -t$'\t' "$WORK/threads-b" <(thread_ticks "${pids[$b]}") > "$WORK/ticks-b"
  join -t$'\t' -a1 -a2 -e0 -o 0,1.2,1.3,2.2,2.3 "$WORK/ticks-a" "$WORK/ticks-b" |
    awk -F'\t' -v hz="$(getconf CLK_TCK)" '{a = ($3 - $2) / hz; b = ($5 - $4) / hz}
      a >= 0.1 || b >= 0.1 {printf "#   %-16s %8.2f %8.2f\n", $1, a, b}' | sort -k3 -nr
  dropped=$(grep -o '[0-9]* pull record(s) dropped' "$WORK/berth-on.log" | tail -1 || true)
  echo "# pull records dropped: ${dropped:-none}"
  stop_servers
}

for first in "${orders[@]}"; do
  run_order "$first"
done
if [ "${#orders[@]}" = 2 ]; then
  # on/off per figure in each order (A/B when on went first, B/A when off did) and their
  # geometric mean.
  echo "# on/off ratios$([ "$CONTROL" = 1 ] && echo ' (control: both WITHOUT pull records)'):"
  echo "#   figure on-first off-first geometric-mean"
  jq -r -s '
    (.[0].rows | map({key: .name, value: .ratio_a_over_b}) | from_entries) as $on
    | .[1].rows[] | select(.counted_in_spread and $on[.name] != null and .ratio_a_over_b > 0)
    | [.name, $on[.name], 1 / .ratio_a_over_b, (($on[.name] / .ratio_a_over_b) | sqrt)]
    | "#   \(.[0]) \(.[1] * 1000 | round / 1000) \(.[2] * 1000 | round / 1000)"
      + " \(.[3] * 1000 | round / 1000)"' \
    "$WORK/compare-on.json" "$WORK/compare-off.json" | column -t
  pooled "$WORK/compare-on.json" "$WORK/compare-off.json"
fi
