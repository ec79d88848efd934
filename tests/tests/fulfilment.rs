//! An order from placement to a signed handover through the real intake, dispatch and
//! delivery binaries on one nats-server, driven only through their gRPC APIs: the services
//! talk to each other through the log alone.

use tonic::Code;
use waybill_fixtures::Refusal;
use waybill_fixtures::{assignment, cancellation, van_registration};
use waybill_proto::v1::{
    self, delivery_service_client::DeliveryServiceClient, dispatch_service_client::DispatchServiceClient,
    intake_service_client::IntakeServiceClient,
};
use waybill_system_tests::Service;
use waybill_system_tests::system::{
    Caller, assert_timeline_names, eventually, hub_lead, place_order_request, proof, reader, request,
    warehouse,
};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn an_accepted_order_flows_to_a_signed_handover_through_all_three_services() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let intake = Service::start("intake", &nats, &[]).await?;
    let dispatch = Service::start("dispatch", &nats, &[]).await?;
    let delivery = Service::start("delivery", &nats, &[]).await?;
    let mut orders = IntakeServiceClient::with_interceptor(intake.channel().await?, reader());
    let mut fleet = DispatchServiceClient::with_interceptor(dispatch.channel().await?, reader());
    let mut last_mile = DeliveryServiceClient::with_interceptor(delivery.channel().await?, reader());

    let placed = orders
        .place_order(request(&Caller::customer_service("shop"), place_order_request("place-1", "cust-1")))
        .await?
        .into_inner();
    let order_id = placed.order.map(|order| order.order_id).unwrap_or_default();

    let van = uuid::Uuid::now_v7().to_string();
    fleet
        .register_vehicle(request(&Caller::dispatcher("dispatcher"), van_registration("van-1", &van)))
        .await?;

    // Intake accepts the order by itself; dispatch plans a task for it by itself.
    let task = eventually("dispatch to plan the order's task", || {
        let mut fleet = fleet.clone();
        let task_id = order_id.clone();
        async move { fleet.get_task(v1::GetTaskRequest { task_id, min_position: 0 }).await.ok() }
    })
    .await?
    .into_inner()
    .task
    .unwrap_or_default();
    assert_eq!(task.order_id, order_id);
    assert_eq!(task.load.map(|load| load.weight_grams), Some(6_000), "two pieces of 3 kg");

    let assigned = fleet
        .assign_task(request(&Caller::dispatcher("dispatcher"), assignment("assign-1", &order_id)))
        .await?
        .into_inner();
    assert_eq!(assigned.task.map(|task| task.vehicle_id), Some(van.clone()), "the only vehicle with room");
    let task_id = order_id.clone();
    fleet
        .mark_packed(request(&warehouse(), v1::MarkPackedRequest { request_id: "pack-1".into(), task_id }))
        .await?;
    let task_id = order_id.clone();
    fleet
        .record_pickup(request(
            &Caller::hub_operator("driver"),
            v1::RecordPickupRequest { request_id: "pickup-1".into(), task_id },
        ))
        .await?;

    // Intake learns of the pickup: the order can no longer be cancelled.
    eventually("intake to record the pickup", || {
        let mut orders = orders.clone();
        let order_id = order_id.clone();
        async move {
            let order = orders.get_order(v1::GetOrderRequest { order_id, min_position: 0 }).await.ok()?;
            let status = order.into_inner().order?.status;
            (status == v1::OrderStatus::PickedUp as i32).then_some(())
        }
    })
    .await?;
    orders
        .cancel_order(request(
            &Caller::customer_service("alice"),
            cancellation("cancel-1", &order_id, "late"),
        ))
        .await
        .refused(Code::FailedPrecondition, "no cancellation after pickup");

    fleet
        .record_checkpoint(request(
            &Caller::hub_operator("driver"),
            v1::RecordCheckpointRequest {
                request_id: "checkpoint-1".into(),
                task_id: order_id.clone(),
                place: "Leipzig".into(),
                note: "on schedule".into(),
            },
        ))
        .await?;
    let courier = uuid::Uuid::now_v7().to_string();
    last_mile
        .register_courier(request(
            &hub_lead(),
            v1::RegisterCourierRequest {
                request_id: "courier-1".into(),
                courier_id: courier.clone(),
                name: "Kim".into(),
                zones: vec!["Munich".into()],
            },
        ))
        .await?;
    fleet
        .record_arrival(request(
            &Caller::hub_operator("driver"),
            v1::RecordArrivalRequest {
                request_id: "arrive-1".into(),
                task_id: order_id.clone(),
                hub: "MUC-HUB".into(),
            },
        ))
        .await?;

    // Delivery schedules the last mile by itself on the arrival.
    let scheduled =
        eventually("delivery to schedule the last mile", || {
            let mut last_mile = last_mile.clone();
            let delivery_id = order_id.clone();
            async move {
                last_mile.get_delivery(v1::GetDeliveryRequest { delivery_id, min_position: 0 }).await.ok()
            }
        })
        .await?
        .into_inner()
        .delivery
        .unwrap_or_default();
    assert_eq!(scheduled.zone.to_lowercase(), "munich");
    assert!(scheduled.promised_window.is_some());

    let with_courier = last_mile
        .assign_courier(request(
            &hub_lead(),
            v1::AssignCourierRequest {
                request_id: "assign-courier-1".into(),
                delivery_id: order_id.clone(),
                courier_id: String::new(),
            },
        ))
        .await?
        .into_inner();
    assert_eq!(with_courier.delivery.map(|delivery| delivery.courier_id), Some(courier.clone()));
    last_mile
        .start_delivery(request(
            &Caller::courier("kim", &courier),
            v1::StartDeliveryRequest { request_id: "start-1".into(), delivery_id: order_id.clone() },
        ))
        .await?;

    // A handover without a signature is refused, naming the field.
    let mut unsigned = proof();
    unsigned.signature = None;
    let refused = last_mile
        .confirm_delivery(request(
            &Caller::courier("kim", &courier),
            v1::ConfirmDeliveryRequest {
                request_id: "confirm-0".into(),
                delivery_id: order_id.clone(),
                proof: Some(unsigned),
            },
        ))
        .await
        .refused(Code::InvalidArgument, "no handover without a signature");
    assert!(refused.message().contains("signature"), "{}", refused.message());

    let handover = proof();
    last_mile
        .confirm_delivery(request(
            &Caller::courier("kim", &courier),
            v1::ConfirmDeliveryRequest {
                request_id: "confirm-1".into(),
                delivery_id: order_id.clone(),
                proof: Some(handover.clone()),
            },
        ))
        .await?;

    let delivered = eventually("intake to record the delivery", || {
        let mut orders = orders.clone();
        let order_id = order_id.clone();
        async move {
            let order = orders.get_order(v1::GetOrderRequest { order_id, min_position: 0 }).await.ok()?;
            let order = order.into_inner().order?;
            (order.status == v1::OrderStatus::Delivered as i32).then_some(order)
        }
    })
    .await?;

    // The customer's timeline tells the whole story, with the evidence of the handover.
    let tracked = orders
        .track_order(v1::TrackOrderRequest { order_id: order_id.clone(), min_position: delivered.version })
        .await?
        .into_inner();
    assert_timeline_names(&tracked.timeline, &["intake", "dispatch", "delivery"]);
    let summaries: Vec<&str> = tracked.timeline.iter().map(|entry| entry.summary.as_str()).collect();
    assert!(summaries.iter().any(|summary| summary.contains("Leipzig")), "{summaries:#?}");
    let proofs: Vec<&v1::ProofOfDelivery> =
        tracked.timeline.iter().filter_map(|entry| entry.proof_of_delivery.as_ref()).collect();
    assert_eq!(proofs, [&handover], "one handover, with its proof");
    Ok(())
}
