#!/usr/bin/env bash
# Makes what git cannot hold in context/ (run from the case directory; idempotent).
exec bash ../../lib/sample-archive.sh
