//! After-sales with the real intake on a real nats-server; delivery's events are appended by
//! the test as delivery writes them. Returns flow to a refund (and ask dispatch for a
//! pickup on the log), refunds racing for one order's charge cannot both win, and a lost
//! delivery opens exactly one claim however often its event is handled.

mod support;

use std::sync::Arc;
use waybill_fixtures::Caller;
use waybill_fixtures::{Refusal, refund};

use prost::Message;
use support::*;
use tonic::Code;
use waybill_aftersales::commands::{ClaimRunner, SystemClock};
use waybill_aftersales::domain::{CaseId, Policy};
use waybill_aftersales::reactions;
use waybill_aftersales::read_model::AfterSalesBook;
use waybill_aftersales::server::{Settings, projected_subjects};
use waybill_eventlog::{EventLog, Projector};
use waybill_proto::v1::{self, after_sales_event, event_envelope::Payload};
use waybill_testkit::{InProcess, NatsServer};

/// Requests, approves and receives a return of `quantity` books; returns its id.
async fn received_return(client: &mut AfterSales, order_id: &str, tag: &str, quantity: u32) -> String {
    let requested = client
        .request_return(return_request(&format!("{tag}-request"), order_id, quantity, "ordered one too many"))
        .await;
    let return_id = requested.expect("return requested").into_inner().return_case.expect("case").return_id;
    client
        .approve_return(return_approval(&format!("{tag}-approve"), &return_id))
        .await
        .expect("return approved");
    let back = return_receipt(&format!("{tag}-receive"), &return_id, "both books back, undamaged");
    client.receive_return(back).await.expect("return received");
    return_id
}

/// Intake and after-sales started, the log opened, and the standard order placed (request
/// `request_id`).
async fn placed_order(
    nats: &NatsServer,
    request_id: &str,
) -> (InProcess<Intake>, InProcess<AfterSales>, EventLog, Placed) {
    let intake = start_intake(nats).await;
    let aftersales = start_aftersales(nats, Settings::default()).await;
    let log = log(nats).await;
    let placed = place_order(&mut intake.client(Caller::customer_service("shop")).await, request_id).await;
    (intake, aftersales, log, placed)
}

/// [`placed_order`], the order handed over two days ago (well inside the return window).
async fn delivered_two_days_ago(
    nats: &NatsServer,
) -> (InProcess<Intake>, InProcess<AfterSales>, EventLog, Placed) {
    let (intake, aftersales, log, placed) = placed_order(nats, "order-1").await;
    deliver(&log, &placed.order_id, chrono::Utc::now() - chrono::Duration::days(2)).await;
    (intake, aftersales, log, placed)
}

