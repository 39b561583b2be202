#!/usr/bin/env bash
# Partitioned topics against plain ones (issue 12's targets, same run: partitioned e2e with
# P = 8 and one consumer >= 0.9x the unpartitioned e2e; key-ordered e2e >= 0.7x of it). One
# throwaway redis-server (no persistence) pinned to CPU 0 and streamq-bench to CPU 1, as in
# run.sh; per round three e2e runs on the emptied server, their order rotating (round 1 plain,
# partitioned, ordered; round 2 partitioned, ordered, plain; round 3 ordered, plain,
# partitioned; ...), so a slow spell of the machine hits all alike:
#   plain        streamq-bench e2e: one topic, one consumer (256 handlers);
#   partitioned  streamq-bench e2e --partitions P: the topic made partitioned, messages keyed
#                k0..k999 through a partitioned_publisher, one partitioned_consumer member
#                holding all P partitions (a consumer of 256 handlers each);
#   ordered      streamq-bench e2e --partitions P --ordered: the same, the member subscribed
#                with per_key_concurrency 1 (one message of a key at a time, in order).
# Prints a per-round table, then one JSON line: the ops_per_sec medians, partition_ratio =
# partitioned / plain and ordered_ratio = ordered / plain (of the medians), with the per-round
# figures.
#
# usage: benchmarks/run_partitions.sh [--count N] [--partitions P] [--rounds R]
#                                     [--concurrency C] [--out FILE]
#   --count        messages per run (default 300000, run.sh's e2e saturation count)
#   --partitions   P of the partitioned runs (default 8)
#   --rounds       rounds of plain, partitioned and ordered runs (default 5)
#   --concurrency  publishing coroutines (default 128, as run.sh's e2e at saturation)
#   --out          raw results, one JSON line per run
#                  (default BUILD_DIR/bench-partitions-DATE.jsonl)
# Binaries come from STREAMQ_BUILD_DIR (default build/release). On a shared machine,
# STREAMQ_BENCH_WAIT_IDLE=S waits up to S seconds before each run for a second in which the
# CPUs are idle (< 5% busy), as in run.sh; noise_pct shows what other jobs used anyway.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup"
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
cd "$STREAMQ_ROOT"

count=300000
partitions=8
rounds=5
concurrency=128
build_dir="${STREAMQ_BUILD_DIR:-build/release}"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run_partitions.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$count$partitions$rounds$concurrency" in
  *[!0-9]* | "")
    echo "run_partitions.sh: --count, --partitions, --rounds, --concurrency take numbers" >&2
    exit 2 ;;
esac
if [ "$count" -le 0 ] || [ "$partitions" -le 0 ] || [ "$rounds" -le 0 ] ||
  [ "$concurrency" -le 0 ]; then
  echo "run_partitions.sh: --count, --partitions, --rounds, --concurrency must be > 0" >&2
  exit 2
