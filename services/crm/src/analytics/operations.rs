//! The operations KPIs that follow hubs and couriers' runs (docs/KPIS.md, "Stock accuracy",
//! "Route adherence", "ETA error"): stock accuracy from dispatch's cycle counts, and how the
//! delivered stops kept to their planned runs.

use std::collections::HashMap;

use waybill_types::Timestamp;

use super::OrderFacts;
use super::kpi::{LeadTime, Rate, lead_time};

/// A stop counts as on its planned ETA within this much either way.
pub const ETA_TOLERANCE_SECONDS: i64 = 15 * 60;

/// One cycle count of one zone (dispatch's `ZoneCounted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneCountFacts {
    pub counted_at: Timestamp,
    pub expected: u32,
    pub counted: u32,
    /// Missing plus unexpected consignments.
    pub discrepancies: u32,
}

impl ZoneCountFacts {
    /// (consignments where the books and the count agree, consignments either names):
    /// counted = expected − missing + unexpected and discrepancies = missing + unexpected.
    pub fn agreement(&self) -> (u64, u64) {
        let (expected, counted, discrepancies) =
            (i64::from(self.expected), i64::from(self.counted), i64::from(self.discrepancies));
        let missing = ((expected - counted + discrepancies) / 2).clamp(0, expected);
        let unexpected = ((counted - expected + discrepancies) / 2).max(0);
        let matched = expected - missing;
        (matched as u64, (expected + unexpected) as u64)
    }
}

/// Where a delivered order stood on its courier's latest plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStopFacts {
    /// Courier id and day: the run.
    pub run: (String, String),
    pub sequence: u32,
    pub eta: Timestamp,
}

/// Consignments where the cycle count agreed with the books, over all consignments the
/// counts or the books named (KPIS.md "Stock accuracy").
pub fn stock_accuracy(counts: &[&ZoneCountFacts]) -> Rate {
    counts.iter().map(|count| count.agreement()).fold(Rate::default(), |rate, (matched, named)| {
        Rate::new(rate.numerator + matched, rate.denominator + named)
    })
}

/// KPIS.md "Route adherence": of the delivered orders that were on a planned run,
/// (a) those delivered in the planned order (no stop planned after them on the same run
/// was delivered before them), (b) those delivered within ±15 minutes of the planned ETA.
pub fn route_adherence(delivered: &[&OrderFacts]) -> (Rate, Rate) {
    let planned: Vec<(&PlannedStopFacts, Timestamp)> = planned_and_delivered(delivered).collect();
    let mut runs: HashMap<&(String, String), Vec<(u32, Timestamp)>> = HashMap::new();
    for (stop, delivered_at) in &planned {
        runs.entry(&stop.run).or_default().push((stop.sequence, *delivered_at));
    }
    let in_order = |stop: &PlannedStopFacts, at: Timestamp| {
        runs[&stop.run].iter().all(|(sequence, other_at)| !(*sequence > stop.sequence && *other_at < at))
    };
    let mut order_kept = Rate::default();
    let mut eta_kept = Rate::default();
    for (stop, at) in &planned {
        order_kept =
            Rate::new(order_kept.numerator + u64::from(in_order(stop, *at)), order_kept.denominator + 1);
        let on_eta = (*at - stop.eta).num_seconds().abs() <= ETA_TOLERANCE_SECONDS;
        eta_kept = Rate::new(eta_kept.numerator + u64::from(on_eta), eta_kept.denominator + 1);
    }
    (order_kept, eta_kept)
}

/// KPIS.md "ETA error": |delivered − planned ETA| over the delivered planned stops (mean
/// and p90, as the lead time computes them), and the mean signed error (late positive).
pub fn eta_error(delivered: &[&OrderFacts]) -> (LeadTime, Option<i64>) {
    let errors: Vec<i64> =
        planned_and_delivered(delivered).map(|(stop, at)| (at - stop.eta).num_seconds()).collect();
    let signed = (!errors.is_empty()).then(|| {
        let sum: i128 = errors.iter().map(|error| i128::from(*error)).sum();
        i64::try_from(sum.div_euclid(errors.len() as i128)).unwrap_or(i64::MAX)
    });
    (lead_time(errors.iter().map(|error| error.abs()).collect()), signed)
}

fn planned_and_delivered<'a>(
    delivered: &'a [&'a OrderFacts],
) -> impl Iterator<Item = (&'a PlannedStopFacts, Timestamp)> + 'a {
    delivered.iter().filter_map(|order| Some((order.planned_stop.as_ref()?, order.delivered_at?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_splits_discrepancies_into_missing_and_unexpected() {
        let at = chrono::Utc::now();
        // 10 on the books, 2 missing, 1 unexpected: 9 counted, 3 discrepancies.
        let count = ZoneCountFacts { counted_at: at, expected: 10, counted: 9, discrepancies: 3 };
        assert_eq!(count.agreement(), (8, 11));
        let clean = ZoneCountFacts { counted_at: at, expected: 4, counted: 4, discrepancies: 0 };
        assert_eq!(stock_accuracy(&[&count, &clean]), Rate::new(12, 15));
    }
}
