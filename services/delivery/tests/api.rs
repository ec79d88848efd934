//! The gRPC API on a real nats-server: bad requests name their fields, missing things are
//! NOT_FOUND, forbidden transitions FAILED_PRECONDITION, retries answer as the first time,
//! and the courier app's queries.

mod support;

use support::{
    Client, Delivery, arrived_at_hub, delivery_events, departure, field_names, handover, hub_lead, open_log,
    order_placed, proof_at, start_delivery, wait_scheduled,
};
use tonic::Code;
use waybill_fixtures::Refusal;
use waybill_fixtures::{Caller, Role};
use waybill_proto::v1;
use waybill_testkit::NatsServer;

/// Delivery on a nats-server of its own, and the hub lead's client (who registers and
/// assigns couriers).
async fn delivery_for_hub_lead() -> (NatsServer, Delivery, Client) {
    let nats = NatsServer::start();
    let server = start_delivery(&nats).await;
    let client = server.client(hub_lead()).await;
    (nats, server, client)
}

/// A delivery scheduled for a new order to `city`; returns its id.
async fn scheduled_delivery(nats: &NatsServer, client: &mut Client, city: &str) -> String {
    let log = open_log(nats).await;
    let order_id = uuid::Uuid::now_v7().to_string();
    order_placed(&log, &order_id, city, v1::ServiceLevel::Standard).await;
    arrived_at_hub(&log, &order_id, chrono::Utc::now()).await;
    wait_scheduled(client, &order_id).await;
    order_id
}

async fn register(
    client: &mut Client,
    request_id: &str,
    name: &str,
    zones: &[&str],
) -> v1::RegisterCourierResponse {
    client
        .register_courier(v1::RegisterCourierRequest {
            request_id: request_id.into(),
            courier_id: uuid::Uuid::now_v7().to_string(),
            name: name.into(),
            zones: zones.iter().map(|zone| (*zone).to_owned()).collect(),
        })
        .await
        .expect("registered")
        .into_inner()
}

/// Retiring courier `courier_id` because of `reason`.
fn retirement(request_id: &str, courier_id: &str, reason: &str) -> v1::RetireCourierRequest {
    v1::RetireCourierRequest {
        request_id: request_id.into(),
        courier_id: courier_id.into(),
        reason: reason.into(),
    }
}

/// The deliveries `filter` selects, one page.
async fn listed(client: &mut Client, filter: v1::ListDeliveriesRequest) -> v1::ListDeliveriesResponse {
    client.list_deliveries(filter).await.expect("listed").into_inner()
}

fn courier_id(response: &v1::RegisterCourierResponse) -> String {
    response.courier.as_ref().map(|courier| courier.courier_id.clone()).unwrap_or_default()
}

