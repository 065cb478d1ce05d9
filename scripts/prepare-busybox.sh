#!/usr/bin/env bash
# Prepares the context of Dockerfiles/busybox (a base image FROM scratch) from Debian's busybox-static: for each
# architecture, rootfs-ARCH/ with /bin/busybox, one symlink per applet, a minimal /etc/passwd and /etc/group, and
# the usual directories. The host's architecture always; arm64 too when Debian's busybox-static arm64 package is
# in $SWIFTBUILD_TEST_FIXTURES (default /var/cache/swiftbuild-tests; scripts/setup.sh downloads it), so that
# `swiftbuild --platform linux/amd64,linux/arm64 Dockerfiles/busybox` makes a two-platform base.
# Usage: scripts/prepare-busybox.sh [CONTEXT_DIR [--host-rootfs]]   (default: Dockerfiles/busybox)
#   --host-rootfs: only the host's architecture, as rootfs/ (the differential corpus's base, recorded so).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
context="${1:-$here/Dockerfiles/busybox}"
fixtures="${SWIFTBUILD_TEST_FIXTURES:-/var/cache/swiftbuild-tests}"
single=no
[ "${2:-}" = --host-rootfs ] && single=yes
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || {
  echo "error: $busybox is missing or not busybox-static: run scripts/setup.sh (apt-get install busybox-static)" >&2
  exit 1
}

# prepare ARCH BINARY: the root file system of one architecture.
prepare() {
  local arch="$1" binary="$2"
  local rootfs="$context/rootfs-$arch"
  [ "$single" = yes ] && rootfs="$context/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,etc,tmp,root,home/app,srv,var/www,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  chmod 700 "$rootfs/root"
  cp "$binary" "$rootfs/bin/busybox"
  chmod 755 "$rootfs/bin/busybox"
  # The host's busybox lists the applets: the packages of one Debian release are built from the same config.
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
PASSWD
  cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
app:x:1000:
GROUP
  chown 1000:1000 "$rootfs/home/app" 2>/dev/null || true
  # Fixed mtimes, so the base image is the same on every machine with the same busybox package.
  find "$rootfs" -exec touch -h -d @0 {} +
  echo "prepared $rootfs"
}

host="$(dpkg --print-architecture)"
[ "$single" = yes ] || rm -rf "$context/rootfs"   # the single-architecture layout of earlier versions
prepare "$host" "$busybox"
if [ "$single" = no ] && [ "$host" != arm64 ]; then
  deb="$(ls "$fixtures"/busybox-static_*_arm64.deb 2>/dev/null | tail -1 || true)"
  if [ -n "$deb" ]; then
    unpacked="$(mktemp -d)"
    dpkg-deb -x "$deb" "$unpacked"
    prepare arm64 "$unpacked/bin/busybox"
    rm -rf "$unpacked"
  fi
fi
echo "busybox: $("$busybox" | head -1)"
