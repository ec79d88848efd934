//! The read model's views as wire messages.

use waybill_proto::convert;
use waybill_proto::v1;
use waybill_runtime::Redaction;

use crate::analytics::abc::ClassShare;
use crate::analytics::{AbcClass, AbcReport, Kpis, LeadTime, LifecycleClass, Policy, Rate, Totals};
use crate::codec::{profile_to_wire, rating_to_wire};
use crate::read_model::CustomerView;

/// The customer as its caller may see it: contacts' phones and e-mails and the addresses'
/// streets withheld from roles that do not need them (`Redaction`, docs/SECURITY.md).
pub fn customer_to_wire(view: &CustomerView, policy: &Policy, redaction: Redaction) -> v1::Customer {
    let mut customer = customer_view_to_wire(view, policy);
    redaction.customer(&mut customer);
    customer
}

fn customer_view_to_wire(view: &CustomerView, policy: &Policy) -> v1::Customer {
    let totals = &view.totals;
    let money = |amount_minor: i64| Some(v1::Money::from(&policy.money(amount_minor)));
    let record = view.record.as_ref();
    let customer = record.map(|record| &record.customer);
    v1::Customer {
        customer_id: view.customer_id.to_string(),
        registered: customer.is_some(),
        profile: customer.map(|customer| profile_to_wire(&customer.profile)),
        credit: customer.map(|customer| v1::Credit {
            rating: customer
                .credit_rating
                .map(rating_to_wire)
                .unwrap_or(v1::CreditRating::Unspecified)
                .into(),
            limit: customer.credit_limit.as_ref().map(Into::into),
            on_hold: customer.is_on_hold(),
            hold_reason: customer.hold.as_ref().map(|hold| hold.reason.clone()).unwrap_or_default(),
            hold_since: customer.hold.as_ref().map(|hold| convert::timestamp_to_wire(hold.since)),
        }),
        lifecycle: lifecycle_to_wire(view.lifecycle).into(),
        abc_class: abc_to_wire(view.abc).into(),
        totals: Some(v1::CustomerTotals {
            orders: totals.orders,
            cancelled_orders: totals.cancelled_orders,
            delivered_orders: totals.delivered_orders,
            revenue: money(totals.revenue_minor),
            refunds: money(totals.refunds_minor),
            claims_paid: money(totals.claims_paid_minor),
            cost_estimate: money(totals.cost_estimate_minor),
            profit_contribution: money(totals.profit_minor),
            complaints: view.complaints,
            open_complaints: view.open_complaints,
            csat: Some(v1::Average {
                sum: view.csat_sum,
                count: view.csat_answers,
                value: (view.csat_answers > 0).then(|| view.csat_sum as f64 / view.csat_answers as f64),
            }),
            nps: view.nps,
            nps_answers: view.nps_answers,
            orders_in_other_currencies: totals.orders_in_other_currencies,
            returned_to_sender_orders: totals.returned_to_sender_orders,
        }),
        registered_at: customer.map(|customer| convert::timestamp_to_wire(customer.registered_at)),
        last_order_at: totals.last_order_at.map(convert::timestamp_to_wire),
        version: record.map(|record| record.version).unwrap_or(0),
        withheld: Vec::new(),
    }
}

/// The finance report's money (the same totals a customer has, over a report's scope).
pub fn finance_to_wire(totals: &Totals, policy: &Policy) -> v1::FinanceTotals {
    let money = |amount_minor: i64| Some(v1::Money::from(&policy.money(amount_minor)));
    v1::FinanceTotals {
        revenue: money(totals.revenue_minor),
        refunds: money(totals.refunds_minor),
        claims_paid: money(totals.claims_paid_minor),
        cost_estimate: money(totals.cost_estimate_minor),
        profit_contribution: money(totals.profit_minor),
        orders_in_other_currencies: totals.orders_in_other_currencies,
    }
}

pub fn kpis_to_wire(kpis: &Kpis) -> v1::ServiceKpis {
    v1::ServiceKpis {
        on_time_delivery: Some(rate_to_wire(kpis.on_time_delivery)),
        order_completeness: Some(rate_to_wire(kpis.order_completeness)),
        order_accuracy: Some(rate_to_wire(kpis.order_accuracy)),
        billing_accuracy: Some(rate_to_wire(kpis.billing_accuracy)),
        perfect_order: Some(rate_to_wire(kpis.perfect_order)),
        lead_time: Some(lead_time_to_wire(kpis.lead_time)),
        first_attempt_delivery: Some(rate_to_wire(kpis.first_attempt_delivery)),
        complaints_resolved_within_sla: Some(rate_to_wire(kpis.complaints_resolved_within_sla)),
        cancellation: Some(rate_to_wire(kpis.cancellation)),
        orders: kpis.orders,
        returned_to_sender: Some(rate_to_wire(kpis.returned_to_sender)),
        stock_accuracy: Some(rate_to_wire(kpis.stock_accuracy)),
        route_order_kept: Some(rate_to_wire(kpis.route_order_kept)),
        route_eta_kept: Some(rate_to_wire(kpis.route_eta_kept)),
        eta_error: Some(v1::EtaError {
            stops: kpis.eta_error.delivered_orders,
            mean_abs_seconds: kpis.eta_error.mean_seconds,
            p90_abs_seconds: kpis.eta_error.p90_seconds,
            mean_signed_seconds: kpis.eta_bias_seconds,
        }),
    }
}

pub fn abc_report_to_wire(report: &AbcReport, policy: &Policy) -> v1::GetAbcReportResponse {
    v1::GetAbcReportResponse {
        currency: policy.currency.to_string(),
        total_positive_profit: Some(v1::Money::from(&policy.money(report.total_positive_profit_minor))),
        classes: report.shares.iter().map(|share| class_share_to_wire(share, policy)).collect(),
    }
}

fn class_share_to_wire(share: &ClassShare, policy: &Policy) -> v1::AbcClassShare {
    let (seed_customers, seed_profit) = share.class.seed_shares();
    v1::AbcClassShare {
        abc_class: abc_to_wire(share.class).into(),
        customers: share.customers.len() as u64,
        customer_share: Some(rate_to_wire(share.customer_share)),
        profit: Some(v1::Money::from(&policy.money(share.profit_minor))),
        profit_share_basis_points: share.profit_share_basis_points,
        seed_customer_percent: seed_customers,
        seed_profit_percent: seed_profit,
        customer_ids: share.customers.iter().map(ToString::to_string).collect(),
    }
}

fn rate_to_wire(rate: Rate) -> v1::Rate {
    v1::Rate { numerator: rate.numerator, denominator: rate.denominator, ratio: rate.ratio() }
}

fn lead_time_to_wire(lead_time: LeadTime) -> v1::LeadTime {
    v1::LeadTime {
        delivered_orders: lead_time.delivered_orders,
        mean_seconds: lead_time.mean_seconds,
        p90_seconds: lead_time.p90_seconds,
    }
}

pub fn lifecycle_to_wire(class: LifecycleClass) -> v1::LifecycleClass {
    match class {
        LifecycleClass::Prospect => v1::LifecycleClass::Prospect,
        LifecycleClass::Active => v1::LifecycleClass::Active,
        LifecycleClass::Lapsed => v1::LifecycleClass::Lapsed,
    }
}

pub fn abc_to_wire(class: AbcClass) -> v1::AbcClass {
    match class {
        AbcClass::A => v1::AbcClass::A,
        AbcClass::B => v1::AbcClass::B,
        AbcClass::C => v1::AbcClass::C,
    }
}
