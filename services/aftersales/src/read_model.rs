//! The case book: after-sales' read model, rebuilt from the log at start and then fed live.
//! It projects four kinds of subjects:
//! - `waybill.aftersales.>`: every return, claim, complaint and order ledger, folded with
//!   the deciders' own `evolve`, with its version (for optimistic concurrency) and what
//!   caused each event (for idempotent retries); an event that does not apply stops it;
//! - `waybill.intake.order.>`: the facts about each order after-sales needs (customer,
//!   shipper and consignee addresses, cargo, the latest quote's total = what was charged),
//!   read through `waybill_proto::facts` (no dependency on intake's crate);
//! - `waybill.delivery.task.>`: when each order was handed over (the return window starts);
//! - `waybill.dispatch.task.>`: when a return's reverse shipment was picked up (its task id
//!   is the return's id), which the return's receipt cannot precede.
//!
//! Other services' events this model cannot use are skipped (the same on every replica).
//! Index: the complaint deadlines the SLA clock watches.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use waybill_command::CausationIndex;
use waybill_eventlog::{Position, Projection, ProjectionError, RecordedEvent};
use waybill_proto::envelope::{DecodeError, Envelope, EventMeta};
use waybill_proto::facts::{
    self, delivery::DeliveryFact, dispatch::TaskFact, intake::OrderFact, intake::QuoteFacts,
};
use waybill_types::{Actor, OrderId, Timestamp};

use crate::codec::{self, Decoded};
use crate::domain::{
    CaseId, CaseKind, Claim, ClaimStatus, Complaint, ComplaintStatus, Ledger, OrderFacts, ReturnCase,
    ReturnStatus, SlaBreach, evolve_claim, evolve_complaint, evolve_ledger, evolve_return,
};

#[derive(Clone, Debug, PartialEq)]
pub struct Record<T> {
    pub state: T,
    pub version: Position,
    /// What caused each of its events (for idempotent retries).
    pub causes: CausationIndex,
    /// Who opened it (the actor of its first event): separation of duties.
    pub opened_by: Actor,
}