fi
bench="$build_dir/benchmarks/streamq-bench"
[ -x "$bench" ] || { echo "run_partitions.sh: $bench not built" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run_partitions.sh: python3 is needed" >&2; exit 1; }
out="${out:-$build_dir/bench-partitions-$(date +%Y%m%d-%H%M%S).jsonl}"
mkdir -p "$(dirname "$out")"
: >"$out"

pin_cpus "server and client"

trap 'exit 130' INT
trap 'exit 143' TERM
streamq_start_redis "${pin_server[@]}"
port="$STREAMQ_REDIS_PORT"
url="redis://127.0.0.1:$port"
echo "redis-server on port $port (CPU 0); streamq-bench on CPU 1" >&2

# Appends the run's JSON line to $out tagged with round, kind and noise_pct: CPU busy on the
# machine during the run that was neither streamq-bench nor the server (other jobs sharing the
# 2 CPUs), in % of one CPU; above ~5% the figures are suspect. server_cpu_us_per_op: the
# server's CPU (INFO cpu) over the run per message, the set-up included.
read -r -d '' record_py <<'PY' || true
import json, sys
rnd, kind, out, log, cpu = sys.argv[1:6]
t0, t1, b0, b1, s0, s1 = (float(x) for x in sys.argv[6:12])
try:
    tool, wrapper = (float(x) for x in open(cpu).read().split()[:2])
    noise = round(max(0.0, 100 * ((b1 - b0) - (s1 - s0) - tool - wrapper) / (t1 - t0)), 1)
except (OSError, ValueError, ZeroDivisionError):
    noise = None
rec = None
for line in open(log):
    if line.strip().startswith("{"):
        rec = json.loads(line)
if rec is None:
    sys.exit("no JSON line from the %s run" % kind)
rec["round"] = int(rnd)
rec["kind"] = kind
rec["noise_pct"] = noise
rec["server_cpu_us_per_op"] = round((s1 - s0) * 1e6 / max(1, rec.get("acked", 0)), 3)
with open(out, "a") as f:
    f.write(json.dumps(rec) + "\n")
PY

failed=0
# run ROUND KIND ARGS...: one streamq-bench e2e run on an empty server.
run() {
  local round="$1" kind="$2" log cpu t0 t1 b0 b1 s0 s1
  shift 2
  redis-cli -p "$port" FLUSHALL >/dev/null
  wait_idle
  echo "round $round/$rounds: $kind: streamq-bench e2e $*" >&2
  log="$(mktemp "${TMPDIR:-/tmp}/streamq-bench.XXXXXX")"
  cpu="$log.cpu"
  s0="$(servers_seconds "$port")" b0="$(busy_seconds)" t0="$(date +%s.%N)"
  if "${pin_client[@]}" python3 -c "$cpu_py" "$cpu" "$bench" e2e --redis "$url" "$@" \
    >"$log" 2>"$log.err" </dev/null; then
    b1="$(busy_seconds)" t1="$(date +%s.%N)" s1="$(servers_seconds "$port")"
    python3 -c "$record_py" "$round" "$kind" "$out" "$log" "$cpu" \
      "$t0" "$t1" "$b0" "$b1" "$s0" "$s1" || failed=1
  else
    echo "streamq-bench e2e $* failed:" >&2
    tail -n 20 "$log.err" >&2
    failed=1
  fi
  rm -f "$log" "$log.err" "$cpu"
}

common=(--count "$count" --concurrency "$concurrency")
# run_kind ROUND KIND: one run of KIND (plain, partitioned or ordered).
run_kind() {
  case "$2" in
    plain) run "$1" plain "${common[@]}" ;;
    partitioned) run "$1" partitioned "${common[@]}" --partitions "$partitions" ;;
    ordered) run "$1" ordered "${common[@]}" --partitions "$partitions" --ordered ;;
  esac
}
kinds=(plain partitioned ordered)
for round in $(seq 1 "$rounds"); do
  # Round r starts with kinds[(r - 1) mod 3] and goes on in the same cyclic order.
  for i in 0 1 2; do
    run_kind "$round" "${kinds[$(((round - 1 + i) % 3))]}"
  done
done

python3 - "$out" "$partitions" "$count" "$concurrency" <<'PY'
import json, statistics, sys
path, partitions, count, concurrency = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in open(path) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["round"], {})[r["kind"]] = r
print("\ne2e, %s messages, %s publishing coroutines: plain vs partitioned (P = %d, one member)"
      " vs key-ordered (the same, per_key_concurrency 1)" % (count, concurrency, partitions))
line = ("%-6s %9s %9s %9s %6s %6s %7s %7s %7s %6s %6s %6s %6s %6s %6s %5s %5s %5s")
print(line % ("round", "plain/s", "part/s", "ord/s", "ratio", "o-rat", "pl p50", "pt p50",
              "or p50", "pl cli", "pt cli", "or cli", "pl srv", "pt srv", "or srv",
              "noise", "noise", "noise"))
