#!/usr/bin/env python3
"""Helpers of bench/load.sh (standard library only).

  probe.py message --size N --body filler|prose --from A --to B [--id ID] > FILE
      Writes one test message (headers and body, LF line ends) of about N body
      bytes. `filler` is the body smtp-source generates with -l (lines of X);
      `prose` is plain business English with nothing cordon's rules look for.

  probe.py latency --sink-listen HOST:PORT --target NAME=HOST:PORT ... \
                   --messages N --size N --body filler|prose --from A --to B
      Runs a small SMTP sink on --sink-listen (the relay-to address of the
      latency-phase gateways), then, for each target in turn, sends N messages
      over one SMTP session, one after another, and for each measures
        smtp: MAIL FROM sent -> 250 after the final "." (what the client waits);
        e2e:  MAIL FROM sent -> the message's final "." received by this sink.
      The next message is sent only when the previous one has arrived, so the
      figures are unloaded latencies. A target equal to the sink itself gives
      the floor (client + sink + loopback). Prints one JSON object per target
      per line: {"target", "n", "lost", "smtp_ms": [...], "e2e_ms": [...]}.

  probe.py sink-count FILE
      Prints the message count of a running `smtp-sink -c` (its output FILE).

  probe.py wait-sink FILE COUNT TIMEOUT
      Polls FILE every 5 ms until smtp-sink has counted COUNT messages; prints
      the wall-clock time (epoch seconds) when it did. Exit 1 after TIMEOUT s.

  probe.py summary --runs RUNS.tsv --latency FILE... [--messages N ...]
      Prints the result table: medians over runs of the throughput figures,
      latency percentiles pooled over all latency files, and the ratios.
"""

import argparse
import json
import re
import socket
import socketserver
import smtplib
import sys
import threading
import time
from email.utils import formatdate

PROSE = [
    "Thank you for your letter of last week about the arrangements for the",
    "annual meeting of the regional working group. We have now confirmed the",
    "venue and the catering, and the agenda will follow under separate cover",
    "once the chair has had a chance to review the draft. The meeting will",
    "start at ten in the morning and should finish by half past three, with",
    "a break for lunch at about one. Parking is available on site, and the",
    "nearest railway station is a short walk from the main entrance.",
    "",
    "Please let us know by the end of the month whether you will be able to",
    "attend, and whether any of your colleagues will be joining you, so that",
    "we can plan the seating and the refreshments. If you would like to raise",
    "an item for discussion, send a short note to the secretary and it will",
    "be considered for the agenda. Papers will be circulated a week before",
    "the meeting so that everyone has time to read them in advance.",
    "",
    "We are also updating the contact list for the group, and would be",
    "grateful if you could check the details we hold for your organisation",
    "and tell us about any changes. The list is used only to send notices",
    "about meetings and the quarterly newsletter, and is not shared with",
    "anyone outside the group. The newsletter this quarter covers the new",
    "community garden project, the summer fete and the results of the survey",
    "on library opening hours, which had a very good response this year.",
    "",
    "Finally, a reminder that the offices will be closed on the bank holiday",
    "Monday, and that the reception desk will open at nine on the Tuesday.",
    "We look forward to seeing you at the meeting. With best wishes,",
    "",
]


def body_lines(size, body):
    """Body lines totalling about `size` bytes with CRLF line ends."""
    out, total, i = [], 0, 0
    while total < size:
        if body == "filler":
            # smtp-source -l: lines of 'X' with a digit in front, 78 chars wide
            line = str(i % 10) + "X" * 77
        else:
            line = PROSE[i % len(PROSE)]
        line = line[: max(0, size - total - 2)] if total + len(line) + 2 > size else line
        out.append(line)
        total += len(line) + 2
        i += 1
    return out


def make_message(size, body, sender, rcpt, ident):
    headers = [
        f"From: <{sender}>",
        f"To: <{rcpt}>",
        f"Date: {formatdate(localtime=False)}",
        f"Message-Id: <{ident}@bench.localdomain>",
        "Subject: Regional working group meeting",
        f"X-Bench-Probe: {ident}",
    ]
    return "\r\n".join(headers + [""] + body_lines(size, body)) + "\r\n"


# ---------------------------------------------------------------- the sink

PROBE_RE = re.compile(rb"^X-Bench-Probe: (\S+)", re.M)


