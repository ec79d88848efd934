//! The host: one way to run a service, so that a service's `server.rs` only declares what
//! it has (its read model, its API, its reactions, its timers) and the order of things
//! that every service must get right lives here once:
//!
//! 1. open the event log (read under the ownership rule, `waybill_proto::ownership`) and
//!    start the read model while a stand-in on the listener answers
//!    NOT_SERVING (`while_starting`);
//! 2. build the service's API, reactions and timers on the log and the model (the
//!    service's `wire`);
//! 3. SERVING once the model has caught up with the log as it was at start, then the
//!    timers; NOT_SERVING again the moment the model halts (`follow_read_model`);
//! 4. serve gRPC behind the authentication layer, with the request size limit (`serve`);
//! 5. on shutdown, drain in this order: health NOT_SERVING (load balancers stop sending),
//!    reactions and timers told to stop (no new events, no new ticks), in-flight calls
//!    given the grace, then the reaction in hand given the grace again; what is still busy
//!    after that is redelivered to another replica.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::server::NamedService;
use tonic::service::Routes;
use waybill_command::{Aggregate, AggregateStore, CommandRunner};
use waybill_eventlog::{EventLog, Projection, Projector, ReactionError, ReactionSettings, RecordedEvent};

use crate::flags::Started;
use crate::grpc::{Health, MAX_REQUEST_BYTES};
use crate::settings::Settings;
use crate::shutdown::Shutdown;
use crate::timer::Timer;

/// A service, as the host needs to know it before the log is open: its name (in the logs,
/// and in the CloudEvents source of its events, `/waybill/<name>`) and its read model.
pub struct Host<M> {
    name: &'static str,
    model: ReadModel<M>,
}

/// A read model as the host starts it.
pub struct ReadModel<M> {
    /// The subjects it follows (matched in the process, see `Projector`).
    pub follows: Vec<String>,
    /// The model, empty: the whole log is folded into it at start.
    pub empty: M,
    /// Its size in a few words, for the "caught up" log line ("12 orders").
    pub describe: fn(&M) -> String,
}

impl<M> Host<M> {
    pub fn new(name: &'static str, model: ReadModel<M>) -> Self {
        Self { name, model }
    }
}

/// What `wire` is given: the opened log, the running read model, and the stop signal (true
/// once the service is stopping) for anything that must end early, such as a watch stream.
pub struct Opened<M> {
    pub log: EventLog,
    pub model: Projector<M>,
    pub stopping: watch::Receiver<bool>,
}

impl<M> Opened<M> {
    /// A command runner for aggregate `A` on this log and read model, with the settings'
    /// clock and wait.
    pub fn runner<A: Aggregate, P>(
        &self,
        policy: Arc<A::Policy>,
        settings: &Settings<P>,
    ) -> CommandRunner<A, M>
    where
        M: AggregateStore<A>,
    {
        CommandRunner {
            log: self.log.clone(),
            model: self.model.clone(),
            policy,
            clock: settings.clock.clone(),
            wait_timeout: settings.wait_timeout,
            clock_skew: settings.clock_skew,
        }
    }
}

/// What a service runs on the opened log: one gRPC API, its reactions, its timers.
pub struct Wiring<A> {
    api: A,
    reactions: Vec<Reaction>,
    timers: Vec<Timer>,
}

type Reaction = Box<dyn FnOnce(EventLog, watch::Receiver<bool>) -> JoinHandle<()> + Send>;

impl<A> Wiring<A> {
    /// A service serving `api` (the generated server around the service's adapter).
    pub fn api(api: A) -> Self {
        Self { api, reactions: Vec::new(), timers: Vec::new() }
    }

