#!/usr/bin/env python3
"""pyc-check.py A.tar B.tar: for every .pyc file of both images' final trees, whether the two copies are
identical, differ only in the source mtime of the header (bytes 8-11 of a PEP 552 timestamp-based .pyc),
or differ elsewhere. Archives: OCI archives (gzip or uncompressed layers) or docker-archives.
Exit status 1 when some .pyc differs beyond the source mtime."""

import collections
import gzip
import io
import json
import struct
import sys
import tarfile


def layer_bytes(path):
    archive = tarfile.open(path)
    names = set(archive.getnames())
    if "index.json" not in names:  # docker-archive
        manifest = json.load(archive.extractfile("manifest.json"))[0]
        for layer in manifest["Layers"]:
            yield archive.extractfile(layer).read()
        return
    index = json.load(archive.extractfile("index.json"))
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.load(archive.extractfile("blobs/sha256/" + digest))
    for layer in manifest["layers"]:
        data = archive.extractfile("blobs/sha256/" + layer["digest"].split(":", 1)[1]).read()
        yield gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def pyc_files(path):
    """The .pyc files of the final tree (later layers win; whiteouts are rare for .pyc and ignored)."""
    files = {}
    for data in layer_bytes(path):
        layer = tarfile.open(fileobj=io.BytesIO(data))
        for member in layer:
            if member.isfile() and member.name.endswith(".pyc"):
                files["/" + member.name.lstrip("./")] = layer.extractfile(member).read()
    return files


def main(a_path, b_path):
    a, b = pyc_files(a_path), pyc_files(b_path)
    counts = collections.Counter()
    beyond = []
    for path in sorted(set(a) & set(b)):
        x, y = a[path], b[path]
        if x == y:
            counts["identical"] += 1
        elif len(x) >= 16 and len(y) >= 16 and struct.unpack("<I", x[4:8])[0] == 0 \
                and x[:8] == y[:8] and x[12:] == y[12:]:
            counts["differ only in the source mtime"] += 1
        else:
            counts["differ elsewhere"] += 1
            beyond.append(path)
    counts["only in A"] = len(set(a) - set(b))
    counts["only in B"] = len(set(b) - set(a))
    print(".pyc files: " + ", ".join("%s %d" % item for item in counts.items()))
    for path in beyond[:20]:
        print("  differs beyond the header's mtime: " + path)
    return 1 if beyond else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
