#!/usr/bin/env python3
"""Describe an image archive as canonical JSON, for differential tests against BuildKit.

Usage:
  describe.py IMAGE_ARCHIVE [--base BASE_ARCHIVE]   print the description (JSON)
  describe.py --diff A.json B.json [--ignore-config KEY]...
                                                    print a line diff; exit 1 if they differ
                                                    (config KEYs left out of both sides first)

IMAGE_ARCHIVE is a docker-archive (`docker save`: manifest.json with Config/Layers),
an OCI archive (a tar of an OCI layout: oci-layout, index.json, blobs/) or an OCI
layout directory. Layers may be uncompressed, gzip (detected by magic) or zstd
(through the `zstd` command, if installed).

The layers are applied in order, in memory, with OCI whiteouts (`.wh.NAME` deletes
NAME of the lower layers, `.wh..wh..opq` empties its directory of lower-layer
entries), and the final tree is described:

  files    sorted by path; each {"path", "type", "mode", "uid", "gid"} and
           type file: "size", "sha256"; symlink: "link";
           char/block: "devmajor", "devminor"; any: "xattrs" when it has some.
           "mode" is the 4-digit octal permission string, with setuid/setgid/sticky.
           Hard links are normalised: every path of a group of hard-linked files is
           written as a plain "file" (the shared content and metadata) with
           "hardlink_group" set to the smallest path of the group, so it does not
           matter which path a builder wrote as the tar hard link. The root "/"
           itself is not listed. No mtimes.
  config   from the image config's "config": Env, Cmd, Entrypoint, WorkingDir, User,
           ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, Shell, OnBuild,
           ArgsEscaped; a key is left out when absent, null, empty ("", [], {}) or
           false (Go's omitempty: docker reads a missing ArgsEscaped as false).
  history  one {"empty_layer": bool} per history entry.

With --base, file entries identical (all fields) to the base's are left out,
base paths missing from the image are listed as {"path", "type": "deleted"}, and
the base's history entries (its count of them) are dropped from the front.
The config is always complete.
"""

import difflib
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

CONFIG_KEYS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
               "Labels", "StopSignal", "Healthcheck", "Shell", "OnBuild", "ArgsEscaped"]

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


class Inode:
    """What hard links share: the content and metadata of one file."""
    _next = 0

    def __init__(self, **fields):
        self.fields = fields
        Inode._next += 1
        self.ident = Inode._next


def fail(message):
    sys.stderr.write("describe.py: %s\n" % message)
    sys.exit(2)


# ---------------------------------------------------------------- reading archives

class Archive:
    """Files of an image archive (a tar) or of an OCI layout directory, by relative path."""

    def __init__(self, path):
        self.path = path
        self.directory = os.path.isdir(path)
        if not self.directory:
            self.tar = tarfile.open(path, "r:*")
            self.members = {}
            for member in self.tar.getmembers():
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                self.members[name.lstrip("/")] = member

    def has(self, name):
        if self.directory:
            return os.path.exists(os.path.join(self.path, name))
        return name in self.members

    def read(self, name):
        if self.directory:
            with open(os.path.join(self.path, name), "rb") as handle:
                return handle.read()
        member = self.members.get(name)
        if member is None:
            fail("%s: no %s in the archive" % (self.path, name))
        while member.islnk() or member.issym():  # docker save may link duplicate layers
            target = member.linkname if member.islnk() else os.path.join(os.path.dirname(name), member.linkname)
            target = clean(target)[1:]
            name, member = target, self.members.get(target)
            if member is None:
                fail("%s: dangling link to %s" % (self.path, target))
        return self.tar.extractfile(member).read()

    def json(self, name):
        return json.loads(self.read(name))


def blob_path(digest):
    algorithm, _, hexdigest = digest.partition(":")
    return "blobs/%s/%s" % (algorithm, hexdigest)