async fn assign(
    client: &mut Client,
    request_id: &str,
    delivery_id: &str,
    courier_id: &str,
) -> Result<v1::AssignCourierResponse, tonic::Status> {
    client
        .assign_courier(v1::AssignCourierRequest {
            request_id: request_id.into(),
            delivery_id: delivery_id.into(),
            courier_id: courier_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn start(
    client: &mut Client,
    request_id: &str,
    delivery_id: &str,
) -> Result<v1::StartDeliveryResponse, tonic::Status> {
    client.start_delivery(departure(request_id, delivery_id)).await.map(tonic::Response::into_inner)
}

async fn confirm(
    client: &mut Client,
    delivery_id: &str,
    proof: v1::ProofOfDelivery,
) -> Result<v1::ConfirmDeliveryResponse, tonic::Status> {
    client
        .confirm_delivery(handover(&format!("confirm-{}", uuid::Uuid::now_v7()), delivery_id, proof))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn bad_requests_name_every_offending_field() {
    let (_nats, _server, mut client) = delivery_for_hub_lead().await;

    client
        .register_courier(v1::RegisterCourierRequest {
            request_id: String::new(),
            courier_id: "kim".into(),
            name: " ".into(),
            zones: vec![],
        })
        .await
        .invalid("nothing right", &["request_id", "courier_id", "name", "zones"]);

    client
        .record_failed_attempt(v1::RecordFailedAttemptRequest {
            request_id: "fail-1".into(),
            delivery_id: "not-an-id".into(),
            reason: v1::FailureReason::Unspecified.into(),
            note: String::new(),
            next_window: Some(v1::TimeWindow {
                start: Some(prost_types::Timestamp { seconds: 1, nanos: 0 }),
                end: None,
            }),
        })
        .await
        .invalid("no reason", &["delivery_id", "reason", "next_window.end"]);

    client
        .report_delivery_exception(v1::ReportDeliveryExceptionRequest {
            request_id: "late-1".into(),
            delivery_id: uuid::Uuid::now_v7().to_string(),
            kind: v1::DeliveryExceptionKind::Delayed.into(),
            description: String::new(),
        })
        .await
        .invalid("delays come from the clock", &["kind"]);

    client
        .get_courier_route(v1::GetCourierRouteRequest {
            courier_id: uuid::Uuid::now_v7().to_string(),
            date: "22.11.2026".into(),
            min_position: 0,
        })
        .await
        .invalid("not a date", &["date"]);
}

#[tokio::test]
async fn an_incomplete_proof_of_delivery_is_refused_field_by_field() {
    let nats = NatsServer::start();
    let server = start_delivery(&nats).await;
    let mut client =
        server.client(Caller::with_roles("kim", &[Role::Courier, Role::Dispatcher]).for_courier("kim")).await;
    let delivery_id = scheduled_delivery(&nats, &mut client, "Munich").await;
    let courier = register(&mut client, "courier-1", "Kim", &["Munich"]).await;
    assign(&mut client, "assign-1", &delivery_id, &courier_id(&courier)).await.expect("assigned");
    start(&mut client, "start-1", &delivery_id).await.expect("started");

    let mut unsigned = proof_at(chrono::Utc::now());
    unsigned.signature = None;
    let refused =
        confirm(&mut client, &delivery_id, unsigned).await.refused(Code::InvalidArgument, "no signature");
    assert!(refused.message().contains("signature"), "{}", refused.message());
    assert_eq!(field_names(&refused), ["proof.signature"]);

    let mut sloppy = proof_at(chrono::Utc::now());
    sloppy.recipient_name = String::new();
    sloppy.signature = Some(v1::Signature {
        signature: Some(v1::signature::Signature::Stored(v1::StoredSignature {
            digest: "md5:abc".into(),
            storage_ref: String::new(),
        })),
    });
    sloppy.location = Some(v1::GeoPoint { latitude: 91.0, longitude: 11.5 });
    sloppy.delivered_at = None;
    if let Some(checklist) = sloppy.checklist.as_mut() {
        checklist.packaging_intact = false;
    }
    let refused = confirm(&mut client, &delivery_id, sloppy).await.expect_err("sloppy proof");
    assert_eq!(
        field_names(&refused),
        [
            "proof.recipient_name",
            "proof.signature.stored.digest",
            "proof.signature.stored.storage_ref",
            "proof.location",
            "proof.delivered_at",
            "proof.checklist.packaging_intact",
        ]
    );
    let mut empty_image = proof_at(chrono::Utc::now());
    empty_image.signature =
        Some(v1::Signature { signature: Some(v1::signature::Signature::Image(Vec::new())) });
    confirm(&mut client, &delivery_id, empty_image)
        .await
        .invalid("empty signature", &["proof.signature.image"]);

    let tomorrow = proof_at(chrono::Utc::now() + chrono::Duration::days(1));
    let refused = confirm(&mut client, &delivery_id, tomorrow)
        .await
        .invalid("not yet delivered", &["proof.delivered_at"]);
    assert_eq!(refused.code(), Code::InvalidArgument, "a handover in the future is a bad request");

    // A handover a week before the courier left is refused because of what is stored.
    let last_week = proof_at(chrono::Utc::now() - chrono::Duration::days(7));
    let refused = confirm(&mut client, &delivery_id, last_week)
        .await
        .refused(Code::FailedPrecondition, "before the departure");
    assert_eq!(waybill_proto::status::precondition_subjects(&refused), ["proof.delivered_at"]);

    // A signature image (small) instead of a stored digest is fine.
    let mut with_image = proof_at(chrono::Utc::now());
    with_image.signature = Some(v1::Signature {
        signature: Some(v1::signature::Signature::Image(vec![0x89, 0x50, 0x4e, 0x47])),
    });
    let delivered = confirm(&mut client, &delivery_id, with_image).await.expect("delivered");
    assert_eq!(
        delivered.delivery.map(|delivery| delivery.status),
        Some(v1::DeliveryStatus::Delivered as i32)
    );
}

#[tokio::test]
async fn unknown_things_are_not_found_and_forbidden_steps_fail_their_precondition() {
    let (nats, _server, mut client) = delivery_for_hub_lead().await;

    client
        .get_delivery(v1::GetDeliveryRequest {
            delivery_id: uuid::Uuid::now_v7().to_string(),
            min_position: 0,
        })
        .await
        .refused(Code::NotFound, "not scheduled");
    let missing =
        start(&mut client, "start-0", &uuid::Uuid::now_v7().to_string()).await.expect_err("no delivery");
    assert_eq!(missing.code(), Code::NotFound);

    let delivery_id = scheduled_delivery(&nats, &mut client, "Munich").await;
    let nobody = assign(&mut client, "assign-0", &delivery_id, "")
        .await
        .refused(Code::FailedPrecondition, "no courier in Munich");
    assert!(nobody.message().contains("Munich"), "{}", nobody.message());
    assign(&mut client, "assign-1", &delivery_id, &uuid::Uuid::now_v7().to_string())
        .await
        .refused(Code::NotFound, "who?");
    start(&mut client, "start-1", &delivery_id).await.refused(Code::FailedPrecondition, "no courier yet");
    let early =
        confirm(&mut client, &delivery_id, proof_at(chrono::Utc::now())).await.expect_err("not out yet");
    assert_eq!(early.code(), Code::FailedPrecondition);

    // A courier with work cannot retire; a retired courier cannot be assigned.
    let kim = register(&mut client, "courier-kim", "Kim", &["Munich"]).await;
    let lea = register(&mut client, "courier-lea", "Lea", &["Hamburg"]).await;
    assign(&mut client, "assign-2", &delivery_id, &courier_id(&kim)).await.expect("assigned");
    client
        .retire_courier(retirement("retire-kim", &courier_id(&kim), "moving"))
        .await
        .refused(Code::FailedPrecondition, "has a delivery");
    client
        .retire_courier(retirement("retire-lea", &courier_id(&lea), "moving"))
        .await
        .expect("lea has nothing to do");
    let retired =
        assign(&mut client, "assign-3", &delivery_id, &courier_id(&lea)).await.expect_err("retired");
    assert_eq!(retired.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_retried_request_gets_its_first_answer_and_writes_nothing_twice() {
    let (nats, _server, mut client) = delivery_for_hub_lead().await;
    let log = open_log(&nats).await;

    let request = v1::RegisterCourierRequest {
        request_id: "courier-1".into(),
        courier_id: uuid::Uuid::now_v7().to_string(),
        name: "Kim".into(),
        zones: vec!["Munich".into()],
    };
    let first = client.register_courier(request.clone()).await.expect("registered").into_inner();
    let again = client.register_courier(request.clone()).await.expect("answered again").into_inner();
    assert_eq!(first.position, again.position);
    let courier_subject = format!("waybill.delivery.courier.{}", request.courier_id);
    assert_eq!(delivery_events(&log, &courier_subject).await.len(), 1);
    // The same courier under a new request id is a different, refused, registration.
    client
        .register_courier(v1::RegisterCourierRequest { request_id: "courier-2".into(), ..request.clone() })
        .await
        .refused(Code::AlreadyExists, "already registered");

    let delivery_id = scheduled_delivery(&nats, &mut client, "munich").await;
    let assigned = assign(&mut client, "assign-1", &delivery_id, "").await.expect("assigned");
    // Meanwhile a second courier with nothing to do joins; the retry still answers Kim.
    register(&mut client, "courier-3", "Lea", &["Munich"]).await;
    let retried = assign(&mut client, "assign-1", &delivery_id, "").await.expect("same answer");
    assert_eq!(retried.position, assigned.position);
    assert_eq!(retried.delivery.map(|delivery| delivery.courier_id), Some(request.courier_id.clone()));
    let task_subject = format!("waybill.delivery.task.{delivery_id}.{delivery_id}");
    let assignments = delivery_events(&log, &task_subject)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "waybill.delivery.courier_assigned.v1")
        .count();
    assert_eq!(assignments, 1);
}

#[tokio::test]
async fn the_courier_app_lists_deliveries_its_route_and_couriers() {
    let (nats, _server, mut client) = delivery_for_hub_lead().await;
    let kim = register(&mut client, "courier-kim", "Kim", &["Munich", "Augsburg"]).await;
    let lea = register(&mut client, "courier-lea", "Lea", &["Munich"]).await;
    let in_munich = scheduled_delivery(&nats, &mut client, "Munich").await;
    let also_in_munich = scheduled_delivery(&nats, &mut client, "Munich").await;
    let in_augsburg = scheduled_delivery(&nats, &mut client, "Augsburg").await;

    // Automatic assignment spreads the load: fewest open deliveries first.
    let first = assigned_courier(assign(&mut client, "a-1", &in_munich, "").await.expect("assigned"));
    let second = assigned_courier(assign(&mut client, "a-2", &also_in_munich, "").await.expect("assigned"));
    assert_ne!(first, second, "two Munich couriers share two Munich deliveries");
    let third = assign(&mut client, "a-3", &in_augsburg, "").await.expect("assigned");
    assert_eq!(third.delivery.as_ref().map(|delivery| delivery.courier_id.clone()), Some(courier_id(&kim)));

    let in_munich = v1::ListDeliveriesRequest {
        zone: "MUNICH".into(),
        min_position: third.position,
        ..Default::default()
    };
    assert_eq!(listed(&mut client, in_munich).await.deliveries.len(), 2);
    let kims = v1::ListDeliveriesRequest { courier_id: courier_id(&kim), ..Default::default() };
    assert_eq!(listed(&mut client, kims).await.deliveries.len(), 2);
    let assigned = v1::ListDeliveriesRequest {
        status: v1::DeliveryStatus::Assigned.into(),
        page_size: 2,
        ..Default::default()
    };
    let paged = listed(&mut client, assigned.clone()).await;
    assert_eq!(paged.deliveries.len(), 2);
    let next_page = v1::ListDeliveriesRequest { page_token: paged.next_page_token.clone(), ..assigned };
    let rest = listed(&mut client, next_page).await;
    assert_eq!(rest.deliveries.len(), 1);
    assert!(rest.next_page_token.is_empty());

    // Kim's route for the day the windows open (standard: a day after arrival).
    let window_day = (chrono::Utc::now() + chrono::Duration::hours(30)).format("%Y-%m-%d").to_string();
    let route = client
        .get_courier_route(v1::GetCourierRouteRequest {
            courier_id: courier_id(&kim),
            date: window_day,
            min_position: 0,
        })
        .await
        .expect("route")
        .into_inner();
    assert_eq!(route.stops.len(), 2);
    let starts: Vec<i64> = route
        .stops
        .iter()
        .map(|stop| {
            stop.promised_window
                .as_ref()
                .and_then(|window| window.start)
                .map(|start| start.seconds)
                .unwrap_or_default()
        })
        .collect();
    assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]), "in window order");
    let long_ago = client
        .get_courier_route(v1::GetCourierRouteRequest {
            courier_id: courier_id(&kim),
            date: "2020-01-01".into(),
            min_position: 0,
        })
        .await
        .expect("route")
        .into_inner();
    assert!(long_ago.stops.is_empty());

    let couriers =
        list_couriers(&mut client, v1::ListCouriersRequest { zone: "augsburg".into(), ..Default::default() })
            .await;
    assert_eq!(couriers.len(), 1);
    assert_eq!(couriers[0].courier_id, courier_id(&kim));
    assert_eq!(couriers[0].open_tasks, 2);
    let all = list_couriers(&mut client, v1::ListCouriersRequest::default()).await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|courier| courier.courier_id == courier_id(&lea)));
}

