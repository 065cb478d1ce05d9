#!/usr/bin/env bash
# Records testdata/differential/cases/*/expected.json (and bases/*/expected.json) from real BuildKit:
# the BuildKit built into dockerd (Debian's docker.io 20.10, BuildKit 0.8, its built-in Dockerfile frontend).
#
# Usage (as root): scripts/differential/record.sh [CASE...]      (no CASE: every case)
#
# What it does, rerunnable at any time:
#   1. starts dockerd under /tmp/dockerd (unless $DOCKER_HOST already answers) and Debian's docker-registry
#      on $REGISTRY_ADDR (default 127.0.0.1:5000; plain HTTP, which dockerd allows for localhost);
#   2. runs each bases/NAME/prepare.sh, builds bases/NAME as localhost/diff-NAME:latest (busybox first, every
#      other base is FROM it), `docker save`s it, writes bases/NAME/expected.json (busybox: the whole image;
#      others: what they add to busybox), and pushes it as $REGISTRY_ADDR/diff-NAME:latest;
#   3. for each case: runs its prepare.sh, removes the $REGISTRY_ADDR/diff-*:latest names of its
#      "registry_bases" from dockerd so the build pulls them, builds it with
#      `docker build --network none -f CASE/Dockerfile [--target T] [--build-arg K=V...]
#       [--build-arg REGISTRY=$REGISTRY_ADDR] CASE/context`, `docker save`s it and writes expected.json with
#      describe.py (--base the saved "base" when case.json names one). A case with "expect_error" must fail
#      with that text in BuildKit's output; its expected.json is removed.
#   Cases with "frontend": "dockerfile-1.4" (heredocs: the built-in frontend of BuildKit 0.8 has none) are
#   built with the Dockerfile frontend of BuildKit v0.10.6 (docker/dockerfile:1.4), run by dockerd's BuildKit
#   through --build-arg BUILDKIT_SYNTAX=localhost/diff-dockerfile-frontend:1.4. That image is made from
#   $DOCKERFILE_FRONTEND (the dockerfile-frontend binary of BuildKit's docker/dockerfile:1.4 image, which
#   you bring); without it (and without the image already in dockerd) those cases are skipped with a warning.
#
# Needs: apt-get install docker.io docker-registry busybox-static curl python3.
# Scratch: $DIFF_WORK (default /tmp/differential-work)/buildkit/{bases,cases}/NAME.{tar,log}.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DOCKER=/usr/bin/docker   # the 20.10 client that matches the daemon
DOCKERD_DIR="${DOCKERD_DIR:-/tmp/dockerd}"
export DOCKER_HOST="${DOCKER_HOST:-unix://$DOCKERD_DIR/docker.sock}" DOCKER_BUILDKIT=1
FRONTEND_IMAGE=localhost/diff-dockerfile-frontend:1.4
OUT="$WORK/buildkit"
mkdir -p "$OUT/bases" "$OUT/cases"

start_dockerd() {
  if "$DOCKER" info >/dev/null 2>&1; then return 0; fi
  [ -x /usr/sbin/dockerd ] || die "no /usr/sbin/dockerd: apt-get install docker.io"
  mkdir -p "$DOCKERD_DIR"
  log "starting dockerd in $DOCKERD_DIR"
  setsid /usr/sbin/dockerd --data-root "$DOCKERD_DIR/data" --exec-root "$DOCKERD_DIR/exec" \
    --pidfile "$DOCKERD_DIR/dockerd.pid" -H "unix://$DOCKERD_DIR/docker.sock" \
    --storage-driver overlay2 --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
    > "$DOCKERD_DIR/log" 2>&1 < /dev/null &
  for _ in $(seq 100); do
    "$DOCKER" info >/dev/null 2>&1 && return 0
    sleep 0.3
  done
  die "dockerd did not start (see $DOCKERD_DIR/log)"
}

# Makes $FRONTEND_IMAGE in dockerd; returns 1 (with a warning) when it cannot.
frontend_ready=""
ensure_frontend() {
  [ -z "$frontend_ready" ] || return "$frontend_ready"
  frontend_ready=1
  if "$DOCKER" image inspect "$FRONTEND_IMAGE" >/dev/null 2>&1; then frontend_ready=0; return 0; fi
  local dir="$OUT/frontend"
  rm -rf "$dir"; mkdir -p "$dir"
  if [ -n "${DOCKERFILE_FRONTEND:-}" ]; then
    cp "$DOCKERFILE_FRONTEND" "$dir/dockerfile-frontend"
  else
    log "warning: no $FRONTEND_IMAGE or \$DOCKERFILE_FRONTEND: skipping dockerfile-1.4 cases"
    return 1
  fi
  cat > "$dir/Dockerfile" <<'EOF'
FROM scratch
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
COPY dockerfile-frontend /bin/dockerfile-frontend
ENTRYPOINT ["/bin/dockerfile-frontend"]
EOF
  "$DOCKER" build -q --network none -t "$FRONTEND_IMAGE" "$dir" >/dev/null || return 1
  frontend_ready=0
}

