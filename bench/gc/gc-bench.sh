#!/usr/bin/env bash
# Garbage collection of unreferenced blobs: Berth online vs Debian's docker-registry (CNCF
# Distribution 2.8.2) `garbage-collect` offline, on the same content, filesystem and S3 (s3proxy).
#
#   bench/gc/gc-bench.sh [fs|s3|all ...]        (default: all = fs then s3)
#
# Content: REPOS x BLOBS distinct random blobs of SIZE bytes, pushed through each registry's API
# (GcLoad.java, CONC at a time, no manifest); on Berth each blob is then unlinked (DELETE
# /v2/<repo>/blobs/<digest>) and gc.grace-period is 0s. It is loaded once per registry on the
# filesystem driver and the stopped registry's storage (with Berth's database) kept in
# $WORK/seed-*; every case starts from a copy of it, and for S3 the files are copied into a fresh
# s3proxy bucket under the same keys (pushing 100,000 blobs through s3proxy ran at 19-28 blobs/s
# here, an hour per registry). Delete the seed-* directories to load afresh. Then:
#   Berth:        a fresh server process; reset its peak RSS (echo 5 > /proc/PID/clear_refs),
#                 POST /api/v1/gc/runs and poll the run until it is no longer running: wall time
#                 from the POST to the finished status, the run's own durationMillis, blobsDeleted,
#                 VmHWM of the server;
#   Distribution: (stopped) /usr/bin/time -v docker-registry garbage-collect CONFIG: wall time
#                 and maximum RSS.
# Blob files in storage are counted before (must be REPOS x BLOBS) and after. One result line per
# case is appended to $WORK/results.tsv and the table is printed at the end. The 1-minute load
# average is recorded at the start of each collection.
#
# Environment: WORK (default /tmp/berth-gc-bench; each case's directories are wiped first), REPOS=1000 BLOBS=100 SIZE=1024
# CONC=16, PORT=15420 (Berth; Distribution PORT+1, s3proxy PORT+2), ONLY=berth|distribution (one
# side only), PROFILE=1 (a JFR recording of Berth's collection, settings=profile, in $WORK; the
# timing of a profiled run is not comparable), JAVA_HOME (a JDK 21+; default temurin 25).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
java="$JAVA_HOME/bin/java"
WORK=${WORK:-/tmp/berth-gc-bench}
REPOS=${REPOS:-1000}
BLOBS=${BLOBS:-100}
SIZE=${SIZE:-1024}
CONC=${CONC:-16}
PORT=${PORT:-15420}
ONLY=${ONLY:-}
berth_port=$PORT
dist_port=$((PORT + 1))
s3_port=$((PORT + 2))
s3_key=gcbench
s3_secret=gcbench-secret
total=$((REPOS * BLOBS))
mkdir -p "$WORK"
results="$WORK/results.tsv"
pids=()

cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

