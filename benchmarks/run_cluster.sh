#!/usr/bin/env bash
# streamq on a Redis Cluster (issue 11): starts a local cluster of 3 masters (no replicas, no
# persistence, free loopback ports), every redis-server pinned to CPU 0 and streamq-bench to
# CPU 1 as in run.sh, then per round:
#   routing  the cost of routing: xadd on T keys that all live on ONE master, once straight to
#            it (cluster=off) and once through the cluster client (cluster=on via another
#            node), alternating, in one process (streamq-bench routing; see bench_routing.cpp);
#            prints routing_ratio = routed / direct ops/s;
#   xadd     xadd over T topics spread over the 3 masters, with per-node figures;
#   e2e      publish -> consumer group -> ack over T topics, with per-node figures.
# On a 2-core machine the masters share one core: the figures show what routing costs the
# client, not how a cluster scales.
#
# usage: benchmarks/run_cluster.sh [--count N] [--e2e-count N] [--topics T] [--rounds R]
#                                  [--repeat K] [--out FILE]
#   --count      xadd operations per run, routing and xadd (default 1000000)
#   --e2e-count  messages of the e2e run (default 300000)
#   --topics     topics (streams) per run (default 12)
#   --rounds     direct/routed pairs inside one routing run (default 2)
#   --repeat     rounds of the three runs (default 3)
#   --out        raw results, one JSON line per run (default BUILD_DIR/bench-cluster-DATE.jsonl)
# Binaries come from STREAMQ_BUILD_DIR (default build/release). On a shared machine,
# STREAMQ_BENCH_WAIT_IDLE=S waits up to S seconds before each run for a second in which the
# CPUs are idle (< 5% busy), as in run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source benchmarks/bench_lib.sh

count=1000000
e2e_count=300000
topics=12
rounds=2
repeat=3
build_dir="${STREAMQ_BUILD_DIR:-build/release}"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --e2e-count) e2e_count="$2"; shift 2 ;;
    --topics) topics="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "run_cluster.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$count$e2e_count$topics$rounds$repeat" in
  *[!0-9]* | "")
    echo "run_cluster.sh: --count, --e2e-count, --topics, --rounds, --repeat take numbers" >&2
    exit 2 ;;
