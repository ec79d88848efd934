//! Why a command was refused. Each variant is something a caller can act on; `error.rs`
//! maps them to gRPC statuses in one place.

use waybill_types::FieldViolation;

use super::{DriverId, Load, TaskId, TransportMode, VehicleId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("task {0} not found")]
    TaskNotFound(TaskId),
    #[error("vehicle {0} not found")]
    VehicleNotFound(VehicleId),
    #[error("driver {0} not found")]
    DriverNotFound(DriverId),
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
