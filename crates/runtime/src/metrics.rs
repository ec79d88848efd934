//! Metrics for operations, in Prometheus text format on their own HTTP listener
//! (`GET /metrics`). Libraries record through the `metrics` facade; without an exporter
//! (as in the in-process tests) recording costs next to nothing.
//!
//! Every service exports:
//! - `waybill_grpc_requests_total{method, code}` and
//!   `waybill_grpc_request_duration_seconds{method}` (this module's tower layer);
//! - `waybill_projection_applied_position{projection}` and
//!   `waybill_projection_halts_total` (crates/eventlog, projections);
//! - `waybill_reaction_events_total{consumer, outcome}` with outcome `handled`, `retried`
//!   or `dead_lettered` (crates/eventlog, reactions);
//! - `waybill_append_conflicts_total` (crates/eventlog, lost optimistic-concurrency races).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use metrics_exporter_prometheus::PrometheusBuilder;

/// Binds `listen` (port 0 lets the system choose), makes the Prometheus recorder the
/// process's recorder and serves `GET /metrics` there; returns the bound address. Call
/// once, from `main`, inside the tokio runtime.
pub async fn export(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot serve metrics on {listen}: {error}"))?;
    let bound = listener.local_addr()?;
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| anyhow::anyhow!("cannot install the metrics recorder: {error}"))?;
    // Without an exporter of its own, the recorder's histograms are drained by us.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(move || std::future::ready(handle.render())));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    tracing::info!(address = %bound, "metrics on http://{bound}/metrics");
    Ok(bound)
}

/// Counts and times every gRPC call (a tower service around the server's; layered with
/// `tower::layer::layer_fn(GrpcMetrics::new)`).
#[derive(Clone, Debug)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S> GrpcMetrics<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// gRPC's status code 12: the method does not exist. Its path is not used as a label, so
/// callers cannot grow the metrics without bound by inventing method names.
const UNIMPLEMENTED: &str = "12";

impl<S, B, R> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            // A unary call that fails answers "trailers-only": the status is in the headers.
            // A call without one in the headers succeeded (or, for a stream, reports in
            // its trailers, which this layer does not read).
            let code = match &response {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport".to_owned(),
            };
            let method = if code == UNIMPLEMENTED { "unknown".to_owned() } else { method };
            metrics::histogram!("waybill_grpc_request_duration_seconds", "method" => method.clone())
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("waybill_grpc_requests_total", "method" => method, "code" => code).increment(1);
            response
        })
    }
}
