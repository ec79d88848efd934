//! CRM's rejections as gRPC statuses, in one place (the command loop's own failures are
//! mapped by `waybill_command`).

pub use waybill_command::wait_status;

use tonic::Status;

use crate::domain::Rejection;

impl From<Rejection> for Status {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::NotFound => Status::not_found(rejection.to_string()),
            Rejection::AlreadyRegistered => Status::already_exists(rejection.to_string()),
            Rejection::InvalidState { .. } => Status::failed_precondition(rejection.to_string()),
        }
    }
}