def pick_manifest(archive, index):
    """The image manifest that an OCI index leads to (the linux/amd64 one, else the first)."""
    manifests = index.get("manifests") or []
    if not manifests:
        fail("%s: the index has no manifests" % archive.path)
    chosen = manifests[0]
    for descriptor in manifests:
        platform = descriptor.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            chosen = descriptor
            break
    document = archive.json(blob_path(chosen["digest"]))
    media_type = document.get("mediaType") or chosen.get("mediaType")
    if media_type in INDEX_TYPES or ("manifests" in document and "layers" not in document):
        return pick_manifest(archive, document)
    return document


def load_image(path):
    """(config JSON, [layer bytes]) of the image in the archive at path."""
    archive = Archive(path)
    if archive.has("index.json") and archive.has("oci-layout"):
        manifest = pick_manifest(archive, archive.json("index.json"))
        config = archive.json(blob_path(manifest["config"]["digest"]))
        layers = [archive.read(blob_path(layer["digest"])) for layer in manifest.get("layers") or []]
        return config, layers
    if archive.has("manifest.json"):
        entries = archive.json("manifest.json")
        if len(entries) != 1:
            fail("%s: expected one image in manifest.json, found %d" % (path, len(entries)))
        entry = entries[0]
        config = archive.json(entry["Config"])
        layers = [archive.read(name) for name in entry.get("Layers") or []]
        return config, layers
    fail("%s: neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)" % path)


