#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context/owned/dir
echo o > context/owned/file
chown 1234:5678 context/owned/file context/owned/dir
