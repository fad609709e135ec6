"""Seeds for `scripts/fuzz.sh ... otlp`: OTLP/HTTP protobuf request bodies, each prefixed with the
signal byte the harness reads (0 logs, 1 traces, 2 metrics). Built with the `opentelemetry-proto`
package's message classes, in the shapes the OpenTelemetry SDKs and the Lambda layer send."""
import os
import sys

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
T0 = 1_795_428_000_000_000_000  # 2026-11-23T10:00:00Z in ns


def kv(key, value):
    if isinstance(value, bool):
        v = AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = AnyValue(int_value=value)
    elif isinstance(value, float):
        v = AnyValue(double_value=value)
    elif isinstance(value, list):
        v = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=x) for x in value]))
    elif isinstance(value, dict):
        v = AnyValue(kvlist_value=KeyValueList(values=[kv(k, x) for k, x in value.items()]))
    else:
        v = AnyValue(string_value=value)
    return KeyValue(key=key, value=v)


RESOURCES = {
    "lambda": {"service.name": "checkout", "cloud.provider": "aws", "cloud.platform": "aws_lambda",
               "cloud.region": "eu-west-1", "faas.name": "checkout", "faas.version": "$LATEST",
               "faas.instance": "2026/11/23/[$LATEST]0123456789abcdef", "process.runtime.name": "nodejs",
               "process.runtime.version": "20.11.0", "telemetry.sdk.language": "nodejs", "faas.coldstart": True},
    "k8s": {"service.name": "chat", "k8s.pod.name": "chat-86fcc65db-hpfnj", "service.instance.id": "chat-1",
            "cloud.platform": "aws_eks", "telemetry.sdk.language": "go"},
    "workers": {"service.name": "edge-api", "cloud.platform": "cloudflare.workers", "cloud.region": "FRA"},
}
TRACE = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
n = 0


def write(signal, message, name):
    global n
    with open(os.path.join(out, f"{name}-{n}"), "wb") as f:
        f.write(bytes([signal]) + message.SerializeToString())
    n += 1


for rname, attrs in RESOURCES.items():
    resource = [kv(k, v) for k, v in attrs.items()]
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.extend(resource)
    sl = rl.scope_logs.add()
    sl.scope.name = "app"
    for i, (sev, text, body) in enumerate([(9, "INFO", "GET /api/feed 200"), (17, "ERROR", "sorry, too many clients already"),
                                           (13, "WARN", {"msg": "pool wait", "wait_ms": 812.5})]):
        r = sl.log_records.add()
        r.time_unix_nano = T0 + i * 1_000_000
        r.observed_time_unix_nano = T0 + i * 1_000_000 + 5
        r.severity_number = sev
        r.severity_text = text
        r.body.CopyFrom(kv("b", body).value)
        r.trace_id = TRACE
        r.span_id = bytes.fromhex("00f067aa0ba902b7")
        r.attributes.extend([kv("http.route", "/api/feed"), kv("faas.invocation_id", "af3b1c2d-0000-4000-8000-000000000001"),
                             kv("correlation_id", "req-7f3a"), kv("tags", ["a", "b"])])
    write(0, req, f"logs-{rname}")

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(resource)
    ss = rs.scope_spans.add()
    server = ss.spans.add()
    server.trace_id = TRACE
    server.span_id = bytes.fromhex("00f067aa0ba902b7")
    server.parent_span_id = bytes.fromhex("53995c3f42cd8ad8")
    server.name = "GET /api/feed"
    server.kind = Span.SPAN_KIND_SERVER
    server.start_time_unix_nano = T0
    server.end_time_unix_nano = T0 + 87_000_000
    server.status.CopyFrom(Status(code=Status.STATUS_CODE_OK))
    server.attributes.extend([kv("http.route", "/api/feed"), kv("http.request.method", "GET"),
                              kv("http.response.status_code", 200), kv("faas.coldstart", True)])
    ev = server.events.add()
    ev.time_unix_nano = T0 + 1_000
    ev.name = "exception"
    ev.attributes.extend([kv("exception.message", "remaining connection slots are reserved for roles with the SUPERUSER attribute")])
    db = ss.spans.add()
    db.trace_id = TRACE
    db.span_id = bytes.fromhex("b7ad6b7169203331")
    db.parent_span_id = server.span_id
    db.name = "SELECT feed"
    db.kind = Span.SPAN_KIND_CLIENT
    db.start_time_unix_nano = T0 + 10_000_000
    db.end_time_unix_nano = T0 + 60_000_000
    db.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="connection terminated unexpectedly"))
    db.attributes.extend([kv("db.system", "postgresql"), kv("db.name", "shop"), kv("db.statement", "SELECT 1")])
    write(1, req, f"traces-{rname}")

    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(resource)
    sm = rm.scope_metrics.add()
    for name, value, state in [("db.client.connection.count", 7, "used"), ("db.client.connection.count", 3, "idle"),
                               ("db.client.connection.max", 10, None), ("db.client.connection.pending_requests", 4, None),
                               ("db.client.connections.usage", 9, "used"), ("db.client.connection.timeouts", 2, None)]:
        m = sm.metrics.add()
        m.name = name
        m.unit = "{connection}"
        points = m.sum.data_points if name.endswith("timeouts") else m.gauge.data_points
        if name.endswith("timeouts"):
            m.sum.is_monotonic = True
            m.sum.aggregation_temporality = 2
        p = points.add()
        p.time_unix_nano = T0 + 5_000_000_000
        p.as_int = value
        p.attributes.extend([kv("db.client.connection.pool.name", "main")] + ([kv("db.client.connection.state", state)] if state else []))
    m = sm.metrics.add()
    m.name = "db.client.connection.wait_time"
    m.unit = "s"
    hp = m.histogram.data_points.add()
    hp.time_unix_nano = T0 + 5_000_000_000
    hp.count = 4
    hp.sum = 1.75
    hp.bucket_counts.extend([1, 2, 1])
    hp.explicit_bounds.extend([0.1, 1.0])
    hp.attributes.extend([kv("db.client.connection.pool.name", "main")])
    write(2, req, f"metrics-{rname}")
print(f"{n} OTLP seeds", file=sys.stderr)
