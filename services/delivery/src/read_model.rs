//! The delivery book: delivery's read model, rebuilt from the log at start and then fed
//! live. It projects three kinds of subjects:
//! - `waybill.delivery.>`: every courier and delivery, folded with the deciders' own
//!   `evolve`, with its version (for optimistic concurrency) and what caused each event
//!   (for idempotent retries); an event that does not apply stops the projection;
//! - `waybill.intake.order.>`: the facts about each order the last mile needs (consignee,
//!   service level, cancelled), read through `waybill_proto::facts` (no dependency on
//!   intake's crate);
//! - `waybill.dispatch.task.>`: which orders' forward tasks arrived at the destination hub.
//!
//! Other services' events this model cannot use are skipped (the same on every replica, so
//! replay stays deterministic). Indexes: each courier's open deliveries (for automatic
//! assignment and routes) and the promised-window ends the SLA clock watches.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use waybill_command::{CausationIndex, Record};
use waybill_eventlog::{Position, Projection, ProjectionError, RecordedEvent};
use waybill_proto::envelope::{DecodeError, Envelope};
use waybill_proto::facts::{self, dispatch::TaskFact, intake::OrderFact};
use waybill_types::{OrderId, Party, ServiceLevel, Timestamp};

use crate::codec::{self, Decoded};
use crate::domain::{
    Courier, CourierId, Delivery, DeliveryEvent, DeliveryStatus, Notices, evolve, evolve_courier,
    evolve_notices, same_zone,
};
use crate::route::{CourierRoute, RouteId, evolve_route};

#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub delivery: Delivery,
    pub version: Position,
    /// What caused each of its events (for idempotent retries).
    pub causes: CausationIndex,
}

/// A courier, the consignee's notifications about one delivery (their own aggregate) and a
/// courier's day as last planned, each as the read model holds it.
pub type CourierRecord = Record<Courier>;
pub type NoticeRecord = Record<Notices>;
pub type RouteRecord = Record<CourierRoute>;

/// What intake and dispatch said about an order that the last mile needs.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderFacts {
    pub consignee: Party,
    pub service_level: ServiceLevel,
    pub cancelled: bool,
    /// The order's forward task arrived at the destination hub.
    pub arrived: bool,
    /// The intake event that last changed the consignee's address, if any.
    pub redirected_by: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub courier_id: Option<CourierId>,
    pub zone: Option<String>,
}

/// The aggregate-type token of notification subjects (`commands::Notices`).
const NOTICES_SUBJECT_TOKEN: &str = "notification";

#[derive(Debug, Default)]
pub struct DeliveryBook {
    deliveries: BTreeMap<OrderId, DeliveryRecord>,
    couriers: BTreeMap<CourierId, CourierRecord>,
    routes: BTreeMap<RouteId, RouteRecord>,
    notices: BTreeMap<OrderId, NoticeRecord>,
    /// Milestones whose own append carried their notification (the form before
    /// notifications had their own subject): `delivery-notifications` skips them.
    notified_in_append: HashSet<Position>,
    orders: HashMap<OrderId, OrderFacts>,
    /// Deliveries on each courier's books (assigned, out, or between attempts).
    open_by_courier: HashMap<CourierId, BTreeSet<OrderId>>,
    /// (window end, delivery): open deliveries without a delay raised for their window.
    sla_watch: BTreeSet<(Timestamp, OrderId)>,
}

waybill_command::aggregate_stores!(DeliveryBook {
    deliveries: Delivery => delivery,
    couriers: Courier => state,
    routes: CourierRoute => state,
    notices: Notices => state,
});

