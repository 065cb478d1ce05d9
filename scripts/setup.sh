#!/usr/bin/env bash
# Installs the Debian packages swiftbuild builds against and the tools its tests use.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
PACKAGES=(
  pkg-config zlib1g-dev libssl-dev libarchive-dev libzstd-dev libisal-dev   # C libraries behind the shims
  libarchive-tools tar gzip zstd pigz xz-utils bzip2                        # bsdtar and friends, for round-trip tests
  busybox-static                                                            # base images for tests are built from it
  skopeo umoci oci-image-tool podman runc                                   # interop tests of the exporters
  python3                                                                   # ADD URL tests serve files with http.server
  libcurl4                                                                  # ADD <url> and registries (loaded only when used)
  docker-registry apache2-utils                                             # registry tests: a real registry, htpasswd
  qemu-user                                                                 # layer bytes checked under other CPU models
  qemu-user-static                                                          # RUN for other platforms (binfmt_misc)
  uidmap                                                                    # rootless builds: newuidmap, newgidmap
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi

# Debian's arm64 busybox-static package, for the multi-platform tests (which unpack it into an arm64 base image
# offline; it is never installed). Its path is $SWIFTBUILD_TEST_FIXTURES, else /var/cache/swiftbuild-tests.
FIXTURES="${SWIFTBUILD_TEST_FIXTURES:-/var/cache/swiftbuild-tests}"
if ! ls "$FIXTURES"/busybox-static_*_arm64.deb >/dev/null 2>&1; then
  $SUDO mkdir -p "$FIXTURES"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
  fi
  $SUDO apt-get update -qq
  (cd "$FIXTURES" && $SUDO apt-get download -qq busybox-static:arm64 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
  ls "$FIXTURES"/busybox-static_*_arm64.deb >/dev/null
fi

# The ordinary user the rootless tests build as, with subordinate ids (what `usermod --add-subuids` gives any user).
ROOTLESS_USER=swiftbuild-rootless
if ! id "$ROOTLESS_USER" >/dev/null 2>&1; then
  $SUDO useradd --create-home --shell /bin/sh "$ROOTLESS_USER"
fi
if ! grep -q "^$ROOTLESS_USER:" /etc/subuid 2>/dev/null || ! grep -q "^$ROOTLESS_USER:" /etc/subgid 2>/dev/null; then
  $SUDO usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$ROOTLESS_USER"
fi
