#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context/hl
echo shared > context/hl/one
ln -f context/hl/one context/hl/two
