//! The analytics as pure functions, checked against numbers computed by hand (the working
//! is in the comments). Definitions: docs/KPIS.md.

use chrono::{Duration, TimeZone, Utc};
use waybill_crm::analytics::abc::{self, AbcClass};
use waybill_crm::analytics::kpi::{self, Period, Rate};
use waybill_crm::analytics::lifecycle::{self, LifecycleClass};
use waybill_crm::analytics::profit;
use waybill_crm::analytics::{ComplaintFacts, CostModel, OrderFacts, Policy};
use waybill_types::{Currency, CustomerId, Money, OrderId, Timestamp};

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single().expect("a valid time")
}

fn id(text: &str) -> CustomerId {
    CustomerId::parse(text).expect("a valid customer id")
}

fn money(amount_minor: i64, currency: &str) -> Money {
    Money::new(amount_minor, Currency::parse(currency).expect("currency"))
}

fn order(number: u128, placed_hours: i64) -> OrderFacts {
    OrderFacts::placed(
        OrderId(uuid::Uuid::from_u128(number)),
        id("cust-1"),
        t0() + Duration::hours(placed_hours),
        money(1_000, "EUR"),
        2_000,
    )
}

fn delivered(mut order: OrderFacts, lead_hours: i64, on_time: bool, first_attempt: bool) -> OrderFacts {
    order.delivered_at = Some(order.placed_at + Duration::hours(lead_hours));
    order.on_time = on_time;
    order.first_attempt = first_attempt;
    order
}

fn complaint(number: u32, resolved_within_sla: Option<bool>) -> ComplaintFacts {
    ComplaintFacts {
        complaint_id: format!("complaint-{number}"),
        customer_id: Some(id("cust-1")),
        order_id: None,
        filed_at: t0(),
        billing: false,
        resolved: resolved_within_sla.is_some(),
        resolved_within_sla,
    }
}

// ---------------------------------------------------------------------------
// ABC
// ---------------------------------------------------------------------------

/// Twenty customers; total positive profit T = 100 000.
/// Ranked: c01 40 000 (cum 40 000), c02 25 000 (65 000), c03 10 000 (75 000),
/// c04 5 000 (80 000: A reaches 80% with c04), c05 5 000 and c06 5 000 (ties, by id),
/// c07 3 000, c08 2 000 (cum 95 000: B reaches 95% with c08), c09..c15 5 000 together,
/// c16..c20 zero or negative (C whatever the rank).
fn twenty_customers() -> Vec<(CustomerId, i64)> {
    let profits = [
        40_000, 25_000, 10_000, 5_000, 5_000, 5_000, 3_000, 2_000, 1_500, 1_000, 800, 700, 500, 300, 200, 0,
        -500, -1_000, 0, -200,
    ];
    // Given in reverse, so the ranking (not the input order) decides.
    profits
        .iter()
        .enumerate()
        .rev()
        .map(|(index, profit)| (id(&format!("c{:02}", index + 1)), *profit))
        .collect()
}

#[test]
fn abc_takes_the_smallest_set_reaching_80_then_95_percent_of_profit() {
    let report = abc::classify(&twenty_customers());
    assert_eq!(report.total_positive_profit_minor, 100_000);
    let class_of = |name: &str| report.class_of(&id(name));
    for name in ["c01", "c02", "c03", "c04"] {
        assert_eq!(class_of(name), AbcClass::A, "{name}");
    }
    // c04, c05, c06 tie at 5 000: by id, c04 closes A and c05 opens B.
    for name in ["c05", "c06", "c07", "c08"] {
        assert_eq!(class_of(name), AbcClass::B, "{name}");
    }
    for number in 9..=20 {
        let name = format!("c{number:02}");
        assert_eq!(class_of(&name), AbcClass::C, "{name}");
    }
}

