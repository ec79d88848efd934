//! Wiring: the event log, the read model, the reactions, the SLA clock and the gRPC
//! server, on a listener the caller bound, until the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use waybill_eventlog::{EventLog, Projector, StreamSettings, spawn_reactions};
use waybill_proto::v1::delivery_service_server::DeliveryServiceServer;
use waybill_runtime::{Health, identify_caller};

use crate::api::DeliveryApi;
use crate::commands::{Clock, CourierRunner, DeliveryRunner, SystemClock};
use crate::domain::Policy;
use crate::read_model::DeliveryBook;
use crate::{reactions, sla};

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
    /// How often the SLA clock looks for missed windows.
    pub sla_tick: Duration,
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
            sla_tick: Duration::from_secs(1),
        }
    }
}

/// The subjects the read model projects.
pub fn projected_subjects() -> Vec<String> {
    ["waybill.delivery.>", "waybill.intake.order.*", "waybill.dispatch.task.*"].map(str::to_owned).to_vec()
}

/// Runs delivery until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (listener, (log, book)) =
        waybill_runtime::while_starting::<DeliveryServiceServer<DeliveryApi>, _>(listener, async {
            let log = EventLog::connect(nats, settings.stream.clone(), "/waybill/delivery").await?;
            let book = Projector::spawn(log.clone(), projected_subjects(), DeliveryBook::new()).await?;
            Ok((log, book))
        })
        .await?;
    let policy = Arc::new(settings.policy.clone());
    let deliveries = DeliveryRunner {
        log: log.clone(),
        model: book.clone(),
        policy: policy.clone(),
        clock: settings.clock.clone(),
        wait_timeout: settings.wait_timeout,
    };
    let couriers = CourierRunner {
        log: log.clone(),
        model: book.clone(),
        policy,
        clock: settings.clock.clone(),
        wait_timeout: settings.wait_timeout,
    };

    let (health, health_service) = Health::new::<DeliveryServiceServer<DeliveryApi>>().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // Health turns SERVING, and the SLA clock starts, once the read model has caught up
    // with the log as it was at start (a clock on a half-built model would chase windows
    // long since delivered).
    let catch_up = waybill_runtime::follow_read_model(
        health.clone(),
        book.clone(),
        settings.catch_up_timeout,
        |book| format!("{} deliveries", book.deliveries_len()),
        sla::run(deliveries.clone(), settings.sla_tick, stop_rx.clone()),
    );

    let arrivals =
        spawn_reactions("arrivals", log.clone(), reactions::arrivals_settings(), stop_rx.clone(), {
            let deliveries = deliveries.clone();
            move |event| reactions::schedule_on_arrival(deliveries.clone(), event)
        });
    let orders = spawn_reactions("orders", log.clone(), reactions::orders_settings(), stop_rx.clone(), {
        let deliveries = deliveries.clone();
        move |event| reactions::follow_order(deliveries.clone(), event)
    });

    let api = InterceptedService::new(
        DeliveryServiceServer::new(DeliveryApi::new(deliveries, couriers))
            .max_decoding_message_size(waybill_runtime::grpc::MAX_REQUEST_BYTES),
        identify_caller,
    );
    let routes = Routes::new(health_service).add_service(api);
    tracing::info!(address = %listener.local_addr()?, "delivery listening");
    // Stopping: report NOT_SERVING at once, stop taking new events and ticks, then let
    // in-flight calls and the reaction in hand finish.
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
    // A tick cut short is safe: the next replica's tick (or restart) raises it again, once.
    catch_up.abort();
    let reactions = futures::future::join(arrivals, orders);
    if tokio::time::timeout(settings.shutdown_grace, reactions).await.is_err() {
        tracing::warn!("reactions still busy after the shutdown grace; their events will be redelivered");
    }
    served
}
