# Shared by benchmarks/run.sh and benchmarks/run_cluster.sh (sourced, not run): CPU pinning,
# waiting for idle CPUs, and the CPU-time figures behind their noise_pct. Both measure the same
# way, so their noise figures mean the same.

# pin_cpus WHO: sets pin_server (CPU 0) and pin_client (CPU 1) to taskset prefixes, or leaves
# them empty with a note naming WHO when there are fewer than 2 CPUs or no taskset.
pin_server=()
pin_client=()
pin_cpus() {
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0)
    pin_client=(taskset -c 1)
  else
    echo "note: fewer than 2 CPUs or no taskset: $1 are not pinned" >&2
  fi
}

# CPU time (s) all CPUs spent busy, from /proc/stat.
busy_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.3f", ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat
}

# servers_seconds PORT...: the CPU time (s) the redis-servers on PORT... used, from INFO cpu.
servers_seconds() {
  local port
  for port in "$@"; do redis-cli -p "$port" INFO cpu; done | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user):/{s+=$2} END{printf "%.6f", s}'
}

# Waits (at most STREAMQ_BENCH_WAIT_IDLE seconds) for one second with the CPUs nearly idle.
wait_idle() {
  local limit="${STREAMQ_BENCH_WAIT_IDLE:-0}" waited=0 before after
  while [ "$waited" -lt "$limit" ]; do
    before="$(busy_seconds)"
    sleep 1
    after="$(busy_seconds)"
    awk -v a="$before" -v b="$after" 'BEGIN{exit !(b - a < 0.05)}' && return 0
    waited=$((waited + 1))
  done
  [ "$limit" -eq 0 ] || echo "note: the CPUs stayed busy for ${limit}s; running anyway" >&2
}

# Runs a command (argv[2:]) and writes the CPU time it used, user + system, to argv[1]: how
# client CPU is known for tools that do not report it themselves (redis-benchmark). The
# wrapper's own CPU goes on a second line, so it is not mistaken for someone else's load.
read -r -d '' cpu_py <<'PY' || true
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
child = resource.getrusage(resource.RUSAGE_CHILDREN)
me = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[1], "w") as f:
    f.write("%.6f\n%.6f\n" % (child.ru_utime + child.ru_stime, me.ru_utime + me.ru_stime))
sys.exit(rc)
PY
