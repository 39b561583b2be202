#!/usr/bin/env bash
# Fails when a public header under include/streamq (other than detail/ and the umbrella
# itself) is not included by <streamq/streamq.hpp> directly or through another public header.
set -euo pipefail
include_dir="$1"
umbrella="$include_dir/streamq/streamq.hpp"
missing=0
# What the umbrella reaches: its own includes, then theirs, to a fixed point.
reached="$(mktemp)"
trap 'rm -f "$reached"' EXIT
grep -o '<streamq/[^>]*>' "$umbrella" | tr -d '<>' | sort -u >"$reached"
while true; do
  before=$(wc -l <"$reached")
  while read -r h; do
    [ -f "$include_dir/$h" ] && grep -o '<streamq/[^>]*>' "$include_dir/$h" | tr -d '<>' || true
  done <"$reached" | cat - "$reached" | sort -u >"$reached.new"
  mv "$reached.new" "$reached"
  [ "$(wc -l <"$reached")" -eq "$before" ] && break
done
while read -r header; do
  rel="${header#"$include_dir"/}"
  case "$rel" in streamq/detail/*|streamq/streamq.hpp|streamq/v1/*) continue ;; esac
  # Integration libraries (streamq::http, streamq::metrics, streamq::spdlog, streamq::admin,
  # streamq::dashboard) have headers of their own, outside the umbrella: including them would
  # make every user need their packages.
  case "$rel" in streamq/http/*|streamq/metrics/*|streamq/spdlog/*|streamq/admin/*|streamq/dashboard/*) continue ;; esac
  if ! grep -qx "$rel" "$reached"; then
    echo "not reachable from <streamq/streamq.hpp>: $rel"
    missing=1
  fi
done < <(find "$include_dir/streamq" -name '*.hpp' | sort)
exit "$missing"
