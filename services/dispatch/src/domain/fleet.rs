//! The fleet: vehicles (what they can carry, what they carry now) and drivers.
//!
//! A vehicle's load changes only with its tasks (`Loaded`/`Unloaded`, decided by the task
//! commands in `decide_task`); its own commands are registration and retirement, and a
//! vehicle that still carries tasks cannot retire.

use std::collections::BTreeMap;

use super::{Context, DriverId, Load, Rejection, TaskId, VehicleId, VehicleKind};

/// Why a task's load left a vehicle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnloadReason {
    Arrived,
    Cancelled,
    Unassigned,
    Reassigned,
    Replanned,
}

impl UnloadReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnloadReason::Arrived => "arrived",
            UnloadReason::Cancelled => "cancelled",
            UnloadReason::Unassigned => "unassigned",
            UnloadReason::Reassigned => "reassigned",
            UnloadReason::Replanned => "replanned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Arrived, Self::Cancelled, Self::Unassigned, Self::Reassigned, Self::Replanned]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vehicle {
    pub id: VehicleId,
    pub kind: VehicleKind,
    pub registration: String,
    pub capacity: Load,
    pub depot: String,
    pub retired: bool,
    /// The tasks it carries (assigned, not yet arrived) and their loads.
    pub tasks: BTreeMap<TaskId, Load>,
}

