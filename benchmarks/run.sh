#!/usr/bin/env bash
# XADD throughput of streamq next to redis-benchmark and plain hiredis, and end-to-end
# (publish -> consumer group -> ack) throughput and latency of streamq next to a raw hiredis
# producer/consumer, measured in one run against one server, so the ratios hold on whatever
# machine runs it; then the lateness of delayed tasks moved by streams::scheduler. The server
# (no persistence) is pinned to CPU 0 and every client to CPU 1, as on the 2-core CI machines.
#
# usage: benchmarks/run.sh [--count N] [--payload BYTES] [--out FILE] [--repeat K] [--e2e-count N]
#                          [--delayed-count N]
#   --count    operations per run (default 1000000, env STREAMQ_BENCH_COUNT)
#   --e2e-count  messages of the streamq e2e run at saturation (default 300000, env
#              STREAMQ_BENCH_E2E_COUNT); the paced e2e runs last ~4 s each at 1k, 10k, 50k msg/s
#   --delayed-count  delayed tasks due over a 5 s window, moved by one scheduler (default
#              100000, env STREAMQ_BENCH_DELAYED_COUNT); the run takes ~10 s
#   --payload  bytes in the field value (default 100, env STREAMQ_BENCH_PAYLOAD)
#   --out      raw results, one JSON line per run (default BUILD_DIR/bench-DATE.jsonl)
#   --repeat   rounds of every configuration, interleaved; the table shows medians
#              (default 1, env STREAMQ_BENCH_REPEAT)
# On a shared machine, STREAMQ_BENCH_WAIT_IDLE=S waits up to S seconds before each run for a
# second in which the CPUs are idle (< 5% busy); the table's noise column shows what is left.
# Binaries come from STREAMQ_BUILD_DIR (default build/release): build that preset first.
# Redis Cluster (routing cost, per-node figures): benchmarks/run_cluster.sh.
# Partitioned topics against plain ones (issue 12): benchmarks/run_partitions.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup"
source "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"
cd "$STREAMQ_ROOT"

count="${STREAMQ_BENCH_COUNT:-1000000}"
payload="${STREAMQ_BENCH_PAYLOAD:-100}"
build_dir="${STREAMQ_BUILD_DIR:-build/release}"
repeat="${STREAMQ_BENCH_REPEAT:-1}"
e2e_count="${STREAMQ_BENCH_E2E_COUNT:-300000}"
delayed_count="${STREAMQ_BENCH_DELAYED_COUNT:-100000}"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --payload) payload="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --e2e-count) e2e_count="$2"; shift 2 ;;
    --delayed-count) delayed_count="$2"; shift 2 ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$count$payload$repeat$e2e_count$delayed_count" in
  *[!0-9]*)
    echo "run.sh: --count, --payload, --repeat, --e2e-count and --delayed-count take numbers" >&2
    exit 2 ;;
esac
if [ "$count" -le 0 ] || [ "$repeat" -le 0 ] || [ "$e2e_count" -le 0 ] ||
  [ "$delayed_count" -le 0 ]; then
  echo "run.sh: --count, --repeat, --e2e-count and --delayed-count must be > 0" >&2
  exit 2
