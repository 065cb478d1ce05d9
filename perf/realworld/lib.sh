# Shared by make-base.sh and run.sh (sourced, not run).
#
# Environment (all optional):
#   RW_WORK      scratch: root file system, stores, archives, results (default /tmp/realworld)
#   REGISTRY     host:port of the registry the builds push to and pull from (default 127.0.0.1:5000);
#                lib.sh starts Debian's docker-registry there unless something already answers /v2/
#   SWIFTBUILD   the swiftbuild binary (default /tmp/sb-rw/swiftbuild, else `swiftbuild` on PATH)
#   DOCKER_HOST  a running dockerd (20.10, BuildKit); unset: lib.sh starts its own under $RW_WORK/dockerd
#   RW_QUIET_WAIT  seconds to wait, before each timed step, for a quiet machine (default 0: no wait)
#   CA_BUNDLE    the CA bundle handed to pip as the build secret `ca` (default /etc/ssl/certs/ca-certificates.crt)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RW_WORK="${RW_WORK:-/tmp/realworld}"
REGISTRY="${REGISTRY:-127.0.0.1:5000}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
DESCRIBE="$REPO/scripts/differential/describe.py"
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
if [ -z "${SWIFTBUILD:-}" ]; then
  if [ -x /tmp/sb-rw/swiftbuild ]; then SWIFTBUILD=/tmp/sb-rw/swiftbuild; else SWIFTBUILD="$(command -v swiftbuild || true)"; fi
fi
mkdir -p "$RW_WORK"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, dockerd and swiftbuild's RUN need it)"
[ -x "$SWIFTBUILD" ] || die "no swiftbuild binary: set SWIFTBUILD"

# Debian's docker-registry on $REGISTRY unless something already answers there.
ensure_registry() {
  curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && return 0
  [ -x /usr/bin/docker-registry ] || die "no /usr/bin/docker-registry: apt-get install docker-registry"
  local dir="$RW_WORK/registry"
  mkdir -p "$dir/data"
  REGISTRY_HTTP_ADDR="$REGISTRY" REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$dir/data" \
    setsid /usr/bin/docker-registry serve "$HERE/registry/config.yml" > "$dir/log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  for _ in $(seq 50); do
    curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && { log "registry started on $REGISTRY (pid $(cat "$dir/pid"))"; return 0; }
    sleep 0.2
  done
  die "docker-registry did not answer on $REGISTRY (see $dir/log)"
}

# A dockerd to talk to: $DOCKER_HOST if set, else one of our own (the cold BuildKit builds prune its
# build cache and images, so a shared daemon is better left alone).
ensure_dockerd() {
  if [ -z "${DOCKER_HOST:-}" ]; then
    local d="$RW_WORK/dockerd"
    export DOCKER_HOST="unix://$d/docker.sock"
    if ! $DOCKER info >/dev/null 2>&1; then
      [ -x /usr/sbin/dockerd ] || die "no dockerd: apt-get install docker.io"
      mkdir -p "$d"
      setsid /usr/sbin/dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
        -H "$DOCKER_HOST" --storage-driver overlay2 --iptables=false --ip6tables=false --bridge=none \
        --ip-masq=false > "$d/log" 2>&1 < /dev/null &
      for _ in $(seq 100); do
        $DOCKER info >/dev/null 2>&1 && break
        sleep 0.3
      done
      $DOCKER info >/dev/null 2>&1 || die "dockerd did not start (see $d/log)"
      log "dockerd started ($DOCKER_HOST, pid $(cat "$d/dockerd.pid"))"
    fi
  fi
  $DOCKER info >/dev/null 2>&1 || die "no dockerd answers on $DOCKER_HOST"
}

# now: seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# Marks the processes of this run (inherited through the environment), so that others can be told apart.
export RW_MARK="rw-$$"

# others: how many processes that are not this run's load the machine now: Swift compilers and package
# builds (swift-frontend, swift-build, swiftc, xctest) and swiftbuild processes started by someone else.
others() {
  local count=0 pid name
  for pid in $(pgrep -x 'swift-frontend|swift-build|swiftc|swiftbuild|swift-test|xctest' 2>/dev/null); do
    name="$(cat "/proc/$pid/comm" 2>/dev/null)" || continue
    if [ "$name" = swiftbuild ] && tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "RW_MARK=$RW_MARK"; then
      continue
    fi
    count=$((count + 1))
  done
  echo "$count"
}

