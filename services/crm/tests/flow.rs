//! The whole picture on real NATS: orders placed through the real intake server, delivery
//! and after-sales facts appended as those services write them (wire envelopes on their
//! subjects), and CRM's customer 360, KPIs and ABC report checked against numbers worked
//! out by hand. Then a restarted CRM rebuilds the same numbers from the log.

mod support;

use std::sync::Arc;
use waybill_fixtures::cancellation;
use waybill_fixtures::{Caller, Role};

use chrono::{DateTime, Duration, Utc};
use support::{
    Client, Crm, alice, credit_hold, eur, hold_release, listed_customer_ids, registration, show_customer,
    start_crm, start_intake,
};
use waybill_crm::analytics::{CostModel, Policy};
use waybill_crm::server::Settings;
use waybill_eventlog::{EventLog, Position, StreamSettings};
use waybill_proto::convert::{timestamp_from_wire, timestamp_to_wire};
use waybill_proto::v1::{self, after_sales_event, delivery_event, event_envelope::Payload};
use waybill_testkit::{NatsServer, eventually};

/// A cost model simple enough to work out by hand: 1.00 an order, 0.10 a kilogram.
fn policy() -> Policy {
    Policy { cost: CostModel { per_order_minor: 100, per_kg_minor: 10 }, ..Policy::default() }
}

/// Appends one event of another service, as that service would write it.
async fn append(
    log: &EventLog,
    subject: &str,
    order_id: &str,
    event_type: &str,
    occurred_at: DateTime<Utc>,
    payload: Payload,
) -> Position {
    waybill_fixtures::foreign::append(log, subject, order_id, event_type, occurred_at, payload).await.position
}

fn delivered(at: DateTime<Utc>, on_time: bool, first_attempt: bool) -> Payload {
    Payload::Delivery(v1::DeliveryEvent {
        event: Some(delivery_event::Event::DeliveryCompleted(v1::DeliveryCompleted {
            proof: Some(v1::ProofOfDelivery {
                recipient_name: "Erika".into(),
                delivered_at: Some(timestamp_to_wire(at)),
                ..Default::default()
            }),
            on_time,
            first_attempt,
        })),
    })
}

fn aftersales(event: after_sales_event::Event) -> Payload {
    Payload::Aftersales(v1::AfterSalesEvent { event: Some(event) })
}

/// One 2 kg parcel of books from Berlin to Munich, priced as regional (both parties in
/// region BE): the numbers below were worked out for exactly this order.
fn placement(request_id: &str, customer_id: &str) -> v1::PlaceOrderRequest {
    let mut order = waybill_fixtures::placement(request_id, customer_id);
    for party in [&mut order.shipper, &mut order.consignee] {
        if let Some(address) = party.as_mut().and_then(|party| party.address.as_mut()) {
            address.region = "BE".into();
        }
    }
    order.cargo = vec![waybill_fixtures::cargo("books", 2_000, v1::CargoCategory::General)];
    order
}

fn rate(rate: Option<&v1::Rate>) -> (u64, u64) {
    rate.map(|rate| (rate.numerator, rate.denominator)).expect("a rate")
}

/// The KPIs CRM answers to `request`.
async fn service_kpis(client: &mut Client, request: v1::GetKpisRequest) -> v1::ServiceKpis {
    client.get_kpis(request).await.expect("kpis").into_inner().kpis.expect("kpis")
}

fn money(money: Option<&v1::Money>) -> i64 {
    money.map(|money| money.amount_minor).expect("money")
}