fi
out="${out:-$build_dir/bench-$(date +%Y%m%d-%H%M%S).jsonl}"
command -v python3 >/dev/null || { echo "run.sh: python3 is needed to parse results" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
: >"$out"

pin_cpus "server and clients"

trap 'exit 130' INT
trap 'exit 143' TERM
streamq_start_redis "${pin_server[@]}"
port="$STREAMQ_REDIS_PORT"
url="redis://127.0.0.1:$port"
value="$(head -c "$payload" /dev/zero | tr '\0' x)"
failed=0

# Reads one tool's output on stdin and appends it to $out as one JSON object tagged with tool,
# kind, config and round: the tool's own last JSON line, or redis-benchmark's --csv row. When
# the tool reports no client CPU, the whole process's CPU time over OPS operations is used.
# noise_pct: CPU busy on the machine during the run that was neither the tool nor the server
# (other jobs sharing these 2 CPUs), as a percentage of one CPU; above ~5% the row is suspect.
read -r -d '' record_py <<'PY' || true
import csv, json, sys
tool, kind, config, rnd, ops, cpu_file, out = sys.argv[1:8]
t0, t1, b0, b1, s0, s1 = (float(x) for x in sys.argv[8:14])
wall, busy, server = t1 - t0, b1 - b0, s1 - s0
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
        row = dict(zip(rows[0], rows[-1]))
        rec = {"ops_per_sec": float(row["rps"]), "count": int(ops)}
        for q in ("p50", "p99"):
            if q + "_latency_ms" in row:
                rec[q + "_us"] = float(row[q + "_latency_ms"]) * 1e3
if rec is None or "ops_per_sec" not in rec:
    sys.exit("cannot find a result in the output of %s %s:\n%s" % (tool, config, raw[-2000:]))
try:
    tool_cpu, wrapper_cpu = (float(x) for x in open(cpu_file).read().split()[:2])
except (OSError, ValueError):
    tool_cpu = wrapper_cpu = None
if "client_cpu_us_per_op" not in rec and tool_cpu is not None:
    rec["client_cpu_us_per_op"] = round(tool_cpu * 1e6 / int(ops), 3)
    rec["client_cpu_whole_process"] = True
if tool_cpu is not None and wall > 0:
    rec["server_cpu_us_per_op"] = round(server * 1e6 / int(ops), 3)
    rec["noise_pct"] = round(max(0.0, 100 * (busy - server - tool_cpu - wrapper_cpu) / wall), 1)
tagged = {"tool": tool, "kind": kind, "config": config, "round": int(rnd)}
tagged.update({k: v for k, v in rec.items() if k not in tagged})
with open(out, "a") as f:
    f.write(json.dumps(tagged) + "\n")
PY

# run TOOL KIND CONFIG OPS COMMAND...: one measurement of OPS operations on an empty server.
run() {
  local tool="$1" kind="$2" config="$3" ops="$4" log cpu s0 b0 t0 b1 t1 s1
  shift 4
  redis-cli -p "$port" FLUSHALL >/dev/null
  wait_idle
  echo "round $round/$repeat: running $tool $kind $config" >&2
  log="$(mktemp "${TMPDIR:-/tmp}/streamq-bench.XXXXXX")"
  cpu="$(mktemp "${TMPDIR:-/tmp}/streamq-bench-cpu.XXXXXX")"
  s0="$(servers_seconds "$port")" b0="$(busy_seconds)" t0="$(date +%s.%N)"
  if "${pin_client[@]}" python3 -c "$cpu_py" "$cpu" "$@" >"$log" 2>&1 </dev/null; then
    b1="$(busy_seconds)" t1="$(date +%s.%N)" s1="$(servers_seconds "$port")"
    python3 -c "$record_py" "$tool" "$kind" "$config" "$round" "$ops" "$cpu" "$out" \
      "$t0" "$t1" "$b0" "$b1" "$s0" "$s1" <"$log" || failed=1
  else
    echo "$tool $config failed:" >&2
    tail -n 20 "$log" >&2
    failed=1
  fi
  rm -f "$log" "$cpu"
}

rb=(redis-benchmark -h 127.0.0.1 -p "$port" -n "$count" --csv)
hiredis_args=(--port "$port" --count "$count" --payload "$payload")
bench="$build_dir/benchmarks/streamq-bench"
for name in xadd e2e; do
  [ -x "$build_dir/benchmarks/hiredis-$name-baseline" ] ||
    echo "note: $build_dir/benchmarks/hiredis-$name-baseline not built: skipped" >&2
done
[ -x "$bench" ] || echo "note: $bench not built: streamq rows skipped" >&2

# Rounds interleave the tools, so a slow spell of the machine hits all of them alike.
for round in $(seq 1 "$repeat"); do
  run redis-benchmark xadd "-P 256 -c 1" "$count" "${rb[@]}" -P 256 -c 1 XADD bench:rb '*' f "$value"
  run redis-benchmark xadd "-P 64 -c 50" "$count" "${rb[@]}" -P 64 -c 50 XADD bench:rb '*' f "$value"

  for name in xadd e2e; do
    exe="$build_dir/benchmarks/hiredis-$name-baseline"
    if [ -x "$exe" ]; then
      run hiredis "$name" "window=256" "$count" "$exe" "${hiredis_args[@]}" --window 256
    fi
  done

  if [ -x "$bench" ]; then
    for c in 1 16 64 256 1024; do
      # Few requests in flight are bound by round trips, not CPU: fewer operations say as much.
      n=$((c * 10000 > count ? count : c * 10000))
      run streamq xadd "concurrency=$c" "$n" "$bench" xadd --redis "$url" --count "$n" \
        --payload "$payload" --concurrency "$c"
    done
    # End to end: publishing coroutines, one consumer group, typed messages. Paced runs
    # offer a fixed rate for ~4 s with 64 publishers; the last one is unpaced (saturation),
    # with 128 publishes in flight: 64 cannot cover the round trip at that rate, and the
    # hiredis baseline gets a window of 256.
    for rate in 1000 10000 50000 0; do
      if [ "$rate" -eq 0 ]; then n="$e2e_count" config="saturation" c=128; else
        n=$((rate * 4)) config="rate=$rate" c=64; fi
      run streamq e2e "$config" "$n" "$bench" e2e --redis "$url" --count "$n" \
        --payload "$payload" --concurrency "$c" --rate "$rate"
    done
    # Delayed tasks: 64 coroutines schedule N typed messages due uniformly over 5 s; one
    # scheduler in the same process moves them into the topic; lateness from the entry IDs.
    run streamq delayed "window=5000ms" "$delayed_count" "$bench" delayed --redis "$url" \
      --count "$delayed_count" --payload "$payload" --concurrency 64 --window-ms 5000
  fi
done

# The table: per configuration, medians over the rounds run on a quiet machine (noise <= 5%;
# all rounds when none was quiet), the best round, and the ratios the targets are about.
python3 - "$out" "$count" "$payload" "$repeat" "$(nproc)" "${#pin_client[@]}" "$e2e_count" \
  "$delayed_count" <<'PY'
import json, statistics, sys
path, count, payload, repeat, ncpu, pinned, e2e_count, delayed_count = sys.argv[1:9]
rows = [json.loads(l) for l in open(path) if l.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["tool"], r["kind"], r["config"]), []).append(r)
quiet_limit = 5.0

