//! The event codec: intake's domain events to and from the wire envelope on the log.
//!
//! This and `api.rs` are the only places where intake touches prost types. Decoding reads
//! what intake itself wrote (and checked) earlier; a stored event that no longer decodes is
//! a poison event, reported as `CodecError` so the projection stops loudly.

use waybill_eventlog::NewEvent;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::envelope::{self, Belongs, Envelope, EventMeta};
use waybill_proto::v1::{self, intake_event};
use waybill_types::{CustomerId, OrderId};

use crate::domain::{
    AttemptFailure, DeliveryWindow, Event, FailedAttempt, OrderDetails, OrderStatus, Quote, QuoteLine, Zone,
};

/// Payload schema version of intake's events; bump only on an incompatible change of meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Why stored bytes are not one of intake's events (shared by every codec).
pub use waybill_proto::envelope::DecodeError as CodecError;

/// An event as read back from the log.
#[derive(Clone, Debug)]
pub struct DecodedEvent {
    pub order_id: OrderId,
    pub meta: EventMeta,
    pub event_type: String,
    pub event: Event,
}

pub fn encode(order_id: OrderId, event: &Event, meta: &EventMeta) -> NewEvent {
    let id = order_id.to_string();
    let belongs = Belongs { aggregate_id: &id, order_id: &id };
    envelope::encode(meta, belongs, event.event_type(), SCHEMA_VERSION, event_to_wire(event))
}

pub fn decode(payload: &[u8]) -> Result<DecodedEvent, CodecError> {
    let Envelope { header, event: wire } = envelope::decode_owned::<intake_event::Event>(payload)?;
    let order_id = header.order_id()?;
    let meta = header.meta()?;
    let event = event_from_wire(wire, order_id)?;
    Ok(DecodedEvent { order_id, meta, event_type: header.event_type, event })
}

fn event_to_wire(event: &Event) -> intake_event::Event {
    use intake_event::Event as Wire;
    match event {
        Event::Placed { details, quote, .. } => Wire::OrderPlaced(v1::OrderPlaced {
            customer_id: details.customer_id.to_string(),
            shipper: Some((&details.shipper).into()),
            consignee: Some((&details.consignee).into()),
            cargo: details.cargo.iter().map(Into::into).collect(),
            service_level: v1::ServiceLevel::from(details.service_level).into(),
            quote: Some(quote_to_wire(quote)),
        }),
        Event::Accepted { automatic } => Wire::OrderAccepted(v1::OrderAccepted { automatic: *automatic }),
        Event::Rejected { automatic, reason } => {
            Wire::OrderRejected(v1::OrderRejected { automatic: *automatic, reason: reason.clone() })
        }
        Event::SentToReview { reasons } => {
            Wire::OrderSentToReview(v1::OrderSentToReview { reasons: reasons.clone() })
        }
        Event::Amended { cargo, service_level, quote } => Wire::OrderAmended(v1::OrderAmended {
            cargo: cargo.iter().map(Into::into).collect(),
            service_level: v1::ServiceLevel::from(*service_level).into(),
            quote: Some(quote_to_wire(quote)),
        }),
        Event::ConsigneeAddressChanged { address, quote } => {
            Wire::ConsigneeAddressChanged(v1::ConsigneeAddressChanged {
                address: Some(address.into()),
                quote: Some(quote_to_wire(quote)),
            })
        }
        Event::Cancelled { reason } => Wire::OrderCancelled(v1::OrderCancelled { reason: reason.clone() }),
        Event::Restored { restored_status } => Wire::OrderRestored(v1::OrderRestored {
            restored_status: status_to_wire(*restored_status).into(),
        }),
        Event::PickedUp { source_event_id } => {
            Wire::OrderPickedUp(v1::OrderPickedUp { source_event_id: source_event_id.clone() })
        }
        Event::OutForDelivery { source_event_id } => {
            Wire::OrderOutForDelivery(v1::OrderOutForDelivery { source_event_id: source_event_id.clone() })
        }
        Event::AttemptFailed { source_event_id, attempt } => {
            Wire::OrderDeliveryAttemptFailed(v1::OrderDeliveryAttemptFailed {
                source_event_id: source_event_id.clone(),
                attempt: Some(failed_attempt_to_wire(attempt)),
            })
        }
        Event::ReturnedToSender { source_event_id, attempts } => {
            Wire::OrderReturnedToSender(v1::OrderReturnedToSender {
                source_event_id: source_event_id.clone(),
                attempts: *attempts,
            })
        }
        Event::Delivered { source_event_id } => {
            Wire::OrderDelivered(v1::OrderDelivered { source_event_id: source_event_id.clone() })
        }
    }
}

