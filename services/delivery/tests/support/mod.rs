//! Delivery (and, for the flow across services, intake) in this process for its tests,
//! plus intake's and dispatch's events appended as those services write them, so delivery
//! is tested on its own. The host is `waybill_testkit::InProcess`, the fixtures
//! `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

use waybill_delivery::server::{self, Settings};
use waybill_eventlog::{EventLog, RecordedEvent, subject};
use waybill_fixtures::{Caller, Role};
pub use waybill_fixtures::{
    DeliveryClient as Client, IntakeClient, ManualClock, party, party_at, proof_of_delivery as proof_at,
    violated_fields as field_names,
};
use waybill_proto::v1::{self, event_envelope::Payload};
use waybill_testkit::{InProcess, NatsServer, eventually};
use waybill_types::Timestamp;

pub type Delivery = InProcess<Client>;

/// A hub lead who dispatches and also drives the van as Kim: the caller most delivery tests
/// act as.
pub fn hub_lead() -> Caller {
    Caller::with_roles("hub-lead", &[Role::Dispatcher, Role::Courier]).for_courier("kim")
}

pub async fn start_delivery(nats: &NatsServer) -> Delivery {
    Delivery::start(nats, server::run, Settings::default()).await
}

pub async fn start_intake(nats: &NatsServer) -> InProcess<IntakeClient> {
    InProcess::start(nats, waybill_intake::server::run, Default::default()).await
}

/// The log, opened as a test writing other services' events.
pub async fn open_log(nats: &NatsServer) -> EventLog {
    waybill_fixtures::foreign::open_log(nats.client().await).await
}

/// Appends one event of another service's aggregate about order `order_id` (service,
/// aggregate kind, id) as that service would; returns the recorded event as a reaction
/// would receive it.
pub async fn append_foreign(
    log: &EventLog,
    (service, aggregate, aggregate_id): (&str, &str, &str),
    order_id: &str,
    event_type: &str,
    occurred_at: Timestamp,
    payload: Payload,
) -> RecordedEvent {
    let subject = subject::in_order(service, aggregate, order_id, aggregate_id);
    let position =
        waybill_fixtures::foreign::append(log, &subject, order_id, event_type, occurred_at, payload)
            .await
            .position;
    log.get(position).await.expect("read back")
}

/// Intake's OrderPlaced for an order to `city` at `service_level`.
pub async fn order_placed(
    log: &EventLog,
    order_id: &str,
    city: &str,
    service_level: v1::ServiceLevel,
) -> RecordedEvent {
    order_placed_to(log, order_id, party("Erika Mustermann", city), service_level).await
}

/// Intake's OrderPlaced for an order to `consignee` at `service_level`.
pub async fn order_placed_to(
    log: &EventLog,
    order_id: &str,
    consignee: v1::Party,
    service_level: v1::ServiceLevel,
) -> RecordedEvent {
    let placed = v1::OrderPlaced {
        customer_id: "cust-1".into(),
        shipper: Some(party("Acme GmbH", "Berlin")),
        consignee: Some(consignee),
        cargo: Vec::new(),
        service_level: service_level.into(),
        quote: None,
    };
    let payload =
        Payload::Intake(v1::IntakeEvent { event: Some(v1::intake_event::Event::OrderPlaced(placed)) });
    let event_type = "waybill.intake.order_placed.v1";
    append_foreign(log, ("intake", "order", order_id), order_id, event_type, chrono::Utc::now(), payload)
        .await
}

/// Dispatch's TaskArrivedAtHub for the order's forward task (task id = order id).
pub async fn arrived_at_hub(log: &EventLog, order_id: &str, at: Timestamp) -> RecordedEvent {
    let arrived = v1::TaskArrivedAtHub { hub: "MUC-HUB".into() };
    let payload = Payload::Dispatch(v1::DispatchEvent {
        event: Some(v1::dispatch_event::Event::TaskArrivedAtHub(arrived)),
    });
    let event_type = "waybill.dispatch.task_arrived_at_hub.v1";
    append_foreign(log, ("dispatch", "task", order_id), order_id, event_type, at, payload).await
}

/// Registers Kim, a courier for `zone` (request `courier-1`); returns her id.
pub async fn register_kim(client: &mut Client, zone: &str) -> String {
    let courier_id = uuid::Uuid::now_v7().to_string();
    let request = v1::RegisterCourierRequest {
        request_id: "courier-1".into(),
        courier_id: courier_id.clone(),
        name: "Kim".into(),
        zones: vec![zone.into()],
    };
    client.register_courier(request).await.expect("registered");
    courier_id
}

/// The courier leaving with delivery `delivery_id` (StartDelivery).
pub fn departure(request_id: &str, delivery_id: &str) -> v1::StartDeliveryRequest {
    v1::StartDeliveryRequest { request_id: request_id.into(), delivery_id: delivery_id.into() }
}

/// Delivery `delivery_id` handed over against `proof` (ConfirmDelivery).
pub fn handover(
    request_id: &str,
    delivery_id: &str,
    proof: v1::ProofOfDelivery,
) -> v1::ConfirmDeliveryRequest {
    v1::ConfirmDeliveryRequest {
        request_id: request_id.into(),
        delivery_id: delivery_id.into(),
        proof: Some(proof),
    }
}

/// Polls GetDelivery until the delivery exists (bounded: 10 s).
pub async fn wait_scheduled(client: &mut Client, delivery_id: &str) -> v1::DeliveryTask {
    eventually(&format!("delivery {delivery_id} to be scheduled"), async || {
        let request = v1::GetDeliveryRequest { delivery_id: delivery_id.into(), min_position: 0 };
        client.get_delivery(request).await.ok()?.into_inner().delivery
    })
    .await
}

/// The delivery as GetDelivery answers it now (no waiting for a position).
pub async fn delivery_now(client: &mut Client, delivery_id: &str) -> v1::DeliveryTask {
    let request = v1::GetDeliveryRequest { delivery_id: delivery_id.into(), min_position: 0 };
    client.get_delivery(request).await.expect("delivery").into_inner().delivery.expect("a delivery")
}

/// Every event on `subject`, decoded, with its type.
pub async fn delivery_events(log: &EventLog, subject: &str) -> Vec<(String, v1::delivery_event::Event)> {
    let envelopes = waybill_fixtures::foreign::envelopes(log, subject).await;
    envelopes
        .into_iter()
        .filter_map(|envelope| match envelope.payload? {
            Payload::Delivery(v1::DeliveryEvent { event: Some(event) }) => Some((envelope.event_type, event)),
            _ => None,
        })
        .collect()
}

/// The standard order with one 2 kg parcel of books, to Erika in `city` at `service_level`.
pub fn placement(request_id: &str, city: &str, service_level: v1::ServiceLevel) -> v1::PlaceOrderRequest {
    v1::PlaceOrderRequest {
        consignee: Some(party("Erika Mustermann", city)),
        cargo: vec![waybill_fixtures::cargo("books", 2_000, v1::CargoCategory::General)],
        service_level: service_level.into(),
        ..waybill_fixtures::placement(request_id, "cust-1")
    }
}
