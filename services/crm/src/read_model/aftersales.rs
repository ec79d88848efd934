//! After-sales as CRM sees it, from its events on the wire (`AfterSalesEvent`):
//!
//! - the order's ledger (`waybill.aftersales.order.<order id>`): `RefundIssued` and
//!   `ClaimPaymentIssued` are the money paid back (the case subjects' `ReturnRefunded` and
//!   `ClaimPaid` say the same again and are not counted);
//! - complaints (`waybill.aftersales.complaint.<id>`): `ComplaintFiled` (customer, order,
//!   category; billing errors count against billing accuracy), `ComplaintResolved`
//!   (within SLA or not);
//! - surveys: `SurveyAnswered` (CSAT 1-5, NPS 0-10), on the case's subject.

use waybill_eventlog::{ProjectionError, RecordedEvent, subject};
use waybill_proto::facts::aftersales::{self, CaseFact};
use waybill_proto::v1;
use waybill_types::CustomerId;

use super::orders::parse_order_id;
use super::{CrmModel, not_an_envelope};
use crate::analytics::{ComplaintFacts, SurveyFacts};

pub(super) fn apply(model: &mut CrmModel, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let Some(fact) = aftersales::read(&event.payload).map_err(|error| not_an_envelope(event, error))? else {
        return Ok(());
    };
    let occurred_at = fact.occurred_at;
    let order_id = || parse_order_id(event, &fact.order_id);
    let optional_order_id =
        if fact.order_id.is_empty() { None } else { Some(parse_order_id(event, &fact.order_id)?) };
    match &fact.event {
        CaseFact::RefundIssued { amount } => {
            let order_id = order_id()?;
            if let (Some(order), Some(amount)) = (model.orders.get_mut(&order_id), amount) {
                order.refunds.push(*amount);
            }
        }
        CaseFact::ClaimPaymentIssued { amount } => {
            let order_id = order_id()?;
            if let (Some(order), Some(amount)) = (model.orders.get_mut(&order_id), amount) {
                order.claims_paid.push(*amount);
            }
        }
        CaseFact::ComplaintFiled { customer_id, order_id: filed_order_id, category } => {
            let billing = *category == v1::ComplaintCategory::BillingError;
            let complaint_order = if filed_order_id.is_empty() {
                optional_order_id
            } else {
                Some(parse_order_id(event, filed_order_id)?)
            };
            if billing
                && let Some(order) = complaint_order.and_then(|order_id| model.orders.get_mut(&order_id))
            {
                order.billing_complaints += 1;
            }
            let complaint_id = subject::aggregate_id_of(&event.subject).to_owned();
            // Whose complaint: the customer it names, else its order's customer.
            let customer_id = CustomerId::parse(customer_id).ok().or_else(|| {
                complaint_order
                    .and_then(|order_id| model.orders.get(&order_id))
                    .map(|order| order.customer_id.clone())
            });
            if let Some(customer_id) = &customer_id {
                let ids = model.complaints_by_customer.entry(customer_id.clone()).or_default();
                if !ids.contains(&complaint_id) {
                    ids.push(complaint_id.clone());
                }
            }
            model.complaints.insert(
                complaint_id.clone(),
                ComplaintFacts {
                    complaint_id,
                    customer_id,
                    order_id: complaint_order,
                    filed_at: occurred_at,
                    billing,
                    resolved: false,
                    resolved_within_sla: None,
                },
            );
        }
        CaseFact::ComplaintResolved { within_sla } => {
            let complaint_id = subject::aggregate_id_of(&event.subject);
            if let Some(complaint) = model.complaints.get_mut(complaint_id) {
                complaint.resolved = true;
                complaint.resolved_within_sla = Some(*within_sla);
            }
        }
        CaseFact::SurveyAnswered { customer_id, csat, nps } => {
            let customer_id = CustomerId::parse(customer_id).ok().or_else(|| {
                optional_order_id
                    .and_then(|order_id| model.orders.get(&order_id))
                    .map(|order| order.customer_id.clone())
            });
            let Some(customer_id) = customer_id else {
                tracing::warn!(position = event.position, "survey answer about no known customer; skipped");
                return Ok(());
            };
            model.surveys_by_customer.entry(customer_id.clone()).or_default().push(SurveyFacts {
                customer_id: Some(customer_id),
                order_id: optional_order_id,
                at: occurred_at,
                csat: (1..=5).contains(csat).then_some(*csat),
                nps: (*nps <= 10).then_some(*nps),
            });
        }
        _ => {}
    }
    Ok(())
}