#[test]
fn abc_reports_the_shares_it_found() {
    let report = abc::classify(&twenty_customers());
    let [a, b, c] = [&report.shares[0], &report.shares[1], &report.shares[2]];
    // A: 4 of 20 customers (20%), 80 000 = 8 000 basis points of T.
    assert_eq!((a.class, a.customer_share, a.profit_minor), (AbcClass::A, Rate::new(4, 20), 80_000));
    assert_eq!(a.profit_share_basis_points, Some(8_000));
    assert_eq!(a.customers.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["c01", "c02", "c03", "c04"]);
    // B: 4 of 20, 5 000 + 5 000 + 3 000 + 2 000 = 15 000 = 1 500 bp.
    assert_eq!((b.class, b.customer_share, b.profit_minor), (AbcClass::B, Rate::new(4, 20), 15_000));
    assert_eq!(b.profit_share_basis_points, Some(1_500));
    // C: 12 of 20, 5 000 - 500 - 1 000 - 200 = 3 300 = 330 bp.
    assert_eq!((c.class, c.customer_share, c.profit_minor), (AbcClass::C, Rate::new(12, 20), 3_300));
    assert_eq!(c.profit_share_basis_points, Some(330));
    assert_eq!(AbcClass::A.seed_shares(), (5, 80));
    assert_eq!(AbcClass::B.seed_shares(), (15, 15));
    assert_eq!(AbcClass::C.seed_shares(), (80, 5));
}

#[test]
fn abc_without_positive_profit_puts_everyone_in_c_and_reports_no_profit_share() {
    let report = abc::classify(&[(id("a"), 0), (id("b"), -100)]);
    assert_eq!(report.class_of(&id("a")), AbcClass::C);
    assert_eq!(report.class_of(&id("b")), AbcClass::C);
    assert_eq!(report.shares[2].customer_share, Rate::new(2, 2));
    assert_eq!(report.shares[2].profit_share_basis_points, None);
    let empty = abc::classify(&[]);
    assert_eq!(empty.shares[0].customer_share.ratio(), None);
}

#[test]
fn one_customer_with_all_the_profit_is_a() {
    let report = abc::classify(&[(id("only"), 1), (id("loss"), -5)]);
    assert_eq!(report.class_of(&id("only")), AbcClass::A);
    assert_eq!(report.class_of(&id("loss")), AbcClass::C);
}

// ---------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------

#[test]
fn lifecycle_is_prospect_active_or_lapsed_by_the_latest_order() {
    let now = t0() + Duration::days(200);
    assert_eq!(lifecycle::classify(None, now, 90), LifecycleClass::Prospect);
    assert_eq!(lifecycle::classify(Some(now - Duration::days(1)), now, 90), LifecycleClass::Active);
    // Exactly 90 days ago still counts; a second more does not.
    assert_eq!(lifecycle::classify(Some(now - Duration::days(90)), now, 90), LifecycleClass::Active);
    assert_eq!(
        lifecycle::classify(Some(now - Duration::days(90) - Duration::seconds(1)), now, 90),
        LifecycleClass::Lapsed
    );
    assert_eq!(lifecycle::classify(Some(now - Duration::days(20)), now, 14), LifecycleClass::Lapsed);
}

// ---------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------

#[test]
fn the_cost_model_charges_per_order_and_per_kilogram_rounded_up_to_a_minor_unit() {
    let cost = CostModel { per_order_minor: 400, per_kg_minor: 25 };
    assert_eq!(cost.estimate_minor(0), 400);
    // 2 kg × 25 = 50.
    assert_eq!(cost.estimate_minor(2_000), 450);
    // 2.1 kg × 25 = 52.5, rounded up to 53.
    assert_eq!(cost.estimate_minor(2_100), 453);
}

