//! The fleet: vehicles (what they can carry, what they carry now) and drivers.
//!
//! A vehicle's load changes only with its tasks (`Loaded`/`Unloaded`, decided by the task
//! commands in `decide_task`); its own commands are registration, retirement and upkeep
//! (inspections and maintenance with their next due dates, and the reminders before them,
//! rules in `upkeep`), and a vehicle that still carries tasks cannot retire. A driver's are
//! registration, availability, retirement, licence and training.

use std::collections::BTreeMap;

use waybill_types::Timestamp;

use super::upkeep::{
    DueDate, LICENCE_HORIZON_YEARS, TRAINING_HORIZON_YEARS, Training, UPKEEP_HORIZON_YEARS, Upkeep,
    check_due_date, normalise_licence_class,
};
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
    /// When the next inspection and maintenance are due (`None`: none recorded yet).
    pub inspection: Option<DueDate>,
    pub maintenance: Option<DueDate>,
}

impl Vehicle {
    /// What its open tasks carry together.
    pub fn load(&self) -> Load {
        self.tasks.values().fold(Load::ZERO, |sum, load| sum.plus(*load))
    }

    pub fn due(&self, upkeep: Upkeep) -> Option<DueDate> {
        match upkeep {
            Upkeep::Inspection => self.inspection,
            Upkeep::Maintenance => self.maintenance,
        }
    }

    /// The upkeeps with a due date recorded.
    pub fn upkeeps(&self) -> impl Iterator<Item = (Upkeep, DueDate)> + '_ {
        [Upkeep::Inspection, Upkeep::Maintenance]
            .into_iter()
            .filter_map(|upkeep| self.due(upkeep).map(|due| (upkeep, due)))
    }

    fn due_mut(&mut self, upkeep: Upkeep) -> &mut Option<DueDate> {
        match upkeep {
            Upkeep::Inspection => &mut self.inspection,
            Upkeep::Maintenance => &mut self.maintenance,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VehicleCommand {
    Register {
        vehicle_id: VehicleId,
        kind: VehicleKind,
        registration: String,
        capacity: Load,
        depot: String,
    },
    Retire {
        vehicle_id: VehicleId,
        reason: String,
    },
    /// An inspection or maintenance was done; the next is due at `next_due`.
    RecordUpkeep {
        vehicle_id: VehicleId,
        upkeep: Upkeep,
        next_due: Timestamp,
        note: String,
    },
    /// The upkeep clock's reminder for the due date `due` (a no-op once sent, or if the due
    /// date has changed since).
    RemindUpkeep {
        vehicle_id: VehicleId,
        upkeep: Upkeep,
        due: Timestamp,
    },
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
    UpkeepRecorded {
        upkeep: Upkeep,
        next_due: Timestamp,
        note: String,
    },
    UpkeepDueSoon {
        upkeep: Upkeep,
        due: Timestamp,
    },
}

impl VehicleEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            VehicleEvent::Registered { .. } => "waybill.dispatch.vehicle_registered.v1",
            VehicleEvent::Retired { .. } => "waybill.dispatch.vehicle_retired.v1",
            VehicleEvent::Loaded { .. } => "waybill.dispatch.vehicle_loaded.v1",
            VehicleEvent::Unloaded { .. } => "waybill.dispatch.vehicle_unloaded.v1",
            VehicleEvent::UpkeepRecorded { .. } => "waybill.dispatch.vehicle_upkeep_recorded.v1",
            VehicleEvent::UpkeepDueSoon { .. } => "waybill.dispatch.vehicle_upkeep_due_soon.v1",
        }
    }
}

