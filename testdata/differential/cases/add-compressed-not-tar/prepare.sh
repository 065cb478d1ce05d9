#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
set -euo pipefail
mkdir -p context
printf 'just text\n' | gzip -n -9 > context/note.txt.gz
