#!/usr/bin/env python3
"""Plays a small hybrid fleet through the real OpenTelemetry Python SDK into `skein tail --listen`.

Three instances of two services, each with its own SDK pipeline (as three processes would have):
  edge-api   instance edge-1                       (cloudflare workers)
  orders     instance orders-a, faas.coldstart=true (aws lambda)
  orders     instance orders-b                      (aws lambda)
Trace 1 crosses services: edge-api GET /checkout -> client span -> orders-a POST /orders.
Trace 2 crosses services: edge-api GET /status -> orders-b GET /orders/7.
Trace 3 stays in orders-b. Each instance also logs one record inside a request (/v1/logs), so
it carries that request's trace id.

Usage: otel-e2e.py http://127.0.0.1:PORT [TOKEN]
Prints one JSON line: the trace ids it sent (lower-case hex) and whether log records were sent.
"""
import json
import sys
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

try:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
except ImportError:  # older or newer SDKs move the logs API; traces are what the test needs
    OTLPLogExporter = None

base = sys.argv[1].rstrip("/")
headers = {"Authorization": "Bearer " + sys.argv[2]} if len(sys.argv) > 2 else None


def instance(attrs):
    resource = Resource.create(attrs)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=base + "/v1/traces", headers=headers)))
    logs = None
    if OTLPLogExporter is not None:
        logs = LoggerProvider(resource=resource)
        logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=base + "/v1/logs", headers=headers)))
    return provider, logs


edge, edge_logs = instance({"service.name": "edge-api", "service.instance.id": "edge-1", "cloud.platform": "cloudflare.workers"})
orders_a, orders_a_logs = instance({"service.name": "orders", "faas.instance": "orders-a", "cloud.platform": "aws_lambda",
                                    "cloud.region": "us-east-1", "faas.coldstart": True})
orders_b, orders_b_logs = instance({"service.name": "orders", "faas.instance": "orders-b", "cloud.platform": "aws_lambda",
                                    "cloud.region": "us-east-1"})

def logger(name, logs):
    import logging
    log = logging.getLogger("e2e." + name)
    log.propagate = False
    if logs is not None:
        log.addHandler(LoggingHandler(logger_provider=logs))
    return log


log_edge, log_a, log_b = logger("edge-1", edge_logs), logger("orders-a", orders_a_logs), logger("orders-b", orders_b_logs)
t_edge = edge.get_tracer("e2e")
t_a = orders_a.get_tracer("e2e")
t_b = orders_b.get_tracer("e2e")
ids = []


def hex_id(span):
    return format(span.get_span_context().trace_id, "032x")


with t_edge.start_as_current_span("GET /checkout", kind=SpanKind.SERVER, attributes={"http.route": "/checkout", "http.request.method": "GET"}) as root:
    ids.append(hex_id(root))
    log_edge.warning("checkout for cart 42")
    with t_edge.start_as_current_span("POST orders", kind=SpanKind.CLIENT) as client:
        ctx = trace.set_span_in_context(client)
        with t_a.start_as_current_span("POST /orders", context=ctx, kind=SpanKind.SERVER,
                                       attributes={"http.route": "/orders", "http.request.method": "POST", "http.response.status_code": 201}):
            with t_a.start_as_current_span("INSERT orders", kind=SpanKind.CLIENT, attributes={"db.system": "postgresql"}):
                time.sleep(0.02)
            log_a.warning("order created")
    root.set_attribute("http.response.status_code", 200)

with t_edge.start_as_current_span("GET /status", kind=SpanKind.SERVER, attributes={"http.route": "/status", "http.request.method": "GET"}) as root:
    ids.append(hex_id(root))
    ctx = trace.set_span_in_context(root)
    with t_b.start_as_current_span("GET /orders/7", context=ctx, kind=SpanKind.SERVER,
                                   attributes={"http.route": "/orders/{id}", "http.request.method": "GET", "http.response.status_code": 500}) as s:
        log_b.error("order 7 lookup failed")
        s.set_status(Status(StatusCode.ERROR, "boom"))
    root.set_attribute("http.response.status_code", 502)

with t_b.start_as_current_span("GET /orders", kind=SpanKind.SERVER, attributes={"http.route": "/orders", "http.request.method": "GET", "http.response.status_code": 200}) as root:
    ids.append(hex_id(root))

for provider, logs in [(edge, edge_logs), (orders_a, orders_a_logs), (orders_b, orders_b_logs)]:
    if logs is not None:
        logs.force_flush()
        logs.shutdown()
    provider.force_flush()
    provider.shutdown()

print(json.dumps({"trace_ids": ids, "logs": OTLPLogExporter is not None}))
