//! Queries over the read model: the customer 360, listings, the ABC report and the KPIs.
//! The numbers come from the pure functions in `analytics`; this module only chooses the
//! facts each one is computed over.

use std::collections::BTreeSet;

use waybill_types::{CustomerId, Timestamp};

use super::{CrmModel, CustomerRecord};
use crate::analytics::{
    self, AbcClass, AbcReport, ComplaintFacts, Kpis, LifecycleClass, OrderFacts, Period, Policy, Totals,
    ZoneCountFacts,
};

/// A customer as GetCustomer and ListCustomers show it.
#[derive(Clone, Debug)]
pub struct CustomerView {
    pub customer_id: CustomerId,
    /// `None` for a customer known only from its orders.
    pub record: Option<CustomerRecord>,
    pub lifecycle: LifecycleClass,
    pub abc: AbcClass,
    pub totals: Totals,
    pub complaints: u64,
    pub open_complaints: u64,
    /// CSAT answers (1-5): sum and count.
    pub csat_sum: i64,
    pub csat_answers: u64,
    /// Net promoter score in percent points, over `nps_answers` answers.
    pub nps: Option<i64>,
    pub nps_answers: u64,
}

#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    pub lifecycle: Option<LifecycleClass>,
    pub abc: Option<AbcClass>,
    pub on_hold_only: bool,
    /// Only this customer (a customer's own view of the list).
    pub only: Option<CustomerId>,
}

impl CrmModel {
    /// Registered customers and customers known from orders, by id.
    pub fn known_customers(&self) -> BTreeSet<&CustomerId> {
        self.customers.keys().chain(self.orders_by_customer.keys()).collect()
    }

    pub fn is_known(&self, customer_id: &CustomerId) -> bool {
        self.customers.contains_key(customer_id) || self.orders_by_customer.contains_key(customer_id)
    }

    fn orders_of(&self, customer_id: &CustomerId) -> Vec<&OrderFacts> {
        self.orders_by_customer
            .get(customer_id)
            .map(|ids| ids.iter().filter_map(|id| self.orders.get(id)).collect())
            .unwrap_or_default()
    }

    /// A customer's complaints (resolved to a customer when filed).
    fn complaints_of(&self, customer_id: &CustomerId) -> Vec<&ComplaintFacts> {
        self.complaints_by_customer
            .get(customer_id)
            .map(|ids| ids.iter().filter_map(|id| self.complaints.get(id)).collect())
            .unwrap_or_default()
    }

    /// When a complaint falls for a period: its order's placed time, else its filing time.
    fn complaint_time(&self, complaint: &ComplaintFacts) -> Timestamp {
        complaint
            .order_id
            .and_then(|order_id| self.orders.get(&order_id))
            .map(|order| order.placed_at)
            .unwrap_or(complaint.filed_at)
    }

    pub fn totals_of(&self, customer_id: &CustomerId, policy: &Policy) -> Totals {
        analytics::profit::totals(self.orders_of(customer_id), policy)
    }

    /// The ABC classes of every known customer.
    pub fn abc_report(&self, policy: &Policy) -> AbcReport {
        let profits: Vec<(CustomerId, i64)> = self
            .known_customers()
            .into_iter()
            .map(|customer_id| (customer_id.clone(), self.totals_of(customer_id, policy).profit_minor))
            .collect();
        analytics::abc::classify(&profits)
    }

    /// The 360 view of one customer, `None` if CRM knows nothing of it.
    pub fn view(&self, customer_id: &CustomerId, policy: &Policy, now: Timestamp) -> Option<CustomerView> {
        if !self.is_known(customer_id) {
            return None;
        }
        Some(self.view_always(customer_id, policy, now))
    }

    /// The view of a customer even if nothing is known of it yet (a command's answer may
    /// come before the model has applied the command's own event).
    pub fn view_always(&self, customer_id: &CustomerId, policy: &Policy, now: Timestamp) -> CustomerView {
        let report = self.abc_report(policy);
        self.view_with(customer_id, &report, policy, now)
    }

