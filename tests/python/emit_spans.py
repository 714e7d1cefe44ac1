"""Sends spans with the OpenTelemetry Python SDK's OTLP exporter, for the
end-to-end tests of request encodings: the SDK as users run it.

    python3 emit_spans.py --endpoint http://127.0.0.1:4318 --protocol http --compression deflate --spans 300
"""

import argparse
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def exporter(protocol, endpoint, compression):
    if protocol == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        kinds = {"gzip": Compression.Gzip, "deflate": Compression.Deflate, "none": Compression.NoCompression}
        return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", compression=kinds[compression])
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    kinds = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate, "none": grpc.Compression.NoCompression}
    target = endpoint.split("://", 1)[-1]
    return OTLPSpanExporter(endpoint=target, insecure=True, compression=kinds[compression])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", choices=["http", "grpc"], required=True)
    parser.add_argument("--compression", choices=["gzip", "deflate", "none"], required=True)
    parser.add_argument("--spans", type=int, default=300)
    args = parser.parse_args()
    provider = TracerProvider(resource=Resource.create({"service.name": "python-" + args.compression}))
    provider.add_span_processor(BatchSpanProcessor(exporter(args.protocol, args.endpoint, args.compression), max_export_batch_size=100))
    tracer = provider.get_tracer("emit_spans")
    for n in range(args.spans):
        with tracer.start_as_current_span("work-%d" % n):
            pass
    flushed = provider.force_flush(30_000)
    provider.shutdown()
    return 0 if flushed else 1


if __name__ == "__main__":
    sys.exit(main())
