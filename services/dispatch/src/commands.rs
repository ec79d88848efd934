//! Running commands against the log.
//!
//! Vehicles and drivers are one aggregate per command: they go through the shared command
//! loop (`waybill_command`) as [`Aggregate`]s. A task command may also load or unload
//! vehicles, so it runs through [`TaskRunner`], the same loop over several aggregates:
//!
//! 1. A retried request (same request id) finds the task event it caused in the read
//!    model, confirmed against the log, and gets the same answer; nothing is written twice.
//! 2. `decide_task` runs on the task and the vehicles it touches, as the read model has
//!    them (every vehicle, for an automatic assignment).
//! 3. The task's events and each vehicle's go out in ONE atomic append
//!    (`EventLog::append_atomic`), each subject with its own expected position (its
//!    version in the read model), and `Nats-Msg-Id`s from `<task id>:<request id>`. So
//!    two assignments racing for the last room on a vehicle cannot both be stored: the
//!    second finds the vehicle's subject moved on.
//! 4. A lost race (or a rejection decided on state that turns out stale) makes the read
//!    model catch up with the log and the loop decide again, up to [`MAX_TASK_ATTEMPTS`]
//!    times; then ABORTED.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use waybill_command::{Aggregate, AggregateStore, CommandError, EventMeta};
use waybill_eventlog::{AggregateAppend, AppendError, EventLog, NewEvent, Position, Projector, subject};
use waybill_types::Timestamp;

use crate::codec::{self, DecodedEvent, DispatchEvent};
use crate::domain::{
    Driver, DriverCommand, DriverEvent, DriverId, Fleet, Rejection, Task, TaskCommand, TaskDecision,
    TaskEvent, TaskId, Vehicle, VehicleCommand, VehicleEvent, VehicleId, decide_driver, decide_task,
    decide_vehicle, evolve_driver, evolve_task, evolve_vehicle,
};
use crate::read_model::DispatchModel;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type VehicleRunner = waybill_command::CommandRunner<Vehicle, DispatchModel>;
pub type DriverRunner = waybill_command::CommandRunner<Driver, DispatchModel>;
pub type DispatchError = CommandError<Rejection>;

/// How many times a task command is decided again after losing a race. More than the
/// single-aggregate loop's 5: an automatic assignment competes with every other one.
pub const MAX_TASK_ATTEMPTS: usize = 12;

pub fn vehicle_subject(vehicle_id: &VehicleId) -> String {
    subject::aggregate("dispatch", "vehicle", &vehicle_id.to_string())
}

pub fn driver_subject(driver_id: &DriverId) -> String {
    subject::aggregate("dispatch", "driver", &driver_id.to_string())
}

pub fn task_subject(task_id: &TaskId) -> String {
    subject::aggregate("dispatch", "task", &task_id.to_string())
}

fn decode_as<T>(
    payload: &[u8],
    pick: impl FnOnce(DispatchEvent) -> Option<T>,
) -> Result<(EventMeta, T), String> {
    let DecodedEvent { meta, event, event_type, .. } =
        codec::decode(payload).map_err(|error| error.to_string())?;
    pick(event).map(|event| (meta, event)).ok_or_else(|| format!("{event_type} is not for this aggregate"))
}

impl Aggregate for Vehicle {
    type Id = VehicleId;
    type Command = VehicleCommand;
    type Event = VehicleEvent;
    type Rejection = Rejection;
    type Policy = ();

    fn subject(id: &VehicleId) -> String {
        vehicle_subject(id)
    }

    fn decide(
        state: Option<&Vehicle>,
        command: &VehicleCommand,
        _now: Timestamp,
        _policy: &(),
    ) -> Result<Vec<VehicleEvent>, Rejection> {
        decide_vehicle(state, command)
    }

    fn evolve(state: Option<Vehicle>, event: &VehicleEvent, _at: Timestamp) -> Option<Vehicle> {
        evolve_vehicle(state, event)
    }

    fn not_found(id: &VehicleId) -> Rejection {
        Rejection::VehicleNotFound(*id)
    }

    fn encode(id: &VehicleId, _state: Option<&Vehicle>, event: &VehicleEvent, meta: &EventMeta) -> NewEvent {
        codec::encode_vehicle(*id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, VehicleEvent), String> {
        decode_as(payload, |event| match event {
            DispatchEvent::Vehicle(event) => Some(event),
            _ => None,
        })
    }
}

impl Aggregate for Driver {
    type Id = DriverId;
    type Command = DriverCommand;
    type Event = DriverEvent;
    type Rejection = Rejection;
    type Policy = ();

    fn subject(id: &DriverId) -> String {
        driver_subject(id)
    }

