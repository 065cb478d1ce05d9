#!/usr/bin/env bash
# run.sh [PHASE...]: the real-world builds with swiftbuild and with BuildKit, timed, then compared.
#
# Phases (default: python ml-app compare summary; make-base.sh must have run first):
#   python   python/Dockerfile FROM $REGISTRY/realworld/debian:bookworm, cold (the base pulled from the
#            registry) on both sides, PY_RUNS times (default $RUNS); each build is saved to $RW_WORK/out
#            (export) and pushed (push): PYTHON_BUILDER's (default swiftbuild) as realworld/python:3.11,
#            the other's as realworld/python:3.11-OTHER; the last run's images are the ones kept
#   ml-app   ml-app/ FROM $REGISTRY/realworld/python:3.11 on a copy of the context, RUNS times (default 3)
#            per side: cold (empty store / pruned daemon: the base is pulled), export (swiftbuild save /
#            docker save), push (swiftbuild push / docker push as realworld/ml-app:swiftbuild and
#            :buildkit; the registry has the base layers already, the ml-app layers are new each run),
#            warm (nothing changed), code (app.py edited), requirements (six added to requirements.txt);
#            $RW_WORK/out keeps the images of the last cold builds (unchanged context)
#   compare  describe.py of both sides' python and ml-app images (--base the image below them), the raw
#            diff, and compare.py with ignore.tsv (the differences that are expected, and why)
#   summary  medians and sizes into $RW_WORK/out/summary.md
#   breakdown  one cold ml-app build per side with timestamps around pip inside the RUN step: how much
#            of the step is pip and how much the builder (out/breakdown.txt)
#   smoke    loads both ml-app images into dockerd, runs each with uvicorn and asks /health and /predict
#
# BuildKit's cold builds remove every image and all build cache of the dockerd they use: lib.sh starts
# one of its own unless DOCKER_HOST is set, and then run.sh refuses unless RW_PRUNE_SHARED=1.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUNS="${RUNS:-3}"
PY_RUNS="${PY_RUNS:-$RUNS}"
PYTHON_BUILDER="${PYTHON_BUILDER:-swiftbuild}"
BASE_BUILDER="${BASE_BUILDER:-swiftbuild}"
out="$RW_WORK/out"
logs="$RW_WORK/logs"
results="$RW_WORK/results.tsv"
mkdir -p "$out" "$logs"
shared_dockerd=0
[ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$RW_WORK/dockerd/docker.sock" ] && shared_dockerd=1

ensure_registry
ensure_dockerd

# forget IMAGE: drops the earlier figures of IMAGE from the results (a phase run again replaces them).
forget() {
  [ -f "$results" ] || return 0
  awk -F'\t' -v image="$1" '$2 != image' "$results" > "$results.tmp" && mv "$results.tmp" "$results"
}

py_tag() { if [ "$1" = "$PYTHON_BUILDER" ]; then echo 3.11; else echo "3.11-$1"; fi; }
base_ref="$REGISTRY/realworld/debian:bookworm"
python_ref="$REGISTRY/realworld/python:3.11"

# Everything off the dockerd: images and build cache (the BuildKit side's empty store).
bk_reset() {
  if [ "$shared_dockerd" = 1 ] && [ "${RW_PRUNE_SHARED:-0}" != 1 ]; then
    die "DOCKER_HOST=$DOCKER_HOST is not run.sh's own dockerd: set RW_PRUNE_SHARED=1 to let run.sh prune it"
  fi
  local images
  images="$($DOCKER images -aq | sort -u)"
  [ -z "$images" ] || $DOCKER rmi -f $images >/dev/null 2>&1 || true
  $DOCKER builder prune -af >/dev/null
}

sb_build() {  # STORE TAG CONTEXT [extra flags]
  local store="$1" tag="$2" ctx="$3"
  shift 3
  "$SWIFTBUILD" build --root "$store" --progress plain --build-arg "REGISTRY=$REGISTRY" -t "$tag" "$@" "$ctx"
}

bk_build() {  # TAG CONTEXT [extra flags]
  local tag="$1" ctx="$2"
  shift 2
  $DOCKER build --progress plain --network host --build-arg "REGISTRY=$REGISTRY" -t "$tag" "$@" "$ctx"
}

phase_python() {
  curl -fsS "http://$REGISTRY/v2/realworld/debian/manifests/bookworm" -o /dev/null \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    || die "no $base_ref in the registry: run make-base.sh first"
  forget python
  local store="$RW_WORK/stores/python" sb_tag="$REGISTRY/realworld/python:$(py_tag swiftbuild)"
  local bk_tag="$REGISTRY/realworld/python:$(py_tag buildkit)" run
  for run in $(seq "$PY_RUNS"); do
    rm -rf "$store"
    timed "$results" swiftbuild python cold "$run" "$logs/python-swiftbuild-$run.log" -- \
      sb_build "$store" "$sb_tag" "$HERE/python"
    timed "$results" swiftbuild python export "$run" "$logs/python-swiftbuild-save-$run.log" -- \
      "$SWIFTBUILD" save --root "$store" -o "$out/python-swiftbuild.tar" "$sb_tag"
    timed "$results" swiftbuild python push "$run" "$logs/python-swiftbuild-push-$run.log" -- \
      "$SWIFTBUILD" push --root "$store" "$sb_tag"
    bk_reset
    timed "$results" buildkit python cold "$run" "$logs/python-buildkit-$run.log" -- \
      bk_build "$bk_tag" "$HERE/python"
    timed "$results" buildkit python export "$run" "$logs/python-buildkit-save-$run.log" -- \
      $DOCKER save -o "$out/python-buildkit.tar" "$bk_tag"
    timed "$results" buildkit python push "$run" "$logs/python-buildkit-push-$run.log" -- \
      $DOCKER push "$bk_tag"
  done
  bk_reset
}

reset_context() {
  rm -rf "$RW_WORK/ml-app-ctx"
  cp -a "$HERE/ml-app" "$RW_WORK/ml-app-ctx"
}

code_change() { sed -i "s/^VERSION = .*/VERSION = \"code-change-$1\"/" "$RW_WORK/ml-app-ctx/app.py"; }
requirements_change() { printf 'six==1.17.0\n' >> "$RW_WORK/ml-app-ctx/requirements.txt"; }

# ml_side SIDE RUN: one run of the ml-app scenarios on one side.
ml_side() {
  local side="$1" run="$2" store="$RW_WORK/stores/ml-app" ctx="$RW_WORK/ml-app-ctx"
  local tag="$REGISTRY/realworld/ml-app:$side" secret=(--secret "id=ca,src=$CA_BUNDLE")
  local archive="$out/ml-app-$side.tar"  # (timed's own $out is its log file: the functions below use $archive)
  reset_context
  if [ "$side" = swiftbuild ]; then
    rm -rf "$store"   # an empty store: the base is pulled from the registry
    build() { sb_build "$store" "$1" "$ctx" "${secret[@]}"; }
    save() { "$SWIFTBUILD" save --root "$store" -o "$archive" "$tag"; }
    push() { "$SWIFTBUILD" push --root "$store" "$tag"; }
  else
    bk_reset          # no image and no build cache on the daemon
    build() { bk_build "$1" "$ctx" "${secret[@]}"; }
    save() { $DOCKER save -o "$archive" "$tag"; }
    push() { $DOCKER push "$tag"; }
  fi
  timed "$results" "$side" ml-app cold "$run" "$logs/ml-app-$side-cold-$run.log" -- build "$tag"
  timed "$results" "$side" ml-app export "$run" "$logs/ml-app-$side-save-$run.log" -- save
  timed "$results" "$side" ml-app push "$run" "$logs/ml-app-$side-push-$run.log" -- push
  timed "$results" "$side" ml-app warm "$run" "$logs/ml-app-$side-warm-$run.log" -- build "$tag"
  code_change "$run"
  timed "$results" "$side" ml-app code "$run" "$logs/ml-app-$side-code-$run.log" -- build "$tag-code"
  requirements_change
  timed "$results" "$side" ml-app requirements "$run" "$logs/ml-app-$side-requirements-$run.log" -- \
    build "$tag-requirements"
}

phase_ml_app() {
  forget ml-app
  local run
  for run in $(seq "$RUNS"); do
    # The order alternates, so that neither side always runs right after the other's writes.
    if [ $((run % 2)) = 1 ]; then
      ml_side swiftbuild "$run"; ml_side buildkit "$run"
    else
      ml_side buildkit "$run"; ml_side swiftbuild "$run"
    fi
  done
  # $out keeps the last cold builds' images, from the unchanged context.
}

# describe_pair NAME BASE_ARCHIVE: describes both sides' NAME images against the base, diffs them.
describe_pair() {
  local name="$1" base="$2" side
  for side in swiftbuild buildkit; do
    python3 "$DESCRIBE" "$out/$name-$side.tar" --base "$base" > "$out/$name-$side.json"
  done
  python3 "$DESCRIBE" --diff "$out/$name-swiftbuild.json" "$out/$name-buildkit.json" > "$out/$name.diff" || true
  log "$name: raw diff $out/$name.diff ($(grep -c '^[-+][^-+]' "$out/$name.diff" || true) lines)"
  python3 "$HERE/compare.py" "$out/$name-swiftbuild.json" "$out/$name-buildkit.json" \
    --ignore "$HERE/ignore.tsv" > "$out/$name-compare.txt" || true
  python3 "$HERE/pyc-check.py" "$out/$name-swiftbuild.tar" "$out/$name-buildkit.tar" >> "$out/$name-compare.txt" || true
  cat "$out/$name-compare.txt" >&2
}

phase_compare() {
  # The bases below each image: the ones both sides pulled (the registry's canonical tags).
  [ -f "$out/base-$BASE_BUILDER.tar" ] || die "no $out/base-$BASE_BUILDER.tar: run make-base.sh"
  [ -f "$out/python-$PYTHON_BUILDER.tar" ] || die "no $out/python-$PYTHON_BUILDER.tar: run the python phase"
  describe_pair python "$out/base-$BASE_BUILDER.tar"
  describe_pair ml-app "$out/python-$PYTHON_BUILDER.tar"
}

phase_summary() {
  {
    echo "# real-world figures ($(date -u +%Y-%m-%dT%H:%MZ), RUNS=$RUNS, PY_RUNS=$PY_RUNS)"
    echo
    python3 - "$results" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
cells, busy = {}, {}
by_run = {}
for side, image, phase, run, seconds, before, after, peak in rows:
    cells.setdefault((image, phase), {}).setdefault(side, []).append(float(seconds))
    loaded = any(int(part.split("=")[1]) > 0 for part in (before + " " + after + " " + peak).split() if "others=" in part)
    busy.setdefault((image, phase, side), []).append(loaded)
    by_run[(side, image, phase, run)] = (float(seconds), loaded)
# cold build + push: what a CI job that builds and pushes spends (per run, then the median)
for (side, image, phase, run), (seconds, loaded) in sorted(by_run.items()):
    if phase == "cold" and (side, image, "push", run) in by_run:
        push, push_loaded = by_run[(side, image, "push", run)]
        cells.setdefault((image, "cold+push"), {}).setdefault(side, []).append(seconds + push)
        busy.setdefault((image, "cold+push", side), []).append(loaded or push_loaded)
print("| image | phase | swiftbuild s | BuildKit s | ratio | runs | swiftbuild runs (all) | BuildKit runs (all) |")
print("|---|---|---:|---:|---:|---:|---|---|")
for (image, phase), sides in cells.items():
    sb, bk = sides.get("swiftbuild", []), sides.get("buildkit", [])
    msb = statistics.median(sb) if sb else None
    mbk = statistics.median(bk) if bk else None
    ratio = "%.2f" % (msb / mbk) if msb and mbk else ""
    def runs(side, values):
        flags = busy.get((image, phase, side), [])
        return " ".join("%.2f%s" % (v, "*" if f else "") for v, f in zip(values, flags))
    print("| %s | %s | %s | %s | %s | %d | %s | %s |" % (
        image, phase, "%.2f" % msb if msb is not None else "", "%.2f" % mbk if mbk is not None else "",
        ratio, max(len(sb), len(bk)), runs("swiftbuild", sb), runs("buildkit", bk)))
print()
print("`*`: another job loaded the machine during that run (a Swift compiler, or a swiftbuild process "
      "that is not this run's, seen by the once-a-second sampler of lib.sh).")
PY
    echo
    echo "| image | side | compressed layer bytes (all layers) | layers | own layers' bytes (not the base's) | own layers |"
    echo "|---|---|---:|---:|---:|---:|"
    local line
    for spec in "debian bookworm" "debian bookworm-buildkit" "python 3.11" "python 3.11-buildkit" \
                "ml-app swiftbuild" "ml-app buildkit"; do
      set -- $spec
      case "$1:$2" in
        debian:*) line="$(manifest_sizes realworld/debian "$2" 2>/dev/null || true)";;
        python:*) line="$(manifest_sizes realworld/python "$2" realworld/debian bookworm 2>/dev/null || true)";;
        ml-app:*) line="$(manifest_sizes realworld/ml-app "$2" realworld/python 3.11 2>/dev/null || true)";;
      esac
      [ -n "$line" ] && echo "| $1 | $2 | $(echo "$line" | awk '{print $1 " | " $2 " | " $3 " | " $4}') |"
    done
  } > "$out/summary.md"
  cat "$out/summary.md"
}

