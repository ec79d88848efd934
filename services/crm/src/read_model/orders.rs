//! Orders as CRM sees them, from intake's and delivery's events on the wire.
//!
//! Intake: placed (customer, time, quote total, chargeable weight), amended and redirected
//! (a new quote), cancelled, restored. Delivery: completed (the proof's time, on time,
//! first attempt), exceptions (damage, loss, handover dispute), returned to sender, the
//! order's place on its courier's latest planned run. Dispatch: hubs' cycle counts. A
//! delivery fact about an order CRM has not seen placed cannot happen in a consistent log
//! (delivery follows the order); it is skipped with a warning rather than invented.

use waybill_eventlog::{ProjectionError, RecordedEvent};
use waybill_proto::facts::delivery::{self, DeliveryFact};
use waybill_proto::facts::dispatch::{self, HubFact};
use waybill_proto::facts::intake::{self, OrderFact};
use waybill_proto::v1;
use waybill_types::{CustomerId, OrderId};

use super::{CrmModel, not_an_envelope};
use crate::analytics::{OrderFacts, PlannedStopFacts, ZoneCountFacts};

pub(super) fn apply_intake(model: &mut CrmModel, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let Some(fact) = intake::read(&event.payload).map_err(|error| not_an_envelope(event, error))? else {
        return Ok(());
    };
    let order_id = parse_order_id(event, &fact.order_id)?;
    match fact.event {
        OrderFact::Placed(placed) => {
            let bad = |what: &str| {
                ProjectionError(format!("position {}: order placed with a bad {what}", event.position))
            };
            let customer_id = CustomerId::parse(&placed.customer_id).map_err(|_| bad("customer id"))?;
            let quote = placed.quote.ok_or_else(|| bad("quote"))?;
            let charged = quote.total.ok_or_else(|| bad("quote total"))?;
            let facts = OrderFacts::placed(
                order_id,
                customer_id.clone(),
                fact.header.occurred_at,
                charged,
                quote.chargeable_weight_grams,
            );
            model.orders.insert(order_id, facts);
            model.orders_by_customer.entry(customer_id).or_default().insert(order_id);
        }
        OrderFact::Amended { quote: Some(quote), .. }
        | OrderFact::ConsigneeAddressChanged { quote: Some(quote), .. } => {
            if let Some(order) = model.orders.get_mut(&order_id) {
                if let Some(charged) = quote.total {
                    order.charged = charged;
                }
                order.chargeable_weight_grams = quote.chargeable_weight_grams;
            }
        }
        other => {
            if let (Some(cancelled), Some(order)) = (other.cancelled_after(), model.orders.get_mut(&order_id))
            {
                order.cancelled = cancelled;
            }
        }
    }
    Ok(())
}

pub(super) fn apply_delivery(model: &mut CrmModel, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let Some(fact) = delivery::read(&event.payload).map_err(|error| not_an_envelope(event, error))? else {
        return Ok(());
    };
    let relevant = matches!(
        fact.event,
        DeliveryFact::Completed { .. }
            | DeliveryFact::ExceptionRaised { .. }
            | DeliveryFact::ReturnedToSender { .. }
            | DeliveryFact::EtaPlanned { .. }
    );
    if !relevant {
        return Ok(());
    }
    let order_id = parse_order_id(event, &fact.order_id)?;
    let Some(order) = model.orders.get_mut(&order_id) else {
        tracing::warn!(%order_id, position = event.position, "delivery fact about an order never placed; skipped");
        return Ok(());
    };
    match fact.event {
        DeliveryFact::Completed { delivered_at, on_time, first_attempt } => {
            order.delivered_at = Some(delivered_at);
            order.on_time = on_time;
            order.first_attempt = first_attempt;
        }
        DeliveryFact::ExceptionRaised { kind, .. } => match kind {
            v1::DeliveryExceptionKind::DamagedPartial | v1::DeliveryExceptionKind::DamagedTotal => {
                order.damaged = true
            }
            v1::DeliveryExceptionKind::Lost => order.lost = true,
            v1::DeliveryExceptionKind::HandoverDispute => order.handover_dispute = true,
            // A delay is judged by `on_time` at the handover.
            _ => {}
        },
        DeliveryFact::ReturnedToSender { .. } => order.returned_to_sender = true,
        DeliveryFact::EtaPlanned { courier_id, date, sequence, eta } => {
            order.planned_stop = eta.map(|eta| PlannedStopFacts { run: (courier_id, date), sequence, eta });
        }
        _ => {}
    }
    Ok(())
}

/// A hub's cycle count of one zone (stock accuracy).
pub(super) fn apply_hub(model: &mut CrmModel, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let Some(fact) = dispatch::read_hub(&event.payload).map_err(|error| not_an_envelope(event, error))?
    else {
        return Ok(());
    };
    let counted_at = fact.occurred_at;
    match fact.event {
        HubFact::ZoneCounted { expected, counted, discrepancies, .. } => {
            model.zone_counts.push(ZoneCountFacts { counted_at, expected, counted, discrepancies })
        }
    }
    Ok(())
}

pub(super) fn parse_order_id(event: &RecordedEvent, text: &str) -> Result<OrderId, ProjectionError> {
    OrderId::parse(text).map_err(|error| {
        ProjectionError(format!("position {} ({}): bad order id: {error}", event.position, event.subject))
    })
}
