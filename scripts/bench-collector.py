#!/usr/bin/env python3
"""Load on `skein tail --listen` over loopback; reports events/s accepted, rejected and dropped.

Starts `skein tail --listen 127.0.0.1:PORT --no-tui` (its printed traces discarded), compiles and
runs the C load generator beside this script (scripts/bench-collector.c: CONNECTIONS keep-alive
connections posting batches of BATCH events with fresh trace ids, as fast as answers come), then
reads /metrics. Each mode gets a fresh skein process:

  ndjson  POST /ingest      Skein's convention, 5 events per trace
  otlp    POST /v1/traces   ExportTraceServiceRequest protobuf, 5 spans per trace, 2 attributes each

It samples skein's resident memory every second (start = before load, then after the first
seconds of load, at the end and the peak), its CPU seconds, the generator's CPU seconds and the
machine's load average, so a run on a shared machine says how shared it was.

Usage: scripts/bench-collector.py [--skein .build/release/skein] [--mode ndjson|otlp|both]
                                  [--seconds 30] [--connections 8] [--batch 500] [--port 4399]
Loopback only; bounded in time (at most 120 s per mode); stops by itself.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def build_generator():
    src = os.path.join(HERE, "bench-collector.c")
    out = os.path.join(tempfile.gettempdir(), "skein-bench-collector-%d" % os.getuid())
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-pthread", "-o", out, src], check=True)
    return out


def rss_bytes(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    total, codes = {}, {}
    for line in text.splitlines():
        m = re.match(r"^(skein_collector_\w+)(\{[^}]*\})? (\d+)$", line)
        if not m:
            continue
        total[m.group(1)] = total.get(m.group(1), 0) + int(m.group(3))
        if m.group(1) == "skein_collector_requests_total":
            code = re.search(r'code="(\d+)"', m.group(2) or "")
            if code:
                codes[code.group(1)] = codes.get(code.group(1), 0) + int(m.group(3))
    return total, codes


def mb(n):
    return round(n / 1048576, 1)


def run_mode(a, generator, mode):
    skein = subprocess.Popen([a.skein, "tail", "--listen", "127.0.0.1:%d" % a.port, "--no-tui"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = []
    stop = threading.Event()
    try:
        line = skein.stderr.readline().decode()
        if "listening" not in line:
            raise SystemExit("skein did not start: %s" % line.strip())
        time.sleep(0.5)
        rss_start = rss_bytes(skein.pid)
        cpu_start = cpu_seconds(skein.pid)
        load_start = loadavg()

        def sample():
            while not stop.wait(1.0):
                samples.append(rss_bytes(skein.pid))
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        gen = subprocess.run([generator, "127.0.0.1", str(a.port), mode, str(a.connections), str(int(a.seconds)),
                              str(a.batch)], capture_output=True, text=True, timeout=a.seconds + 60)
        stop.set()
        t.join()
        if gen.returncode != 0:
            raise SystemExit("generator failed: %s" % gen.stderr)
        g = json.loads(gen.stdout)
        m, codes = metrics(a.port)
        cpu_end = cpu_seconds(skein.pid)
        rss_end = rss_bytes(skein.pid)
        load_end = loadavg()
    finally:
        stop.set()
        skein.send_signal(signal.SIGTERM)
        try:
            skein.wait(timeout=60)
        except subprocess.TimeoutExpired:
            skein.kill()
    secs = g["seconds"]
    accepted = m.get("skein_collector_events_total", 0)
    # Memory after the queue and tables have filled (a few seconds in) against the end: flat or not.
    warm = samples[min(4, len(samples) - 1)] if samples else rss_start
    return {
        "mode": mode,
        "seconds": secs,
        "connections": a.connections,
        "batch": a.batch,
        "body_bytes": g["body_bytes"],
        "requests": g["requests"],
        "answers": g["status"],
        "client_errors": g["errors"],
        "events_sent": g["events_sent"],
        "events_accepted": accepted,
        "events_accepted_per_s": round(accepted / secs),
        "events_rejected_429_503": m.get("skein_collector_rejected_events_total", 0),
        "events_dropped": m.get("skein_collector_dropped_total", 0),
        "malformed": m.get("skein_collector_malformed_total", 0),
        "queue_depth_at_end": m.get("skein_collector_queue_depth", 0),
        "metrics_requests_by_code": codes,
        "rss_mb": {"start": mb(rss_start), "after_5s": mb(warm), "end": mb(rss_end), "peak": mb(max(samples + [rss_end]))},
        "skein_cpu_s": round(cpu_end - cpu_start, 1),
        "generator_cpu_s": g["generator_cpu_s"],
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "cores": os.cpu_count(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skein", default=".build/release/skein")
    ap.add_argument("--mode", choices=["ndjson", "otlp", "both"], default="both")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--port", type=int, default=4399)
    a = ap.parse_args()
    a.seconds = max(1.0, min(a.seconds, 120.0))
    a.connections = max(1, min(a.connections, 256))
    generator = build_generator()
    modes = ["ndjson", "otlp"] if a.mode == "both" else [a.mode]
    for mode in modes:
        print(json.dumps(run_mode(a, generator, mode), indent=1), flush=True)


if __name__ == "__main__":
    main()
