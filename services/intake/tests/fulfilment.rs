//! Intake following dispatch's and delivery's facts on a real nats-server: the events are
//! appended here exactly as those services write them (the public contract in proto/), so
//! intake is tested on its own; tests/ at the workspace root runs the real services together.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use support::{Client, Intake, placement, positions_of, start_intake, track_order, wait_until};
use tonic::Code;
use waybill_command::AggregateStore;
use waybill_eventlog::{EventLog, NewEvent, Projector, subject};
use waybill_fixtures::Refusal;
use waybill_fixtures::cancellation;
use waybill_fixtures::{Caller, Role};
use waybill_intake::commands::{CommandMeta, SystemClock};
use waybill_intake::domain::{
    AttemptFailure, Command, FailedAttempt, Order, OrderStatus as DomainStatus, Policy,
};
use waybill_proto::v1::{
    self, OrderStatus, after_sales_event, delivery_event, dispatch_event, event_envelope::Payload,
};
use waybill_testkit::NatsServer;
use waybill_types::{Actor, OrderId};

/// Appends one event of `service`'s task for `order_id` (task id = order id), as that
/// service would; returns its position.
async fn append_fact(
    log: &EventLog,
    service: &str,
    order_id: &str,
    event_type: &str,
    payload: Payload,
) -> u64 {
    let subject = subject::in_order(service, "task", order_id, order_id);
    append_on(log, &subject, order_id, event_type, payload).await
}

/// Appends one event about `order_id` on `subject` (whose last token is the aggregate id),
/// as its owner would; returns its position.
async fn append_on(log: &EventLog, subject: &str, order_id: &str, event_type: &str, payload: Payload) -> u64 {
    waybill_fixtures::foreign::append_now(log, subject, order_id, event_type, payload).await.position
}

fn aftersales(event: after_sales_event::Event) -> Payload {
    Payload::Aftersales(v1::AfterSalesEvent { event: Some(event) })
}

fn dispatch(event: dispatch_event::Event) -> Payload {
    Payload::Dispatch(v1::DispatchEvent { event: Some(event) })
}

fn delivery(event: delivery_event::Event) -> Payload {
    Payload::Delivery(v1::DeliveryEvent { event: Some(event) })
}

fn proof() -> v1::ProofOfDelivery {
    waybill_fixtures::proof_of_delivery(chrono::Utc::now())
}

/// Intake on a nats-server of its own, with one order (`place-1`) it accepted, and the log
/// to write other services' facts on.
struct Accepted {
    nats: NatsServer,
    intake: Intake,
    log: EventLog,
    client: Client,
    order: v1::Order,
}

async fn accepted_order(caller: Caller) -> Accepted {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    let mut client = intake.client(caller).await;
    let order = client.place_order(placement("place-1", "cust-1")).await.expect("placed").into_inner();
    let order_id = order.order.expect("order").order_id;
    let order = wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;
    Accepted { nats, intake, log, client, order }
}