class Arrivals:
    def __init__(self):
        self.cond = threading.Condition()
        self.times = {}
        self.messages = 0

    def arrived(self, ident):
        now = time.perf_counter()
        with self.cond:
            self.messages += 1
            if ident is not None:
                self.times[ident] = now
            self.cond.notify_all()

    def wait(self, ident, timeout):
        deadline = time.perf_counter() + timeout
        with self.cond:
            while ident not in self.times:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.times.pop(ident)


class SinkHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Postfix's and cordon's clients: no PIPELINING."""

    timeout = 60

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        arrivals = self.server.arrivals
        self.reply("220 probe-sink ESMTP")
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"LHLO"):
                self.reply("250-probe-sink\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n250 ENHANCEDSTATUSCODES")
            elif verb == b"HELO":
                self.reply("250 probe-sink")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 2.0.0 ok")
            elif verb == b"DATA":
                self.reply("354 go ahead")
                chunks = []
                while True:
                    data = self.rfile.readline(1 << 20)
                    if not data:
                        return
                    if data in (b".\r\n", b".\n"):
                        break
                    if len(chunks) < 200:  # headers are near the top
                        chunks.append(data)
                m = PROBE_RE.search(b"".join(chunks))
                arrivals.arrived(m.group(1).decode() if m else None)
                self.reply("250 2.0.0 queued")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def percentile(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def run_latency(args):
    sink = Sink(hostport(args.sink_listen), SinkHandler)
    sink.arrivals = Arrivals()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    run_tag = f"{int(time.time() * 1000) % 10**9}"
    try:
        for spec in args.target:
            name, _, addr = spec.partition("=")
            host, port = hostport(addr)
            smtp_ms, e2e_ms, lost = [], [], 0
            client = smtplib.SMTP(host, port, local_hostname="bench.localdomain", timeout=30)
            client.ehlo()
            started = time.perf_counter()
            for i in range(args.messages):
                if time.perf_counter() - started > args.max_seconds:
                    print(f"probe: {name}: time limit reached after {i} messages", file=sys.stderr)
                    break
                ident = f"{name}.{run_tag}.{i}"
                msg = make_message(args.size, args.body, args.sender, args.rcpt, ident)
                t0 = time.perf_counter()
                client.sendmail(args.sender, [args.rcpt], msg.encode())
                t1 = time.perf_counter()
                arrived = sink.arrivals.wait(ident, args.wait)
                smtp_ms.append((t1 - t0) * 1000)
                if arrived is None:
                    lost += 1
                else:
                    e2e_ms.append((arrived - t0) * 1000)
            try:
                client.quit()
            except smtplib.SMTPException:
                pass
            print(json.dumps({"target": name, "n": len(smtp_ms), "lost": lost,
                              "smtp_ms": [round(x, 3) for x in smtp_ms],
                              "e2e_ms": [round(x, 3) for x in e2e_ms]}), flush=True)
    finally:
        sink.shutdown()
        sink.server_close()


SINK_RE = re.compile(rb"mesg=(\d+)")


def sink_count(path):
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 256))
        found = SINK_RE.findall(f.read())
    return int(found[-1]) if found else 0


def wait_sink(path, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sink_count(path) >= count:
            return time.time()
        time.sleep(0.005)
    return None


def median(values):
    return percentile(values, 0.5)


def pooled_latency(files):
    pooled = {}
    for path in files:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                r = json.loads(line)
                p = pooled.setdefault(r["target"], {"smtp": [], "e2e": [], "lost": 0})
                p["smtp"] += r["smtp_ms"]
                p["e2e"] += r["e2e_ms"]
                p["lost"] += r["lost"]
    return pooled


def run_summary(args):
    runs = {}
    with open(args.runs) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.split()
            target, run, n, accept_s, e2e_s = cols[:5]
            r = runs.setdefault(target, {"accept": [], "e2e": [], "n": int(n), "host": [], "proc": []})
            r["accept"].append(int(n) / float(accept_s))
            r["e2e"].append(int(n) / float(e2e_s))
            if len(cols) > 5 and cols[5] != "-":
                r["host"].append(float(cols[5]))
            if len(cols) > 6 and cols[6] != "-":
                r["proc"].append(float(cols[6]))
    lat = pooled_latency(args.latency) if args.latency else {}
    fmt = "{:<20} {:>8} {:>8} {:>6} {:>12} {:>12} {:>16} {:>16}"
    print(fmt.format("target", "messages", "sessions", "size", "accept msg/s", "e2e msg/s",
                     "smtp p50/p95 ms", "e2e p50/p95 ms"))

    def lat_cols(name):
        p = lat.get(name)
        if not p:
            return "-", "-"
        return (f"{median(p['smtp']):.2f}/{percentile(p['smtp'], 0.95):.2f}",
                f"{median(p['e2e']):.2f}/{percentile(p['e2e'], 0.95):.2f}")

    for name in ["postfix", "cordon"]:
        r = runs.get(name)
        s, e = lat_cols(name)
        if r:
            print(fmt.format(name, r["n"], args.sessions, args.size,
                             f"{median(r['accept']):.1f}", f"{median(r['e2e']):.1f}", s, e))
    if "direct" in lat:
        s, e = lat_cols("direct")
        print(fmt.format("smtp-sink (direct)", "-", "1", args.size, "-", "-", s, e))
    print()
    for name, r in runs.items():
        print(f"{name:<8} per run: accept msg/s " + " ".join(f"{x:.1f}" for x in r["accept"])
              + " | e2e msg/s " + " ".join(f"{x:.1f}" for x in r["e2e"]))
    for name, r in runs.items():
        if r["host"]:
            line = (f"{name:<8} CPU ms per message, whole machine (load generator and sink included): "
                    + " ".join(f"{x:.2f}" for x in r["host"]))
            if r["proc"]:
                line += "; cordon process alone: " + " ".join(f"{x:.2f}" for x in r["proc"])
            print(line)
    if "postfix" in runs and "cordon" in runs:
        pa, pe = median(runs["postfix"]["accept"]), median(runs["postfix"]["e2e"])
        ca, ce = median(runs["cordon"]["accept"]), median(runs["cordon"]["e2e"])
        print(f"ratio cordon/postfix (medians): accept {ca / pa:.2f}, end-to-end {ce / pe:.2f}")
        # the ratio run by run, each cordon run against the postfix run just before it
        pairs = list(zip(runs["postfix"]["e2e"], runs["cordon"]["e2e"]))
        print("ratio cordon/postfix per run (end-to-end): "
              + " ".join(f"{c / p:.2f}" for p, c in pairs))
    for name, p in lat.items():
        if p["lost"]:
            print(f"WARNING: {p['lost']} latency probe messages to {name} never reached the sink")
    if "cordon" in lat:
        c = lat["cordon"]
        for base in ("postfix", "direct"):
            if base in lat:
                b = lat[base]
                print(f"added median latency, cordon - {base}: "
                      f"smtp {median(c['smtp']) - median(b['smtp']):+.2f} ms, "
                      f"end-to-end {median(c['e2e']) - median(b['e2e']):+.2f} ms "
                      f"(n={len(c['smtp'])} vs {len(b['smtp'])})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("message")
    lat = sub.add_parser("latency")
    for p in (m, lat):
        p.add_argument("--size", type=int, default=20480)
        p.add_argument("--body", choices=["filler", "prose"], default="filler")
        p.add_argument("--from", dest="sender", required=True)
        p.add_argument("--to", dest="rcpt", required=True)
    m.add_argument("--id", default="bench")
    lat.add_argument("--sink-listen", required=True)
    lat.add_argument("--target", action="append", required=True)
    lat.add_argument("--messages", type=int, default=200)
    lat.add_argument("--wait", type=float, default=10.0, help="seconds to wait for each arrival")
    lat.add_argument("--max-seconds", type=float, default=120.0, help="time limit per target")
    sc = sub.add_parser("sink-count")
    sc.add_argument("file")
    ws = sub.add_parser("wait-sink")
    ws.add_argument("file")
    ws.add_argument("count", type=int)
    ws.add_argument("timeout", type=float)
    su = sub.add_parser("summary")
    su.add_argument("--runs", required=True)
    su.add_argument("--latency", nargs="*", default=[])
    su.add_argument("--sessions", default="-")
    su.add_argument("--size", default="-")
    args = ap.parse_args()
    if args.cmd == "message":
        sys.stdout.write(make_message(args.size, args.body, args.sender, args.rcpt, args.id).replace("\r\n", "\n"))
    elif args.cmd == "latency":
        run_latency(args)
    elif args.cmd == "sink-count":
        print(sink_count(args.file))
    elif args.cmd == "wait-sink":
        done = wait_sink(args.file, args.count, args.timeout)
        if done is None:
            print(f"probe: smtp-sink has {sink_count(args.file)} messages, not {args.count}, "
                  f"after {args.timeout} s", file=sys.stderr)
            sys.exit(1)
        print(f"{done:.6f}")
    else:
        run_summary(args)


if __name__ == "__main__":
    main()
