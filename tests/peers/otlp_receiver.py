#!/usr/bin/env python3
"""An OTLP receiver for Sonde's tests, built on the official protobuf classes
(PyPI opentelemetry-proto) and grpcio.

It listens on 127.0.0.1 for OTLP/HTTP (protobuf and JSON, gzip or not) and
OTLP/gRPC, decodes every export request with the official classes, and keeps
it. Its first line on stdout is `http=<port> grpc=<port>`.

Control endpoints (on the HTTP port), for fault tests:
  GET  /received   every accepted request, as JSON: [{"transport", "signal",
                   "body"}], with trace and span ids in lowercase hex
  GET  /attempts   how many export requests arrived, accepted or not
  GET  /span_ids   the span ids of every accepted trace request, in order
                   of arrival, repeats included (a JSON array of hex)
  POST /control    {"statuses": [503, 200], "retry_after": "1",
                   "delay": 0.5, "partial": 2}: answer the next requests
                   with these statuses (HTTP, mapped to gRPC codes), after a
                   delay, and report `partial` rejected items in a success
  POST /reset      forget everything received

With --tls-cert/--tls-key the gRPC port speaks TLS and OTLP/HTTP is also
served over TLS on a third port (`https=<port>`); control stays plain. With
--tls-client-ca both TLS ports also require a client certificate issued by
that authority (mutual TLS).

A scripted gRPC failure with "retry_after" carries a google.rpc.RetryInfo
of that many seconds in its status details, as OTLP servers signal
throttling; over HTTP it is the Retry-After header.
"""

import argparse
import base64
import gzip
import json
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

MAX_BODY = 16 << 20

SIGNALS = {
    "traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse,
               "partial_success", "rejected_spans"),
    "metrics": (metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse,
                "partial_success", "rejected_data_points"),
    "logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse,
             "partial_success", "rejected_log_records"),
}

GRPC_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}