#[tokio::test]
async fn pickup_closes_amendments_and_a_delivered_order_shows_its_proof_in_the_timeline() {
    let Accepted { nats: _nats, intake, log, mut client, order: accepted } =
        accepted_order(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let order_id = accepted.order_id.clone();
    let watch = v1::WatchOrderRequest { order_id: order_id.clone(), min_position: accepted.version };
    let mut updates = client.watch_order(watch).await.expect("watching").into_inner();
    let first = updates.message().await.expect("stream").expect("the order as it is");
    assert_eq!(first.order.map(|order| order.status), Some(OrderStatus::Accepted as i32));

    append_fact(
        &log,
        "dispatch",
        &order_id,
        "waybill.dispatch.task_packed.v1",
        dispatch(dispatch_event::Event::TaskPacked(v1::TaskPacked {})),
    )
    .await;
    append_fact(
        &log,
        "dispatch",
        &order_id,
        "waybill.dispatch.task_picked_up.v1",
        dispatch(dispatch_event::Event::TaskPickedUp(v1::TaskPickedUp {
            vehicle_id: "van-1".into(),
            driver_id: String::new(),
        })),
    )
    .await;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::PickedUp).await;

    // The watcher saw dispatch's milestones, then intake's own record of the pickup.
    let mut seen = Vec::new();
    while seen.last().map(|(service, _, _): &(String, String, i32)| service.as_str()) != Some("intake") {
        let update = updates.message().await.expect("stream").expect("an update");
        let event = update.event.expect("event");
        seen.push((
            event.service,
            event.event_type,
            update.order.map(|order| order.status).unwrap_or_default(),
        ));
    }
    assert_eq!(
        seen,
        [
            (
                "dispatch".to_owned(),
                "waybill.dispatch.task_packed.v1".to_owned(),
                OrderStatus::Accepted as i32
            ),
            (
                "dispatch".to_owned(),
                "waybill.dispatch.task_picked_up.v1".to_owned(),
                OrderStatus::Accepted as i32
            ),
            (
                "intake".to_owned(),
                "waybill.intake.order_picked_up.v1".to_owned(),
                OrderStatus::PickedUp as i32
            ),
        ]
    );

    // Picked up: the goods are on their way, the order can no longer change.
    client
        .cancel_order(cancellation("cancel-late", &order_id, "too late"))
        .await
        .refused(Code::FailedPrecondition, "cancel after pickup");

    append_fact(&log, "delivery", &order_id, "waybill.delivery.delivery_started.v1", started()).await;
    let handover_proof = proof();
    let completed = append_fact(
        &log,
        "delivery",
        &order_id,
        "waybill.delivery.delivery_completed.v1",
        delivery_completed(handover_proof.clone()),
    )
    .await;
    let delivered =
        wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Delivered).await;
    assert!(delivered.version > completed, "the delivery is recorded on the order after delivery's event");

    let tracked = track_order(&mut client, &order_id, delivered.version).await;
    let services: Vec<&str> = tracked.timeline.iter().map(|entry| entry.service.as_str()).collect();
    assert!(services.contains(&"dispatch") && services.contains(&"delivery"), "{services:?}");
    let positions: Vec<u64> = tracked.timeline.iter().map(|entry| entry.position).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "log order: {positions:?}");
    let handover = tracked
        .timeline
        .iter()
        .find(|entry| entry.position == completed)
        .expect("the delivery's completion is on the timeline");
    assert_eq!(handover.proof_of_delivery.as_ref(), Some(&handover_proof));
    assert!(handover.summary.contains("Erika Mustermann"), "{}", handover.summary);
    intake.stop().await;
}

