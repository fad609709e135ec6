#!/usr/bin/env python3
"""Writes the deterministic benchmark input: NDJSON in Skein's log convention.

1,000,000 lines (about 300 MB), 3-12 lines per trace across 2-4 services, about 135k
correlation ids, about 30 traces interleaved at any time. Same arguments, same bytes.
"""
import random
import sys

def main():
    out_path = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rng = random.Random(20261123)
    services = [
        ("edge-api", "edge", "cloudflare-workers", "workerd", "FRA"),
        ("feed-api", "serverless", "aws-lambda", "nodejs20", "us-east-1"),
        ("checkout", "serverless", "aws-lambda", "python3.12", "us-east-1"),
        ("chat", "server", "k8s", "nodejs20", "eu-west-1"),
        ("queue-worker", "server", "k8s", "go", "eu-west-1"),
    ]
    routes = ["GET /api/feed", "GET /api/product/:id", "POST /api/cart", "GET /api/chat/history", "POST /api/checkout"]
    instances = {s[0]: [f"{s[0]}-{rng.getrandbits(32):08x}" for _ in range(40)] for s in services}
    # Each instance's clock is off by a fixed amount, as real hosts' clocks are.
    skew = {i: rng.randint(-200, 200) for names in instances.values() for i in names}
    t0 = 1_795_428_000_000  # 2026-11-23T...Z in ms
    active = []
    written = 0
    trace_no = 0
    now = t0

    def new_trace():
        nonlocal trace_no
        trace_no += 1
        n_lines = rng.randint(3, 12)
        n_svc = rng.randint(2, 4)
        svcs = [services[0]] + rng.sample(services[1:], n_svc - 1)
        trace_id = "%032x" % rng.getrandbits(128)
        return {
            "cid": "req-%08x-%06d" % (rng.getrandbits(32), trace_no),
            "trace": trace_id,
            "svcs": svcs,
            "inst": [rng.choice(instances[s[0]]) for s in svcs],
            "spans": ["%016x" % rng.getrandbits(64) for _ in svcs],
            "left": n_lines,
            "total": n_lines,
            "route": rng.choice(routes),
        }

    with open(out_path, "w", buffering=1 << 20) as f:
        while written < total:
            while len(active) < 30:
                active.append(new_trace())
            tr = active[rng.randrange(len(active))]
            now += rng.randint(0, 3)
            idx = tr["total"] - tr["left"]
            hop = min(idx * len(tr["svcs"]) // tr["total"], len(tr["svcs"]) - 1)
            if tr["left"] == 1:
                hop = 0  # the root answers last: its request.end closes the trace
            svc, deploy, platform, runtime, region = tr["svcs"][hop]
            parent = tr["spans"][hop - 1] if hop > 0 else None
            if idx == 0:
                ev, extra = "request.start", ""
            elif tr["left"] == 1:
                ev = "request.end"
                status = 500 if rng.random() < 0.02 else 200
                extra = ',"status":%d,"duration_ms":%.1f' % (status, rng.uniform(5, 900))
            elif rng.random() < 0.2:
                ev = "db.acquire"
                extra = ',"db_pool":"main","db_open":%d,"wait_ms":%.1f' % (rng.randint(1, 5), rng.uniform(0, 40))
            else:
                ev, extra = "log", ""
            ts = now + skew[tr["inst"][hop]]
            # Platform facts on a hop's first line only, as most apps log them once per request.
            first_of_hop = idx == 0 or hop != min((idx - 1) * len(tr["svcs"]) // tr["total"], len(tr["svcs"]) - 1)
            where = (',"platform":"%s","runtime":"%s","region":"%s"' % (platform, runtime, region)) if first_of_hop else ""
            line = (
                '{"ts":%d,"service":"%s","instance":"%s","deploy":"%s"%s,"correlation_id":"%s",'
                '"trace_id":"%s","span_id":"%s"%s,"event":"%s","route":"%s"%s,"level":"info","msg":"step %d user %d"}\n'
            ) % (
                ts, svc, tr["inst"][hop], deploy, where, tr["cid"], tr["trace"],
                tr["spans"][hop], (',"parent_span_id":"%s"' % parent) if parent else "", ev,
                tr["route"], extra, idx + 1, rng.randint(1, 99999),
            )
            f.write(line)
            written += 1
            tr["left"] -= 1
            if tr["left"] == 0:
                active.remove(tr)

if __name__ == "__main__":
    main()
