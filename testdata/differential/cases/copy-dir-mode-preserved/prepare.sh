#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context/tree/d1 context/tree/d2
echo x > context/tree/d1/x
chmod 0711 context/tree/d1
chmod 2775 context/tree/d2
