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
use crate::procs::{Nats, Paths, Service};
use crate::stats::{ms, quantile};

pub const TASK_PLANNED: &str = "waybill.dispatch.task_planned.v1";
pub const DELIVERY_SCHEDULED: &str = "waybill.delivery.delivery_scheduled.v1";
pub const ORDER_DELIVERED: &str = "waybill.intake.order_delivered.v1";
const AWAITED: [&str; 3] = [TASK_PLANNED, DELIVERY_SCHEDULED, ORDER_DELIVERED];
/// How long a worker waits for a service's own reaction before giving up on the order.
const REACTION_TIMEOUT: Duration = Duration::from_secs(30);

pub const SERVICES: [&str; 5] = ["intake", "dispatch", "delivery", "aftersales", "crm"];

/// The five release binaries on one nats-server.
pub struct System {
    pub services: Vec<(&'static str, Service)>,
}

impl System {
    pub async fn start(paths: &Paths, nats: &Nats, label: &str) -> anyhow::Result<System> {
        let mut services = Vec::new();
        for name in SERVICES {
            let log = paths.log(&format!("{label}-{name}"))?;
            let service = Service::start(
                &paths.service(name),
                waybill_system_tests::grpc_service(name)?,
                &nats.url,
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
    seen: std::sync::atomic::AtomicU64,
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
            seen: Default::default(),
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
        self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

    pub fn events_seen(&self) -> u64 {
        self.seen.load(std::sync::atomic::Ordering::Relaxed)
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

/// The result of one lifecycle run.
#[derive(Clone, Debug)]
pub struct LifecycleRun {
    pub per_second: f64,
    pub completed: usize,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Per reacting event type: (count, p50 ms, p99 ms); and "all reactions".
    pub lags: Vec<(String, usize, f64, f64)>,
}

pub struct Settings {
    pub workers: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

pub fn unix_nanos(at: SystemTime) -> i128 {
    at.duration_since(SystemTime::UNIX_EPOCH).map(|elapsed| elapsed.as_nanos() as i128).unwrap_or(0)
}

pub async fn run(paths: &Paths, settings: &Settings, run_index: usize) -> anyhow::Result<LifecycleRun> {
    let store = paths.data_dir.join(format!("lifecycle-run-{run_index}"));
    let _ = std::fs::remove_dir_all(&store);
    let nats = Nats::start(&paths.nats_server, &store)?;
    let system = System::start(paths, &nats, &format!("lifecycle-{run_index}")).await?;
    let watcher = Watcher::start(nats.client().await?, 1).await?;
    let clients = system.clients().await?;

    let mut crews = Vec::new();
    for _ in 0..settings.workers {
        crews.push(register_crew(&mut clients.clone()).await?);
    }
    let start = Instant::now();
    let wall_start = SystemTime::now();
    let measure_from = start + settings.warmup;
    let measure_until = measure_from + settings.measure;
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (worker, crew) in crews.into_iter().enumerate() {
        let mut clients = clients.clone();
        let watcher = watcher.clone();
        let failed = failed.clone();
        tasks.push(tokio::spawn(async move {
            let mut durations = Vec::new();
            while Instant::now() < measure_until {
                let began = Instant::now();
                let outcome = one_lifecycle(&mut clients, &watcher, &crew, format!("cust-{worker}")).await;
                let done = Instant::now();
                if done >= measure_from && done <= measure_until {
                    match outcome {
                        Ok(()) => durations.push(done - began),
                        Err(error) => {
                            if failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
                                eprintln!("  lifecycle failed: {error}");
                            }
                        }
                    }
                }
            }
            durations
        }));
    }
    let window_from = unix_nanos(wall_start + settings.warmup);
    let mut durations = Vec::new();
    for task in tasks {
        if let Ok(mut worker_durations) = task.await {
            durations.append(&mut worker_durations);
        }
    }
    let window_until = window_from + settings.measure.as_nanos() as i128;
    let reactions = watcher.reactions_between(window_from, window_until);
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
    let completed = durations.len();
    let result = LifecycleRun {
        per_second: completed as f64 / settings.measure.as_secs_f64(),
        completed,
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        p50_ms: ms(quantile(&mut durations, 0.5)),
        p99_ms: ms(quantile(&mut durations, 0.99)),
        lags,
    };
    eprintln!(
        "  lifecycle run {run_index}: {:.0}/s ({} done, {} failed), lifecycle p50 {:.0} ms p99 {:.0} ms, reaction lag p99 {:.1} ms; {} events seen",
        result.per_second,
        result.completed,
        result.failed,
        result.p50_ms,
        result.p99_ms,
        result.lags.last().map(|lag| lag.3).unwrap_or(f64::NAN),
        watcher.events_seen()
    );
    system.stop();
    nats.process.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&store);
    Ok(result)
}