/// The couriers ListCouriers answers `request` with.
async fn list_couriers(client: &mut Client, request: v1::ListCouriersRequest) -> Vec<v1::Courier> {
    client.list_couriers(request).await.expect("couriers").into_inner().couriers
}

fn assigned_courier(response: v1::AssignCourierResponse) -> String {
    response.delivery.map(|delivery| delivery.courier_id).unwrap_or_default()
}

#[tokio::test]
async fn a_courier_sees_and_records_its_own_deliveries_only() {
    let nats = NatsServer::start();
    let server = start_delivery(&nats).await;
    let mut lead =
        server.client(Caller::with_roles("hub-lead", &[Role::HubOperator, Role::Dispatcher])).await;
    let delivery_id = scheduled_delivery(&nats, &mut lead, "Munich").await;
    let kim = courier_id(&register(&mut lead, "courier-kim", "Kim", &["Munich"]).await);
    let lou = courier_id(&register(&mut lead, "courier-lou", "Lou", &["Munich"]).await);
    assign(&mut lead, "assign-kim", &delivery_id, &kim).await.expect("assigned to Kim");
    let mut kim_app = server.client(Caller::courier("kim", &kim)).await;
    let mut lou_app = server.client(Caller::courier("lou", &lou)).await;

    // Lou neither sees Kim's delivery nor can record on it: it looks like no delivery.
    let get = v1::GetDeliveryRequest { delivery_id: delivery_id.clone(), min_position: 0 };
    lou_app.get_delivery(get.clone()).await.refused(Code::NotFound, "not hers");
    start(&mut lou_app, "lou-start", &delivery_id).await.refused(Code::NotFound, "not hers");
    let all = v1::ListDeliveriesRequest::default();
    assert!(lou_app.list_deliveries(all.clone()).await.expect("listed").into_inner().deliveries.is_empty());
    let route = |courier_id: &str| v1::GetCourierRouteRequest {
        courier_id: courier_id.into(),
        date: String::new(),
        min_position: 0,
    };
    assert_eq!(lou_app.get_courier_route(route(&kim)).await.expect_err("not hers").code(), Code::NotFound);

    // Kim sees and works her own; the lead sees every delivery.
    kim_app.get_delivery(get).await.expect("hers");
    start(&mut kim_app, "kim-start", &delivery_id).await.expect("started by Kim");
    assert_eq!(kim_app.list_deliveries(all.clone()).await.expect("listed").into_inner().deliveries.len(), 1);
    kim_app.get_courier_route(route(&kim)).await.expect("her route");
    assert_eq!(lead.list_deliveries(all).await.expect("listed").into_inner().deliveries.len(), 1);
}
