#!/usr/bin/env bash
# Builds every differential case (testdata/differential) with swiftbuild and compares describe.py's
# description of the result with the expected.json recorded from BuildKit by record.sh.
#
# Usage (as root): scripts/differential/check-swiftbuild.sh [CASE...]      (no CASE: every case)
#   SWIFTBUILD=path   the binary to test (default .build/debug/swiftbuild); it is copied to $DIFF_WORK first,
#                     so a rebuild during the run does not matter
#   DIFF_WORK=dir     scratch (default /tmp/differential-work; this script uses its swiftbuild/ folder)
#   DIFF_IGNORE_CONFIG="Key ..."  config keys left out of the comparison (e.g. ArgsEscaped, which BuildKit 0.8
#                     sets after every CMD/ENTRYPOINT), to see the other differences
#   REGISTRY_ADDR     the registry for "registry_bases" (default 127.0.0.1:5000; Debian's docker-registry is
#                     started there unless one answers)
#
# Steps: builds the bases into a fresh store ($DIFF_WORK/swiftbuild/root-bases) with `swiftbuild build`,
# saves each (OCI archive), compares it with bases/NAME/expected.json, and pushes it to the registry as
# $REGISTRY_ADDR/diff-NAME:latest with `swiftbuild push`. Each case is built with
# `swiftbuild build --root R -f CASE/Dockerfile [--target] [--build-arg...] -o type=oci,dest=OUT CASE/context`,
# where R is the bases' store, or for a case with "registry_bases" a fresh store (its "local_bases" loaded
# into it), so that the base is pulled. A case with "expect_error" passes when the build fails.
# Prints PASS/FAIL per case (with the diff under FAIL), then "N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/lib.sh"

OUT="$WORK/swiftbuild"
SRC_BIN="${SWIFTBUILD:-$ROOT/.build/debug/swiftbuild}"
[ -x "$SRC_BIN" ] || die "no swiftbuild at $SRC_BIN (set SWIFTBUILD)"
rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/bases" "$OUT/cases"
cp "$SRC_BIN" "$OUT/bin/swiftbuild"
SB="$OUT/bin/swiftbuild"
BASE_ROOT="$OUT/root-bases"

passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); echo "PASS $1${2:+ ($2)}"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1: $2"; }

# compare NAME ACTUAL EXPECTED
ignore_args=()
for key in ${DIFF_IGNORE_CONFIG:-}; do ignore_args+=(--ignore-config "$key"); done

compare() {
  if python3 "$HERE/describe.py" --diff "$3" "$2" "${ignore_args[@]}" > "$2.diff"; then
    pass "$1"
  else
    fail "$1" "differs from $(basename "$3") (- BuildKit, + swiftbuild)"
    sed 's/^/    /' "$2.diff" | head -60
  fi
}

start_registry

for name in $(base_names); do
  dir="$DIFF/bases/$name"
  prepare "$dir"
  if ! "$SB" build --root "$BASE_ROOT" --progress plain -t "localhost/diff-$name:latest" -f "$dir/Dockerfile" "$dir" \
      > "$OUT/bases/$name.log" 2>&1; then
    fail "base:$name" "build failed: $(tail -1 "$OUT/bases/$name.log")"
    continue
  fi
  "$SB" save --root "$BASE_ROOT" -o "$OUT/bases/$name.tar" "localhost/diff-$name:latest" || die "saving base $name failed"
  if [ "$name" = busybox ]; then
    python3 "$HERE/describe.py" "$OUT/bases/$name.tar" > "$OUT/bases/$name.json"
  else
    python3 "$HERE/describe.py" "$OUT/bases/$name.tar" --base "$OUT/bases/busybox.tar" > "$OUT/bases/$name.json"
  fi
  compare "base:$name" "$OUT/bases/$name.json" "$dir/expected.json"
  "$SB" push --root "$BASE_ROOT" "localhost/diff-$name:latest" "$REGISTRY_ADDR/diff-$name:latest" \
    > "$OUT/bases/$name.push.log" 2>&1 || die "pushing base $name failed (see $OUT/bases/$name.push.log)"
done

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for dir in "$DIFF"/cases/*/; do cases+=("$(basename "$dir")"); done
fi

for name in "${cases[@]}"; do
  dir="$DIFF/cases/$name"
  [ -f "$dir/case.json" ] || { fail "$name" "no case.json"; continue; }
  prepare "$dir"
  target="$(case_field "$dir" target)"
  base="$(case_field "$dir" base)"
  expect="$(case_field "$dir" expect_error)"
  logfile="$OUT/cases/$name.log"
  args=(--progress plain -f "$dir/Dockerfile" -t "localhost/diff-case-$name:latest" -o "type=oci,dest=$OUT/cases/$name.tar")
  [ -z "$target" ] || args+=(--target "$target")
  while IFS= read -r item; do [ -z "$item" ] || args+=(--build-arg "$item"); done < <(case_field "$dir" build_args)
  root="$BASE_ROOT"
  if [ -n "$(case_field "$dir" registry_bases)" ]; then
    args+=(--build-arg "REGISTRY=$REGISTRY_ADDR")
    root="$OUT/root-case-$name"
    rm -rf "$root"
    for item in $(case_field "$dir" local_bases); do
      "$SB" load --root "$root" -i "$OUT/bases/$item.tar" > /dev/null 2>&1 || { fail "$name" "loading base $item failed"; continue 2; }
    done
  fi
  if timeout 600 "$SB" build --root "$root" "${args[@]}" "$dir/context" > "$logfile" 2>&1; then
    if [ -n "$expect" ]; then
      fail "$name" "built, but BuildKit fails with \"$expect\""
      continue
    fi
    if [ -n "$base" ]; then
      python3 "$HERE/describe.py" "$OUT/cases/$name.tar" --base "$OUT/bases/$base.tar" > "$OUT/cases/$name.json"
    else
      python3 "$HERE/describe.py" "$OUT/cases/$name.tar" > "$OUT/cases/$name.json"
    fi || { fail "$name" "describe.py failed"; continue; }
    compare "$name" "$OUT/cases/$name.json" "$dir/expected.json"
  else
    message="$(grep -iE 'error' "$logfile" | tail -1)"
    if [ -n "$expect" ]; then
      if grep -qF -- "$expect" "$logfile"; then pass "$name" "fails as expected"
      else pass "$name" "fails as expected, with another message: $message"; fi
    else
      fail "$name" "build failed: ${message:-$(tail -1 "$logfile")} (see $logfile)"
    fi
  fi
  [ "$root" = "$BASE_ROOT" ] || rm -rf "$root"
done

echo
if [ ${#failures[@]} -gt 0 ]; then echo "failing: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
