//! The order book: intake's read model, rebuilt from the log at start and then fed live.
//!
//! It holds every order's current state (folded with the same `evolve` the decider uses),
//! the position of its latest event (its version, for optimistic concurrency), and a
//! compact record of what caused each event (for idempotent retries). The full timeline is
//! not kept here: the log has it (`timeline.rs`). Indexes answer the list queries without
//! scanning every order.
//!
//! It also follows, decoded from the wire, CRM's customers (`waybill.crm.customer.>`) for
//! one fact: which customers are on credit hold, which the automatic reviewer consults.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;
use waybill_command::{AggregateStore, CausationIndex};
use waybill_eventlog::{Position, Projection, ProjectionError, RecordedEvent};
use waybill_proto::facts::crm::CustomerFact;
use waybill_types::{Actor, CustomerId, OrderId, Timestamp};

use crate::codec::{self, DecodedEvent};
use crate::domain::{Order, OrderStatus, evolve};

/// One order as the read model holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRecord {
    pub order: Order,
    /// Position of the order's latest event: the expected position for the next append.
    pub version: Position,
    /// What caused each of the order's events (for idempotent retries).
    pub causes: CausationIndex,
    /// Position at which the order entered the manual review queue, while it is there.
    pub queued_at: Option<Position>,
    /// Who placed it (the actor of its first event): separation of duties.
    pub placed_by: Actor,
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
    /// Customers CRM put on credit hold (CRM's `CreditHoldPlaced`, until `CreditHoldReleased`).
    customers_on_hold: BTreeSet<CustomerId>,
}

impl AggregateStore<Order> for OrderBook {
    fn current(&self, order_id: &OrderId) -> Option<(Order, Position)> {
        self.orders.get(order_id).map(|record| (record.order.clone(), record.version))
    }

    fn position_caused_by(&self, order_id: &OrderId, causation_id: &str) -> Option<Position> {
        OrderBook::position_caused_by(self, order_id, causation_id)
    }
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

    /// The position of the latest event this order may have got from `causation_id`: a
    /// candidate to confirm against the log (see [`CausationIndex`]).
    pub fn position_caused_by(&self, order_id: &OrderId, causation_id: &str) -> Option<Position> {
        self.orders.get(order_id)?.causes.latest_caused_by(causation_id)
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
        let DecodedEvent { order_id, meta, event_type, event } = decoded;
        let previous = self.orders.remove(&order_id);
        let (state, mut causes, queued_before, key_before, placed_by) = match previous {
            Some(record) => {
                let key = sort_key(&record.order);
                let customer = record.order.details.customer_id.clone();
                (Some(record.order), record.causes, record.queued_at, Some((key, customer)), record.placed_by)
            }
            None => (None, CausationIndex::new(), None, None, meta.actor.clone()),
        };
        let Some(order) = evolve(state, &event, meta.occurred_at) else {
            return Err(ProjectionError(format!(
                "event {event_type} at position {position} does not apply to order {order_id}"
            )));
        };
        causes.record(position, &meta.causation_id);
        // An order keeps its place in the review queue while it stays there (e.g. amended).
        let queued_at = match order.status {
            OrderStatus::InReview => Some(queued_before.unwrap_or(position)),
            _ => None,
        };
        // Re-index only what moved: most events change neither placement time nor customer.
        let key = sort_key(&order);
        let moved = match &key_before {
            Some((old_key, old_customer)) => *old_key != key || *old_customer != order.details.customer_id,
            None => true,
        };
        if moved {
            if let Some((old_key, old_customer)) = key_before {
                self.by_placed_at.remove(&old_key);
                if let Some(index) = self.by_customer.get_mut(&old_customer) {
                    index.remove(&old_key);
                }
            }
            self.by_placed_at.insert(key);
            self.by_customer.entry(order.details.customer_id.clone()).or_default().insert(key);
        }
        if queued_before != queued_at {
            if let Some(queued) = queued_before {
                self.review_queue.remove(&(queued_key(queued), order_id));
            }
            if let Some(queued) = queued_at {
                self.review_queue.insert((queued_key(queued), order_id));
            }
        }
        self.orders.insert(order_id, OrderRecord { order, version: position, causes, queued_at, placed_by });
        Ok(())
    }
}

impl Projection for OrderBook {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.subject.starts_with(CRM_CUSTOMER_PREFIX) {
            return self.apply_crm(event);
        }
        let decoded = codec::decode(&event.payload)
            .map_err(|error| ProjectionError(format!("position {}: {error}", event.position)))?;
        self.apply_decoded(event.position, decoded)
    }
}

/// CRM's customer subjects, `waybill.crm.customer.<customer id>` (see [`FILTERS`]).
const CRM_CUSTOMER_PREFIX: &str = "waybill.crm.customer.";

/// What the order book follows: intake's own orders, and CRM's customers for credit holds.
/// (The timeline reads other services' events about an order from the log when asked.)
pub const FILTERS: [&str; 2] = ["waybill.intake.>", "waybill.crm.customer.>"];

impl OrderBook {
    /// A CRM event, decoded from the wire (intake does not depend on CRM's crate): only the
    /// credit hold matters here. An envelope that does not decode stops the projection, as
    /// any other poison event would.
    fn apply_crm(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let fact = waybill_proto::facts::crm::read(&event.payload)
            .map_err(|error| ProjectionError(format!("position {}: {error}", event.position)))?;
        let Some(fact) = fact else { return Ok(()) };
        let customer_id = CustomerId::parse(&fact.aggregate_id)
            .map_err(|error| ProjectionError(format!("position {}: {error}", event.position)))?;
        match fact.event {
            CustomerFact::CreditHoldPlaced => {
                self.customers_on_hold.insert(customer_id);
            }
            CustomerFact::CreditHoldReleased => {
                self.customers_on_hold.remove(&customer_id);
            }
        }
        Ok(())
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