pub fn failed_attempt_to_wire(attempt: &FailedAttempt) -> v1::FailedDeliveryAttempt {
    v1::FailedDeliveryAttempt {
        attempt: attempt.attempt,
        reason: failure_to_wire(attempt.reason).into(),
        next_window: attempt.next_window.map(|window| v1::TimeWindow {
            start: Some(convert::timestamp_to_wire(window.start)),
            end: Some(convert::timestamp_to_wire(window.end)),
        }),
    }
}

/// A failed attempt as delivery (or intake itself) wrote it; `None` if its reason is unknown.
pub fn failed_attempt_from_wire(attempt: &v1::FailedDeliveryAttempt) -> Option<FailedAttempt> {
    let reason = failure_from_wire(v1::FailureReason::try_from(attempt.reason).ok()?)?;
    Some(FailedAttempt {
        attempt: attempt.attempt,
        reason,
        next_window: window_from_wire(attempt.next_window.as_ref()),
    })
}

/// A window with both ends; `None` otherwise.
pub fn window_from_wire(window: Option<&v1::TimeWindow>) -> Option<DeliveryWindow> {
    let window = window?;
    Some(DeliveryWindow {
        start: convert::timestamp_from_wire(Some(window.start.as_ref()?)),
        end: convert::timestamp_from_wire(Some(window.end.as_ref()?)),
    })
}

pub fn failure_to_wire(reason: AttemptFailure) -> v1::FailureReason {
    match reason {
        AttemptFailure::RecipientAbsent => v1::FailureReason::RecipientAbsent,
        AttemptFailure::Refused => v1::FailureReason::Refused,
        AttemptFailure::AddressWrong => v1::FailureReason::AddressWrong,
    }
}

pub fn failure_from_wire(reason: v1::FailureReason) -> Option<AttemptFailure> {
    match reason {
        v1::FailureReason::Unspecified => None,
        v1::FailureReason::RecipientAbsent => Some(AttemptFailure::RecipientAbsent),
        v1::FailureReason::Refused => Some(AttemptFailure::Refused),
        v1::FailureReason::AddressWrong => Some(AttemptFailure::AddressWrong),
    }
}

fn event_from_wire(event: intake_event::Event, order_id: OrderId) -> Result<Event, CodecError> {
    use intake_event::Event as Wire;
    let mut violations = FieldViolations::for_stored();
    let event = match event {
        Wire::OrderPlaced(placed) => {
            let customer_id = CustomerId::parse(&placed.customer_id).ok();
            if customer_id.is_none() {
                violations.push("customer_id", "invalid");
            }
            let shipper = convert::party(&mut violations, "shipper", placed.shipper.as_ref());
            let consignee = convert::party(&mut violations, "consignee", placed.consignee.as_ref());
            let cargo = convert::cargo_lines(&mut violations, "cargo", &placed.cargo);
            let service_level =
                convert::service_level(&mut violations, "service_level", placed.service_level);
            let quote = quote_from_wire(&mut violations, placed.quote.as_ref());
            match (customer_id, shipper, consignee, service_level, quote) {
                (Some(customer_id), Some(shipper), Some(consignee), Some(service_level), Some(quote)) => {
                    Event::Placed {
                        order_id,
                        details: OrderDetails { customer_id, shipper, consignee, cargo, service_level },
                        quote,
                    }
                }
                _ => return Err(field_error(violations)),
            }
        }
        Wire::OrderAccepted(accepted) => Event::Accepted { automatic: accepted.automatic },
        Wire::OrderRejected(rejected) => {
            Event::Rejected { automatic: rejected.automatic, reason: rejected.reason }
        }
        Wire::OrderSentToReview(sent) => Event::SentToReview { reasons: sent.reasons },
        Wire::OrderAmended(amended) => {
            let cargo = convert::cargo_lines(&mut violations, "cargo", &amended.cargo);
            let service_level =
                convert::service_level(&mut violations, "service_level", amended.service_level);
            let quote = quote_from_wire(&mut violations, amended.quote.as_ref());
            match (service_level, quote) {
                (Some(service_level), Some(quote)) => Event::Amended { cargo, service_level, quote },
                _ => return Err(field_error(violations)),
            }
        }
        Wire::ConsigneeAddressChanged(changed) => {
            let address = convert::address(&mut violations, "address", changed.address.as_ref());
            let quote = quote_from_wire(&mut violations, changed.quote.as_ref());
            match (address, quote) {
                (Some(address), Some(quote)) => Event::ConsigneeAddressChanged { address, quote },
                _ => return Err(field_error(violations)),
            }
        }
        Wire::OrderCancelled(cancelled) => Event::Cancelled { reason: cancelled.reason },
        Wire::OrderRestored(restored) => {
            let status = v1::OrderStatus::try_from(restored.restored_status).ok().and_then(status_from_wire);
            Event::Restored {
                restored_status: status.ok_or_else(|| CodecError::BadField("restored_status".into()))?,
            }
        }
        Wire::OrderPickedUp(fact) => Event::PickedUp { source_event_id: fact.source_event_id },
        Wire::OrderOutForDelivery(fact) => Event::OutForDelivery { source_event_id: fact.source_event_id },
        Wire::OrderDeliveryAttemptFailed(fact) => Event::AttemptFailed {
            attempt: fact
                .attempt
                .as_ref()
                .and_then(failed_attempt_from_wire)
                .ok_or_else(|| CodecError::BadField("attempt".into()))?,
            source_event_id: fact.source_event_id,
        },
        Wire::OrderReturnedToSender(fact) => {
            Event::ReturnedToSender { source_event_id: fact.source_event_id, attempts: fact.attempts }
        }
        Wire::OrderDelivered(fact) => Event::Delivered { source_event_id: fact.source_event_id },
    };
    if violations.is_empty() { Ok(event) } else { Err(field_error(violations)) }
}

