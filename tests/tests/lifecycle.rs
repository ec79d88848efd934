//! One order's whole life through the five real binaries on one nats-server, driven only
//! through their gRPC APIs: placed, accepted by itself, hauled, delivered with a proof,
//! returned and refunded (capped at the charge), a complaint handled, a survey answered,
//! and CRM's view of the customer follows every step.

use std::sync::{Arc, Mutex};
use waybill_fixtures::{Refusal, refund};

use tonic::Code;
use waybill_proto::v1;
use waybill_system_tests::system::{
    Caller, System, agent, assert_timeline_names, eur, eventually, request, warehouse,
};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn an_order_lives_from_placement_to_a_refunded_return_a_complaint_and_a_survey() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "fleet").await?;
    let customer = "cust-lifecycle";

    // Placed, quoted, and accepted by intake on its own.
    let placed = clients.place("life", customer).await?;
    let order_id = placed.order_id.clone();
    let charged = placed.quote.as_ref().and_then(|quote| quote.total.clone()).unwrap_or_default();
    assert_eq!(charged.currency, "EUR");
    assert!(charged.amount_minor > 0, "the order is quoted: {placed:?}");
    clients.order_reaches(&order_id, v1::OrderStatus::Accepted).await?;

    // CRM sees a customer who has ordered: active, one order, nothing delivered yet.
    let before = clients.crm_counts(customer, "CRM to count the order", |totals| totals.orders == 1).await?;
    let known = before.customer.clone().unwrap_or_default();
    assert_eq!(known.lifecycle, v1::LifecycleClass::Active as i32, "{known:?}");
    let totals = known.totals.clone().unwrap_or_default();
    assert_eq!(totals.delivered_orders, 0);
    assert_eq!(totals.revenue, Some(charged.clone()), "revenue is what the order is charged");

    // Dispatch plans the task by itself; it is hauled to the Munich hub.
    let task = clients.task_reaches(&order_id, v1::TaskStatus::Planned).await?;
    assert_eq!(task.order_id, order_id);
    assert_eq!(task.kind, v1::TaskKind::Forward as i32);

    // Nothing happens to the order until the dispatcher assigns it: from here on, a watch
    // streams exactly the events TrackOrder lists (checked at the end).
    let before_watch = clients
        .intake
        .clone()
        .track_order(v1::TrackOrderRequest { order_id: order_id.clone(), min_position: 0 })
        .await?
        .into_inner()
        .timeline
        .last()
        .map_or(0, |entry| entry.position);
    let watched = Arc::new(Mutex::new(Vec::<v1::TimelineEntry>::new()));
    let mut watch = clients
        .intake
        .clone()
        .watch_order(v1::WatchOrderRequest { order_id: order_id.clone(), min_position: 0 })
        .await?
        .into_inner();
    let first = watch.message().await?.and_then(|update| update.event).unwrap_or_default();
    assert!(first.position <= before_watch, "the watch begins with the order's latest event: {first:?}");
    let streamed = watched.clone();
    let watching = tokio::spawn(async move {
        while let Ok(Some(update)) = watch.message().await {
            streamed.lock().expect("not poisoned").extend(update.event);
        }
    });
    clients.haul("life", &order_id).await?;
    clients.task_reaches(&order_id, v1::TaskStatus::Arrived).await?;

    // Delivery schedules the last mile by itself, with a promised window; the courier
    // hands the parcel over against a signed proof.
    let scheduled = clients.delivery_reaches(&order_id, v1::DeliveryStatus::Scheduled).await?;
    assert!(scheduled.promised_window.is_some(), "{scheduled:?}");
    clients.out_for_delivery("life", &order_id).await?;
    let handover = clients.hand_over("life", &order_id).await?;
    let delivered = clients.order_reaches(&order_id, v1::OrderStatus::Delivered).await?;

    // The customer's timeline tells the story, with the proof of the handover.
    let tracked = clients
        .intake
        .clone()
        .track_order(v1::TrackOrderRequest { order_id: order_id.clone(), min_position: delivered.version })
        .await?
        .into_inner();
    assert_timeline_names(&tracked.timeline, &["intake", "dispatch", "delivery"]);
    let proofs: Vec<&v1::ProofOfDelivery> =
        tracked.timeline.iter().filter_map(|entry| entry.proof_of_delivery.as_ref()).collect();
    assert_eq!(proofs, [&handover], "one handover, with its proof");

    // The customer returns one book. After-sales knows the order was delivered (from the
    // log); the approval makes dispatch plan the reverse pickup by itself.
    let mut aftersales = clients.aftersales.clone();
    let requested = eventually("after-sales to accept a return of the delivered order", || {
        let mut aftersales = aftersales.clone();
        let order_id = order_id.clone();
        async move {
            let body = v1::RequestReturnRequest {
                request_id: "life-return".into(),
                return_id: String::new(),
                order_id,
                reason: "ordered one too many".into(),
                lines: vec![v1::ReturnLine { cargo_index: 0, quantity: 1, description: String::new() }],
            };
            aftersales.request_return(request(&Caller::customer("erika", customer), body)).await.ok()
        }
    })
    .await?
    .into_inner();
    let return_case = requested.return_case.unwrap_or_default();
    let return_id = return_case.return_id.clone();
    assert_eq!(return_case.status, v1::ReturnStatus::Requested as i32);
    assert_eq!(return_case.customer_id, customer);
    aftersales
        .approve_return(request(
            &agent(),
            v1::ApproveReturnRequest {
                request_id: "life-approve".into(),
                return_id: return_id.clone(),
                note: String::new(),
            },
        ))
        .await?;
    let reverse = clients.task_reaches(&return_id, v1::TaskStatus::Planned).await?;
    assert_eq!(reverse.kind, v1::TaskKind::Reverse as i32);
    assert_eq!(reverse.order_id, order_id);
    assert_eq!(reverse.origin.map(|address| address.city), Some("Munich".to_owned()), "from the consignee");
    aftersales
        .receive_return(request(
            &warehouse(),
            v1::ReceiveReturnRequest {
                request_id: "life-receive".into(),
                return_id: return_id.clone(),
                note: "undamaged".into(),
            },
        ))
        .await?;

    // A refund above the charge is refused; a refund within it is paid.
    aftersales
        .refund_return(request(
            &agent(),
            refund("life-refund-too-much", &return_id, eur(charged.amount_minor + 1)),
        ))
        .await
        .refused(Code::FailedPrecondition, "no refund above what was charged");
    let half = charged.amount_minor / 2;
    let refunded = aftersales
        .refund_return(request(&agent(), refund("life-refund", &return_id, eur(half))))
        .await?
        .into_inner()
        .return_case
        .unwrap_or_default();
    assert_eq!(refunded.status, v1::ReturnStatus::Refunded as i32);
    assert_eq!(refunded.refunded, Some(eur(half)));
    let closed = aftersales
        .close_return(request(
            &agent(),
            v1::CloseReturnRequest { request_id: "life-close".into(), return_id: return_id.clone() },
        ))
        .await?
        .into_inner()
        .return_case
        .unwrap_or_default();
    assert!(closed.survey.is_some(), "closing asks the customer for a survey");

    // The customer complains about the delay; an agent acknowledges and resolves it in time.
    let filed = clients.complain_of_delay("life", customer, &order_id, "a day later than promised").await?;
    assert_eq!(filed.status, v1::ComplaintStatus::Filed as i32);
    assert!(filed.acknowledge_by.is_some() && filed.resolve_by.is_some(), "{filed:?}");
    let complaint_id = filed.complaint_id.clone();
    aftersales
        .acknowledge_complaint(request(
            &agent(),
            v1::AcknowledgeComplaintRequest {
                request_id: "life-ack".into(),
                complaint_id: complaint_id.clone(),
                note: "looking into it".into(),
            },
        ))
        .await?;
    let resolved = aftersales
        .resolve_complaint(request(
            &agent(),
            v1::ResolveComplaintRequest {
                request_id: "life-resolve".into(),
                complaint_id: complaint_id.clone(),
                resolution: "apologised; voucher sent".into(),
                compensation: None,
            },
        ))
        .await?
        .into_inner()
        .complaint
        .unwrap_or_default();
    assert_eq!(resolved.status, v1::ComplaintStatus::Resolved as i32);
    assert!(resolved.resolved_within_sla);

    // The survey answer is recorded, once.
    let answer = v1::RecordSurveyResponseRequest {
        request_id: "life-survey".into(),
        case_kind: v1::CaseKind::Return.into(),
        case_id: return_id.clone(),
        csat: 4,
        nps: 10,
        comment: "quick refund".into(),
    };
    let last_write = aftersales
        .record_survey_response(request(&Caller::customer("erika", customer), answer.clone()))
        .await?
        .into_inner()
        .position;
    aftersales
        .record_survey_response(request(
            &Caller::customer("erika", customer),
            v1::RecordSurveyResponseRequest { request_id: "life-survey-2".into(), ..answer },
        ))
        .await
        .refused(Code::FailedPrecondition, "a survey is answered once");
    let surveyed = aftersales
        .get_return(v1::GetReturnRequest { return_id: return_id.clone(), min_position: 0 })
        .await?
        .into_inner()
        .return_case
        .and_then(|case| case.survey)
        .unwrap_or_default();
    assert_eq!((surveyed.csat, surveyed.nps), (4, 10));
    assert!(surveyed.answered_at.is_some());

    // CRM followed it all: delivered on time at the first attempt, the refund, the complaint
    // resolved within its SLA, the survey; the only customer with a profit is class A.
    let after = clients
        .crm_counts(customer, "CRM to see the survey answer", |totals| totals.nps_answers == 1)
        .await?;
    let known = after.customer.unwrap_or_default();
    let totals = known.totals.unwrap_or_default();
    assert_eq!(totals.orders, 1);
    assert_eq!(totals.delivered_orders, 1);
    assert_eq!(totals.cancelled_orders, 0);
    assert_eq!(totals.revenue, Some(charged.clone()));
    assert_eq!(totals.refunds, Some(eur(half)));
    assert_eq!(totals.complaints, 1);
    assert_eq!(totals.open_complaints, 0);
    assert_eq!(totals.csat.map(|csat| (csat.sum, csat.count)), Some((4, 1)));
    assert_eq!(totals.nps, Some(100), "one promoter");
    let cost = totals.cost_estimate.map(|cost| cost.amount_minor).unwrap_or_default();
    let profit = charged.amount_minor - half - cost;
    assert_eq!(totals.profit_contribution, Some(eur(profit)));
    assert_eq!(known.lifecycle, v1::LifecycleClass::Active as i32);
    let expected_class = if profit > 0 { v1::AbcClass::A } else { v1::AbcClass::C };
    assert_eq!(known.abc_class, expected_class as i32, "profit {profit}");
    let kpis = after.kpis.unwrap_or_default();
    let rate = |rate: Option<v1::Rate>| rate.map(|rate| (rate.numerator, rate.denominator));
    assert_eq!(rate(kpis.on_time_delivery), Some((1, 1)));
    assert_eq!(rate(kpis.first_attempt_delivery), Some((1, 1)));
    assert_eq!(rate(kpis.complaints_resolved_within_sla), Some((1, 1)));
    assert_eq!(rate(kpis.cancellation), Some((0, 1)));
    assert_eq!(kpis.lead_time.map(|lead| lead.delivered_orders), Some(1));

    // The watch streamed what TrackOrder lists, every service's events about the order,
    // the notifications, the ledger's entries and the complaint filed while it watched.
    let tracked = clients
        .intake
        .clone()
        .track_order(v1::TrackOrderRequest { order_id: order_id.clone(), min_position: last_write })
        .await?
        .into_inner()
        .timeline;
    let last = tracked.last().map_or(0, |entry| entry.position);
    eventually("the watch to reach the order's latest event", || async {
        watched.lock().expect("not poisoned").iter().any(|entry| entry.position >= last).then_some(())
    })
    .await?;
    watching.abort();
    let seen = |entries: &[v1::TimelineEntry]| -> Vec<(u64, String, String)> {
        entries
            .iter()
            .filter(|entry| entry.position > before_watch)
            .map(|entry| (entry.position, entry.event_type.clone(), entry.summary.clone()))
            .collect()
    };
    let expected = seen(&tracked);
    assert_eq!(seen(&watched.lock().expect("not poisoned")), expected);
    for event_type in [
        "waybill.delivery.customer_notification_requested.v1",
        "waybill.aftersales.refund_issued.v1",
        "waybill.aftersales.complaint_resolved.v1",
        "waybill.aftersales.survey_answered.v1",
    ] {
        assert!(
            expected.iter().any(|(_, listed, _)| listed == event_type),
            "{event_type} missing: {expected:#?}"
        );
    }
    Ok(())
}