#[tokio::test]
async fn a_return_flows_from_request_to_refund_and_asks_dispatch_for_the_reverse_pickup() {
    let nats = NatsServer::start();
    let (_intake, aftersales, log, placed) = delivered_two_days_ago(&nats).await;
    let mut client = aftersales.client(agent()).await;
    // Money is a separate duty from opening the case (docs/SECURITY.md).
    let finance = aftersales.client(Caller::finance("fin")).await;

    let return_id = received_return(&mut client, &placed.order_id, "r1", 1).await;

    // The approval asked dispatch for the reverse pickup, on the log, in the same append.
    let subject = format!("waybill.aftersales.return.{}.{return_id}", placed.order_id);
    let types = event_types(&nats, &subject).await;
    assert_eq!(
        types,
        [
            "waybill.aftersales.return_requested.v1",
            "waybill.aftersales.return_approved.v1",
            "waybill.aftersales.return_pickup_requested.v1",
            "waybill.aftersales.return_received.v1",
        ]
    );
    let history = log.read_subject(&subject).await.expect("read the return");
    let envelope = v1::EventEnvelope::decode(history[2].payload.as_ref()).expect("an envelope");
    assert_eq!(envelope.order_id, placed.order_id);
    let Some(Payload::Aftersales(v1::AfterSalesEvent {
        event: Some(after_sales_event::Event::ReturnPickupRequested(pickup)),
    })) = envelope.payload
    else {
        panic!("expected a pickup request, got {:?}", envelope.payload);
    };
    assert_eq!(pickup.return_id, return_id);
    assert_eq!(pickup.pickup_address.expect("pickup").city, "Munich", "picked up at the consignee's");
    assert_eq!(pickup.destination_address.expect("destination").city, "Berlin", "back to the shipper");
    assert_eq!(
        pickup.load,
        Some(v1::Load { weight_grams: 3_000, volume_cm3: 24_000 }),
        "one book comes back"
    );

    // The agent requested the return: holding the finance role too, it still may not refund
    // it (separation of duties); nothing is written.
    let own = client
        .refund_return(refund("r1-own-refund", &return_id, eur(1)))
        .await
        .refused(Code::PermissionDenied, "its own return");
    assert!(
        own.message().contains("separation of duties: nobody refunds a return they requested"),
        "{own:?}"
    );

    // Refund part of the charge, then try to refund more than is left.
    let half = placed.charged.amount_minor / 2;
    let refunded = finance
        .clone()
        .refund_return(refund("r1-refund", &return_id, eur(half)))
        .await
        .expect("refunded")
        .into_inner();
    let case = refunded.return_case.expect("case");
    assert_eq!(case.status, v1::ReturnStatus::Refunded as i32);
    assert_eq!(case.refunded, Some(eur(half)));
    finance
        .clone()
        .refund_return(refund("r1-refund-again", &return_id, eur(placed.charged.amount_minor - half + 1)))
        .await
        .refused(Code::FailedPrecondition, "more than was charged");
    assert_eq!(ledger_event_types(&nats, &placed.order_id).await, ["waybill.aftersales.refund_issued.v1"]);

    // Closing asks for a survey; the customer answers once.
    let closed = client
        .close_return(v1::CloseReturnRequest { request_id: "r1-close".into(), return_id: return_id.clone() })
        .await
        .expect("closed")
        .into_inner();
    assert!(closed.return_case.expect("case").survey.is_some(), "a survey was requested");
    let answer = v1::RecordSurveyResponseRequest {
        request_id: "r1-survey".into(),
        case_kind: v1::CaseKind::Return.into(),
        case_id: return_id.clone(),
        csat: 4,
        nps: 9,
        comment: "quick refund".into(),
    };
    client.record_survey_response(answer.clone()).await.expect("answered");
    client
        .record_survey_response(v1::RecordSurveyResponseRequest {
            request_id: "r1-survey-2".into(),
            ..answer
        })
        .await
        .refused(Code::FailedPrecondition, "answered once only");
    // A model rebuilt from the log (a restart, another replica) holds the same return.
    let rebuilt =
        Projector::spawn(log.clone(), projected_subjects(), AfterSalesBook::new()).await.expect("model");
    rebuilt.wait_caught_up(std::time::Duration::from_secs(10)).await.expect("caught up");
    let live = client
        .get_return(v1::GetReturnRequest {
            return_id: return_id.clone(),
            min_position: log.head().await.expect("head"),
        })
        .await
        .expect("get")
        .into_inner()
        .return_case;
    let replayed = rebuilt
        .read()
        .return_case(&CaseId::parse(&return_id).expect("uuid"))
        .map(|record| waybill_aftersales::api::return_to_wire(&record.state, record.version));
    assert_eq!(replayed, live);
    let types = event_types(&nats, &subject).await;
    assert_eq!(
        types[types.len() - 3..],
        [
            "waybill.aftersales.return_closed.v1",
            "waybill.aftersales.survey_requested.v1",
            "waybill.aftersales.survey_answered.v1",
        ]
    );
}

