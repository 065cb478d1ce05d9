#!/usr/bin/env bash
# Prepares the context of Dockerfiles/swiftbuild: an image of swiftbuild and exactly the runtime files it needs,
# taken from this machine (no registry, no package manager in the image):
#   rootfs/  the binary (/usr/local/bin/swiftbuild), every shared library it and libcurl (loaded when a registry is
#            used) link, newuidmap/newgidmap (setuid, for rootless builds with subordinate ids), the CA bundle,
#            /etc/passwd and /etc/group with the user `build` (1000), /etc/subuid and /etc/subgid, /tmp
#   home/    the user's home, /home/build (copied with --chown=1000:1000)
# Usage: scripts/prepare-swiftbuild-image.sh [CONTEXT_DIR] [SWIFTBUILD_BINARY]
#   defaults: Dockerfiles/swiftbuild, .build/release/swiftbuild (build it with `swift build -c release`)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
context="${1:-$here/Dockerfiles/swiftbuild}"
binary="${2:-$here/.build/release/swiftbuild}"
[ -x "$binary" ] || { echo "error: $binary is not built: run swift build -c release --product swiftbuild" >&2; exit 1; }
# (awk reads all of ldconfig's output: an early exit would kill ldconfig with SIGPIPE, which pipefail reports.)
curl_library="$(ldconfig -p | awk '/libcurl\.so\.4 .*(x86-64|AArch64)/ && !found {found = $NF} END {print found}')"
[ -n "$curl_library" ] || { echo "error: libcurl4 is not installed (scripts/setup.sh)" >&2; exit 1; }
for tool in /usr/bin/newuidmap /usr/bin/newgidmap; do
  [ -x "$tool" ] || { echo "error: $tool is missing: apt-get install uidmap" >&2; exit 1; }
done

rootfs="$context/rootfs"
rm -rf "$rootfs" "$context/home"
mkdir -p "$rootfs"/{usr/local/bin,usr/bin,etc/ssl/certs,tmp} "$context/home/build/.local/share/swiftbuild"
chmod 1777 "$rootfs/tmp"

# copy_file PATH: the file at the same path in the image (symbolic links followed, so each name is a file).
copy_file() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L "$1" "$rootfs$1"
}
cp "$binary" "$rootfs/usr/local/bin/swiftbuild"
install -m 4755 /usr/bin/newuidmap "$rootfs/usr/bin/newuidmap"
install -m 4755 /usr/bin/newgidmap "$rootfs/usr/bin/newgidmap"
# Every library the binaries and libcurl load, at the path the loader finds it (RUNPATH, ld.so's defaults).
for object in "$binary" "$curl_library" /usr/bin/newuidmap; do
  copy_file "$object" 2>/dev/null || true
  ldd "$object" | awk '/=> \// {print $3} /^[ \t]*\/lib/ {print $1}' | while read -r library; do
    copy_file "$library"
  done
done
rm -f "$rootfs$binary"   # the binary itself lives at /usr/local/bin
copy_file /etc/ssl/certs/ca-certificates.crt

cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
build:x:1000:1000:build:/home/build:/usr/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
build:x:1000:
GROUP
# Subordinate ids for rootless builds: ids 1-65536 of the build's namespace are host ids 100000-165535 (in a pod
# with hostUsers: false, ids of the pod's own user namespace).
echo "build:100000:65536" > "$rootfs/etc/subuid"
echo "build:100000:65536" > "$rootfs/etc/subgid"
# Fixed mtimes, so the image is the same for the same binary and libraries.
find "$rootfs" "$context/home" -exec touch -h -d @0 {} +
echo "prepared $context ($(du -sh "$rootfs" | cut -f1) in rootfs/)"
