#!/usr/bin/env bash
# Pull time of one 3 GiB step layer from a loopback registry, split (`-o …,split-layers=SIZE`) and not
# (`split-layers=0`), with skopeo (containers/image fetches up to 6 layers at once), side by side in one run.
#
#   perf/split-pull.sh
#   env: SB (default ../.build/release/swiftbuild), PERF (default /tmp/swiftbuild-perf), RUNS (default 3),
#        SPLIT (default 512MiB), FILES (default 24) × FILE_MIB (default 128): the layer's files (random bytes,
#        so the layer is about as big compressed)
#
# Needs Debian's docker-registry and skopeo, as root. Stores, the registry's storage and the pulled copies live
# on the journaled loop file system of ../shared/perf (`run-peers.sh setup-fs`, done here when missing).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$HERE/../../shared/perf}
export PERF=${PERF:-/tmp/swiftbuild-perf}
SB=${SB:-$HERE/../.build/release/swiftbuild}
RUNS=${RUNS:-3}
SPLIT=${SPLIT:-512MiB}
FILES=${FILES:-24}
FILE_MIB=${FILE_MIB:-128}
FS=$PERF/fs
WORK=$FS/split-pull
PORT=5055
[ -x "$SB" ] || { echo "no swiftbuild at $SB: run swift build -c release (or set SB)" >&2; exit 1; }
command -v skopeo >/dev/null && [ -x /usr/bin/docker-registry ] || { echo "needs skopeo and docker-registry" >&2; exit 1; }
mountpoint -q "$FS" || bash "$SHARED/run-peers.sh" setup-fs >/dev/null
rm -rf "$WORK" && mkdir -p "$WORK/ctx/weights" "$WORK/registry"

for i in $(seq 1 "$FILES"); do head -c "$((FILE_MIB << 20))" /dev/urandom > "$WORK/ctx/weights/part-$i.bin"; done
printf 'FROM scratch\nCOPY weights /weights\nCOPY Dockerfile /Dockerfile\n' > "$WORK/ctx/Dockerfile"

# The realworld set's registry config, its address and storage given through the environment.
REGISTRY_HTTP_ADDR=127.0.0.1:$PORT REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$WORK/registry/data" \
  /usr/bin/docker-registry serve "$HERE/realworld/registry/config.yml" >"$WORK/registry/log" 2>&1 &
REGISTRY_PID=$!
trap 'kill $REGISTRY_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done

# Both images built and pushed; the split one's COPY is several layers.
for side in unsplit split; do
  size=0; [ "$side" = split ] && size=$SPLIT
  "$SB" build -q --root "$WORK/store" -t "127.0.0.1:$PORT/bench/$side:1" \
    -o "type=oci,dest=$WORK/$side.tar,split-layers=$size" --push "$WORK/ctx" >/dev/null
  layers=$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$PORT/bench/$side:1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Layers"]))')
  echo "$side: $layers layers" >&2
done

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
printf '%-8s %7s %9s\n' side layers pull_s
for side in unsplit split; do
  : > "$WORK/$side.times"
  for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/pulled"; sync
    start=$(date +%s.%N)
    skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$PORT/bench/$side:1" "dir:$WORK/pulled"
    end=$(date +%s.%N)
    echo "$end - $start" | bc >> "$WORK/$side.times"
  done
  layers=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["layers"]))' "$WORK/pulled/manifest.json")
  printf '%-8s %7s %9.2f\n' "$side" "$layers" "$(median < "$WORK/$side.times")"
done
rm -rf "$WORK/pulled" "$WORK/ctx/weights"