#[tokio::test]
async fn two_refunds_racing_for_one_orders_charge_cannot_both_be_paid() {
    let nats = NatsServer::start();
    let (_intake, aftersales, log, placed) = placed_order(&nats, "order-2").await;
    deliver(&log, &placed.order_id, chrono::Utc::now()).await;
    let mut client = aftersales.client(agent()).await;
    // Money is a separate duty from opening the case (docs/SECURITY.md).
    let finance = aftersales.client(Caller::finance("fin")).await;
    // Each book comes back in its own return.
    let first = received_return(&mut client, &placed.order_id, "a", 1).await;
    let second = received_return(&mut client, &placed.order_id, "b", 1).await;

    // Each refund is 60 % of the charge: either alone fits, both together do not.
    let amount = placed.charged.amount_minor * 6 / 10;
    let refund_of = |return_id: String, request_id: &'static str| {
        let mut client = finance.clone();
        async move { client.refund_return(refund(request_id, &return_id, eur(amount))).await }
    };
    let (one, other) = tokio::join!(refund_of(first, "refund-a"), refund_of(second, "refund-b"));
    let outcomes = [one, other];
    let paid = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(paid, 1, "exactly one refund is paid: {outcomes:?}");
    let refused = outcomes.iter().find_map(|outcome| outcome.as_ref().err()).expect("one refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(ledger_event_types(&nats, &placed.order_id).await, ["waybill.aftersales.refund_issued.v1"]);
}

#[tokio::test]
async fn a_lost_delivery_opens_exactly_one_claim_however_often_it_is_handled() {
    let nats = NatsServer::start();
    let (_intake, aftersales, log, placed) = placed_order(&nats, "order-3").await;
    let (exception_id, _) = raise_exception(&log, &placed.order_id, v1::DeliveryExceptionKind::Lost).await;
    let mut client = aftersales.client(agent()).await;
    let by_order = v1::ListCasesRequest {
        order_id: placed.order_id.clone(),
        kind: v1::CaseKind::Claim.into(),
        ..Default::default()
    };
    let cases = wait_for_cases(&mut client, by_order.clone(), |cases| !cases.is_empty()).await;
    let Some(v1::case::Case::Claim(claim)) = cases[0].case.clone() else { panic!("a claim") };
    assert!(claim.automatic);
    assert_eq!(claim.kind, v1::ClaimKind::Lost as i32);
    assert_eq!(claim.claimed, Some(eur(10_000)), "a loss claims the declared value");
    assert_eq!(claim.claim_id, reactions::claim_id_for(&exception_id).to_string());

    // The handler runs again on the same event (a redelivery), twice.
    let book =
        Projector::spawn(log.clone(), projected_subjects(), AfterSalesBook::new()).await.expect("model");
    let runner = ClaimRunner::new(log.clone(), book, Policy::default(), Arc::new(SystemClock));
    let subject = format!("waybill.delivery.task.{0}.{0}", placed.order_id);
    let recorded = log.read_subject(&subject).await.expect("read").pop().expect("the exception");
    for _ in 0..2 {
        reactions::open_claim_on_exception(runner.clone(), recorded.clone()).await.expect("handled again");
    }
    // And the service restarts (its model replays the log).
    aftersales.stop().await;
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    let mut client = aftersales.client(agent()).await;
    // Money is a separate duty from opening the case (docs/SECURITY.md).
    let finance = aftersales.client(Caller::finance("fin")).await;
    let cases = client.list_cases(by_order).await.expect("list").into_inner().cases;
    assert_eq!(cases.len(), 1, "one claim: {cases:?}");
    assert_eq!(
        event_types(&nats, &format!("waybill.aftersales.claim.{}.{}", placed.order_id, claim.claim_id)).await,
        ["waybill.aftersales.claim_opened.v1"]
    );

    // Approval stays within the declared value; payments for the order too.
    finance
        .clone()
        .approve_claim(claim_approval("approve-above", &claim.claim_id, eur(10_001)))
        .await
        .refused(Code::FailedPrecondition, "above the declared value");
    finance
        .clone()
        .approve_claim(claim_approval("approve", &claim.claim_id, eur(10_000)))
        .await
        .expect("approved");
    let paid = finance
        .clone()
        .pay_claim(v1::PayClaimRequest { request_id: "pay".into(), claim_id: claim.claim_id.clone() })
        .await
        .expect("paid")
        .into_inner();
    assert_eq!(paid.claim.expect("claim").paid, Some(eur(10_000)));
    let second = client
        .open_claim(agent_claim("agent-claim", &placed.order_id, "the customer also claims the packaging"))
        .await
        .expect("opened by an agent")
        .into_inner()
        .claim
        .expect("claim");
    // The declared value is all paid: the approval is refused already, not the payment.
    finance
        .clone()
        .approve_claim(claim_approval("approve-2", &second.claim_id, eur(1)))
        .await
        .refused(Code::FailedPrecondition, "the order's claims would exceed its declared value");
    let refused = client
        .get_claim(v1::GetClaimRequest { claim_id: second.claim_id, min_position: 0 })
        .await
        .expect("claim")
        .into_inner()
        .claim
        .expect("claim");
    assert_eq!(refused.status, v1::ClaimStatus::Open as i32, "not left approved for money that is gone");
}