def median(runs, field):
    vals = [r[field] for r in runs if isinstance(r.get(field), (int, float))]
    return statistics.median(vals) if vals else None

table = []
for (tool, kind, config), runs in groups.items():
    quiet = [r for r in runs if r.get("noise_pct", 0) <= quiet_limit]
    used = quiet or runs
    table.append({"tool": tool, "kind": kind, "config": config,
                  "ops": median(used, "ops_per_sec"),
                  "best": max(r["ops_per_sec"] for r in runs),
                  "p50": median(used, "p50_us"), "p99": median(used, "p99_us"),
                  "p999": median(used, "p999_us"), "pub": median(used, "publish_per_sec"),
                  "sched": median(used, "schedule_per_sec"),
                  "late50": median(used, "lateness_p50_ms"),
                  "late99": median(used, "lateness_p99_ms"),
                  "latemax": median(used, "lateness_max_ms"),
                  "cpu": median(used, "client_cpu_us_per_op"),
                  "server": median(used, "server_cpu_us_per_op"),
                  "noise": median(used, "noise_pct"),
                  "rounds": "%d/%d" % (len(quiet), len(runs)),
                  "whole": any(r.get("client_cpu_whole_process") for r in runs)})

def find(tool, config, field="ops"):
    return next((t[field] for t in table if t["tool"] == tool and t["kind"] == "xadd"
                 and t["config"] == config), None)
ref = find("streamq", "concurrency=256")

def fmt(v, spec):
    return spec % v if isinstance(v, (int, float)) else "-"

print("\nXADD of %s-byte values, up to %s operations per run, %s round(s) (raw: %s)"
      % (payload, count, repeat, path))
print("%d CPUs; %s" % (int(ncpu), "redis-server pinned to CPU 0, clients to CPU 1" if pinned != "0"
                       else "not pinned"))
head = ("tool", "kind", "config", "ops/s", "best", "/sq@256", "p50 us", "p99 us", "cli us",
        "srv us", "noise", "quiet")
line = "%-15s %-4s %-17s %9s %9s %7s %7s %7s %7s %7s %6s %6s"
print(line % head)
for t in table:
    if t["tool"] == "streamq" and t["kind"] in ("e2e", "delayed"):
        continue  # in the end-to-end and delayed-task tables below
    ratio = fmt(t["ops"] / ref, "%.2f") if ref and t["kind"] == "xadd" else "-"
    print(line % (t["tool"], t["kind"], t["config"], fmt(t["ops"], "%.0f"), fmt(t["best"], "%.0f"),
                  ratio, fmt(t["p50"], "%.0f"), fmt(t["p99"], "%.0f"),
                  fmt(t["cpu"], "%.2f") + ("*" if t["whole"] else ""), fmt(t["server"], "%.2f"),
                  fmt(t["noise"], "%.0f%%"), t["rounds"]))
print("ops/s, latency, CPU: medians over the quiet rounds; best: the fastest round of all;\n"
      "/sq@256: ops/s relative to streamq at concurrency 256; cli us, srv us: client and\n"
      "redis-server CPU time per operation; noise: CPU used by other jobs during the run, in %\n"
      "of one CPU; quiet: rounds with noise <= 5% (the medians use only those, if any)")