# breakdown: one cold ml-app build per side with timestamps printed around pip inside the RUN step, to
# split the step into pip's own time and the builder's (swiftbuild: the layer's tar, SHA-256 and gzip
# are written within the step; BuildKit: the step ends with the container, its "exporting layers" makes
# the uncompressed diff, and docker push compresses later).
phase_breakdown() {
  local ctx="$RW_WORK/breakdown-ctx" store="$RW_WORK/stores/breakdown"
  local sb_tag="$REGISTRY/realworld/ml-app:breakdown-swiftbuild" bk_tag="$REGISTRY/realworld/ml-app:breakdown-buildkit"
  local secret=(--secret "id=ca,src=$CA_BUNDLE") bresults="$RW_WORK/results-breakdown.tsv"
  rm -rf "$ctx"
  cp -a "$HERE/ml-app" "$ctx"
  python3 - "$ctx/Dockerfile" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = "PIP_CERT=/etc/ssl/certs/ca-certificates.crt pip install --no-cache-dir -r requirements.txt"
assert old in text
text = text.replace(old, 'echo "pip-start $(date +%s.%N)" && ' + old + ' && echo "pip-end $(date +%s.%N)"')
open(path, "w").write(text)
PY
  : > "$bresults"
  rm -rf "$store"
  timed "$bresults" swiftbuild ml-app breakdown 1 "$logs/breakdown-swiftbuild.log" -- \
    sb_build "$store" "$sb_tag" "$ctx" "${secret[@]}"
  bk_reset
  timed "$bresults" buildkit ml-app breakdown 1 "$logs/breakdown-buildkit.log" -- \
    bk_build "$bk_tag" "$ctx" "${secret[@]}"
  python3 - "$logs/breakdown-swiftbuild.log" "$logs/breakdown-buildkit.log" <<'PY' | tee "$out/breakdown.txt"
import re, sys
for side, path in zip(("swiftbuild", "buildkit"), sys.argv[1:]):
    text = open(path).read()
    start = float(re.search(r"pip-start (\d+\.\d+)", text).group(1))
    end = float(re.search(r"pip-end (\d+\.\d+)", text).group(1))
    step = re.search(r"^#(\d+) \[[^\]]*\] RUN ", text, re.M).group(1)
    done = float(re.search(r"^#%s DONE (\d+\.\d+)s" % step, text, re.M).group(1))
    export = re.search(r"exporting layers (\d+\.\d+)s done", text)
    total = re.search(r"^#0 DONE (\d+\.\d+)s", text, re.M)
    line = "%-10s RUN step %.1f s = pip %.1f s + the rest %.1f s" % (side, done, end - start, done - (end - start))
    if export:
        line += "; then exporting layers %.1f s" % float(export.group(1))
    print(line)
PY
}

