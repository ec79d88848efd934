//! Dispatch's aggregates on the shared command loop (`waybill_command`, whose docs describe
//! it): vehicles and drivers as [`Decider`]s, and tasks, whose commands are a [`Decision`]
//! over the task and the vehicles it loads or unloads (every vehicle, for an automatic
//! assignment). The task's events and each vehicle's go out in one atomic append, each
//! subject with its own expected position, so two assignments racing for the last room on
//! a vehicle cannot both be stored: the second finds the vehicle's subject moved on.

use uuid::Uuid;
use waybill_command::{
    Aggregate, CommandError, Context, Decided, Decision, DecisionOutcome, Primary, Reads, Written,
};
use waybill_eventlog::{EventLog, Position, Projector};
use waybill_types::OrderId;

use crate::codec::{self, DispatchEvent};
use crate::domain::{
    Driver, DriverCommand, DriverEvent, DriverId, Fleet, Hub, HubCommand, HubEvent, HubFacts, HubId,
    Rejection, Task, TaskCommand, TaskEvent, TaskId, Vehicle, VehicleCommand, VehicleEvent, VehicleId,
    decide_driver, decide_hub, decide_task, decide_vehicle, evolve_driver, evolve_hub, evolve_task,
    evolve_vehicle,
};
use crate::read_model::DispatchModel;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type VehicleRunner = waybill_command::CommandRunner<Vehicle, DispatchModel>;
pub type DriverRunner = waybill_command::CommandRunner<Driver, DispatchModel>;
/// The shared runner over tasks (see [`run_task`]).
pub type TaskRunner = waybill_command::CommandRunner<Task, DispatchModel>;
/// The shared runner over hubs (see [`HubCommand`]'s `Decision`).
pub type HubRunner = waybill_command::CommandRunner<Hub, DispatchModel>;
pub type DispatchError = CommandError<Rejection>;

waybill_command::aggregate! {
    Vehicle("dispatch", "vehicle"): VehicleId => VehicleEvent, Rejection, ();
    evolve: |state, event, _| evolve_vehicle(state, event);
    encode: |id, _, event, meta| codec::encode_vehicle(*id, event, meta);
    decode: codec::decode => |decoded| match decoded.event {
        DispatchEvent::Vehicle(event) => Some((decoded.meta, event)),
        _ => None,
    };
    decide: VehicleCommand => decide_vehicle;
    not_found: |id| Rejection::VehicleNotFound(*id);
}

waybill_command::aggregate! {
    Driver("dispatch", "driver"): DriverId => DriverEvent, Rejection, ();
    evolve: |state, event, _| evolve_driver(state, event);
    encode: |id, _, event, meta| codec::encode_driver(*id, event, meta);
    decode: codec::decode => |decoded| match decoded.event {
        DispatchEvent::Driver(event) => Some((decoded.meta, event)),
        _ => None,
    };
    decide: DriverCommand => decide_driver;
    not_found: |id| Rejection::DriverNotFound(*id);
}

waybill_command::aggregate! {
    /// A task's commands are a [`Decision`] over it and its vehicles (below).
    Task("dispatch", "task"): TaskId => TaskEvent, Rejection, ();
    // A forward task's id is its order's; a return's reverse shipment names its order.
    order: |_, task| task.map(|task| task.plan.order_id.to_string());
    evolve: evolve_task;
    encode: |id, state, event, meta| codec::encode_task(*id, task_order(state, event), event, meta);
    decode: codec::decode => |decoded| match decoded.event {
        DispatchEvent::Task(event) => Some((decoded.meta, event)),
        _ => None,
    };
}

waybill_command::aggregate! {
    /// A hub's commands are a [`Decision`] over it and the tasks of the orders they name (below).
    Hub("dispatch", "hub"): HubId => HubEvent, Rejection, ();
    evolve: evolve_hub;
    encode: |id, _, event, meta| codec::encode_hub(*id, event, meta);
    decode: codec::decode => |decoded| match decoded.event {
        DispatchEvent::Hub(event) => Some((decoded.meta, event)),
        _ => None,
    };
}