#[tokio::test]
async fn a_redelivered_fact_is_recorded_once_and_a_reverse_pickup_is_not_the_orders() {
    let Accepted { nats: _nats, intake, log, mut client, order: accepted } =
        accepted_order(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let order_id = accepted.order_id.clone();

    // A reverse shipment's task names the order but has its own id: not this order's pickup.
    let return_id = uuid::Uuid::now_v7().to_string();
    let reverse_pickup = dispatch(dispatch_event::Event::TaskPickedUp(v1::TaskPickedUp::default()));
    let reverse_task = subject::in_order("dispatch", "task", &order_id, &return_id);
    append_on(&log, &reverse_task, &order_id, "waybill.dispatch.task_picked_up.v1", reverse_pickup).await;

    // The same pickup delivered twice (two events with the same id stand for a redelivery).
    let pickup = |event_id: uuid::Uuid| {
        let envelope = v1::EventEnvelope {
            event_id: event_id.to_string(),
            event_type: "waybill.dispatch.task_picked_up.v1".into(),
            aggregate_id: order_id.clone(),
            order_id: order_id.clone(),
            occurred_at: Some(waybill_proto::convert::timestamp_to_wire(chrono::Utc::now())),
            payload: Some(dispatch(dispatch_event::Event::TaskPickedUp(v1::TaskPickedUp::default()))),
            ..Default::default()
        };
        NewEvent {
            event_id,
            event_type: envelope.event_type.clone(),
            aggregate_id: order_id.clone(),
            occurred_at: chrono::Utc::now(),
            payload: Bytes::from(envelope.encode_to_vec()),
        }
    };
    let pickup_id = uuid::Uuid::now_v7();
    let task = subject::in_order("dispatch", "task", &order_id, &order_id);
    let first_pickup = log.append(&task, None, "pickup-a", &[pickup(pickup_id)]).await.expect("append").last;
    log.append(&task, None, "pickup-b", &[pickup(pickup_id)]).await.expect("append");
    // A later fact: once it is recorded, the consumer has handled everything before it.
    let started =
        append_fact(&log, "delivery", &order_id, "waybill.delivery.delivery_started.v1", started()).await;
    let out = wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::OutForDelivery).await;
    assert!(out.version > started && accepted.version < first_pickup);

    let tracked = track_order(&mut client, &order_id, out.version).await;
    let recorded = positions_of(&tracked.timeline, "waybill.intake.order_picked_up.v1");
    assert_eq!(recorded.len(), 1, "one pickup recorded: {:#?}", tracked.timeline);
    assert!(recorded[0] > first_pickup, "recorded from the order's own task, not the reverse one");
    intake.stop().await;
}

#[tokio::test]
async fn the_timeline_shows_the_orders_returns_reverse_shipments_and_complaints_and_no_others() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    let mut client =
        intake.client(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let mut order_ids = Vec::new();
    for request_id in ["place-1", "place-2"] {
        let order = client.place_order(placement(request_id, "cust-1")).await.expect("placed").into_inner();
        order_ids.push(order.order.expect("order").order_id);
    }
    let (order_id, other_order_id) = (&order_ids[0], &order_ids[1]);

    let return_id = uuid::Uuid::now_v7().to_string();
    let return_subject = subject::in_order("aftersales", "return", order_id, &return_id);
    let requested = v1::ReturnRequested {
        order_id: order_id.clone(),
        customer_id: "cust-1".into(),
        reason: "ordered twice".into(),
        ..Default::default()
    };
    let event = after_sales_event::Event::ReturnRequested(requested.clone());
    append_on(&log, &return_subject, order_id, "waybill.aftersales.return_requested.v1", aftersales(event))
        .await;
    let event = after_sales_event::Event::ReturnApproved(v1::ReturnApproved::default());
    append_on(&log, &return_subject, order_id, "waybill.aftersales.return_approved.v1", aftersales(event))
        .await;
    // Dispatch's reverse shipment carries the return's id and names the order.
    let planned = dispatch_event::Event::TaskPlanned(v1::TaskPlanned {
        kind: v1::TaskKind::Reverse.into(),
        order_id: order_id.clone(),
        return_id: return_id.clone(),
        mode: v1::TransportMode::RoadCourier.into(),
        ..Default::default()
    });
    let reverse_subject = subject::in_order("dispatch", "task", order_id, &return_id);
    append_on(&log, &reverse_subject, order_id, "waybill.dispatch.task_planned.v1", dispatch(planned)).await;
    let complaint_subject =
        subject::in_order("aftersales", "complaint", order_id, &uuid::Uuid::now_v7().to_string());
    let filed = after_sales_event::Event::ComplaintFiled(v1::ComplaintFiled {
        customer_id: "cust-1".into(),
        order_id: order_id.clone(),
        category: v1::ComplaintCategory::BillingError.into(),
        description: "charged twice".into(),
        ..Default::default()
    });
    append_on(&log, &complaint_subject, order_id, "waybill.aftersales.complaint_filed.v1", aftersales(filed))
        .await;
    // Another order's return stays off this order's timeline.
    let other_subject =
        subject::in_order("aftersales", "return", other_order_id, &uuid::Uuid::now_v7().to_string());
    let other = after_sales_event::Event::ReturnRequested(v1::ReturnRequested {
        order_id: other_order_id.clone(),
        reason: "someone else's".into(),
        ..requested
    });
    let last = append_on(
        &log,
        &other_subject,
        other_order_id,
        "waybill.aftersales.return_requested.v1",
        aftersales(other),
    )
    .await;

    let tracked = track_order(&mut client, order_id, last).await;
    let after_sales: Vec<(&str, &str)> = tracked
        .timeline
        .iter()
        .filter(|entry| entry.service != "intake")
        .map(|entry| (entry.service.as_str(), entry.summary.as_str()))
        .collect();
    assert_eq!(
        after_sales,
        [
            ("aftersales", "return requested: ordered twice"),
            ("aftersales", "return approved"),
            ("dispatch", "return shipment: transport planned: road courier"),
            ("aftersales", "complaint filed (billing_error): charged twice"),
        ]
    );
    intake.stop().await;
}

