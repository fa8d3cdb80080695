#!/usr/bin/env bash
# Issue 3's measurements of the scale-out backends and of a cluster (docs/benchmarks.md,
# "Scale-out"):
#
#   bench/cluster/cluster-bench.sh [backends] [nodes] [chunked]
#
#   backends  ../shared/bench/compare.sh: A = one Berth node on PostgreSQL + S3 (s3proxy on this
#             machine), B = one on SQLite + filesystem; per-figure medians and A/B ratios.
#   nodes     manifest GET/HEAD req/s through HAProxy in front of 3 nodes (A) vs in front of
#             one of them (B), same database and bucket; CPU seconds per node while each runs.
#   chunked   a 512 MiB blob pushed in 8 MiB chunks through HAProxy over 3 nodes (each PATCH
#             balanced on its own, so the chunks land on every node) vs to one node directly.
#
# With no argument all three run. PostgreSQL is Debian's (initdb/pg_ctl as the postgres user,
# fsync on), s3proxy is bench/gc/S3ProxyServer.java on the filesystem. Access control is off on
# every node (auth.enabled false) so that the two sides do the same work as the reference runs.
#
# Environment: WORK (default /tmp/berth-cluster-bench), PORT=15460 (nodes PORT..PORT+2, SQLite
# node PORT+3, HAProxy over 3 nodes PORT+4 and over one PORT+5, s3proxy PORT+6, PostgreSQL
# PORT+7), ROUNDS=3 (backends: 2), JAVA_HOME (default temurin 25). Needs ../shared/bench.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${BENCH_HOME:-$(cd "$root/../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
java="$JAVA_HOME/bin/java"
WORK=${WORK:-/tmp/berth-cluster-bench}
PORT=${PORT:-15460}
ROUNDS=${ROUNDS:-3}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(backends nodes chunked)
export BENCH_WORK="$WORK/bench"
mkdir -p "$WORK" "$BENCH_WORK"
chmod 755 "$WORK"
regbench=$("$shared/build.sh")
s3_port=$((PORT + 6))
pg_port=$((PORT + 7))
s3_key=clusterbench
s3_secret=clusterbench-secret
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pids=()
log() { echo "# $(date -u +%H:%M:%S) $*" >&2; }
cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  if [ -f "$WORK/pg/postmaster.pid" ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
wait_http() { # URL
  for _ in $(seq 1 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  return 1
}
cpu_ticks() { # PID: user + system clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---- PostgreSQL and s3proxy, fresh for every part ----
start_backends() {
  if [ -f "$WORK/pg/postmaster.pid" ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null
  fi
  rm -rf "$WORK/pg" "$WORK/pgsock"
  mkdir -p "$WORK/pg" "$WORK/pgsock"
  chown postgres "$WORK/pg" "$WORK/pgsock"
  runuser -u postgres -- "$pgbin/initdb" -D "$WORK/pg" -A trust -U berth >"$WORK/pg-init.log"
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$WORK/pg" -l "$WORK/pgsock/postgresql.log" -w \
    -o "-p $pg_port -k $WORK/pgsock -c listen_addresses=127.0.0.1 -c max_connections=200" start \
    >/dev/null
  "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U berth -d postgres -qc 'CREATE DATABASE berth'
  local cp="$WORK/s3proxy.classpath"
  if [ ! -s "$cp" ]; then
    (cd "$root/berth-testkit" && mvn -B -o -q dependency:build-classpath \
      -Dmdep.outputFile="$cp" >&2)
  fi
  if [ -n "${s3_pid:-}" ]; then kill "$s3_pid" 2>/dev/null || true; wait "$s3_pid" 2>/dev/null || true; fi
  rm -rf "$WORK/s3"
  "$java" -Dlogback.configurationFile="$root/bench/gc/s3proxy-logback.xml" -cp "$(cat "$cp")" \
    "$root/bench/gc/S3ProxyServer.java" "$WORK/s3" "$s3_port" "$s3_key" "$s3_secret" \
    >"$WORK/s3proxy.log" 2>&1 &
  s3_pid=$!
  pids+=("$s3_pid")
  for _ in $(seq 1 300); do grep -q '^s3proxy on' "$WORK/s3proxy.log" && break; sleep 0.1; done
  curl -fsS -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$s3_key:$s3_secret" "http://127.0.0.1:$s3_port/berth" >/dev/null
  log "postgresql on $pg_port ($pgbin), s3proxy on $s3_port (pid $s3_pid)"
}

node_pids=()
start_node() { # INDEX PORT pg|sqlite: starts a node, appends its pid to node_pids
  local -a env=(BERTH_AUTH_ENABLED=false BERTH_LOG_ACCESS_LOG=${access_log:-false}
    BERTH_AUDIT_CHECKPOINT_KEY=cluster-bench-checkpoint-key)
  if [ "$3" = pg ]; then
    env+=(BERTH_METADATA_URL="jdbc:postgresql://127.0.0.1:$pg_port/berth"
      BERTH_METADATA_USERNAME=berth BERTH_METADATA_PASSWORD=unused
      BERTH_STORAGE_DRIVER=s3 BERTH_STORAGE_S3_ENDPOINT="http://127.0.0.1:$s3_port"
      BERTH_STORAGE_S3_REGION=us-east-1 BERTH_STORAGE_S3_BUCKET=berth
      BERTH_STORAGE_S3_ACCESS_KEY=$s3_key BERTH_STORAGE_S3_SECRET_KEY=$s3_secret
      BERTH_STORAGE_S3_PATH_STYLE=true)
  fi
  rm -rf "$WORK/node$1"
  env "${env[@]}" "$root/bin/berth" serve --addr "127.0.0.1:$2" --data "$WORK/node$1" \
    >"$WORK/node$1.log" 2>&1 &
  local p=$!
  pids+=("$p")
  node_pids+=("$p")
  wait_http "http://127.0.0.1:$2/v2/"
}

stop_nodes() {
  for p in "${node_pids[@]:-}"; do
    [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
  done
  node_pids=()
}

start_haproxy() { # PORT NAME BACKEND_PORT...: HAProxy from config/haproxy.cfg, sets hap_pid
  local port=$1 name=$2
  shift 2
  local cfg="$WORK/haproxy-$name.cfg" i=1
  # The deployment template with the bind line and the servers replaced; no per-request log.
  sed -e "s/^\( *bind \).*/\1127.0.0.1:$port/" -e '/^ *server berth/d' -e '/^ *log /d' \
    -e '/option httplog/d' "$root/config/haproxy.cfg" >"$cfg"
  for p in "$@"; do
    echo "    server berth$i 127.0.0.1:$p check" >>"$cfg"
    i=$((i + 1))
  done
  haproxy -db -f "$cfg" >"$WORK/haproxy-$name.log" 2>&1 &
  hap_pid=$!
  pids+=("$hap_pid")
  # Every server up (rise 2, inter 1s) before measuring.
  sleep 3
  wait_http "http://127.0.0.1:$port/v2/"
}

part_backends() {
  log "backends: PostgreSQL + S3 (A) vs SQLite + filesystem (B)"
  start_backends
  start_node 1 "$PORT" pg
  local a=${node_pids[-1]}
  start_node 4 $((PORT + 3)) sqlite
  local b=${node_pids[-1]}
  PIDS_A=$a PIDS_B=$b ROUNDS=${BACKEND_ROUNDS:-2} OUT="$WORK/backends" \
    "$shared/compare.sh" "http://127.0.0.1:$PORT" "http://127.0.0.1:$((PORT + 3))" >&2
  stop_nodes
}

part_nodes() {
  log "nodes: manifest requests through HAProxy, 3 nodes (A) vs 1 node (B)"
  start_backends
  start_node 1 "$PORT" pg
  start_node 2 $((PORT + 1)) pg
  start_node 3 $((PORT + 2)) pg
  start_haproxy $((PORT + 4)) three "$PORT" $((PORT + 1)) $((PORT + 2))
  local three=$hap_pid
  start_haproxy $((PORT + 5)) one "$PORT"
  local one=$hap_pid
  local out="$WORK/nodes" r side url t0 c0 line n
  mkdir -p "$out"
  # Untimed: the manifests exist and every node's JIT has compiled the manifest paths before
  # either side is measured (otherwise the side measured first pays three warm-ups).
  for n in 0 1 2; do
    "$regbench" run -url "http://127.0.0.1:$((PORT + n))" -s manifest -seed 1 \
      -cache "$BENCH_WORK/.cache" -q -json "$out/warmup-node$((n + 1)).json" \
      >"$out/warmup-node$((n + 1)).txt" 2>&1 || log "warm-up of node $((n + 1)) had errors (see $out)"
  done
  log "nodes: warmed up"
  : >"$out/cpu.tsv"
  for r in $(seq 1 "$ROUNDS"); do
    for side in A B; do
      if [ $side = A ]; then url="http://127.0.0.1:$((PORT + 4))"; else url="http://127.0.0.1:$((PORT + 5))"; fi
      c0=()
      for p in "${node_pids[@]}" "$three" "$one" "$s3_pid"; do c0+=("$(cpu_ticks "$p")"); done
      t0=$(date +%s.%N)
      "$regbench" run -url "$url" -s manifest -round "$r" -label "$side" -seed 1 \
        -cache "$BENCH_WORK/.cache" -q -pids "$(IFS=,; echo "${node_pids[*]}")" \
        -json "$out/$side.r$r.manifest.json" >"$out/$side.r$r.manifest.txt" 2>&1 ||
        log "round $r $side had errors (see $out/$side.r$r.manifest.txt)"
      line="$r	$side	$(echo "$(date +%s.%N) - $t0" | bc)"
      local i=0
      for p in "${node_pids[@]}" "$three" "$one" "$s3_pid"; do
        line+="	$(( $(cpu_ticks "$p") - ${c0[$i]} ))"
        i=$((i + 1))
      done
      echo "$line	$(load1)" >>"$out/cpu.tsv"
      log "nodes round $r $side done"
    done
  done
  "$regbench" compare -a "$(ls "$out"/A.r*.json | tr '\n' ' ')" -b "$(ls "$out"/B.r*.json | tr '\n' ' ')" \
    -json "$out/compare.json" | tee "$out/compare.txt" >&2
  echo "round side seconds node1 node2 node3 haproxy3 haproxy1 s3proxy (CPU ticks of $(getconf CLK_TCK)/s) load1" >&2
  cat "$out/cpu.tsv" >&2
  kill "$three" "$one"
  stop_nodes
}

part_chunked() {
  log "chunked: 512 MiB in 8 MiB chunks through HAProxy over 3 nodes (A) vs to one node (B)"
  start_backends
  # The nodes log each request here, to count where the chunks went.
  access_log=true
  start_node 1 "$PORT" pg
  start_node 2 $((PORT + 1)) pg
  start_node 3 $((PORT + 2)) pg
  access_log=false
  start_haproxy $((PORT + 4)) three "$PORT" $((PORT + 1)) $((PORT + 2))
  local three=$hap_pid
  PIDS_A="$(IFS=,; echo "${node_pids[*]}")" PIDS_B=${node_pids[0]} ROUNDS=$ROUNDS \
    SCENARIOS=push-chunked SIZES=512MiB OUT="$WORK/chunked" \
    "$shared/compare.sh" "http://127.0.0.1:$((PORT + 4))" "http://127.0.0.1:$PORT" -c 1 >&2
  # Where the chunks went (through HAProxy and, on side B, straight to node 1).
  local i
  for i in 1 2 3; do
    echo "node$i: $(grep -c '"PATCH ' "$WORK/node$i.log" || true) PATCH requests" >&2
  done
  kill "$three"
  stop_nodes
}

for part in "${parts[@]}"; do
  "part_$part"
done
log "done; results under $WORK"
