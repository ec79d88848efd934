//! Traces across services, on the serving side: every gRPC call runs in the trace its
//! caller sent (W3C `traceparent` and `tracestate` in the request metadata), or in one
//! started here when it sent none, so the events it appends carry that trace on
//! (`waybill_eventlog::trace`, which also says what happens with and without export).
//! Exporting the spans is the telemetry's business (`crate::telemetry`, `--otlp-endpoint`).

use std::task::{Context, Poll};

use opentelemetry::context::WithContext;
use tracing::instrument::Instrumented;
use waybill_eventlog::trace::{SPAN_TARGET, in_span, parent_from};

/// The tower layer that puts every call into its trace, with a server span per RPC.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceLayer;

impl<S> tower::Layer<S> for TraceLayer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Traced { inner }
    }
}

#[derive(Clone, Debug)]
pub struct Traced<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithContext<Instrumented<S::Future>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let headers = request.headers();
        let parent = parent_from(|name| headers.get(name).and_then(|value| value.to_str().ok()));
        // `/waybill.v1.IntakeService/PlaceOrder`: OpenTelemetry's RPC span name is the path
        // without its slash. Only formatted when the span is recorded (export on).
        let method = request.uri().path().trim_start_matches('/');
        let span = tracing::info_span!(
            target: SPAN_TARGET,
            "rpc",
            otel.name = method,
            otel.kind = "server",
            rpc.system = "grpc",
        );
        in_span(span, parent, self.inner.call(request))
    }
}