impl DeliveryBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn delivery(&self, id: &OrderId) -> Option<&DeliveryRecord> {
        self.deliveries.get(id)
    }

    pub fn courier(&self, id: &CourierId) -> Option<&CourierRecord> {
        self.couriers.get(id)
    }

    pub fn courier_route(&self, id: &RouteId) -> Option<&RouteRecord> {
        self.routes.get(id)
    }

    pub fn order_facts(&self, id: &OrderId) -> Option<&OrderFacts> {
        self.orders.get(id)
    }

    pub fn deliveries_len(&self) -> usize {
        self.deliveries.len()
    }

    /// How many deliveries the courier has on its books.
    pub fn open_deliveries_of(&self, courier_id: &CourierId) -> usize {
        self.open_by_courier.get(courier_id).map_or(0, BTreeSet::len)
    }

    /// The automatic choice for `zone`: an active courier serving it with the fewest open
    /// deliveries; ties go to the smallest id, so every replica picks the same one.
    pub fn pick_courier(&self, zone: &str) -> Option<CourierId> {
        self.couriers
            .values()
            .filter(|record| !record.state.retired && record.state.serves(zone))
            .min_by_key(|record| (self.open_deliveries_of(&record.state.id), record.state.id))
            .map(|record| record.state.id)
    }

    /// Deliveries matching `filter` in id order, at most `limit`, after `after`; and the
    /// id to continue after, if there is more.
    pub fn list(
        &self,
        filter: &DeliveryFilter,
        after: Option<OrderId>,
        limit: usize,
    ) -> (Vec<&DeliveryRecord>, Option<OrderId>) {
        let lower = match after {
            Some(after) => std::ops::Bound::Excluded(after),
            None => std::ops::Bound::Unbounded,
        };
        let mut matching =
            self.deliveries.range((lower, std::ops::Bound::Unbounded)).map(|(_, record)| record).filter(
                |record| {
                    let delivery = &record.delivery;
                    filter.status.is_none_or(|status| delivery.status == status)
                        && filter.courier_id.is_none_or(|courier| delivery.courier == Some(courier))
                        && filter.zone.as_deref().is_none_or(|zone| same_zone(&delivery.zone, zone))
                },
            );
        let page: Vec<&DeliveryRecord> = matching.by_ref().take(limit).collect();
        let next =
            if matching.next().is_some() { page.last().map(|record| record.delivery.id) } else { None };
        (page, next)
    }

    /// The courier's open deliveries whose promised window touches `[from, until)`, in
    /// window order: its route for that day.
    pub fn route(&self, courier_id: &CourierId, from: Timestamp, until: Timestamp) -> Vec<&DeliveryRecord> {
        let Some(open) = self.open_by_courier.get(courier_id) else { return Vec::new() };
        let mut stops: Vec<&DeliveryRecord> = open
            .iter()
            .filter_map(|id| self.deliveries.get(id))
            .filter(|record| record.delivery.window.start < until && record.delivery.window.end >= from)
            .collect();
        stops.sort_by_key(|record| (record.delivery.window.start, record.delivery.id));
        stops
    }

    /// Couriers in id order, serving `zone` if given, the retired ones only if asked.
    pub fn couriers(&self, zone: Option<&str>, include_retired: bool) -> Vec<&CourierRecord> {
        self.couriers
            .values()
            .filter(|record| include_retired || !record.state.retired)
            .filter(|record| zone.is_none_or(|zone| record.state.serves(zone)))
            .collect()
    }

    /// True if the milestone at `position` was followed, in its own append, by its
    /// notification (the form before notifications had their own subject).
    pub fn notified_in_its_append(&self, position: Position) -> bool {
        self.notified_in_append.contains(&position)
    }

    /// Deliveries whose promised window ended before `now` with no delay raised for it.
    pub fn overdue(&self, now: Timestamp) -> Vec<(OrderId, Timestamp)> {
        self.sla_watch.iter().take_while(|(end, _)| *end < now).map(|(end, id)| (*id, *end)).collect()
    }

    fn apply_delivery(
        &mut self,
        position: Position,
        id: OrderId,
        causation_id: &str,
        event: &crate::domain::DeliveryEvent,
        at: Timestamp,
    ) -> Result<(), ProjectionError> {
        let previous = self.deliveries.remove(&id);
        let (state, mut causes) = match previous {
            Some(record) => {
                self.unindex(&record.delivery);
                (Some(record.delivery), record.causes)
            }
            None => (None, CausationIndex::new()),
        };
        let Some(delivery) = evolve(state, event, at) else {
            return Err(ProjectionError(format!(
                "event {} at position {position} does not apply to delivery {id}",
                event.event_type()
            )));
        };
        causes.record(position, causation_id);
        self.index(&delivery);
        self.deliveries.insert(id, DeliveryRecord { delivery, version: position, causes });
        Ok(())
    }

    fn apply_notice(
        &mut self,
        position: Position,
        id: OrderId,
        causation_id: &str,
        event: &DeliveryEvent,
        at: Timestamp,
    ) -> Result<(), ProjectionError> {
        if Record::fold_into(&mut self.notices, id, position, causation_id, |state| {
            evolve_notices(state, event, at)
        }) {
            return Ok(());
        }
        Err(ProjectionError(format!(
            "event {} at position {position} does not apply to the notifications of delivery {id}",
            event.event_type()
        )))
    }

    fn unindex(&mut self, delivery: &Delivery) {
        if let Some(courier) = delivery.courier
            && let Some(open) = self.open_by_courier.get_mut(&courier)
        {
            open.remove(&delivery.id);
        }
        if let Some(end) = delivery.sla_deadline() {
            self.sla_watch.remove(&(end, delivery.id));
        }
    }

    fn index(&mut self, delivery: &Delivery) {
        if let Some(courier) = delivery.courier
            && delivery.status.occupies_courier()
        {
            self.open_by_courier.entry(courier).or_default().insert(delivery.id);
        }
        if let Some(end) = delivery.sla_deadline() {
            self.sla_watch.insert((end, delivery.id));
        }
    }

    fn apply_courier(
        &mut self,
        position: Position,
        id: CourierId,
        causation_id: &str,
        event: &crate::domain::CourierEvent,
        at: Timestamp,
    ) -> Result<(), ProjectionError> {
        if Record::fold_into(&mut self.couriers, id, position, causation_id, |state| {
            evolve_courier(state, event, at)
        }) {
            return Ok(());
        }
        Err(ProjectionError(format!(
            "event {} at position {position} does not apply to courier {id}",
            event.event_type()
        )))
    }

    fn apply_own(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let decoded = codec::decode(&event.payload)
            .map_err(|error| ProjectionError(format!("position {}: {error}", event.position)))?;
        match decoded {
            Decoded::Courier { courier_id, meta, event: courier_event } => self.apply_courier(
                event.position,
                courier_id,
                &meta.causation_id,
                &courier_event,
                meta.occurred_at,
            ),
            // A notification on its own subject; one on the delivery's subject was written
            // with its milestone, before notifications had their own (and counts there).
            Decoded::Delivery {
                delivery_id,
                meta,
                event: delivery_event @ DeliveryEvent::NotificationRequested { .. },
            } if event.subject.split('.').nth(2) == Some(NOTICES_SUBJECT_TOKEN) => self.apply_notice(
                event.position,
                delivery_id,
                &meta.causation_id,
                &delivery_event,
                meta.occurred_at,
            ),
            Decoded::Delivery { delivery_id, meta, event: delivery_event } => {
                if matches!(delivery_event, DeliveryEvent::NotificationRequested { .. }) {
                    // Written right after its milestone, in the same append.
                    self.notified_in_append.insert(event.position.saturating_sub(1));
                }
                self.apply_delivery(
                    event.position,
                    delivery_id,
                    &meta.causation_id,
                    &delivery_event,
                    meta.occurred_at,
                )
            }
            Decoded::Route { route_id, meta, event: route_event } => {
                let at = meta.occurred_at;
                let evolve = |state| evolve_route(state, &route_event, at);
                if Record::fold_into(&mut self.routes, route_id, event.position, &meta.causation_id, evolve) {
                    return Ok(());
                }
                Err(ProjectionError(format!(
                    "event {} at position {} does not apply to route {route_id}",
                    route_event.event_type(),
                    event.position
                )))
            }
        }
    }

    /// Intake's and dispatch's facts; what does not decode or does not concern the last
    /// mile is skipped.
    fn apply_foreign(&mut self, event: &RecordedEvent) {
        let skip = |error: DecodeError| {
            tracing::warn!(position = event.position, subject = %event.subject, %error, "skipping an event that is not an envelope");
        };
        if event.subject.starts_with("waybill.dispatch.") {
            match facts::dispatch::read(&event.payload) {
                Ok(Some(fact)) => self.apply_dispatch(&fact),
                Ok(None) => {}
                Err(error) => skip(error),
            }
            return;
        }
        match facts::intake::read(&event.payload) {
            Ok(Some(fact)) => self.apply_intake(fact),
            Ok(None) => {}
            Err(error) => skip(error),
        }
    }

    fn apply_dispatch(&mut self, fact: &Envelope<TaskFact>) {
        // A reverse shipment's task has its own id; only the forward task is the order's.
        if !matches!(fact.event, TaskFact::ArrivedAtHub { .. }) || !fact.is_about_the_order_itself() {
            return;
        }
        let Ok(order_id) = fact.order_id() else { return };
        if let Some(facts) = self.orders.get_mut(&order_id) {
            facts.arrived = true;
        }
    }

    fn apply_intake(&mut self, fact: Envelope<OrderFact>) {
        let Ok(order_id) = fact.order_id() else { return };
        match fact.event {
            OrderFact::Placed(placed) => {
                let Some(service_level) = placed.service_level else { return };
                self.orders.entry(order_id).or_insert(OrderFacts {
                    consignee: placed.consignee,
                    service_level,
                    cancelled: false,
                    arrived: false,
                    redirected_by: None,
                });
            }
            OrderFact::Amended { service_level, .. } => {
                if let (Some(facts), Some(level)) = (self.orders.get_mut(&order_id), service_level) {
                    facts.service_level = level;
                }
            }
            OrderFact::ConsigneeAddressChanged { address: Some(address), .. } => {
                if let Some(facts) = self.orders.get_mut(&order_id) {
                    facts.consignee.address = address;
                    facts.redirected_by = Some(fact.header.event_id);
                }
            }
            other => {
                if let (Some(cancelled), Some(facts)) =
                    (other.cancelled_after(), self.orders.get_mut(&order_id))
                {
                    facts.cancelled = cancelled;
                }
            }
        }
    }
}

impl Projection for DeliveryBook {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.subject.starts_with("waybill.delivery.") {
            self.apply_own(event)
        } else {
            self.apply_foreign(event);
            Ok(())
        }
    }
}