# busy: the 1-minute load and the count of others() now.
busy() { printf 'load=%s others=%s' "$(cut -d' ' -f1 /proc/loadavg)" "$(others)"; }

# cpu_busy: percent of both cores busy over the next second (from /proc/stat).
cpu_busy() {
  local a b
  a="$(head -n1 /proc/stat)"; sleep 1; b="$(head -n1 /proc/stat)"
  python3 -c "
a = [int(x) for x in '$a'.split()[1:]]; b = [int(x) for x in '$b'.split()[1:]]
d = [y - x for x, y in zip(a, b)]; total = sum(d) or 1; idle = d[3] + d[4]
print(int(100 * (total - idle) / total))"
}

# wait_quiet: with RW_QUIET_WAIT=SECONDS, waits (at most that long) until the machine has been quiet for
# 3 seconds in a row: no others() and less than 15 % CPU busy. Logs how long it waited, or that it gave up.
wait_quiet() {
  local limit="${RW_QUIET_WAIT:-0}" start quiet=0
  [ "$limit" -gt 0 ] || return 0
  start="$(date +%s)"
  while [ $(( $(date +%s) - start )) -lt "$limit" ]; do
    if [ "$(others)" = 0 ] && [ "$(cpu_busy)" -lt 15 ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 3 ] && { [ $(( $(date +%s) - start )) -gt 5 ] && log "waited $(( $(date +%s) - start ))s for a quiet machine"; return 0; }
    else
      quiet=0
      sleep 1
    fi
  done
  log "the machine did not get quiet within ${limit}s: measuring anyway"
}

# timed RESULTS_TSV SIDE IMAGE PHASE RUN LOG -- COMMAND...: runs COMMAND (output to LOG) and appends
# "side image phase run seconds busy-before busy-after max-others" to RESULTS_TSV, max-others being the
# most others() seen while it ran (sampled every second); fails when COMMAND does.
timed() {
  local results="$1" side="$2" image="$3" phase="$4" run="$5" out="$6"
  shift 7
  local before start end status sampler peak="$RW_WORK/.peak-$$"
  wait_quiet
  echo 0 > "$peak"
  ( while :; do n="$(others)"; [ "$n" -gt "$(cat "$peak")" ] && echo "$n" > "$peak"; sleep 1; done ) &
  sampler=$!
  before="$(busy)"
  start="$(now)"
  "$@" > "$out" 2>&1 && status=0 || status=$?
  end="$(now)"
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  if [ "$status" != 0 ]; then
    log "FAILED ($status): $side $image $phase run $run; last lines of $out:"
    tail -n 25 "$out" >&2
    return "$status"
  fi
  local seconds
  seconds="$(python3 -c "print('%.2f' % ($end - $start))")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tmax-others=%s\n' "$side" "$image" "$phase" "$run" "$seconds" \
    "$before" "$(busy)" "$(cat "$peak")" >> "$results"
  log "$side $image $phase run $run: ${seconds}s ($before, max-others=$(cat "$peak"))"
}

# manifest_sizes REPO TAG [BASE_REPO BASE_TAG]: "total_compressed_layer_bytes layers own_bytes own_layers"
# from the registry's manifest (own: the layers that are not the base's).
manifest_sizes() {
  python3 - "$REGISTRY" "$@" <<'PY'
import json, sys, urllib.request
registry = sys.argv[1]
accept = ", ".join(["application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])
def layers(repo, tag):
    request = urllib.request.Request("http://%s/v2/%s/manifests/%s" % (registry, repo, tag),
                                     headers={"Accept": accept})
    return json.load(urllib.request.urlopen(request))["layers"]
own = layers(sys.argv[2], sys.argv[3])
base = layers(sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else []
base_digests = {layer["digest"] for layer in base}
mine = [layer for layer in own if layer["digest"] not in base_digests]
print(sum(l["size"] for l in own), len(own), sum(l["size"] for l in mine), len(mine))
PY
}