esac
bench="$build_dir/benchmarks/streamq-bench"
[ -x "$bench" ] || { echo "run_cluster.sh: $bench not built" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run_cluster.sh: python3 is needed" >&2; exit 1; }
out="${out:-$build_dir/bench-cluster-$(date +%Y%m%d-%H%M%S).jsonl}"
mkdir -p "$(dirname "$out")"
: >"$out"

pin_cpus "servers and client"

dir="$(mktemp -d "${TMPDIR:-/tmp}/streamq-cluster.XXXXXX")"
pids=()
ports=()
stop_cluster() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port P with P and its cluster bus port P+10000 both free (below the ephemeral range).
free_port() {
  local p
  while true; do
    p=$((20000 + RANDOM % 12000))
    if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
      ! (echo >"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null &&
      [[ " ${ports[*]} " != *" $p "* ]]; then
      echo "$p"
      return
    fi
  done
}

for i in 0 1 2; do
  port="$(free_port)"
  mkdir -p "$dir/$port"
  "${pin_server[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
    --cluster-node-timeout 5000 --daemonize no --dir "$dir/$port" \
    --logfile "$dir/$port/redis.log" </dev/null >>"$dir/$port/redis.log" 2>&1 &
  pids+=("$!")
  ports+=("$port")
done
for i in 0 1 2; do
  for _ in $(seq 1 500); do
    redis-cli -p "${ports[$i]}" PING 2>/dev/null | grep -q PONG && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$dir/${ports[$i]}/redis.log" >&2; exit 1; }
    sleep 0.02
  done
done
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
  >"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; exit 1; }
for port in "${ports[@]}"; do
  for _ in $(seq 1 500); do
    redis-cli -p "$port" CLUSTER INFO | grep -q "cluster_state:ok" && break
    sleep 0.02
  done
  redis-cli -p "$port" CLUSTER INFO | grep -q "cluster_state:ok" ||
    { echo "run_cluster.sh: the cluster did not become ok" >&2; exit 1; }
done
url="redis://127.0.0.1:${ports[0]}"  # any node: cluster mode is detected
echo "cluster: masters on ports ${ports[*]} (CPU 0); streamq-bench on CPU 1; via $url" >&2

# Appends the run's JSON lines to $out, tagged with the round and noise_pct: CPU busy on the
# machine during the run that was neither streamq-bench nor the servers (other jobs sharing
# the 2 CPUs), in % of one CPU; above ~5% the figures are suspect.
read -r -d '' record_py <<'PY' || true
import json, sys
rnd, out, log, cpu = sys.argv[1:5]
t0, t1, b0, b1, s0, s1 = (float(x) for x in sys.argv[5:11])
try:
    tool, wrapper = (float(x) for x in open(cpu).read().split()[:2])
    noise = round(max(0.0, 100 * ((b1 - b0) - (s1 - s0) - tool - wrapper) / (t1 - t0)), 1)
except (OSError, ValueError, ZeroDivisionError):
    noise = None
with open(out, "a") as f:
    for line in open(log):
        if line.strip().startswith("{"):
            rec = json.loads(line)
            rec["repeat_round"] = int(rnd)
            rec["noise_pct"] = noise
            f.write(json.dumps(rec) + "\n")
PY

failed=0
# run ROUND NAME ARGS...: one streamq-bench run; its JSON lines go to $out tagged with round.
run() {
  local round="$1" name="$2" log cpu t0 t1 b0 b1 s0 s1
  shift 2
  local port
  for port in "${ports[@]}"; do redis-cli -p "$port" FLUSHALL >/dev/null; done
  wait_idle
  echo "round $round/$repeat: streamq-bench $name $*" >&2
  log="$(mktemp "${TMPDIR:-/tmp}/streamq-bench.XXXXXX")"
  cpu="$log.cpu"
  s0="$(servers_seconds "${ports[@]}")" b0="$(busy_seconds)" t0="$(date +%s.%N)"
  if "${pin_client[@]}" python3 -c "$cpu_py" "$cpu" "$bench" "$name" --redis "$url" "$@" \
    >"$log" 2>"$log.err" </dev/null; then
    b1="$(busy_seconds)" t1="$(date +%s.%N)" s1="$(servers_seconds "${ports[@]}")"
    python3 -c "$record_py" "$round" "$out" "$log" "$cpu" "$t0" "$t1" "$b0" "$b1" "$s0" "$s1"
  else
    echo "streamq-bench $name failed:" >&2
    tail -n 20 "$log.err" >&2
    failed=1
  fi
  rm -f "$log" "$log.err" "$cpu"
}

for round in $(seq 1 "$repeat"); do
  run "$round" routing --topics "$topics" --count "$count" --rounds "$rounds"
  run "$round" xadd --topics "$topics" --count "$count"
  run "$round" e2e --topics "$topics" --count "$e2e_count" --concurrency 128
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
summ = [r for r in rows if r["scenario"] == "routing" and "routing_ratio" in r]
print("\nrouting cost: xadd on %s keys of master %s, direct (cluster=off) vs routed (cluster=on)"
      % (summ[0]["topics"], summ[0]["node"]) if summ else "\nrouting: no result")
line = "%-6s %12s %12s %7s %9s %9s %7s %6s"
print(line % ("round", "direct op/s", "routed op/s", "ratio", "dir us/op", "rtd us/op", "cpu x",
              "noise"))
noise = lambda r: "-" if r.get("noise_pct") is None else "%.0f%%" % r["noise_pct"]
for r in summ:
    print(line % (r["repeat_round"], "%.0f" % r["direct_ops_per_sec"],
                  "%.0f" % r["routed_ops_per_sec"], "%.3f" % r["routing_ratio"],
                  "%.3f" % r["direct_cpu_us_per_op"], "%.3f" % r["routed_cpu_us_per_op"],
                  "%.2f" % r["cpu_ratio"], noise(r)))
if summ:
    med = statistics.median(r["routing_ratio"] for r in summ)
    print("median routing_ratio %.3f (target >= 0.9: %s)" % (med, "meets" if med >= 0.9 else "MISSES"))
for kind in ("xadd", "e2e"):
    runs = [r for r in rows if r["scenario"] == kind]
    if not runs:
        continue
    print("\n%s over %d topics: total ops/s, per master msgs/s (topics), noise"
          % (kind, runs[0]["topics"]))
    for r in runs:
        nodes = "  ".join("%s %.0f (%d)" % (n["node"], n["msgs_per_sec"], n["topics"])
                          for n in r.get("nodes", []))
        print("round %d: %9.0f   %s   %s" % (r["repeat_round"], r["ops_per_sec"], nodes, noise(r)))
print("noise: CPU used by other jobs during the run, in % of one CPU (above ~5%: suspect)")
print("\nraw: %s" % sys.argv[1])
PY
exit "$failed"
