#!/usr/bin/env bash
# Push throughput of Berth (SQLite + filesystem, gc.grace-period 0s) with and without garbage
# collection running, alternating the two conditions ROUNDS times (order swapped every round).
#
#   bench/gc/push-under-gc.sh
#
# Each measurement: GARBAGE blobs of 1 KiB are pushed and unlinked in a repository of their own
# (GcLoad.java, untimed, in both conditions so that the database grows the same way), then
# regbench push-mono of COUNT distinct 1 MiB blobs at concurrency C (a new seed per measurement, so
# every blob is new to the registry). In the "gc" condition a loop POSTs /api/v1/gc/runs back to
# back (409 = one is running: wait and retry) from the push's first request until it ends
# (GC_START=during, the default; GC_START=before starts them before regbench, which then spends
# seconds generating content while the collector has the idle registry to itself), and the runs
# that overlapped the push are listed; blobs_deleted_during counts the blob files the
# collections removed between their start and the push's end (during) or, with GC_START=before,
# what the overlapping runs deleted in all.
#
# Environment: WORK (default /tmp/berth-push-gc), PORT=15440, ROUNDS=3, GARBAGE=20000, COUNT=2000,
# C=8, GC_START=during, JAVA_HOME (default temurin 25). Needs ../shared/bench (regbench;
# BENCH_WORK=$WORK/bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${BENCH_HOME:-$(cd "$root/../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
java="$JAVA_HOME/bin/java"
WORK=${WORK:-/tmp/berth-push-gc}
PORT=${PORT:-15440}
ROUNDS=${ROUNDS:-3}
GARBAGE=${GARBAGE:-20000}
COUNT=${COUNT:-2000}
C=${C:-8}
GC_START=${GC_START:-during}
url="http://127.0.0.1:$PORT"
export BENCH_WORK="$WORK/bench"
mkdir -p "$WORK" "$BENCH_WORK"
regbench=$("$shared/build.sh")
results="$WORK/results.tsv"
: >"$results"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
log() { echo "# $(date -u +%H:%M:%S) $*" >&2; }

rm -rf "$WORK/data"
BERTH_GC_GRACE_PERIOD=0s BERTH_LOG_ACCESS_LOG=false "$root/bin/berth" serve --addr "127.0.0.1:$PORT" \
  --data "$WORK/data" >"$WORK/berth.log" 2>&1 &
berth=$!
pids+=("$berth")
for _ in $(seq 1 600); do curl -fsS -o /dev/null "$url/v2/" 2>/dev/null && break; sleep 0.1; done
log "berth pid $berth on $url"

