#!/usr/bin/env bash
# make-base.sh: the Debian bookworm base image of the real-world set.
#
#   1. debootstrap --variant=minbase bookworm $RW_WORK/base/rootfs http://deb.debian.org/debian
#      (kept between runs; FORCE_DEBOOTSTRAP=1 makes it anew)
#   2. builds base/Dockerfile (FROM scratch, COPY rootfs/ /, CMD ["bash"]) on that context with swiftbuild
#      (empty store) and with BuildKit (pruned), timing both, and saves both images under $RW_WORK/out
#   3. pushes one of them as $REGISTRY/realworld/debian:bookworm (BASE_BUILDER=swiftbuild, the default, or
#      buildkit) and the other as …:bookworm-OTHER, so that both builders' next steps pull the same bytes
#   4. compares the two images' trees and configs with scripts/differential/describe.py
#
# Run as root. Needs: debootstrap docker.io docker-registry (apt-get install), a swiftbuild binary.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BASE_BUILDER="${BASE_BUILDER:-swiftbuild}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
ctx="$RW_WORK/base"
out="$RW_WORK/out"
results="$RW_WORK/results-base.tsv"
mkdir -p "$ctx" "$out" "$RW_WORK/logs"
: > "$results"

ensure_registry
ensure_dockerd

# 1. debootstrap
if [ "${FORCE_DEBOOTSTRAP:-0}" = 1 ] || [ ! -e "$ctx/rootfs.complete" ]; then
  command -v debootstrap >/dev/null || die "no debootstrap: apt-get install debootstrap"
  rm -rf "$ctx/rootfs" "$ctx/rootfs.complete"
  log "debootstrap --variant=minbase bookworm $ctx/rootfs $MIRROR"
  start="$(now)"
  debootstrap --variant=minbase bookworm "$ctx/rootfs" "$MIRROR" > "$RW_WORK/logs/debootstrap.log" 2>&1 \
    || { tail -n 20 "$RW_WORK/logs/debootstrap.log" >&2; die "debootstrap failed"; }
  # Left by the bootstrap itself, of no use in an image (apt's package caches are rebuilt on the
  # first apt-get update): keeps the base smaller, not needed for the comparison.
  rm -rf "$ctx/rootfs/var/cache/apt/"*.bin "$ctx/rootfs/var/cache/apt/archives/"*.deb
  touch "$ctx/rootfs.complete"
  log "debootstrap: $(python3 -c "print('%.1f' % ($(now) - $start))") s, $(du -sh "$ctx/rootfs" | cut -f1)"
fi
cp "$HERE/base/Dockerfile" "$ctx/Dockerfile"

other=buildkit; [ "$BASE_BUILDER" = buildkit ] && other=swiftbuild
tag_of() { if [ "$1" = "$BASE_BUILDER" ]; then echo bookworm; else echo "bookworm-$1"; fi; }
sb_tag="$REGISTRY/realworld/debian:$(tag_of swiftbuild)"
bk_tag="$REGISTRY/realworld/debian:$(tag_of buildkit)"

# 2. swiftbuild: an empty store of its own
store="$RW_WORK/stores/base"
rm -rf "$store"
timed "$results" swiftbuild base build 1 "$RW_WORK/logs/base-swiftbuild.log" -- \
  "$SWIFTBUILD" build --root "$store" -f "$ctx/Dockerfile" -t "$sb_tag" --progress plain "$ctx"
timed "$results" swiftbuild base save 1 "$RW_WORK/logs/base-swiftbuild-save.log" -- \
  "$SWIFTBUILD" save --root "$store" -o "$out/base-swiftbuild.tar" "$sb_tag"
timed "$results" swiftbuild base push 1 "$RW_WORK/logs/base-swiftbuild-push.log" -- \
  "$SWIFTBUILD" push --root "$store" "$sb_tag"

# 2. BuildKit: nothing of an earlier run left
$DOCKER rmi -f "$bk_tag" >/dev/null 2>&1 || true
$DOCKER builder prune -af >/dev/null
timed "$results" buildkit base build 1 "$RW_WORK/logs/base-buildkit.log" -- \
  $DOCKER build --progress plain -f "$ctx/Dockerfile" -t "$bk_tag" "$ctx"
timed "$results" buildkit base save 1 "$RW_WORK/logs/base-buildkit-save.log" -- \
  $DOCKER save -o "$out/base-buildkit.tar" "$bk_tag"
timed "$results" buildkit base push 1 "$RW_WORK/logs/base-buildkit-push.log" -- \
  $DOCKER push "$bk_tag"
# The BuildKit side pulls the base from the registry like the swiftbuild side: no local copy left.
$DOCKER rmi -f "$bk_tag" >/dev/null

# 4. compare
python3 "$DESCRIBE" "$out/base-swiftbuild.tar" > "$out/base-swiftbuild.json"
python3 "$DESCRIBE" "$out/base-buildkit.tar" > "$out/base-buildkit.json"
if python3 "$DESCRIBE" --diff "$out/base-swiftbuild.json" "$out/base-buildkit.json" > "$out/base.diff"; then
  log "base: swiftbuild and BuildKit images describe the same (files, config, history)"
else
  log "base: the two images differ, see $out/base.diff ($(grep -c '^[-+][^-+]' "$out/base.diff" || true) lines)"
fi
python3 "$HERE/compare.py" "$out/base-swiftbuild.json" "$out/base-buildkit.json" --ignore "$HERE/ignore.tsv" \
  > "$out/base-compare.txt" || true
cat "$out/base-compare.txt" >&2
for side in swiftbuild buildkit; do
  tag="$(tag_of $side)"
  log "base $side -> realworld/debian:$tag: $(manifest_sizes realworld/debian "$tag" | awk '{print $1 " compressed layer bytes, " $2 " layers"}')"
done
column -t -s $'\t' "$results" >&2
