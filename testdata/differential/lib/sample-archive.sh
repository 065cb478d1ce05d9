#!/usr/bin/env bash
# The sample archives of the ADD cases (archive.tar, archive.tar.gz: a file, a 0600 file in a subfolder and a
# symlink, owned by 1234:42, mtime 0), made in context/ of the case directory it runs in; idempotent.
set -euo pipefail
mkdir -p context work/tree/sub
echo in-tar > work/tree/file.txt
echo deep > work/tree/sub/deep.txt
chmod 0600 work/tree/sub/deep.txt
ln -sfn file.txt work/tree/link
tar --sort=name --mtime=@0 --owner=1234 --group=42 --numeric-owner -C work/tree -cf context/archive.tar .
gzip -n -9 -c context/archive.tar > context/archive.tar.gz
