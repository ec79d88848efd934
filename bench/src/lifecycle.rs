//! Benchmark 3: full lifecycles through all five services, place to delivered, and the
//! lag of every reaction (the time between the causing event and the reacting service's
//! event, both stamped by the JetStream server when stored).
//!
//! Each worker drives one order at a time the way the system test does: PlaceOrder;
//! (intake accepts it, dispatch plans a task by themselves) AssignTask to the worker's own
//! van, MarkPacked, RecordPickup, RecordCheckpoint, RecordArrival; (delivery schedules the
//! last mile by itself) AssignCourier to the worker's own courier, StartDelivery,
//! ConfirmDelivery; the lifecycle counts when intake has recorded the delivery. A
//! [`Watcher`] follows the log (an ordered consumer on `waybill.>`) to see the services'
//! own events and to time the reactions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use prost::Message;
use tokio::sync::oneshot;
use waybill_proto::v1::{
    self, delivery_service_client::DeliveryServiceClient, dispatch_service_client::DispatchServiceClient,
    intake_service_client::IntakeServiceClient,
};

use crate::orders::{self, Caller, Role, request, request_id};
use crate::procs::{Broker, Paths, Service, Shape};
use crate::stats::{ms, quantile};

pub const TASK_PLANNED: &str = "waybill.dispatch.task_planned.v1";
pub const DELIVERY_SCHEDULED: &str = "waybill.delivery.delivery_scheduled.v1";
pub const ORDER_DELIVERED: &str = "waybill.intake.order_delivered.v1";
const AWAITED: [&str; 3] = [TASK_PLANNED, DELIVERY_SCHEDULED, ORDER_DELIVERED];
/// How long a worker waits for a service's own reaction before giving up on the order.
const REACTION_TIMEOUT: Duration = Duration::from_secs(30);

pub const SERVICES: [&str; 5] = ["intake", "dispatch", "delivery", "aftersales", "crm"];

/// The five release binaries on one broker.
pub struct System {
    pub services: Vec<(&'static str, Service)>,
}

impl System {
    pub async fn start(paths: &Paths, nats_url: &str, label: &str) -> anyhow::Result<System> {
        let mut services = Vec::new();
        for name in SERVICES {
            let log = paths.log(&format!("{label}-{name}"))?;
            let service = Service::start(
                &paths.service(name),
                waybill_system_tests::grpc_service(name)?,
                nats_url,
                &log,
                &[],
                Duration::from_secs(600),
            )
            .await?;
            services.push((name, service));
        }
        Ok(System { services })
    }

    fn service(&self, name: &str) -> anyhow::Result<&Service> {
        self.services
            .iter()
            .find(|(service, _)| *service == name)
            .map(|(_, service)| service)
            .ok_or_else(|| anyhow::anyhow!("{name} is not running"))
    }

    pub async fn clients(&self) -> anyhow::Result<Clients> {
        Ok(Clients {
            intake: IntakeServiceClient::with_interceptor(
                self.service("intake")?.channel().await?,
                Caller::integrator("bench"),
            ),
            dispatch: DispatchServiceClient::with_interceptor(
                self.service("dispatch")?.channel().await?,
                Caller::integrator("bench"),
            ),
            delivery: DeliveryServiceClient::with_interceptor(
                self.service("delivery")?.channel().await?,
                Caller::integrator("bench"),
            ),
        })
    }

