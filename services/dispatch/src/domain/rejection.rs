//! Why a command was refused. Each variant is something a caller can act on; `error.rs`
//! maps them to gRPC statuses in one place.

use waybill_types::{FieldViolation, Timestamp};

use super::upkeep::{Training, Upkeep};
use waybill_types::OrderId;

use super::{DriverId, HubId, Load, TaskId, TransportMode, VehicleId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("task {0} not found")]
    TaskNotFound(TaskId),
    #[error("vehicle {0} not found")]
    VehicleNotFound(VehicleId),
    #[error("driver {0} not found")]
    DriverNotFound(DriverId),
    #[error("hub {0} not found")]
    HubNotFound(HubId),
    /// Hub stock is kept for orders with a (forward) transport task.
    #[error("order {0} has no transport task at dispatch")]
    NoTaskForOrder(OrderId),
    #[error("hub {hub} has no zone {zone:?}")]
    ZoneNotFound { zone: String, hub: String },
    #[error("order {order_id} is not in stock at hub {hub}")]
    NotInStock { order_id: OrderId, hub: String },
    #[error("order {order_id} is already in stock at hub {hub}")]
    AlreadyInStock { order_id: OrderId, hub: String },
    #[error("order {order_id} is already put away in zone {zone}")]
    AlreadyPutAway { order_id: OrderId, zone: String },
    #[error("order {order_id}'s cargo is hazardous: receive it as hazardous goods")]
    HazardousCargo { order_id: OrderId },
    #[error("zone {zone} stores {stores} goods; order {order_id}'s are {category}")]
    WrongZone { zone: String, stores: &'static str, order_id: OrderId, category: &'static str },
    #[error("zone {zone} is full: {capacity} of {capacity} places taken")]
    ZoneFull { zone: String, capacity: u32 },
    #[error("no {category} zone of hub {hub} has room")]
    NoZoneWithRoom { hub: String, category: &'static str },
    #[error("transport exception {0} not found on this task")]
    ExceptionNotFound(String),
    /// A registration (or a reverse shipment) for an id that exists already.
    #[error("{what} {id} already exists")]
    AlreadyExists { what: &'static str, id: String },
    /// The command does not apply in this status, e.g. "cannot pack a task that is planned".
    #[error("cannot {action} a {what} that is {status}")]
    InvalidState { action: &'static str, what: &'static str, status: &'static str },
    #[error("vehicle {0} is retired")]
    VehicleRetired(VehicleId),
    #[error("driver {0} is retired or not available")]
    DriverUnavailable(DriverId),
    /// A dispatcher's choice that cannot carry the task.
    #[error("vehicle {vehicle_id} has no room for the task: short by {shortfall}")]
    NoRoom { vehicle_id: VehicleId, shortfall: String },
    #[error("vehicle {vehicle_id} is a {kind}, which does not carry {mode} tasks")]
    UnsuitableVehicle { vehicle_id: VehicleId, kind: &'static str, mode: &'static str },
    #[error("no vehicle with room for {load} suits {}", mode.as_str())]
    NoVehicleWithRoom { load: Load, mode: TransportMode },
    /// A vehicle past its inspection or maintenance is not sent out.
    #[error("vehicle {vehicle_id} is not roadworthy: its {} was due {}", upkeep.as_str(), due.to_rfc3339())]
    UpkeepOverdue { vehicle_id: VehicleId, upkeep: Upkeep, due: Timestamp },
    #[error("driver {driver_id}'s licence expired {}", expired.to_rfc3339())]
    LicenceExpired { driver_id: DriverId, expired: Timestamp },
    #[error("driver {driver_id}'s licence class {class:?} does not cover vehicle {vehicle_id} (a {kind})")]
    LicenceDoesNotCover { driver_id: DriverId, class: String, vehicle_id: VehicleId, kind: &'static str },
    /// The cargo needs training the driver does not hold (or no longer: it expired).
    #[error("driver {driver_id} has no valid {} training, which the cargo needs", training.as_str())]
    NotTrained { driver_id: DriverId, training: Training },
    /// An automatic assignment found vehicles with room, but none it may send: `held_back`
    /// says why, per vehicle (the first few).
    #[error("no vehicle may take the task: {}", held_back.join("; "))]
    NoEligibleVehicle { held_back: Vec<String> },
    /// Retiring a vehicle that still carries tasks.
    #[error("vehicle {vehicle_id} still carries {tasks} open task(s); unassign or deliver them first")]
    CarriesLoad { vehicle_id: VehicleId, tasks: usize },
    /// Business-rule problems with the command's data, by field path.
    #[error("invalid command: {}", FieldViolation::describe_all(violations))]
    Invalid { violations: Vec<FieldViolation> },
    /// A fact's time out of order with what is stored.
    #[error(transparent)]
    Time(#[from] waybill_command::TimeRejection),
}

impl Rejection {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Rejection::Invalid { violations: vec![FieldViolation::new(field, description)] }
    }
}

impl waybill_command::time::TimeRejected for Rejection {
    fn time_rejection(&self) -> Option<&waybill_command::TimeRejection> {
        match self {
            Rejection::Time(time) => Some(time),
            _ => None,
        }
    }
}