log() { echo "# $(date -u +%H:%M:%S) $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
now() { date +%s.%N; }

wait_http() { # URL [seconds]
  for _ in $(seq 1 $((${2:-60} * 10))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

stop_pid() { # PID: SIGTERM, wait for it to exit
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  echo "pid $1 did not stop" >&2
  return 1
}

load_blobs() { # URL [--unlink]
  "$java" "$here/GcLoad.java" "$1" --repos "$REPOS" --blobs "$BLOBS" --size "$SIZE" \
    --concurrency "$CONC" "${@:2}" >&2
}

# ---- s3proxy ----
s3proxy_classpath() {
  local cp="$WORK/s3proxy.classpath"
  if [ ! -s "$cp" ]; then
    (cd "$root/berth-testkit" && mvn -B -o -q dependency:build-classpath \
      -Dmdep.outputFile="$cp" >&2)
  fi
  cat "$cp"
}

start_s3proxy() { # DIR
  rm -rf "$1"
  mkdir -p "$1"
  : >"$WORK/s3proxy.log"
  local cp
  cp=$(s3proxy_classpath)
  "$java" -Dlogback.configurationFile="$here/s3proxy-logback.xml" -cp "$cp" \
    "$here/S3ProxyServer.java" "$1" "$s3_port" "$s3_key" "$s3_secret" >"$WORK/s3proxy.log" 2>&1 &
  s3_pid=$!
  pids+=("$s3_pid")
  for _ in $(seq 1 300); do
    grep -q '^s3proxy on' "$WORK/s3proxy.log" && return 0
    kill -0 "$s3_pid" || break
    sleep 0.1
  done
  echo "s3proxy did not start; see $WORK/s3proxy.log" >&2
  return 1
}

s3_create_bucket() { # BUCKET
  curl -fsS -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$s3_key:$s3_secret" \
    "http://127.0.0.1:$s3_port/$1" >/dev/null
}

# ---- counting blob files in storage ----
count_berth() { # STORAGE (fs) DIR | (s3) BUCKET_DIR
  { find "$1" -type f -path '*sha256*' -not -path '*/uploads/*' 2>/dev/null || true; } | wc -l
}
count_distribution() { # DIR holding docker/registry/v2
  { find "$1/docker/registry/v2/blobs" -type f -name data 2>/dev/null || true; } | wc -l
}

record() { # case blobs_deleted seconds rss_MiB before after load note
  local rate
  rate=$(awk -v n="$2" -v s="$3" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$rate" "$4" "$5" "$6" "$7" \
    "$(date -u +%FT%TZ)" "$8" >>"$results"
}

# ---- Berth ----
start_berth() { # DATA storage(fs|s3) LOG: starts Berth, sets pid
  local -a env=(BERTH_GC_GRACE_PERIOD=0s BERTH_LOG_ACCESS_LOG=false)
  if [ "$2" = s3 ]; then
    env+=(BERTH_STORAGE_DRIVER=s3 BERTH_STORAGE_S3_ENDPOINT="http://127.0.0.1:$s3_port"
      BERTH_STORAGE_S3_REGION=us-east-1 BERTH_STORAGE_S3_BUCKET=berth
      BERTH_STORAGE_S3_ACCESS_KEY=$s3_key BERTH_STORAGE_S3_SECRET_KEY=$s3_secret
      BERTH_STORAGE_S3_PATH_STYLE=true BERTH_STORAGE_S3_CREATE_BUCKET=true)
  fi
  env "${env[@]}" "$root/bin/berth" serve --addr "127.0.0.1:$berth_port" --data "$1" >>"$3" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$berth_port/v2/"
}

berth_case() { # fs|s3
  local storage=$1 data="$WORK/berth-$1" storage_dir="$WORK/berth-$1/blobs" pid
  local seed="$WORK/seed-berth-$REPOS-$BLOBS-$SIZE" logf="$WORK/berth-$1.log"
  rm -rf "$data"
  : >"$logf"
  if [ -d "$seed" ]; then
    log "berth $storage: content from $seed"
  else
    # Loaded once on the filesystem driver, kept in $seed for the other cases and reruns.
    start_berth "$data" fs "$logf"
    log "berth $storage: pid $pid, loading $total blobs and unlinking them"
    load_blobs "http://127.0.0.1:$berth_port" --unlink
    stop_pid "$pid"
    cp -a "$data" "$seed.tmp"
    mv "$seed.tmp" "$seed"
    rm -rf "$data"
  fi
  cp -a "$seed" "$data"
  if [ "$storage" = s3 ]; then
    # The same keys (blobs/sha256/xx/<hex>) go into the bucket, and the same database is opened
    # with the S3 driver.
    start_s3proxy "$WORK/s3proxy-berth"
    s3_create_bucket berth
    storage_dir="$WORK/s3proxy-berth/berth"
    cp -a "$data/blobs/blobs" "$storage_dir/"
    rm -rf "$data/blobs"
  fi
  # A fresh process for the collection, as Distribution's is.
  start_berth "$data" "$storage" "$logf"
  log "berth $storage: pid $pid"
  local before after la t0 t1 run id status hwm jfr=""
  before=$(count_berth "$storage_dir")
  if [ "$before" != "$total" ]; then echo "expected $total blob files, found $before" >&2; exit 1; fi
  sleep 2
  if [ "${PROFILE:-}" = 1 ]; then
    jfr="$WORK/berth-$storage-gc.jfr"
    "$JAVA_HOME/bin/jcmd" "$pid" JFR.start name=gc settings=profile filename="$jfr" >&2
  fi
  echo 5 >"/proc/$pid/clear_refs"
  la=$(load1)
  log "berth $storage: $before blob files; collecting (load $la)"
  t0=$(now)
  run=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d '{"dryRun":false,"deleteUntagged":false}' "http://127.0.0.1:$berth_port/api/v1/gc/runs")
  id=$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' <<<"$run")
  while :; do
    run=$(curl -fsS "http://127.0.0.1:$berth_port/api/v1/gc/runs/$id")
    status=$(sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' <<<"$run")
    [ "$status" != running ] && break
    sleep 0.1
  done
  t1=$(now)
  hwm=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
  if [ -n "$jfr" ]; then "$JAVA_HOME/bin/jcmd" "$pid" JFR.stop name=gc >&2; fi
  after=$(count_berth "$storage_dir")
  local deleted duration
  deleted=$(sed -n 's/.*"blobsDeleted":\([0-9]*\).*/\1/p' <<<"$run")
  duration=$(sed -n 's/.*"durationMillis":\([0-9]*\).*/\1/p' <<<"$run")
  log "berth $storage: run $id $status, blobsDeleted $deleted, durationMillis $duration, $after blob files left"
  sed 's/,"deleted":.*/}/' <<<"$run" >"$WORK/berth-$storage-run.json"
  record "berth-$storage" "$deleted" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
    "$hwm" "$before" "$after" "$la" "status=$status run_ms=$duration"
  stop_pid "$pid"
  if [ "$storage" = s3 ]; then stop_pid "$s3_pid"; fi
}

# ---- Distribution ----
write_distribution_config() { # filesystem|s3 FILE [DIR]
  local storage
  if [ "$1" = s3 ]; then
    storage="  s3:
    accesskey: $s3_key
    secretkey: $s3_secret
    region: us-east-1
    regionendpoint: http://127.0.0.1:$s3_port
    bucket: dist
    secure: false
    v4auth: true"
  else
    storage="  filesystem:
    rootdirectory: $3"
  fi
  # As ../shared/bench/registry/config.yml.in (start.sh), with our own storage.
  cat >"$2" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
$storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$dist_port
EOF
}

distribution_case() { # fs|s3
  local storage=$1 dir="$WORK/dist-$1" cfg="$WORK/dist-$1.yml" storage_dir
  rm -rf "$dir"
  local seed="$WORK/seed-dist-$REPOS-$BLOBS-$SIZE"
  if [ -d "$seed" ]; then
    log "distribution $storage: content from $seed"
  else
    # Loaded once on the filesystem driver (its layout is the S3 driver's key layout), kept in
    # $seed for the other cases and reruns.
    write_distribution_config filesystem "$cfg" "$dir"
    docker-registry serve "$cfg" >"$WORK/dist-$storage.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    wait_http "http://127.0.0.1:$dist_port/v2/"
    log "distribution $storage: pid $pid, loading $total blobs"
    load_blobs "http://127.0.0.1:$dist_port"
    stop_pid "$pid"
    cp -a "$dir" "$seed.tmp"
    mv "$seed.tmp" "$seed"
    rm -rf "$dir"
  fi
  cp -a "$seed" "$dir"
  write_distribution_config filesystem "$cfg" "$dir"
  storage_dir="$dir"
  if [ "$storage" = s3 ]; then
    start_s3proxy "$WORK/s3proxy-dist"
    s3_create_bucket dist
    storage_dir="$WORK/s3proxy-dist/dist"
    cp -a "$dir/docker" "$storage_dir/"
    rm -rf "$dir"
    write_distribution_config s3 "$cfg"
  fi
  local before after la t0 t1 rss
  before=$(count_distribution "$storage_dir")
  if [ "$before" != "$total" ]; then echo "expected $total blob files, found $before" >&2; exit 1; fi
  la=$(load1)
  log "distribution $storage: $before blob files; garbage-collect (load $la)"
  t0=$(now)
  /usr/bin/time -v -o "$WORK/dist-$storage-time.txt" env -u AWS_CA_BUNDLE docker-registry garbage-collect "$cfg" \
    >"$WORK/dist-$storage-gc.log" 2>&1
  t1=$(now)
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$WORK/dist-$storage-time.txt")
  after=$(count_distribution "$storage_dir")
  log "distribution $storage: $after blob files left; $(grep -c 'blob eligible for deletion' "$WORK/dist-$storage-gc.log" || true) eligible in its log"
  record "distribution-$storage" "$((before - after))" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "$rss" "$before" "$after" "$la" \
    "offline"
  if [ "$storage" = s3 ]; then stop_pid "$s3_pid"; fi
}

cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(all)
for c in "${cases[@]}"; do
  case "$c" in
    all) set -- fs s3 ;;
    fs | s3) set -- "$c" ;;
    *) echo "usage: gc-bench.sh [fs|s3|all ...]" >&2; exit 2 ;;
  esac
  for storage in "$@"; do
    if [ "$ONLY" != distribution ]; then berth_case "$storage"; fi
    if [ "$ONLY" != berth ]; then distribution_case "$storage"; fi
  done
done

echo "# $(date -u +%FT%TZ) commit $(git -C "$root" rev-parse --short HEAD) REPOS=$REPOS BLOBS=$BLOBS SIZE=$SIZE CONC=$CONC"
{
  printf 'case\tblobs_deleted\twall_s\tblobs_per_s\tpeak_rss_MiB\tfiles_before\tfiles_after\tload1\tat\tnote\n'
  cat "$results"
} | column -t -s $'\t'
