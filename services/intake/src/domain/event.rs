//! What happened to an order: intake's events, as the decider emits them and `evolve`
//! applies them. The wire form lives in `codec.rs`; the type names in docs/EVENTS.md.

use waybill_types::{Address, CargoLine, OrderId, ServiceLevel};

use super::{FailedAttempt, OrderDetails, OrderStatus, Quote};

// `Placed` is large, but events are built once and moved, never stored by the million;
// boxing it would burden every constructor and pattern (codec, read model) for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The order exists, priced. It carries its id so that `evolve` can build the order
    /// from this event alone (on the wire the id travels in the envelope).
    Placed {
        order_id: OrderId,
        details: OrderDetails,
        quote: Quote,
    },
    Accepted {
        automatic: bool,
    },
    Rejected {
        automatic: bool,
        reason: String,
    },
    SentToReview {
        reasons: Vec<String>,
    },
    /// The cargo and service level after the amendment, and the new quote.
    Amended {
        cargo: Vec<CargoLine>,
        service_level: ServiceLevel,
        quote: Quote,
    },
    ConsigneeAddressChanged {
        address: Address,
        quote: Quote,
    },
    Cancelled {
        reason: String,
    },
    Restored {
        restored_status: OrderStatus,
    },
    PickedUp {
        source_event_id: String,
    },
    OutForDelivery {
        source_event_id: String,
    },
    /// Delivery's attempt failed; the courier tries again in `attempt.next_window`.
    AttemptFailed {
        source_event_id: String,
        attempt: FailedAttempt,
    },
    /// Delivery's last allowed attempt failed: the goods go back to the shipper.
    ReturnedToSender {
        source_event_id: String,
        attempts: u32,
    },
    Delivered {
        source_event_id: String,
    },
}

impl Event {
    /// The event's type on the log (`ce-type`), one per variant; see docs/EVENTS.md.
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::Placed { .. } => "waybill.intake.order_placed.v1",
            Event::Accepted { .. } => "waybill.intake.order_accepted.v1",
            Event::Rejected { .. } => "waybill.intake.order_rejected.v1",
            Event::SentToReview { .. } => "waybill.intake.order_sent_to_review.v1",
            Event::Amended { .. } => "waybill.intake.order_amended.v1",
            Event::ConsigneeAddressChanged { .. } => "waybill.intake.consignee_address_changed.v1",
            Event::Cancelled { .. } => "waybill.intake.order_cancelled.v1",
            Event::Restored { .. } => "waybill.intake.order_restored.v1",
            Event::PickedUp { .. } => "waybill.intake.order_picked_up.v1",
            Event::OutForDelivery { .. } => "waybill.intake.order_out_for_delivery.v1",
            Event::AttemptFailed { .. } => "waybill.intake.order_delivery_attempt_failed.v1",
            Event::ReturnedToSender { .. } => "waybill.intake.order_returned_to_sender.v1",
            Event::Delivered { .. } => "waybill.intake.order_delivered.v1",
        }
    }
}
