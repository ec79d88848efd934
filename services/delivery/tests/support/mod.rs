//! A real delivery service on a real nats-server, in-process, plus the other services'
//! events built from the public contract (proto/), exactly as intake and dispatch write
//! them, so delivery is tested on its own.

#![allow(dead_code)] // each test file uses a different part of this kit

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use waybill_delivery::server::{self, Settings};
use waybill_eventlog::{EventLog, NewEvent, StreamSettings, subject};
use waybill_proto::v1::{self, delivery_service_client::DeliveryServiceClient, event_envelope::Payload};
use waybill_testkit::NatsServer;
use waybill_types::Timestamp;

pub type Client = DeliveryServiceClient<InterceptedService<Channel, ActorHeader>>;

/// Adds `x-waybill-actor` to every call, as a real caller would.
#[derive(Clone)]
pub struct ActorHeader(pub &'static str);

impl tonic::service::Interceptor for ActorHeader {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("x-waybill-actor", self.0.parse().map_err(|_| Status::internal("actor"))?);
        Ok(request)
    }
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<Timestamp>>);

impl TestClock {
    pub fn at(now: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    pub fn set(&self, now: Timestamp) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }
}

impl waybill_command::Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One running delivery service; dropping it (or `stop`) shuts it down.
pub struct DeliveryServer {
    pub address: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl DeliveryServer {
    pub async fn start(nats: &NatsServer) -> DeliveryServer {
        Self::start_with(nats, Settings::default()).await
    }

    pub async fn start_with(nats: &NatsServer, settings: Settings) -> DeliveryServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = format!("http://{}", listener.local_addr().expect("bound address"));
        let client = nats.client().await;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(
            settings,
            waybill_runtime::Started { nats: client, listener },
            async move {
                let _ = stopped.await;
            },
        ));
        let server = DeliveryServer { address, stop: Some(stop), task: Some(task) };
        server.wait_serving().await;
        server
    }

    pub async fn client(&self, actor: &'static str) -> Client {
        let channel =
            Channel::from_shared(self.address.clone()).expect("url").connect().await.expect("connect");
        DeliveryServiceClient::with_interceptor(channel, ActorHeader(actor))
    }

    async fn wait_serving(&self) {
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        for _ in 0..200 {
            if let Ok(channel) = Channel::from_shared(self.address.clone()).expect("url").connect().await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
                if health.check(request).await.is_ok_and(|status| status.into_inner().status == serving) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("delivery did not become SERVING within 10 s");
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("delivery task").expect("delivery shut down cleanly");
        }
    }
}

impl Drop for DeliveryServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The log, opened as a test writing other services' events.
pub async fn open_log(nats: &NatsServer) -> EventLog {
    EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test")
        .await
        .expect("open the log")
}

/// Appends one event of another service's aggregate (service, aggregate kind, id) as that
/// service would; returns the
/// recorded event as a reaction would receive it.
pub async fn append_foreign(
    log: &EventLog,
    (service, aggregate, aggregate_id): (&str, &str, &str),
    order_id: &str,
    event_type: &str,
    occurred_at: Timestamp,
    payload: Payload,
) -> waybill_eventlog::RecordedEvent {
    let event_id = uuid::Uuid::now_v7();
    let envelope = v1::EventEnvelope {
        event_id: event_id.to_string(),
        event_type: event_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        order_id: order_id.to_owned(),
        occurred_at: Some(waybill_proto::convert::timestamp_to_wire(occurred_at)),
        causation_id: format!("test-{event_id}"),
        correlation_id: format!("test-{event_id}"),
        actor: Some(v1::Actor { kind: v1::actor::Kind::User.into(), id: "tester".into() }),
        schema_version: 1,
        payload: Some(payload),
    };
    let event = NewEvent {
        event_id,
        event_type: event_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred_at,
        payload: Bytes::from(envelope.encode_to_vec()),
    };
    let subject = subject::aggregate(service, aggregate, aggregate_id);
    let position = log.append(&subject, None, &event_id.to_string(), &[event]).await.expect("append").last;
    log.get(position).await.expect("read back")
}

/// Intake's OrderPlaced for an order to `city` at `service_level`.
pub async fn order_placed(
    log: &EventLog,
    order_id: &str,
    city: &str,
    service_level: v1::ServiceLevel,
) -> waybill_eventlog::RecordedEvent {
    let placed = v1::OrderPlaced {
        customer_id: "cust-1".into(),
        shipper: Some(party("Acme GmbH", "Berlin")),
        consignee: Some(party("Erika Mustermann", city)),
        cargo: Vec::new(),
        service_level: service_level.into(),
        quote: None,
    };
    let payload =
        Payload::Intake(v1::IntakeEvent { event: Some(v1::intake_event::Event::OrderPlaced(placed)) });
    let now = chrono::Utc::now();
    append_foreign(
        log,
        ("intake", "order", order_id),
        order_id,
        "waybill.intake.order_placed.v1",
        now,
        payload,
    )
    .await
}

