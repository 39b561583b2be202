#!/bin/sh
# run_interop.sh SCENARIO PEER NODE_DIR: one cross-language test (test/interop/CMakeLists.txt).
#
#   npm-ci               installs the Node program's packages (package-lock.json) in NODE_DIR
#   cpp_to_node          the C++ peer publishes, the Node program consumes and checks
#   node_to_cpp          the Node program publishes, the C++ peer consumes and checks
#   retry_node_to_cpp    the Node program fails messages into its group's retry set; a C++
#                        consumer of the same group runs them as their next attempt
#   corruption_detected  each side publishes one altered field at a time; the other side must
#                        fail its check, naming that field and nothing else
#
# PEER is streamq-interop-peer. Every scenario but npm-ci runs under streamq-run-with-server,
# which starts a throwaway redis-server and sets STREAMQ_REDIS_URL.
set -eu

scenario="$1"
peer="$2"
node_dir="$3"
here="$(cd "$(dirname "$0")" && pwd)"
export INTEROP_ENVELOPE_PROTO="$here/../../proto/streamq/v1/envelope.proto"
export INTEROP_SAMPLE_PROTO="$here/interop_sample.proto"
export NODE_PATH="$node_dir/node_modules"
count=12

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "run_interop.sh: $1 not found (the machine image provides Node.js and npm)" >&2
  exit 2
}

node_side() { node "$here/interop.js" "$@"; }

# expect_mismatch WHAT COMMAND...: COMMAND must fail its content check (exit status 1) with
# exactly one MISMATCH line, about message 3 and containing WHAT.
expect_mismatch() {
  what="$1"
  shift
  log="$(mktemp "${TMPDIR:-/tmp}/streamq-interop.XXXXXX")"
  status=0
  "$@" >"$log" 2>&1 || status=$?
  found="$(grep -c '^MISMATCH' "$log" || true)"
  if [ "$status" -ne 1 ] || [ "$found" -ne 1 ] || ! grep -q "^MISMATCH message 3 .*$what" "$log"; then
    cat "$log" >&2
    echo "run_interop.sh: '$*' should have failed (status 1) on message 3's $what alone;" \
      "status $status, $found MISMATCH lines" >&2
    rm -f "$log"
    exit 1
  fi
  printf 'detected as expected: %s\n' "$(grep '^MISMATCH' "$log")"
  rm -f "$log"
}

need node
case "$scenario" in
  npm-ci)
    need npm
    mkdir -p "$node_dir"
    # Installed already from this very lock file: nothing to do.
    if cmp -s "$here/package-lock.json" "$node_dir/node_modules/.streamq-interop-lock"; then exit 0; fi
    cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
    (cd "$node_dir" && npm ci --prefer-offline --no-audit --no-fund)
    cp "$here/package-lock.json" "$node_dir/node_modules/.streamq-interop-lock"
    ;;
  cpp_to_node)
    "$peer" publish cpp-to-node "$count"
    node_side consume cpp-to-node node-readers "$count"
    ;;
  node_to_cpp)
    node_side publish node-to-cpp "$count"
    "$peer" consume node-to-cpp cpp-readers "$count"
    ;;
  retry_node_to_cpp)
    node_side publish retries "$count" --old-attempt
    node_side retry-fail retries shared "$count"
    "$peer" retry-consume retries shared "$count"
    node_side retry-verify retries shared
    ;;
  corruption_detected)
    for field in blob amount header; do
      what="$field"
      [ "$field" = header ] && what=headers
      "$peer" publish "bad-cpp-$field" "$count" --corrupt "$field"
      expect_mismatch "$what" node_side consume "bad-cpp-$field" node-readers "$count"
      node_side publish "bad-node-$field" "$count" --corrupt "$field"
      expect_mismatch "$what" "$peer" consume "bad-node-$field" cpp-readers "$count"
    done
    ;;
  *)
    echo "run_interop.sh: unknown scenario $scenario" >&2
    exit 2
    ;;
esac
