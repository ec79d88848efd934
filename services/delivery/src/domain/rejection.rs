//! Why a command was refused. Each variant is something a caller can act on; `error.rs`
//! maps them to gRPC statuses in one place.

use waybill_types::{FieldViolation, OrderId, Timestamp};

use super::{CourierId, DeliveryStatus};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("delivery not found (it is scheduled when the goods arrive at the destination hub)")]
    DeliveryNotFound,
    #[error("courier not found")]
    CourierNotFound,
    #[error("courier already registered")]
    CourierAlreadyRegistered,
    #[error("courier {courier_id} is retired")]
    CourierRetired { courier_id: CourierId },
    #[error("courier has {open} open deliveries; reassign them before retiring it")]
    CourierHasOpenDeliveries { open: usize },
    #[error("no active courier serves zone {zone:?}")]
    NoCourierForZone { zone: String },
    /// The command does not apply to a delivery in this status.
    #[error("cannot {action} a delivery that is {status}")]
    InvalidState { action: &'static str, status: DeliveryStatus },
    #[error("cannot start a delivery without a courier; assign one first")]
    NoCourierAssigned,
    #[error("the courier has no open delivery for that day to plan")]
    NoStops,
    #[error("deliveries without coordinates cannot be planned: {}", deliveries.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    StopsWithoutCoordinates { deliveries: Vec<OrderId> },
    #[error("the courier's run for that day was not planned yet")]
    RouteNotPlanned,
    #[error("the shift ended at {shift_end}; nothing is left to plan")]
    ShiftOver { shift_end: Timestamp },
    #[error("{0}")]
    PlannerFailed(String),
    /// Business-rule problems with the command's data, by field path.
    #[error("invalid command: {}", FieldViolation::describe_all(violations))]
    Invalid { violations: Vec<FieldViolation> },
    /// A fact's time out of order with what is stored, or in the future.
    #[error(transparent)]
    Time(#[from] waybill_command::TimeRejection),
}

waybill_command::rejection_parts!(Rejection, time);
