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
