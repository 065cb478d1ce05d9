#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context/special
echo f > context/special/file
[ -p context/special/fifo ] || mkfifo context/special/fifo
