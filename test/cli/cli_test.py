#!/usr/bin/env python3
"""The streamq command against a real server (run by streamq-run-with-server, which sets
STREAMQ_REDIS_URL). Seeds a topic with envelopes (docs/wire-format.md), two consumer groups,
pending entries and a dead-letter entry, then runs the binary and checks its output and exit
codes. Usage: cli_test.py PATH/TO/streamq"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

BINARY = sys.argv[1]
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
    p = subprocess.run([BINARY, *args], capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


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


def main():
    ids, dead_id = seed()

    # --help of every command exits 0 and documents it.
    for cmd in ([], ["groups"], ["consumers"], ["topic"], ["topic", "info"], ["pending"], ["dead-letters"],
                ["dead-letters", "list"], ["replay"]):
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