    pub fn stop(self) {
        for (_, service) in self.services {
            service.stop(Duration::from_secs(3));
        }
    }
}

#[derive(Clone)]
pub struct Clients {
    pub intake: waybill_fixtures::IntakeClient,
    pub dispatch: waybill_fixtures::DispatchClient,
    pub delivery: waybill_fixtures::DeliveryClient,
}

/// A worker's own van and courier, so that workers never race for the same one.
#[derive(Clone, Debug)]
pub struct Crew {
    pub vehicle_id: String,
    pub courier_id: String,
}

pub async fn register_crew(clients: &mut Clients) -> anyhow::Result<Crew> {
    let vehicle_id = uuid::Uuid::now_v7().to_string();
    let courier_id = uuid::Uuid::now_v7().to_string();
    clients
        .dispatch
        .register_vehicle(request(
            &Caller::dispatcher("dispatcher"),
            v1::RegisterVehicleRequest {
                request_id: request_id(),
                vehicle_id: vehicle_id.clone(),
                kind: v1::VehicleKind::Van.into(),
                registration: "B-WB 1001".into(),
                capacity: Some(v1::Load { weight_grams: 1_000_000, volume_cm3: 10_000_000 }),
                depot: "Berlin".into(),
            },
        ))
        .await?;
    clients
        .delivery
        .register_courier(request(
            &Caller::with_roles("hub-lead", &[Role::HubOperator, Role::Dispatcher]),
            v1::RegisterCourierRequest {
                request_id: request_id(),
                courier_id: courier_id.clone(),
                name: "Kim".into(),
                zones: vec!["Munich".into()],
            },
        ))
        .await?;
    Ok(Crew { vehicle_id, courier_id })
}

/// Calls `attempt` again while it fails with NOT_FOUND: a service may answer a command on
/// an aggregate its reaction has just written before its read model has applied it.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(status) if status.code() == tonic::Code::NotFound && tries < 1_000 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            other => return other,
        }
    }
}

/// One order from placement to intake's record of the handover.
pub async fn one_lifecycle(
    clients: &mut Clients,
    watcher: &Watcher,
    crew: &Crew,
    customer_id: String,
) -> anyhow::Result<()> {
    let placed = clients
        .intake
        .place_order(request(
            &Caller::customer_service("shop"),
            orders::place_order_request(&request_id(), &customer_id),
        ))
        .await?
        .into_inner();
    let order_id = placed.order.map(|order| order.order_id).unwrap_or_default();
    watcher.wait(&order_id, TASK_PLANNED).await?;
    let task = || order_id.clone();
    let dispatch = &mut clients.dispatch;
    retrying(|| {
        let mut dispatch = dispatch.clone();
        let body = v1::AssignTaskRequest {
            request_id: request_id(),
            task_id: task(),
            vehicle_id: crew.vehicle_id.clone(),
            driver_id: String::new(),
        };
        async move { dispatch.assign_task(request(&Caller::dispatcher("dispatcher"), body)).await }
    })
    .await?;
    dispatch
        .mark_packed(request(
            &Caller::with_roles("warehouse", &[Role::HubOperator, Role::AfterSalesAgent]),
            v1::MarkPackedRequest { request_id: request_id(), task_id: task() },
        ))
        .await?;
    dispatch
        .record_pickup(request(
            &Caller::hub_operator("driver"),
            v1::RecordPickupRequest { request_id: request_id(), task_id: task() },
        ))
        .await?;
    dispatch
        .record_checkpoint(request(
            &Caller::hub_operator("driver"),
            v1::RecordCheckpointRequest {
                request_id: request_id(),
                task_id: task(),
                place: "Leipzig".into(),
                note: "on schedule".into(),
            },
        ))
        .await?;
    dispatch
        .record_arrival(request(
            &Caller::hub_operator("driver"),
            v1::RecordArrivalRequest { request_id: request_id(), task_id: task(), hub: "MUC-HUB".into() },
        ))
        .await?;
    watcher.wait(&order_id, DELIVERY_SCHEDULED).await?;
    let delivery = &mut clients.delivery;
    retrying(|| {
        let mut delivery = delivery.clone();
        let body = v1::AssignCourierRequest {
            request_id: request_id(),
            delivery_id: task(),
            courier_id: crew.courier_id.clone(),
        };
        async move {
            delivery
                .assign_courier(request(
                    &Caller::with_roles("hub-lead", &[Role::HubOperator, Role::Dispatcher]),
                    body,
                ))
                .await
        }
    })
    .await?;
    delivery
        .start_delivery(request(
            &Caller::courier("kim", &crew.courier_id),
            v1::StartDeliveryRequest { request_id: request_id(), delivery_id: task() },
        ))
        .await?;
    delivery
        .confirm_delivery(request(
            &Caller::courier("kim", &crew.courier_id),
            v1::ConfirmDeliveryRequest {
                request_id: request_id(),
                delivery_id: task(),
                proof: Some(orders::proof()),
            },
        ))
        .await?;
    watcher.wait(&order_id, ORDER_DELIVERED).await?;
    Ok(())
}