    fn decide(
        state: Option<&Driver>,
        command: &DriverCommand,
        _now: Timestamp,
        _policy: &(),
    ) -> Result<Vec<DriverEvent>, Rejection> {
        decide_driver(state, command)
    }

    fn evolve(state: Option<Driver>, event: &DriverEvent, _at: Timestamp) -> Option<Driver> {
        evolve_driver(state, event)
    }

    fn not_found(id: &DriverId) -> Rejection {
        Rejection::DriverNotFound(*id)
    }

    fn encode(id: &DriverId, _state: Option<&Driver>, event: &DriverEvent, meta: &EventMeta) -> NewEvent {
        codec::encode_driver(*id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, DriverEvent), String> {
        decode_as(payload, |event| match event {
            DispatchEvent::Driver(event) => Some(event),
            _ => None,
        })
    }
}

/// A short pause before deciding again, growing with the attempt, with a random part (the
/// random bits of a UUIDv7) so that requests that collided do not collide again in step.
fn retry_pause(attempt: usize) -> Duration {
    // Exponential with full jitter: many commands on one busy vehicle spread out instead of
    // colliding again in step (with a fixed small pause, 20 concurrent lifecycles on one van
    // ran out of attempts).
    let ceiling_ms = 2u64.saturating_mul(1 << attempt.min(6)).min(100);
    let random = Uuid::now_v7().as_u128() as u64; // 62 of a v7's low 64 bits are random
    Duration::from_millis(1 + random % ceiling_ms)
}

/// What a task command answers: the task after it, the vehicle it is on, and the log
/// position written (the task's version for a command with nothing to do).
#[derive(Clone, Debug)]
pub struct TaskOutcome {
    pub task: Task,
    pub vehicle: Option<(Vehicle, Position)>,
    pub position: Position,
}

/// The multi-aggregate command loop for tasks (see the module docs).
#[derive(Clone)]
pub struct TaskRunner {
    pub log: EventLog,
    pub model: Projector<DispatchModel>,
    pub clock: Arc<dyn Clock>,
    pub wait_timeout: Duration,
}

/// What a decision was taken on.
struct Snapshot {
    task: Option<Task>,
    version: Position,
    fleet: Fleet,
    /// Versions of the vehicles in `fleet`.
    vehicle_versions: HashMap<VehicleId, Position>,
    /// Version of the driver the command names, if it exists.
    driver_version: Option<Position>,
}

impl Snapshot {
    /// The versions the decision depended on; if any moved, the decision may be stale.
    fn fingerprint(&self) -> Vec<(Uuid, Position)> {
        let mut versions: Vec<(Uuid, Position)> =
            self.vehicle_versions.iter().map(|(id, version)| (id.0, *version)).collect();
        versions.sort_unstable();
        versions.push((Uuid::nil(), self.version));
        versions.push((Uuid::max(), self.driver_version.unwrap_or_default()));
        versions
    }
}

type TaskResult<T> = Result<T, DispatchError>;

impl TaskRunner {
    pub async fn run(
        &self,
        task_id: TaskId,
        command: &TaskCommand,
        meta: &CommandMeta,
    ) -> TaskResult<TaskOutcome> {
        if meta.min_position > self.model.applied() {
            self.model.wait_for(meta.min_position, self.wait_timeout).await?;
        }
        for attempt in 0..MAX_TASK_ATTEMPTS {
            if let Some(outcome) = self.already_done(task_id, &meta.request_id).await? {
                return Ok(outcome);
            }
            let snapshot = self.snapshot(task_id, command);
            let now = self.clock.now();
            let decision = match decide_task(task_id, snapshot.task.as_ref(), command, &snapshot.fleet, now) {
                Ok(decision) => decision,
                Err(rejection) => {
                    // Only reject on the latest state: if what we decided on moved, decide again.
                    self.catch_up().await?;
                    if self.snapshot(task_id, command).fingerprint() == snapshot.fingerprint() {
                        return Err(CommandError::Rejected(rejection));
                    }
                    continue;
                }
            };
            if decision.is_empty() {
                let Some(task) = snapshot.task else {
                    // Not found on the log as it is now, not only in a model that lags.
                    self.catch_up().await?;
                    if self.snapshot(task_id, command).fingerprint() == snapshot.fingerprint() {
                        return Err(CommandError::Rejected(Rejection::TaskNotFound(task_id)));
                    }
                    continue;
                };
                let vehicle = self.vehicle_of(&task);
                return Ok(TaskOutcome { task, vehicle, position: snapshot.version });
            }
            if let Some(outcome) = self.append(task_id, &snapshot, decision, meta, now).await? {
                return Ok(outcome);
            }
            // Lost a race: spread the retries of competing requests a little.
            let pause = retry_pause(attempt);
            tokio::time::sleep(pause).await;
        }
        Err(CommandError::Aborted { aggregate: task_subject(&task_id), attempts: MAX_TASK_ATTEMPTS })
    }

