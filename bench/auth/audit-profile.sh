#!/usr/bin/env bash
# Where the pull records' cost goes, by thread kind and library: two Berth servers (access
# control on, admin's Basic credentials as the shared harness sends), one with pull records
# (audit.pulls=true) and one without; WARM runs of the shared harness's manifest scenario on
# each, then RUNS alternating runs of it (GET/HEAD phases of MD each) with `perf record` on the
# server being driven. Prints each run's req/s and, per thread kind and library, the server's
# CPU in ns per GET/HEAD with pull records, without, and the difference (perf samples at 999 Hz,
# the GET/HEAD phases' requests only in the denominator; the PUT phase is the same on both).
#
#   bench/auth/audit-profile.sh      # needs perf, jq, a built berth.jar and Go; ~12 minutes
#
# Environment: RUNS (4), WARM (4), MD (15s), PORT (15340; and +1), BENCH (../shared/bench).
# JIT frames are named from `jcmd PID Compiler.perfmap` (the servers run with
# -XX:+PreserveFramePointer); SQLite's library is stripped, so it is one line.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-4}
WARM=${WARM:-4}
MD=${MD:-15s}
PORT=${PORT:-15340}
BENCH=${BENCH:-$(cd .. && pwd)/shared/bench}
PASSWORD=bench-admin-password
WORK=$(mktemp -d /tmp/berth-audit-profile-XXXX)
declare -A pids=()
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT
regbench=$("$BENCH/build.sh")
# shellcheck source=/dev/null
. "$BENCH/env.sh" # BENCH_WORK: where the harness keeps its cache
# shellcheck source=bench/auth/common.sh
. bench/auth/common.sh

port_of() { if [ "$1" = on ]; then echo "$PORT"; else echo $((PORT + 1)); fi; }

# One run of the manifest scenario on server $1 (on/off), label $2, GET/HEAD phases of $3.
manifest_run() {
  REGBENCH_PASS=$PASSWORD "$regbench" run -url "http://127.0.0.1:$(port_of "$1")" -s manifest \
    -md "$3" -round 1 -label "$2" -seed 1 -cache "$BENCH_WORK/.cache" -q -user admin "${@:4}"
}

for mode in on off; do
  pulls=true
  [ "$mode" = off ] && pulls=false
  BERTH_JAVA_OPTS=-XX:+PreserveFramePointer BERTH_AUTH_ENABLED=true BERTH_AUDIT_PULLS=$pulls \
    BERTH_ADMIN_PASSWORD=$PASSWORD BERTH_LOG_ACCESS_LOG=false \
    bin/berth serve --addr "127.0.0.1:$(port_of $mode)" --data "$WORK/data-$mode" \
    > "$WORK/berth-$mode.log" 2>&1 &
  pids[$mode]=$!
  wait_for_berth "http://127.0.0.1:$(port_of $mode)"
done
for run in $(seq 1 "$WARM"); do
  for mode in on off; do
    manifest_run $mode warmup 5s > "$WORK/warmup.txt" 2>&1 ||
      { echo "warm-up run failed:"; cat "$WORK/warmup.txt"; exit 1; } >&2
  done
done
echo "# run mode requests get_tag get_digest head_tag head_digest (req/s)"
for run in $(seq 1 "$RUNS"); do
  for mode in on off; do
    perf record -F 999 -g -p "${pids[$mode]}" -o "$WORK/perf-$mode-$run.data" 2> /dev/null &
    recorder=$!
    manifest_run $mode "$mode" "$MD" -json "$WORK/run-$mode-$run.json" > "$WORK/run.txt" 2>&1 ||
      { echo "run failed:"; cat "$WORK/run.txt"; exit 1; } >&2
    kill -INT "$recorder"
    wait "$recorder" || true
    jq -r --arg run "$run" --arg mode "$mode" --arg seconds "${MD%s}" '
      [.figures[] | select(.name | test("^manifest[.](get|head)_.*[.]rps$"))] as $f
      | "\($run) \($mode) \([$f[].value * ($seconds | tonumber)] | add | round) "
        + ([$f[].value] | map(tostring) | join(" "))' "$WORK/run-$mode-$run.json"
  done
done | tee "$WORK/requests"
for mode in on off; do jcmd "${pids[$mode]}" Compiler.perfmap > /dev/null; done
for mode in on off; do
  for run in $(seq 1 "$RUNS"); do
    perf report -i "$WORK/perf-$mode-$run.data" --stdio -n --no-children -g none \
      --sort comm,dso 2> /dev/null | grep -v '^#' | grep -v '^$' |
      awk -v mode=$mode '{n = $2; $1 = ""; $2 = ""; print mode "\t" n "\t" $0}'
  done
done > "$WORK/samples"
echo "# server CPU, ns per GET/HEAD: difference, with pull records, without; thread kind, library"
awk -F'\t' '
  FNR == NR {requests[$2] += $3; next}
  {
    k = $3
    gsub(/sqlite-[0-9.]+-[0-9a-f-]*-libsqlitejdbc[.]so/, "libsqlite", k)
    gsub(/tid [0-9]+/, "", k); gsub(/-[0-9]+/, "", k); gsub(/ +/, " ", k)
    samples[$1, k] += $2; total[$1] += $2; kinds[k] = 1
  }
  END {
    ns = 1e9 / 999
    for (k in kinds) {
      on = samples["on", k] * ns / requests["on"]; off = samples["off", k] * ns / requests["off"]
      if (on + off >= 200) printf "%9.0f %9.0f %9.0f %s\n", on - off, on, off, k
    }
    on = total["on"] * ns / requests["on"]; off = total["off"] * ns / requests["off"]
    printf "%9.0f %9.0f %9.0f  all threads\n", on - off, on, off
  }' <(tr ' ' '\t' < "$WORK/requests") "$WORK/samples" | sort -nr
dropped=$(grep -o '[0-9]* pull record(s) dropped' "$WORK/berth-on.log" | tail -1 || true)
echo "# pull records dropped: ${dropped:-none}"