    fn view_with(
        &self,
        customer_id: &CustomerId,
        report: &AbcReport,
        policy: &Policy,
        now: Timestamp,
    ) -> CustomerView {
        let totals = self.totals_of(customer_id, policy);
        let complaints = self.complaints_of(customer_id);
        let surveys = self.surveys_by_customer.get(customer_id).map(Vec::as_slice).unwrap_or_default();
        let csat: Vec<u32> = surveys.iter().filter_map(|survey| survey.csat).collect();
        let nps: Vec<u32> = surveys.iter().filter_map(|survey| survey.nps).collect();
        CustomerView {
            customer_id: customer_id.clone(),
            record: self.customers.get(customer_id).cloned(),
            lifecycle: analytics::lifecycle::classify(totals.last_order_at, now, policy.active_days),
            abc: report.class_of(customer_id),
            complaints: complaints.len() as u64,
            open_complaints: complaints.iter().filter(|complaint| !complaint.resolved).count() as u64,
            csat_sum: csat.iter().map(|score| i64::from(*score)).sum(),
            csat_answers: csat.len() as u64,
            nps: analytics::kpi::net_promoter_score(&nps),
            nps_answers: nps.len() as u64,
            totals,
        }
    }

    /// Customers matching `filter`, by id, at most `limit`, after `after`; and the last id
    /// of the page when there is more.
    pub fn list(
        &self,
        filter: &CustomerFilter,
        after: Option<&CustomerId>,
        limit: usize,
        policy: &Policy,
        now: Timestamp,
    ) -> (Vec<CustomerView>, Option<CustomerId>) {
        let report = self.abc_report(policy);
        let mut page = Vec::new();
        for customer_id in self.known_customers() {
            if after.is_some_and(|after| customer_id <= after) {
                continue;
            }
            if filter.only.as_ref().is_some_and(|only| only != customer_id) {
                continue;
            }
            if filter.on_hold_only
                && !self.customers.get(customer_id).is_some_and(|record| record.customer.is_on_hold())
            {
                continue;
            }
            if filter.abc.is_some_and(|class| report.class_of(customer_id) != class) {
                continue;
            }
            let view = self.view_with(customer_id, &report, policy, now);
            if filter.lifecycle.is_some_and(|class| view.lifecycle != class) {
                continue;
            }
            if page.len() == limit {
                let last = page.last().map(|view: &CustomerView| view.customer_id.clone());
                return (page, last);
            }
            page.push(view);
        }
        (page, None)
    }

    /// The KPIs over the orders placed in `period` (of `customer`, or of everyone) and the
    /// complaints about them (docs/KPIS.md, "Scope").
    pub fn kpis(&self, customer: Option<&CustomerId>, period: Period) -> Kpis {
        let orders = self.orders_in_scope(customer, period);
        let complaints = match customer {
            Some(customer_id) => self.complaints_of(customer_id),
            None => self.complaints.values().collect(),
        };
        let complaints: Vec<&ComplaintFacts> = complaints
            .into_iter()
            .filter(|complaint| period.contains(self.complaint_time(complaint)))
            .collect();
        // Stock is counted per hub zone, for no customer: only the period scopes it.
        let counts: Vec<&ZoneCountFacts> =
            self.zone_counts.iter().filter(|count| period.contains(count.counted_at)).collect();
        analytics::kpi::compute(&orders, &complaints, &counts)
    }

    /// The money of the orders placed in `period` (of `customer`, or of everyone): the
    /// finance report, over the same orders as [`Self::kpis`] (docs/KPIS.md).
    pub fn finance(&self, customer: Option<&CustomerId>, period: Period, policy: &Policy) -> Totals {
        analytics::profit::totals(self.orders_in_scope(customer, period), policy)
    }

    fn orders_in_scope(&self, customer: Option<&CustomerId>, period: Period) -> Vec<&OrderFacts> {
        let orders: Vec<&OrderFacts> = match customer {
            Some(customer_id) => self.orders_of(customer_id),
            None => self.orders.values().collect(),
        };
        orders.into_iter().filter(|order| period.contains(order.placed_at)).collect()
    }
}
