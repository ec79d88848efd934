//! The order book: intake's read model, rebuilt from the log at start and then fed live.
//!
//! It holds every order's current state (folded with the same `evolve` the decider uses),
//! the position of its latest event (its version, for optimistic concurrency), and its
//! timeline. Indexes answer the list queries without scanning every order.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;
use waybill_eventlog::{Position, Projection, ProjectionError, RecordedEvent};
use waybill_types::{Actor, CustomerId, OrderId, Timestamp};

use crate::codec::{self, DecodedEvent};
use crate::domain::{Event, Order, OrderStatus, evolve};

/// One order as the read model holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRecord {
    pub order: Order,
    /// Position of the order's latest event: the expected position for the next append.
    pub version: Position,
    pub timeline: Vec<TimelineEntry>,
    /// Position at which the order entered the manual review queue, while it is there.
    pub queued_at: Option<Position>,
}

/// One event about an order.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub position: Position,
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub actor: Actor,
    /// The request id (for commands) or event id (for reactions) that caused it; this is
    /// how a retried command finds the answer it was given the first time.
    pub causation_id: String,
    pub summary: String,
}

/// Where a listing continues: the last order of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub sort_key: (i64, OrderId),
}

#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub customer_id: Option<CustomerId>,
    pub status: Option<OrderStatus>,
    pub placed_from: Option<Timestamp>,
    pub placed_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct OrderBook {
    orders: HashMap<OrderId, OrderRecord>,
    /// (placed_at in microseconds, id): every order, for listing newest first.
    by_placed_at: BTreeSet<(i64, OrderId)>,
    by_customer: HashMap<CustomerId, BTreeSet<(i64, OrderId)>>,
    /// (position it entered the queue, id): the manual review queue, oldest first.
    review_queue: BTreeSet<(i64, OrderId)>,
    /// Customers CRM put on credit hold (fed by CRM's events once CRM exists).
    customers_on_hold: BTreeSet<CustomerId>,
}

impl OrderBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, order_id: &OrderId) -> Option<&OrderRecord> {
        self.orders.get(order_id)
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// The position of the event this order got from `causation_id`, if it got one.
    pub fn position_caused_by(&self, order_id: &OrderId, causation_id: &str) -> Option<Position> {
        let record = self.orders.get(order_id)?;
        record
            .timeline
            .iter()
            .rev()
            .find(|entry| entry.causation_id == causation_id)
            .map(|entry| entry.position)
    }

    pub fn is_on_credit_hold(&self, customer_id: &CustomerId) -> bool {
        self.customers_on_hold.contains(customer_id)
    }

    /// Orders matching `filter`, newest first, at most `limit`, continuing after `after`.
    /// Returns the page and the cursor of the next page, if there is more.
    pub fn list(
        &self,
        filter: &OrderFilter,
        after: Option<Cursor>,
        limit: usize,
    ) -> (Vec<&OrderRecord>, Option<Cursor>) {
        let index = match &filter.customer_id {
            Some(customer_id) => match self.by_customer.get(customer_id) {
                Some(index) => index,
                None => return (Vec::new(), None),
            },
            None => &self.by_placed_at,
        };
        let upper = match (after, filter.placed_until) {
            (Some(cursor), _) => std::ops::Bound::Excluded(cursor.sort_key),
            (None, Some(until)) => std::ops::Bound::Excluded((micros(until), OrderId(Uuid::nil()))),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let lower_micros = filter.placed_from.map(micros);
        let mut page = Vec::new();
        for key in index.range((std::ops::Bound::Unbounded, upper)).rev() {
            if lower_micros.is_some_and(|lower| key.0 < lower) {
                return (page, None);
            }
            if filter.placed_until.is_some_and(|until| key.0 >= micros(until)) {
                continue;
            }
            let Some(record) = self.orders.get(&key.1) else { continue };
            if filter.status.is_some_and(|status| record.order.status != status) {
                continue;
            }
            if page.len() == limit {
                let last =
                    page.last().map(|record: &&OrderRecord| Cursor { sort_key: sort_key(&record.order) });
                return (page, last);
            }
            page.push(record);
        }
        (page, None)
    }

    /// Orders waiting for a human, oldest first.
    pub fn review_queue(&self, after: Option<Cursor>, limit: usize) -> (Vec<&OrderRecord>, Option<Cursor>) {
        let lower = match after {
            Some(cursor) => std::ops::Bound::Excluded(cursor.sort_key),
            None => std::ops::Bound::Unbounded,
        };
        let mut keys = self.review_queue.range((lower, std::ops::Bound::Unbounded));
        let page: Vec<_> =
            keys.by_ref().take(limit).filter_map(|key| self.orders.get(&key.1).map(|r| (key, r))).collect();
        let next =
            if keys.next().is_some() { page.last().map(|(key, _)| Cursor { sort_key: **key }) } else { None };
        (page.into_iter().map(|(_, record)| record).collect(), next)
    }

    fn apply_decoded(&mut self, position: Position, decoded: DecodedEvent) -> Result<(), ProjectionError> {
        let DecodedEvent { meta, event_type, event } = decoded;
        let order_id = meta.order_id;
        let previous = self.orders.remove(&order_id);
        if let Some(previous) = &previous {
            self.unindex(previous);
        }
        let (state, mut timeline, queued_at) = match previous {
            Some(record) => (Some(record.order), record.timeline, record.queued_at),
            None => (None, Vec::new(), None),
        };
        let Some(order) = evolve(state, &event, meta.occurred_at) else {
            return Err(ProjectionError(format!(
                "event {event_type} at position {position} does not apply to order {order_id}"
            )));
        };
        timeline.push(TimelineEntry {
            position,
            event_id: meta.event_id,
            event_type,
            occurred_at: meta.occurred_at,
            actor: meta.actor,
            causation_id: meta.causation_id,
            summary: summarize(&event),
        });
        // An order keeps its place in the review queue while it stays there (e.g. amended).
        let queued_at = match order.status {
            OrderStatus::InReview => Some(queued_at.unwrap_or(position)),
            _ => None,
        };
        let record = OrderRecord { order, version: position, timeline, queued_at };
        self.index(&record);
        self.orders.insert(order_id, record);
        Ok(())
    }

    fn index(&mut self, record: &OrderRecord) {
        let key = sort_key(&record.order);
        self.by_placed_at.insert(key);
        self.by_customer.entry(record.order.details.customer_id.clone()).or_default().insert(key);
        if let Some(queued_at) = record.queued_at {
            self.review_queue.insert((queued_key(queued_at), record.order.id));
        }
    }

    fn unindex(&mut self, record: &OrderRecord) {
        let key = sort_key(&record.order);
        self.by_placed_at.remove(&key);
        if let Some(index) = self.by_customer.get_mut(&record.order.details.customer_id) {
            index.remove(&key);
        }
        if let Some(queued_at) = record.queued_at {
            self.review_queue.remove(&(queued_key(queued_at), record.order.id));
        }
    }
}

impl Projection for OrderBook {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let decoded = codec::decode(&event.payload)
            .map_err(|error| ProjectionError(format!("position {}: {error}", event.position)))?;
        self.apply_decoded(event.position, decoded)
    }
}

fn queued_key(position: Position) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

fn micros(at: Timestamp) -> i64 {
    at.timestamp_micros()
}

fn sort_key(order: &Order) -> (i64, OrderId) {
    (micros(order.placed_at), order.id)
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
