#!/usr/bin/env bash
# Makes rootfs/ (busybox-static, applet links, /etc/passwd and /etc/group) with the project's script.
set -euo pipefail
"$(cd ../../../.. && pwd)/scripts/prepare-busybox.sh" "$PWD" --host-rootfs
