//! What a task command does. A task command may also change vehicles (the one it loads,
//! the one it leaves), so it is decided on the task *and* the vehicles it touches, and its
//! answer is a [`TaskDecision`]: the task's events and each vehicle's, written together.
//!
//! The rules, per command (every status check goes through [`require`], so a rejection
//! names the status):
//! - **Plan**: a new task, or a cancelled forward task planned again (its order was
//!   restored); on a live forward task it is a no-op (a repeated acceptance). A reverse
//!   shipment for an id that exists is `AlreadyExists`.
//! - **Replan** (before pickup): new mode, service level, load, destination. If the load
//!   or the mode changes, an assigned task leaves its vehicle (`Replanned` unload) and
//!   waits for a new assignment. After pickup, on a cancelled task, or with nothing new:
//!   a no-op.
//! - **Cancel** (before pickup; a cancelled task: no-op): unloads its vehicle.
//! - **Assign** (planned, assigned, packed): automatic ([`choose_vehicle`]) or a
//!   dispatcher's vehicle, which must exist, be active, suit the mode, have room and be
//!   roadworthy (no inspection or maintenance overdue). The driver (the one named, else the
//!   task's own) must hold a licence that has not expired and covers the vehicle, and
//!   hazardous-goods training for hazardous cargo (`upkeep`). Moving a task to another
//!   vehicle unloads the old one. An automatic assignment of a task that has a vehicle, or
//!   the same vehicle again, is a no-op.
//! - **Unassign** (assigned, packed), **MarkPacked** (assigned), **RecordPickup** (packed),
//!   **RecordCheckpoint** (picked up, in transit), **RecordArrival** (picked up, in transit;
//!   unloads the vehicle).
//! - **ReportException** (not cancelled, not arrived), **HandleException** (optionally
//!   moving the task to another vehicle while it is on one, same checks as an override,
//!   the task's driver included), **ResolveException**
//!   (once; records the time from report to resolution).

use std::collections::BTreeMap;

use waybill_types::Timestamp;

use super::{
    Context, Driver, DriverId, Plan, Rejection, ReplanUpdate, Task, TaskCommand, TaskEvent, TaskId, TaskKind,
    TaskStatus, UnloadReason, Vehicle, VehicleEvent, VehicleId, choose_vehicle, evolve_task, may_carry,
    may_drive, roadworthy, shortfall, suits,
};

use TaskStatus::{Arrived, Assigned, Cancelled, InTransit, Packed, PickedUp, Planned};

/// The vehicles and drivers a decision may look at (for an automatic assignment: every
/// vehicle; otherwise the ones the command names and the task's own).
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    pub vehicles: BTreeMap<VehicleId, Vehicle>,
    pub drivers: BTreeMap<DriverId, Driver>,
}

/// The events of one task command: the task's, and the vehicles' it loads or unloads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskDecision {
    pub task_events: Vec<TaskEvent>,
    pub vehicle_events: Vec<(VehicleId, VehicleEvent)>,
}

impl TaskDecision {
    fn task(events: Vec<TaskEvent>) -> Self {
        TaskDecision { task_events: events, vehicle_events: Vec::new() }
    }

    fn nothing() -> Self {
        TaskDecision::default()
    }

    pub fn is_empty(&self) -> bool {
        self.task_events.is_empty() && self.vehicle_events.is_empty()
    }
}