/// What a hub command reads beside the hub (see [`HubFacts`]).
pub struct HubInput {
    pub hub_id: HubId,
    pub facts: HubFacts,
}

/// A hub command reads the tasks of the orders it names: a receipt must have a task (and a
/// damaged one raises an exception on it), a count's discrepancies raise one each. The
/// exceptions go out in the same atomic append as the hub's events.
impl Decision<Hub, DispatchModel> for HubCommand {
    type Other = Task;
    type Input = HubInput;

    fn read(&self, model: &DispatchModel, hub: Primary<'_, Hub>, reads: &mut Reads<Task>) -> HubInput {
        let mut facts = HubFacts::default();
        for order_id in self.orders(hub.state) {
            let task_id = TaskId(order_id.0);
            let record = model.task(&task_id);
            reads.other(task_id, record.map_or(0, |record| record.version));
            if let Some(record) = record {
                facts.tasks.insert(order_id, record.state.clone());
            }
        }
        if let HubCommand::Register { code, .. } = self {
            facts.code_taken_by = model.hub_with_code(code).map(|hub| hub.id);
        }
        if let HubCommand::LoadOut { vehicle_id: Some(vehicle_id), .. } = self {
            let vehicle = read_beside(reads, Vehicle::subject(vehicle_id, None), model.vehicle(vehicle_id));
            facts.vehicles.extend(vehicle.map(|vehicle| (*vehicle_id, vehicle)));
        }
        HubInput { hub_id: *hub.id, facts }
    }

    fn decide(
        &self,
        hub: Option<&Hub>,
        input: &HubInput,
        context: &Context<'_, ()>,
    ) -> Result<Decided<Hub, Task>, Rejection> {
        let decision = decide_hub(input.hub_id, hub, self, &input.facts, context)?;
        Ok(Decided { events: decision.hub_events, others: decision.task_events })
    }

    fn not_found(&self, hub_id: &HubId) -> Rejection {
        Rejection::HubNotFound(*hub_id)
    }
}

/// A record a decision reads but does not write: its state, with its version (0 when it
/// does not exist, so its creation meanwhile decides again) noted for the stale-state check.
fn read_beside<B: waybill_command::Aggregate, T: Clone>(
    reads: &mut Reads<B>,
    subject: String,
    record: Option<&crate::read_model::Record<T>>,
) -> Option<T> {
    reads.subject(subject, record.map_or(0, |record| record.version));
    record.map(|record| record.state.clone())
}

/// The order a task's event belongs to.
fn task_order(state: Option<&Task>, event: &TaskEvent) -> OrderId {
    match (event, state) {
        (TaskEvent::Planned { plan, .. }, _) => plan.order_id,
        (_, Some(task)) => task.plan.order_id,
        // Not decided: every task begins with `Planned` (and `evolve` refuses the rest).
        (_, None) => OrderId(Uuid::nil()),
    }
}

/// What a task command reads beside the task: the vehicles and the driver it may involve.
pub struct TaskInput {
    pub task_id: TaskId,
    pub fleet: Fleet,
}

/// A task command is a decision over the task and the vehicles it loads or unloads.
impl Decision<Task, DispatchModel> for TaskCommand {
    type Other = Vehicle;
    type Input = TaskInput;

    /// The task's vehicle, the one the command names, or every vehicle for an automatic
    /// assignment (each one's version goes into the stale-state check), and the driver (a
    /// licence recorded meanwhile moves the driver's version and decides again).
    fn read(&self, model: &DispatchModel, task: Primary<'_, Task>, reads: &mut Reads<Vehicle>) -> TaskInput {
        let mut fleet = Fleet::default();
        let mut wanted: Vec<VehicleId> = task.state.and_then(|task| task.vehicle_id).into_iter().collect();
        match self {
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
                reads.other(vehicle_id, record.version);
            }
        }
        // The driver who would drive: the one named, else the task's own (their licence and
        // training are checked against the vehicle and the cargo).
        let driver_id = match self {
            TaskCommand::Assign { driver_id: Some(driver_id), .. } => Some(*driver_id),
            TaskCommand::Assign { .. } | TaskCommand::HandleException { reassign_to: Some(_), .. } => {
                task.state.and_then(|task| task.driver_id)
            }
            _ => None,
        };
        if let Some(driver_id) = driver_id {
            let driver = read_beside(reads, Driver::subject(&driver_id, None), model.driver(&driver_id));
            fleet.drivers.extend(driver.map(|driver| (driver_id, driver)));
        }
        TaskInput { task_id: *task.id, fleet }
    }

    fn decide(
        &self,
        task: Option<&Task>,
        input: &TaskInput,
        context: &Context<'_, ()>,
    ) -> Result<Decided<Task, Vehicle>, Rejection> {
        let decision = decide_task(input.task_id, task, self, &input.fleet, context)?;
        Ok(Decided { events: decision.task_events, others: decision.vehicle_events })
    }

    fn not_found(&self, task_id: &TaskId) -> Rejection {
        Rejection::TaskNotFound(*task_id)
    }
}

