//! The service-quality KPIs (docs/KPIS.md, "Service-quality KPIs"): each is a [`Rate`]
//! (numerator over denominator, no value for an empty denominator) except the lead time.
//!
//! The scope is chosen by the caller: the orders placed in a period (by the order's placed
//! time, also for the KPIs on deliveries) of one customer or of all, and the complaints
//! about them (a complaint about no known order falls in the period by its filing time).

use waybill_types::Timestamp;

use super::operations::{self, ZoneCountFacts};
use super::{ComplaintFacts, OrderFacts};

/// `numerator / denominator`, counted; the ratio exists only when the denominator is not 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
}

impl Rate {
    pub fn new(numerator: u64, denominator: u64) -> Self {
        debug_assert!(numerator <= denominator, "a rate's numerator is part of its denominator");
        Rate { numerator, denominator }
    }

    pub fn ratio(&self) -> Option<f64> {
        // Counts stay far below 2^53: the conversion is exact.
        (self.denominator > 0).then(|| self.numerator as f64 / self.denominator as f64)
    }

    /// Counts the items of `population` and those of them that satisfy `good`.
    fn count<'a, T: 'a>(population: impl IntoIterator<Item = &'a T>, good: impl Fn(&T) -> bool) -> Rate {
        let mut rate = Rate::default();
        for item in population {
            rate.denominator += 1;
            if good(item) {
                rate.numerator += 1;
            }
        }
        rate
    }
}

/// Lead time from placed to delivered, over delivered orders, in whole seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeadTime {
    pub delivered_orders: u64,
    /// Floor of the arithmetic mean.
    pub mean_seconds: Option<i64>,
    /// Nearest rank: the ⌈0.9 × n⌉-th smallest.
    pub p90_seconds: Option<i64>,
}

/// `[from, to)` on an order's placed time; an open end is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl Period {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kpis {
    /// Orders placed in scope.
    pub orders: u64,
    pub on_time_delivery: Rate,
    pub order_completeness: Rate,
    pub order_accuracy: Rate,
    pub billing_accuracy: Rate,
    pub perfect_order: Rate,
    pub lead_time: LeadTime,
    pub first_attempt_delivery: Rate,
    pub complaints_resolved_within_sla: Rate,
    pub cancellation: Rate,
    /// Returned to sender / last mile ended (delivered or returned to sender).
    pub returned_to_sender: Rate,
    /// Consignments the cycle counts agreed on / consignments the counts or books named.
    pub stock_accuracy: Rate,
    /// Delivered planned stops delivered in the planned order / delivered planned stops.
    pub route_order_kept: Rate,
    /// Delivered planned stops delivered within 15 minutes of the planned ETA / the same.
    pub route_eta_kept: Rate,
    /// |delivered − planned ETA| over delivered planned stops (the lead time's shape).
    pub eta_error: LeadTime,
    /// Mean of delivered − planned ETA (late positive); `None` without planned stops.
    pub eta_bias_seconds: Option<i64>,
}