enum Slot {
    Arrived,
    Waiting(oneshot::Sender<()>),
}

/// One reaction seen in the log: the reacting event's type, when it was stored, and how
/// long after its cause.
#[derive(Clone, Debug)]
pub struct Reaction {
    pub event_type: String,
    pub stored_at_nanos: i128,
    pub lag: Duration,
}

/// Follows the log; lets workers wait for a service's event on an aggregate; times reactions.
pub struct Watcher {
    slots: Mutex<HashMap<(String, &'static str), Slot>>,
    reactions: Mutex<Vec<Reaction>>,
    stored_at: Mutex<HashMap<String, i128>>,
}

impl Watcher {
    /// Follows stream `WAYBILL` from position `from` on.
    pub async fn start(client: async_nats::Client, from: u64) -> anyhow::Result<Arc<Watcher>> {
        let jetstream = async_nats::jetstream::new(client.clone());
        let stream = jetstream.get_stream("WAYBILL").await?;
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::push::OrderedConfig {
                deliver_subject: client.new_inbox(),
                filter_subject: "waybill.>".into(),
                deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from.max(1),
                },
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        let watcher = Arc::new(Watcher {
            slots: Mutex::new(HashMap::new()),
            reactions: Mutex::new(Vec::new()),
            stored_at: Mutex::new(HashMap::new()),
        });
        let following = watcher.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = messages.next().await {
                let Ok(info) = message.info() else { continue };
                let stored_at = info.published.unix_timestamp_nanos();
                let header = |name: &str| {
                    message
                        .headers
                        .as_ref()
                        .and_then(|headers| headers.get(name))
                        .map(|value| value.as_str().to_owned())
                };
                let (Some(event_type), Some(aggregate), Some(event_id)) =
                    (header("ce-type"), header("ce-subject"), header("ce-id"))
                else {
                    continue;
                };
                let causation = v1::EventEnvelope::decode(message.payload.clone())
                    .map(|envelope| envelope.causation_id)
                    .unwrap_or_default();
                following.observe(event_id, event_type, aggregate, causation, stored_at);
            }
        });
        Ok(watcher)
    }

    fn observe(
        &self,
        event_id: String,
        event_type: String,
        aggregate: String,
        causation: String,
        stored_at: i128,
    ) {
        if let Ok(mut stored) = self.stored_at.lock() {
            if let Some(cause) = stored.get(&causation) {
                let lag = Duration::from_nanos(u64::try_from(stored_at - cause).unwrap_or(0));
                if let Ok(mut reactions) = self.reactions.lock() {
                    reactions.push(Reaction {
                        event_type: event_type.clone(),
                        stored_at_nanos: stored_at,
                        lag,
                    });
                }
            }
            stored.insert(event_id, stored_at);
        }
        if let Some(awaited) = AWAITED.iter().find(|awaited| **awaited == event_type)
            && let Ok(mut slots) = self.slots.lock()
        {
            match slots.remove(&(aggregate.clone(), *awaited)) {
                Some(Slot::Waiting(waiter)) => {
                    let _ = waiter.send(());
                }
                _ => {
                    slots.insert((aggregate, *awaited), Slot::Arrived);
                }
            }
        }
    }

    /// Waits (bounded) until the log holds an `event_type` event on `aggregate`.
    pub async fn wait(&self, aggregate: &str, event_type: &'static str) -> anyhow::Result<()> {
        let receiver = {
            let mut slots = self.slots.lock().map_err(|_| anyhow::anyhow!("watcher poisoned"))?;
            let key = (aggregate.to_owned(), event_type);
            match slots.remove(&key) {
                Some(Slot::Arrived) => return Ok(()),
                _ => {
                    let (sender, receiver) = oneshot::channel();
                    slots.insert(key, Slot::Waiting(sender));
                    receiver
                }
            }
        };
        match tokio::time::timeout(REACTION_TIMEOUT, receiver).await {
            Ok(Ok(())) => Ok(()),
            _ => anyhow::bail!("no {event_type} on {aggregate} within {REACTION_TIMEOUT:?}"),
        }
    }

    /// How many events (of any service) were stored between `from` and `until` (Unix
    /// nanoseconds).
    pub fn events_between(&self, from: i128, until: i128) -> usize {
        self.stored_at
            .lock()
            .map(|stored| stored.values().filter(|at| **at >= from && **at <= until).count())
            .unwrap_or(0)
    }

    /// The reactions stored between `from` and `until` (Unix nanoseconds).
    pub fn reactions_between(&self, from: i128, until: i128) -> Vec<Reaction> {
        self.reactions
            .lock()
            .map(|reactions| {
                reactions
                    .iter()
                    .filter(|r| r.stored_at_nanos >= from && r.stored_at_nanos <= until)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Lifecycle latencies and reaction lags of one measured window.
#[derive(Clone, Debug)]
pub struct Window {
    pub per_second: f64,
    pub completed: usize,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Per reacting event type: (count, p50 ms, p99 ms); and "all reactions" last.
    pub lags: Vec<(String, usize, f64, f64)>,
}

impl Window {
    pub fn lag_p99_ms(&self) -> f64 {
        self.lags.last().map(|lag| lag.3).unwrap_or(f64::NAN)
    }
}

/// The result of one lifecycle run: the closed loop at saturation, and the open loop at
/// half the closed loop's rate.
#[derive(Clone, Debug)]
pub struct LifecycleRun {
    pub closed: Window,
    /// Events stored (by every service) per completed lifecycle in the closed-loop window.
    pub events_per_lifecycle: f64,
    /// Acked JetStream publishes per second, 64 in flight, on the same nats-server just
    /// before the services started: the broker's pace the lifecycle rate is held against.
    pub raw_publish_per_second: f64,
    /// Per process (nats-server and each service): CPU time in the closed-loop window ÷
    /// its length, in % of one core.
    pub cpu_percent: Vec<(&'static str, f64)>,
    pub open: Window,
    /// The open loop's fixed arrival rate, lifecycles/s.
    pub open_rate: f64,
}

#[derive(Clone)]
pub struct Settings {
    pub workers: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

pub fn unix_nanos(at: SystemTime) -> i128 {
    at.duration_since(SystemTime::UNIX_EPOCH).map(|elapsed| elapsed.as_nanos() as i128).unwrap_or(0)
}

/// In-flight publishes of the raw baseline the lifecycle rate is held against (issue 13).
pub const RAW_IN_FLIGHT: usize = 64;

pub async fn run(
    paths: &Paths,
    settings: &Settings,
    shape: Shape,
    run_index: usize,
) -> anyhow::Result<LifecycleRun> {
    let label = format!("lifecycle-{}-{run_index}", shape.label());
    let (broker, store, jetstream) = Broker::start_for_run(paths, shape, &label).await?;
    let raw_settings = crate::place::Settings {
        concurrency: vec![RAW_IN_FLIGHT],
        warmup: Duration::from_secs(1),
        measure: Duration::from_secs(3),
    };
    let raw = crate::place::raw_level(&jetstream, RAW_IN_FLIGHT, &raw_settings).await;
    let system = System::start(paths, &broker.url(), &label).await?;
    let watcher = Watcher::start(broker.client().await?, 1).await?;
    let clients = system.clients().await?;
    let crews = CrewPool::default();

    let mut processes = broker.processes();
    processes.extend(system.services.iter().map(|(name, service)| (*name, service.pid())));
    let cpu_probe = tokio::spawn(cpu_during(processes, settings.warmup, settings.measure));
    let closed = closed_loop(&clients, &watcher, &crews, settings).await?;
    let cpu_percent = cpu_probe.await?;
    let events_per_lifecycle = closed.1 as f64 / closed.0.completed.max(1) as f64;
    let closed = closed.0;

    // Let the reactions work off the closed loop's backlog before the open loop starts.
    crate::place::reactions_idle(&jetstream, Duration::from_secs(60)).await?;
    let open_rate = closed.per_second / 2.0;
    let open = open_loop(&clients, &watcher, &crews, settings, open_rate).await?;

    eprintln!(
        "  {label}: closed {:.0}/s ({} done, {} failed, {events_per_lifecycle:.1} events each = {:.2} × raw publish {:.0}/s), p50 {:.0} ms p99 {:.0} ms, lag p99 {:.1} ms; \
         open at {open_rate:.0}/s: p50 {:.0} ms p99 {:.0} ms, lag p99 {:.1} ms ({} failed); CPU % {}",
        closed.per_second,
        closed.completed,
        closed.failed,
        closed.per_second * events_per_lifecycle / raw.per_second,
        raw.per_second,
        closed.p50_ms,
        closed.p99_ms,
        closed.lag_p99_ms(),
        open.p50_ms,
        open.p99_ms,
        open.lag_p99_ms(),
        open.failed,
        cpu_percent.iter().map(|(name, cpu)| format!("{name} {cpu:.0}")).collect::<Vec<_>>().join(", ")
    );
    system.stop();
    broker.stop();
    let _ = std::fs::remove_dir_all(&store);
    Ok(LifecycleRun {
        closed,
        events_per_lifecycle,
        raw_publish_per_second: raw.per_second,
        cpu_percent,
        open,
        open_rate,
    })
}

/// CPU time of each process between `warmup` and `warmup + measure` from now, in % of
/// one core.
async fn cpu_during(
    processes: Vec<(&'static str, u32)>,
    warmup: Duration,
    measure: Duration,
) -> Vec<(&'static str, f64)> {
    tokio::time::sleep(warmup).await;
    let before: Vec<f64> = processes.iter().map(|(_, pid)| crate::procs::cpu_seconds(*pid)).collect();
    tokio::time::sleep(measure).await;
    processes
        .iter()
        .zip(before)
        .map(|((name, pid), before)| {
            (*name, (crate::procs::cpu_seconds(*pid) - before) / measure.as_secs_f64() * 100.0)
        })
        .collect()
}

/// Workers' vans and couriers, handed out one per lifecycle in flight and taken back after,
/// so that no two lifecycles race for the same one; a new crew is registered when none is
/// free.
#[derive(Clone, Default)]
struct CrewPool {
    free: Arc<Mutex<Vec<Crew>>>,
}

impl CrewPool {
    async fn take(&self, clients: &Clients) -> anyhow::Result<Crew> {
        let free = self.free.lock().ok().and_then(|mut free| free.pop());
        match free {
            Some(crew) => Ok(crew),
            None => register_crew(&mut clients.clone()).await,
        }
    }

    fn give_back(&self, crew: Crew) {
        if let Ok(mut free) = self.free.lock() {
            free.push(crew);
        }
    }
}

/// `settings.workers` workers, each driving one lifecycle after another (saturation).
/// Returns the window and the number of events stored in it.
async fn closed_loop(
    clients: &Clients,
    watcher: &Arc<Watcher>,
    crews: &CrewPool,
    settings: &Settings,
) -> anyhow::Result<(Window, usize)> {
    let mut taken = Vec::new();
    for _ in 0..settings.workers {
        taken.push(crews.take(clients).await?);
    }
    let measured = Measured::starting_now(settings);
    let (measure_from, measure_until) = (measured.from, measured.until);
    let mut tasks = Vec::new();
    for (worker, crew) in taken.into_iter().enumerate() {
        let mut clients = clients.clone();
        let watcher = watcher.clone();
        let failed = measured.failed.clone();
        let crews = crews.clone();
        tasks.push(tokio::spawn(async move {
            let mut durations = Vec::new();
            while Instant::now() < measure_until {
                let began = Instant::now();
                let outcome = one_lifecycle(&mut clients, &watcher, &crew, format!("cust-{worker}")).await;
                let done = Instant::now();
                if done >= measure_from && done <= measure_until {
                    record(outcome, done - began, &mut durations, &failed);
                }
            }
            crews.give_back(crew);
            durations
        }));
    }
    let (window, from, until) = measured.close(watcher, tasks, settings).await;
    Ok((window, watcher.events_between(from, until)))
}

/// Lifecycles started at a fixed `rate` (one every 1/rate s, whatever the system's
/// answers), each with a crew of its own: latency without the closed loop's queueing.
async fn open_loop(
    clients: &Clients,
    watcher: &Arc<Watcher>,
    crews: &CrewPool,
    settings: &Settings,
    rate: f64,
) -> anyhow::Result<Window> {
    anyhow::ensure!(rate > 0.0, "the closed loop completed no lifecycle: no open-loop rate");
    let interval = Duration::from_secs_f64(1.0 / rate);
    let measured = Measured::starting_now(settings);
    let (measure_from, measure_until) = (measured.from, measured.until);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    let mut sequence = 0usize;
    loop {
        ticker.tick().await;
        let began = Instant::now();
        if began >= measure_until {
            break;
        }
        sequence += 1;
        let mut clients = clients.clone();
        let watcher = watcher.clone();
        let failed = measured.failed.clone();
        let crews = crews.clone();
        tasks.push(tokio::spawn(async move {
            let crew = crews.take(&clients).await;
            let outcome = match &crew {
                Ok(crew) => {
                    one_lifecycle(&mut clients, &watcher, crew, format!("cust-{}", sequence % 64)).await
                }
                Err(error) => Err(anyhow::anyhow!("no crew: {error}")),
            };
            if let Ok(crew) = crew {
                crews.give_back(crew);
            }
            let mut durations = Vec::new();
            // Counted by when it started: a lifecycle started in the window belongs to it.
            if began >= measure_from {
                record(outcome, began.elapsed(), &mut durations, &failed);
            }
            durations
        }));
    }
    Ok(measured.close(watcher, tasks, settings).await.0)
}

/// A loop's measured window: `warmup` from the loop's start, then `measure`; and how many
/// lifecycles in it failed.
struct Measured {
    wall_start: SystemTime,
    from: Instant,
    until: Instant,
    failed: Arc<std::sync::atomic::AtomicU64>,
}

impl Measured {
    fn starting_now(settings: &Settings) -> Measured {
        let from = Instant::now() + settings.warmup;
        Measured {
            wall_start: SystemTime::now(),
            from,
            until: from + settings.measure,
            failed: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// Waits for the loop's tasks and sums up the durations they measured: the window,
    /// and its bounds in unix nanoseconds (the watcher's clock).
    async fn close(
        self,
        watcher: &Watcher,
        tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
        settings: &Settings,
    ) -> (Window, i128, i128) {
        let from = unix_nanos(self.wall_start + settings.warmup);
        let until = from + settings.measure.as_nanos() as i128;
        let mut durations = Vec::new();
        for task in tasks {
            if let Ok(mut measured) = task.await {
                durations.append(&mut measured);
            }
        }
        (window(watcher, durations, &self.failed, settings.measure, from, until), from, until)
    }
}

fn record(
    outcome: anyhow::Result<()>,
    took: Duration,
    durations: &mut Vec<Duration>,
    failed: &std::sync::atomic::AtomicU64,
) {
    match outcome {
        Ok(()) => durations.push(took),
        Err(error) => {
            if failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
                eprintln!("  lifecycle failed: {error}");
            }
        }
    }
}

/// The lifecycle quantiles and the reaction lags stored in `[from, until]`.
fn window(
    watcher: &Watcher,
    mut durations: Vec<Duration>,
    failed: &std::sync::atomic::AtomicU64,
    measure: Duration,
    from: i128,
    until: i128,
) -> Window {
    let reactions = watcher.reactions_between(from, until);
    let mut by_type: HashMap<String, Vec<Duration>> = HashMap::new();
    for reaction in &reactions {
        by_type.entry(reaction.event_type.clone()).or_default().push(reaction.lag);
    }
    let mut lags: Vec<(String, usize, f64, f64)> = by_type
        .into_iter()
        .map(|(event_type, mut lags)| {
            (event_type, lags.len(), ms(quantile(&mut lags, 0.5)), ms(quantile(&mut lags, 0.99)))
        })
        .collect();
    lags.sort_by(|left, right| left.0.cmp(&right.0));
    let mut all: Vec<Duration> = reactions.iter().map(|reaction| reaction.lag).collect();
    lags.push(("all reactions".into(), all.len(), ms(quantile(&mut all, 0.5)), ms(quantile(&mut all, 0.99))));
    Window {
        per_second: durations.len() as f64 / measure.as_secs_f64(),
        completed: durations.len(),
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        p50_ms: ms(quantile(&mut durations, 0.5)),
        p99_ms: ms(quantile(&mut durations, 0.99)),
        lags,
    }
}
