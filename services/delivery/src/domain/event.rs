//! What happened to a courier or a delivery, as the deciders emit them and `evolve`
//! applies them. The wire form lives in `codec.rs`.

use waybill_types::{Address, Contact, OrderId, Party, ServiceLevel, Timestamp};

use crate::route::RouteId;

use super::{CourierId, ExceptionKind, FailureReason, Milestone, ProofOfDelivery, TimeWindow};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CourierEvent {
    /// Carries its id so `evolve` can build the courier from it alone (on the wire the id
    /// travels in the envelope).
    Registered {
        courier_id: CourierId,
        name: String,
        zones: Vec<String>,
    },
    ZonesChanged {
        zones: Vec<String>,
    },
    Retired {
        reason: String,
    },
}

impl CourierEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            CourierEvent::Registered { .. } => "waybill.delivery.courier_registered.v1",
            CourierEvent::ZonesChanged { .. } => "waybill.delivery.courier_zones_changed.v1",
            CourierEvent::Retired { .. } => "waybill.delivery.courier_retired.v1",
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryEvent {
    Scheduled {
        order_id: OrderId,
        service_level: ServiceLevel,
        consignee: Party,
        zone: String,
        hub: String,
        window: TimeWindow,
        source_event_id: String,
    },
    AddressUpdated {
        address: Address,
        zone: String,
        source_event_id: String,
    },
    CourierAssigned {
        courier_id: CourierId,
        automatic: bool,
    },
    Started {
        courier_id: CourierId,
    },
    AttemptFailed {
        attempt: u32,
        reason: FailureReason,
        note: String,
        /// The next try; `None` when this attempt was the last allowed.
        rescheduled_window: Option<TimeWindow>,
    },
    ReturnedToSender {
        attempts: u32,
    },
    Completed {
        proof: ProofOfDelivery,
        on_time: bool,
        first_attempt: bool,
    },
    ExceptionRaised {
        kind: ExceptionKind,
        description: String,
        missed_window: Option<TimeWindow>,
    },
    /// For integrators (an SMS or e-mail gateway); always next to its milestone.
    NotificationRequested {
        milestone: Milestone,
        recipient: Contact,
        message: String,
    },
    /// Its place on a courier's run (`eta` `None`: taken off the run, `unplanned_reason`
    /// says why); written with the route's `Planned`.
    EtaPlanned {
        route: RouteId,
        sequence: u32,
        eta: Option<Timestamp>,
        unplanned_reason: String,
    },
}

impl DeliveryEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            DeliveryEvent::Scheduled { .. } => "waybill.delivery.delivery_scheduled.v1",
            DeliveryEvent::AddressUpdated { .. } => "waybill.delivery.delivery_address_updated.v1",
            DeliveryEvent::CourierAssigned { .. } => "waybill.delivery.courier_assigned.v1",
            DeliveryEvent::Started { .. } => "waybill.delivery.delivery_started.v1",
            DeliveryEvent::AttemptFailed { .. } => "waybill.delivery.delivery_attempt_failed.v1",
            DeliveryEvent::ReturnedToSender { .. } => "waybill.delivery.delivery_returned_to_sender.v1",
            DeliveryEvent::Completed { .. } => "waybill.delivery.delivery_completed.v1",
            DeliveryEvent::ExceptionRaised { .. } => "waybill.delivery.delivery_exception_raised.v1",
            DeliveryEvent::NotificationRequested { .. } => {
                "waybill.delivery.customer_notification_requested.v1"
            }
            DeliveryEvent::EtaPlanned { .. } => "waybill.delivery.delivery_eta_planned.v1",
        }
    }
}
