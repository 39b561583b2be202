#!/usr/bin/env bash
# Fails when a doctest case name holds a ';'. doctest_discover_tests registers one CTest test
# per case, and CMake splits a name at ';' into pieces that match no case: such a test passes
# without running anything (scripts/test flags that only after a whole run).
set -euo pipefail
test_dir="$1"
if grep -rn --include='*.cpp' -E 'TEST_CASE\("[^"]*;' "$test_dir"; then
  echo "test case names above hold ';': use ' - ' instead" >&2
  exit 1
fi
