//! Wiring: the event log, the read model and the gRPC server, on a listener the caller
//! bound, until the shutdown future resolves. CRM runs no reactions (it only projects).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use waybill_eventlog::{EventLog, Projector, StreamSettings};
use waybill_proto::v1::crm_service_server::CrmServiceServer;
use waybill_runtime::{Health, identify_caller};

use crate::analytics::Policy;
use crate::api::CrmApi;
use crate::commands::{Clock, CommandRunner, SystemClock};
use crate::read_model::{self, CrmModel};

/// Everything the service needs besides its listener (see `main.rs` for the flags).
#[derive(Clone)]
pub struct Settings {
    pub stream: StreamSettings,
    /// Report currency, cost model, lifecycle window.
    pub policy: Policy,
    /// How long a query waits for its `min_position`, and a command for the read model.
    pub wait_timeout: Duration,
    /// How long the service may take to rebuild its read model before it gives up.
    pub catch_up_timeout: Duration,
    pub reflection: bool,
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

/// Runs CRM until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (listener, (log, model)) =
        waybill_runtime::while_starting::<CrmServiceServer<CrmApi>, _>(listener, async {
            let log = EventLog::connect(nats, settings.stream.clone(), "/waybill/crm").await?;
            let model = Projector::spawn(log.clone(), read_model::filters(), CrmModel::new()).await?;
            Ok((log, model))
        })
        .await?;
    let runner = CommandRunner {
        log: log.clone(),
        model: model.clone(),
        policy: Arc::new(()),
        clock: settings.clock.clone(),
        wait_timeout: settings.wait_timeout,
    };

    let (health, health_service) = Health::new::<CrmServiceServer<CrmApi>>().await;

    // Health: SERVING once the read model has caught up, NOT_SERVING if it halts.
    let catch_up = waybill_runtime::follow_read_model(
        health.clone(),
        model.clone(),
        settings.catch_up_timeout,
        |model| format!("{} customers, {} orders", model.registered_customers(), model.orders_known()),
        std::future::pending(),
    );

    let api = InterceptedService::new(
        CrmServiceServer::new(CrmApi::new(runner, Arc::new(settings.policy.clone()), settings.clock.clone()))
            .max_decoding_message_size(waybill_runtime::grpc::MAX_REQUEST_BYTES),
        identify_caller,
    );
    let routes = Routes::new(health_service).add_service(api);
    tracing::info!(address = %listener.local_addr()?, "crm listening");
    let draining = {
        let health = health.clone();
        async move {
            shutdown.await;
            health.not_serving().await;
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
    served
}