if any(t["whole"] for t in table):
    print("* CPU time of the whole client process (getrusage of the child), not just the timed window")
if any(t["rounds"].startswith("0/") for t in table):
    print("WARNING: some configurations had no quiet round: other jobs shared the CPUs and their"
          " numbers are not trustworthy; rerun on an idle machine (see STREAMQ_BENCH_WAIT_IDLE)")

def target(label, num, den, goal, what="target"):
    if num and den:
        verdict = "meets" if num / den >= goal else "MISSES"
        print("%-42s %5.2f  (%s >= %.1f: %s)" % (label, num / den, what, goal, verdict))
for field, name in (("ops", "medians"), ("best", "best rounds")):
    print("\nratios of %s" % name)
    sq = find("streamq", "concurrency=256", field)
    target("streamq@256 / redis-benchmark -P 256 -c 1", sq,
           find("redis-benchmark", "-P 256 -c 1", field), 0.8)
    target("streamq@256 / hiredis window=256", sq, find("hiredis", "window=256", field), 1.0)
    target("streamq@1024 / streamq@256", find("streamq", "concurrency=1024", field), sq, 0.9,
           "throughput holds if")

def e2e(tool, config, field="ops"):
    return next((t[field] for t in table if t["tool"] == tool and t["kind"] == "e2e"
                 and t["config"] == config), None)
e2e_rows = [t for t in table if t["kind"] == "e2e"]
if e2e_rows:
    print("\nEnd to end (publish -> consumer group -> handler -> XACK), %s-byte payloads; streamq:"
          " 64 publishing\ncoroutines (128 at saturation), one consumer (256 handlers),"
          " saturation = %s messages"
          % (payload, e2e_count))
    line = "%-8s %-17s %9s %9s %9s %8s %8s %8s %7s %7s %6s %6s"
    print(line % ("tool", "config", "acked/s", "best", "publ/s", "p50 us", "p99 us", "p999 us",
                  "cli us", "srv us", "noise", "quiet"))
    for t in e2e_rows:
        print(line % (t["tool"], t["config"], fmt(t["ops"], "%.0f"), fmt(t["best"], "%.0f"),
                      fmt(t["pub"], "%.0f"), fmt(t["p50"], "%.0f"), fmt(t["p99"], "%.0f"),
                      fmt(t["p999"], "%.0f"), fmt(t["cpu"], "%.2f"), fmt(t["server"], "%.2f"),
                      fmt(t["noise"], "%.0f%%"), t["rounds"]))
    print("latency: publish call to handler start (streamq); the hiredis baseline reports none")
    for field, name in (("ops", "medians"), ("best", "best rounds")):
        target("streamq-e2e saturation / hiredis-e2e (%s)" % name,
               e2e("streamq", "saturation", field), e2e("hiredis", "window=256", field), 1.0)
    p99 = e2e("streamq", "rate=10000", "p99")
    if isinstance(p99, (int, float)):
        print("%-42s %5.0f  (target < 1000 us: %s)" % ("streamq-e2e p99 at 10k msg/s (us)", p99,
              "meets" if p99 < 1000 else "MISSES"))

delayed_rows = [t for t in table if t["kind"] == "delayed"]
if delayed_rows:
    print("\nDelayed tasks: %s tasks of %s-byte payloads scheduled by 64 coroutines, due uniformly"
          " over 5 s,\nmoved by one scheduler in the same process" % (delayed_count, payload))
    line = "%-8s %-15s %9s %9s %9s %8s %8s %8s %7s %7s %6s %6s"
    print(line % ("tool", "config", "moved/s", "best", "sched/s", "p50 ms", "p99 ms", "max ms",
                  "cli us", "srv us", "noise", "quiet"))
    for t in delayed_rows:
        print(line % (t["tool"], t["config"], fmt(t["ops"], "%.0f"), fmt(t["best"], "%.0f"),
                      fmt(t["sched"], "%.0f"), fmt(t["late50"], "%.0f"),
                      fmt(t["late99"], "%.0f"), fmt(t["latemax"], "%.0f"), fmt(t["cpu"], "%.2f"),
                      fmt(t["server"], "%.2f"), fmt(t["noise"], "%.0f%%"), t["rounds"]))
    print("lateness: stream entry ID time - due time (1 ms resolution); sched/s: publish_at calls\n"
          "per second; cli us: client CPU per task while moving; srv us: server CPU per task,\n"
          "scheduling and moving")
PY
exit "$failed"
