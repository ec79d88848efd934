//! Dispatch is rebuilt from the log: after a restart its read model answers exactly as
//! before, and orders accepted while it was down become tasks once it is back (its
//! durable consumer resumes where it stopped).

mod support;

use support::{
    assignment, dispatcher, exception_report, place_order, register_vehicle, start_dispatch, start_intake,
    wait_for_task,
};
use waybill_fixtures::Caller;
use waybill_proto::v1;
use waybill_testkit::NatsServer;

#[tokio::test]
async fn a_restarted_dispatch_answers_as_before_and_catches_up_with_missed_orders() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let dispatch = start_dispatch(&nats).await;
    let mut orders = intake.client(Caller::customer_service("shop")).await;
    let mut fleet = dispatch.client(dispatcher()).await;

    let first = place_order(&mut orders, "place-1").await;
    wait_for_task(&mut fleet, &first, |_| true).await;
    let van = register_vehicle(&mut fleet, "van-1", v1::VehicleKind::Van, "Berlin", 100_000).await;
    let assigned = fleet.assign_task(assignment("assign-1", &first)).await.expect("assigned").into_inner();
    let weather =
        exception_report("report-1", &first, v1::ExceptionKind::Weather, v1::Severity::Medium, "fog");
    let reported = fleet.report_exception(weather).await.expect("reported").into_inner();
    let before = reported.task.expect("task");
    let van_before = fleet
        .get_vehicle(v1::GetVehicleRequest { vehicle_id: van.clone(), min_position: assigned.position })
        .await
        .expect("van")
        .into_inner();

    dispatch.stop().await;
    let second = place_order(&mut orders, "place-2").await;
    let dispatch = start_dispatch(&nats).await;
    let mut fleet = dispatch.client(dispatcher()).await;

    let after = fleet
        .get_task(v1::GetTaskRequest { task_id: first.clone(), min_position: reported.position })
        .await
        .expect("task")
        .into_inner()
        .task
        .expect("task");
    assert_eq!(after, before, "the same task, rebuilt from the log");
    let van_after = fleet
        .get_vehicle(v1::GetVehicleRequest { vehicle_id: van, min_position: 0 })
        .await
        .expect("van")
        .into_inner();
    assert_eq!(van_after, van_before);

    let missed = wait_for_task(&mut fleet, &second, |_| true).await;
    assert_eq!(missed.order_id, second, "planned once dispatch was back");
}
