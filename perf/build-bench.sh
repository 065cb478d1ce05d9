#!/usr/bin/env bash
# Build benchmarks: swiftbuild against BuildKit (Debian's docker.io dockerd, DOCKER_BUILDKIT=1) on the
# deterministic workloads of ../shared/perf (bigfile: one 1 GiB COPY; smallfiles: 20,000 files; multistage),
# measured side by side in the same run with the shared harness (bench.py / run-peers.sh).
#
#   perf/build-bench.sh [setup] [swiftbuild] [buildkit] [table]
#     setup       apt packages (docker.io skopeo), workloads, the journaled ext4 scratch fs, the base image
#     swiftbuild  cold build, OCI export, warm rebuild, one-file change, touch (the shared `new` cycle)
#     buildkit    the same cycle with BuildKit (starts and stops its own dockerd)
#     table       medians side by side from $PERF/results/results.jsonl
#
# Needs a release build first: (cd .. && swift build -c release). Run as root. Env: PERF (default
# /tmp/swiftbuild-perf), RUNS (default 5), WORKLOADS (default "bigfile smallfiles multistage").
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$HERE/../../shared/perf}
export PERF=${PERF:-/tmp/swiftbuild-perf}
export RUNS=${RUNS:-5}
export WORKLOADS=${WORKLOADS:-"bigfile smallfiles multistage"}
SB=${SB:-$HERE/../.build/release/swiftbuild}
FS=$PERF/fs
PEERS="$SHARED/run-peers.sh"

setup() {
  command -v skopeo >/dev/null && command -v dockerd >/dev/null || apt-get install -y -qq docker.io skopeo >/dev/null
  [ -d "$PERF/ctx/bigfile" ] || python3 "$SHARED/gen-workloads.py" --out "$PERF/ctx"
  bash "$PEERS" setup-fs
  # The base image (static busybox, FROM scratch) built by swiftbuild itself, as an OCI archive both builders load.
  if [ ! -f "$PERF/bb.tar" ]; then
    local r; r=$(mktemp -d)
    "$SB" build -q --root "$r" -t localhost/bb:latest -o "type=oci,dest=$PERF/bb.tar" "$PERF/ctx/base"
    rm -rf "$r"
  fi
}

swiftbuild_cycle() {
  local store=$FS/store/swiftbuild
  export NEW_RESET="rm -rf $store && $SB load -i $PERF/bb.tar --root $store >/dev/null"
  export NEW_BUILD="$SB build -q --root $store -t localhost/%W%:latest ."
  # Export alone: the image is fully cached, so this measures writing the OCI archive.
  export NEW_EXPORT="$SB build -q --root $store -o type=oci,dest=%OUT% $PERF/ctx/%W%"
  OUT=$PERF/results/results.jsonl bash "$PEERS" new
}

buildkit_cycle() {
  bash "$PEERS" docker-start
  bash "$PEERS" docker || true
  bash "$PEERS" docker-stop
}

table() {
  python3 - "$PERF/results/results.jsonl" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("rc") == [0]:
        rows[r["name"]] = r["wall"]["median"]
def get(prefix, w, phase):
    return rows.get(f"{prefix}-{w}-{phase}")
print(f"{'workload':<11} {'phase':<14} {'swiftbuild':>11} {'BuildKit':>9} {'ratio':>6}")
for w in ["bigfile", "smallfiles", "multistage"]:
    for phase in ["cold", "export", "warm", "change", "touch"]:
        a, b = get("new", w, phase), get("docker-buildkit", w, phase)
        if a is None and b is None: continue
        ratio = f"{a/b:.2f}" if a and b else "-"
        fa = f"{a:.3f}s" if a is not None else "-"
        fb = f"{b:.3f}s" if b is not None else "-"
        print(f"{w:<11} {phase:<14} {fa:>11} {fb:>9} {ratio:>6}")
PY
}

for section in "${@:-setup swiftbuild buildkit table}"; do
  for s in $section; do
    case $s in
      setup) setup ;;
      swiftbuild) swiftbuild_cycle ;;
      buildkit) buildkit_cycle ;;
      table) table ;;
      *) echo "unknown section $s" >&2; exit 2 ;;
    esac
  done
done