def decompress(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        try:
            return subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as error:
            fail("cannot decompress a zstd layer (install zstd): %s" % error)
    return data


# ---------------------------------------------------------------- applying layers

def clean(name):
    """'/a/b' for a tar member name ('./a/b/', 'a/b', '/a//b'); '/' for the root."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return "/" + "/".join(parts)


def parent(path):
    return path.rsplit("/", 1)[0] or "/"


def remove_tree(tree, path):
    tree.pop(path, None)
    prefix = path.rstrip("/") + "/"
    for key in [key for key in tree if key.startswith(prefix)]:
        del tree[key]


def entry_of(member, layer_tar):
    """The Inode of a tar member that is not a hard link."""
    fields = {"mode": "%04o" % (member.mode & 0o7777), "uid": member.uid, "gid": member.gid}
    xattrs = {key[len("SCHILY.xattr."):]: value for key, value in (member.pax_headers or {}).items()
              if key.startswith("SCHILY.xattr.")}
    if xattrs:
        fields["xattrs"] = xattrs
    if member.isreg():
        digest = hashlib.sha256()
        size = 0
        handle = layer_tar.extractfile(member)
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        fields.update(type="file", size=size, sha256=digest.hexdigest())
    elif member.isdir():
        fields["type"] = "dir"
    elif member.issym():
        fields.update(type="symlink", link=member.linkname)
    elif member.ischr() or member.isblk():
        fields.update(type="char" if member.ischr() else "block",
                      devmajor=member.devmajor, devminor=member.devminor)
    elif member.isfifo():
        fields["type"] = "fifo"
    else:
        fail("unsupported tar member type %r for %s" % (member.type, member.name))
    return Inode(**fields)


def apply_layer(tree, data):
    layer_tar = tarfile.open(fileobj=io.BytesIO(decompress(data)), mode="r:")
    members = layer_tar.getmembers()
    # Whiteouts hide entries of the lower layers only, wherever they stand in this layer.
    for member in members:
        path = clean(member.name)
        base = path.rsplit("/", 1)[1]
        if base == ".wh..wh..opq":
            directory = parent(path)
            prefix = directory.rstrip("/") + "/"
            for key in [key for key in tree if key.startswith(prefix)]:
                del tree[key]
        elif base.startswith(".wh."):
            remove_tree(tree, parent(path).rstrip("/") + "/" + base[len(".wh."):])
    for member in members:
        path = clean(member.name)
        base = path.rsplit("/", 1)[1] if path != "/" else ""
        if path == "/" or base.startswith(".wh."):
            continue
        # Parents the layer leaves out exist all the same once it is extracted.
        missing = []
        directory = parent(path)
        while directory != "/" and directory not in tree:
            missing.append(directory)
            directory = parent(directory)
        for directory in reversed(missing):
            tree[directory] = Inode(type="dir", mode="0755", uid=0, gid=0)
        if member.islnk():
            target = clean(member.linkname)
            inode = tree.get(target)
            if inode is None or inode.fields["type"] == "dir":
                fail("hard link %s to %s, which is not a file of the tree" % (path, target))
        else:
            inode = entry_of(member, layer_tar)
        existing = tree.get(path)
        if existing is not None and existing.fields["type"] == "dir" and inode.fields["type"] != "dir":
            remove_tree(tree, path)
        tree[path] = inode


def build_tree(layers):
    tree = {}
    for data in layers:
        apply_layer(tree, data)
    return tree


def describe_files(tree):
    groups = {}
    for path, inode in tree.items():
        groups.setdefault(inode.ident, []).append(path)
    entries = {}
    for path, inode in tree.items():
        entry = dict(inode.fields)
        entry["path"] = path
        members = groups[inode.ident]
        if len(members) > 1:
            entry["hardlink_group"] = min(members)
        entries[path] = entry
    return entries


# ---------------------------------------------------------------- the description

def is_empty(value):
    return value is None or value is False or value == "" or value == [] or value == {}


def describe_config(config):
    inner = config.get("config") or {}
    return {key: inner[key] for key in CONFIG_KEYS if key in inner and not is_empty(inner[key])}


def describe_history(config):
    return [{"empty_layer": bool(entry.get("empty_layer", False))} for entry in config.get("history") or []]


def describe(image_path, base_path=None):
    config, layers = load_image(image_path)
    files = describe_files(build_tree(layers))
    history = describe_history(config)
    if base_path is not None:
        base_config, base_layers = load_image(base_path)
        base_files = describe_files(build_tree(base_layers))
        kept = {path: entry for path, entry in files.items() if base_files.get(path) != entry}
        for path in base_files:
            if path not in files:
                kept[path] = {"path": path, "type": "deleted"}
        files = kept
        history = history[len(describe_history(base_config)):]
    return {
        "files": [files[path] for path in sorted(files)],
        "config": describe_config(config),
        "history": history,
    }


def canonical(document):
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def diff(path_a, path_b, ignore_config=()):
    texts = []
    for path in (path_a, path_b):
        with open(path) as handle:
            text = handle.read()
        if ignore_config:
            document = json.loads(text)
            for key in ignore_config:
                document.get("config", {}).pop(key, None)
            text = canonical(document)
        texts.append(text.splitlines(keepends=True))
    a, b = texts
    lines = list(difflib.unified_diff(a, b, fromfile=path_a, tofile=path_b))
    sys.stdout.writelines(lines)
    if lines and not lines[-1].endswith("\n"):
        sys.stdout.write("\n")
    return 1 if lines else 0


def main(argv):
    if argv and argv[0] == "--diff":
        paths, ignore = [], []
        arguments = list(argv[1:])
        while arguments:
            argument = arguments.pop(0)
            if argument == "--ignore-config" and arguments:
                ignore.append(arguments.pop(0))
            else:
                paths.append(argument)
        if len(paths) != 2:
            fail("usage: describe.py --diff A.json B.json [--ignore-config KEY]...")
        return diff(paths[0], paths[1], ignore)
    image, base = None, None
    arguments = list(argv)
    while arguments:
        argument = arguments.pop(0)
        if argument == "--base" and arguments:
            base = arguments.pop(0)
        elif argument.startswith("--base="):
            base = argument[len("--base="):]
        elif argument in ("-h", "--help"):
            sys.stdout.write(__doc__)
            return 0
        elif image is None and not argument.startswith("--"):
            image = argument
        else:
            fail("usage: describe.py IMAGE_ARCHIVE [--base BASE_ARCHIVE] | describe.py --diff A.json B.json")
    if image is None:
        fail("usage: describe.py IMAGE_ARCHIVE [--base BASE_ARCHIVE] | describe.py --diff A.json B.json")
    sys.stdout.write(canonical(describe(image, base)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