    /// Every event of the task, oldest first, decoded, from the log.
    pub async fn history(&self, task_id: &TaskId) -> TaskResult<Vec<(Position, EventMeta, TaskEvent)>> {
        let recorded = self
            .log
            .read_subject(&task_subject(task_id))
            .await
            .map_err(|error| CommandError::Log(error.to_string()))?;
        recorded
            .iter()
            .map(|recorded| {
                let (meta, event) = decode_as(&recorded.payload, |event| match event {
                    DispatchEvent::Task(event) => Some(event),
                    _ => None,
                })
                .map_err(|error| CommandError::Log(format!("position {}: {error}", recorded.position)))?;
                Ok((recorded.position, meta, event))
            })
            .collect()
    }

    fn snapshot(&self, task_id: TaskId, command: &TaskCommand) -> Snapshot {
        let model = self.model.read();
        let (task, version) = match model.task(&task_id) {
            Some(record) => (Some(record.state.clone()), record.version),
            None => (None, 0),
        };
        let mut fleet = Fleet::default();
        let mut vehicle_versions = HashMap::new();
        let mut wanted: Vec<VehicleId> = task.as_ref().and_then(|task| task.vehicle_id).into_iter().collect();
        match command {
            TaskCommand::Assign { vehicle_id: None, .. } => {
                wanted.extend(model.vehicles().map(|record| record.state.id))
            }
            TaskCommand::Assign { vehicle_id: Some(vehicle_id), .. } => wanted.push(*vehicle_id),
            TaskCommand::HandleException { reassign_to: Some(vehicle_id), .. } => wanted.push(*vehicle_id),
            _ => {}
        }
        for vehicle_id in wanted {
            if let Some(record) = model.vehicle(&vehicle_id) {
                fleet.vehicles.insert(vehicle_id, record.state.clone());
                vehicle_versions.insert(vehicle_id, record.version);
            }
        }
        let mut driver_version = None;
        if let TaskCommand::Assign { driver_id: Some(driver_id), .. } = command
            && let Some(record) = model.driver(driver_id)
        {
            fleet.drivers.insert(*driver_id, record.state.clone());
            driver_version = Some(record.version);
        }
        Snapshot { task, version, fleet, vehicle_versions, driver_version }
    }

    /// Waits until the read model has applied everything the log holds now.
    pub async fn catch_up(&self) -> TaskResult<()> {
        let head = self.log.head().await.map_err(|error| CommandError::Log(error.to_string()))?;
        self.model.wait_for(head, self.wait_timeout).await?;
        Ok(())
    }

    fn vehicle_of(&self, task: &Task) -> Option<(Vehicle, Position)> {
        let vehicle_id = task.vehicle_id?;
        self.model.read().vehicle(&vehicle_id).map(|record| (record.state.clone(), record.version))
    }

    /// The answer a repeated request gets, if this request already wrote to the task.
    async fn already_done(&self, task_id: TaskId, request_id: &str) -> TaskResult<Option<TaskOutcome>> {
        let Some(position) = self.model.read().task_caused_by(&task_id, request_id) else { return Ok(None) };
        let history = self.history(&task_id).await?;
        let confirmed =
            history.iter().any(|(at, meta, _)| *at == position && meta.causation_id == request_id);
        if !confirmed {
            return Ok(None);
        }
        Ok(self.outcome_at(history, position, request_id))
    }

    /// The task folded from its history up to `position`, with its vehicle as it is now.
    fn outcome_at(
        &self,
        history: Vec<(Position, EventMeta, TaskEvent)>,
        position: Position,
        request_id: &str,
    ) -> Option<TaskOutcome> {
        let task = history
            .into_iter()
            .take_while(|(at, _, _)| *at <= position)
            .fold(None, |state, (_, meta, event)| evolve_task(state, &event, meta.occurred_at))?;
        let vehicle = self.vehicle_of(&task);
        // The request's last write may be on the vehicle (after the task's, in one batch).
        let vehicle_position = task
            .vehicle_id
            .and_then(|vehicle_id| {
                AggregateStore::<Vehicle>::position_caused_by(&*self.model.read(), &vehicle_id, request_id)
            })
            .unwrap_or_default();
        Some(TaskOutcome { task, vehicle, position: position.max(vehicle_position) })
    }