/// Opens an agent's claim on `order_id`; returns its id.
async fn agents_claim(client: &mut AfterSales, order_id: &str, tag: &str) -> String {
    client
        .open_claim(agent_claim(&format!("{tag}-open"), order_id, "damaged contents"))
        .await
        .expect("claim opened")
        .into_inner()
        .claim
        .expect("claim")
        .claim_id
}

#[tokio::test]
async fn a_claim_is_approved_only_for_what_is_left_of_the_declared_value_and_two_approvals_cannot_both_take_it()
 {
    let nats = NatsServer::start();
    let (_intake, aftersales, _log, placed) = placed_order(&nats, "order-4").await;
    let mut client = aftersales.client(agent()).await;
    // Money is a separate duty from opening the case (docs/SECURITY.md).
    let finance = aftersales.client(Caller::finance("fin")).await;

    // 55.00 of the declared 100.00 paid: 45.00 are left.
    let first = eventually_claim(&mut client, &placed.order_id, "first").await;
    finance
        .clone()
        .approve_claim(claim_approval("approve-first", &first, eur(5_500)))
        .await
        .expect("approved");
    finance
        .clone()
        .pay_claim(v1::PayClaimRequest { request_id: "pay-first".into(), claim_id: first })
        .await
        .expect("paid");
    let second = agents_claim(&mut client, &placed.order_id, "second").await;
    // The agent opened it: it may neither approve nor pay it, finance role or not.
    let own = client
        .approve_claim(claim_approval("approve-own", &second, eur(100)))
        .await
        .refused(Code::PermissionDenied, "its own claim");
    assert!(own.message().contains("nobody approves or pays a claim they opened"), "{own:?}");
    let over = finance
        .clone()
        .approve_claim(claim_approval("approve-second-50", &second, eur(5_000)))
        .await
        .refused(Code::FailedPrecondition, "50.00 is more than is left");
    assert!(over.message().contains("what is left of the declared value: 45.00 EUR"), "{}", over.message());
    let approved = finance
        .clone()
        .approve_claim(claim_approval("approve-second-45", &second, eur(4_500)))
        .await
        .expect("what is left")
        .into_inner()
        .claim
        .expect("claim");
    assert_eq!(approved.approved, Some(eur(4_500)));
    // A rejection of the approved claim gives the 45.00 back; two agents then race for them.
    client
        .reject_claim(v1::RejectClaimRequest {
            request_id: "reject-second".into(),
            claim_id: second.clone(),
            reason: "the customer withdrew it".into(),
        })
        .await
        .expect("rejected");
    let third = agents_claim(&mut client, &placed.order_id, "third").await;
    let fourth = agents_claim(&mut client, &placed.order_id, "fourth").await;
    let race = |claim_id: String, request_id: &'static str| {
        let mut client = finance.clone();
        async move { client.approve_claim(claim_approval(request_id, &claim_id, eur(3_000))).await }
    };
    let (one, other) = tokio::join!(race(third, "approve-third"), race(fourth, "approve-fourth"));
    let outcomes = [one, other];
    assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 1, "one approval: {outcomes:?}");
    let refused = outcomes.iter().find_map(|outcome| outcome.as_ref().err()).expect("one refused");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let winner = outcomes
        .iter()
        .find_map(|outcome| outcome.as_ref().ok())
        .and_then(|response| response.get_ref().claim.clone())
        .expect("the approved claim");
    // The winner is paid: an approval is never left without the money to pay it.
    let paid = finance
        .clone()
        .pay_claim(v1::PayClaimRequest { request_id: "pay-winner".into(), claim_id: winner.claim_id })
        .await
        .expect("the approved claim is paid")
        .into_inner()
        .claim
        .expect("claim");
    assert_eq!(paid.status, v1::ClaimStatus::Paid as i32);
    assert_eq!(
        ledger_event_types(&nats, &placed.order_id).await,
        [
            "waybill.aftersales.claim_amount_reserved.v1",
            "waybill.aftersales.claim_payment_issued.v1",
            "waybill.aftersales.claim_amount_reserved.v1",
            "waybill.aftersales.claim_reservation_released.v1",
            "waybill.aftersales.claim_amount_reserved.v1",
            "waybill.aftersales.claim_payment_issued.v1",
        ]
    );
}