/// What a task command answers: the task after it, the vehicle it is on, and the log
/// position written (the task's version for a command with nothing to do).
#[derive(Clone, Debug)]
pub struct TaskOutcome {
    pub task: Task,
    pub vehicle: Option<(Vehicle, Position)>,
    pub position: Position,
}

/// Runs a task command through the shared loop; answers with the task's vehicle as this
/// command left it (or as the read model has it, for a repeated request).
pub async fn run_task(
    runner: &TaskRunner,
    task_id: TaskId,
    command: &TaskCommand,
    meta: &CommandMeta,
) -> Result<TaskOutcome, DispatchError> {
    let DecisionOutcome { outcome, written } = runner.run_decision(task_id, command, meta).await?;
    let vehicle = outcome.state.vehicle_id.and_then(|vehicle_id| {
        match written.into_iter().find(|written| written.id == vehicle_id) {
            Some(Written { state: Some(vehicle), position, .. }) => Some((vehicle, position)),
            _ => {
                runner.model.read().vehicle(&vehicle_id).map(|record| (record.state.clone(), record.version))
            }
        }
    });
    Ok(TaskOutcome { task: outcome.state, vehicle, position: outcome.position })
}

/// The CloudEvents source of dispatch's events.
pub const SOURCE: &str = "/waybill/dispatch";

/// The command runners over one log and one read model.
#[derive(Clone)]
pub struct Runners {
    pub vehicles: VehicleRunner,
    pub drivers: DriverRunner,
    pub tasks: TaskRunner,
    pub hubs: HubRunner,
}

impl Runners {
    /// Opens the log, starts the read model, and builds the runners on them (no reactions,
    /// no server: tests use this to drive the reaction by hand).
    pub async fn start<P>(
        settings: &waybill_runtime::Settings<P>,
        nats: async_nats::Client,
    ) -> anyhow::Result<Runners> {
        let log = EventLog::connect(nats, settings.stream.clone(), SOURCE)
            .await?
            .admitting(waybill_proto::ownership::admission("dispatch"));
        let model = Projector::spawn(log.clone(), crate::read_model::filters(), DispatchModel::new()).await?;
        Ok(Runners::new(log, model, settings))
    }

    /// The runners on an opened log and a running read model (the host opens them).
    pub fn new<P>(
        log: EventLog,
        model: Projector<DispatchModel>,
        settings: &waybill_runtime::Settings<P>,
    ) -> Runners {
        Runners {
            vehicles: runner(&log, &model, settings),
            drivers: runner(&log, &model, settings),
            tasks: runner(&log, &model, settings),
            hubs: runner(&log, &model, settings),
        }
    }
}

/// A runner over aggregate `A` on the shared log and model, with the settings' clock and wait.
fn runner<A, P>(
    log: &EventLog,
    model: &Projector<DispatchModel>,
    settings: &waybill_runtime::Settings<P>,
) -> waybill_command::CommandRunner<A, DispatchModel>
where
    A: Aggregate<Policy = ()>,
    DispatchModel: waybill_command::AggregateStore<A>,
{
    let mut runner =
        waybill_command::CommandRunner::new(log.clone(), model.clone(), (), settings.clock.clone());
    runner.wait_timeout = settings.wait_timeout;
    runner
}
