//! Every way an intake call can fail, mapped to a gRPC status in one place.

use tonic::Status;
use waybill_eventlog::WaitError;
use waybill_proto::status::invalid_argument;

use crate::commands::CommandError;
use crate::domain::Rejection;

impl From<CommandError> for Status {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Rejected(rejection) => rejection_status(rejection),
            CommandError::Aborted { .. } => Status::aborted(error.to_string()),
            CommandError::NotCaughtUp(wait) => wait_status(wait),
            CommandError::Log(message) => Status::unavailable(format!("event log unavailable: {message}")),
        }
    }
}

fn rejection_status(rejection: Rejection) -> Status {
    match rejection {
        Rejection::NotFound => Status::not_found(rejection.to_string()),
        Rejection::AlreadyPlaced => Status::already_exists(rejection.to_string()),
        Rejection::Invalid { violations } => invalid_argument(violations),
        Rejection::InvalidState { .. }
        | Rejection::RestoreWindowPassed { .. }
        | Rejection::LimitsExceeded { .. } => Status::failed_precondition(rejection.to_string()),
    }
}

/// A query or command that waited for the read model too long: the client may retry.
pub fn wait_status(error: WaitError) -> Status {
    match error {
        WaitError::Timeout { .. } => Status::deadline_exceeded(format!(
            "the read model has not reached the requested position yet: {error}"
        )),
        other => Status::unavailable(format!("the read model is not available: {other}")),
    }
}