/// Delivery's failed attempt `attempt` for `reason`, rescheduled to `next` (none: the last).
fn attempt_failed(attempt: u32, reason: v1::FailureReason, next: Option<v1::TimeWindow>) -> Payload {
    delivery(delivery_event::Event::DeliveryAttemptFailed(v1::DeliveryAttemptFailed {
        attempt,
        reason: reason.into(),
        note: String::new(),
        rescheduled_window: next,
    }))
}

fn started() -> Payload {
    delivery(delivery_event::Event::DeliveryStarted(v1::DeliveryStarted { courier_id: "c-1".into() }))
}

/// Delivery's DeliveryCompleted, on time at the first attempt, handed over with `proof`.
fn delivery_completed(proof: v1::ProofOfDelivery) -> Payload {
    delivery(delivery_event::Event::DeliveryCompleted(v1::DeliveryCompleted {
        proof: Some(proof),
        on_time: true,
        first_attempt: true,
    }))
}

#[tokio::test]
async fn the_order_follows_failed_attempts_departures_and_the_return_to_the_sender() {
    let Accepted { nats: _nats, intake, log, mut client, order } =
        accepted_order(Caller::customer_service("desk")).await;
    let order_id = order.order_id;
    let started_type = "waybill.delivery.delivery_started.v1";
    let failed_type = "waybill.delivery.delivery_attempt_failed.v1";
    append_fact(&log, "delivery", &order_id, started_type, started()).await;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::OutForDelivery).await;

    // The courier cannot find the address: the order says so, with the reason and the new window.
    let next_start = chrono::Utc::now() + chrono::Duration::hours(24);
    let next = v1::TimeWindow {
        start: Some(waybill_proto::convert::timestamp_to_wire(next_start)),
        end: Some(waybill_proto::convert::timestamp_to_wire(next_start + chrono::Duration::hours(4))),
    };
    append_fact(
        &log,
        "delivery",
        &order_id,
        failed_type,
        attempt_failed(1, v1::FailureReason::AddressWrong, Some(next)),
    )
    .await;
    let failed =
        wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::AttemptFailed).await;
    let last = failed.last_failed_attempt.expect("the failed attempt on the order");
    assert_eq!((last.attempt, last.reason), (1, v1::FailureReason::AddressWrong as i32));
    assert_eq!(last.next_window.map(|window| window.start), Some(next.start));

    // The one fix the failure calls for: the desk corrects the address before the next try.
    let mut corrected = failed.consignee.clone().and_then(|party| party.address).expect("address");
    corrected.lines = vec!["Leopoldstrasse 7".into()];
    let redirected = client
        .change_consignee_address(v1::ChangeConsigneeAddressRequest {
            request_id: "fix-address".into(),
            order_id: order_id.clone(),
            address: Some(corrected.clone()),
        })
        .await
        .expect("a redirect after a failed attempt")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(redirected.status(), OrderStatus::AttemptFailed);

    // Two more departures, each recorded, and two more failures: back to the sender.
    for attempt in 2..=3u32 {
        append_fact(&log, "delivery", &order_id, started_type, started()).await;
        wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::OutForDelivery).await;
        let refused = client
            .change_consignee_address(v1::ChangeConsigneeAddressRequest {
                request_id: format!("redirect-while-out-{attempt}"),
                order_id: order_id.clone(),
                address: Some(v1::Address { city: "Augsburg".into(), ..corrected.clone() }),
            })
            .await
            .refused(Code::FailedPrecondition, "no redirect while the courier is on the way");
        assert!(refused.message().contains("out_for_delivery"), "{}", refused.message());
        let next = (attempt < 3).then_some(next);
        append_fact(
            &log,
            "delivery",
            &order_id,
            failed_type,
            attempt_failed(attempt, v1::FailureReason::RecipientAbsent, next),
        )
        .await;
        if attempt < 3 {
            wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::AttemptFailed).await;
        }
    }
    append_fact(
        &log,
        "delivery",
        &order_id,
        "waybill.delivery.delivery_returned_to_sender.v1",
        delivery(delivery_event::Event::DeliveryReturnedToSender(v1::DeliveryReturnedToSender {
            attempts: 3,
        })),
    )
    .await;
    let returned =
        wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::ReturnedToSender).await;

    // "Where is my parcel?": on its way back, and the timeline tells the whole last mile.
    let refused = client
        .change_consignee_address(v1::ChangeConsigneeAddressRequest {
            request_id: "redirect-after-return".into(),
            order_id: order_id.clone(),
            address: Some(v1::Address { city: "Augsburg".into(), ..corrected }),
        })
        .await
        .refused(Code::FailedPrecondition, "no redirect of goods on their way back");
    assert!(refused.message().contains("returned_to_sender"), "{}", refused.message());
    let tracked = track_order(&mut client, &order_id, returned.version).await;
    assert_eq!(tracked.status, OrderStatus::ReturnedToSender as i32);
    let intake_entries: Vec<_> = tracked.timeline.iter().filter(|entry| entry.service == "intake").collect();
    let intake_types: Vec<&str> = intake_entries.iter().map(|entry| entry.event_type.as_str()).collect();
    let count = |wanted: &str| intake_types.iter().filter(|event_type| **event_type == wanted).count();
    assert_eq!(count("waybill.intake.order_out_for_delivery.v1"), 3, "one per departure: {intake_types:?}");
    assert_eq!(count("waybill.intake.order_delivery_attempt_failed.v1"), 3, "{intake_types:?}");
    assert_eq!(count("waybill.intake.order_returned_to_sender.v1"), 1, "{intake_types:?}");
    let summaries: Vec<&str> = intake_entries.iter().map(|entry| entry.summary.as_str()).collect();
    assert!(
        summaries
            .iter()
            .any(|summary| summary.starts_with("delivery attempt 1 failed: address wrong; next try")),
        "{summaries:#?}"
    );
    intake.stop().await;
}

