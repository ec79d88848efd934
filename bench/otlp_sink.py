#!/usr/bin/env python3
"""An OTLP/gRPC receiver that accepts every export and keeps nothing: what the bench's
services export to when measuring the cost of tracing (BENCHMARKS.md, "Tracing export").

Usage: .tools/venv/bin/python bench/otlp_sink.py [PORT]   (default 4317; needs grpcio, which
`make example-python` installs with grpcio-tools). Prints the export requests received on exit.
"""

import signal
import sys
from concurrent import futures

import grpc

batches = 0


def export(request: bytes, context) -> bytes:
    global batches
    batches += 1
    return b""  # an empty ExportTraceServiceResponse: everything accepted


class AnyMethod(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        # No (de)serializers: requests and responses stay raw bytes.
        return grpc.unary_unary_rpc_method_handler(export)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4317
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((AnyMethod(),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"otlp sink on 127.0.0.1:{port}", flush=True)

    def stop(*_):
        server.stop(0)
        print(f"{batches} export requests received", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