#[test]
fn profit_is_revenue_less_refunds_claims_and_cost_in_the_report_currency() {
    let policy = Policy::default();
    let kept = order(1, 0); // EUR 10.00, 2 kg: cost 450
    let mut cancelled = order(2, 1); // cancelled: no revenue, no cost
    cancelled.cancelled = true;
    cancelled.charged = money(2_500, "EUR");
    let mut dollars = order(3, 2); // USD: counted apart
    dollars.charged = money(3_000, "USD");
    let mut refunded = order(4, 3); // EUR 5.00, 0 kg: cost 400
    refunded.charged = money(500, "EUR");
    refunded.chargeable_weight_grams = 0;
    refunded.refunds = vec![money(200, "EUR"), money(50, "USD")];
    refunded.claims_paid = vec![money(100, "EUR")];
    let totals = profit::totals([&kept, &cancelled, &dollars, &refunded], &policy);
    assert_eq!(totals.orders, 4);
    assert_eq!(totals.cancelled_orders, 1);
    assert_eq!(totals.orders_in_other_currencies, 1);
    assert_eq!(totals.revenue_minor, 1_500); // 1 000 + 500
    assert_eq!(totals.refunds_minor, 200); // the USD refund is left out
    assert_eq!(totals.claims_paid_minor, 100);
    assert_eq!(totals.cost_estimate_minor, 850); // 450 + 400
    assert_eq!(totals.profit_minor, 350); // 1 500 - 200 - 100 - 850
    assert_eq!(totals.last_order_at, Some(t0() + Duration::hours(3)));
}

// ---------------------------------------------------------------------------
// KPIs
// ---------------------------------------------------------------------------

/// Ten orders:
/// o1 delivered on time, first attempt, 10 h; o2 on time, second attempt, 20 h;
/// o3 late, first attempt, 30 h, damaged; o4 on time, 40 h, handover dispute;
/// o5 on time, 50 h, billing complaint; o6 lost; o7 cancelled; o8 still under way;
/// o9 on time, 60 h; o10 on time, 100 h.
fn ten_orders() -> Vec<OrderFacts> {
    let mut o3 = delivered(order(3, 2), 30, false, true);
    o3.damaged = true;
    let mut o4 = delivered(order(4, 3), 40, true, true);
    o4.handover_dispute = true;
    let mut o5 = delivered(order(5, 4), 50, true, true);
    o5.billing_complaints = 1;
    let mut o6 = order(6, 5);
    o6.lost = true;
    let mut o7 = order(7, 6);
    o7.cancelled = true;
    vec![
        delivered(order(1, 0), 10, true, true),
        delivered(order(2, 1), 20, true, false),
        o3,
        o4,
        o5,
        o6,
        o7,
        order(8, 7),
        delivered(order(9, 8), 60, true, true),
        delivered(order(10, 9), 100, true, true),
    ]
}

#[test]
fn every_kpi_over_ten_orders_and_four_complaints() {
    let orders = ten_orders();
    let orders: Vec<&OrderFacts> = orders.iter().collect();
    let complaints =
        [complaint(1, Some(true)), complaint(2, Some(false)), complaint(3, None), complaint(4, Some(true))];
    let complaints: Vec<&ComplaintFacts> = complaints.iter().collect();
    let kpis = kpi::compute(&orders, &complaints, &[]);
    assert_eq!(kpis.orders, 10);
    // Delivered: o1 o2 o3 o4 o5 o9 o10 = 7; late: o3.
    assert_eq!(kpis.on_time_delivery, Rate::new(6, 7));
    // Second attempt: o2.
    assert_eq!(kpis.first_attempt_delivery, Rate::new(6, 7));
    // Completed: the 7 delivered + o6 lost = 8. Damaged or lost: o3, o6.
    assert_eq!(kpis.order_completeness, Rate::new(6, 8));
    // Handover dispute: o4.
    assert_eq!(kpis.order_accuracy, Rate::new(7, 8));
    // Billing complaint: o5.
    assert_eq!(kpis.billing_accuracy, Rate::new(7, 8));
    // Perfect: o1, o2, o9, o10 (first attempt is not part of it).
    assert_eq!(kpis.perfect_order, Rate::new(4, 8));
    assert_eq!(kpis.perfect_order.ratio(), Some(0.5));
    // Lead times 10 20 30 40 50 60 100 h: mean 310 h / 7 = 159 428.57 s, floored;
    // p90 is the ⌈6.3⌉ = 7th smallest, 100 h.
    assert_eq!(kpis.lead_time.delivered_orders, 7);
    assert_eq!(kpis.lead_time.mean_seconds, Some(159_428));
    assert_eq!(kpis.lead_time.p90_seconds, Some(360_000));
    // Resolved: 1, 2, 4; within SLA: 1, 4.
    assert_eq!(kpis.complaints_resolved_within_sla, Rate::new(2, 3));
    // Cancelled: o7.
    assert_eq!(kpis.cancellation, Rate::new(1, 10));
    assert_eq!(kpis.cancellation.ratio(), Some(0.1));
}