    /// A reaction on a durable consumer (`waybill_eventlog::spawn_reactions`): `handle` is
    /// called with a clone of `context` (the runner it writes through) for every event.
    pub fn reaction<C, H, Fut>(mut self, settings: ReactionSettings, context: C, handle: H) -> Self
    where
        C: Clone + Send + Sync + 'static,
        H: Fn(C, RecordedEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ReactionError>> + Send + 'static,
    {
        self.reactions.push(Box::new(move |log, stop| {
            waybill_eventlog::spawn_reactions(log, settings, stop, move |event| {
                handle(context.clone(), event)
            })
        }));
        self
    }

    /// A timer, started once the read model has caught up.
    pub fn timer(mut self, timer: Timer) -> Self {
        self.timers.push(timer);
        self
    }
}

/// A generated gRPC server the host can serve: tonic generates the request size limit as a
/// method of each server type, not of a trait, so each is named once here.
pub trait GrpcApi:
    tower::Service<
        http::Request<tonic::body::Body>,
        Response = http::Response<tonic::body::Body>,
        Error = Infallible,
        Future: Send + 'static,
    > + NamedService
    + Clone
    + Send
    + Sync
    + 'static
{
    /// Refuses requests larger than `limit` bytes before decoding them.
    fn limit_requests(self, limit: usize) -> Self;
}

macro_rules! grpc_api {
    ($($module:ident::$server:ident<$service:ident>),* $(,)?) => {$(
        impl<T: waybill_proto::v1::$module::$service> GrpcApi for waybill_proto::v1::$module::$server<T> {
            fn limit_requests(self, limit: usize) -> Self {
                self.max_decoding_message_size(limit)
            }
        }
    )*};
}

grpc_api!(
    intake_service_server::IntakeServiceServer<IntakeService>,
    dispatch_service_server::DispatchServiceServer<DispatchService>,
    delivery_service_server::DeliveryServiceServer<DeliveryService>,
    after_sales_service_server::AfterSalesServiceServer<AfterSalesService>,
    crm_service_server::CrmServiceServer<CrmService>,
);

impl<M: Projection> Host<M> {
    /// Runs the service on `listener` until `shutdown` resolves: opens the log, starts the
    /// read model, lets `wire` build the API, reactions and timers on them, and serves.
    pub async fn run<P, A: GrpcApi>(
        self,
        settings: &Settings<P>,
        started: Started,
        shutdown: impl Shutdown,
        wire: impl FnOnce(Opened<M>) -> Wiring<A>,
    ) -> anyhow::Result<()> {
        let Host { name, model: ReadModel { follows, empty, describe } } = self;
        let Started { nats, listener, verifier, tls } = started;
        let (listener, (log, model)) = crate::while_starting::<A, _>(listener, tls.clone(), async {
            // Every read of the log (model, reactions, histories) applies only events the
            // subject's owner may have written (`waybill_proto::ownership`).
            let log = EventLog::connect(nats, settings.stream.clone(), &format!("/waybill/{name}"))
                .await?
                .admitting(waybill_proto::ownership::admission(name));
            let model = Projector::spawn(log.clone(), follows, empty).await?;
            Ok((log, model))
        })
        .await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let Wiring { api, reactions, timers } =
            wire(Opened { log: log.clone(), model: model.clone(), stopping: stop_rx.clone() });

        let (health, health_service) = Health::new::<A>().await;
        let timers = {
            let stop = stop_rx.clone();
            async move {
                futures::future::join_all(timers.into_iter().map(|timer| timer.run(stop.clone()))).await;
            }
        };
        let catch_up =
            crate::follow_read_model(health.clone(), model, settings.catch_up_timeout, describe, timers);
        let reactions: Vec<_> =
            reactions.into_iter().map(|spawn| spawn(log.clone(), stop_rx.clone())).collect();

        let routes = Routes::new(health_service).add_service(api.limit_requests(MAX_REQUEST_BYTES));
        tracing::info!(address = %listener.local_addr()?, "{name} listening");
        let draining = {
            let health = health.clone();
            async move {
                shutdown.await;
                health.not_serving().await;
                let _ = stop_tx.send(true);
            }
        };
        let served = crate::serve(
            routes,
            listener,
            tls,
            verifier,
            settings.reflection.then_some(health.service_name()),
            draining,
            settings.shutdown_grace,
        )
        .await;
        // Ends the health follower and a tick in progress: a tick cut short is safe, the
        // next replica's tick (or a restart) acts on the same deadline, once.
        catch_up.abort();
        if tokio::time::timeout(settings.shutdown_grace, futures::future::join_all(reactions)).await.is_err()
        {
            tracing::warn!("reactions still busy after the shutdown grace; their events will be redelivered");
        }
        crate::telemetry::flush().await;
        served
    }
}
