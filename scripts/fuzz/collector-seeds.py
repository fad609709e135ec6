"""Seeds for `scripts/fuzz.sh ... collector`: requests in the shapes clients send, each prefixed with
the two bytes scripts/fuzz/CollectorHarness.swift reads (byte 0: route, content type, encoding,
body limit, token; byte 1: settings). Bodies come from the decoders' fixtures, the collector tests'
shapes (Firehose deliveries of CloudWatch Logs subscriptions, Heroku Logplex frames, Vercel drains)
and the bundled sample logs; the OTLP/protobuf ones are added by fuzz.sh from otlp-seeds.py."""
import base64
import glob
import gzip
import json
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
LIMIT = 7000  # under the harness's -max_len with room for the two bytes


def fixture(path, lines=60):
    data = b"".join(open(path, "rb").readlines()[:lines])
    return data[:LIMIT]


def write(name, a, b, body):
    open(os.path.join(out, name), "wb").write(bytes([a, b]) + body[:LIMIT])


GZIP, DEFLATE, RAWGZ = 0x10, 0x20, 0x30
TOKEN, SMALL = 0x80, 0x40
SPLIT, LENGTH, QUERY, BASIC = 0x40, 0x80, 0x02, 0x01

# /ingest: every decoder fixture and the head of each sample log, as sent and gzipped.
inputs = sorted(glob.glob("Tests/SkeinDecodersTests/Fixtures/*/*.input")) + sorted(glob.glob("sample-logs/*.ndjson"))
for i, path in enumerate(inputs):
    name = path.replace("/", "_")
    body = fixture(path)
    write(f"ingest_{name}", 3, 0, body)
    write(f"ingest_{name}_gz", 3 | GZIP, LENGTH, body)
    if i % 3 == 0:
        write(f"ingest_{name}_split_token", 3 | TOKEN, SPLIT | BASIC, body)

# OTLP/JSON: the decoders' otlp-json fixtures and the collector tests' trace.
otlp_json = {
    0: ["Tests/SkeinDecodersTests/Fixtures/otlp-json/logs.input"],
    1: ["Tests/SkeinDecodersTests/Fixtures/otlp-json/spans.input"],
    2: ["Tests/SkeinDecodersTests/Fixtures/otlp-json/db-pool-metrics.input"],
}
for signal, paths in otlp_json.items():
    for path in paths:
        for line_no, line in enumerate(open(path, "rb").read().splitlines()[:4]):
            write(f"otlpjson_{signal}_{line_no}", signal, 0, line)
            write(f"otlpjson_{signal}_{line_no}_deflate", signal | DEFLATE | TOKEN, QUERY, line)
trace = (b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"edge"}}]},'
         b'"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",'
         b'"name":"GET /","kind":2,"startTimeUnixNano":"1795428000000000000","endTimeUnixNano":"1795428000050000000"}]}]}]}')
write("otlpjson_trace", 1, 0, trace)
write("otlpjson_empty", 1, 0, b"{}")

# Firehose: a CloudWatch Logs subscription (gzipped, base64), direct PUT lines, bad records.
subscription = {
    "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/checkout",
    "logStream": "2026/11/23/[$LATEST]9f1c2d3e4f5a", "subscriptionFilters": ["to-skein"],
    "logEvents": [
        {"id": "1", "timestamp": 1795428000000, "message": "START RequestId: 6f1d2c3b-0000-4000-8000-000000000001 Version: $LATEST\n"},
        {"id": "2", "timestamp": 1795428000050, "message": "2026-11-23T10:00:00.050Z\t6f1d2c3b-0000-4000-8000-000000000001\tERROR\tTimed out fetching a new connection from the connection pool. (P2024)\n"},
        {"id": "3", "timestamp": 1795428000200, "message": "END RequestId: 6f1d2c3b-0000-4000-8000-000000000001\n"},
        {"id": "4", "timestamp": 1795428000200, "message": "REPORT RequestId: 6f1d2c3b-0000-4000-8000-000000000001\tDuration: 200.00 ms\tBilled Duration: 200 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 310.20 ms\t\n"},
    ],
}
control = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
           "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1795428000000, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}


def b64(data):
    return base64.b64encode(data).decode()


def delivery(records):
    return json.dumps({"requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", "timestamp": 1795428001000,
                       "records": [{"data": r} for r in records]}, separators=(",", ":")).encode()


ndjson = (b'{"ts":"2026-11-23T10:00:00.100Z","service":"api","event":"log","msg":"one"}\n'
          b'{"ts":"2026-11-23T10:00:00.200Z","service":"api","event":"log","msg":"two"}')
sub = gzip.compress(json.dumps(subscription, separators=(",", ":")).encode())
ctl = gzip.compress(json.dumps(control, separators=(",", ":")).encode())
write("firehose_subscription", 4 | 0x08, 0, delivery([b64(sub), b64(ctl)]))
write("firehose_direct", 4, 0, delivery([b64(ndjson), "%%%not base64%%%", b64(b"\x1f\x8b\x00\x01")]))
write("firehose_direct_gz_token", 4 | GZIP | TOKEN | 0x08, 0, delivery([b64(ndjson)]))
write("firehose_lambda", 4, 0, delivery([b64(fixture("Tests/SkeinDecodersTests/Fixtures/aws-lambda/cloudwatch-subscription.input", 20))]))
write("firehose_empty", 4, 0, b'{"requestId":"x","records":[]}')