lock = threading.Lock()
received = []
attempts = 0
script = {"statuses": [], "retry_after": None, "delay": 0.0, "partial": 0}

ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def hex_ids(node):
    """MessageToDict renders bytes as base64; tests want hex ids."""
    if isinstance(node, dict):
        return {k: (base64.b64decode(v).hex() if k in ID_KEYS and isinstance(v, str) else hex_ids(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [hex_ids(v) for v in node]
    return node


def ids_to_base64(node):
    """OTLP/JSON writes ids as hex, where protobuf's JSON mapping (which
    json_format implements) expects base64: convert before parsing, as
    collectors do."""
    if isinstance(node, dict):
        return {k: (base64.b64encode(bytes.fromhex(v)).decode() if k in ID_KEYS and isinstance(v, str)
                    else ids_to_base64(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [ids_to_base64(v) for v in node]
    return node


def next_outcome():
    """The status for this request and the scripted delay and partial count."""
    global attempts
    with lock:
        attempts += 1
        status = script["statuses"].pop(0) if script["statuses"] else 200
        return status, script["retry_after"], script["delay"], script["partial"]


def keep(transport, signal, message):
    body = hex_ids(json_format.MessageToDict(message))
    with lock:
        received.append({"transport": transport, "signal": signal, "body": body})


def response_for(signal, partial):
    _, response_cls, field, count_field = SIGNALS[signal]
    response = response_cls()
    if partial:
        getattr(response, field).__setattr__(count_field, partial)
        getattr(response, field).error_message = "rejected by the test receiver"
    return response


class Http(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            if self.path == "/received":
                return self.reply(200, json.dumps(received).encode())
            if self.path == "/attempts":
                return self.reply(200, str(attempts).encode())
            if self.path == "/span_ids":
                ids = [span.get("spanId") for r in received if r["signal"] == "traces"
                       for rs in r["body"].get("resourceSpans", []) for ss in rs.get("scopeSpans", [])
                       for span in ss.get("spans", [])]
                return self.reply(200, json.dumps(ids).encode())
        self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            return self.reply(413)
        raw = self.rfile.read(length)
        if self.path == "/control":
            with lock:
                script.update(json.loads(raw or b"{}"))
            return self.reply(200)
        if self.path == "/reset":
            global attempts
            with lock:
                received.clear()
                attempts = 0
                script.update({"statuses": [], "retry_after": None, "delay": 0.0, "partial": 0})
            return self.reply(200)
        signal = self.path.rsplit("/", 1)[-1]
        if not self.path.startswith("/v1/") or signal not in SIGNALS:
            return self.reply(404)
        status, retry_after, delay, partial = next_outcome()
        if delay:
            time.sleep(delay)
        if status != 200:
            headers = [("Retry-After", retry_after)] if retry_after else []
            return self.reply(status, b'{"code": 14, "message": "scripted failure"}', headers=headers)
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        request_cls = SIGNALS[signal][0]
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/json"):
                message = json_format.ParseDict(ids_to_base64(json.loads(raw)), request_cls())
                transport = "http/json"
            else:
                message = request_cls.FromString(raw)
                transport = "http/protobuf"
        except Exception as e:  # a body the official classes refuse
            return self.reply(400, json.dumps({"message": str(e)}).encode())
        keep(transport, signal, message)
        response = response_for(signal, partial)
        if transport == "http/json":
            self.reply(200, json_format.MessageToJson(response).encode())
        else:
            self.reply(200, response.SerializeToString(), "application/x-protobuf")


def retry_info(code, seconds):
    """A google.rpc.Status with a RetryInfo detail, serialised."""
    from google.protobuf import any_pb2, duration_pb2
    from google.rpc import error_details_pb2, status_pb2
    delay = float(seconds)
    info = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=int(delay), nanos=int((delay % 1) * 1e9)))
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=code.value[0], message="scripted failure", details=[detail]).SerializeToString()


def servicer(base, signal):
    class Servicer(base):
        def Export(self, request, context):
            status, retry_after, delay, partial = next_outcome()
            if delay:
                time.sleep(delay)
            if status != 200:
                code = GRPC_CODES.get(status, grpc.StatusCode.INTERNAL)
                if retry_after:
                    context.set_trailing_metadata((("grpc-status-details-bin", retry_info(code, retry_after)),))
                context.abort(code, "scripted failure")
            keep("grpc", signal, request)
            return response_for(signal, partial)

    return Servicer()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--tls-cert", help="serve TLS on both ports with this PEM certificate")
    parser.add_argument("--tls-key", help="and this PEM key")
    parser.add_argument("--tls-client-ca", help="require client certificates issued by this PEM authority")
    args = parser.parse_args()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
        servicer(trace_service_pb2_grpc.TraceServiceServicer, "traces"), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
        servicer(metrics_service_pb2_grpc.MetricsServiceServicer, "metrics"), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
        servicer(logs_service_pb2_grpc.LogsServiceServicer, "logs"), server)
    if args.tls_cert:
        with open(args.tls_cert, "rb") as c, open(args.tls_key, "rb") as k:
            client_ca = open(args.tls_client_ca, "rb").read() if args.tls_client_ca else None
            credentials = grpc.ssl_server_credentials(
                [(k.read(), c.read())], root_certificates=client_ca, require_client_auth=client_ca is not None)
        grpc_port = server.add_secure_port(f"127.0.0.1:{args.grpc_port}", credentials)
    else:
        grpc_port = server.add_insecure_port(f"127.0.0.1:{args.grpc_port}")
    server.start()

    http = ThreadingHTTPServer(("127.0.0.1", args.http_port), Http)
    https_port = ""
    if args.tls_cert:
        # Data over TLS on a port of its own; control stays on plain HTTP.
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.tls_client_ca)
        https = ThreadingHTTPServer(("127.0.0.1", 0), Http)
        https.socket = context.wrap_socket(https.socket, server_side=True)
        threading.Thread(target=https.serve_forever, daemon=True).start()
        https_port = f" https={https.server_address[1]}"
    print(f"http={http.server_address[1]} grpc={grpc_port}{https_port}", flush=True)
    try:
        http.serve_forever()
    finally:
        server.stop(0)


if __name__ == "__main__":
    sys.exit(main())
