//! What can be asked of an order. Commands carry checked values (the gRPC edge checked the
//! structure); the decider checks the business rules.

use waybill_types::{Address, CargoLine, OrderId, ServiceLevel};

use super::{CustomerStanding, FailedAttempt, OrderDetails};

/// A human reviewer's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReviewDecision {
    Accept,
    Reject { reason: String },
}

// `Place` is large, but a command lives for one decision; boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Place {
        order_id: OrderId,
        details: OrderDetails,
    },
    /// From intake's own auto-review reaction; a no-op (Ok(vec![])) unless the order is still Placed.
    ReviewAutomatically {
        standing: CustomerStanding,
    },
    /// A human's decision; only for orders InReview (and Placed, i.e. not yet auto-reviewed, is also allowed).
    Review {
        decision: ReviewDecision,
    },
    Amend {
        cargo: Option<Vec<CargoLine>>,
        service_level: Option<ServiceLevel>,
    },
    ChangeConsigneeAddress {
        address: Address,
    },
    Cancel {
        reason: String,
    },
    Restore,
    /// Facts reported by dispatch/delivery (the `intake-fulfilment` reaction). Idempotent:
    /// recording a fact the order already reflects yields no events.
    RecordPickup {
        source_event_id: String,
    },
    RecordOutForDelivery {
        source_event_id: String,
    },
    RecordAttemptFailed {
        source_event_id: String,
        attempt: FailedAttempt,
    },
    RecordReturnedToSender {
        source_event_id: String,
        attempts: u32,
    },
    RecordDelivery {
        source_event_id: String,
    },
}
