//! Why a command was refused. Each variant is something a caller can act on; `error.rs`
//! maps them to gRPC statuses in one place.

use waybill_types::{FieldViolation, Timestamp};

use super::OrderStatus;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Any command but `Place` on an order that was never placed.
    #[error("order not found")]
    NotFound,
    /// `Place` on an order that exists.
    #[error("order already exists")]
    AlreadyPlaced,
    /// The command does not apply to an order in this status.
    #[error("cannot {action} an order that is {status}")]
    InvalidState { action: &'static str, status: OrderStatus },
    /// Restore asked for too long after the cancellation.
    #[error(
        "cannot restore an order cancelled at {cancelled_at}: the restore window of {} has passed",
        describe_duration(window)
    )]
    RestoreWindowPassed { cancelled_at: Timestamp, window: chrono::Duration },
    /// The order would break its service level's limits (weight, volume, piece weight, zone).
    #[error("the order exceeds its service level's limits: {}", violations.join("; "))]
    LimitsExceeded { violations: Vec<String> },
    /// Business-rule problems with the command's data, by field path.
    #[error("invalid command: {}", FieldViolation::describe_all(violations))]
    Invalid { violations: Vec<FieldViolation> },
}

waybill_command::rejection_parts!(Rejection);

/// `24 h`, `90 min`, `45 s`: the largest unit that divides the window.
fn describe_duration(window: &chrono::Duration) -> String {
    let seconds = window.num_seconds();
    if seconds != 0 && seconds % 3_600 == 0 {
        format!("{} h", seconds / 3_600)
    } else if seconds != 0 && seconds % 60 == 0 {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}
