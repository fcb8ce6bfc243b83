#!/usr/bin/env python3
"""The OpenTelemetry Python SDK, as the reference sender: exports the same
workload as Sonde's interop test (crates/sonde-otlp/tests/interop.rs) to an
OTLP receiver, then exits.

usage: otel_sdk_send.py http://127.0.0.1:4318 http|grpc
"""

import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


def main():
    endpoint, transport = sys.argv[1], sys.argv[2]
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        metric_exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True)
        span_exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        metric_exporter = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics")
        span_exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")

    resource = Resource.create({"service.name": "sonde-test", "deployment.environment": "ci"})
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    view = View(instrument_name="latency_seconds", aggregation=ExplicitBucketHistogramAggregation([0.1, 0.5, 1.0]))
    meters = MeterProvider(resource=resource, metric_readers=[reader], views=[view])
    meter = meters.get_meter("sonde")
    meter.create_counter("jobs", description="Jobs run.").add(3, {"queue": "a"})
    meter.create_up_down_counter("in_flight").add(2.0)
    meter.create_gauge("temperature_celsius").set(21.5)
    latency = meter.create_histogram("latency_seconds", unit="s")
    for v in (0.05, 0.2, 0.3, 2.0):
        latency.record(v)
    meters.shutdown()

    tracers = TracerProvider(resource=resource)
    tracers.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = tracers.get_tracer("checkout")
    with tracer.start_as_current_span("handle") as parent:
        parent.set_attribute("http.route", "/cart")
        with tracer.start_as_current_span("query", kind=SpanKind.CLIENT) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "timeout"))
    tracers.shutdown()


if __name__ == "__main__":
    main()