/// o1 delivered on time at the first attempt, 10 h; o2 returned to sender after its
/// attempts, and damaged on the way back; o3 returned to sender, then (in this test) the
/// order counts as cancelled; o4 still under way.
#[test]
fn a_parcel_returned_to_sender_is_counted_as_returned_not_as_delivered_or_completed() {
    let mut o2 = order(2, 1);
    o2.returned_to_sender = true;
    o2.damaged = true;
    let mut o3 = order(3, 2);
    o3.returned_to_sender = true;
    o3.cancelled = true;
    let orders = [delivered(order(1, 0), 10, true, true), o2, o3, order(4, 3)];
    let scoped: Vec<&OrderFacts> = orders.iter().collect();
    let kpis = kpi::compute(&scoped, &[], &[]);
    // Last mile ended: o1 handed over, o2 sent back (o3 is cancelled): one of two came back.
    assert_eq!(kpis.returned_to_sender, Rate::new(1, 2));
    assert_eq!(kpis.returned_to_sender.ratio(), Some(0.5));
    // Not delivered: out of on-time, first attempt and lead time.
    assert_eq!(kpis.on_time_delivery, Rate::new(1, 1));
    assert_eq!(kpis.first_attempt_delivery, Rate::new(1, 1));
    assert_eq!(kpis.lead_time.delivered_orders, 1);
    // Not completed (returned without a loss): its damage is not judged in completeness.
    assert_eq!(kpis.order_completeness, Rate::new(1, 1));
    assert_eq!(kpis.perfect_order, Rate::new(1, 1));
    // The shipment was made: revenue and cost count it; the report counts it as returned.
    let totals = profit::totals(orders.iter(), &Policy::default());
    assert_eq!((totals.orders, totals.delivered_orders, totals.returned_to_sender_orders), (4, 1, 1));
    assert_eq!(totals.revenue_minor, 3_000); // o1, o2, o4; o3 is cancelled
}

#[test]
fn kpis_over_nothing_have_no_values() {
    let kpis = kpi::compute(&[], &[], &[]);
    assert_eq!(kpis.orders, 0);
    for rate in [
        kpis.on_time_delivery,
        kpis.order_completeness,
        kpis.order_accuracy,
        kpis.billing_accuracy,
        kpis.perfect_order,
        kpis.first_attempt_delivery,
        kpis.complaints_resolved_within_sla,
        kpis.cancellation,
        kpis.returned_to_sender,
    ] {
        assert_eq!(rate, Rate::new(0, 0));
        assert_eq!(rate.ratio(), None);
    }
    assert_eq!(kpis.lead_time.mean_seconds, None);
    assert_eq!(kpis.lead_time.p90_seconds, None);
    // Orders placed but none delivered: rates on deliveries stay empty, cancellation counts.
    let placed = order(1, 0);
    let kpis = kpi::compute(&[&placed], &[], &[]);
    assert_eq!(kpis.on_time_delivery.ratio(), None);
    assert_eq!(kpis.cancellation, Rate::new(0, 1));
    assert_eq!(kpis.cancellation.ratio(), Some(0.0));
}

#[test]
fn p90_is_the_nearest_rank() {
    // One value: it is the mean and the p90.
    let one = kpi::lead_time(vec![5]);
    assert_eq!((one.mean_seconds, one.p90_seconds), (Some(5), Some(5)));
    // 1..=10: mean 5.5 floored to 5; p90 the 9th smallest.
    let ten = kpi::lead_time((1..=10).rev().collect());
    assert_eq!((ten.mean_seconds, ten.p90_seconds, ten.delivered_orders), (Some(5), Some(9), 10));
    // 1..=11: rank ⌈9.9⌉ = 10.
    let eleven = kpi::lead_time((1..=11).collect());
    assert_eq!(eleven.p90_seconds, Some(10));
    assert_eq!(kpi::lead_time(vec![]).p90_seconds, None);
}

