#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context/empty context/tree/emptysub
echo x > context/tree/x
chmod 0700 context/tree/emptysub
