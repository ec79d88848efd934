//! One order's trace across the five services: W3C trace context (`traceparent`,
//! `tracestate`) carried on every event the log stores, read back by the reactions that
//! consume it, and accepted from callers (crates/runtime puts it on every gRPC call).
//!
//! The context is OpenTelemetry's, made current for a piece of work (an RPC, one event a
//! reaction handles) with [`in_span`]; [`crate::EventLog::append`] writes the current
//! context on every event it appends, so a reaction's events carry the trace of the event
//! that caused them, and so on across services.
//!
//! A piece of work that fails marks its span an error ([`mark_error`]), so a trace viewer
//! shows where an order's story went wrong.
//!
//! It propagates whether or not this process exports traces:
//! - exporting (the `tracing-opentelemetry` layer installed, crates/runtime): the work gets
//!   a span of its own, a child of the caller's (or a root when the caller sent none), and
//!   the events carry that span's id;
//! - not exporting: no span is recorded and nothing is allocated for one; the events carry
//!   the caller's context unchanged (their parent is the caller's span, which the caller
//!   may have exported), and a caller that sent none starts a trace here: a fresh trace id,
//!   flagged sampled, so that services that do export record their part of it.

use std::future::Future;

use async_nats::HeaderMap;
use opentelemetry::Context;
use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use tracing::Instrument;
use tracing::instrument::Instrumented;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header that names the trace and the span an event was written in.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header with vendors' trace state, passed on as received.
pub const TRACESTATE: &str = "tracestate";
/// The `tracing` target of the spans Waybill opens for traces (an RPC, a reaction's event,
/// a timer's tick): the runtime's log filter leaves them to the exporter, out of the logs.
pub const SPAN_TARGET: &str = "waybill_trace";

/// The context a caller sent, read with `get` (a header lookup); empty when it sent none
/// or an invalid one.
pub fn parent_from<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Context {
    // The marker ties the looked-up values' lifetime to the lookup's.
    struct Lookup<'a, F>(F, std::marker::PhantomData<&'a str>);
    impl<'a, F: Fn(&str) -> Option<&'a str>> Extractor for Lookup<'a, F> {
        fn get(&self, key: &str) -> Option<&str> {
            (self.0)(key)
        }
        fn keys(&self) -> Vec<&str> {
            vec![TRACEPARENT, TRACESTATE]
        }
    }
    TraceContextPropagator::new().extract(&Lookup(get, std::marker::PhantomData))
}

/// The context an event was appended in (its `traceparent`), empty if it has none.
pub fn parent_of_event(headers: Option<&HeaderMap>) -> Context {
    match headers {
        Some(headers) => parent_from(|name| headers.get(name).map(|value| value.as_str())),
        None => Context::new(),
    }
}

/// Runs `work` in `span`, a child of `parent` (see the module docs for what that means
/// with and without export): what every RPC and every reaction's event runs in.
pub fn in_span<F: Future>(span: tracing::Span, parent: Context, work: F) -> WithContext<Instrumented<F>> {
    let context = begin(&span, parent);
    work.instrument(span).with_context(context)
}

/// The context the work in `span` runs in.
fn begin(span: &tracing::Span, parent: Context) -> Context {
    // Fails without the exporter's layer (or with the span filtered out): nothing to record.
    if span.set_parent(parent.clone()).is_ok() {
        let context = span.context();
        if context.span().span_context().is_valid() {
            return context;
        }
    }
    if parent.span().span_context().is_valid() { parent } else { new_trace() }
}

/// Marks `span` as failed with `error` as its status description (an RPC answered with an
/// error status, a reaction's event that failed or was dead-lettered); nothing is recorded
/// when the span is not (export off). The span must declare `otel.status_code` and
/// `otel.status_description` (as `tracing::field::Empty`) to take them.
pub fn mark_error(span: &tracing::Span, error: &dyn std::fmt::Display) {
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_description", error.to_string());
}

/// A trace started here, with no span recorded for it.
fn new_trace() -> Context {
    let ids = RandomIdGenerator::default();
    let span = SpanContext::new(
        ids.new_trace_id(),
        ids.new_span_id(),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span)
}

/// The trace headers every event of one append gets: the current context's, or a trace
/// of its own when there is none (an operator's tool, a test appending by hand).
#[derive(Clone, Debug, Default)]
pub(crate) struct TraceHeaders {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl TraceHeaders {
    pub(crate) fn current() -> Self {
        let current = Context::current();
        let context = if current.span().span_context().is_valid() { current } else { new_trace() };
        let mut headers = TraceHeaders::default();
        TraceContextPropagator::new().inject_context(&context, &mut headers);
        headers
    }

    pub(crate) fn write(&self, headers: &mut HeaderMap) {
        if let Some(traceparent) = &self.traceparent {
            headers.insert(TRACEPARENT, traceparent.as_str());
        }
        if let Some(tracestate) = &self.tracestate {
            headers.insert(TRACESTATE, tracestate.as_str());
        }
    }
}

impl Injector for TraceHeaders {
    fn set(&mut self, key: &str, value: String) {
        match key {
            TRACEPARENT => self.traceparent = Some(value),
            TRACESTATE if !value.is_empty() => self.tracestate = Some(value),
            _ => {}
        }
    }
}

/// The current context as W3C headers (`traceparent`, and `tracestate` when there is one),
/// for a client to send on an outgoing call (the console's gRPC calls); a trace of its own
/// when there is no current context.
pub fn current_headers() -> Vec<(&'static str, String)> {
    let current = TraceHeaders::current();
    let traceparent = current.traceparent.map(|value| (TRACEPARENT, value));
    traceparent.into_iter().chain(current.tracestate.map(|value| (TRACESTATE, value))).collect()
}

/// The current context's trace id (32 hex digits), if there is a current context.
pub fn current_trace_id() -> Option<String> {
    let current = Context::current();
    let span = current.span();
    let context = span.span_context();
    context.is_valid().then(|| context.trace_id().to_string())
}

/// The trace id of a `traceparent` header value (`00-<trace id>-<span id>-<flags>`).
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    (trace_id.len() == 32).then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn appended_in(context: Context) -> HeaderMap {
        let _attached = context.attach();
        let mut headers = HeaderMap::new();
        TraceHeaders::current().write(&mut headers);
        headers
    }

    #[test]
    fn without_an_exporter_the_callers_context_goes_on_unchanged() {
        let parent = parent_from(|name| (name == TRACEPARENT).then_some(CALLER));
        let span = tracing::info_span!(target: SPAN_TARGET, "rpc");
        let headers = appended_in(begin(&span, parent));
        assert_eq!(headers.get(TRACEPARENT).map(|value| value.as_str()), Some(CALLER));
    }

    #[test]
    fn a_caller_without_a_context_starts_a_sampled_trace() {
        let span = tracing::info_span!(target: SPAN_TARGET, "rpc");
        let headers = appended_in(begin(&span, parent_from(|_| None)));
        let traceparent = headers.get(TRACEPARENT).map(|value| value.as_str().to_owned()).unwrap_or_default();
        let trace_id = trace_id_of(&traceparent).unwrap_or_default();
        assert_eq!(trace_id.len(), 32, "{traceparent}");
        assert!(traceparent.ends_with("-01"), "{traceparent}");
        assert_ne!(trace_id, "00000000000000000000000000000000");
    }

    #[test]
    fn an_invalid_traceparent_is_no_context() {
        for bad in
            ["00-zz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""]
        {
            let parent = parent_from(|name| (name == TRACEPARENT).then_some(bad));
            assert!(!parent.span().span_context().is_valid(), "{bad}");
        }
    }
}
