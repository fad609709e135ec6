#!/usr/bin/env python3
"""Load on `skein tail --listen` over loopback; reports events/s accepted and dropped from /metrics.

Starts skein (headless, output discarded), then several worker processes, each on one keep-alive
connection, post for DURATION seconds: half NDJSON batches of 500 convention events to /ingest,
half OTLP protobuf batches of 500 spans to /v1/traces (built with opentelemetry-proto's classes,
installed with opentelemetry-exporter-otlp-proto-http). Every batch has fresh trace ids. A 429 or
503 answer is counted and the worker backs off as Retry-After says (bounded at 0.2 s here).

Usage: scripts/bench-collector.py [--skein .build/debug/skein] [--seconds 15] [--workers 3] [--port 4399]
Loopback only; bounded in time; stops by itself.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import time

BATCH = 500


def ndjson_batch(worker, n):
    base = 1795428000000 + n
    lines = []
    for i in range(BATCH):
        tid = "%08x%08x%016x" % (worker, n, i // 5)
        kind = "request.start" if i % 5 == 0 else ("request.end" if i % 5 == 4 else "log")
        lines.append('{"ts":%d,"service":"bench-%d","instance":"w%d","deploy":"server","trace_id":"%s","event":"%s","route":"GET /b","status":200,"duration_ms":3.5,"msg":"m%d"}'
                     % (base + i, worker % 3, worker, tid, kind, i))
    return ("\n".join(lines) + "\n").encode()


def otlp_batch(worker, n, pb):
    trace_pb2, common_pb2, resource_pb2, svc_pb2 = pb
    req = svc_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key = "service.name"
    kv.value.string_value = "otel-%d" % (worker % 3)
    ss = rs.scope_spans.add()
    start = 1795428000000000000 + n * 1000000
    for i in range(BATCH):
        s = ss.spans.add()
        s.trace_id = bytes.fromhex("%08x%08x%016x" % (worker | 0x80000000, n, i // 5))
        s.span_id = bytes.fromhex("%016x" % (i + 1))
        if i % 5:
            s.parent_span_id = bytes.fromhex("%016x" % (i - i % 5 + 1))
        s.name = "GET /o"
        s.kind = 2
        s.start_time_unix_nano = start + i
        s.end_time_unix_nano = start + i + 2000000
    return req.SerializeToString()


def worker(idx, port, seconds, out):
    from opentelemetry.proto.trace.v1 import trace_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    pb = (trace_pb2, common_pb2, resource_pb2, trace_service_pb2)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    stats = {"sent_events": 0, "ok_events": 0, "refused": 0, "errors": 0, "requests": 0}
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n += 1
        if n % 2:
            path, ctype, body = "/ingest", "application/x-ndjson", ndjson_batch(idx, n)
        else:
            path, ctype, body = "/v1/traces", "application/x-protobuf", otlp_batch(idx, n, pb)
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": ctype})
            r = conn.getresponse()
            r.read()
        except Exception:
            stats["errors"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        stats["requests"] += 1
        stats["sent_events"] += BATCH
        if r.status == 200:
            stats["ok_events"] += BATCH
        elif r.status in (429, 503):
            stats["refused"] += 1
            time.sleep(min(0.2, float(r.getheader("Retry-After", "1"))))
        else:
            stats["errors"] += 1
    out.put(stats)


def metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    total = {}
    for line in text.splitlines():
        m = re.match(r"^(skein_collector_\w+)(\{[^}]*\})? (\d+)$", line)
        if m:
            total[m.group(1)] = total.get(m.group(1), 0) + int(m.group(3))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skein", default=".build/debug/skein")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--port", type=int, default=4399)
    a = ap.parse_args()
    a.seconds = max(1.0, min(a.seconds, 30.0))
    skein = subprocess.Popen([a.skein, "tail", "--listen", "127.0.0.1:%d" % a.port, "--no-tui"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        skein.stderr.readline()  # "skein: listening on ..."
        out = mp.Queue()
        procs = [mp.Process(target=worker, args=(i, a.port, a.seconds, out)) for i in range(a.workers)]
        t0 = time.time()
        for p in procs:
            p.start()
        results = [out.get(timeout=a.seconds + 60) for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.time() - t0
        m = metrics(a.port)
    finally:
        skein.send_signal(signal.SIGTERM)
        try:
            skein.wait(timeout=30)
        except subprocess.TimeoutExpired:
            skein.kill()
    sent = sum(r["sent_events"] for r in results)
    ok = sum(r["ok_events"] for r in results)
    report = {
        "seconds": round(elapsed, 1),
        "workers": a.workers,
        "requests": sum(r["requests"] for r in results),
        "events_sent": sent,
        "events_accepted": m.get("skein_collector_events_total", 0),
        "events_accepted_per_s": round(m.get("skein_collector_events_total", 0) / elapsed),
        "events_dropped": m.get("skein_collector_dropped_total", 0),
        "refused_requests_429_503": sum(r["refused"] for r in results),
        "client_errors": sum(r["errors"] for r in results),
        "malformed": m.get("skein_collector_malformed_total", 0),
        "acknowledged_events_per_s": round(ok / elapsed),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