/// An agent's claim on a placed order; after-sales learns of the order from the log, so ask
/// until it has.
async fn eventually_claim(client: &mut AfterSales, order_id: &str, tag: &str) -> String {
    for _ in 0..100 {
        let opened =
            client.open_claim(agent_claim(&format!("{tag}-open"), order_id, "damaged contents")).await;
        if let Ok(opened) = opened {
            return opened.into_inner().claim.expect("claim").claim_id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("after-sales never learned of order {order_id}");
}

/// Dispatch reports the reverse pickup of a return an hour from now (a driver's device
/// running fast); a receipt recorded now would come before the goods left the customer:
/// FAILED_PRECONDITION naming `received_at` and the pickup, and nothing is written.
#[tokio::test]
async fn a_receipt_before_the_reverse_pickup_dispatch_reported_is_refused() {
    let nats = NatsServer::start();
    let (_intake, aftersales, log, placed) = delivered_two_days_ago(&nats).await;
    let mut client = aftersales.client(Caller::after_sales("agent")).await;
    let requested =
        client.request_return(return_request("p-request", &placed.order_id, 1, "ordered one too many")).await;
    let return_id = requested.expect("return requested").into_inner().return_case.expect("case").return_id;
    client.approve_return(return_approval("p-approve", &return_id)).await.expect("return approved");

    // The reverse shipment's task has the return's id.
    let picked_up = v1::DispatchEvent {
        event: Some(v1::dispatch_event::Event::TaskPickedUp(v1::TaskPickedUp::default())),
    };
    let subject = waybill_eventlog::subject::in_order("dispatch", "task", &placed.order_id, &return_id);
    let at = chrono::Utc::now() + chrono::Duration::hours(1);
    let event_type = "waybill.dispatch.task_picked_up.v1";
    let pickup = waybill_fixtures::foreign::append(
        &log,
        &subject,
        &placed.order_id,
        event_type,
        at,
        Payload::Dispatch(picked_up),
    )
    .await;

    // The receipt waits until after-sales has read the pickup (the position header).
    let mut request = tonic::Request::new(return_receipt("p-receive", &return_id, ""));
    let floor = pickup.position.to_string().parse().expect("a header value");
    request.metadata_mut().insert("waybill-min-position", floor);
    let refused = client.receive_return(request).await.expect_err("received before the pickup");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("received_at") && refused.message().contains("the reverse pickup"),
        "{refused:?}"
    );
    let types =
        event_types(&nats, &format!("waybill.aftersales.return.{}.{return_id}", placed.order_id)).await;
    assert!(!types.iter().any(|event_type| event_type.ends_with("return_received.v1")), "{types:?}");
}
