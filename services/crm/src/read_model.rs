//! CRM's read model: every registered customer (folded with the decider's `evolve`, with
//! its version and what caused each event, for the command loop), and the facts the
//! analytics need, folded from the other services' events as they are on the wire:
//!
//! - `waybill.crm.>`: CRM's own customers (`codec.rs`);
//! - `waybill.intake.order.>`: orders, what they cost, cancellations (`read_model/orders.rs`);
//! - `waybill.delivery.task.>`: handovers, on time, first attempt, damage, loss, disputes
//!   (`read_model/orders.rs`);
//! - `waybill.aftersales.>`: refunds, claim payments, complaints, surveys
//!   (`read_model/aftersales.rs`);
//! - `waybill.dispatch.hub.>`: hubs' cycle counts, for stock accuracy (`read_model/orders.rs`).
//!
//! Delivery's ETAs (`waybill.delivery.task.>`) give each order its place on its courier's
//! latest plan, for route adherence and the ETA error.
//!
//! Other services' events are read through their typed facts (`waybill_proto::facts`),
//! never through their crates. Event kinds CRM does not use are skipped; an envelope that does not
//! decode, or a CRM event that does not apply, stops the projection loudly (skipping would
//! make two replicas disagree). Queries over the model are in `read_model/views.rs`.

mod aftersales;
mod orders;
mod views;

use std::collections::{BTreeSet, HashMap};

use waybill_command::CausationIndex;
use waybill_eventlog::{Position, Projection, ProjectionError, RecordedEvent};
use waybill_types::{Actor, CustomerId, OrderId};

use crate::analytics::{ComplaintFacts, OrderFacts, SurveyFacts, ZoneCountFacts};
use crate::codec;
use crate::domain::{Customer, evolve};

pub use views::{CustomerFilter, CustomerView};

/// The subjects the model follows.
pub fn filters() -> Vec<String> {
    vec![
        "waybill.crm.>".to_owned(),
        "waybill.intake.order.>".to_owned(),
        "waybill.delivery.task.>".to_owned(),
        "waybill.aftersales.>".to_owned(),
        "waybill.dispatch.hub.>".to_owned(),
    ]
}

/// One registered customer.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRecord {
    pub customer: Customer,
    /// Position of the customer's latest event: the expected position for the next append.
    pub version: Position,
    /// What caused each of its events (for idempotent retries).
    pub causes: CausationIndex,
    /// Who registered it (the actor of its first event): separation of duties.
    pub registered_by: Actor,
}

#[derive(Debug, Default)]
pub struct CrmModel {
    customers: HashMap<CustomerId, CustomerRecord>,
    orders: HashMap<OrderId, OrderFacts>,
    orders_by_customer: HashMap<CustomerId, BTreeSet<OrderId>>,
    complaints: HashMap<String, ComplaintFacts>,
    /// Complaint ids by the customer they are from (named, or the order's customer).
    complaints_by_customer: HashMap<CustomerId, Vec<String>>,
    /// Survey answers by customer (named, or the order's customer), in log order.
    surveys_by_customer: HashMap<CustomerId, Vec<SurveyFacts>>,
    /// Every zone's cycle counts, in log order.
    zone_counts: Vec<ZoneCountFacts>,
}

waybill_command::aggregate_stores!(CrmModel {
    customers: Customer => customer,
});

impl CrmModel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn customer(&self, customer_id: &CustomerId) -> Option<&CustomerRecord> {
        self.customers.get(customer_id)
    }

    pub fn registered_customers(&self) -> usize {
        self.customers.len()
    }

    pub fn orders_known(&self) -> usize {
        self.orders.len()
    }

    fn apply_crm(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let decoded = codec::decode(&event.payload)
            .map_err(|error| ProjectionError(format!("position {}: {error}", event.position)))?;
        let previous = self.customers.remove(&decoded.customer_id);
        let (state, mut causes, registered_by) = match previous {
            Some(record) => (Some(record.customer), record.causes, record.registered_by),
            None => (None, CausationIndex::new(), decoded.meta.actor.clone()),
        };
        let Some(customer) = evolve(state, &decoded.event, decoded.meta.occurred_at) else {
            return Err(ProjectionError(format!(
                "event {} at position {} does not apply to customer {}",
                decoded.event_type, event.position, decoded.customer_id
            )));
        };
        causes.record(event.position, &decoded.meta.causation_id);
        self.customers.insert(
            decoded.customer_id,
            CustomerRecord { customer, version: event.position, causes, registered_by },
        );
        Ok(())
    }
}

impl Projection for CrmModel {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let subject = event.subject.as_str();
        if subject.starts_with("waybill.crm.") {
            self.apply_crm(event)
        } else if subject.starts_with("waybill.intake.") {
            orders::apply_intake(self, event)
        } else if subject.starts_with("waybill.delivery.") {
            orders::apply_delivery(self, event)
        } else if subject.starts_with("waybill.aftersales.") {
            aftersales::apply(self, event)
        } else if subject.starts_with("waybill.dispatch.hub.") {
            orders::apply_hub(self, event)
        } else {
            Ok(())
        }
    }
}

/// Another service's event that is no envelope at all: it stops the projection.
fn not_an_envelope(event: &RecordedEvent, error: waybill_proto::DecodeError) -> ProjectionError {
    ProjectionError(format!("position {} ({}): {error}", event.position, event.subject))
}
