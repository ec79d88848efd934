//! Logging and traces. Logs: `tracing` with an env filter (`RUST_LOG`, default `info`),
//! human-readable text by default, one JSON object per line on request (for log shippers).
//!
//! Traces: off unless an OTLP endpoint is configured (`--otlp-endpoint` or the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT`). Then the spans Waybill opens (one per RPC, one per event
//! a reaction handles; `waybill_eventlog::trace`) and the log lines inside them go to that
//! collector over OTLP/gRPC, batched, with `service.name` = the binary's name. Without an
//! endpoint the trace context still propagates (callers, events, reactions); only nothing
//! is recorded, and the spans are filtered out before anything is allocated for them.

use std::sync::OnceLock;
use std::time::Duration;

use clap::ValueEnum;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};
use waybill_eventlog::trace::SPAN_TARGET;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where traces go (the service flags' `--otlp-endpoint`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TraceFlags {
    /// Export traces over OTLP/gRPC to this collector, e.g. `http://localhost:4317`
    /// (Jaeger, Tempo, an OpenTelemetry Collector). Off when unset. The trace context is
    /// carried on calls and events either way (docs/OPERATIONS.md, "Traces").
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// How long a stopping process waits for its last spans to be sent.
const EXPORT_FLUSH: Duration = Duration::from_secs(5);

static EXPORTING: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber, logs only. Call once, first thing in `main`.
pub fn init(format: LogFormat) {
    if let Err(error) = init_service(format, &TraceFlags::default(), "waybill") {
        eprintln!("cannot start logging: {error}");
    }
}

/// Installs the global subscriber for service `name` (`waybill-intake`): logs, and traces
/// exported as `traces` says. Must run inside the Tokio runtime (the exporter's gRPC
/// channel lives on it). A second call changes nothing.
pub fn init_service(format: LogFormat, traces: &TraceFlags, name: &str) -> anyhow::Result<()> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The trace spans are the exporter's, never log lines (nor the context of log lines).
    let not_spans = format!("{SPAN_TARGET}=off").parse()?;
    let logs = tracing_subscriber::fmt::layer().with_target(false);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(false).boxed(),
    }
    .with_filter(filter().add_directive(not_spans));
    let exporter = match &traces.otlp_endpoint {
        Some(endpoint) if !endpoint.trim().is_empty() => {
            let provider = tracer_provider(endpoint.trim(), name)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("waybill"))
                .with_filter(filter().add_directive(format!("{SPAN_TARGET}=info").parse()?));
            let _ = EXPORTING.set(provider);
            Some(layer)
        }
        _ => None,
    };
    if tracing_subscriber::registry().with(logs).with(exporter).try_init().is_ok()
        && let Some(endpoint) = &traces.otlp_endpoint
    {
        tracing::info!(endpoint = %endpoint.trim(), service = name, "exporting traces over OTLP/gRPC");
    }
    Ok(())
}

fn tracer_provider(endpoint: &str, name: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|error| anyhow::anyhow!("--otlp-endpoint {endpoint:?}: {error}"))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(name.to_owned()).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// Sends the spans still queued (at the end of a service's run); nothing without export.
pub async fn flush() {
    if let Some(provider) = EXPORTING.get() {
        let provider = provider.clone();
        // The batch processor blocks while it sends; its channel needs the runtime going.
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(EXPORT_FLUSH)).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "the last spans could not be exported");
        }
    }
}

/// For a command-line tool whose stdout is its output (`waybill`'s tables and JSON lines):
/// logs go to stderr, warnings and errors only unless `RUST_LOG` says otherwise.
pub fn init_for_tool() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();
}
