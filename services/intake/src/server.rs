//! Wiring: the event log, the read model, the reviewer and the gRPC server, on a listener
//! the caller bound, until the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use tokio::net::TcpListener;
use tonic::service::Routes;
use waybill_eventlog::{EventLog, Projector, StreamSettings, spawn_reactions};
use waybill_proto::v1::intake_service_server::IntakeServiceServer;
use waybill_runtime::{Health, identify_caller};

use crate::api::IntakeApi;
use crate::commands::{Clock, CommandRunner, SystemClock};
use crate::domain::Policy;
use crate::reactions;
use crate::read_model::OrderBook;

/// Everything the service needs besides its listener (see `main.rs` for the flags).
#[derive(Clone)]
pub struct Settings {
    pub stream: StreamSettings,
    pub policy: Policy,
    /// How long a query waits for its `min_position`, and a command for the read model.
    pub wait_timeout: Duration,
    /// How long the service may take to rebuild its read model before it gives up.
    pub catch_up_timeout: Duration,
    pub reflection: bool,
    /// How long a stopping server waits for in-flight calls and reactions.
    pub shutdown_grace: Duration,
    pub clock: Arc<dyn Clock>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            stream: StreamSettings::default(),
            policy: Policy::default(),
            wait_timeout: Duration::from_secs(5),
            catch_up_timeout: Duration::from_secs(600),
            reflection: true,
            shutdown_grace: waybill_runtime::grpc::SHUTDOWN_GRACE,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Runs intake until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (listener, (log, orders)) =
        waybill_runtime::while_starting::<IntakeServiceServer<IntakeApi>, _>(listener, async {
            let log = EventLog::connect(nats, settings.stream.clone(), "/waybill/intake").await?;
            let filters = crate::read_model::FILTERS.iter().map(|filter| (*filter).to_owned()).collect();
            let orders = Projector::spawn(log.clone(), filters, OrderBook::new()).await?;
            Ok((log, orders))
        })
        .await?;
    let runner = CommandRunner {
        log: log.clone(),
        model: orders.clone(),
        policy: Arc::new(settings.policy.clone()),
        clock: settings.clock.clone(),
        wait_timeout: settings.wait_timeout,
    };

    let (health, health_service) = Health::new::<IntakeServiceServer<IntakeApi>>().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // Health: SERVING once the read model has caught up, NOT_SERVING if it halts.
    let catch_up = waybill_runtime::follow_read_model(
        health.clone(),
        orders.clone(),
        settings.catch_up_timeout,
        |book| format!("{} orders", book.len()),
        std::future::pending(),
    );

    let reviewer = spawn_reactions(
        "automatic reviewer",
        log.clone(),
        reactions::auto_review_settings(),
        stop_rx.clone(),
        {
            let runner = runner.clone();
            move |event| reactions::auto_review(runner.clone(), event)
        },
    );
    let fulfilment = spawn_reactions(
        "fulfilment recorder",
        log.clone(),
        reactions::fulfilment_settings(),
        stop_rx.clone(),
        {
            let runner = runner.clone();
            move |event| reactions::record_fulfilment(runner.clone(), event)
        },
    );

    let api = InterceptedService::new(
        IntakeServiceServer::new(IntakeApi::new(runner, stop_rx.clone()))
            .max_decoding_message_size(waybill_runtime::grpc::MAX_REQUEST_BYTES),
        identify_caller,
    );
    let routes = Routes::new(health_service).add_service(api);
    tracing::info!(address = %listener.local_addr()?, "intake listening");
    // Stopping: report NOT_SERVING at once (load balancers stop sending), stop taking new
    // events for review, then let in-flight calls and the review in hand finish.
    let draining = {
        let health = health.clone();
        async move {
            shutdown.await;
            health.not_serving().await;
            let _ = stop_tx.send(true);
        }
    };
    let served = waybill_runtime::serve(
        routes,
        listener,
        settings.reflection.then_some(health.service_name()),
        draining,
        settings.shutdown_grace,
    )
    .await;
    catch_up.abort();
    let reactions = futures::future::join(reviewer, fulfilment);
    if tokio::time::timeout(settings.shutdown_grace, reactions).await.is_err() {
        tracing::warn!("reactions still busy after the shutdown grace; their events will be redelivered");
    }
    served
}