ratios = []
ordered_ratios = []
fmt = lambda v, spec: "-" if v is None else spec % v
get = lambda r, field: None if r is None else r.get(field)
for rnd in sorted(by):
    pl, pt, od = by[rnd].get("plain"), by[rnd].get("partitioned"), by[rnd].get("ordered")
    if not (pl and (pt or od)):
        continue
    ratio = pt["ops_per_sec"] / pl["ops_per_sec"] if pt and pl["ops_per_sec"] else None
    if ratio is not None:
        ratios.append(ratio)
    oratio = od["ops_per_sec"] / pl["ops_per_sec"] if od and pl["ops_per_sec"] else None
    if oratio is not None:
        ordered_ratios.append(oratio)
    print(line % (rnd, "%.0f" % pl["ops_per_sec"], fmt(get(pt, "ops_per_sec"), "%.0f"),
                  fmt(get(od, "ops_per_sec"), "%.0f"), fmt(ratio, "%.3f"), fmt(oratio, "%.3f"),
                  "%.0f" % pl["p50_us"], fmt(get(pt, "p50_us"), "%.0f"),
                  fmt(get(od, "p50_us"), "%.0f"),
                  "%.2f" % pl["client_cpu_us_per_op"], fmt(get(pt, "client_cpu_us_per_op"), "%.2f"),
                  fmt(get(od, "client_cpu_us_per_op"), "%.2f"),
                  "%.2f" % pl["server_cpu_us_per_op"], fmt(get(pt, "server_cpu_us_per_op"), "%.2f"),
                  fmt(get(od, "server_cpu_us_per_op"), "%.2f"),
                  fmt(pl["noise_pct"], "%.0f%%"), fmt(get(pt, "noise_pct"), "%.0f%%"),
                  fmt(get(od, "noise_pct"), "%.0f%%")))
print("ratio: partitioned / plain; o-rat: ordered / plain; p50 in us (publish call to handler\n"
      "start); cli, srv: client and redis-server CPU us per message; noise: other jobs' CPU\n"
      "during the run in % of one CPU (plain, partitioned, ordered)")

def med(kind, field):
    vals = [r[field] for r in rows if r["kind"] == kind and isinstance(r.get(field), (int, float))]
    return statistics.median(vals) if vals else None
plain, part = med("plain", "ops_per_sec"), med("partitioned", "ops_per_sec")
ratio = part / plain if plain and part else None
ordered = med("ordered", "ops_per_sec")
oratio = ordered / plain if plain and ordered else None
summary = {
    "scenario": "partitions", "partitions": partitions, "count": int(count),
    "concurrency": int(concurrency), "rounds": len(ratios),
    "plain_ops_per_sec": round(plain) if plain else None,
    "partitioned_ops_per_sec": round(part) if part else None,
    "partition_ratio": round(ratio, 3) if ratio else None,
    "round_ratio_median": round(statistics.median(ratios), 3) if ratios else None,
    "plain_cpu_us_per_op": med("plain", "client_cpu_us_per_op"),
    "partitioned_cpu_us_per_op": med("partitioned", "client_cpu_us_per_op"),
    "plain_server_cpu_us_per_op": med("plain", "server_cpu_us_per_op"),
    "partitioned_server_cpu_us_per_op": med("partitioned", "server_cpu_us_per_op"),
    "plain_ops_per_sec_rounds": [round(by[r]["plain"]["ops_per_sec"]) for r in sorted(by)
                                 if "plain" in by[r]],
    "partitioned_ops_per_sec_rounds": [round(by[r]["partitioned"]["ops_per_sec"])
                                       for r in sorted(by) if "partitioned" in by[r]],
    "ordered_ops_per_sec": round(ordered) if ordered else None,
    "ordered_ratio": round(oratio, 3) if oratio else None,
    "ordered_round_ratio_median": round(statistics.median(ordered_ratios), 3)
                                  if ordered_ratios else None,
    "ordered_cpu_us_per_op": med("ordered", "client_cpu_us_per_op"),
    "ordered_server_cpu_us_per_op": med("ordered", "server_cpu_us_per_op"),
    "ordered_ops_per_sec_rounds": [round(by[r]["ordered"]["ops_per_sec"])
                                   for r in sorted(by) if "ordered" in by[r]],
}
if ratio is not None:
    print("median partition_ratio %.3f (target >= 0.9: %s)"
          % (ratio, "meets" if ratio >= 0.9 else "MISSES"))
if oratio is not None:
    print("median ordered_ratio %.3f (target >= 0.7: %s)"
          % (oratio, "meets" if oratio >= 0.7 else "MISSES"))
print("raw: %s" % path)
print(json.dumps(summary))  # last: `tail -n 1` gives it
PY
exit "$failed"
