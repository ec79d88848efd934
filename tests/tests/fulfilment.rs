//! An order from placement to a signed handover through the real intake, dispatch and
//! delivery binaries on one nats-server, driven only through their gRPC APIs: the services
//! talk to each other through the log alone.

use std::future::Future;
use std::time::Duration;

use tonic::Code;
use waybill_proto::v1::{
    self, delivery_service_client::DeliveryServiceClient, dispatch_service_client::DispatchServiceClient,
    intake_service_client::IntakeServiceClient,
};
use waybill_system_tests::Service;
use waybill_testkit::NatsServer;

/// Calls `attempt` until it yields `Some` (bounded: 15 s): for what another service does
/// on its own after an event.
async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(value) = attempt().await {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

fn party(name: &str, city: &str, region: &str) -> v1::Party {
    v1::Party {
        contact: Some(v1::Contact {
            name: name.into(),
            phone: "+49 30 1234567".into(),
            email: String::new(),
        }),
        address: Some(v1::Address {
            lines: vec!["Hauptstrasse 1".into()],
            city: city.into(),
            region: region.into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
        }),
    }
}

fn proof() -> v1::ProofOfDelivery {
    v1::ProofOfDelivery {
        recipient_name: "Erika Mustermann".into(),
        recipient_relation: "consignee".into(),
        signature: Some(v1::Signature {
            signature: Some(v1::signature::Signature::Stored(v1::StoredSignature {
                digest: format!("sha256:{}", "ab".repeat(32)),
                storage_ref: "s3://pod/2026/11/22/signature.png".into(),
            })),
        }),
        photo_ref: "s3://pod/2026/11/22/door.jpg".into(),
        location: Some(v1::GeoPoint { latitude: 48.137, longitude: 11.575 }),
        delivered_at: Some(prost_types::Timestamp { seconds: unix_now_seconds(), nanos: 0 }),
        id_checked: true,
        checklist: Some(v1::HandoverChecklist {
            piece_count_matches: true,
            packaging_intact: true,
            recipient_informed_of_contents: true,
        }),
    }
}

fn unix_now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

fn request<T>(actor: &str, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if let Ok(actor) = actor.parse() {
        request.metadata_mut().insert("x-waybill-actor", actor);
    }
    request
}

#[tokio::test]
async fn an_accepted_order_flows_to_a_signed_handover_through_all_three_services() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let url = nats.url();
    let intake = Service::start("intake", &url, &[]).await?;
    let dispatch = Service::start("dispatch", &url, &[]).await?;
    let delivery = Service::start("delivery", &url, &[]).await?;
    let mut orders = IntakeServiceClient::new(intake.channel().await?);
    let mut fleet = DispatchServiceClient::new(dispatch.channel().await?);
    let mut last_mile = DeliveryServiceClient::new(delivery.channel().await?);

    let placed = orders
        .place_order(request(
            "system:shop",
            v1::PlaceOrderRequest {
                request_id: "place-1".into(),
                customer_id: "cust-1".into(),
                shipper: Some(party("Acme GmbH", "Berlin", "BE")),
                consignee: Some(party("Erika Mustermann", "Munich", "BY")),
                cargo: vec![v1::CargoLine {
                    description: "books".into(),
                    quantity: 2,
                    weight_grams: 3_000,
                    length_cm: 40,
                    width_cm: 30,
                    height_cm: 20,
                    declared_value: Some(v1::Money { amount_minor: 10_000, currency: "EUR".into() }),
                    category: v1::CargoCategory::General.into(),
                    hazard_declaration: String::new(),
                }],
                service_level: v1::ServiceLevel::Standard.into(),
            },
        ))
        .await?
        .into_inner();
    let order_id = placed.order.map(|order| order.order_id).unwrap_or_default();

    let van = uuid::Uuid::now_v7().to_string();
    fleet
        .register_vehicle(request(
            "user:dispatcher",
            v1::RegisterVehicleRequest {
                request_id: "van-1".into(),
                vehicle_id: van.clone(),
                kind: v1::VehicleKind::Van.into(),
                registration: "B-WB 1001".into(),
                capacity: Some(v1::Load { weight_grams: 1_000_000, volume_cm3: 10_000_000 }),
                depot: "Berlin".into(),
            },
        ))
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
        .assign_task(request(
            "user:dispatcher",
            v1::AssignTaskRequest {
                request_id: "assign-1".into(),
                task_id: order_id.clone(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    assert_eq!(assigned.task.map(|task| task.vehicle_id), Some(van.clone()), "the only vehicle with room");
    let task_id = order_id.clone();
    fleet
        .mark_packed(request(
            "user:warehouse",
            v1::MarkPackedRequest { request_id: "pack-1".into(), task_id },
        ))
        .await?;
    let task_id = order_id.clone();
    fleet
        .record_pickup(request(
            "user:driver",
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
    let late = orders
        .cancel_order(request(
            "user:alice",
            v1::CancelOrderRequest {
                request_id: "cancel-1".into(),
                order_id: order_id.clone(),
                reason: "late".into(),
            },
        ))
        .await
        .expect_err("no cancellation after pickup");
    assert_eq!(late.code(), Code::FailedPrecondition);

    fleet
        .record_checkpoint(request(
            "user:driver",
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
            "user:hub-lead",
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
            "user:driver",
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
            "user:hub-lead",
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
            "user:kim",
            v1::StartDeliveryRequest { request_id: "start-1".into(), delivery_id: order_id.clone() },
        ))
        .await?;

    // A handover without a signature is refused, naming the field.
    let mut unsigned = proof();
    unsigned.signature = None;
    let refused = last_mile
        .confirm_delivery(request(
            "user:kim",
            v1::ConfirmDeliveryRequest {
                request_id: "confirm-0".into(),
                delivery_id: order_id.clone(),
                proof: Some(unsigned),
            },
        ))
        .await
        .expect_err("no handover without a signature");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("signature"), "{}", refused.message());

    let handover = proof();
    last_mile
        .confirm_delivery(request(
            "user:kim",
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
    let services: Vec<&str> = tracked.timeline.iter().map(|entry| entry.service.as_str()).collect();
    for service in ["intake", "dispatch", "delivery"] {
        assert!(services.contains(&service), "{service} missing from {services:?}");
    }
    let summaries: Vec<&str> = tracked.timeline.iter().map(|entry| entry.summary.as_str()).collect();
    assert!(summaries.iter().any(|summary| summary.contains("Leipzig")), "{summaries:#?}");
    let proofs: Vec<&v1::ProofOfDelivery> =
        tracked.timeline.iter().filter_map(|entry| entry.proof_of_delivery.as_ref()).collect();
    assert_eq!(proofs, [&handover], "one handover, with its proof");
    Ok(())
}
