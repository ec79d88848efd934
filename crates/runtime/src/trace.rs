//! Traces across services, on the serving side: every gRPC call runs in the trace its
//! caller sent (W3C `traceparent` and `tracestate` in the request metadata), or in one
//! started here when it sent none, so the events it appends carry that trace on
//! (`waybill_eventlog::trace`, which also says what happens with and without export).
//! Exporting the spans is the telemetry's business (`crate::telemetry`, `--otlp-endpoint`).
//!
//! A call answered with a status other than OK marks its span as an error, with the code
//! (`rpc.grpc.status_code`, as OpenTelemetry's RPC conventions name it) and the message, so
//! a trace viewer shows the refused call in red. That is read from the response's headers,
//! where tonic puts the status of every call that fails before it answers (all of
//! Waybill's refusals); a server stream that fails after its first message has the
//! status in its trailers, which this does not read.

use std::task::{Context, Poll};

use futures::future::{FutureExt as _, Map};
use opentelemetry::context::WithContext;
use tracing::instrument::Instrumented;
use waybill_eventlog::trace::{SPAN_TARGET, in_span, parent_from};

/// Puts every call into its trace, with a server span per RPC (a tower service around the
/// server's; layered with `tower::layer::layer_fn(Traced::new)`).
#[derive(Clone, Debug)]
pub struct Traced<S> {
    inner: S,
}

impl<S> Traced<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// What a call's future turns into: the status it answered written on its span.
type Marked<R, E> = fn(Result<http::Response<R>, E>) -> Result<http::Response<R>, E>;

impl<S, B, R> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithContext<Instrumented<Map<S::Future, Marked<R, S::Error>>>>;

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
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let marked: Marked<R, S::Error> = mark_status;
        in_span(span, parent, self.inner.call(request).map(marked))
    }
}

/// Marks the current span (the call's, entered while its future runs) as an error when the
/// response carries a `grpc-status` other than OK. Nothing is recorded without export.
fn mark_status<R, E>(response: Result<http::Response<R>, E>) -> Result<http::Response<R>, E> {
    if let Ok(response) = &response
        && let Some(code) = response.headers().get("grpc-status").and_then(|code| code.to_str().ok())
        && code != "0"
    {
        let span = tracing::Span::current();
        if let Ok(number) = code.parse::<i64>() {
            span.record("rpc.grpc.status_code", number);
        }
        let message = response.headers().get("grpc-message").and_then(|message| message.to_str().ok());
        let code_name = code.parse::<i32>().map(tonic::Code::from).map(|code| format!("{code:?}"));
        let description =
            format!("{}: {}", code_name.unwrap_or_else(|_| code.to_owned()), message.unwrap_or_default());
        waybill_eventlog::trace::mark_error(&span, &description);
    }
    response
}
