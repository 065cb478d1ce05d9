#!/usr/bin/env bash
# Builds one of the examples in Dockerfiles/ into an OCI tarball, offline: first the busybox base image
# (FROM scratch, from Debian's busybox-static), then the example on top of it.
#
#   scripts/example.sh [EXAMPLE] [OUTPUT]
#     EXAMPLE  ml-train (default), ml-serve, multi-stage:app-ml, multi-stage:app-web, scratch
#     OUTPUT   default: EXAMPLE.oci.tar (":" becomes "-")
#   Environment: SWIFTBUILD (the binary; default .build/release/swiftbuild, else .build/debug/swiftbuild,
#   built with `swift build -c release` when neither exists), SWIFTBUILD_ROOT (the store), SOURCE_DATE_EPOCH,
#   PLATFORMS (e.g. linux/amd64,linux/arm64: the base and the example are built for each, into one image index;
#   the arm64 RUN steps run under qemu-user-static).
#
# Afterwards: skopeo inspect oci-archive:ml-train.oci.tar, podman load -i ml-train.oci.tar, or run it with
# umoci + runc (docs/kubernetes.md shows kind).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
example="${1:-ml-train}"
name="${example%%:*}"
target=""
[ "$example" != "$name" ] && target="${example#*:}"
output="${2:-${example//:/-}.oci.tar}"
[ -f "$here/Dockerfiles/$name/Dockerfile" ] || { echo "error: no example Dockerfiles/$name" >&2; exit 1; }

swiftbuild="${SWIFTBUILD:-}"
if [ -z "$swiftbuild" ]; then
  for candidate in "$here/.build/release/swiftbuild" "$here/.build/debug/swiftbuild"; do
    [ -x "$candidate" ] && { swiftbuild="$candidate"; break; }
  done
fi
if [ -z "$swiftbuild" ]; then
  echo "building swiftbuild (swift build -c release)…" >&2
  (cd "$here" && swift build -c release --product swiftbuild >&2)
  swiftbuild="$here/.build/release/swiftbuild"
fi

# Reproducible by default: the same inputs give the same digests on every machine.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1700000000}"

platform=()
[ -n "${PLATFORMS:-}" ] && platform=(--platform "$PLATFORMS")
"$here/scripts/prepare-busybox.sh" >&2
"$swiftbuild" build --progress plain "${platform[@]}" -t localhost/busybox:latest "$here/Dockerfiles/busybox"

image="localhost/${target:-$name}:latest"
args=(build --progress plain "${platform[@]}" -t "$image" -o "type=oci,dest=$output")
[ -n "$target" ] && args+=(--target "$target")
"$swiftbuild" "${args[@]}" "$here/Dockerfiles/$name"
echo "wrote $output (image $image, also in the local store: ${SWIFTBUILD_ROOT:+SWIFTBUILD_ROOT=$SWIFTBUILD_ROOT }$swiftbuild images)" >&2
