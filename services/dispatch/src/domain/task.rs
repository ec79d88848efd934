//! The transport task: moving one order's goods (or a return's) from the origin depot to
//! the destination hub. Its state, commands and events, and `evolve_task`.

use uuid::Uuid;
use waybill_types::{Address, OrderId, ServiceLevel, Timestamp};

use super::{DriverId, Load, TaskId, TransportMode, VehicleId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// An accepted order, shipper to consignee; the task id is the order id.
    Forward,
    /// A return, consignee back to shipper; the task id is the return id.
    Reverse,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Planned,
    Assigned,
    Packed,
    PickedUp,
    InTransit,
    Arrived,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 7] = [
        TaskStatus::Planned,
        TaskStatus::Assigned,
        TaskStatus::Packed,
        TaskStatus::PickedUp,
        TaskStatus::InTransit,
        TaskStatus::Arrived,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Planned => "planned",
            TaskStatus::Assigned => "assigned",
            TaskStatus::Packed => "packed",
            TaskStatus::PickedUp => "picked up",
            TaskStatus::InTransit => "in transit",
            TaskStatus::Arrived => "arrived",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// The goods are still at the origin: the task may be cancelled, replanned, reassigned.
    pub fn is_before_pickup(&self) -> bool {
        matches!(self, TaskStatus::Planned | TaskStatus::Assigned | TaskStatus::Packed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    Breakdown,
    Accident,
    Weather,
    Customs,
    Other,
    /// Goods damaged in transit, or found damaged on receipt at a hub (`hub`).
    Damaged,
    /// A hub's cycle count found the stock wrong about the goods (`hub`).
    StockDiscrepancy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What a task carries from where to where, and how: fixed when it is planned, changed
/// only by a replan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub kind: TaskKind,
    pub order_id: OrderId,
    /// For a reverse shipment: the return it carries (also its task id).
    pub return_id: Option<Uuid>,
    pub mode: TransportMode,
    pub service_level: ServiceLevel,
    pub origin: Address,
    pub destination: Address,
    pub load: Load,
    /// The depot the goods leave from: the origin city.
    pub origin_depot: String,
    /// The cargo includes hazardous goods: only a driver trained for them takes it.
    pub hazardous: bool,
}

/// What an amendment or a redirection of the order changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplanUpdate {
    pub mode: TransportMode,
    pub service_level: ServiceLevel,
    pub load: Load,
    pub destination: Address,
    pub hazardous: bool,
}

impl ReplanUpdate {
    /// An assigned task leaves its vehicle (and driver) when the update changes what the
    /// assignment was checked against: the load, the mode, or cargo turning hazardous.
    pub fn leaves_vehicle(&self, plan: &Plan) -> bool {
        self.load != plan.load || self.mode != plan.mode || (self.hazardous && !plan.hazardous)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub place: String,
    pub note: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportException {
    pub exception_id: String,
    pub kind: ExceptionKind,
    pub severity: Severity,
    pub description: String,
    pub reported_at: Timestamp,
    pub handling: Option<String>,
    pub delay_minutes: u32,
    pub resolution: Option<String>,
    pub resolved_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub plan: Plan,
    pub status: TaskStatus,
    /// Set from assignment until arrival or cancellation.
    pub vehicle_id: Option<VehicleId>,
    pub driver_id: Option<DriverId>,
    pub checkpoints: Vec<Checkpoint>,
    pub exceptions: Vec<TransportException>,
    /// The hub it arrived at (the code the arrival named), once arrived.
    pub arrived_at: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Task {
    pub fn exception(&self, exception_id: &str) -> Option<&TransportException> {
        self.exceptions.iter().find(|exception| exception.exception_id == exception_id)
    }
}

// A plan carries two addresses (now with coordinates); moved once, boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskCommand {
    /// Plan a task (again, if it was cancelled): from an accepted or restored order, or a
    /// requested reverse shipment. `source_event_id` names the intake event, if any.
    Plan {
        task_id: TaskId,
        plan: Plan,
        source_event_id: String,
    },
    /// The order was amended or redirected; a no-op after pickup or if nothing changed.
    Replan {
        update: ReplanUpdate,
        source_event_id: String,
    },
    /// The order was cancelled.
    Cancel {
        reason: String,
        source_event_id: String,
    },
    /// `vehicle_id: None` chooses automatically; `Some` is a dispatcher's override.
    Assign {
        vehicle_id: Option<VehicleId>,
        driver_id: Option<DriverId>,
    },
    Unassign {
        reason: String,
    },
    MarkPacked,
    RecordPickup,
    RecordCheckpoint {
        place: String,
        note: String,
    },
    RecordArrival {
        hub: String,
    },
    ReportException {
        exception_id: String,
        kind: ExceptionKind,
        severity: Severity,
        description: String,
    },
    HandleException {
        exception_id: String,
        handling: String,
        delay_minutes: u32,
        reassign_to: Option<VehicleId>,
    },
    ResolveException {
        exception_id: String,
        resolution: String,
    },
}

// A plan carries two addresses (now with coordinates); moved once, boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    Planned {
        task_id: TaskId,
        plan: Plan,
        source_event_id: String,
    },
    Replanned {
        update: ReplanUpdate,
        source_event_id: String,
    },
    Cancelled {
        reason: String,
        source_event_id: String,
    },
    Assigned {
        vehicle_id: VehicleId,
        driver_id: Option<DriverId>,
        automatic: bool,
    },
    Unassigned {
        vehicle_id: VehicleId,
        reason: String,
    },
    Packed,
    PickedUp {
        vehicle_id: Option<VehicleId>,
        driver_id: Option<DriverId>,
    },
    CheckpointPassed {
        place: String,
        note: String,
    },
    ArrivedAtHub {
        hub: String,
    },
    ExceptionReported {
        exception_id: String,
        kind: ExceptionKind,
        severity: Severity,
        description: String,
    },
    ExceptionHandled {
        exception_id: String,
        handling: String,
        delay_minutes: u32,
        reassigned_to: Option<VehicleId>,
    },
    ExceptionResolved {
        exception_id: String,
        resolution: String,
        resolution_seconds: u64,
    },
}

impl TaskEvent {
    /// The event's type on the log (`ce-type`).
    pub fn event_type(&self) -> &'static str {
        match self {
            TaskEvent::Planned { .. } => "waybill.dispatch.task_planned.v1",
            TaskEvent::Replanned { .. } => "waybill.dispatch.task_replanned.v1",
            TaskEvent::Cancelled { .. } => "waybill.dispatch.task_cancelled.v1",
            TaskEvent::Assigned { .. } => "waybill.dispatch.task_assigned.v1",
            TaskEvent::Unassigned { .. } => "waybill.dispatch.task_unassigned.v1",
            TaskEvent::Packed => "waybill.dispatch.task_packed.v1",
            TaskEvent::PickedUp { .. } => "waybill.dispatch.task_picked_up.v1",
            TaskEvent::CheckpointPassed { .. } => "waybill.dispatch.task_checkpoint_passed.v1",
            TaskEvent::ArrivedAtHub { .. } => "waybill.dispatch.task_arrived_at_hub.v1",
            TaskEvent::ExceptionReported { .. } => "waybill.dispatch.transport_exception_reported.v1",
            TaskEvent::ExceptionHandled { .. } => "waybill.dispatch.transport_exception_handled.v1",
            TaskEvent::ExceptionResolved { .. } => "waybill.dispatch.transport_exception_resolved.v1",
        }
    }
}