impl Vehicle {
    /// What its open tasks carry together.
    pub fn load(&self) -> Load {
        self.tasks.values().fold(Load::ZERO, |sum, load| sum.plus(*load))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VehicleCommand {
    Register { vehicle_id: VehicleId, kind: VehicleKind, registration: String, capacity: Load, depot: String },
    Retire { vehicle_id: VehicleId, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VehicleEvent {
    /// Carries the id so that `evolve` can build the vehicle from it alone.
    Registered {
        vehicle_id: VehicleId,
        kind: VehicleKind,
        registration: String,
        capacity: Load,
        depot: String,
    },
    Retired {
        reason: String,
    },
    Loaded {
        task_id: TaskId,
        load: Load,
    },
    Unloaded {
        task_id: TaskId,
        reason: UnloadReason,
    },
}

impl VehicleEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            VehicleEvent::Registered { .. } => "waybill.dispatch.vehicle_registered.v1",
            VehicleEvent::Retired { .. } => "waybill.dispatch.vehicle_retired.v1",
            VehicleEvent::Loaded { .. } => "waybill.dispatch.vehicle_loaded.v1",
            VehicleEvent::Unloaded { .. } => "waybill.dispatch.vehicle_unloaded.v1",
        }
    }
}

pub fn decide_vehicle(
    state: Option<&Vehicle>,
    command: &VehicleCommand,
    _context: &Context<'_>,
) -> Result<Vec<VehicleEvent>, Rejection> {
    match (state, command) {
        (None, VehicleCommand::Register { vehicle_id, kind, registration, capacity, depot }) => {
            if capacity.weight_grams == 0 || capacity.volume_cm3 == 0 {
                return Err(Rejection::invalid("capacity", "a vehicle carries some weight and some volume"));
            }
            Ok(vec![VehicleEvent::Registered {
                vehicle_id: *vehicle_id,
                kind: *kind,
                registration: registration.clone(),
                capacity: *capacity,
                depot: depot.clone(),
            }])
        }
        (Some(vehicle), VehicleCommand::Register { .. }) => {
            Err(Rejection::AlreadyExists { what: "vehicle", id: vehicle.id.to_string() })
        }
        (Some(vehicle), VehicleCommand::Retire { reason, .. }) => {
            if vehicle.retired {
                return Err(Rejection::InvalidState { action: "retire", what: "vehicle", status: "retired" });
            }
            if !vehicle.tasks.is_empty() {
                return Err(Rejection::CarriesLoad { vehicle_id: vehicle.id, tasks: vehicle.tasks.len() });
            }
            Ok(vec![VehicleEvent::Retired { reason: reason.clone() }])
        }
        (None, VehicleCommand::Retire { vehicle_id, .. }) => Err(Rejection::VehicleNotFound(*vehicle_id)),
    }
}

/// Never panics; an event that needs a vehicle but finds none leaves `None` (a poison event
/// for the read model).
pub fn evolve_vehicle(state: Option<Vehicle>, event: &VehicleEvent) -> Option<Vehicle> {
    let Some(mut vehicle) = state else {
        return match event {
            VehicleEvent::Registered { vehicle_id, kind, registration, capacity, depot } => Some(Vehicle {
                id: *vehicle_id,
                kind: *kind,
                registration: registration.clone(),
                capacity: *capacity,
                depot: depot.clone(),
                retired: false,
                tasks: BTreeMap::new(),
            }),
            _ => None,
        };
    };
    match event {
        VehicleEvent::Registered { .. } => {}
        VehicleEvent::Retired { .. } => vehicle.retired = true,
        VehicleEvent::Loaded { task_id, load } => {
            vehicle.tasks.insert(*task_id, *load);
        }
        VehicleEvent::Unloaded { task_id, .. } => {
            vehicle.tasks.remove(task_id);
        }
    }
    Some(vehicle)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Driver {
    pub id: DriverId,
    pub name: String,
    /// E.g. "B", "C", "CE".
    pub licence_class: String,
    pub depot: String,
    pub available: bool,
    pub retired: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverCommand {
    Register { driver_id: DriverId, name: String, licence_class: String, depot: String },
    SetAvailability { driver_id: DriverId, available: bool },
    Retire { driver_id: DriverId, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverEvent {
    Registered { driver_id: DriverId, name: String, licence_class: String, depot: String },
    AvailabilityChanged { available: bool },
    Retired { reason: String },
}

impl DriverEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            DriverEvent::Registered { .. } => "waybill.dispatch.driver_registered.v1",
            DriverEvent::AvailabilityChanged { .. } => "waybill.dispatch.driver_availability_changed.v1",
            DriverEvent::Retired { .. } => "waybill.dispatch.driver_retired.v1",
        }
    }
}

pub fn decide_driver(
    state: Option<&Driver>,
    command: &DriverCommand,
    _context: &Context<'_>,
) -> Result<Vec<DriverEvent>, Rejection> {
    match (state, command) {
        (None, DriverCommand::Register { driver_id, name, licence_class, depot }) => {
            Ok(vec![DriverEvent::Registered {
                driver_id: *driver_id,
                name: name.clone(),
                licence_class: licence_class.clone(),
                depot: depot.clone(),
            }])
        }
        (Some(driver), DriverCommand::Register { .. }) => {
            Err(Rejection::AlreadyExists { what: "driver", id: driver.id.to_string() })
        }
        (Some(driver), _) if driver.retired => {
            Err(Rejection::InvalidState { action: "change", what: "driver", status: "retired" })
        }
        (Some(driver), DriverCommand::SetAvailability { available, .. }) => {
            // The same availability again is no news.
            if driver.available == *available {
                Ok(vec![])
            } else {
                Ok(vec![DriverEvent::AvailabilityChanged { available: *available }])
            }
        }
        (Some(_), DriverCommand::Retire { reason, .. }) => {
            Ok(vec![DriverEvent::Retired { reason: reason.clone() }])
        }
        (
            None,
            DriverCommand::SetAvailability { driver_id, .. } | DriverCommand::Retire { driver_id, .. },
        ) => Err(Rejection::DriverNotFound(*driver_id)),
    }
}

pub fn evolve_driver(state: Option<Driver>, event: &DriverEvent) -> Option<Driver> {
    let Some(mut driver) = state else {
        return match event {
            DriverEvent::Registered { driver_id, name, licence_class, depot } => Some(Driver {
                id: *driver_id,
                name: name.clone(),
                licence_class: licence_class.clone(),
                depot: depot.clone(),
                available: true,
                retired: false,
            }),
            _ => None,
        };
    };
    match event {
        DriverEvent::Registered { .. } => {}
        DriverEvent::AvailabilityChanged { available } => driver.available = *available,
        DriverEvent::Retired { .. } => {
            driver.retired = true;
            driver.available = false;
        }
    }
    Some(driver)
}