# Heroku Logplex: octet-counted syslog frames.
def frames(messages):
    return b"".join(b"%d %s\n" % (len(m) + 1, m) for m in messages)


router = (b'<158>1 2026-11-23T10:00:00.100000+00:00 host heroku router - at=info method=GET path="/api/feed" '
          b'host=shop.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="1.2.3.4" dyno=web.1 '
          b'connect=1ms service=18ms status=200 bytes=1345 protocol=https')
app = b'<190>1 2026-11-23T10:00:00.090000+00:00 host app web.1 - {"level":"info","msg":"request started","reqId":"8601b555-6a83-4c12-8269-97c8e32cdb22"}'
crash = b"<45>1 2026-11-23T10:00:00.500000+00:00 host heroku web.1 - State changed from up to crashed"
write("logplex", 3 | 0x08, 0, frames([app, router, crash]))
write("logplex_token_basic", 3 | 0x08 | TOKEN, BASIC, frames([app, router, crash]))
write("logplex_broken", 3 | 0x08, 0, frames([app]) + b"999 <190>1 truncated")
write("logplex_gz", 3 | 0x08 | GZIP, SPLIT, frames([app, router, crash] * 3))
heroku = [l.rstrip(b"\n") for l in open("Tests/SkeinDecodersTests/Fixtures/heroku/heroku-logs.input", "rb").readlines()[:20]]
write("logplex_fixture", 3 | 0x08, 0, frames([b"<190>1 - host app web.1 - " + l for l in heroku]))

# Vercel: a signed drain (the harness signs it), the same with a wrong signature, the ownership check.
drain = (b'[{"id":"1","message":"hello","timestamp":1795428000000,"type":"stdout","source":"lambda","projectId":"p",'
         b'"deploymentId":"dpl_1","host":"app.vercel.app","requestId":"r1"},\n'
         b' {"id":"2","message":"world","timestamp":1795428000100,"type":"stdout","source":"lambda","projectId":"p",'
         b'"deploymentId":"dpl_1","host":"app.vercel.app","requestId":"r1"}]')
write("vercel_signed", 5 | TOKEN, 0x20, drain)
write("vercel_badsig", 5, 0x10, drain)
write("vercel_ndjson_gz", 5 | GZIP, 0, fixture("Tests/SkeinDecodersTests/Fixtures/vercel/ndjson.input"))
write("get_verify", 6, 0x20, b"")
write("get_metrics", 6 | 0x10, 0, b"")
write("get_healthz", 6 | 0x08, 0, b"")
# Settings: a full queue, shutting down, a small limit.
write("ingest_tinyqueue", 3, 0x04 | SPLIT, ndjson + b"\n" + ndjson)
write("ingest_stopping", 3, 0x08, ndjson)
write("ingest_small_limit_gz", 3 | GZIP | SMALL, LENGTH, fixture("sample-logs/burst.ndjson", 200))

# Free-form requests: the head from the input.
write("free_ingest", 7, 0, b"POST /ingest?x=1\nContent-Type: application/json\nAuthorization: Bearer s3cret\n\n" + ndjson)
write("free_logplex", 7, 0, b"POST /ingest\ncontent-type: application/logplex-1; charset=utf-8\nContent-Length: 40\n\n" + frames([crash]))
write("free_otlp", 7, 0, b"POST /v1/traces\nContent-Type: application/json; charset=utf-8\ncontent-encoding: identity\n\n" + trace)
write("free_firehose", 7, 0, b"POST /firehose\nX-Amz-Firehose-Access-Key: s3cret\nX-Amz-Firehose-Request-Id: abc\n\n" + delivery([b64(ndjson)]))
write("free_vercel", 7, 0, b"POST /ingest\nx-vercel-signature: effcdf6ae5eb2fa2d27416d5f184df9c259a7c79\n\n" + drain)
write("free_get", 7, 0x20, b"HEAD /ingest\n\n")
write("free_unknown", 7, 0, b"DELETE /v1/logs\n\n")

# Firehose deliveries the harness builds (route 6, bit 5): records split at NUL, gzipped per byte 1.
cwl = json.dumps(subscription, separators=(",", ":")).encode()
write("firehose_built_cwl", 6 | 0x20, 0x01, cwl + b"\0" + json.dumps(control, separators=(",", ":")).encode())
write("firehose_built_lines", 6 | 0x20, 0x02, ndjson + b"\0" + ndjson + b"\0" + fixture("Tests/SkeinDecodersTests/Fixtures/aws-lambda/raw-console.input", 20))
write("firehose_built_lambda", 6 | 0x20, 0xff, fixture("Tests/SkeinDecodersTests/Fixtures/aws-lambda/cloudwatch-subscription.input", 20))