phase_smoke() {
  local side image port=18080
  "$SWIFTBUILD" save --root "$RW_WORK/stores/ml-app" --format docker -o "$out/ml-app-swiftbuild-docker.tar" \
    "$REGISTRY/realworld/ml-app:swiftbuild"
  $DOCKER load -i "$out/ml-app-swiftbuild-docker.tar" >/dev/null
  $DOCKER image inspect "$REGISTRY/realworld/ml-app:buildkit" >/dev/null 2>&1 || $DOCKER pull "$REGISTRY/realworld/ml-app:buildkit" >/dev/null
  for side in swiftbuild buildkit; do
    image="$REGISTRY/realworld/ml-app:$side"
    port=$((port + 1))
    $DOCKER rm -f "rw-smoke-$side" >/dev/null 2>&1 || true
    $DOCKER run -d --name "rw-smoke-$side" --network host "$image" \
      uvicorn app:app --host 127.0.0.1 --port "$port" >/dev/null
    local ok=0
    for _ in $(seq 60); do
      curl -fsS "http://127.0.0.1:$port/health" > "$out/smoke-$side.txt" 2>/dev/null && { ok=1; break; }
      sleep 0.5
    done
    if [ "$ok" = 1 ]; then
      curl -fsS -X POST "http://127.0.0.1:$port/predict" -H 'content-type: application/json' \
        -d '{"a": 1, "b": 2, "c": 0}' >> "$out/smoke-$side.txt"
      log "smoke $side: $(tr '\n' ' ' < "$out/smoke-$side.txt")"
    else
      log "smoke $side: no answer; container log:"; $DOCKER logs "rw-smoke-$side" 2>&1 | tail -n 20 >&2
    fi
    $DOCKER rm -f "rw-smoke-$side" >/dev/null
  done
}

phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(python ml-app compare summary)
for phase in "${phases[@]}"; do
  log "phase $phase"
  case "$phase" in
    python) phase_python;;
    ml-app) phase_ml_app;;
    compare) phase_compare;;
    summary) phase_summary;;
    smoke) phase_smoke;;
    breakdown) phase_breakdown;;
    *) die "unknown phase $phase (python ml-app compare summary smoke breakdown)";;
  esac
done
