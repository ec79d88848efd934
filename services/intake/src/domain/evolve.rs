//! What each event means for the order. `evolve` trusts the log: the decider already
//! checked every rule, so here an event is applied, not judged. It never panics; an event
//! that needs an order but finds none leaves `None` (the read model reports that as a
//! poison event), and a second `Placed` for an existing order is ignored.

use waybill_types::Timestamp;

use super::{Cancellation, Event, Order, OrderStatus};

/// Pure; the same function rebuilds state on replay and applies live events. `at` is the event's occurred-at.
pub fn evolve(state: Option<Order>, event: &Event, at: Timestamp) -> Option<Order> {
    let Some(mut order) = state else {
        return match event {
            Event::Placed { order_id, details, quote } => Some(Order {
                id: *order_id,
                details: details.clone(),
                quote: quote.clone(),
                status: OrderStatus::Placed,
                placed_at: at,
                updated_at: at,
                review_reasons: Vec::new(),
                rejection_reason: None,
                cancellation: None,
                last_failed_attempt: None,
            }),
            _ => None,
        };
    };
    match event {
        Event::Placed { .. } => return Some(order),
        Event::Accepted { .. } => order.status = OrderStatus::Accepted,
        Event::Rejected { reason, .. } => {
            order.status = OrderStatus::Rejected;
            order.rejection_reason = Some(reason.clone());
        }
        Event::SentToReview { reasons } => {
            order.status = OrderStatus::InReview;
            order.review_reasons = reasons.clone();
        }
        Event::Amended { cargo, service_level, quote } => {
            order.details.cargo = cargo.clone();
            order.details.service_level = *service_level;
            order.quote = quote.clone();
        }
        Event::ConsigneeAddressChanged { address, quote } => {
            order.details.consignee.address = address.clone();
            order.quote = quote.clone();
        }
        Event::Cancelled { reason } => {
            // A repeated cancellation must not overwrite the status a restore goes back to.
            if order.status != OrderStatus::Cancelled {
                order.cancellation = Some(Cancellation {
                    reason: reason.clone(),
                    cancelled_at: at,
                    previous_status: order.status,
                });
                order.status = OrderStatus::Cancelled;
            }
        }
        Event::Restored { restored_status } => {
            order.status = *restored_status;
            order.cancellation = None;
        }
        Event::PickedUp { .. } => order.status = OrderStatus::PickedUp,
        Event::OutForDelivery { .. } => order.status = OrderStatus::OutForDelivery,
        Event::AttemptFailed { attempt, .. } => {
            order.status = OrderStatus::AttemptFailed;
            order.last_failed_attempt = Some(attempt.clone());
        }
        Event::ReturnedToSender { .. } => order.status = OrderStatus::ReturnedToSender,
        Event::Delivered { .. } => order.status = OrderStatus::Delivered,
    }
    order.updated_at = at;
    Some(order)
}