/// What each event means for the task; `at` is the event's occurred-at. Trusts the log
/// (the decider checked the rules) and never panics: an event that needs a task but finds
/// none leaves `None`.
pub fn evolve_task(state: Option<Task>, event: &TaskEvent, at: Timestamp) -> Option<Task> {
    let mut task = match (state, event) {
        (None, TaskEvent::Planned { task_id, plan, .. }) => {
            return Some(Task {
                id: *task_id,
                plan: plan.clone(),
                status: TaskStatus::Planned,
                vehicle_id: None,
                driver_id: None,
                checkpoints: Vec::new(),
                exceptions: Vec::new(),
                arrived_at: None,
                created_at: at,
                updated_at: at,
            });
        }
        (None, _) => return None,
        (Some(task), _) => task,
    };
    match event {
        // Planned again after a cancellation: a fresh start on the same id.
        TaskEvent::Planned { plan, .. } => {
            task.plan = plan.clone();
            task.status = TaskStatus::Planned;
            task.vehicle_id = None;
            task.driver_id = None;
            task.arrived_at = None;
        }
        TaskEvent::Replanned { update, .. } => {
            let leaves_vehicle = update.leaves_vehicle(&task.plan);
            task.plan.mode = update.mode;
            task.plan.service_level = update.service_level;
            task.plan.load = update.load;
            task.plan.destination = update.destination.clone();
            task.plan.hazardous = update.hazardous;
            if leaves_vehicle && task.vehicle_id.is_some() && task.status.is_before_pickup() {
                task.vehicle_id = None;
                task.driver_id = None;
                task.status = TaskStatus::Planned;
            }
        }
        TaskEvent::Cancelled { .. } => {
            task.status = TaskStatus::Cancelled;
            task.vehicle_id = None;
            task.driver_id = None;
        }
        TaskEvent::Assigned { vehicle_id, driver_id, .. } => {
            task.vehicle_id = Some(*vehicle_id);
            if driver_id.is_some() {
                task.driver_id = *driver_id;
            }
            if task.status == TaskStatus::Planned {
                task.status = TaskStatus::Assigned;
            }
        }
        TaskEvent::Unassigned { .. } => {
            task.vehicle_id = None;
            task.driver_id = None;
            task.status = TaskStatus::Planned;
        }
        TaskEvent::Packed => task.status = TaskStatus::Packed,
        TaskEvent::PickedUp { .. } => task.status = TaskStatus::PickedUp,
        TaskEvent::CheckpointPassed { place, note } => {
            task.checkpoints.push(Checkpoint { place: place.clone(), note: note.clone(), at });
            task.status = TaskStatus::InTransit;
        }
        TaskEvent::ArrivedAtHub { hub } => {
            task.status = TaskStatus::Arrived;
            task.arrived_at = Some(hub.clone());
        }
        TaskEvent::ExceptionReported { exception_id, kind, severity, description } => {
            task.exceptions.push(TransportException {
                exception_id: exception_id.clone(),
                kind: *kind,
                severity: *severity,
                description: description.clone(),
                reported_at: at,
                handling: None,
                delay_minutes: 0,
                resolution: None,
                resolved_at: None,
            });
        }
        TaskEvent::ExceptionHandled { exception_id, handling, delay_minutes, .. } => {
            if let Some(exception) = task.exceptions.iter_mut().find(|e| e.exception_id == *exception_id) {
                exception.handling = Some(handling.clone());
                exception.delay_minutes = *delay_minutes;
            }
        }
        TaskEvent::ExceptionResolved { exception_id, resolution, .. } => {
            if let Some(exception) = task.exceptions.iter_mut().find(|e| e.exception_id == *exception_id) {
                exception.resolution = Some(resolution.clone());
                exception.resolved_at = Some(at);
            }
        }
    }
    task.updated_at = at;
    Some(task)
}