/// Dispatch's TaskArrivedAtHub for the order's forward task (task id = order id).
pub async fn arrived_at_hub(
    log: &EventLog,
    order_id: &str,
    at: Timestamp,
) -> waybill_eventlog::RecordedEvent {
    let arrived = v1::TaskArrivedAtHub { hub: "MUC-HUB".into() };
    let payload = Payload::Dispatch(v1::DispatchEvent {
        event: Some(v1::dispatch_event::Event::TaskArrivedAtHub(arrived)),
    });
    append_foreign(
        log,
        ("dispatch", "task", order_id),
        order_id,
        "waybill.dispatch.task_arrived_at_hub.v1",
        at,
        payload,
    )
    .await
}

pub fn party(name: &str, city: &str) -> v1::Party {
    v1::Party {
        contact: Some(v1::Contact {
            name: name.into(),
            phone: "+49 30 1234567".into(),
            email: String::new(),
        }),
        address: Some(v1::Address {
            lines: vec!["Hauptstrasse 1".into()],
            city: city.into(),
            region: String::new(),
            postal_code: "80802".into(),
            country_code: "DE".into(),
        }),
    }
}

/// A complete proof of delivery, handed over at `at`.
pub fn proof_at(at: Timestamp) -> v1::ProofOfDelivery {
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
        delivered_at: Some(waybill_proto::convert::timestamp_to_wire(at)),
        id_checked: true,
        checklist: Some(v1::HandoverChecklist {
            piece_count_matches: true,
            packaging_intact: true,
            recipient_informed_of_contents: true,
        }),
    }
}

/// Polls GetDelivery until the delivery exists (bounded: 10 s).
pub async fn wait_scheduled(client: &mut Client, delivery_id: &str) -> v1::DeliveryTask {
    for _ in 0..200 {
        let found = client
            .get_delivery(v1::GetDeliveryRequest { delivery_id: delivery_id.into(), min_position: 0 })
            .await
            .ok()
            .and_then(|response| response.into_inner().delivery);
        if let Some(delivery) = found {
            return delivery;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery {delivery_id} was not scheduled within 10 s");
}

/// Every event on `subject`, decoded, with its type.
pub async fn delivery_events(log: &EventLog, subject: &str) -> Vec<(String, v1::delivery_event::Event)> {
    log.read_subject(subject)
        .await
        .expect("read subject")
        .into_iter()
        .filter_map(|recorded| {
            let envelope = v1::EventEnvelope::decode(recorded.payload.as_ref()).ok()?;
            match envelope.payload? {
                Payload::Delivery(v1::DeliveryEvent { event: Some(event) }) => {
                    Some((envelope.event_type, event))
                }
                _ => None,
            }
        })
        .collect()
}

pub fn field_names(status: &Status) -> Vec<String> {
    waybill_proto::status::field_violations(status).into_iter().map(|violation| violation.field).collect()
}

/// A real intake on the same nats-server, for the flow across services.
pub struct IntakeServer {
    pub address: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl IntakeServer {
    pub async fn start(nats: &NatsServer) -> IntakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = format!("http://{}", listener.local_addr().expect("bound address"));
        let client = nats.client().await;
        let (stop, stopped) = oneshot::channel::<()>();
        let settings = waybill_intake::server::Settings::default();
        let task = tokio::spawn(waybill_intake::server::run(
            settings,
            waybill_runtime::Started { nats: client, listener },
            async move {
                let _ = stopped.await;
            },
        ));
        let intake = IntakeServer { address, stop: Some(stop), task: Some(task) };
        waybill_testkit::wait_serving(&intake.address, "waybill.v1.IntakeService", Duration::from_secs(10))
            .await
            .expect("intake SERVING");
        intake
    }

    pub async fn client(&self) -> v1::intake_service_client::IntakeServiceClient<Channel> {
        for _ in 0..200 {
            if let Ok(endpoint) = Channel::from_shared(self.address.clone())
                && let Ok(channel) = endpoint.connect().await
            {
                return v1::intake_service_client::IntakeServiceClient::new(channel);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("intake did not listen within 10 s");
    }
}

impl Drop for IntakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A placement intake accepts by itself: books from Berlin to Erika in `city`.
pub fn placement(request_id: &str, city: &str, service_level: v1::ServiceLevel) -> v1::PlaceOrderRequest {
    v1::PlaceOrderRequest {
        request_id: request_id.into(),
        customer_id: "cust-1".into(),
        shipper: Some(party("Acme GmbH", "Berlin")),
        consignee: Some(party("Erika Mustermann", city)),
        cargo: vec![v1::CargoLine {
            description: "books".into(),
            quantity: 1,
            weight_grams: 2_000,
            length_cm: 40,
            width_cm: 30,
            height_cm: 20,
            declared_value: Some(v1::Money { amount_minor: 10_000, currency: "EUR".into() }),
            category: v1::CargoCategory::General.into(),
            hazard_declaration: String::new(),
        }],
        service_level: service_level.into(),
    }
}
