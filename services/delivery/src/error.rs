//! Delivery's rejections as gRPC statuses, in one place (the command loop's own failures
//! are mapped by `waybill_command`).

pub use waybill_command::wait_status;

use tonic::Status;
use waybill_proto::status::invalid_argument;

use crate::domain::Rejection;

impl From<Rejection> for Status {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::DeliveryNotFound | Rejection::CourierNotFound => {
                Status::not_found(rejection.to_string())
            }
            Rejection::CourierAlreadyRegistered => Status::already_exists(rejection.to_string()),
            Rejection::Invalid { violations } => invalid_argument(violations),
            Rejection::Time(time) => time.into(),
            Rejection::CourierRetired { .. }
            | Rejection::CourierHasOpenDeliveries { .. }
            | Rejection::NoCourierForZone { .. }
            | Rejection::InvalidState { .. }
            | Rejection::NoCourierAssigned
            | Rejection::NoStops
            | Rejection::StopsWithoutCoordinates { .. }
            | Rejection::RouteNotPlanned
            | Rejection::ShiftOver { .. } => Status::failed_precondition(rejection.to_string()),
            // The solver's own failure, not the caller's mistake.
            Rejection::PlannerFailed(message) => Status::internal(message),
        }
    }
}
