#!/usr/bin/env bash
# What metrics cost end to end (issue 13's target, same run: e2e throughput with metrics on
# >= 0.97x metrics off). One throwaway redis-server (no persistence) pinned to CPU 0 and
# streamq-bench to CPU 1, as in run.sh; rounds alternate which goes first:
#   off  streamq-bench e2e: no metrics (the default);
#   on   streamq-bench e2e --http 127.0.0.1:PORT: streamq::metrics watching the client, the
#        publisher, the consumer and the topic's group (sampled every second), served by the
#        HTTP endpoint on the same io_context, and scraped from outside (curl, GET /metrics)
#        every --scrape-ms while it runs.
# Prints a per-round table, then one JSON line: the ops_per_sec medians and metrics_ratio =
# on / off (of the medians), with the per-round figures.
#
# usage: benchmarks/run_metrics.sh [--count N] [--rounds R] [--scrape-ms MS] [--out FILE]
#   --count      messages per run (default 300000, run.sh's e2e saturation count)
#   --rounds     rounds of one off and one on run (default 5)
#   --scrape-ms  time between two scrapes of /metrics in the on runs (default 1000)
#   --out        raw results, one JSON line per run (default BUILD_DIR/bench-metrics-DATE.jsonl)
# Binaries come from STREAMQ_BUILD_DIR (default build/release). STREAMQ_BENCH_WAIT_IDLE=S waits
# up to S seconds before each run for a second in which the CPUs are idle, as in run.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup"
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
cd "$STREAMQ_ROOT"

count=300000
rounds=5
scrape_ms=1000
build_dir="${STREAMQ_BUILD_DIR:-build/release}"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --scrape-ms) scrape_ms="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run_metrics.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$count$rounds$scrape_ms" in
  *[!0-9]* | "") echo "run_metrics.sh: --count, --rounds, --scrape-ms take numbers" >&2; exit 2 ;;
esac
if [ "$count" -le 0 ] || [ "$rounds" -le 0 ] || [ "$scrape_ms" -le 0 ]; then
  echo "run_metrics.sh: --count, --rounds, --scrape-ms must be > 0" >&2
  exit 2
fi
bench="$build_dir/benchmarks/streamq-bench"
[ -x "$bench" ] || { echo "run_metrics.sh: $bench not built" >&2; exit 1; }
for tool in python3 curl; do
  command -v "$tool" >/dev/null || { echo "run_metrics.sh: $tool is needed" >&2; exit 1; }
done
out="${out:-$build_dir/bench-metrics-$(date +%Y%m%d-%H%M%S).jsonl}"
mkdir -p "$(dirname "$out")"
: >"$out"

pin_cpus "server and client"
trap 'exit 130' INT
trap 'exit 143' TERM
streamq_start_redis "${pin_server[@]}"
port="$STREAMQ_REDIS_PORT"
url="redis://127.0.0.1:$port"
echo "redis-server on port $port (CPU 0); streamq-bench and the scraper on CPU 1" >&2

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

failed=0
scrapes=0
# run ROUND KIND: one e2e run on an empty server; KIND on serves and is scraped.
run() {
  local round="$1" kind="$2" log args=(--count "$count") http_port scraper=""
  redis-cli -p "$port" FLUSHALL >/dev/null
  wait_idle
  log="$(mktemp "${TMPDIR:-/tmp}/streamq-bench.XXXXXX")"
  if [ "$kind" = on ]; then
    http_port="$(free_port)"
    args+=(--http "127.0.0.1:$http_port")
    # The scraper: GET /metrics every scrape_ms until the run ends; counts the 200s.
    "${pin_client[@]}" bash -c '
      n=0
      while sleep "$2"; do
        if curl -sf -o /dev/null "http://127.0.0.1:$1/metrics"; then n=$((n + 1)); echo "$n" >"$3"; fi
      done' _ "$http_port" "$(awk -v ms="$scrape_ms" 'BEGIN { print ms / 1000 }')" "$log.scrapes" &
    scraper=$!
  fi
  echo "round $round/$rounds: $kind: streamq-bench e2e ${args[*]}" >&2
  if "${pin_client[@]}" "$bench" e2e --redis "$url" "${args[@]}" >"$log" 2>"$log.err" </dev/null; then
    python3 - "$round" "$kind" "$out" "$log" "$log.scrapes" <<'PY' || failed=1
import json, sys
rnd, kind, out, log, scrapes = sys.argv[1:6]
rec = [json.loads(l) for l in open(log) if l.strip().startswith("{")][-1]
rec["round"], rec["kind"] = int(rnd), kind
try:
    rec["scrapes"] = int(open(scrapes).read())
except (OSError, ValueError):
    rec["scrapes"] = 0
open(out, "a").write(json.dumps(rec) + "\n")
PY
  else
    echo "streamq-bench e2e ${args[*]} failed:" >&2
    tail -n 20 "$log.err" >&2
    failed=1
  fi
  if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; fi
  rm -f "$log" "$log.err" "$log.scrapes"
}

for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then run "$round" off; run "$round" on
  else run "$round" on; run "$round" off; fi
done

python3 - "$out" "$count" "$scrape_ms" <<'PY'
import json, statistics, sys
path, count, scrape_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [json.loads(l) for l in open(path) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["round"], {})[r["kind"]] = r
print("\ne2e, %d messages: metrics off vs on (served over HTTP, scraped every %d ms)"
      % (count, scrape_ms))
print("%-6s %9s %9s %6s %7s %7s %7s" % ("round", "off/s", "on/s", "ratio", "off cli", "on cli",
                                          "scrapes"))
ratios = []
for rnd in sorted(by):
    off, on = by[rnd].get("off"), by[rnd].get("on")
    if not (off and on):
        continue
    ratio = on["ops_per_sec"] / off["ops_per_sec"]
    ratios.append(ratio)
    print("%-6s %9.0f %9.0f %6.3f %7.2f %7.2f %7d" % (
        rnd, off["ops_per_sec"], on["ops_per_sec"], ratio, off["client_cpu_us_per_op"],
        on["client_cpu_us_per_op"], on.get("scrapes", 0)))
print("ratio: on / off; cli: streamq-bench CPU us per message")
med = lambda kind, f: statistics.median([r[f] for r in rows if r["kind"] == kind])
off, on = med("off", "ops_per_sec"), med("on", "ops_per_sec")
print(json.dumps({
    "scenario": "metrics", "count": count, "rounds": len(ratios), "scrape_ms": scrape_ms,
    "off_ops_per_sec": round(off), "on_ops_per_sec": round(on),
    "metrics_ratio": round(on / off, 3),
    "round_ratio_median": round(statistics.median(ratios), 3) if ratios else None,
    "off_cpu_us_per_op": med("off", "client_cpu_us_per_op"),
    "on_cpu_us_per_op": med("on", "client_cpu_us_per_op"),
    "round_ratios": [round(x, 3) for x in ratios]}))
print("median metrics_ratio %.3f (target >= 0.97: %s)" % (
    on / off, "meets" if on / off >= 0.97 else "MISSES"))
PY
exit "$failed"
