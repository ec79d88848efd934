//! Wiring: the event log, the read model, the order reaction and the gRPC server, on a
//! listener the caller bound, until the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use waybill_eventlog::{EventLog, Projector, StreamSettings, spawn_reactions};
use waybill_proto::v1::dispatch_service_server::DispatchServiceServer;
use waybill_runtime::{Health, identify_caller};

use crate::api::DispatchApi;
use crate::commands::{Clock, DriverRunner, SystemClock, TaskRunner, VehicleRunner};
use crate::reactions;
use crate::read_model::{self, DispatchModel};

/// The CloudEvents source of dispatch's events.
pub const SOURCE: &str = "/waybill/dispatch";

/// Everything the service needs besides its listener (see `main.rs` for the flags).
#[derive(Clone)]
pub struct Settings {
    pub stream: StreamSettings,
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
            wait_timeout: Duration::from_secs(5),
            catch_up_timeout: Duration::from_secs(600),
            reflection: true,
            shutdown_grace: waybill_runtime::grpc::SHUTDOWN_GRACE,
            clock: Arc::new(SystemClock),
        }
    }
}

/// The command runners over one log and one read model.
#[derive(Clone)]
pub struct Runners {
    pub vehicles: VehicleRunner,
    pub drivers: DriverRunner,
    pub tasks: TaskRunner,
}

impl Runners {
    /// Opens the log, starts the read model, and builds the runners on them (no reactions,
    /// no server: tests use this to drive the reaction by hand).
    pub async fn start(settings: &Settings, nats: async_nats::Client) -> anyhow::Result<Runners> {
        let log = EventLog::connect(nats, settings.stream.clone(), SOURCE).await?;
        let model = Projector::spawn(log.clone(), read_model::filters(), DispatchModel::new()).await?;
        let mut vehicles = VehicleRunner::new(log.clone(), model.clone(), (), settings.clock.clone());
        vehicles.wait_timeout = settings.wait_timeout;
        let mut drivers = DriverRunner::new(log.clone(), model.clone(), (), settings.clock.clone());
        drivers.wait_timeout = settings.wait_timeout;
        let mut tasks = TaskRunner::new(log, model, (), settings.clock.clone());
        tasks.wait_timeout = settings.wait_timeout;
        Ok(Runners { vehicles, drivers, tasks })
    }
}

/// Runs dispatch until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (listener, runners) = waybill_runtime::while_starting::<DispatchServiceServer<DispatchApi>, _>(
        listener,
        Runners::start(&settings, nats),
    )
    .await?;
    let model = runners.tasks.model.clone();
    let log = runners.tasks.log.clone();

    let (health, health_service) = Health::new::<DispatchServiceServer<DispatchApi>>().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // Health: SERVING once the read model has caught up, NOT_SERVING if it halts.
    let catch_up = waybill_runtime::follow_read_model(
        health.clone(),
        model,
        settings.catch_up_timeout,
        |model| format!("{} tasks", model.task_count()),
        std::future::pending(),
    );

    let orders =
        spawn_reactions("order reaction", log.clone(), reactions::orders_settings(), stop_rx.clone(), {
            let tasks = runners.tasks.clone();
            move |event| reactions::react_to_order(tasks.clone(), event)
        });
    let returns = spawn_reactions("return reaction", log, reactions::returns_settings(), stop_rx.clone(), {
        let tasks = runners.tasks.clone();
        move |event| reactions::plan_reverse_shipment(tasks.clone(), event)
    });

    let api = InterceptedService::new(
        DispatchServiceServer::new(DispatchApi::new(runners))
            .max_decoding_message_size(waybill_runtime::grpc::MAX_REQUEST_BYTES),
        identify_caller,
    );
    let routes = Routes::new(health_service).add_service(api);
    tracing::info!(address = %listener.local_addr()?, "dispatch listening");
    // Stopping: report NOT_SERVING at once, stop taking new order events, then let
    // in-flight calls and the event in hand finish.
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
    if tokio::time::timeout(settings.shutdown_grace, futures::future::join(orders, returns)).await.is_err() {
        tracing::warn!("a reaction is still busy after the shutdown grace; its event will be redelivered");
    }
    served
}