# Back-to-back GC runs until $WORK/gc.stop exists; one line per run in $WORK/gc-<label>.runs.
gc_loop() { # label
  local out="$WORK/gc-$1.runs" code id run status
  : >"$out"
  while [ ! -e "$WORK/gc.stop" ]; do
    code=$(curl -s -o "$WORK/gc-post.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -d '{"dryRun":false,"deleteUntagged":false}' "$url/api/v1/gc/runs")
    if [ "$code" != 202 ]; then sleep 0.05; continue; fi
    id=$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' "$WORK/gc-post.json")
    while :; do
      run=$(curl -fsS "$url/api/v1/gc/runs/$id" | sed 's/,"deleted":.*/}/')
      status=$(sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' <<<"$run")
      [ "$status" != running ] && break
      sleep 0.05
    done
    echo "$(date +%s.%N) $run" >>"$out"
  done
}

count_blob_files() {
  { find "$WORK/data/blobs" -type f -path '*sha256*' -not -path '*/uploads/*' 2>/dev/null || true; } | wc -l
}

measure() { # round condition
  local label="r$1-$2" seed=$(($1 * 10)) gcpid="" t0 t1 la
  if [ "$2" = gc ]; then seed=$((seed + 1)); fi
  "$java" "$here/GcLoad.java" "$url" --prefix "garbage-$label" --repos $((GARBAGE / 100)) --blobs 100 \
    --seed "$seed" --unlink >&2
  rm -f "$WORK/gc.stop"
  la=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$2" = gc ] && [ "$GC_START" = before ]; then
    gc_loop "$label" &
    gcpid=$!
    # Wait for the first run to be under way.
    for _ in $(seq 1 100); do
      curl -fsS "$url/api/v1/gc/runs?n=1" | grep -q '"status":"running"' && break
      sleep 0.05
    done
  fi
  t0=$(date +%s.%N)
  "$regbench" run -url "$url" -s push-mono -sizes 1MiB -c "$C" -cell-bytes "${COUNT}MiB" \
    -max-count "$COUNT" -seed "$seed" -prefix "push-$label" -cache "$BENCH_WORK/.cache" \
    -pids "$berth" -reset-hwm -q -json "$WORK/push-$label.json" >"$WORK/push-$label.txt" 2>&1 &
  local pushpid=$! files_at_gc="" files_at_end=""
  if [ "$2" = gc ] && [ "$GC_START" = during ]; then
    # regbench first generates its content (seconds, no request): collections start once the
    # push's first repository exists, so that they run during the push, not before it.
    until curl -fsS "$url/v2/_catalog?n=1&last=push-$label" 2>/dev/null | grep -q "\"push-$label/"; do
      kill -0 "$pushpid" 2>/dev/null || break
      sleep 0.02
    done
    files_at_gc=$(count_blob_files)
    gc_loop "$label" &
    gcpid=$!
  fi
  wait "$pushpid"
  t1=$(date +%s.%N)
  if [ -n "$files_at_gc" ]; then
    files_at_end=$(count_blob_files)
  fi
  if [ -n "$gcpid" ]; then
    touch "$WORK/gc.stop"
    wait "$gcpid"
  fi
  local rate errors overlapping deleted
  rate=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); f={x['name']:x['value'] for x in d['figures']}; print(round(f['push.mono.1MiB.c$C.blobs_per_s'],1), int(f.get('push.mono.1MiB.c$C.errors',0)))" "$WORK/push-$label.json")
  errors=${rate#* }
  rate=${rate% *}
  overlapping=0
  deleted=0
  if [ "$2" = gc ]; then
    # Runs whose [start, finish] overlaps [t0, t1], and the blobs they deleted.
    read -r overlapping deleted < <(python3 - "$WORK/gc-$label.runs" "$t0" "$t1" <<'EOF'
import json, sys, datetime
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
n = d = 0
for line in open(sys.argv[1]):
    run = json.loads(line.split(" ", 1)[1])
    ts = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    if ts(run["startedAt"]) <= t1 and ts(run["finishedAt"]) >= t0:
        n += 1
        d += run["blobsDeleted"]
print(n, d)
EOF
)
  fi
  if [ -n "$files_at_end" ]; then
    # Blob files at the first collection, plus the blobs pushed since (at most COUNT), less those
    # at the push's end: what the collections deleted while the push ran (a lower bound by the
    # few blobs pushed before the first collection started).
    deleted=$((files_at_gc + COUNT - files_at_end))
  fi
  log "$label: $rate blobs/s (errors $errors), load $la, gc runs overlapping $overlapping deleting $deleted blobs"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$rate" "$errors" "$la" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$overlapping" "$deleted" >>"$results"
}

for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order=(nogc gc); else order=(gc nogc); fi
  for cond in "${order[@]}"; do measure "$r" "$cond"; done
done

echo "# $(date -u +%FT%TZ) commit $(git -C "$root" rev-parse --short HEAD) COUNT=$COUNT x 1MiB C=$C GARBAGE=$GARBAGE"
{
  printf 'round\tcondition\tblobs_per_s\terrors\tload1\tpush_wall_s\tgc_runs_during\tblobs_deleted_during\n'
  cat "$results"
} | column -t -s $'\t'
python3 - "$results" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
med = {c: statistics.median(float(r[2]) for r in rows if r[1] == c) for c in ("nogc", "gc")}
print(f"median blobs/s: no GC {med['nogc']:.1f}, GC running {med['gc']:.1f}, ratio gc/nogc {med['gc'] / med['nogc']:.3f}")
EOF
