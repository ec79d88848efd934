//! Wiring: the event log, the read model, the claims reaction, the SLA clock and the gRPC
//! server, on a listener the caller bound, until the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;
use waybill_eventlog::{EventLog, Projector, StreamSettings, spawn_reactions};
use waybill_proto::v1::after_sales_service_server::AfterSalesServiceServer;
use waybill_runtime::{Health, identify_caller};

use crate::api::AfterSalesApi;
use crate::commands::{ClaimRunner, Clock, ComplaintRunner, ReturnRunner, SystemClock};
use crate::domain::Policy;
use crate::read_model::AfterSalesBook;
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
    /// How often the SLA clock looks for missed complaint deadlines.
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
    ["waybill.aftersales.>", "waybill.intake.order.*", "waybill.delivery.task.*"].map(str::to_owned).to_vec()
}

/// The runners of every after-sales aggregate, sharing one log, model, policy and clock.
#[derive(Clone)]
pub struct Runners {
    pub returns: ReturnRunner,
    pub claims: ClaimRunner,
    pub complaints: ComplaintRunner,
}

impl Runners {
    pub fn new(log: EventLog, book: Projector<AfterSalesBook>, settings: &Settings) -> Self {
        let policy = Arc::new(settings.policy.clone());
        macro_rules! runner {
            () => {
                waybill_command::CommandRunner {
                    log: log.clone(),
                    model: book.clone(),
                    policy: policy.clone(),
                    clock: settings.clock.clone(),
                    wait_timeout: settings.wait_timeout,
                }
            };
        }
        let returns: ReturnRunner = runner!();
        let claims: ClaimRunner = runner!();
        let complaints: ComplaintRunner = runner!();
        Runners { returns, claims, complaints }
    }
}

/// Runs after-sales until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (listener, (log, book)) =
        waybill_runtime::while_starting::<AfterSalesServiceServer<AfterSalesApi>, _>(listener, async {
            let log = EventLog::connect(nats, settings.stream.clone(), "/waybill/aftersales").await?;
            let book = Projector::spawn(log.clone(), projected_subjects(), AfterSalesBook::new()).await?;
            Ok((log, book))
        })
        .await?;
    let runners = Runners::new(log.clone(), book.clone(), &settings);

    let (health, health_service) = Health::new::<AfterSalesServiceServer<AfterSalesApi>>().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // Health turns SERVING, and the SLA clock starts, once the read model has caught up
    // with the log as it was at start (a clock on a half-built model would chase deadlines
    // long since met).
    let catch_up = waybill_runtime::follow_read_model(
        health.clone(),
        book.clone(),
        settings.catch_up_timeout,
        |book| format!("{} cases", book.cases_len()),
        sla::run(runners.complaints.clone(), settings.sla_tick, stop_rx.clone()),
    );

    let claims = spawn_reactions("claims", log.clone(), reactions::claims_settings(), stop_rx.clone(), {
        let claims = runners.claims.clone();
        move |event| reactions::open_claim_on_exception(claims.clone(), event)
    });

    let api = InterceptedService::new(
        AfterSalesServiceServer::new(AfterSalesApi::new(runners))
            .max_decoding_message_size(waybill_runtime::grpc::MAX_REQUEST_BYTES),
        identify_caller,
    );
    let routes = Routes::new(health_service).add_service(api);
    tracing::info!(address = %listener.local_addr()?, "aftersales listening");
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
    // A tick cut short is safe: the next replica's tick (or restart) escalates, once.
    catch_up.abort();
    if tokio::time::timeout(settings.shutdown_grace, claims).await.is_err() {
        tracing::warn!("reactions still busy after the shutdown grace; their events will be redelivered");
    }
    served
}
