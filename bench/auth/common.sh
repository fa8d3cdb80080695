# Shared by auth-bench.sh and auth-modes.sh (sourced): needs BASE, WORK and PASSWORD set.

# Pushes a small image as library repository "bench" (public), tag v1, as admin.
push_image() {
  local auth=(-u "admin:$PASSWORD") f d config_digest config_size layer_digest layer_size
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$WORK/config"
  head -c 2048 /dev/urandom > "$WORK/layer"
  for f in config layer; do
    d=sha256:$(sha256sum "$WORK/$f" | cut -d' ' -f1)
    curl -sf "${auth[@]}" -X POST -H 'Content-Type: application/octet-stream' \
      --data-binary @"$WORK/$f" "$BASE/v2/bench/blobs/uploads/?digest=$d" > /dev/null
    eval "${f}_digest=$d; ${f}_size=$(stat -c %s "$WORK/$f")"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" > "$WORK/manifest"
  curl -sf "${auth[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$WORK/manifest" "$BASE/v2/bench/manifests/v1" > /dev/null
}

# Creates the user alice (password alice-password) as admin.
create_alice() {
  curl -sf -u "admin:$PASSWORD" -H 'Content-Type: application/json' \
    -d '{"username":"alice","password":"alice-password"}' "$BASE/api/v1/users" > /dev/null
}

# Waits up to 20 s for Berth at $1 (a base URL) to answer /v2/ with 401 (access control on).
wait_for_berth() {
  local code
  for _ in $(seq 1 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$1/v2/" || true)
    [ "$code" = 401 ] && return 0
    sleep 0.1
  done
}

# Stops the servers whose process ids are the values of the associative array pids, and empties
# it.
stop_servers() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

# CPU ticks per thread kind of process $1 (thread names without digits), "kind<TAB>ticks".
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s\t%s\n' "$(tr -d '0-9' < "$t/comm" | tr ' ' _)" "$(awk '{print $14 + $15}' "$t/stat")"
  done 2>/dev/null | awk -F'\t' '{s[$1] += $2} END {for (k in s) print k "\t" s[k]}' | sort
}

# Server CPU ticks (user + system) of process $1 so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# An awk function: the median of a[1..n] (sorts a in place).
MEDIAN_AWK='
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }'