#[tokio::test]
async fn crm_sees_orders_deliveries_and_after_sales_and_a_restart_sees_the_same() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let settings = Settings { policy: policy(), ..Settings::default() };
    let crm = Crm::start(&nats, waybill_crm::server::run, settings.clone()).await;
    let mut orders = intake.client(Caller::customer_service("clerk")).await;
    let mut client = crm.client(alice()).await;
    let log =
        EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test").await.expect("log");

    client.register_customer(registration("reg-a", "cust-a")).await.expect("registered");
    client.register_customer(registration("reg-b", "cust-b")).await.expect("registered");
    client.register_customer(registration("reg-d", "cust-d")).await.expect("registered");

    // cust-a: three orders (one cancelled); cust-b one; cust-c one, never registered.
    let mut placed = Vec::new();
    for (request_id, customer_id) in
        [("a-1", "cust-a"), ("a-2", "cust-a"), ("a-3", "cust-a"), ("b-1", "cust-b"), ("c-1", "cust-c")]
    {
        let order =
            orders.place_order(placement(request_id, customer_id)).await.expect("placed").into_inner();
        placed.push(order.order.expect("order"));
    }
    let quote = placed[0].quote.clone().expect("quote");
    let charged = money(quote.total.as_ref());
    // Every order is the same cargo on the same route: one quote, one cost.
    assert!(placed.iter().all(|order| order.quote.as_ref() == Some(&quote)));
    let weight_kg_tenths = (quote.chargeable_weight_grams * 10).div_ceil(1_000) as i64; // 0.10 a kg, in minor units
    let cost = 100 + weight_kg_tenths;
    let placed_at = |index: usize| timestamp_from_wire(placed[index].placed_at.as_ref());
    let [a1, a2, a3] = [&placed[0].order_id, &placed[1].order_id, &placed[2].order_id];
    orders.cancel_order(cancellation("cancel-a-3", a3, "changed their mind")).await.expect("cancelled");

    // a-1: on time at the first attempt, 2 h after placing; a billing complaint, resolved in time.
    append(
        &log,
        &format!("waybill.delivery.task.{a1}.{a1}"),
        a1,
        "waybill.delivery.delivery_completed.v1",
        placed_at(0) + Duration::hours(2),
        delivered(placed_at(0) + Duration::hours(2), true, true),
    )
    .await;
    let complaint = &format!("waybill.aftersales.complaint.{a1}.0198a3c4-0000-7000-8000-000000000001");
    append(
        &log,
        complaint,
        a1,
        "waybill.aftersales.complaint_filed.v1",
        Utc::now(),
        aftersales(after_sales_event::Event::ComplaintFiled(v1::ComplaintFiled {
            customer_id: "cust-a".into(),
            order_id: a1.clone(),
            category: v1::ComplaintCategory::BillingError.into(),
            severity: v1::ComplaintSeverity::Medium.into(),
            description: "charged twice".into(),
            ..Default::default()
        })),
    )
    .await;
    append(
        &log,
        complaint,
        a1,
        "waybill.aftersales.complaint_resolved.v1",
        Utc::now(),
        aftersales(after_sales_event::Event::ComplaintResolved(v1::ComplaintResolved {
            resolution: "credit note".into(),
            within_sla: true,
            ..Default::default()
        })),
    )
    .await;
    // a-2: late, second attempt, 4 h, damaged; refunded in full and a claim paid as much again.
    let a2_task = format!("waybill.delivery.task.{a2}.{a2}");
    append(
        &log,
        &a2_task,
        a2,
        "waybill.delivery.delivery_exception_raised.v1",
        placed_at(1) + Duration::hours(3),
        Payload::Delivery(v1::DeliveryEvent {
            event: Some(delivery_event::Event::DeliveryExceptionRaised(v1::DeliveryExceptionRaised {
                kind: v1::DeliveryExceptionKind::DamagedPartial.into(),
                description: "corner crushed".into(),
                missed_window: None,
            })),
        }),
    )
    .await;
    append(
        &log,
        &a2_task,
        a2,
        "waybill.delivery.delivery_completed.v1",
        placed_at(1) + Duration::hours(4),
        delivered(placed_at(1) + Duration::hours(4), false, false),
    )
    .await;
    let ledger = format!("waybill.aftersales.order.{a2}.{a2}");
    let refund = v1::RefundIssued { amount: Some(eur(charged)), ..Default::default() };
    let claim_payment = v1::ClaimPaymentIssued { amount: Some(eur(charged)), ..Default::default() };
    for (event_type, event) in [
        ("waybill.aftersales.refund_issued.v1", after_sales_event::Event::RefundIssued(refund)),
        (
            "waybill.aftersales.claim_payment_issued.v1",
            after_sales_event::Event::ClaimPaymentIssued(claim_payment),
        ),
    ] {
        append(&log, &ledger, a2, event_type, Utc::now(), aftersales(event)).await;
    }
    let last = append(
        &log,
        complaint,
        a1,
        "waybill.aftersales.survey_answered.v1",
        Utc::now(),
        aftersales(after_sales_event::Event::SurveyAnswered(v1::SurveyAnswered {
            customer_id: "cust-a".into(),
            csat: 4,
            nps: 9,
            ..Default::default()
        })),
    )
    .await;

    let shown = show_customer(&mut client, "cust-a", last).await;
    let customer = shown.customer.clone().expect("customer");
    let totals = customer.totals.clone().expect("totals");
    assert_eq!((totals.orders, totals.cancelled_orders, totals.delivered_orders), (3, 1, 2));
    // Revenue: a-1 and a-2 (a-3 is cancelled); cost the same two orders.
    assert_eq!(money(totals.revenue.as_ref()), 2 * charged);
    assert_eq!(money(totals.refunds.as_ref()), charged);
    assert_eq!(money(totals.claims_paid.as_ref()), charged);
    assert_eq!(money(totals.cost_estimate.as_ref()), 2 * cost);
    assert_eq!(money(totals.profit_contribution.as_ref()), -2 * cost);
    assert_eq!((totals.complaints, totals.open_complaints), (1, 0));
    assert_eq!(totals.csat.as_ref().and_then(|csat| csat.value), Some(4.0));
    assert_eq!(totals.nps, Some(100));
    assert_eq!(customer.lifecycle, v1::LifecycleClass::Active as i32);
    assert_eq!(customer.abc_class, v1::AbcClass::C as i32);

    let kpis = shown.kpis.expect("kpis");
    assert_eq!(kpis.orders, 3);
    assert_eq!(rate(kpis.on_time_delivery.as_ref()), (1, 2));
    assert_eq!(rate(kpis.first_attempt_delivery.as_ref()), (1, 2));
    assert_eq!(rate(kpis.order_completeness.as_ref()), (1, 2)); // a-2 damaged
    assert_eq!(rate(kpis.order_accuracy.as_ref()), (2, 2));
    assert_eq!(rate(kpis.billing_accuracy.as_ref()), (1, 2)); // a-1's billing complaint
    assert_eq!(rate(kpis.perfect_order.as_ref()), (0, 2));
    assert_eq!(rate(kpis.complaints_resolved_within_sla.as_ref()), (1, 1));
    assert_eq!(rate(kpis.cancellation.as_ref()), (1, 3));
    let lead_time = kpis.lead_time.expect("lead time");
    // 2 h and 4 h: mean 3 h; p90 the ⌈1.8⌉ = 2nd, 4 h.
    assert_eq!((lead_time.mean_seconds, lead_time.p90_seconds), (Some(10_800), Some(14_400)));

    // cust-c is known from its order only.
    let c = show_customer(&mut client, "cust-c", last).await.customer.expect("customer");
    assert!(!c.registered);
    assert_eq!(money(c.totals.and_then(|totals| totals.profit_contribution).as_ref()), charged - cost);

    // ABC: b and c each charged - cost (> 0), a negative. T = 2 (charged - cost); b (first by
    // id) reaches 50% < 80%, so c is A too; a is C.
    let report = client.get_abc_report(v1::GetAbcReportRequest { min_position: last }).await.expect("abc");
    let report = report.into_inner();
    assert_eq!(money(report.total_positive_profit.as_ref()), 2 * (charged - cost));
    let members = |index: usize| report.classes[index].customer_ids.clone();
    assert_eq!(members(0), ["cust-b", "cust-c"]);
    assert!(members(1).is_empty());
    // By rank: cust-d (0, never ordered) before cust-a (negative).
    assert_eq!(members(2), ["cust-d", "cust-a"]);
    assert_eq!(report.classes[0].profit_share_basis_points, Some(10_000));
    assert_eq!((report.classes[0].seed_customer_percent, report.classes[0].seed_profit_percent), (5, 80));

    // Lists by class.
    let prospects = v1::ListCustomersRequest {
        lifecycle: v1::LifecycleClass::Prospect.into(),
        min_position: last,
        ..Default::default()
    };
    assert_eq!(listed_customer_ids(&mut client, prospects).await, ["cust-d"]);
    let key = client
        .list_customers(v1::ListCustomersRequest {
            abc_class: v1::AbcClass::A.into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("key customers")
        .into_inner();
    assert_eq!(key.customers[0].customer_id, "cust-b");
    let rest = client
        .list_customers(v1::ListCustomersRequest {
            abc_class: v1::AbcClass::A.into(),
            page_size: 1,
            page_token: key.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .expect("the next page")
        .into_inner();
    assert_eq!(rest.customers[0].customer_id, "cust-c");
    assert!(rest.next_page_token.is_empty());

    // Overall KPIs, this period and one with no orders.
    let overall = service_kpis(
        &mut client,
        v1::GetKpisRequest {
            period: Some(v1::Period {
                from: Some(timestamp_to_wire(placed_at(0) - Duration::hours(1))),
                to: Some(timestamp_to_wire(Utc::now() + Duration::hours(1))),
            }),
            min_position: last,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(overall.orders, 5);
    assert_eq!(rate(overall.cancellation.as_ref()), (1, 5));
    assert_eq!(rate(overall.on_time_delivery.as_ref()), (1, 2));
    let empty = client
        .get_kpis(v1::GetKpisRequest {
            period: Some(v1::Period {
                from: Some(timestamp_to_wire(Utc::now() + Duration::days(1))),
                to: None,
            }),
            ..Default::default()
        })
        .await
        .expect("kpis")
        .into_inner();
    let (empty, nothing) = (empty.kpis.expect("kpis"), empty.finance.expect("finance"));
    assert_eq!(money(nothing.revenue.as_ref()), 0, "no order placed in the period: no money");
    assert_eq!(money(nothing.profit_contribution.as_ref()), 0);
    assert_eq!(empty.orders, 0);
    assert_eq!(empty.cancellation.and_then(|rate| rate.ratio), None);
    assert_eq!(empty.lead_time.and_then(|lead_time| lead_time.mean_seconds), None);

    // A restarted CRM rebuilds the same numbers from the log.
    crm.stop().await;
    let crm = Crm::start(&nats, waybill_crm::server::run, settings).await;
    let mut client = crm.client(alice()).await;
    let rebuilt = show_customer(&mut client, "cust-a", last).await;
    assert_eq!(rebuilt, shown);
    let rebuilt_report =
        client.get_abc_report(v1::GetAbcReportRequest { min_position: last }).await.expect("abc");
    assert_eq!(rebuilt_report.into_inner(), report);

    // One customer's KPIs for a period: the orders placed in it.
    let a_now = client
        .get_kpis(v1::GetKpisRequest {
            customer_id: "cust-a".into(),
            period: Some(v1::Period { from: Some(timestamp_to_wire(placed_at(0))), to: None }),
            min_position: last,
        })
        .await
        .expect("cust-a's kpis")
        .into_inner();
    assert_eq!(a_now.kpis, shown.kpis);
    // The money of the same orders is the customer's totals: refunds and claims included.
    let finance = a_now.finance.expect("finance");
    assert_eq!(
        [
            &finance.revenue,
            &finance.refunds,
            &finance.claims_paid,
            &finance.cost_estimate,
            &finance.profit_contribution
        ],
        [
            &totals.revenue,
            &totals.refunds,
            &totals.claims_paid,
            &totals.cost_estimate,
            &totals.profit_contribution
        ]
    );
    assert_eq!(money(finance.revenue.as_ref()), 2 * charged);
    assert_eq!(money(finance.profit_contribution.as_ref()), -2 * cost);

    // 91 days on, with the default 90-day window, everyone who ordered has lapsed.
    crm.stop().await;
    let later =
        Settings { clock: Arc::new(Later(Duration::days(91))), policy: policy(), ..Settings::default() };
    let crm = Crm::start(&nats, waybill_crm::server::run, later).await;
    let mut client = crm.client(alice()).await;
    let lapsed = v1::ListCustomersRequest {
        lifecycle: v1::LifecycleClass::Lapsed.into(),
        min_position: last,
        ..Default::default()
    };
    assert_eq!(listed_customer_ids(&mut client, lapsed).await, ["cust-a", "cust-b", "cust-c"]);
}

/// The wall clock, shifted.
struct Later(Duration);

impl waybill_crm::commands::Clock for Later {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

#[tokio::test]
async fn a_credit_hold_placed_in_crm_sends_the_customers_next_order_to_review_in_intake() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let crm = start_crm(&nats).await;
    let mut orders = intake.client(Caller::customer_service("clerk")).await;
    let mut client =
        crm.client(Caller::with_roles("credit-control", &[Role::CustomerServiceAgent, Role::Finance])).await;
    // Registering and setting credit are separate duties (docs/SECURITY.md).
    let mut desk = crm.client(Caller::customer_service("desk")).await;

    desk.register_customer(registration("reg-h", "cust-h")).await.expect("registered");
    client
        .place_credit_hold(credit_hold("hold-h", "cust-h", "invoices 90 days overdue"))
        .await
        .expect("held");
    let reader = orders.clone();
    let status_after_review = |placed: v1::PlaceOrderResponse| {
        let position = placed.position;
        let order_id = placed.order.map(|order| order.order_id).unwrap_or_default();
        let mut orders = reader.clone();
        async move {
            eventually(&format!("order {order_id} to be reviewed"), async || {
                let request = v1::GetOrderRequest { order_id: order_id.clone(), min_position: position };
                let order =
                    orders.get_order(request).await.expect("order").into_inner().order.expect("order");
                (order.status != v1::OrderStatus::Placed as i32)
                    .then_some((order.status, order.review_reasons))
            })
            .await
        }
    };
    let held = orders.place_order(placement("h-1", "cust-h")).await.expect("placed").into_inner();
    let (status, reasons) = status_after_review(held).await;
    assert_eq!(status, v1::OrderStatus::InReview as i32);
    assert!(reasons.iter().any(|reason| reason.contains("on credit hold")), "{reasons:?}");

    client.release_credit_hold(hold_release("release-h", "cust-h", "paid in full")).await.expect("released");
    let next = orders.place_order(placement("h-2", "cust-h")).await.expect("placed").into_inner();
    let (status, reasons) = status_after_review(next).await;
    assert_eq!(status, v1::OrderStatus::Accepted as i32, "{reasons:?}");
}

#[tokio::test]
async fn facts_about_orders_crm_never_saw_are_skipped_and_the_model_goes_on() {
    let nats = NatsServer::start();
    let crm = start_crm(&nats).await;
    let mut client = crm.client(alice()).await;
    let log =
        EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test").await.expect("log");
    let stranger = uuid::Uuid::now_v7().to_string();

    append(
        &log,
        &format!("waybill.delivery.task.{stranger}.{stranger}"),
        &stranger,
        "waybill.delivery.delivery_completed.v1",
        Utc::now(),
        delivered(Utc::now(), true, true),
    )
    .await;
    append(
        &log,
        &format!("waybill.aftersales.order.{stranger}.{stranger}"),
        &stranger,
        "waybill.aftersales.refund_issued.v1",
        Utc::now(),
        aftersales(after_sales_event::Event::RefundIssued(v1::RefundIssued {
            amount: Some(eur(100)),
            ..Default::default()
        })),
    )
    .await;
    append(
        &log,
        "waybill.aftersales.complaint.c-1",
        "",
        "waybill.aftersales.survey_answered.v1",
        Utc::now(),
        aftersales(after_sales_event::Event::SurveyAnswered(v1::SurveyAnswered {
            csat: 5,
            ..Default::default()
        })),
    )
    .await;

    // The model still applies what follows (a stopped model would make this wait time out).
    let registered = client.register_customer(registration("reg-1", "cust-1")).await.expect("registered");
    let position = registered.into_inner().position;
    let shown = show_customer(&mut client, "cust-1", position).await;
    assert_eq!(shown.customer.and_then(|customer| customer.totals).map(|totals| totals.orders), Some(0));
    let overall = client.get_kpis(v1::GetKpisRequest { min_position: position, ..Default::default() }).await;
    assert_eq!(overall.expect("kpis").into_inner().kpis.map(|kpis| kpis.orders), Some(0));
}

fn eta_planned(courier_id: &str, sequence: u32, eta: DateTime<Utc>) -> Payload {
    Payload::Delivery(v1::DeliveryEvent {
        event: Some(delivery_event::Event::DeliveryEtaPlanned(v1::DeliveryEtaPlanned {
            courier_id: courier_id.into(),
            date: eta.format("%Y-%m-%d").to_string(),
            sequence,
            eta: Some(timestamp_to_wire(eta)),
            unplanned_reason: String::new(),
        })),
    })
}

fn zone_counted(expected: u32, counted: u32, discrepancies: u32) -> Payload {
    Payload::Dispatch(v1::DispatchEvent {
        event: Some(v1::dispatch_event::Event::ZoneCounted(v1::ZoneCounted {
            zone: "GENERAL".into(),
            expected,
            counted,
            discrepancies,
        })),
    })
}

#[tokio::test]
async fn get_kpis_reports_stock_accuracy_route_adherence_and_eta_error_from_the_log() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let crm =
        Crm::start(&nats, waybill_crm::server::run, Settings { policy: policy(), ..Settings::default() })
            .await;
    let mut orders = intake.client(Caller::customer_service("clerk")).await;
    let mut client = crm.client(Caller::with_roles("ana", &[Role::Analyst])).await;
    let log =
        EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test").await.expect("log");
    let mut ids = Vec::new();
    for request_id in ["r-1", "r-2"] {
        let order = orders.place_order(placement(request_id, "cust-r")).await.expect("placed").into_inner();
        ids.push(order.order.expect("order").order_id);
    }
    // Tomorrow at 10:00 UTC: a run is a courier's day, and ETAs an hour from now straddled
    // midnight when the test ran between 22:50 and 23:00 UTC (two runs, both kept in order).
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let start = tomorrow.and_hms_opt(10, 0, 0).expect("10:00 is a time").and_utc();
    // Kim's run: stop 1 due at +0, stop 2 at +10 min. Stop 2 is handed over first, 2 min
    // early; stop 1 after it, 25 min late: one in order (2), one on its ETA (2).
    for (index, (sequence, eta_minutes, delivered_minutes)) in
        [(1, 0, 25), (2, 10, 8)].into_iter().enumerate()
    {
        let id = &ids[index];
        let subject = format!("waybill.delivery.task.{id}.{id}");
        let eta = start + Duration::minutes(eta_minutes);
        append(
            &log,
            &subject,
            id,
            "waybill.delivery.delivery_eta_planned.v1",
            Utc::now(),
            eta_planned("kim", sequence, eta),
        )
        .await;
        let at = start + Duration::minutes(delivered_minutes);
        append(&log, &subject, id, "waybill.delivery.delivery_completed.v1", at, delivered(at, true, true))
            .await;
    }
    // Two cycle counts: 10 booked, 2 missing and 1 unexpected (9 counted); 5 booked, all found.
    let hub = "waybill.dispatch.hub.0198a3c4-0000-7000-8000-0000000000aa";
    append(&log, hub, "", "waybill.dispatch.zone_counted.v1", Utc::now(), zone_counted(10, 9, 3)).await;
    let position =
        append(&log, hub, "", "waybill.dispatch.zone_counted.v1", Utc::now(), zone_counted(5, 5, 0)).await;

    let kpis =
        service_kpis(&mut client, v1::GetKpisRequest { min_position: position, ..Default::default() }).await;
    // Agreed 8 + 5 of named 11 + 5.
    assert_eq!(rate(kpis.stock_accuracy.as_ref()), (13, 16));
    assert_eq!(rate(kpis.route_order_kept.as_ref()), (1, 2));
    assert_eq!(rate(kpis.route_eta_kept.as_ref()), (1, 2));
    let error = kpis.eta_error.expect("eta error");
    // |errors| 1500 s and 120 s: mean 810, p90 1500; signed (1500 − 120) / 2 = 690.
    assert_eq!(
        (error.stops, error.mean_abs_seconds, error.p90_abs_seconds, error.mean_signed_seconds),
        (2, Some(810), Some(1500), Some(690))
    );
    // One customer's KPIs still count every hub's stock (it belongs to no customer).
    let one = service_kpis(
        &mut client,
        v1::GetKpisRequest { customer_id: "cust-r".into(), min_position: position, ..Default::default() },
    )
    .await;
    assert_eq!(rate(one.stock_accuracy.as_ref()), (13, 16));
}
