//! Orders as CRM sees them, from intake's and delivery's events on the wire.
//!
//! Intake: placed (customer, time, quote total, chargeable weight), amended and redirected
//! (a new quote), cancelled, restored. Delivery: completed (the proof's time, on time,
//! first attempt), exceptions (damage, loss, handover dispute), returned to sender. A
//! delivery fact about an order CRM has not seen placed cannot happen in a consistent log
//! (delivery follows the order); it is skipped with a warning rather than invented.

use waybill_eventlog::{ProjectionError, RecordedEvent};
use waybill_proto::convert;
use waybill_proto::v1::{self, delivery_event, event_envelope::Payload, intake_event};
use waybill_types::{CustomerId, OrderId};

use super::{CrmModel, envelope_of};
use crate::analytics::OrderFacts;
use crate::codec::money_from_wire;

pub(super) fn apply_intake(model: &mut CrmModel, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let envelope = envelope_of(event)?;
    let Some(Payload::Intake(v1::IntakeEvent { event: Some(intake) })) = envelope.payload else {
        return Ok(());
    };
    let order_id = parse_order_id(event, &envelope.order_id)?;
    let occurred_at = convert::timestamp_from_wire(envelope.occurred_at.as_ref());
    match intake {
        intake_event::Event::OrderPlaced(placed) => {
            let bad = |what: &str| {
                ProjectionError(format!("position {}: order placed with a bad {what}", event.position))
            };
            let customer_id = CustomerId::parse(&placed.customer_id).map_err(|_| bad("customer id"))?;
            let quote = placed.quote.as_ref().ok_or_else(|| bad("quote"))?;
            let charged = money_from_wire(quote.total.as_ref()).ok_or_else(|| bad("quote total"))?;
            let facts = OrderFacts::placed(
                order_id,
                customer_id.clone(),
                occurred_at,
                charged,
                quote.chargeable_weight_grams,
            );
            model.orders.insert(order_id, facts);
            model.orders_by_customer.entry(customer_id).or_default().insert(order_id);
        }
        intake_event::Event::OrderAmended(v1::OrderAmended { quote: Some(quote), .. })
        | intake_event::Event::ConsigneeAddressChanged(v1::ConsigneeAddressChanged {
            quote: Some(quote),
            ..
        }) => {
            if let Some(order) = model.orders.get_mut(&order_id) {
                if let Some(charged) = money_from_wire(quote.total.as_ref()) {
                    order.charged = charged;
                }
                order.chargeable_weight_grams = quote.chargeable_weight_grams;
            }
        }
        intake_event::Event::OrderCancelled(_) => {
            if let Some(order) = model.orders.get_mut(&order_id) {
                order.cancelled = true;
            }
        }
        intake_event::Event::OrderRestored(_) => {
            if let Some(order) = model.orders.get_mut(&order_id) {
                order.cancelled = false;
            }
        }
        _ => {}
    }
    Ok(())
}

pub(super) fn apply_delivery(model: &mut CrmModel, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let envelope = envelope_of(event)?;
    let Some(Payload::Delivery(v1::DeliveryEvent { event: Some(delivery) })) = envelope.payload else {
        return Ok(());
    };
    let relevant = matches!(
        delivery,
        delivery_event::Event::DeliveryCompleted(_)
            | delivery_event::Event::DeliveryExceptionRaised(_)
            | delivery_event::Event::DeliveryReturnedToSender(_)
    );
    if !relevant {
        return Ok(());
    }
    let order_id = parse_order_id(event, &envelope.order_id)?;
    let Some(order) = model.orders.get_mut(&order_id) else {
        tracing::warn!(%order_id, position = event.position, "delivery fact about an order never placed; skipped");
        return Ok(());
    };
    let occurred_at = convert::timestamp_from_wire(envelope.occurred_at.as_ref());
    match delivery {
        delivery_event::Event::DeliveryCompleted(completed) => {
            let delivered_at = completed
                .proof
                .as_ref()
                .and_then(|proof| proof.delivered_at.as_ref())
                .map(|at| convert::timestamp_from_wire(Some(at)))
                .unwrap_or(occurred_at);
            order.delivered_at = Some(delivered_at);
            order.on_time = completed.on_time;
            order.first_attempt = completed.first_attempt;
        }
        delivery_event::Event::DeliveryExceptionRaised(raised) => {
            match v1::DeliveryExceptionKind::try_from(raised.kind) {
                Ok(v1::DeliveryExceptionKind::DamagedPartial | v1::DeliveryExceptionKind::DamagedTotal) => {
                    order.damaged = true
                }
                Ok(v1::DeliveryExceptionKind::Lost) => order.lost = true,
                Ok(v1::DeliveryExceptionKind::HandoverDispute) => order.handover_dispute = true,
                // A delay is judged by `on_time` at the handover.
                _ => {}
            }
        }
        delivery_event::Event::DeliveryReturnedToSender(_) => order.returned_to_sender = true,
        _ => {}
    }
    Ok(())
}

pub(super) fn parse_order_id(event: &RecordedEvent, text: &str) -> Result<OrderId, ProjectionError> {
    OrderId::parse(text).map_err(|error| {
        ProjectionError(format!("position {} ({}): bad order id: {error}", event.position, event.subject))
    })
}
