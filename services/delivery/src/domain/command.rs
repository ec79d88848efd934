//! What can be asked of a courier or a delivery. Commands carry checked values (the gRPC
//! edge or the reaction checked their shape); the deciders check the business rules.

use waybill_types::{Address, OrderId, Party, ServiceLevel, Timestamp};

use super::{CourierId, ExceptionKind, FailureReason, ProofOfDelivery, TimeWindow};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CourierCommand {
    Register {
        courier_id: CourierId,
        name: String,
        zones: Vec<String>,
    },
    ChangeZones {
        zones: Vec<String>,
    },
    /// `open_deliveries`: how many deliveries the courier has on its books (from the read
    /// model); retiring is refused while there are any.
    Retire {
        reason: String,
        open_deliveries: usize,
    },
}

// `Schedule` is large, but a command lives for one decision.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryCommand {
    /// From the `delivery-arrivals` reaction: the goods arrived at the destination hub.
    Schedule {
        order_id: OrderId,
        service_level: ServiceLevel,
        consignee: Party,
        hub: String,
        arrived_at: Timestamp,
        /// The dispatch event it follows from.
        source_event_id: String,
    },
    /// From the `delivery-orders` reaction: intake redirected the order.
    UpdateAddress {
        address: Address,
        source_event_id: String,
    },
    /// The courier was chosen outside (the read model knows every courier).
    Assign {
        courier_id: CourierId,
        automatic: bool,
    },
    /// Out (again). `redirect`: the consignee's address as intake has it now and the event
    /// that set it (from the read model), so a redirect the `delivery-orders` reaction has not
    /// applied yet still reaches this departure.
    Start {
        redirect: Option<(Address, String)>,
    },
    RecordFailedAttempt {
        reason: FailureReason,
        note: String,
        /// The window agreed with the consignee for the next try, if any (start before end,
        /// checked at the edge); otherwise the policy reschedules.
        next_window: Option<TimeWindow>,
    },
    Confirm {
        proof: ProofOfDelivery,
    },
    ReportException {
        kind: ExceptionKind,
        description: String,
    },
    /// From the SLA clock: the window ending at `window_end` passed.
    RaiseDelay {
        window_end: Timestamp,
    },
}