build_bases() {
  local name dir
  for name in $(base_names); do
    dir="$DIFF/bases/$name"
    prepare "$dir"
    log "base $name"
    "$DOCKER" build --progress plain --network none -t "localhost/diff-$name:latest" -f "$dir/Dockerfile" "$dir" \
      > "$OUT/bases/$name.log" 2>&1 || die "building base $name failed (see $OUT/bases/$name.log)"
    "$DOCKER" save "localhost/diff-$name:latest" -o "$OUT/bases/$name.tar"
    if [ "$name" = busybox ]; then
      python3 "$HERE/describe.py" "$OUT/bases/$name.tar" > "$dir/expected.json"
    else
      python3 "$HERE/describe.py" "$OUT/bases/$name.tar" --base "$OUT/bases/busybox.tar" > "$dir/expected.json"
    fi
    "$DOCKER" tag "localhost/diff-$name:latest" "$REGISTRY_ADDR/diff-$name:latest"
    "$DOCKER" push "$REGISTRY_ADDR/diff-$name:latest" > "$OUT/bases/$name.push.log" 2>&1 \
      || die "pushing base $name failed (see $OUT/bases/$name.push.log)"
    "$DOCKER" rmi "$REGISTRY_ADDR/diff-$name:latest" >/dev/null
  done
}

record_case() {
  local name="$1" dir="$DIFF/cases/$1" args=() target base expect frontend logfile item
  [ -f "$dir/case.json" ] || { log "$name: no case.json"; return 1; }
  prepare "$dir"
  logfile="$OUT/cases/$name.log"
  target="$(case_field "$dir" target)"
  base="$(case_field "$dir" base)"
  expect="$(case_field "$dir" expect_error)"
  frontend="$(case_field "$dir" frontend)"
  args=(--progress plain --network none -f "$dir/Dockerfile" -t "localhost/diff-case-$name:latest")
  [ -z "$target" ] || args+=(--target "$target")
  while IFS= read -r item; do [ -z "$item" ] || args+=(--build-arg "$item"); done < <(case_field "$dir" build_args)
  if [ -n "$(case_field "$dir" registry_bases)" ]; then
    args+=(--build-arg "REGISTRY=$REGISTRY_ADDR")
    for item in $(case_field "$dir" registry_bases); do
      "$DOCKER" rmi -f "$REGISTRY_ADDR/diff-$item:latest" >/dev/null 2>&1 || true
    done
  fi
  case "$frontend" in
    "") ;;
    dockerfile-1.4)
      ensure_frontend || { log "SKIP $name (no dockerfile-1.4 frontend)"; return 0; }
      args+=(--build-arg "BUILDKIT_SYNTAX=$FRONTEND_IMAGE") ;;
    *) log "$name: unknown frontend $frontend"; return 1 ;;
  esac
  "$DOCKER" rmi -f "localhost/diff-case-$name:latest" >/dev/null 2>&1 || true
  if timeout 600 "$DOCKER" build "${args[@]}" "$dir/context" > "$logfile" 2>&1; then
    if [ -n "$expect" ]; then
      log "MISMATCH $name: built, but case.json expects the error \"$expect\" (see $logfile)"
      return 1
    fi
    "$DOCKER" save "localhost/diff-case-$name:latest" -o "$OUT/cases/$name.tar"
    if [ -n "$base" ]; then
      python3 "$HERE/describe.py" "$OUT/cases/$name.tar" --base "$OUT/bases/$base.tar" > "$dir/expected.json.new"
    else
      python3 "$HERE/describe.py" "$OUT/cases/$name.tar" > "$dir/expected.json.new"
    fi
    mv "$dir/expected.json.new" "$dir/expected.json"
    log "ok $name"
  else
    if [ -z "$expect" ]; then
      log "FAILED $name: $(grep -E 'error|failed' "$logfile" | tail -1) (see $logfile)"
      return 1
    fi
    if ! grep -qF -- "$expect" "$logfile"; then
      log "MISMATCH $name: failed without \"$expect\": $(grep -E 'error|failed' "$logfile" | tail -1)"
      return 1
    fi
    rm -f "$dir/expected.json"
    log "ok $name (fails as expected)"
  fi
}

main() {
  [ "$(id -u)" = 0 ] || die "run as root (dockerd)"
  start_dockerd
  start_registry
  build_bases
  local cases=("$@") failed=0 name
  if [ ${#cases[@]} -eq 0 ]; then
    for dir in "$DIFF"/cases/*/; do cases+=("$(basename "$dir")"); done
  fi
  for name in "${cases[@]}"; do
    record_case "$name" || failed=$((failed + 1))
  done
  log "recorded ${#cases[@]} cases, $failed with problems"
  [ "$failed" = 0 ]
}

main "$@"