pub fn decide_task(
    task_id: TaskId,
    state: Option<&Task>,
    command: &TaskCommand,
    fleet: &Fleet,
    context: &Context<'_>,
) -> Result<TaskDecision, Rejection> {
    let now = context.now;
    let task = match (state, command) {
        (None, TaskCommand::Plan { task_id, plan, source_event_id }) => {
            return Ok(planned(*task_id, plan, source_event_id));
        }
        (Some(task), TaskCommand::Plan { task_id, plan, source_event_id }) => {
            return match (plan.kind, task.status) {
                (TaskKind::Reverse, _) => {
                    Err(Rejection::AlreadyExists { what: "task", id: task_id.to_string() })
                }
                (TaskKind::Forward, Cancelled) => Ok(planned(*task_id, plan, source_event_id)),
                (TaskKind::Forward, _) => Ok(TaskDecision::nothing()),
            };
        }
        (None, _) => return Err(Rejection::TaskNotFound(task_id)),
        (Some(task), _) => task,
    };
    let decision = match command {
        // Handled above; repeated so the match stays exhaustive without a wildcard.
        TaskCommand::Plan { .. } => Ok(TaskDecision::nothing()),
        TaskCommand::Replan { update, source_event_id } => replan(task, update, source_event_id),
        TaskCommand::Cancel { reason, source_event_id } => cancel(task, reason, source_event_id),
        TaskCommand::Assign { vehicle_id, driver_id } => assign(task, *vehicle_id, *driver_id, fleet, now),
        TaskCommand::Unassign { reason } => {
            require(task, "unassign", &[Assigned, Packed])?;
            let mut decision = TaskDecision::nothing();
            if let Some(vehicle_id) = task.vehicle_id {
                decision.task_events.push(TaskEvent::Unassigned { vehicle_id, reason: reason.clone() });
                decision.vehicle_events.push(unloaded(vehicle_id, task.id, UnloadReason::Unassigned));
            }
            Ok(decision)
        }
        TaskCommand::MarkPacked => {
            require(task, "pack", &[Assigned])?;
            Ok(TaskDecision::task(vec![TaskEvent::Packed]))
        }
        TaskCommand::RecordPickup => {
            require(task, "pick up", &[Packed])?;
            context.recorded("picked_up_at", &latest(task))?;
            Ok(TaskDecision::task(vec![TaskEvent::PickedUp {
                vehicle_id: task.vehicle_id,
                driver_id: task.driver_id,
            }]))
        }
        TaskCommand::RecordCheckpoint { place, note } => {
            require(task, "record a checkpoint of", &[PickedUp, InTransit])?;
            context.recorded("checkpoint.at", &latest(task))?;
            Ok(TaskDecision::task(vec![TaskEvent::CheckpointPassed {
                place: place.clone(),
                note: note.clone(),
            }]))
        }
        TaskCommand::RecordArrival { hub } => {
            require(task, "record the arrival of", &[PickedUp, InTransit])?;
            context.recorded("arrived_at", &latest(task))?;
            let mut decision = TaskDecision::task(vec![TaskEvent::ArrivedAtHub { hub: hub.clone() }]);
            if let Some(vehicle_id) = task.vehicle_id {
                decision.vehicle_events.push(unloaded(vehicle_id, task.id, UnloadReason::Arrived));
            }
            Ok(decision)
        }
        TaskCommand::ReportException { exception_id, kind, severity, description } => {
            require(task, "report an exception on", &[Planned, Assigned, Packed, PickedUp, InTransit])?;
            if task.exception(exception_id).is_some() {
                return Err(Rejection::AlreadyExists {
                    what: "transport exception",
                    id: exception_id.clone(),
                });
            }
            Ok(TaskDecision::task(vec![TaskEvent::ExceptionReported {
                exception_id: exception_id.clone(),
                kind: *kind,
                severity: *severity,
                description: description.clone(),
            }]))
        }
        TaskCommand::HandleException { exception_id, handling, delay_minutes, reassign_to } => {
            handle_exception(task, exception_id, handling, *delay_minutes, *reassign_to, fleet, now)
        }
        TaskCommand::ResolveException { exception_id, resolution } => {
            let exception = task
                .exception(exception_id)
                .ok_or_else(|| Rejection::ExceptionNotFound(exception_id.clone()))?;
            if exception.resolved_at.is_some() {
                return Err(Rejection::InvalidState {
                    action: "resolve",
                    what: "transport exception",
                    status: "resolved",
                });
            }
            context.recorded("resolved_at", &[("the exception's report", exception.reported_at)])?;
            let resolution_seconds =
                u64::try_from(now.signed_duration_since(exception.reported_at).num_seconds())
                    .unwrap_or_default();
            Ok(TaskDecision::task(vec![TaskEvent::ExceptionResolved {
                exception_id: exception_id.clone(),
                resolution: resolution.clone(),
                resolution_seconds,
            }]))
        }
    }?;
    debug_assert_applies(task, &decision, now);
    Ok(decision)
}

/// The task's latest fact (its pickup, its last checkpoint, ...): what a pickup, a
/// checkpoint or an arrival follows.
fn latest(task: &Task) -> [waybill_command::Earlier; 1] {
    [("the task's latest event", task.updated_at)]
}

fn planned(task_id: TaskId, plan: &Plan, source_event_id: &str) -> TaskDecision {
    TaskDecision::task(vec![TaskEvent::Planned {
        task_id,
        plan: plan.clone(),
        source_event_id: source_event_id.to_owned(),
    }])
}

fn unloaded(vehicle_id: VehicleId, task_id: TaskId, reason: UnloadReason) -> (VehicleId, VehicleEvent) {
    (vehicle_id, VehicleEvent::Unloaded { task_id, reason })
}

