//! After-sales' rejections as gRPC statuses, in one place (the command loop's own failures
//! are mapped by `waybill_command`).

pub use waybill_command::wait_status;

use tonic::Status;
use waybill_proto::status::invalid_argument;

use crate::domain::Rejection;

impl From<Rejection> for Status {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::CaseNotFound { .. } | Rejection::OrderNotFound(_) => {
                Status::not_found(rejection.to_string())
            }
            Rejection::CaseExists { .. } => Status::already_exists(rejection.to_string()),
            Rejection::Invalid { violations } => invalid_argument(violations),
            Rejection::Time(time) => time.into(),
            Rejection::CurrencyMismatch { .. } => Status::invalid_argument(rejection.to_string()),
            Rejection::InvalidState { .. }
            | Rejection::NotDelivered(_)
            | Rejection::ReturnWindowClosed { .. }
            | Rejection::RefundExceedsCharge { .. }
            | Rejection::ChargeUnknown
            | Rejection::AboveDeclaredValue { .. }
            | Rejection::PaymentsExceedDeclaredValue { .. }
            | Rejection::ApprovalExceedsDeclaredValue { .. }
            | Rejection::DeclaredValueUnknown
            | Rejection::SurveyNotRequested { .. }
            | Rejection::SurveyAlreadyAnswered { .. } => Status::failed_precondition(rejection.to_string()),
        }
    }
}