/// What one caller got of the consignee and of the proof of delivery.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Seen {
    phone: bool,
    street: bool,
    position: bool,
    signature: bool,
    id_check: bool,
}

fn seen(order: &v1::Order, entry: &v1::TimelineEntry) -> Seen {
    let consignee = order.consignee.as_ref().expect("consignee");
    let contact = consignee.contact.as_ref().expect("contact");
    let address = consignee.address.as_ref().expect("address");
    assert!(!contact.name.is_empty() && !address.city.is_empty(), "name and city stay: {consignee:?}");
    let proof = entry.proof_of_delivery.as_ref().expect("the proof stays, redacted");
    assert!(!proof.recipient_name.is_empty());
    Seen {
        phone: !contact.phone.is_empty(),
        street: !address.lines.is_empty() && !address.postal_code.is_empty(),
        position: proof.location.is_some(),
        signature: proof.signature.is_some(),
        id_check: proof.id_checked,
    }
}

#[tokio::test]
async fn personal_data_reaches_only_the_roles_that_need_it_in_every_read() {
    let Accepted { nats: _nats, intake, log, mut client, order } =
        accepted_order(Caller::customer("anna", "cust-1")).await;
    let order_id = order.order_id;
    for (event_type, payload) in [
        ("waybill.dispatch.task_packed.v1", dispatch(dispatch_event::Event::TaskPacked(v1::TaskPacked {}))),
        (
            "waybill.dispatch.task_picked_up.v1",
            dispatch(dispatch_event::Event::TaskPickedUp(v1::TaskPickedUp {
                vehicle_id: "van-1".into(),
                driver_id: String::new(),
            })),
        ),
    ] {
        append_fact(&log, "dispatch", &order_id, event_type, payload).await;
    }
    append_fact(&log, "delivery", &order_id, "waybill.delivery.delivery_started.v1", started()).await;
    let completed = append_fact(
        &log,
        "delivery",
        &order_id,
        "waybill.delivery.delivery_completed.v1",
        delivery_completed(proof()),
    )
    .await;
    let delivered =
        wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Delivered).await;

    let all = Seen { phone: true, street: true, position: true, signature: true, id_check: true };
    let none = Seen { phone: false, street: false, position: false, signature: false, id_check: false };
    let consignee_only = Seen { position: false, signature: false, id_check: false, ..all };
    let address_only = Seen { street: true, ..none };
    let expected = [
        (Caller::customer("anna", "cust-1"), all),
        (Caller::customer_service("desk"), all),
        (Caller::after_sales("asa"), all),
        (Caller::administrator("root"), all),
        (Caller::dispatcher("dana"), consignee_only),
        (Caller::hub_operator("hugo"), address_only),
        (Caller::order_reviewer("rita"), address_only),
        (Caller::integrator("erp"), none),
        (Caller::with_roles("mixed", &[Role::Integrator, Role::HubOperator]), Seen { street: true, ..none }),
    ];
    for (caller, expected) in expected {
        let who = caller.identity().roles.clone();
        let mut reader = intake.client(caller).await;
        let get = v1::GetOrderRequest { order_id: order_id.clone(), min_position: delivered.version };
        let got = reader.get_order(get).await.expect("read").into_inner().order.expect("order");
        let list = v1::ListOrdersRequest { min_position: delivered.version, ..Default::default() };
        let listed = reader.list_orders(list).await.expect("listed").into_inner().orders;
        let track = v1::TrackOrderRequest { order_id: order_id.clone(), min_position: delivered.version };
        let timeline = reader.track_order(track).await.expect("tracked").into_inner().timeline;
        let handover =
            timeline.iter().find(|entry| entry.position == completed).expect("the handover on the timeline");
        let watch = v1::WatchOrderRequest { order_id: order_id.clone(), min_position: delivered.version };
        let mut updates = reader.watch_order(watch).await.expect("watching").into_inner();
        let watched = updates.message().await.expect("stream").expect("the order as it is");

        assert_eq!(seen(&got, handover), expected, "GetOrder/TrackOrder for {who:?}");
        assert_eq!(seen(&listed[0], handover), expected, "ListOrders for {who:?}");
        let watched_order = watched.order.expect("order");
        assert_eq!(seen(&watched_order, handover).phone, expected.phone, "WatchOrder for {who:?}");
        assert_eq!(seen(&watched_order, handover).street, expected.street, "WatchOrder for {who:?}");
        assert_eq!(got.withheld.is_empty(), expected.phone && expected.street, "{:?}", got.withheld);
        assert_eq!(
            handover.withheld.is_empty(),
            expected.position && expected.signature && expected.id_check,
            "{:?}",
            handover.withheld
        );
        assert!(!handover.summary.contains("ID"), "the summary tells no ID check: {}", handover.summary);
    }
    intake.stop().await;
}

