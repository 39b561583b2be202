#!/usr/bin/env python3
"""The streamq command against a real server (run by streamq-run-with-server, which sets
STREAMQ_REDIS_URL). Seeds a topic with envelopes (docs/wire-format.md), two consumer groups,
pending entries and a dead-letter entry, real dead letters (streamq-test-worker fails a job
until the consumer dead-letters it) and scheduler state (streamq-cli-test-schedule), then runs
the binary and checks its output and exit codes. Usage: cli_test.py PATH/TO/streamq
PATH/TO/streamq-test-worker PATH/TO/streamq-cli-test-schedule DESCRIPTOR_SET PROTO_FILE"""

import base64
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

BINARY = sys.argv[1]
WORKER = sys.argv[2]
SCHEDULE = sys.argv[3]
DESCRIPTORS = sys.argv[4]
PROTO = sys.argv[5]
URL = os.environ["STREAMQ_REDIS_URL"]
ADDR = urllib.parse.urlparse(URL)
FAILURES = []


class Resp:
    """Just enough RESP2 to seed the server."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("unexpected reply " + repr(line))

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()


def field(number, data):
    """A length-delimited protobuf field (numbers and lengths below 128)."""
    return bytes([number << 3 | 2, len(data)]) + data


def envelope(message_id, type_name, payload):
    created = int(time.time() * 1000)
    varint = b""
    while True:
        byte, created = created & 0x7F, created >> 7
        varint += bytes([byte | (0x80 if created else 0)])
        if not created:
            break
    return (field(1, message_id.encode()) + field(2, type_name.encode()) + field(3, payload)
            + bytes([4 << 3]) + varint)


def run(*args, env_url=True):
    env = dict(os.environ)
    if not env_url:
        env.pop("STREAMQ_REDIS_URL", None)
    # stdin is never a terminal here: destructive commands need --yes.
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def order(order_id):
    """A streamq.test.Order payload (test/proto/test_messages.proto) with only its id."""
    return field(1, order_id.encode())


def wait_for(condition, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    check(False, "timed out waiting for " + what)
    return False


def blocked_in_xread(r):
    return b"cmd=xread" in r.call("CLIENT", "LIST")


def check(condition, what, *context):
    if not condition:
        FAILURES.append(what)
        print("FAILED:", what, *context, file=sys.stderr)


def run_json(*args):
    code, out, err = run("--json", *args)
    check(code == 0, f"{args} exits 0", code, err)
    try:
        return json.loads(out)
    except ValueError:
        check(False, f"{args} prints one JSON object", out)
        return {}


def seed():
    r = Resp(ADDR.hostname, ADDR.port)
    stream = "streamq:{orders}:stream"
    ids = [r.call("XADD", stream, "*", "v", "1", "e",
                  envelope(f"m-{i}", "streamq.test.Order", b"order %d" % i)).decode()
           for i in range(3)]
    ids.append(r.call("XADD", stream, "*", "v", "1", "e",
                      envelope("m-3", "streamq.test.Refund", b"refund")).decode())
    r.call("XGROUP", "CREATE", stream, "billing", "0")
    r.call("XGROUP", "CREATE", stream, "audit", "$")
    r.call("XREADGROUP", "GROUP", "billing", "c1", "COUNT", "2", "STREAMS", stream, ">")
    # A second delivery of the first entry, to c2: delivery count 2.
    r.call("XCLAIM", stream, "billing", "c2", "0", ids[0])
    # Not a valid dead letter: listed with decoded=false, never skipped.
    dead_id = r.call("XADD", "streamq:{orders}:dead:billing", "*", "junk", "1").decode()
    # A user the ACL allows to connect but not to run XINFO.
    r.call("ACL", "SETUSER", "reader", "on", ">reader-pass", "~*", "+@all", "-xinfo")
    return ids, dead_id


def test_topics():
    listed = run_json("topics")
    by_topic = {t["topic"]: t for t in listed.get("topics", [])}
    check("orders" in by_topic, "topics lists orders", listed)
    if "orders" in by_topic:
        t = by_topic["orders"]
        check((t["length"], t["groups"], t["pending"], t["dead_letters"]) == (4, 2, 2, 1),
              "topics: orders' length, groups, pending, dead letters", t)
        check(t["oldest_pending_age_ms"] is not None and t["oldest_pending_age_ms"] >= 0,
              "topics: the oldest pending entry's age", t)
        check(set(t) == {"topic", "partitions", "length", "entries_added", "groups", "lag",
                         "lag_is_lower_bound", "pending", "oldest_pending_age_ms",
                         "dead_letters", "delayed"}, "topics: JSON keys", sorted(t))
    one = run_json("topics", "orders")
    check([t["topic"] for t in one.get("topics", [])] == ["orders"], "topics TOPIC", one)
    code, out, _ = run("topics")
    check(code == 0 and "OLDEST-PENDING-MS" in out and "orders" in out, "topics table", out)
    code, _, err = run("topics", "nosuch")
    check(code == 4 and err == 'streamq: topic "nosuch" does not exist\n', "topics of a missing "
          "topic", code, err)


def test_dead_letters(r):
    """Real dead letters: streamq-test-worker fails each job 5 times (max_attempts), the
    consumer dead-letters it; requeued by the CLI, the same worker then handles it."""
    stream = "streamq:{jobs}:stream"
    dead = "streamq:{jobs}:dead:workers"
    r.call("XGROUP", "CREATE", stream, "workers", "0", "MKSTREAM")
    job_ids = {r.call("XADD", stream, "*", "v", "1", "e",
                      envelope(job, "streamq.test.Order", order(job))).decode(): job
               for job in ("job-1", "job-2")}
    worker = subprocess.Popen([WORKER, URL, "jobs", "workers", "w1", "0", "5"])
    try:
        if not wait_for(lambda: int(r.call("XLEN", dead)) == 2, "two dead letters"):
            return
        letters = run_json("dead-letters", "list", "jobs", "workers").get("entries", [])
        check([(e["decoded"], e["type"], e["attempts"]) for e in letters] ==
              [(True, "streamq.test.Order", 5)] * 2, "dead-letters list of real letters", letters)
        if len(letters) != 2:
            return
        # The worker dead-letters them in either order: `first` is job-1's letter.
        letters.sort(key=lambda e: job_ids.get(e["original_id"], ""))
        first, second = letters[0]["id"], letters[1]["id"]

        shown = run_json("--descriptor-set", DESCRIPTORS, "dead-letters", "show", "jobs",
                         "workers", first)
        env = shown.get("envelope", {})
        check(env.get("payload") == {"id": "job-1"} and env.get("type") == "streamq.test.Order",
              "show: the payload as JSON through a descriptor set", shown)
        check(base64.b64decode(env.get("payload_base64", "")) == order("job-1"),
              "show: the raw payload too", env)
        check(shown.get("original_id") == letters[0]["original_id"], "show: the letter", shown)
        by_proto = run_json("--proto", PROTO, "dead-letters", "show", "jobs", "workers", first)
        check(by_proto.get("envelope", {}).get("payload") == {"id": "job-1"},
              "show: the payload as JSON through a .proto file", by_proto)
        raw = run_json("dead-letters", "show", "jobs", "workers", first)
        check(raw.get("envelope", {}).get("payload") is None, "show: no types, no JSON payload",
              raw)
        code, out, _ = run("dead-letters", "show", "jobs", "workers", first)
        check(code == 0 and "raw 7 bytes: \\x0a\\x05job-1" in out and "attempts      5" in out,
              "show: raw bytes for people", out)
        code, out, _ = run("--descriptor-set", DESCRIPTORS, "dead-letters", "show", "jobs",
                           "workers", first)
        check(code == 0 and 'payload       {"id":"job-1"}' in out, "show: JSON for people", out)
        code, _, err = run("dead-letters", "show", "jobs", "workers", "1-1")
        check(code == 4 and err == 'streamq: dead letter "1-1" does not exist in jobs/workers\n',
              "show: a missing dead letter", code, err)
        code, _, err = run("--descriptor-set", "/nonexistent.desc", "dead-letters", "show",
                           "jobs", "workers", first)
        check(code == 2 and "nonexistent" in err, "a missing descriptor set is a usage error",
              code, err)

        # Destructive without --yes on a pipe: refused with exit 2, nothing changed.
        code, _, err = run("dead-letters", "requeue", "jobs", "workers", first)
        check(code == 2 and err == "streamq: refusing to requeue 1 dead letter of jobs/workers "
              "without --yes (stdin is not a terminal)\n", "requeue without --yes", code, err)
        code, _, err = run("dead-letters", "purge", "jobs", "workers", "--all")
        check(code == 2 and "without --yes" in err, "purge --all without --yes", code, err)
        check(int(r.call("XLEN", dead)) == 2, "nothing changed without --yes")
        code, _, err = run("dead-letters", "requeue", "jobs", "workers", first, "--all", "--yes")
        check(code == 2 and "one of them" in err, "IDs and --all together", code, err)

        # At a terminal it asks; anything but yes changes nothing.
        controller, terminal = pty.openpty()
        os.write(controller, b"n\n")
        asked = subprocess.run([BINARY, "dead-letters", "requeue", "jobs", "workers", first],
                               stdin=terminal, capture_output=True, text=True, timeout=60)
        os.close(terminal)
        os.close(controller)
        check(asked.returncode == 1 and asked.stderr ==
              "Requeue 1 dead letter of jobs/workers? [y/N] streamq: requeue 1 dead letter of "
              "jobs/workers: not confirmed\n", "requeue asks at a terminal", asked.returncode,
              asked.stderr)
        check(int(r.call("XLEN", dead)) == 2, "nothing changed when not confirmed")

        requeued = run_json("dead-letters", "requeue", "jobs", "workers", first, "--yes")
        check(requeued.get("requeued") == 1 and requeued.get("entries", [{}])[0].get("outcome")
              == "requeued", "requeue by ID", requeued)
        check(requeued.get("entries", [{}])[0].get("entry_id") == letters[0]["original_id"],
              "requeue returns the topic entry", requeued)
        wait_for(lambda: r.call("HGET", "jobs:handled", "job-1") == b"1",
                 "the worker to handle the requeued job")
        check(r.call("HGET", "jobs:handled", "job-2") is None, "job-2 stays dead")

        code, out, err = run("dead-letters", "purge", "jobs", "workers", "--from", second,
                             "--to", "+", "--yes")
        check(code == 0 and out == "purged 1 dead letter of jobs/workers\n" and "\r" not in err,
              "purge a range (no progress bar into a pipe)", code, out, err)
        check(int(r.call("XLEN", dead)) == 0, "the range purged")
        junk = run_json("dead-letters", "purge", "orders", "billing", "--all", "--yes")
        check((junk.get("selected"), junk.get("purged")) == (1, 1), "purge --all", junk)
        nothing = run_json("dead-letters", "requeue", "jobs", "workers", "--all")
        check(nothing.get("selected") == 0, "requeue of nothing needs no --yes", nothing)

        code, _, err = run("dead-letters", "requeue", "jobs", "nogroup", "--all", "--yes")
        check(code == 4 and "consumer group \"nogroup\" does not exist" in err,
              "requeue of a missing group", code, err)
        code, _, err = run("dead-letters", "list", "nosuch", "workers")
        check(code == 4 and err == 'streamq: topic "nosuch" does not exist\n',
              "dead letters of a missing topic", code, err)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)


def test_schedule(r):
    seeded = subprocess.run([SCHEDULE, URL, "mail", "mail-1", "3600000", "nightly",
                             "cron:0 2 * * *@UTC"], capture_output=True, text=True, timeout=30)
    check(seeded.returncode == 0, "seeding the scheduler", seeded.stderr)
    task_id = seeded.stdout.strip()
    delayed = run_json("--descriptor-set", DESCRIPTORS, "delayed", "list", "mail")
    tasks = delayed.get("tasks", [])
    check(delayed.get("waiting") == 1 and [t["id"] for t in tasks] == [task_id],
          "delayed list", delayed)
    if tasks:
        check(tasks[0]["envelope"]["payload"] == {"id": "mail-1"}, "delayed payload", tasks[0])
        check(tasks[0]["due_ms"] > time.time() * 1000 + 3000000, "delayed due time", tasks[0])
    code, out, _ = run("delayed", "list", "mail")
    check(code == 0 and task_id in out and "streamq.test.Order" in out, "delayed table", out)
    code, _, err = run("delayed", "list", "nosuch")
    check(code == 4 and 'topic "nosuch" does not exist' in err, "delayed of a missing topic",
          code, err)

    recurring = run_json("recurring", "list", "mail")
    rtasks = recurring.get("tasks", [])
    check([(t["name"], t["paused"], t["on_missed"]) for t in rtasks] == [("nightly", False,
          "skip")] and rtasks[0]["spec"].startswith("cron:"), "recurring list", recurring)
    paused = run_json("recurring", "pause", "mail", "nightly")
    check(paused.get("paused") is True, "recurring pause", paused)
    check(run_json("recurring", "list", "mail").get("tasks", [{}])[0].get("paused") is True,
          "recurring list shows it paused")
    code, out, _ = run("recurring", "resume", "mail", "nightly")
    check(code == 0 and out == "resumed recurring task nightly of mail\n", "resume", code, out)
    code, _, err = run("recurring", "pause", "mail", "nosuch")
    check(code == 4 and 'recurring task "nosuch"' in err, "pause a missing task", code, err)

    code, _, err = run("delayed", "cancel", "mail", task_id)
    check(code == 2 and "without --yes" in err, "cancel without --yes", code, err)
    cancelled = run_json("delayed", "cancel", "mail", task_id, "--yes")
    check(cancelled.get("cancelled") is True, "delayed cancel", cancelled)
    code, _, err = run("delayed", "cancel", "mail", task_id, "--yes")
    check(code == 4 and "does not exist" in err, "cancel a missing task", code, err)


def test_trim(r):
    stream = "streamq:{logs}:stream"
    ids = [r.call("XADD", stream, "*", "v", "1", "e",
                  envelope(f"l-{i}", "streamq.test.Order", order(f"l-{i}"))).decode()
           for i in range(10)]
    r.call("XGROUP", "CREATE", stream, "g", "0")
    r.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "4", "STREAMS", stream, ">")
    r.call("XACK", stream, "g", ids[0], ids[1])
    plan = run_json("trim", "logs", "--max-len", "3", "--dry-run")
    check((plan.get("reason"), plan.get("beyond_policy"), plan.get("would_remove"),
           plan.get("spared"), plan.get("held_back_by"), plan.get("safe_cut")) ==
          ("max_length", 7, 2, 5, "g", ids[2]), "trim --dry-run: group g holds the cut", plan)
    check(int(r.call("XLEN", stream)) == 10, "a dry run trims nothing")
    code, out, _ = run("trim", "logs", "--max-len", "3", "--dry-run")
    check(code == 0 and "would remove 2 entries" in out and "5 entries spared: group g" in out,
          "trim --dry-run for people", out)
    young = run_json("trim", "logs", "--max-age", "1h", "--dry-run")
    check((young.get("would_remove"), young.get("beyond_policy")) == (0, 0), "nothing is old",
          young)
    code, _, err = run("trim", "logs", "--max-len", "3")
    check(code == 2 and "without --yes" in err, "trim without --yes", code, err)
    trimmed = run_json("trim", "logs", "--max-len", "3", "--yes")
    check(trimmed.get("removed") == 2 and int(r.call("XLEN", stream)) == 8, "trim --yes",
          trimmed)
    code, _, err = run("trim", "logs", "--dry-run")
    check(code == 2 and "--max-len" in err, "trim needs a limit", code, err)
    code, _, err = run("trim", "logs", "--max-age", "soon", "--dry-run")
    check(code == 2 and "not a duration" in err, "a malformed --max-age", code, err)
    code, _, err = run("trim", "nosuch", "--max-len", "1", "--dry-run")
    check(code == 4, "trim of a missing topic", code, err)


def start_tail(r, *args):
    p = subprocess.Popen([BINARY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    wait_for(lambda: blocked_in_xread(r) or p.poll() is not None, "tail to block in XREAD")
    return p


def test_tail(r, ids):
    stream = "streamq:{orders}:stream"
    p = start_tail(r, "--json", "tail", "orders", "--count", "2")
    added = [r.call("XADD", stream, "*", "v", "1", "e",
                    envelope(f"t-{i}", "streamq.test.Order", order(f"t-{i}"))).decode()
             for i in range(2)]
    out, err = p.communicate(timeout=20)
    lines = [json.loads(line) for line in out.splitlines()]
    check(p.returncode == 0 and [(x["id"], x["envelope"]["message_id"]) for x in lines] ==
          [(added[0], "t-0"), (added[1], "t-1")], "tail --count 2 prints what is added",
          p.returncode, out, err)
    code, out, _ = run("--json", "tail", "orders", "--from", ids[1], "--count", "2")
    check(code == 0 and [json.loads(x)["id"] for x in out.splitlines()] == ids[1:3],
          "tail --from reads from that entry", code, out)
    code, out, _ = run("--descriptor-set", DESCRIPTORS, "tail", "orders", "--from", added[0],
                       "--count", "1")
    check(code == 0 and out == f'{added[0]}  streamq.test.Order  t-0  {{"id":"t-0"}}\n',
          "tail for people", out)

    # --timeout-ms bounds connecting only; SIGINT ends a tail normally.
    p = start_tail(r, "--timeout-ms", "200", "tail", "orders")
    time.sleep(0.6)
    check(p.poll() is None, "--timeout-ms does not end a tail")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    check(p.returncode == 0 and err == "", "SIGINT ends a tail with exit 0", p.returncode, err)

    # The connection killed under it: a runtime failure (1) that says so.
    p = start_tail(r, "tail", "orders")
    r.call("CLIENT", "KILL", "TYPE", "normal")
    out, err = p.communicate(timeout=20)
    check(p.returncode == 1 and err.startswith(f"streamq: connection to redis://{ADDR.hostname}:"
                                               f"{ADDR.port} lost: ") and err.count("\n") == 1,
          "a lost connection", p.returncode, err)
    code, _, err = run("tail", "nosuch")
    check(code == 4 and err == 'streamq: topic "nosuch" does not exist\n', "tail of a missing "
          "topic", code, err)


def test_access():
    """Wrong password (3, never printed) and an ACL denial (1) for the new commands too."""
    wrong = f"redis://nobody:hunter2-secret@{ADDR.hostname}:{ADDR.port}"
    acl = f"redis://reader:reader-pass@{ADDR.hostname}:{ADDR.port}"
    for cmd in (["topics"], ["dead-letters", "requeue", "orders", "billing", "--all", "--yes"],
                ["delayed", "list", "orders"], ["trim", "orders", "--max-len", "1", "--dry-run"],
                ["tail", "orders", "--count", "1"]):
        code, out, err = run("--redis", wrong, *cmd)
        check(code == 3 and "hunter2" not in out + err and "authentication failed" in err,
              f"{cmd}: wrong password", code, err)
        code, out, err = run("--redis", acl, *cmd)
        check(code == 1 and "permission denied" in err and "reader-pass" not in out + err,
              f"{cmd}: ACL denial", code, err)


def test_replay_filters(r):
    """--header and --key select envelopes; --into-group creates a group at the start."""
    stream = "streamq:{events}:stream"
    for i, (tenant, key) in enumerate([("a", "k1"), ("b", "k1"), ("a", "k2"), ("a", "k1")]):
        headers = field(6, field(1, b"tenant") + field(2, tenant.encode()))
        r.call("XADD", stream, "*", "v", "1", "e",
               envelope(f"e-{i}", "streamq.test.Order", order(f"o-{i}")) + headers +
               field(9, key.encode()))
    by_tenant = run_json("replay", "events", "--dry-run", "--header", "tenant=a")
    check((by_tenant.get("matched"), by_tenant.get("filtered")) == (3, 1), "replay --header",
          by_tenant)
    both = run_json("replay", "events", "--dry-run", "--header", "tenant=a", "--key", "k1")
    check(both.get("matched") == 2, "replay --header with --key", both)
    code, _, err = run("replay", "events", "--dry-run", "--header", "tenant")
    check(code == 2 and "NAME=VALUE" in err, "replay --header without =", code, err)
    grouped = run_json("replay", "events", "--into-group", "audit-replay")
    check(grouped.get("groups_created") == ["events"], "replay --into-group", grouped)
    read = r.call("XREADGROUP", "GROUP", "audit-replay", "c", "COUNT", "10", "STREAMS", stream,
                  ">")
    check(read and len(read[0][1]) == 4, "the new group reads the history from the start", read)
    code, _, err = run("replay", "events", "--into-group", "audit-replay")
    check(code == 1 and "replay failed" in err, "replay --into-group of an existing group",
          code, err)


def main():
    ids, dead_id = seed()

    # --help of every command exits 0 and documents it.
    for cmd in ([], ["groups"], ["consumers"], ["topic"], ["topic", "info"], ["pending"], ["dead-letters"],
                ["dead-letters", "list"], ["replay"], ["topics"], ["dead-letters", "show"],
                ["dead-letters", "requeue"], ["dead-letters", "purge"], ["delayed"],
                ["delayed", "list"], ["delayed", "cancel"], ["recurring"], ["recurring", "list"],
                ["recurring", "pause"], ["recurring", "resume"], ["trim"], ["tail"]):
        code, out, _ = run(*cmd, "--help")
        check(code == 0 and "Usage" in out, f"{cmd} --help", code)

    # Usage errors: exit 2.
    check(run()[0] == 2, "no command is a usage error")
    check(run("pending", "orders")[0] == 2, "a missing GROUP is a usage error")
    check(run("replay", "orders")[0] == 2, "replay without --into-topic or --dry-run")
    code, _, err = run("replay", "orders", "--dry-run", "--from-time", "yesterday")
    check(code == 2 and "ISO 8601" in err, "a malformed --from-time is a usage error", code, err)

    groups = run_json("groups", "orders")
    by_name = {g["name"]: g for g in groups.get("groups", [])}
    check(groups.get("topic") == "orders", "groups names the topic", groups)
    check(set(by_name) == {"billing", "audit"}, "groups lists both groups", groups)
    if "billing" in by_name:
        b = by_name["billing"]
        check(b["pending"] == 2 and b["consumers"] == 2, "billing: 2 pending, 2 consumers", b)
        check(b["last_delivered_id"] == ids[1], "billing's last delivered ID", b)
        check(b["lag"] == 2, "billing's lag", b)
    if "audit" in by_name:
        check(by_name["audit"]["pending"] == 0 and by_name["audit"]["lag"] == 0, "audit", by_name)

    consumers = run_json("consumers", "orders", "billing")
    listed = {e["name"]: e for e in consumers.get("consumers", [])}
    check(sorted(listed) == ["c1", "c2"], "consumers lists c1 and c2", consumers)
    if sorted(listed) == ["c1", "c2"]:
        check(listed["c1"]["pending"] == 1 and listed["c2"]["pending"] == 1, "consumers' pending",
              listed)
        check(all(e["idle_ms"] >= 0 for e in listed.values()), "consumers' idle", listed)
    code, _, err = run("consumers", "orders", "nogroup")
    check(code == 4 and err == 'streamq: consumer group "nogroup" does not exist on topic '
          '"orders"\n', "consumers of a missing group", code, err)
    code, _, err = run("consumers", "nosuch", "billing")
    check(code == 4 and err == 'streamq: topic "nosuch" does not exist\n',
          "consumers of a missing topic", code, err)

    pending = run_json("pending", "orders", "billing")
    entries = pending.get("entries", [])
    check([e["id"] for e in entries] == ids[:2], "pending lists the two entries", pending)
    if len(entries) == 2:
        check(entries[0]["consumer"] == "c2" and entries[0]["deliveries"] == 2, "claimed entry",
              entries[0])
        check(entries[1]["consumer"] == "c1" and entries[1]["deliveries"] == 1, "read entry",
              entries[1])
        check(all(e["idle_ms"] >= 0 for e in entries), "idle times", entries)
    limited = run_json("pending", "orders", "billing", "--count", "1", "--consumer", "c1")
    check([e["id"] for e in limited.get("entries", [])] == [ids[1]], "--count/--consumer", limited)
    code, out, _ = run("pending", "orders", "billing")
    check(code == 0 and "DELIVERIES" in out and "c2" in out, "pending table", out)

    info = run_json("topic", "info", "orders")
    check(info.get("length") == 4, "topic info length", info)
    check(info.get("first_id") == ids[0] and info.get("last_id") == ids[3], "first/last ID", info)
    info_groups = {g["name"]: g for g in info.get("groups", [])}
    if "billing" in info_groups:
        g = info_groups["billing"]
        check(g["oldest_pending_id"] == ids[0] and g["dead_letters"] == 1, "billing in info", g)
    if "audit" in info_groups:
        check(info_groups["audit"]["oldest_pending_id"] is None, "audit has nothing pending")

    # Not found: exit 4 with one line naming what is missing.
    code, out, err = run("topic", "info", "nosuch")
    check(code == 4 and err == 'streamq: topic "nosuch" does not exist\n' and out == "",
          "topic info of a missing topic", code, out, err)
    code, _, err = run("--json", "groups", "nosuch")
    check(code == 4 and err.count("\n") == 1, "groups of a missing topic", code, err)
    code, _, err = run("pending", "orders", "nogroup")
    check(code == 4 and err == 'streamq: consumer group "nogroup" does not exist on topic '
          '"orders"\n', "pending of a missing group", code, err)
    code, _, err = run("pending", "nosuch", "billing")
    check(code == 4 and '"nosuch" does not exist' in err, "pending of a missing topic", code, err)

    letters = run_json("dead-letters", "list", "orders", "billing")
    check([(e["id"], e["decoded"]) for e in letters.get("entries", [])] == [(dead_id, False)],
          "dead-letters list shows the undecodable entry", letters)

    dry = run_json("replay", "orders", "--dry-run")
    check((dry.get("read"), dry.get("matched"), dry.get("delivered")) == (4, 4, 0),
          "replay --dry-run counts", dry)
    check(dry.get("last") == ids[3] and dry.get("stop") == "completed", "replay last", dry)
    typed = run_json("replay", "orders", "--dry-run", "--type", "streamq.test.Refund")
    check((typed.get("matched"), typed.get("filtered")) == (1, 3), "replay --type", typed)
    resumed = run_json("replay", "orders", "--dry-run", "--after", ids[1])
    check(resumed.get("read") == 2, "replay --after", resumed)
    future = run_json("replay", "orders", "--dry-run", "--from-time", "2100-01-01T00:00:00Z")
    check(future.get("read") == 0, "replay --from-time in the future", future)
    past = run_json("replay", "orders", "--dry-run", "--from-time", "2000-01-01T00:00:00.5Z")
    check(past.get("read") == 4, "replay --from-time in the past", past)
    copied = run_json("replay", "orders", "--into-topic", "orders-copy")
    check(copied.get("delivered") == 4, "replay --into-topic delivers", copied)
    run_json("replay", "orders", "--into-topic", "orders-copy")
    check(run_json("topic", "info", "orders-copy").get("length") == 4,
          "a rerun replay adds nothing twice")
    code, out, _ = run("replay", "orders", "--dry-run")
    check(code == 0 and "resume with --after " + ids[3] in out, "replay table", out)
    # stdout a terminal: a progress bar on stderr, and the same replay.
    controller, terminal = pty.openpty()
    # (bytes: text mode would turn the bar's \r into \n)
    shown = subprocess.run([BINARY, "replay", "orders", "--into-topic", "orders-tty"],
                           stdout=terminal, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=60)
    os.close(terminal)
    printed = os.read(controller, 65536).decode()
    os.close(controller)
    bar = shown.stderr.decode()
    check(shown.returncode == 0 and bar.startswith("\rreplay [") and
          bar.endswith("4/4  100%\n") and "delivered 4" in printed,
          "replay draws a progress bar at a terminal", shown.returncode, repr(bar), repr(printed))
    check(run_json("topic", "info", "orders-tty").get("length") == 4, "the sliced replay's copy")

    test_topics()
    r = Resp(ADDR.hostname, ADDR.port)
    test_dead_letters(r)
    test_schedule(r)
    test_trim(r)
    test_tail(r, ids)
    test_replay_filters(r)
    test_access()

    # Connection failures: exit 3, one line, no password anywhere.
    code, out, err = run("--redis", "redis://127.0.0.1:1", "groups", "orders")
    check(code == 3 and err.startswith("streamq: cannot connect to redis://127.0.0.1:1: ")
          and err.count("\n") == 1, "unreachable server", code, err)
    wrong = f"redis://nobody:hunter2-secret@{ADDR.hostname}:{ADDR.port}"
    code, out, err = run("--redis", wrong, "groups", "orders")
    check(code == 3 and err == f"streamq: authentication failed for redis://nobody:***@"
          f"{ADDR.hostname}:{ADDR.port}\n", "wrong password", code, err)
    check("hunter2" not in out + err, "the password is never printed", out, err)
    os.environ["STREAMQ_REDIS_URL"] = wrong
    code, out, err = run("--help")
    check("hunter2" not in out + err, "--help does not print the URL from the environment")
    os.environ["STREAMQ_REDIS_URL"] = URL
    acl = f"redis://reader:reader-pass@{ADDR.hostname}:{ADDR.port}"
    code, out, err = run("--redis", acl, "groups", "orders")
    check(code == 1 and err.startswith("streamq: permission denied by the server's ACL")
          and "reader-pass" not in out + err, "ACL denial", code, err)
    # A server that accepts and never answers: the deadline ends the handshake, exit 3.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    code, _, err = run("--redis", f"redis://127.0.0.1:{port}", "--timeout-ms", "300", "groups",
                       "orders")
    check(code == 3 and err.startswith(f"streamq: cannot connect to redis://127.0.0.1:{port}: ")
          and err.count("\n") == 1, "a server that never answers", code, err)
    silent.close()
    code, _, err = run("--redis", "http://x", "groups", "orders")
    check(code == 2 and err.startswith("streamq: invalid --redis URL"), "malformed URL", code, err)

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