/// `InvalidState` naming the task's status unless it is one of `allowed`.
fn require(task: &Task, action: &'static str, allowed: &[TaskStatus]) -> Result<(), Rejection> {
    waybill_command::require_status(task.status, allowed, |status| Rejection::InvalidState {
        action,
        what: "task",
        status: status.as_str(),
    })
}

fn replan(task: &Task, update: &ReplanUpdate, source_event_id: &str) -> Result<TaskDecision, Rejection> {
    let current = ReplanUpdate {
        mode: task.plan.mode,
        service_level: task.plan.service_level,
        load: task.plan.load,
        destination: task.plan.destination.clone(),
        hazardous: task.plan.hazardous,
    };
    if !task.status.is_before_pickup() || *update == current {
        return Ok(TaskDecision::nothing());
    }
    let mut decision = TaskDecision::task(vec![TaskEvent::Replanned {
        update: update.clone(),
        source_event_id: source_event_id.to_owned(),
    }]);
    if let (true, Some(vehicle_id)) = (update.leaves_vehicle(&task.plan), task.vehicle_id) {
        decision.vehicle_events.push(unloaded(vehicle_id, task.id, UnloadReason::Replanned));
    }
    Ok(decision)
}

fn cancel(task: &Task, reason: &str, source_event_id: &str) -> Result<TaskDecision, Rejection> {
    if task.status == Cancelled {
        return Ok(TaskDecision::nothing());
    }
    require(task, "cancel", &[Planned, Assigned, Packed])?;
    let mut decision = TaskDecision::task(vec![TaskEvent::Cancelled {
        reason: reason.to_owned(),
        source_event_id: source_event_id.to_owned(),
    }]);
    if let Some(vehicle_id) = task.vehicle_id {
        decision.vehicle_events.push(unloaded(vehicle_id, task.id, UnloadReason::Cancelled));
    }
    Ok(decision)
}

/// A vehicle a person chose for `task`: it must exist, be active, suit the mode, have room
/// and be roadworthy at `now`.
fn chosen_vehicle<'a>(
    task: &Task,
    vehicle_id: VehicleId,
    fleet: &'a Fleet,
    now: Timestamp,
) -> Result<&'a Vehicle, Rejection> {
    let vehicle = fleet.vehicles.get(&vehicle_id).ok_or(Rejection::VehicleNotFound(vehicle_id))?;
    if vehicle.retired {
        return Err(Rejection::VehicleRetired(vehicle_id));
    }
    if !suits(vehicle.kind, task.plan.mode) {
        return Err(Rejection::UnsuitableVehicle {
            vehicle_id,
            kind: vehicle.kind.as_str(),
            mode: task.plan.mode.as_str(),
        });
    }
    if let Some(shortfall) = shortfall(vehicle, task.plan.load) {
        return Err(Rejection::NoRoom { vehicle_id, shortfall });
    }
    roadworthy(vehicle, now)?;
    Ok(vehicle)
}

/// The driver who would drive the task: the one named (who must exist and be available),
/// else the task's own, if the fleet has them; checked for the cargo (licence valid,
/// training for hazardous goods).
fn driver_for<'a>(
    task: &Task,
    named: Option<DriverId>,
    fleet: &'a Fleet,
    now: Timestamp,
) -> Result<Option<&'a Driver>, Rejection> {
    let driver = match named {
        Some(driver_id) => {
            let driver = fleet.drivers.get(&driver_id).ok_or(Rejection::DriverNotFound(driver_id))?;
            if driver.retired || !driver.available {
                return Err(Rejection::DriverUnavailable(driver_id));
            }
            Some(driver)
        }
        None => task.driver_id.and_then(|driver_id| fleet.drivers.get(&driver_id)),
    };
    if let Some(driver) = driver {
        may_carry(driver, task.plan.hazardous, now)?;
    }
    Ok(driver)
}