/// A row of ListCases.
#[derive(Clone, Debug)]
pub enum CaseRef<'a> {
    Return(&'a Record<ReturnCase>),
    Claim(&'a Record<Claim>),
    Complaint(&'a Record<Complaint>),
}

impl CaseRef<'_> {
    pub fn key(&self) -> (CaseKind, CaseId) {
        match self {
            CaseRef::Return(record) => (CaseKind::Return, record.state.id),
            CaseRef::Claim(record) => (CaseKind::Claim, record.state.id),
            CaseRef::Complaint(record) => (CaseKind::Complaint, record.state.id),
        }
    }
}

/// ListCases' filters; unset ones match everything. A status filter only matches its kind.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub order_id: Option<OrderId>,
    pub customer_id: Option<String>,
    pub kind: Option<CaseKind>,
    pub return_status: Option<ReturnStatus>,
    pub claim_status: Option<ClaimStatus>,
    pub complaint_status: Option<ComplaintStatus>,
    /// Only complaints past a deadline they did not meet, at `now`.
    pub overdue_at: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct AfterSalesBook {
    returns: BTreeMap<CaseId, Record<ReturnCase>>,
    claims: BTreeMap<CaseId, Record<Claim>>,
    complaints: BTreeMap<CaseId, Record<Complaint>>,
    ledgers: HashMap<OrderId, Record<Ledger>>,
    orders: HashMap<OrderId, OrderFacts>,
    /// When each return's reverse shipment was picked up (dispatch's fact).
    reverse_pickups: HashMap<CaseId, Timestamp>,
    /// (deadline, complaint, breach): unmet deadlines of open complaints, not escalated yet.
    sla_watch: BTreeSet<(Timestamp, CaseId, SlaBreach)>,
}

waybill_command::aggregate_stores!(AfterSalesBook {
    returns: ReturnCase => state,
    claims: Claim => state,
    complaints: Complaint => state,
    ledgers: Ledger => state,
});

/// Folds `event` into the record at `id` in `map`; `None` from `evolve` is a poison event.
fn apply_to<K: Ord + Copy + std::fmt::Display, T>(
    map: &mut BTreeMap<K, Record<T>>,
    id: K,
    position: Position,
    meta: &EventMeta,
    event_type: &str,
    evolve: impl FnOnce(Option<T>) -> Option<T>,
) -> Result<(), ProjectionError> {
    let (state, mut causes, opened_by) = match map.remove(&id) {
        Some(record) => (Some(record.state), record.causes, record.opened_by),
        None => (None, CausationIndex::new(), meta.actor.clone()),
    };
    let state = evolve(state).ok_or_else(|| {
        ProjectionError(format!("event {event_type} at position {position} does not apply to {id}"))
    })?;
    causes.record(position, &meta.causation_id);
    map.insert(id, Record { state, version: position, causes, opened_by });
    Ok(())
}

impl AfterSalesBook {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn return_case(&self, id: &CaseId) -> Option<&Record<ReturnCase>> {
        self.returns.get(id)
    }

    pub fn claim(&self, id: &CaseId) -> Option<&Record<Claim>> {
        self.claims.get(id)
    }

    pub fn complaint(&self, id: &CaseId) -> Option<&Record<Complaint>> {
        self.complaints.get(id)
    }

    pub fn ledger(&self, order_id: &OrderId) -> Option<&Record<Ledger>> {
        self.ledgers.get(order_id)
    }

    pub fn order(&self, order_id: &OrderId) -> Option<&OrderFacts> {
        self.orders.get(order_id)
    }

    /// When the reverse shipment of return `return_id` was picked up, once dispatch says so.
    pub fn reverse_pickup(&self, return_id: &CaseId) -> Option<Timestamp> {
        self.reverse_pickups.get(return_id).copied()
    }

    pub fn cases_len(&self) -> usize {
        self.returns.len() + self.claims.len() + self.complaints.len()
    }

    /// Complaint deadlines that passed before `now` and still wait for an escalation.
    pub fn overdue(&self, now: Timestamp) -> Vec<(CaseId, SlaBreach, Timestamp)> {
        self.sla_watch
            .iter()
            .take_while(|(deadline, _, _)| *deadline < now)
            .map(|(deadline, id, breach)| (*id, *breach, *deadline))
            .collect()
    }

    /// Cases matching `filter` in (kind, id) order, at most `limit`, after `after`; and
    /// the key to continue after, if there is more.
    pub fn list(
        &self,
        filter: &CaseFilter,
        after: Option<(CaseKind, CaseId)>,
        limit: usize,
    ) -> (Vec<CaseRef<'_>>, Option<(CaseKind, CaseId)>) {
        let returns = self.returns.values().map(CaseRef::Return);
        let claims = self.claims.values().map(CaseRef::Claim);
        let complaints = self.complaints.values().map(CaseRef::Complaint);
        let mut matching = returns
            .chain(claims)
            .chain(complaints)
            .filter(|case| after.is_none_or(|after| case.key() > after))
            .filter(|case| matches(case, filter));
        let page: Vec<CaseRef<'_>> = matching.by_ref().take(limit).collect();
        let next = if matching.next().is_some() { page.last().map(CaseRef::key) } else { None };
        (page, next)
    }

    fn unwatch(&mut self, id: CaseId) {
        if let Some(record) = self.complaints.get(&id) {
            for (deadline, breach) in record.state.sla_deadlines() {
                self.sla_watch.remove(&(deadline, id, breach));
            }
        }
    }

    fn watch(&mut self, id: CaseId) {
        if let Some(record) = self.complaints.get(&id) {
            for (deadline, breach) in record.state.sla_deadlines() {
                self.sla_watch.insert((deadline, id, breach));
            }
        }
    }

    fn apply_own(&mut self, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let position = recorded.position;
        let decoded = codec::decode(&recorded.payload)
            .map_err(|error| ProjectionError(format!("position {position}: {error}")))?;
        match decoded {
            Decoded::Return { id, meta, event } => {
                apply_to(&mut self.returns, id, position, &meta, event.event_type(), |state| {
                    evolve_return(state, &event, meta.occurred_at)
                })
            }
            Decoded::Claim { id, meta, event } => {
                apply_to(&mut self.claims, id, position, &meta, event.event_type(), |state| {
                    evolve_claim(state, &event, meta.occurred_at)
                })
            }
            Decoded::Complaint { id, meta, event } => {
                self.unwatch(id);
                let applied =
                    apply_to(&mut self.complaints, id, position, &meta, event.event_type(), |state| {
                        evolve_complaint(state, &event, meta.occurred_at)
                    });
                self.watch(id);
                applied
            }
            Decoded::Ledger { order_id, meta, event } => {
                let (state, mut causes, opened_by) = match self.ledgers.remove(&order_id) {
                    Some(record) => (Some(record.state), record.causes, record.opened_by),
                    None => (None, CausationIndex::new(), meta.actor.clone()),
                };
                let state = evolve_ledger(state, order_id, &event, meta.occurred_at);
                causes.record(position, &meta.causation_id);
                self.ledgers.insert(order_id, Record { state, version: position, causes, opened_by });
                Ok(())
            }
        }
    }

    /// Intake's and delivery's facts; what does not decode or does not concern after-sales
    /// is skipped.
    fn apply_foreign(&mut self, recorded: &RecordedEvent) {
        let payload = &recorded.payload;
        let read: Result<Option<()>, DecodeError> = if recorded.subject.starts_with("waybill.dispatch.") {
            facts::dispatch::read(payload).map(|fact| fact.map(|fact| self.apply_dispatch(&fact)))
        } else if recorded.subject.starts_with("waybill.delivery.") {
            facts::delivery::read(payload).map(|fact| fact.map(|fact| self.apply_delivery(&fact)))
        } else {
            facts::intake::read(payload).map(|fact| fact.map(|fact| self.apply_intake(fact)))
        };
        if let Err(error) = read {
            tracing::warn!(position = recorded.position, subject = %recorded.subject, %error, "skipping an event that is not an envelope");
        }
    }

    /// A reverse shipment's pickup; a forward task's (its id is the order's) is not a
    /// return's, and a task id that is no return's is skipped.
    fn apply_dispatch(&mut self, fact: &Envelope<TaskFact>) {
        if fact.event != TaskFact::PickedUp || fact.is_about_the_order_itself() {
            return;
        }
        if let Some(return_id) = CaseId::parse(&fact.header.aggregate_id) {
            self.reverse_pickups.entry(return_id).or_insert(fact.header.occurred_at);
        }
    }

    fn apply_delivery(&mut self, fact: &Envelope<DeliveryFact>) {
        let DeliveryFact::Completed { delivered_at, .. } = fact.event else { return };
        let Ok(order_id) = fact.order_id() else { return };
        if let Some(facts) = self.orders.get_mut(&order_id) {
            facts.delivered_at = Some(delivered_at);
        }
    }

    fn apply_intake(&mut self, fact: Envelope<OrderFact>) {
        let Ok(order_id) = fact.order_id() else { return };
        let charged_of = |quote: Option<QuoteFacts>| quote.and_then(|quote| quote.total);
        match fact.event {
            OrderFact::Placed(placed) => {
                let Some(service_level) = placed.service_level else { return };
                self.orders.entry(order_id).or_insert(OrderFacts {
                    order_id,
                    cargo: placed.cargo.lines(),
                    customer_id: placed.customer_id,
                    shipper: placed.shipper.address,
                    consignee: placed.consignee.address,
                    service_level,
                    charged: charged_of(placed.quote),
                    delivered_at: None,
                });
            }
            OrderFact::Amended { cargo, service_level, quote } => {
                if let Some(facts) = self.orders.get_mut(&order_id) {
                    if let Some(level) = service_level {
                        facts.service_level = level;
                    }
                    facts.cargo = cargo.lines();
                    if let Some(charged) = charged_of(quote) {
                        facts.charged = Some(charged);
                    }
                }
            }
            OrderFact::ConsigneeAddressChanged { address, quote } => {
                if let Some(facts) = self.orders.get_mut(&order_id) {
                    if let Some(address) = address {
                        facts.consignee = address;
                    }
                    if let Some(charged) = charged_of(quote) {
                        facts.charged = Some(charged);
                    }
                }
            }
            _ => {}
        }
    }
}

fn matches(case: &CaseRef<'_>, filter: &CaseFilter) -> bool {
    let (kind, order_id, customer_id) = match case {
        CaseRef::Return(record) => (CaseKind::Return, Some(record.state.order_id), &record.state.customer_id),
        CaseRef::Claim(record) => (CaseKind::Claim, Some(record.state.order_id), &record.state.customer_id),
        CaseRef::Complaint(record) => (CaseKind::Complaint, record.state.order_id, &record.state.customer_id),
    };
    let status_matches = match case {
        CaseRef::Return(record) => {
            filter.return_status.is_none_or(|status| record.state.status == status)
                && filter.claim_status.is_none()
                && filter.complaint_status.is_none()
        }
        CaseRef::Claim(record) => {
            filter.claim_status.is_none_or(|status| record.state.status == status)
                && filter.return_status.is_none()
                && filter.complaint_status.is_none()
        }
        CaseRef::Complaint(record) => {
            filter.complaint_status.is_none_or(|status| record.state.status == status)
                && filter.return_status.is_none()
                && filter.claim_status.is_none()
        }
    };
    let overdue_matches = match (filter.overdue_at, case) {
        (None, _) => true,
        (Some(now), CaseRef::Complaint(record)) => record.state.is_overdue(now),
        (Some(_), _) => false,
    };
    filter.kind.is_none_or(|wanted| wanted == kind)
        && filter.order_id.is_none_or(|wanted| order_id == Some(wanted))
        && filter.customer_id.as_deref().is_none_or(|wanted| wanted == customer_id)
        && status_matches
        && overdue_matches
}

impl Projection for AfterSalesBook {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.subject.starts_with("waybill.aftersales.") {
            self.apply_own(event)
        } else {
            self.apply_foreign(event);
            Ok(())
        }
    }
}
