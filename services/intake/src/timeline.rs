//! An order's timeline: every event about it, oldest first, with who did what. Built from
//! the order's history on the log when asked (TrackOrder); the read model keeps only what
//! commands need, so its memory does not grow with every event's details.

use uuid::Uuid;
use waybill_eventlog::Position;
use waybill_types::{Actor, Timestamp};

use crate::domain::Event;
use waybill_command::EventMeta;

/// One event about an order.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub position: Position,
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub actor: Actor,
    pub summary: String,
}

/// The timeline of an order's history, as read from the log.
pub fn entries(history: &[(Position, EventMeta, Event)]) -> Vec<TimelineEntry> {
    history.iter().map(|(position, meta, event)| entry(*position, meta, event)).collect()
}

/// The timeline entry of one of the order's events.
pub fn entry(position: Position, meta: &EventMeta, event: &Event) -> TimelineEntry {
    TimelineEntry {
        position,
        event_id: meta.event_id,
        event_type: event.event_type().to_owned(),
        occurred_at: meta.occurred_at,
        actor: meta.actor.clone(),
        summary: summarize(event),
    }
}

/// One human-readable line per event, for the timeline.
pub fn summarize(event: &Event) -> String {
    match event {
        Event::Placed { details, quote, .. } => format!(
            "placed by customer {} ({} cargo lines, {} g chargeable, quoted {})",
            details.customer_id,
            details.cargo.len(),
            quote.chargeable_weight_grams,
            quote.total
        ),
        Event::Accepted { automatic: true } => "accepted by the automatic rules".to_owned(),
        Event::Accepted { automatic: false } => "accepted after manual review".to_owned(),
        Event::Rejected { automatic, reason } => {
            format!("rejected{}: {reason}", if *automatic { " by the automatic rules" } else { "" })
        }
        Event::SentToReview { reasons } => format!("sent to manual review: {}", reasons.join("; ")),
        Event::Amended { cargo, quote, .. } => {
            format!("amended ({} cargo lines, quoted {})", cargo.len(), quote.total)
        }
        Event::ConsigneeAddressChanged { address, quote } => {
            format!(
                "consignee address changed to {}, {} (quoted {})",
                address.city, address.country_code, quote.total
            )
        }
        Event::Cancelled { reason } if reason.is_empty() => "cancelled".to_owned(),
        Event::Cancelled { reason } => format!("cancelled: {reason}"),
        Event::Restored { restored_status } => format!("restored to {}", restored_status.as_str()),
        Event::PickedUp { .. } => "picked up".to_owned(),
        Event::OutForDelivery { .. } => "out for delivery".to_owned(),
        Event::Delivered { .. } => "delivered".to_owned(),
    }
}