fn field_error(violations: FieldViolations) -> CodecError {
    let fields: Vec<String> = violations.into_vec().into_iter().map(|violation| violation.field).collect();
    CodecError::BadField(fields.join(", "))
}

pub fn quote_to_wire(quote: &Quote) -> v1::Quote {
    v1::Quote {
        chargeable_weight_grams: quote.chargeable_weight_grams,
        zone: zone_to_wire(quote.zone).into(),
        lines: quote
            .lines
            .iter()
            .map(|line| v1::QuoteLine { code: line.code.clone(), amount: Some((&line.amount).into()) })
            .collect(),
        total: Some((&quote.total).into()),
    }
}

fn quote_from_wire(violations: &mut FieldViolations, quote: Option<&v1::Quote>) -> Option<Quote> {
    let Some(quote) = quote else {
        violations.push("quote", "missing");
        return None;
    };
    let zone = match v1::Zone::try_from(quote.zone) {
        Ok(v1::Zone::Local) => Some(Zone::Local),
        Ok(v1::Zone::Regional) => Some(Zone::Regional),
        Ok(v1::Zone::National) => Some(Zone::National),
        Ok(v1::Zone::International) => Some(Zone::International),
        _ => {
            violations.push("quote.zone", "unknown");
            None
        }
    };
    let lines = quote
        .lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let amount =
                convert::money(violations, &format!("quote.lines[{index}].amount"), line.amount.as_ref())?;
            Some(QuoteLine { code: line.code.clone(), amount })
        })
        .collect();
    let total = convert::money(violations, "quote.total", quote.total.as_ref())?;
    Some(Quote { chargeable_weight_grams: quote.chargeable_weight_grams, zone: zone?, lines, total })
}

pub fn zone_to_wire(zone: Zone) -> v1::Zone {
    match zone {
        Zone::Local => v1::Zone::Local,
        Zone::Regional => v1::Zone::Regional,
        Zone::National => v1::Zone::National,
        Zone::International => v1::Zone::International,
    }
}

pub fn status_to_wire(status: OrderStatus) -> v1::OrderStatus {
    match status {
        OrderStatus::Placed => v1::OrderStatus::Placed,
        OrderStatus::InReview => v1::OrderStatus::InReview,
        OrderStatus::Accepted => v1::OrderStatus::Accepted,
        OrderStatus::Rejected => v1::OrderStatus::Rejected,
        OrderStatus::Cancelled => v1::OrderStatus::Cancelled,
        OrderStatus::PickedUp => v1::OrderStatus::PickedUp,
        OrderStatus::OutForDelivery => v1::OrderStatus::OutForDelivery,
        OrderStatus::AttemptFailed => v1::OrderStatus::AttemptFailed,
        OrderStatus::ReturnedToSender => v1::OrderStatus::ReturnedToSender,
        OrderStatus::Delivered => v1::OrderStatus::Delivered,
    }
}

pub fn status_from_wire(status: v1::OrderStatus) -> Option<OrderStatus> {
    match status {
        v1::OrderStatus::Unspecified => None,
        v1::OrderStatus::Placed => Some(OrderStatus::Placed),
        v1::OrderStatus::InReview => Some(OrderStatus::InReview),
        v1::OrderStatus::Accepted => Some(OrderStatus::Accepted),
        v1::OrderStatus::Rejected => Some(OrderStatus::Rejected),
        v1::OrderStatus::Cancelled => Some(OrderStatus::Cancelled),
        v1::OrderStatus::PickedUp => Some(OrderStatus::PickedUp),
        v1::OrderStatus::OutForDelivery => Some(OrderStatus::OutForDelivery),
        v1::OrderStatus::AttemptFailed => Some(OrderStatus::AttemptFailed),
        v1::OrderStatus::ReturnedToSender => Some(OrderStatus::ReturnedToSender),
        v1::OrderStatus::Delivered => Some(OrderStatus::Delivered),
    }
}
