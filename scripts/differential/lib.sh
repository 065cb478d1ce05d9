# Shared by record.sh and check-swiftbuild.sh (sourced, not run).
# Sets: ROOT (the repository), DIFF (testdata/differential), HERE (scripts/differential),
#       WORK (scratch, $DIFF_WORK or /tmp/differential-work), REGISTRY_ADDR (127.0.0.1:5000 unless set).

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIFF="$ROOT/testdata/differential"
WORK="${DIFF_WORK:-/tmp/differential-work}"
REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
mkdir -p "$WORK"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# case_field CASE_DIR KEY: a case.json value; strings plain, null/absent empty, lists one item a line,
# objects KEY=VALUE a line.
case_field() {
  python3 - "$1/case.json" "$2" <<'PY'
import json, sys
value = json.load(open(sys.argv[1])).get(sys.argv[2])
if value is None:
    pass
elif isinstance(value, list):
    for item in value:
        print(item)
elif isinstance(value, dict):
    for key, item in value.items():
        print("%s=%s" % (key, item))
elif isinstance(value, bool):
    print("true" if value else "")
else:
    print(value)
PY
}

# The names of the bases, busybox first (every other base is built FROM localhost/diff-busybox:latest).
base_names() {
  echo busybox
  for dir in "$DIFF"/bases/*/; do
    name="$(basename "$dir")"
    [ "$name" = busybox ] || echo "$name"
  done
}

# prepare DIR: runs DIR/prepare.sh (from DIR) when there is one; it makes the generated context.
prepare() {
  if [ -x "$1/prepare.sh" ] || [ -f "$1/prepare.sh" ]; then
    (cd "$1" && bash ./prepare.sh) >/dev/null || die "$1/prepare.sh failed"
  fi
}

# Starts Debian's docker-registry on $REGISTRY_ADDR unless something already answers /v2/ there.
start_registry() {
  if curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
    return 0
  fi
  [ -x /usr/bin/docker-registry ] || die "no /usr/bin/docker-registry: apt-get install docker-registry"
  local dir="$WORK/registry"
  mkdir -p "$dir/data"
  cat > "$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  setsid /usr/bin/docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  for _ in $(seq 50); do
    curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "docker-registry did not answer on $REGISTRY_ADDR (see $dir/log)"
}
