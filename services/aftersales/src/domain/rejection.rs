//! Why a command was refused. Each variant is something a caller can act on; `error.rs`
//! maps them to gRPC statuses in one place.

use waybill_types::{FieldViolation, Money, OrderId, Timestamp};

use super::CaseKind;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{kind} not found")]
    CaseNotFound { kind: CaseKind },
    #[error("order {0} not found")]
    OrderNotFound(OrderId),
    #[error("the {kind} exists already (a different request created it)")]
    CaseExists { kind: CaseKind },
    /// The command does not apply to a case in this status.
    #[error("cannot {action} a {kind} that is {status}")]
    InvalidState { action: &'static str, kind: CaseKind, status: &'static str },
    #[error("order {0} is not delivered: only delivered goods can be returned")]
    NotDelivered(OrderId),
    #[error(
        "the return window closed at {closed_at} ({} after delivery)",
        waybill_types::duration::display(*window)
    )]
    ReturnWindowClosed { closed_at: Timestamp, window: chrono::Duration },
    #[error("refund of {requested} exceeds what is left of the charge: {remaining} (charged {charged})")]
    RefundExceedsCharge { requested: Money, remaining: Money, charged: Money },
    #[error("the order's charge is not known; no refund can be checked against it")]
    ChargeUnknown,
    #[error("{requested} exceeds the order's declared value {declared}")]
    AboveDeclaredValue { requested: Money, declared: Money },
    #[error(
        "payment of {requested} exceeds what is left of the declared value: {remaining} (declared {declared})"
    )]
    PaymentsExceedDeclaredValue { requested: Money, remaining: Money, declared: Money },
    #[error(
        "approval of {requested} exceeds what is left of the declared value: {remaining} (declared {declared}; \
         paid and approved claims of the order hold the rest)"
    )]
    ApprovalExceedsDeclaredValue { requested: Money, remaining: Money, declared: Money },
    #[error("the order's declared value is not known")]
    DeclaredValueUnknown,
    #[error("amount is in {got}, the order is in {expected}")]
    CurrencyMismatch { expected: String, got: String },
    #[error("no survey was requested for this {kind} (it is requested when the case closes)")]
    SurveyNotRequested { kind: CaseKind },
    #[error("the survey of this {kind} was answered already")]
    SurveyAlreadyAnswered { kind: CaseKind },
    /// Business-rule problems with the command's data, by field path.
    #[error("invalid command: {}", FieldViolation::describe_all(violations))]
    Invalid { violations: Vec<FieldViolation> },
    /// A fact's time out of order with what is stored.
    #[error(transparent)]
    Time(#[from] waybill_command::TimeRejection),
}

waybill_command::rejection_parts!(Rejection, time);
