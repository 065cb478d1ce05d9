#!/usr/bin/env bash
# Prepares the context of Dockerfiles/busybox (a base image FROM scratch) from Debian's busybox-static:
# /bin/busybox, one symlink per applet, a minimal /etc/passwd and /etc/group, and the usual directories.
# Usage: scripts/prepare-busybox.sh [CONTEXT_DIR]   (default: Dockerfiles/busybox)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
context="${1:-$here/Dockerfiles/busybox}"
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 || {
  echo "error: $busybox is missing or not busybox-static: run scripts/setup.sh (apt-get install busybox-static)" >&2
  exit 1
}
rootfs="$context/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,root,home/app,srv,var/www,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
chmod 755 "$rootfs/bin/busybox"
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
echo "prepared $rootfs ($("$busybox" | head -1))"
