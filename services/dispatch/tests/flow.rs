//! Orders flow from the real intake to dispatch through the log alone: an accepted order
//! becomes a transport task by itself, cancelling the order cancels the task, restoring it
//! plans it again, amending it replans it, and a redelivered event plans nothing twice.

mod support;

use support::{
    System, dispatcher, picked_up_task, place_order, planned_order, record_on_order, task_subject,
    wait_for_task,
};
use waybill_dispatch::reactions;
use waybill_fixtures::Caller;
use waybill_fixtures::cancellation;
use waybill_proto::v1::{self, TaskStatus};
use waybill_testkit::eventually;

#[tokio::test]
async fn an_accepted_order_becomes_a_task_that_follows_cancel_restore_and_amend() {
    let system = System::start().await;
    let mut intake = system.intake(Caller::customer_service("alice")).await;
    let mut dispatch = system.dispatch(dispatcher()).await;

    let order_id = place_order(&mut intake, "place-1").await;
    let task = wait_for_task(&mut dispatch, &order_id, |_| true).await;
    assert_eq!(task.status(), TaskStatus::Planned);
    assert_eq!(task.task_id, order_id, "a forward task's id is its order's");
    assert_eq!(task.order_id, order_id);
    assert_eq!(task.kind, v1::TaskKind::Forward as i32);
    assert_eq!(task.load, Some(v1::Load { weight_grams: 6_000, volume_cm3: support::BOOKS_VOLUME_CM3 }));
    assert_eq!(task.mode, v1::TransportMode::RoadLtl as i32, "standard, light, national: road");
    assert_eq!(task.origin_depot, "Berlin");
    assert_eq!(task.destination.as_ref().map(|address| address.city.as_str()), Some("Munich"));

    intake.cancel_order(cancellation("cancel-1", &order_id, "changed my mind")).await.expect("cancelled");
    wait_for_task(&mut dispatch, &order_id, |task| task.status() == TaskStatus::Cancelled).await;

    intake
        .restore_order(v1::RestoreOrderRequest { request_id: "restore-1".into(), order_id: order_id.clone() })
        .await
        .expect("restored");
    wait_for_task(&mut dispatch, &order_id, |task| task.status() == TaskStatus::Planned).await;

    // Express to another region of the country: it flies now, and carries more.
    let mut heavier = support::books();
    heavier.quantity = 3;
    intake
        .amend_order(v1::AmendOrderRequest {
            request_id: "amend-1".into(),
            order_id: order_id.clone(),
            cargo: vec![heavier],
            service_level: v1::ServiceLevel::Express.into(),
        })
        .await
        .expect("amended");
    let replanned =
        wait_for_task(&mut dispatch, &order_id, |task| task.mode == v1::TransportMode::Air as i32).await;
    assert_eq!(replanned.load.map(|load| load.weight_grams), Some(9_000));
    assert_eq!(replanned.status(), TaskStatus::Planned);

    assert_eq!(
        system.event_types(&task_subject(&order_id)).await,
        [
            "waybill.dispatch.task_planned.v1",
            "waybill.dispatch.task_cancelled.v1",
            "waybill.dispatch.task_planned.v1",
            "waybill.dispatch.task_replanned.v1",
        ]
    );
}

#[tokio::test]
async fn a_redelivered_or_replayed_acceptance_plans_no_second_task() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let order_id = planned_order(&system, &mut dispatch).await;

    // The acceptance, exactly as the consumer delivered it, handed to the reaction again.
    let log = system.log().await;
    let accepted = log
        .read_subject(&format!("waybill.intake.order.{order_id}.{order_id}"))
        .await
        .expect("the order's history")
        .into_iter()
        .find(|event| event.event_type == "waybill.intake.order_accepted.v1")
        .expect("intake accepted the order");
    // And a restart: the durable consumer resumes where it was; the read model replays.
    let system = system.redeliver_twice_then_restart(accepted, reactions::react_to_order).await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let task = wait_for_task(&mut dispatch, &order_id, |_| true).await;
    assert_eq!(task.status(), TaskStatus::Planned);
    assert_eq!(system.event_types(&task_subject(&order_id)).await, ["waybill.dispatch.task_planned.v1"]);
}

#[tokio::test]
async fn a_cancellation_that_crossed_the_pickup_is_dead_lettered_and_the_reaction_goes_on() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let (order_id, _van) = picked_up_task(&system, &mut dispatch).await;
    let mut intake = system.intake(Caller::customer_service("alice")).await;

    // A cancellation intake wrote before it learned of the pickup.
    let cancelled = waybill_intake::domain::Event::Cancelled { reason: "too late".into() };
    record_on_order(&system, &order_id, cancelled, "cancel-1", waybill_types::Actor::user("alice")).await;

    let dead_letters = async_nats::jetstream::new(system.nats.client().await)
        .get_stream("WAYBILL_DEADLETTER")
        .await
        .expect("stream");
    let letter = eventually("the cancellation to be dead-lettered", || async {
        dead_letters.direct_get_next_for_subject("deadletter.dispatch.dispatch-orders", None).await.ok()
    })
    .await;
    let error =
        letter.headers.get("waybill-error").map(|value| value.as_str().to_owned()).unwrap_or_default();
    assert!(error.contains("cannot cancel a task that is picked up"), "{error}");
    let task = wait_for_task(&mut dispatch, &order_id, |_| true).await;
    assert_eq!(task.status(), TaskStatus::PickedUp, "the goods are on their way");

    // The next order is planned as usual.
    let next = place_order(&mut intake, "place-2").await;
    wait_for_task(&mut dispatch, &next, |task| task.status() == TaskStatus::Planned).await;
}
