//! Serving gRPC the same way in every service: every call in its trace (`crate::trace`),
//! the authentication layer in front of everything, health (grpc.health.v1), optional server reflection, request size limits,
//! and a listener the caller bound (tests bind port 0).

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::ServerTlsConfig;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::layer::layer_fn;

/// Largest request a service decodes. Orders are small; this refuses abuse early.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// How long a stopping server waits for in-flight calls by default.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// grpc.health.v1 for one service. Starts NOT_SERVING (both for the service's name and
/// for "", the whole server) until the service says its read model has caught up.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    service_name: &'static str,
}

impl Health {
    pub async fn new<S: NamedService>()
    -> (Self, tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>)
    {
        let (reporter, server) = tonic_health::server::health_reporter();
        let health = Self { reporter, service_name: S::NAME };
        health.set(ServingStatus::NotServing).await;
        (health, server)
    }

    /// The gRPC service this health reports for (`waybill.v1.IntakeService`).
    pub fn service_name(&self) -> &'static str {
        self.service_name
    }

    pub async fn serving(&self) {
        self.set(ServingStatus::Serving).await;
    }

    pub async fn not_serving(&self) {
        self.set(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        self.reporter.set_service_status("", status).await;
        self.reporter.set_service_status(self.service_name, status).await;
    }
}

/// Health follows the read model: SERVING once it has caught up with the log as it was at
/// start, NOT_SERVING again at once if it halts later (an event it cannot apply), so a
/// service never answers from a model that stopped moving while claiming to be fine, and
/// SERVING again when it resumes (an operator waived the event, `waybill waive`).
/// `describe` adds the model's size to the log line; `then` runs while SERVING (a timer
/// such as an SLA clock): paused during a halt, so it never acts on a model that is behind.
pub fn follow_read_model<P: waybill_eventlog::Projection>(
    health: Health,
    model: waybill_eventlog::Projector<P>,
    catch_up_timeout: Duration,
    describe: fn(&P) -> String,
    then: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match model.wait_caught_up(catch_up_timeout).await {
            Ok(()) => {
                let summary = describe(&model.read());
                tracing::info!(
                    %summary,
                    position = model.applied(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "read model caught up, serving"
                );
                health.serving().await;
            }
            Err(error) => {
                tracing::error!(%error, "read model did not catch up; staying NOT_SERVING");
                // A halt during catch-up may still be waived: serve once it has caught up.
                model.resumed().await;
                if model.wait_caught_up(catch_up_timeout.saturating_mul(10)).await.is_err() {
                    return;
                }
                health.serving().await;
            }
        }
        tokio::pin!(then);
        let mut then_done = false;
        loop {
            let reason = {
                let halted = model.halted();
                tokio::select! {
                    reason = halted => reason,
                    () = &mut then, if !then_done => {
                        then_done = true;
                        continue;
                    }
                }
            };
            health.not_serving().await;
            tracing::error!(%reason, position = model.applied(), "read model halted; NOT_SERVING until the event is waived");
            model.resumed().await;
            health.serving().await;
            tracing::warn!(position = model.applied(), "read model resumed past a waived event; SERVING");
        }
    })
}

/// Runs `starting` (opening the log, starting the read model: work that may wait on NATS
/// for as long as NATS is away) while a stand-in on `listener` answers grpc.health.v1 with
/// NOT_SERVING and every other call with UNAVAILABLE. Probes and clients meet a service
/// that says it is starting, not a port that accepts and says nothing. The listener comes
/// back for the real server. `tls` is the port's TLS (`None`: plaintext), the same as the
/// real server's, so a client that speaks TLS to it meets TLS from the first moment.
pub async fn while_starting<S: NamedService, T>(
    listener: TcpListener,
    tls: Option<ServerTlsConfig>,
    starting: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(TcpListener, T)> {
    // Two handles on one socket: the stand-in's is dropped before the real server starts.
    let socket = listener.into_std()?;
    let stand_in_listener = TcpListener::from_std(socket.try_clone()?)?;
    let listener = TcpListener::from_std(socket)?;

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status("", ServingStatus::NotServing).await;
    reporter.set_service_status(S::NAME, ServingStatus::NotServing).await;
    let router = Routes::new(health).into_axum_router().fallback(|| async {
        tonic::Status::unavailable("starting: the service is connecting to its event log")
            .into_http::<tonic::body::Body>()
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stand_in = tokio::spawn(
        with_tls(tonic::transport::Server::builder(), tls)?
            .add_routes(Routes::from(router))
            .serve_with_incoming_shutdown(
                TcpIncoming::from(stand_in_listener).with_nodelay(Some(true)),
                async move {
                    let _ = stopped.await;
                },
            ),
    );

    let started = starting.await;
    let _ = stop.send(());
    // Idle connections close at once on the GOAWAY; a stuck one does not hold the start.
    if tokio::time::timeout(Duration::from_secs(2), stand_in).await.is_err() {
        tracing::warn!("the start-up stand-in did not stop within 2 s; going on");
    }
    Ok((listener, started?))
}

/// The builder with the port's TLS, when it has one.
fn with_tls(
    builder: tonic::transport::Server,
    tls: Option<ServerTlsConfig>,
) -> anyhow::Result<tonic::transport::Server> {
    Ok(match tls {
        Some(config) => builder.tls_config(config)?,
        None => builder,
    })
}

/// Serves `routes` over `tls` (plaintext when `None`) behind the authentication layer (`crate::auth`: every call but health
/// and reflection needs a token `verifier` accepts and a permission the policy names), plus
/// reflection when asked (`reflection` names the one gRPC service this port serves, which
/// reflection lists beside health), on `listener` until `shutdown` resolves, then lets
/// in-flight calls finish for at most `grace`: a client that never closes its connection
/// (frozen, partitioned) must not keep the process from exiting.
pub async fn serve(
    routes: Routes,
    listener: TcpListener,
    tls: Option<ServerTlsConfig>,
    verifier: std::sync::Arc<waybill_auth::Verifier>,
    reflection: Option<&'static str>,
    shutdown: impl Future<Output = ()> + Send,
    grace: Duration,
) -> anyhow::Result<()> {
    let mut routes = routes;
    if let Some(service) = reflection {
        // Only what this port serves: the descriptor set holds all five services, and a
        // client shown the other four would only meet UNIMPLEMENTED.
        let builder = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(waybill_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name(service)
                .with_service_name("grpc.health.v1.Health")
        };
        // grpcurl 1.8.6 (the pinned one) still speaks only v1alpha; newer clients use v1.
        routes = routes.add_service(builder().build_v1()?).add_service(builder().build_v1alpha()?);
    }
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel();
    let signal = async move {
        shutdown.await;
        let _ = draining_tx.send(());
    };
    // Without TCP_NODELAY a response's headers, body and trailers wait on Nagle's algorithm
    // for the client's delayed ACK: about 40 ms on every unary call.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = with_tls(tonic::transport::Server::builder(), tls)?
        .http2_max_header_list_size(crate::limits::HTTP2_MAX_HEADER_LIST_BYTES)
        .layer(layer_fn(crate::trace::Traced::new))
        .layer(layer_fn(crate::metrics::GrpcMetrics::new))
        .layer(layer_fn(crate::limits::MetadataLimit::new))
        .layer(crate::auth::AuthLayer::new(verifier))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);
    let grace_over = async move {
        match draining_rx.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server => served?,
        () = grace_over => tracing::warn!(?grace, "connections still open after the shutdown grace; closing them"),
    }
    Ok(())
}