fn assign(
    task: &Task,
    vehicle_id: Option<VehicleId>,
    driver_id: Option<DriverId>,
    fleet: &Fleet,
    now: Timestamp,
) -> Result<TaskDecision, Rejection> {
    require(task, "assign", &[Planned, Assigned, Packed])?;
    let new_driver = driver_id.is_some() && driver_id != task.driver_id;
    if vehicle_id.is_none_or(|vehicle_id| task.vehicle_id == Some(vehicle_id))
        && task.vehicle_id.is_some()
        && !new_driver
    {
        // Already on this vehicle with this driver: nothing to check, nothing to write.
        return Ok(TaskDecision::nothing());
    }
    let driver = driver_for(task, driver_id, fleet, now)?;
    let (vehicle, automatic) = match vehicle_id {
        None => match task.vehicle_id.and_then(|current| fleet.vehicles.get(&current)) {
            // Only a new driver for the task's vehicle.
            Some(current) => (current, true),
            None => (choose_vehicle(task, fleet.vehicles.values(), now, driver)?, true),
        },
        Some(vehicle_id) if task.vehicle_id == Some(vehicle_id) => {
            let vehicle = fleet.vehicles.get(&vehicle_id).ok_or(Rejection::VehicleNotFound(vehicle_id))?;
            (vehicle, false)
        }
        Some(vehicle_id) => (chosen_vehicle(task, vehicle_id, fleet, now)?, false),
    };
    // The task's own vehicle with a new driver goes out again too: it must be fit to.
    roadworthy(vehicle, now)?;
    if let Some(driver) = driver {
        may_drive(driver, vehicle)?;
    }
    let mut decision =
        TaskDecision::task(vec![TaskEvent::Assigned { vehicle_id: vehicle.id, driver_id, automatic }]);
    if task.vehicle_id != Some(vehicle.id) {
        if let Some(previous) = task.vehicle_id {
            decision.vehicle_events.push(unloaded(previous, task.id, UnloadReason::Reassigned));
        }
        decision
            .vehicle_events
            .push((vehicle.id, VehicleEvent::Loaded { task_id: task.id, load: task.plan.load }));
    }
    Ok(decision)
}

fn handle_exception(
    task: &Task,
    exception_id: &str,
    handling: &str,
    delay_minutes: u32,
    reassign_to: Option<VehicleId>,
    fleet: &Fleet,
    now: Timestamp,
) -> Result<TaskDecision, Rejection> {
    require(task, "handle an exception on", &[Planned, Assigned, Packed, PickedUp, InTransit, Arrived])?;
    let exception =
        task.exception(exception_id).ok_or_else(|| Rejection::ExceptionNotFound(exception_id.to_owned()))?;
    if exception.resolved_at.is_some() {
        return Err(Rejection::InvalidState {
            action: "handle",
            what: "transport exception",
            status: "resolved",
        });
    }
    let mut decision = TaskDecision::task(vec![TaskEvent::ExceptionHandled {
        exception_id: exception_id.to_owned(),
        handling: handling.to_owned(),
        delay_minutes,
        reassigned_to: reassign_to,
    }]);
    if let Some(target) = reassign_to {
        // Only a load that is on a vehicle can move: not a waiting task, not an arrived one.
        require(task, "move to another vehicle", &[Assigned, Packed, PickedUp, InTransit])?;
        let Some(previous) = task.vehicle_id else {
            return Err(Rejection::InvalidState {
                action: "move to another vehicle",
                what: "task",
                status: task.status.as_str(),
            });
        };
        if previous == target {
            return Err(Rejection::invalid("reassign_to_vehicle_id", "the task is already on this vehicle"));
        }
        let vehicle = chosen_vehicle(task, target, fleet, now)?;
        if let Some(driver) = driver_for(task, None, fleet, now)? {
            may_drive(driver, vehicle)?;
        }
        decision.task_events.push(TaskEvent::Assigned {
            vehicle_id: vehicle.id,
            driver_id: None,
            automatic: false,
        });
        decision.vehicle_events.push(unloaded(previous, task.id, UnloadReason::Reassigned));
        decision
            .vehicle_events
            .push((vehicle.id, VehicleEvent::Loaded { task_id: task.id, load: task.plan.load }));
    }
    Ok(decision)
}

/// Debug builds check that the decided task events apply and that a vehicle is loaded
/// exactly when the task ends up on it.
fn debug_assert_applies(task: &Task, decision: &TaskDecision, now: Timestamp) {
    if !cfg!(debug_assertions) {
        return;
    }
    let after = decision
        .task_events
        .iter()
        .try_fold(task.clone(), |state, event| evolve_task(Some(state), event, now));
    debug_assert!(after.is_some(), "decided events do not apply to task {}", task.id);
    if let Some(after) = after {
        for (vehicle_id, event) in &decision.vehicle_events {
            if let VehicleEvent::Loaded { .. } = event {
                debug_assert_eq!(after.vehicle_id, Some(*vehicle_id), "loaded a vehicle the task is not on");
            }
        }
    }
}