    /// Appends the decision atomically; `None` if the race was lost (the model has caught up).
    async fn append(
        &self,
        task_id: TaskId,
        snapshot: &Snapshot,
        decision: TaskDecision,
        meta: &CommandMeta,
        now: Timestamp,
    ) -> TaskResult<Option<TaskOutcome>> {
        let event_meta = || EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at: now,
            causation_id: meta.request_id.clone(),
            correlation_id: meta.correlation_id.clone(),
            actor: meta.actor.clone(),
        };
        let mut task = snapshot.task.clone();
        let mut task_events = Vec::with_capacity(decision.task_events.len());
        for event in &decision.task_events {
            let order_id = match (event, &task) {
                (TaskEvent::Planned { plan, .. }, _) => plan.order_id,
                (_, Some(task)) => task.plan.order_id,
                (_, None) => {
                    return Err(CommandError::Log(format!("decided events do not build task {task_id}")));
                }
            };
            task_events.push(codec::encode_task(task_id, order_id, event, &event_meta()));
            task = evolve_task(task, event, now);
        }
        let task =
            task.ok_or_else(|| CommandError::Log(format!("decided events do not build task {task_id}")))?;

        // Each vehicle's events, in the order decided, with the vehicle folded.
        let mut vehicles: Vec<(VehicleId, Vec<NewEvent>, Option<Vehicle>)> = Vec::new();
        for (vehicle_id, event) in &decision.vehicle_events {
            if !vehicles.iter().any(|(id, _, _)| id == vehicle_id) {
                vehicles.push((*vehicle_id, Vec::new(), snapshot.fleet.vehicles.get(vehicle_id).cloned()));
            }
            if let Some((_, encoded, folded)) = vehicles.iter_mut().find(|(id, _, _)| id == vehicle_id) {
                encoded.push(codec::encode_vehicle(*vehicle_id, event, &event_meta()));
                *folded = evolve_vehicle(folded.take(), event);
            }
        }

        let task_subject = task_subject(&task_id);
        let vehicle_subjects: Vec<String> = vehicles.iter().map(|(id, _, _)| vehicle_subject(id)).collect();
        let mut writes = vec![AggregateAppend {
            subject: &task_subject,
            expected: Some(snapshot.version),
            events: &task_events,
        }];
        for ((vehicle_id, encoded, _), subject) in vehicles.iter().zip(&vehicle_subjects) {
            let expected = snapshot.vehicle_versions.get(vehicle_id).copied().unwrap_or(0);
            writes.push(AggregateAppend { subject, expected: Some(expected), events: encoded });
        }
        let idempotency_key = format!("{task_id}:{}", meta.request_id);
        match self.log.append_atomic(&writes, &idempotency_key).await {
            Ok(appended) if appended.duplicate => {
                // An earlier attempt of this request got there first: answer as it would have.
                let history = self.history(&task_id).await?;
                Ok(self.outcome_at(history, appended.last, &meta.request_id))
            }
            Ok(appended) => {
                // A batch is stored contiguously in the order given: the task's events,
                // then each vehicle's.
                let mut next = appended.first + task_events.len() as u64;
                let mut written = Vec::with_capacity(vehicles.len());
                for (vehicle_id, encoded, folded) in vehicles {
                    next += encoded.len() as u64;
                    written.push((vehicle_id, folded, next - 1));
                }
                let vehicle = match task.vehicle_id {
                    Some(vehicle_id) => match written.into_iter().find(|(id, _, _)| *id == vehicle_id) {
                        Some((_, Some(folded), version)) => Some((folded, version)),
                        _ => self.vehicle_of(&task),
                    },
                    None => None,
                };
                Ok(Some(TaskOutcome { task, vehicle, position: appended.last }))
            }
            Err(AppendError::Conflict { .. }) => {
                tracing::debug!(%task_id, "lost a race, catching up");
                self.catch_up().await?;
                Ok(None)
            }
            Err(error) => Err(CommandError::from_append(error)),
        }
    }
}

/// The CloudEvents source of dispatch's events.
pub const SOURCE: &str = "/waybill/dispatch";

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
    pub async fn start(
        settings: &waybill_runtime::Settings,
        nats: async_nats::Client,
    ) -> anyhow::Result<Runners> {
        let log = EventLog::connect(nats, settings.stream.clone(), SOURCE).await?;
        let model = Projector::spawn(log.clone(), crate::read_model::filters(), DispatchModel::new()).await?;
        Ok(Runners::new(log, model, settings))
    }

    /// The runners on an opened log and a running read model (the host opens them).
    pub fn new(
        log: EventLog,
        model: Projector<DispatchModel>,
        settings: &waybill_runtime::Settings,
    ) -> Runners {
        let mut vehicles = VehicleRunner::new(log.clone(), model.clone(), (), settings.clock.clone());
        vehicles.wait_timeout = settings.wait_timeout;
        let mut drivers = DriverRunner::new(log.clone(), model.clone(), (), settings.clock.clone());
        drivers.wait_timeout = settings.wait_timeout;
        let tasks =
            TaskRunner { log, model, clock: settings.clock.clone(), wait_timeout: settings.wait_timeout };
        Runners { vehicles, drivers, tasks }
    }
}
