#!/usr/bin/env bash
# XADD throughput of streamq next to redis-benchmark and plain hiredis, measured in one run
# against one server, so the ratios hold on whatever machine runs it. The server (no
# persistence) is pinned to CPU 0 and every client to CPU 1, as on the 2-core CI machines.
#
# usage: benchmarks/run.sh [--count N] [--payload BYTES] [--out FILE]
#   --count    operations per run (default 1000000, env STREAMQ_BENCH_COUNT)
#   --payload  bytes in the field value (default 100, env STREAMQ_BENCH_PAYLOAD)
#   --out      raw results, one JSON line per run (default BUILD_DIR/bench-DATE.jsonl)
# Binaries come from STREAMQ_BUILD_DIR (default build/release): build that preset first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup"
cd "$STREAMQ_ROOT"

count="${STREAMQ_BENCH_COUNT:-1000000}"
payload="${STREAMQ_BENCH_PAYLOAD:-100}"
build_dir="${STREAMQ_BUILD_DIR:-build/release}"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --payload) payload="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
out="${out:-$build_dir/bench-$(date +%Y%m%d-%H%M%S).jsonl}"
command -v python3 >/dev/null || { echo "run.sh: python3 is needed to parse results" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
: >"$out"

pin_server=()
pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 0)
  pin_client=(taskset -c 1)
else
  echo "note: fewer than 2 CPUs or no taskset: server and clients are not pinned" >&2
fi

trap 'exit 130' INT
trap 'exit 143' TERM
streamq_start_redis "${pin_server[@]}"
port="$STREAMQ_REDIS_PORT"
url="redis://127.0.0.1:$port"
value="$(head -c "$payload" /dev/zero | tr '\0' x)"
failed=0

# Reads one tool's output on stdin and appends it to $out as one JSON object tagged with tool,
# kind and config: the tool's own last JSON line, or redis-benchmark's --csv row.
read -r -d '' record_py <<'PY' || true
import csv, json, sys
tool, kind, config, out = sys.argv[1:5]
raw = sys.stdin.read()
rec = None
for line in reversed(raw.splitlines()):
    if line.strip().startswith("{"):
        try:
            rec = json.loads(line)
            break
        except ValueError:
            pass
if rec is None:
    rows = list(csv.reader(l for l in raw.splitlines() if l.startswith('"')))
    if len(rows) >= 2 and rows[0][:2] == ["test", "rps"]:
        rec = {"ops_per_sec": float(rows[-1][1])}
if rec is None or "ops_per_sec" not in rec:
    sys.exit("cannot find a result in the output of %s %s:\n%s" % (tool, config, raw[-2000:]))
tagged = {"tool": tool, "kind": kind, "config": config}
tagged.update({k: v for k, v in rec.items() if k not in tagged})
with open(out, "a") as f:
    f.write(json.dumps(tagged) + "\n")
PY

# run TOOL KIND CONFIG COMMAND...: one measurement on an empty server.
run() {
  local tool="$1" kind="$2" config="$3" log
  shift 3
  redis-cli -p "$port" FLUSHALL >/dev/null
  echo "running $tool $kind $config" >&2
  log="$(mktemp "${TMPDIR:-/tmp}/streamq-bench.XXXXXX")"
  if "${pin_client[@]}" "$@" >"$log" 2>&1 </dev/null; then
    python3 -c "$record_py" "$tool" "$kind" "$config" "$out" <"$log" || failed=1
  else
    echo "$tool $config failed:" >&2
    tail -n 20 "$log" >&2
    failed=1
  fi
  rm -f "$log"
}

rb=(redis-benchmark -h 127.0.0.1 -p "$port" -n "$count" --csv)
run redis-benchmark xadd "-P 256 -c 1" "${rb[@]}" -P 256 -c 1 XADD bench:rb '*' f "$value"
run redis-benchmark xadd "-P 64 -c 50" "${rb[@]}" -P 64 -c 50 XADD bench:rb '*' f "$value"

hiredis_args=(--port "$port" --count "$count" --payload "$payload")
for name in xadd e2e; do
  exe="$build_dir/benchmarks/hiredis-$name-baseline"
  if [ -x "$exe" ]; then
    run hiredis "$name" "window=256" "$exe" "${hiredis_args[@]}" --window 256
  else
    echo "note: $exe not built: skipped" >&2
  fi
done

bench="$build_dir/benchmarks/streamq-bench"
if [ -x "$bench" ]; then
  for c in 1 16 64 256 1024; do
    # Few requests in flight are bound by round trips, not CPU: fewer operations say as much.
    n=$((c * 10000 > count ? count : c * 10000))
    run streamq xadd "concurrency=$c" "$bench" xadd --redis "$url" --count "$n" --payload "$payload" --concurrency "$c"
  done
else
  echo "note: $bench not built: streamq rows skipped" >&2
fi

python3 - "$out" "$count" "$payload" <<'PY'
import json, sys
path, count, payload = sys.argv[1:4]
rows = [json.loads(l) for l in open(path) if l.strip()]
ref = next((r["ops_per_sec"] for r in rows
            if r["tool"] == "streamq" and r["kind"] == "xadd" and r["config"] == "concurrency=256"), None)
print("\nXADD of %s-byte values, up to %s operations per run (raw: %s)" % (payload, count, path))
print("%-16s %-5s %-18s %12s %13s %14s" % ("tool", "kind", "config", "ops/s", "/streamq@256", "client us/op"))
for r in rows:
    ratio = "%.2f" % (r["ops_per_sec"] / ref) if ref and r["kind"] == "xadd" else "-"
    cpu = r.get("client_cpu_us_per_op")
    cpu = "%.2f" % cpu if isinstance(cpu, (int, float)) else "-"
    print("%-16s %-5s %-18s %12.0f %13s %14s" % (r["tool"], r["kind"], r["config"], r["ops_per_sec"], ratio, cpu))
PY
exit "$failed"