/// The order book, refusing every event while `refuse` is set: the projection halts at the
/// first one, and the model stays where it was.
struct Gated {
    book: waybill_intake::read_model::OrderBook,
    refuse: Arc<AtomicBool>,
}

impl waybill_eventlog::Projection for Gated {
    fn apply(
        &mut self,
        event: &waybill_eventlog::RecordedEvent,
    ) -> Result<(), waybill_eventlog::ProjectionError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err("held back by the test".into());
        }
        self.book.apply(event)
    }
}

impl AggregateStore<Order> for Gated {
    fn current(&self, id: &OrderId) -> Option<(Order, u64)> {
        AggregateStore::<Order>::current(&self.book, id)
    }

    fn position_caused_by(&self, id: &OrderId, causation_id: &str) -> Option<u64> {
        AggregateStore::<Order>::position_caused_by(&self.book, id, causation_id)
    }
}

/// The fulfilment recorder's failure in CI: it recorded attempt 1's failure, then took the
/// second departure on a model that had not applied that write yet, found the order "out
/// for delivery" already and wrote nothing, so the departure (and attempt 2) were lost.
/// A command that finds nothing to do must first see its own acknowledged writes.
#[tokio::test]
async fn nothing_to_do_is_never_answered_from_a_model_behind_the_commands_own_writes() {
    let Accepted { nats, intake: _intake, order, .. } =
        accepted_order(Caller::customer_service("carol")).await;
    let order_id = OrderId::parse(&order.order_id).expect("order id");
    let log = EventLog::open(nats.client().await, Default::default(), "/waybill/intake").await.expect("log");
    let refuse = Arc::new(AtomicBool::new(false));
    let gated = Gated { book: waybill_intake::read_model::OrderBook::new(), refuse: refuse.clone() };
    let filters = waybill_intake::read_model::FILTERS.map(str::to_owned).to_vec();
    let model = Projector::spawn(log.clone(), filters, gated).await.expect("projector");
    model.wait_caught_up(Duration::from_secs(10)).await.expect("caught up");
    let runner = waybill_command::CommandRunner::<Order, Gated>::new(
        log,
        model.clone(),
        Policy::default(),
        Arc::new(SystemClock),
    );
    let fact = |request_id: &str, command: Command| {
        let meta = CommandMeta {
            request_id: request_id.to_owned(),
            actor: Actor::service("intake-fulfilment"),
            correlation_id: request_id.to_owned(),
            min_position: 0,
        };
        let runner = runner.clone();
        async move { runner.run(order_id, &command, &meta).await }
    };

    let departed = fact("started-1", Command::RecordOutForDelivery { source_event_id: "started-1".into() })
        .await
        .expect("first departure");
    assert_eq!(departed.state.status, DomainStatus::OutForDelivery);
    model.wait_for(departed.position, Duration::from_secs(10)).await.expect("applied");

    // Attempt 1 fails; the model is held before it applies that write.
    refuse.store(true, Ordering::SeqCst);
    let attempt = FailedAttempt { attempt: 1, reason: AttemptFailure::RecipientAbsent, next_window: None };
    let failed =
        fact("failed-1", Command::RecordAttemptFailed { source_event_id: "failed-1".into(), attempt })
            .await
            .expect("attempt 1 recorded");
    assert_eq!(failed.state.status, DomainStatus::AttemptFailed);

    // The second departure: on the held model the order still looks out for delivery.
    let second =
        fact("started-2", Command::RecordOutForDelivery { source_event_id: "started-2".into() }).await;
    match second {
        Ok(outcome) => panic!(
            "answered from a model behind its own write: {:?} at {}",
            outcome.state.status, outcome.position
        ),
        Err(error) => assert!(
            matches!(error, waybill_command::CommandError::NotCaughtUp(_)),
            "the model cannot reach the command's own write: {error}"
        ),
    }
}
