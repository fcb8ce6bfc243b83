#!/usr/bin/env python3
"""The OpenTelemetry Python SDK sending one histogram with its standard
switch to base-2 exponential buckets
(OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram,
set here before the exporter is built). Prints the data point the SDK
exported, as JSON, so the test compares what arrived with what was sent.

usage: otel_sdk_exponential.py http://127.0.0.1:4318 http|grpc SERVICE
"""

import json
import os
import sys

os.environ["OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"] = "base2_exponential_bucket_histogram"

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402


def main():
    endpoint, transport, service = sys.argv[1], sys.argv[2], sys.argv[3]
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        exporter = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics")

    sent = []
    export = exporter.export

    def keep(metrics_data, **kwargs):
        result = export(metrics_data, **kwargs)
        if result != MetricExportResult.SUCCESS:
            print(f"export failed: {result}", file=sys.stderr)
            sys.exit(1)
        sent.append(json.loads(metrics_data.to_json()))
        return result

    exporter.export = keep
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    meters = MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[reader])
    latency = meters.get_meter("sonde").create_histogram("rpc.duration", unit="s")
    # A spread of latencies and a zero (the SDK drops negative values: the
    # histogram instrument takes non-negative ones only).
    values = [0.0] + [0.0005 * 1.07 ** i for i in range(120)] + [2.0, 4.0, 4.0]
    for v in values:
        latency.record(v, {"route": "/api"})
    meters.shutdown()
    points = [
        p
        for body in sent
        for rm in body["resource_metrics"]
        for sm in rm["scope_metrics"]
        for m in sm["metrics"]
        if m["name"] == "rpc.duration"
        for p in m["data"]["data_points"]
    ]
    print(json.dumps(points[-1]))


if __name__ == "__main__":
    main()