#[test]
fn a_period_holds_its_start_and_not_its_end() {
    let period = Period { from: Some(t0()), to: Some(t0() + Duration::days(1)) };
    assert!(period.contains(t0()));
    assert!(period.contains(t0() + Duration::days(1) - Duration::seconds(1)));
    assert!(!period.contains(t0() + Duration::days(1)));
    assert!(!period.contains(t0() - Duration::seconds(1)));
    assert!(Period::default().contains(t0()));
}

#[test]
fn net_promoter_score_is_promoters_less_detractors() {
    // 9, 10 promoters; 7, 8 passive; 0, 6 detractors: (2 - 2) / 6 = 0.
    assert_eq!(kpi::net_promoter_score(&[9, 10, 7, 8, 0, 6]), Some(0));
    // 3 promoters, 1 detractor of 4: 50.
    assert_eq!(kpi::net_promoter_score(&[10, 9, 9, 3]), Some(50));
    assert_eq!(kpi::net_promoter_score(&[]), None);
}

#[test]
fn a_handover_recorded_before_the_placement_counts_as_no_lead_time_never_a_negative_one() {
    // A log written before delivery refused such handovers may hold one a day early.
    let orders = [delivered(order(1, 0), -24, true, true), delivered(order(2, 0), 10, true, true)];
    let scoped: Vec<&OrderFacts> = orders.iter().collect();
    let kpis = kpi::compute(&scoped, &[], &[]);
    assert_eq!(kpis.lead_time.delivered_orders, 2);
    assert_eq!(kpis.lead_time.mean_seconds, Some(5 * 3_600));
    assert_eq!(kpis.lead_time.p90_seconds, Some(10 * 3_600));
}

// ---------------------------------------------------------------------------
// Route adherence and ETA error (KPIS.md "Route adherence", "ETA error")
// ---------------------------------------------------------------------------

fn on_run(mut order: OrderFacts, sequence: u32, eta_minutes: i64) -> OrderFacts {
    order.planned_stop = Some(waybill_crm::analytics::PlannedStopFacts {
        run: ("kim".to_owned(), "2026-10-01".to_owned()),
        sequence,
        eta: t0() + Duration::minutes(eta_minutes),
    });
    order
}

fn delivered_at_minute(mut order: OrderFacts, minute: i64) -> OrderFacts {
    order.delivered_at = Some(t0() + Duration::minutes(minute));
    order
}

#[test]
fn route_adherence_and_eta_error_judge_delivered_stops_against_their_plan() {
    // Planned 1, 2, 3 at minutes 60, 70, 80. Stop 1 at 65 (in order, 5 min late); stop 3 at
    // 72 (nothing planned after it came earlier: in order; 8 min early); stop 2 at 100 (stop
    // 3 came before it: out of order; 30 min late).
    let first = delivered_at_minute(on_run(order(1, 0), 1, 60), 65);
    let second = delivered_at_minute(on_run(order(2, 0), 2, 70), 100);
    let third = delivered_at_minute(on_run(order(3, 0), 3, 80), 72);
    // Not judged: delivered without a plan, planned and not delivered.
    let unplanned = delivered_at_minute(order(4, 0), 90);
    let pending = on_run(order(5, 0), 4, 90);
    let orders = [&first, &second, &third, &unplanned, &pending];
    let kpis = kpi::compute(&orders, &[], &[]);
    assert_eq!(kpis.route_order_kept, Rate::new(2, 3));
    assert_eq!(kpis.route_eta_kept, Rate::new(2, 3));
    // |errors| 300, 1800, 480 s: mean 860, p90 (rank 3 of 3) 1800; signed (300 + 1800 − 480) / 3.
    assert_eq!(
        (kpis.eta_error.delivered_orders, kpis.eta_error.mean_seconds, kpis.eta_error.p90_seconds),
        (3, Some(860), Some(1800))
    );
    assert_eq!(kpis.eta_bias_seconds, Some(540));
    // Without planned stops there is nothing to judge.
    let none = kpi::compute(&[&unplanned], &[], &[]);
    assert_eq!(
        (none.route_order_kept.ratio(), none.eta_error.mean_seconds, none.eta_bias_seconds),
        (None, None, None)
    );
}