pub fn decide_vehicle(
    state: Option<&Vehicle>,
    command: &VehicleCommand,
    context: &Context<'_>,
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
        (Some(vehicle), VehicleCommand::RecordUpkeep { upkeep, next_due, note, .. }) => {
            if vehicle.retired {
                return Err(Rejection::InvalidState {
                    action: "record upkeep of",
                    what: "vehicle",
                    status: "retired",
                });
            }
            check_due_date("next_due", *next_due, context.now, UPKEEP_HORIZON_YEARS)?;
            Ok(vec![VehicleEvent::UpkeepRecorded {
                upkeep: *upkeep,
                next_due: *next_due,
                note: note.clone(),
            }])
        }
        (Some(vehicle), VehicleCommand::RemindUpkeep { upkeep, due, .. }) => {
            let current = vehicle.due(*upkeep);
            if vehicle.retired || current != Some(DueDate::new(*due)) {
                // Sent already, rescheduled since, or no longer in service: nothing to say.
                return Ok(vec![]);
            }
            Ok(vec![VehicleEvent::UpkeepDueSoon { upkeep: *upkeep, due: *due }])
        }
        (
            None,
            VehicleCommand::Retire { vehicle_id, .. }
            | VehicleCommand::RecordUpkeep { vehicle_id, .. }
            | VehicleCommand::RemindUpkeep { vehicle_id, .. },
        ) => Err(Rejection::VehicleNotFound(*vehicle_id)),
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
                inspection: None,
                maintenance: None,
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
        VehicleEvent::UpkeepRecorded { upkeep, next_due, .. } => {
            // The same due date again keeps its reminder; a new one gets its own.
            let due = vehicle.due_mut(*upkeep);
            if due.is_none_or(|due| due.due != *next_due) {
                *due = Some(DueDate::new(*next_due));
            }
        }
        VehicleEvent::UpkeepDueSoon { upkeep, due } => {
            if let Some(current) = vehicle.due_mut(*upkeep).as_mut().filter(|current| current.due == *due) {
                current.reminded = true;
            }
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
    /// When the licence expires (`None`: not recorded yet), and whether its reminder went out.
    pub licence_expires_at: Option<Timestamp>,
    pub licence_reminded: bool,
    /// Each training held, valid until.
    pub trainings: BTreeMap<Training, Timestamp>,
}

impl Driver {
    /// Holds `training`, valid at `now`.
    pub fn trained(&self, training: Training, now: Timestamp) -> bool {
        self.trainings.get(&training).is_some_and(|valid_until| *valid_until > now)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverCommand {
    Register {
        driver_id: DriverId,
        name: String,
        licence_class: String,
        depot: String,
    },
    SetAvailability {
        driver_id: DriverId,
        available: bool,
    },
    Retire {
        driver_id: DriverId,
        reason: String,
    },
    /// The licence as it is now: its class and when it expires.
    RecordLicence {
        driver_id: DriverId,
        licence_class: String,
        expires_at: Timestamp,
    },
    RecordTraining {
        driver_id: DriverId,
        training: Training,
        valid_until: Timestamp,
    },
    /// The upkeep clock's reminder for the expiry date `expires_at` (a no-op once sent, or
    /// if the licence was renewed since).
    RemindLicenceExpiry {
        driver_id: DriverId,
        expires_at: Timestamp,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverEvent {
    Registered { driver_id: DriverId, name: String, licence_class: String, depot: String },
    AvailabilityChanged { available: bool },
    Retired { reason: String },
    LicenceRecorded { licence_class: String, expires_at: Timestamp },
    TrainingRecorded { training: Training, valid_until: Timestamp },
    LicenceExpiresSoon { expires_at: Timestamp },
}

impl DriverEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            DriverEvent::Registered { .. } => "waybill.dispatch.driver_registered.v1",
            DriverEvent::AvailabilityChanged { .. } => "waybill.dispatch.driver_availability_changed.v1",
            DriverEvent::Retired { .. } => "waybill.dispatch.driver_retired.v1",
            DriverEvent::LicenceRecorded { .. } => "waybill.dispatch.driver_licence_recorded.v1",
            DriverEvent::TrainingRecorded { .. } => "waybill.dispatch.driver_training_recorded.v1",
            DriverEvent::LicenceExpiresSoon { .. } => "waybill.dispatch.driver_licence_expires_soon.v1",
        }
    }
}

pub fn decide_driver(
    state: Option<&Driver>,
    command: &DriverCommand,
    context: &Context<'_>,
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
        (Some(driver), DriverCommand::RemindLicenceExpiry { expires_at, .. }) => {
            if driver.retired || driver.licence_reminded || driver.licence_expires_at != Some(*expires_at) {
                // Sent already, renewed since, or no longer driving: nothing to say.
                return Ok(vec![]);
            }
            Ok(vec![DriverEvent::LicenceExpiresSoon { expires_at: *expires_at }])
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
        (Some(_), DriverCommand::RecordLicence { licence_class, expires_at, .. }) => {
            let licence_class = normalise_licence_class(licence_class);
            if licence_class.is_empty() {
                return Err(Rejection::invalid("licence_class", "is required, e.g. B, C or CE"));
            }
            check_due_date("expires_at", *expires_at, context.now, LICENCE_HORIZON_YEARS)?;
            Ok(vec![DriverEvent::LicenceRecorded { licence_class, expires_at: *expires_at }])
        }
        (Some(_), DriverCommand::RecordTraining { training, valid_until, .. }) => {
            check_due_date("valid_until", *valid_until, context.now, TRAINING_HORIZON_YEARS)?;
            Ok(vec![DriverEvent::TrainingRecorded { training: *training, valid_until: *valid_until }])
        }
        (
            None,
            DriverCommand::SetAvailability { driver_id, .. }
            | DriverCommand::Retire { driver_id, .. }
            | DriverCommand::RecordLicence { driver_id, .. }
            | DriverCommand::RecordTraining { driver_id, .. }
            | DriverCommand::RemindLicenceExpiry { driver_id, .. },
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
                licence_expires_at: None,
                licence_reminded: false,
                trainings: BTreeMap::new(),
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
        DriverEvent::LicenceRecorded { licence_class, expires_at } => {
            driver.licence_class = licence_class.clone();
            if driver.licence_expires_at != Some(*expires_at) {
                driver.licence_reminded = false;
            }
            driver.licence_expires_at = Some(*expires_at);
        }
        DriverEvent::TrainingRecorded { training, valid_until } => {
            driver.trainings.insert(*training, *valid_until);
        }
        DriverEvent::LicenceExpiresSoon { expires_at } => {
            if driver.licence_expires_at == Some(*expires_at) {
                driver.licence_reminded = true;
            }
        }
    }
    Some(driver)
}
