//! A customer's money: revenue, refunds, claims paid, the cost estimate and the profit
//! contribution (docs/KPIS.md, "Money and profit contribution").

use waybill_types::{Money, Timestamp};

use super::{OrderFacts, Policy};

/// A customer's counts and money totals (money in minor units of the report currency).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub orders: u64,
    pub cancelled_orders: u64,
    pub delivered_orders: u64,
    /// Not cancelled, sent back to the shipper after the last allowed attempt.
    pub returned_to_sender_orders: u64,
    pub revenue_minor: i64,
    pub refunds_minor: i64,
    pub claims_paid_minor: i64,
    pub cost_estimate_minor: i64,
    /// `revenue - refunds - claims paid - cost estimate`.
    pub profit_minor: i64,
    /// Orders quoted in another currency than the report's: counted, not in the money.
    pub orders_in_other_currencies: u64,
    pub last_order_at: Option<Timestamp>,
}

/// The totals over one customer's orders. See docs/KPIS.md, "Money and profit contribution":
/// - revenue: the latest quote total of every order not cancelled;
/// - refunds and claims paid: every payment after-sales reported, cancelled order or not;
/// - cost estimate: the cost model applied to every order not cancelled;
/// - money in another currency than `policy.currency` is left out (the order is counted in
///   `orders_in_other_currencies`).
pub fn totals<'a>(orders: impl IntoIterator<Item = &'a OrderFacts>, policy: &Policy) -> Totals {
    let mut totals = Totals::default();
    let in_currency = |money: &Money| money.currency == policy.currency;
    let sum = |payments: &[Money]| -> i64 {
        payments
            .iter()
            .filter(|money| in_currency(money))
            .fold(0i64, |sum, money| sum.saturating_add(money.amount_minor))
    };
    for order in orders {
        totals.orders += 1;
        totals.last_order_at = totals.last_order_at.max(Some(order.placed_at));
        if order.cancelled {
            totals.cancelled_orders += 1;
        }
        if order.delivered_at.is_some() && !order.cancelled {
            totals.delivered_orders += 1;
        }
        if order.returned_to_sender && order.delivered_at.is_none() && !order.cancelled {
            totals.returned_to_sender_orders += 1;
        }
        if !in_currency(&order.charged) {
            totals.orders_in_other_currencies += 1;
        }
        if !order.cancelled && in_currency(&order.charged) {
            totals.revenue_minor = totals.revenue_minor.saturating_add(order.charged.amount_minor);
            totals.cost_estimate_minor = totals
                .cost_estimate_minor
                .saturating_add(policy.cost.estimate_minor(order.chargeable_weight_grams));
        }
        totals.refunds_minor = totals.refunds_minor.saturating_add(sum(&order.refunds));
        totals.claims_paid_minor = totals.claims_paid_minor.saturating_add(sum(&order.claims_paid));
    }
    totals.profit_minor = totals
        .revenue_minor
        .saturating_sub(totals.refunds_minor)
        .saturating_sub(totals.claims_paid_minor)
        .saturating_sub(totals.cost_estimate_minor);
    totals
}