/// Every KPI over `orders` and `complaints` (already scoped by the caller). Each line
/// names its section in docs/KPIS.md.
pub fn compute(orders: &[&OrderFacts], complaints: &[&ComplaintFacts], counts: &[&ZoneCountFacts]) -> Kpis {
    let delivered: Vec<&OrderFacts> =
        orders.iter().copied().filter(|order| !order.cancelled && order.delivered_at.is_some()).collect();
    let completed: Vec<&OrderFacts> = orders.iter().copied().filter(|order| order.is_completed()).collect();
    let last_mile_ended: Vec<&OrderFacts> = orders
        .iter()
        .copied()
        .filter(|order| !order.cancelled && (order.delivered_at.is_some() || order.returned_to_sender))
        .collect();
    let (route_order_kept, route_eta_kept) = operations::route_adherence(&delivered);
    let (eta_error, eta_bias_seconds) = operations::eta_error(&delivered);
    let resolved: Vec<&ComplaintFacts> =
        complaints.iter().copied().filter(|complaint| complaint.resolved).collect();
    Kpis {
        orders: u64::try_from(orders.len()).unwrap_or(u64::MAX),
        // KPIS.md "On-time delivery rate".
        on_time_delivery: Rate::count(delivered.iter().copied(), |order| order.on_time),
        // KPIS.md "Order completeness".
        order_completeness: Rate::count(completed.iter().copied(), is_complete),
        // KPIS.md "Order accuracy".
        order_accuracy: Rate::count(completed.iter().copied(), is_accurate),
        // KPIS.md "Billing accuracy".
        billing_accuracy: Rate::count(completed.iter().copied(), is_billed_right),
        // KPIS.md "Perfect-order rate".
        perfect_order: Rate::count(completed.iter().copied(), is_perfect),
        // KPIS.md "Lead time". Never negative: delivery now refuses a handover before the
        // departure, but a log written before that may hold one reported before placement.
        lead_time: lead_time(
            delivered
                .iter()
                .filter_map(|order| order.delivered_at.map(|at| (at - order.placed_at).num_seconds().max(0)))
                .collect(),
        ),
        // KPIS.md "First-attempt delivery rate".
        first_attempt_delivery: Rate::count(delivered.iter().copied(), |order| order.first_attempt),
        // KPIS.md "Complaints resolved within SLA".
        complaints_resolved_within_sla: Rate::count(resolved.iter().copied(), |complaint| {
            complaint.resolved_within_sla == Some(true)
        }),
        // KPIS.md "Cancellation rate".
        cancellation: Rate::count(orders.iter().copied(), |order| order.cancelled),
        // KPIS.md "Returned-to-sender rate".
        returned_to_sender: Rate::count(last_mile_ended.iter().copied(), |order| {
            order.returned_to_sender && order.delivered_at.is_none()
        }),
        // KPIS.md "Stock accuracy".
        stock_accuracy: operations::stock_accuracy(counts),
        // KPIS.md "Route adherence".
        route_order_kept,
        route_eta_kept,
        // KPIS.md "ETA error".
        eta_error,
        eta_bias_seconds,
    }
}

/// No damage and no loss (KPIS.md "Order completeness").
pub fn is_complete(order: &OrderFacts) -> bool {
    !order.damaged && !order.lost
}

/// No handover dispute (KPIS.md "Order accuracy").
pub fn is_accurate(order: &OrderFacts) -> bool {
    !order.handover_dispute
}

/// No complaint about the bill (KPIS.md "Billing accuracy").
pub fn is_billed_right(order: &OrderFacts) -> bool {
    order.billing_complaints == 0
}

/// Delivered on time, complete, accurate and billed right (KPIS.md "Perfect-order rate").
pub fn is_perfect(order: &OrderFacts) -> bool {
    order.delivered_at.is_some()
        && order.on_time
        && is_complete(order)
        && is_accurate(order)
        && is_billed_right(order)
}

/// Mean (floor) and nearest-rank p90 of `seconds` (KPIS.md "Lead time"); no values when empty.
pub fn lead_time(mut seconds: Vec<i64>) -> LeadTime {
    let count = seconds.len();
    if count == 0 {
        return LeadTime::default();
    }
    seconds.sort_unstable();
    let sum: i128 = seconds.iter().map(|value| i128::from(*value)).sum();
    let count_i128 = i128::try_from(count).unwrap_or(i128::MAX);
    let mean = i64::try_from(sum.div_euclid(count_i128)).ok();
    // ⌈0.9 n⌉ as a 1-based rank.
    let rank = (count * 9).div_ceil(10).max(1);
    LeadTime {
        delivered_orders: u64::try_from(count).unwrap_or(u64::MAX),
        mean_seconds: mean,
        p90_seconds: seconds.get(rank - 1).copied(),
    }
}

/// Net promoter score of 0-10 answers, in percent points: promoters (9-10) minus detractors
/// (0-6), over all answers, rounded toward zero; `None` without answers (docs/KPIS.md,
/// "Surveys").
pub fn net_promoter_score(answers: &[u32]) -> Option<i64> {
    if answers.is_empty() {
        return None;
    }
    let promoters = answers.iter().filter(|score| **score >= 9).count() as i64;
    let detractors = answers.iter().filter(|score| **score <= 6).count() as i64;
    Some((promoters - detractors) * 100 / answers.len() as i64)
}
