#!/usr/bin/env bash
# The cold path end to end, as a user waits for it: `swiftbuild build --no-cache -o type=oci,dest=out.tar` of a
# FROM scratch image that COPYs the workload, in an empty store, next to the reference pipeline
# `tar -cf - . | pigz -p2 -6 | sha256sum` on the same files, in the same run, and GNU tar alone writing the
# uncompressed tar onto the same file system (the cost of reading the files and writing their bytes once, with no
# compression and no hashing: a floor no layer writer goes below). Reports wall time, CPU time
# (user + sys), peak RSS, and bytes written to storage per input byte (the kernel's write accounting of the
# process tree, GNU time's %O), medians of RUNS runs.
#
#   perf/cold-build.sh [WORKLOAD ...]     WORKLOAD: bigfile (512 MiB, half random, half text), smallfiles (20,000)
#   env: SB (default ../.build/release/swiftbuild: build it with `swift build -c release`), PERF (default
#        /tmp/swiftbuild-perf), RUNS (default 5), BIG_MIB (default 512)
#
# Stores, outputs and scratch go to $PERF/fs, the journaled ext4 loop file system of ../shared/perf
# (`run-peers.sh setup-fs`, done here when missing): this VM's root ext4 has no journal, which distorts
# repeated create/delete cycles. The input files are read from the page cache by both sides (a first
# unmeasured run warms it). Run as root, on a quiet machine.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$HERE/../../shared/perf}
export PERF=${PERF:-/tmp/swiftbuild-perf}
RUNS=${RUNS:-5}
BIG_MIB=${BIG_MIB:-512}
SB=${SB:-$HERE/../.build/release/swiftbuild}
FS=$PERF/fs
WORK=$PERF/cold
[ -x "$SB" ] || { echo "no swiftbuild at $SB: run swift build -c release (or set SB)" >&2; exit 1; }
mountpoint -q "$FS" || bash "$SHARED/run-peers.sh" setup-fs >/dev/null
mkdir -p "$WORK" "$FS/cold"

context() {  # context WORKLOAD -> prints the context directory (made once)
  local w=$1 dir=$WORK/$1
  if [ ! -f "$dir/Dockerfile" ]; then
    case $w in
      bigfile)
        python3 "$SHARED/gen-workloads.py" --out "$WORK/gen" --only bigfile --big-mib "$BIG_MIB" >/dev/null
        mkdir -p "$dir" && mv "$WORK/gen/bigfile/model.bin" "$dir/"
        printf 'FROM scratch\nCOPY model.bin /models/model.bin\n' > "$dir/Dockerfile" ;;
      smallfiles)
        python3 "$SHARED/gen-workloads.py" --out "$WORK/gen" --only smallfiles >/dev/null
        mkdir -p "$dir" && mv "$WORK/gen/smallfiles/tree" "$dir/"
        printf 'FROM scratch\nCOPY tree /srv/app\n' > "$dir/Dockerfile" ;;
      *) echo "unknown workload $w" >&2; exit 1 ;;
    esac
    rm -rf "$WORK/gen"
  fi
  echo "$dir"
}

# measure NAME COMMAND... -> one line: wall user sys maxrss_kib out_blocks (GNU time), appended to $WORK/NAME.runs
measure() {
  local name=$1; shift
  sync
  /usr/bin/time -f '%e %U %S %M %O' -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/$name.err" \
    || { echo "$name failed: $(tail -3 "$WORK/$name.err")" >&2; exit 1; }
  cat "$WORK/time.out" >> "$WORK/$name.runs"
}

printf '%-11s %-10s %9s %9s %10s %12s %10s\n' workload side wall_s cpu_s rss_MiB written/input vs_pipe
for w in "${@:-bigfile smallfiles}"; do
  for w in $w; do
    ctx=$(context "$w")
    input=$(du -sb --apparent-size "$ctx" | cut -f1)
    rm -f "$WORK/$w-pipe.runs" "$WORK/$w-swiftbuild.runs" "$WORK/$w-tar.runs"
    tar -C "$ctx" -cf - . > /dev/null   # page cache
    for i in $(seq 0 "$RUNS"); do
      rm -rf "$FS/cold/store" "$FS/cold/out.tar"
      measure "$w-pipe" bash -c "tar -C '$ctx' -cf - . | pigz -p2 -6 | sha256sum"
      measure "$w-swiftbuild" "$SB" build --no-cache -q --root "$FS/cold/store" -o "type=oci,dest=$FS/cold/out.tar" "$ctx"
      rm -f "$FS/cold/ref.tar"
      measure "$w-tar" tar -C "$ctx" -cf "$FS/cold/ref.tar" .
      rm -f "$FS/cold/ref.tar"
      if [ "$i" = 0 ]; then  # the warm-up run is not counted
        : > "$WORK/$w-pipe.runs"; : > "$WORK/$w-swiftbuild.runs"; : > "$WORK/$w-tar.runs"
      fi
    done
    python3 - "$w" "$input" "$WORK/$w-pipe.runs" "$WORK/$w-swiftbuild.runs" "$WORK/$w-tar.runs" <<'PY'
import statistics, sys
w, size = sys.argv[1], int(sys.argv[2])
def med(path):
    rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
    return [statistics.median(c) for c in zip(*rows)]
pipe, sb, tar = med(sys.argv[3]), med(sys.argv[4]), med(sys.argv[5])
for side, r in (("pipeline", pipe), ("swiftbuild", sb), ("tar only", tar)):
    wall, user, sys_, rss, blocks = r
    print(f"{w:<11} {side:<10} {wall:9.2f} {user + sys_:9.2f} {rss / 1024:10.1f} {blocks * 512 / size:12.2f} "
          + (f"{pipe[0] / wall:9.2f}x" if side != "pipeline" else f"{'':>10}"))
PY
  done
done
