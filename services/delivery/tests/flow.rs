//! The last mile on a real nats-server with a real intake: an accepted order whose forward
//! task arrives at the destination hub (dispatch's event, appended here exactly as dispatch
//! writes it) is scheduled by delivery on its own, with the promised window of its service
//! level and a notification for the consignee; a redelivered arrival schedules nothing
//! twice; and a handover with proof is on the log for anyone to read back.

mod support;

use std::sync::Arc;
use std::time::Duration;
use waybill_fixtures::Caller;
use waybill_fixtures::Refusal;

use support::{
    Delivery, IntakeClient, arrived_at_hub, delivery_events, delivery_now, departure, handover, hub_lead,
    open_log, placement, proof_at, register_kim, start_delivery, start_intake, wait_scheduled,
};
use waybill_delivery::commands::{DeliveryRunner, SystemClock};
use waybill_delivery::domain::Policy;
use waybill_delivery::read_model::DeliveryBook;
use waybill_delivery::{reactions, server};
use waybill_eventlog::{EventLog, Projector};
use waybill_proto::v1::{self, delivery_event::Event};
use waybill_testkit::{InProcess, NatsServer, eventually};

fn seconds(at: Option<&prost_types::Timestamp>) -> i64 {
    at.map(|at| at.seconds).unwrap_or_default()
}

/// Intake and delivery on a nats-server of their own, and the log to write dispatch's facts on.
struct IntakeAndDelivery {
    nats: NatsServer,
    intake: InProcess<IntakeClient>,
    delivery: Delivery,
    log: EventLog,
}

async fn intake_and_delivery() -> IntakeAndDelivery {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let delivery = start_delivery(&nats).await;
    let log = open_log(&nats).await;
    IntakeAndDelivery { nats, intake, delivery, log }
}

/// Places an order through intake and waits until intake accepted it; returns its id.
async fn accepted_order(
    intake: &InProcess<IntakeClient>,
    request_id: &str,
    city: &str,
    level: v1::ServiceLevel,
) -> String {
    let mut orders = intake.client(Caller::customer_service("clerk")).await;
    let placed = orders.place_order(placement(request_id, city, level)).await.expect("placed").into_inner();
    let placed_at = placed.position;
    let order_id = placed.order.map(|order| order.order_id).expect("an order");
    eventually(&format!("intake to accept order {order_id}"), async || {
        let request = v1::GetOrderRequest { order_id: order_id.clone(), min_position: placed_at };
        let order = orders.get_order(request).await.expect("get order").into_inner().order.expect("order");
        (order.status == v1::OrderStatus::Accepted as i32).then_some(())
    })
    .await;
    order_id
}

