//! Dispatch's rejections as gRPC statuses, in one place (the command loop's own failures
//! are mapped by `waybill_command`).

pub use waybill_command::wait_status;

use tonic::Status;
use waybill_proto::status::invalid_argument;

use crate::domain::Rejection;

impl From<Rejection> for Status {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::TaskNotFound(_)
            | Rejection::VehicleNotFound(_)
            | Rejection::DriverNotFound(_)
            | Rejection::ExceptionNotFound(_)
            | Rejection::HubNotFound(_)
            | Rejection::NoTaskForOrder(_)
            | Rejection::ZoneNotFound { .. } => Status::not_found(rejection.to_string()),
            Rejection::AlreadyExists { .. } => Status::already_exists(rejection.to_string()),
            Rejection::Invalid { violations } => invalid_argument(violations),
            Rejection::Time(time) => time.into(),
            Rejection::InvalidState { .. }
            | Rejection::VehicleRetired(_)
            | Rejection::DriverUnavailable(_)
            | Rejection::NoRoom { .. }
            | Rejection::UnsuitableVehicle { .. }
            | Rejection::NoVehicleWithRoom { .. }
            | Rejection::CarriesLoad { .. }
            | Rejection::UpkeepOverdue { .. }
            | Rejection::LicenceExpired { .. }
            | Rejection::LicenceDoesNotCover { .. }
            | Rejection::NotTrained { .. }
            | Rejection::NoEligibleVehicle { .. }
            | Rejection::NotInStock { .. }
            | Rejection::AlreadyInStock { .. }
            | Rejection::AlreadyPutAway { .. }
            | Rejection::HazardousCargo { .. }
            | Rejection::WrongZone { .. }
            | Rejection::ZoneFull { .. }
            | Rejection::NoZoneWithRoom { .. } => Status::failed_precondition(rejection.to_string()),
        }
    }
}
