#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context/modes
cd context/modes
for f in suid sgid private none exec; do echo $f > $f; done
mkdir -p sticky
chmod 4755 suid
chmod 2755 sgid
chmod 0600 private
chmod 0000 none
chmod 0751 exec
chmod 1777 sticky