#[tokio::test]
async fn an_arrival_at_the_hub_schedules_the_delivery_once_with_its_window_and_a_notification() {
    let IntakeAndDelivery { nats, intake, delivery, log } = intake_and_delivery().await;
    let order_id = accepted_order(&intake, "place-1", "Munich", v1::ServiceLevel::Express).await;

    let arrived_at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let arrival = arrived_at_hub(&log, &order_id, arrived_at).await;
    let mut client = delivery.client(hub_lead()).await;
    let scheduled = wait_scheduled(&mut client, &order_id).await;

    assert_eq!(scheduled.status, v1::DeliveryStatus::Scheduled as i32);
    assert_eq!(scheduled.zone.to_lowercase(), "munich");
    assert_eq!(scheduled.hub, "MUC-HUB");
    assert_eq!(
        scheduled.consignee.and_then(|party| party.contact).map(|contact| contact.name).as_deref(),
        Some("Erika Mustermann")
    );
    // Express: promised within a day of the arrival.
    let window = scheduled.promised_window.expect("a promised window");
    assert_eq!(seconds(window.start.as_ref()), arrived_at.timestamp());
    assert_eq!(seconds(window.end.as_ref()), (arrived_at + chrono::Duration::hours(24)).timestamp());

    let subject = format!("waybill.delivery.task.{order_id}.{order_id}");
    let events = delivery_events(&log, &subject).await;
    let types: Vec<&str> = events.iter().map(|(event_type, _)| event_type.as_str()).collect();
    assert_eq!(types, ["waybill.delivery.delivery_scheduled.v1"], "the milestone is an append of its own");
    // The consignee is told on the delivery's notification subject, by its own reaction.
    let notices = format!("waybill.delivery.notification.{order_id}.{order_id}");
    let told = eventually("the consignee to be told", async || {
        let events = delivery_events(&log, &notices).await;
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "waybill.delivery.customer_notification_requested.v1");
    match &told[0].1 {
        Event::CustomerNotificationRequested(notification) => {
            assert_eq!(notification.milestone, v1::Milestone::Scheduled as i32);
            assert_eq!(
                notification.recipient.as_ref().map(|contact| contact.phone.as_str()),
                Some("+49 30 1234567")
            );
            assert!(notification.message.contains("MUC-HUB"), "{}", notification.message);
        }
        other => panic!("expected a notification, got {other:?}"),
    }

    // The same arrival handled again (a redelivery) schedules nothing twice...
    let model = Projector::spawn(log.clone(), server::projected_subjects(), DeliveryBook::new())
        .await
        .expect("model");
    model.wait_caught_up(Duration::from_secs(10)).await.expect("caught up");
    let runner = DeliveryRunner {
        log: log.clone(),
        model,
        policy: Arc::new(Policy::default()),
        clock: Arc::new(SystemClock),
        wait_timeout: Duration::from_secs(5),
        clock_skew: waybill_command::time::DEFAULT_CLOCK_SKEW,
    };
    reactions::schedule_on_arrival(runner.clone(), arrival.clone()).await.expect("handled again");
    reactions::schedule_on_arrival(runner, arrival).await.expect("and again");
    // ...and neither does a restart, which replays the log and resumes the consumer.
    delivery.stop().await;
    let delivery = start_delivery(&nats).await;
    let mut client = delivery.client(hub_lead()).await;
    let again = delivery_now(&mut client, &order_id).await;
    assert_eq!(again.version, scheduled.version);
    assert_eq!(delivery_events(&log, &subject).await.len(), 1, "nothing written twice");
    assert_eq!(delivery_events(&log, &notices).await.len(), 1, "nobody told twice");
}

#[tokio::test]
async fn a_delivered_order_has_its_proof_of_delivery_on_the_log() {
    let IntakeAndDelivery { nats: _nats, intake, delivery, log } = intake_and_delivery().await;
    let order_id = accepted_order(&intake, "place-2", "Munich", v1::ServiceLevel::Standard).await;
    let mut client = delivery.client(hub_lead()).await;
    let courier_id = register_kim(&mut client, "MUNICH").await;

    arrived_at_hub(&log, &order_id, chrono::Utc::now()).await;
    wait_scheduled(&mut client, &order_id).await;
    let assigned = client
        .assign_courier(v1::AssignCourierRequest {
            request_id: "assign-1".into(),
            delivery_id: order_id.clone(),
            courier_id: String::new(),
        })
        .await
        .expect("assigned automatically")
        .into_inner();
    assert_eq!(
        assigned.delivery.map(|delivery| delivery.courier_id),
        Some(courier_id.clone()),
        "the zone matches in any case"
    );
    client.start_delivery(departure("start-1", &order_id)).await.expect("out for delivery");
    let proof = proof_at(chrono::Utc::now());
    let confirmed = client
        .confirm_delivery(handover("confirm-1", &order_id, proof.clone()))
        .await
        .expect("delivered")
        .into_inner();
    let delivered = confirmed.delivery.expect("delivery");
    assert_eq!(delivered.status, v1::DeliveryStatus::Delivered as i32);
    assert_eq!(delivered.proof_of_delivery.as_ref(), Some(&proof));

    // Read back from the log, as an integrator (or intake's timeline) would.
    let events = delivery_events(&log, &format!("waybill.delivery.task.{order_id}.{order_id}")).await;
    let completed: Vec<&v1::DeliveryCompleted> = events
        .iter()
        .filter_map(|(_, event)| match event {
            Event::DeliveryCompleted(completed) => Some(completed),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].proof.as_ref(), Some(&proof));
    assert!(completed[0].on_time && completed[0].first_attempt);
    // The consignee was told of each milestone, in order.
    let notices = format!("waybill.delivery.notification.{order_id}.{order_id}");
    let told =
        [v1::Milestone::Scheduled, v1::Milestone::OutForDelivery, v1::Milestone::Delivered].map(|m| m as i32);
    eventually("the consignee to be told of every milestone", async || {
        let milestones: Vec<i32> = delivery_events(&log, &notices)
            .await
            .iter()
            .filter_map(|(_, event)| match event {
                Event::CustomerNotificationRequested(notification) => Some(notification.milestone),
                _ => None,
            })
            .collect();
        (milestones == told).then_some(())
    })
    .await;

    // The courier's day: nothing left on its route once delivered.
    let route = client
        .get_courier_route(v1::GetCourierRouteRequest {
            courier_id,
            date: String::new(),
            min_position: confirmed.position,
        })
        .await
        .expect("route")
        .into_inner();
    assert!(route.stops.is_empty());
}

#[tokio::test]
async fn a_redirected_order_moves_its_scheduled_delivery() {
    let IntakeAndDelivery { nats: _nats, intake, delivery, log } = intake_and_delivery().await;
    let order_id = accepted_order(&intake, "place-3", "Munich", v1::ServiceLevel::Standard).await;
    arrived_at_hub(&log, &order_id, chrono::Utc::now()).await;
    let mut client = delivery.client(hub_lead()).await;
    wait_scheduled(&mut client, &order_id).await;

    let mut orders = intake.client(Caller::customer_service("clerk")).await;
    let hamburg = support::party("Erika Mustermann", "Hamburg").address;
    orders
        .change_consignee_address(v1::ChangeConsigneeAddressRequest {
            request_id: "redirect-1".into(),
            order_id: order_id.clone(),
            address: hamburg,
        })
        .await
        .expect("redirected");
    eventually("the delivery to follow the new address", async || {
        let request = v1::GetDeliveryRequest { delivery_id: order_id.clone(), min_position: 0 };
        let found = client.get_delivery(request).await.expect("delivery").into_inner().delivery;
        (found.expect("delivery").zone == "Hamburg").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_return_arriving_at_a_hub_schedules_no_delivery() {
    let nats = NatsServer::start();
    let delivery = start_delivery(&nats).await;
    let log = open_log(&nats).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    support::order_placed(&log, &order_id, "Munich", v1::ServiceLevel::Standard).await;
    // A reverse shipment's task has its own id; its envelope names the order it comes from.
    let return_id = uuid::Uuid::now_v7().to_string();
    let arrived = v1::TaskArrivedAtHub { hub: "BER-HUB".into() };
    let payload = v1::event_envelope::Payload::Dispatch(v1::DispatchEvent {
        event: Some(v1::dispatch_event::Event::TaskArrivedAtHub(arrived)),
    });
    support::append_foreign(
        &log,
        ("dispatch", "task", &return_id),
        &order_id,
        "waybill.dispatch.task_arrived_at_hub.v1",
        chrono::Utc::now(),
        payload,
    )
    .await;
    // The forward task's arrival comes after it on the same consumer: once that one is
    // scheduled, the return has been looked at too.
    let later = uuid::Uuid::now_v7().to_string();
    support::order_placed(&log, &later, "Munich", v1::ServiceLevel::Standard).await;
    arrived_at_hub(&log, &later, chrono::Utc::now()).await;
    let mut client = delivery.client(hub_lead()).await;
    wait_scheduled(&mut client, &later).await;
    for id in [&order_id, &return_id] {
        client
            .get_delivery(v1::GetDeliveryRequest { delivery_id: id.clone(), min_position: 0 })
            .await
            .refused(tonic::Code::NotFound, "no delivery for a return");
    }
}
