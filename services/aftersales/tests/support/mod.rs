//! A real intake and a real after-sales on a real nats-server, in-process, plus delivery's
//! events built from the public contract (proto/), exactly as delivery writes them, so
//! after-sales is tested without the rest of the fulfilment chain.

#![allow(dead_code)] // each test file uses a different part of this kit

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use waybill_aftersales::server::Settings;
use waybill_eventlog::{EventLog, NewEvent, StreamSettings, subject};
use waybill_proto::v1::{
    self, after_sales_service_client::AfterSalesServiceClient, delivery_event, event_envelope::Payload,
    intake_service_client::IntakeServiceClient,
};
use waybill_testkit::NatsServer;
use waybill_types::Timestamp;

pub type AfterSales = AfterSalesServiceClient<InterceptedService<Channel, ActorHeader>>;
pub type Intake = IntakeServiceClient<InterceptedService<Channel, ActorHeader>>;

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

/// One server running in this process; dropping it aborts it.
pub struct Running {
    pub address: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server shut down cleanly");
        }
    }

    pub async fn aftersales(&self, actor: &'static str) -> AfterSales {
        AfterSalesServiceClient::with_interceptor(self.channel().await, ActorHeader(actor))
    }

    pub async fn intake(&self, actor: &'static str) -> Intake {
        IntakeServiceClient::with_interceptor(self.channel().await, ActorHeader(actor))
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.address.clone()).expect("url").connect().await.expect("connect")
    }

    /// Waits (bounded: 10 s) until health says SERVING.
    async fn wait_serving(&self) {
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        for _ in 0..200 {
            if let Ok(channel) = Channel::from_shared(self.address.clone()).expect("url").connect().await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
                if health.check(request).await.is_ok_and(|answer| answer.into_inner().status == serving) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not become SERVING within 10 s", self.address);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn spawn<F>(
    start: impl FnOnce(async_nats::Client, tokio::net::TcpListener, oneshot::Receiver<()>) -> F,
    nats: &NatsServer,
) -> Running
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("bound address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(start(nats.client().await, listener, stopped));
    let running = Running { address, stop: Some(stop), task: Some(task) };
    running.wait_serving().await;
    running
}

pub async fn start_intake(nats: &NatsServer) -> Running {
    spawn(
        |client, listener, stopped| {
            waybill_intake::server::run(
                waybill_intake::server::Settings::default(),
                waybill_runtime::Started { nats: client, listener },
                async move {
                    let _ = stopped.await;
                },
            )
        },
        nats,
    )
    .await
}

pub async fn start_aftersales(nats: &NatsServer, settings: Settings) -> Running {
    let settings = Settings { shutdown_grace: Duration::from_secs(2), ..settings };
    spawn(
        |client, listener, stopped| {
            waybill_aftersales::server::run(
                settings,
                waybill_runtime::Started { nats: client, listener },
                async move {
                    let _ = stopped.await;
                },
            )
        },
        nats,
    )
    .await
}

/// The log, read and written directly, as another service or an integrator would.
pub async fn log(nats: &NatsServer) -> EventLog {
    EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test")
        .await
        .expect("open the log")
}

/// The `ce-type`s on one subject, in order.
pub async fn event_types(nats: &NatsServer, subject: &str) -> Vec<String> {
    let history = log(nats).await.read_subject(subject).await.expect("read the subject");
    history.into_iter().map(|event| event.event_type).collect()
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
            region: "BE".into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
        }),
    }
}

/// Two pieces of 3 kg, 40 × 30 × 20 cm each, declared at 100.00 EUR together.
pub fn books() -> v1::CargoLine {
    v1::CargoLine {
        description: "books".into(),
        quantity: 2,
        weight_grams: 3_000,
        length_cm: 40,
        width_cm: 30,
        height_cm: 20,
        declared_value: Some(v1::Money { amount_minor: 10_000, currency: "EUR".into() }),
        category: v1::CargoCategory::General.into(),
        hazard_declaration: String::new(),
    }
}

/// An order intake accepted: its id and what the customer was charged.
pub struct Placed {
    pub order_id: String,
    pub charged: v1::Money,
}

/// Places an ordinary order (Berlin → Munich, standard, two books) through the real intake.
pub async fn place_order(intake: &mut Intake, request_id: &str) -> Placed {
    let order = intake
        .place_order(v1::PlaceOrderRequest {
            request_id: request_id.into(),
            customer_id: "cust-1".into(),
            shipper: Some(party("Acme GmbH", "Berlin")),
            consignee: Some(party("Erika Mustermann", "Munich")),
            cargo: vec![books()],
            service_level: v1::ServiceLevel::Standard.into(),
        })
        .await
        .expect("order placed")
        .into_inner()
        .order
        .expect("order");
    let charged = order.quote.and_then(|quote| quote.total).expect("a quoted total");
    Placed { order_id: order.order_id, charged }
}

/// Appends one of delivery's events on `waybill.delivery.task.<order id>`, as delivery
/// would; returns (event id, position).
pub async fn append_delivery_event(
    log: &EventLog,
    order_id: &str,
    event_type: &str,
    event: delivery_event::Event,
) -> (String, u64) {
    let event_id = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let envelope = v1::EventEnvelope {
        event_id: event_id.to_string(),
        event_type: event_type.to_owned(),
        aggregate_id: order_id.to_owned(),
        order_id: order_id.to_owned(),
        occurred_at: Some(waybill_proto::convert::timestamp_to_wire(now)),
        causation_id: "test".into(),
        correlation_id: "test".into(),
        actor: Some(v1::Actor { kind: v1::actor::Kind::Service.into(), id: "delivery-test".into() }),
        schema_version: 1,
        payload: Some(Payload::Delivery(v1::DeliveryEvent { event: Some(event) })),
    };
    let new = NewEvent {
        event_id,
        event_type: event_type.to_owned(),
        aggregate_id: order_id.to_owned(),
        occurred_at: now,
        payload: Bytes::from(envelope.encode_to_vec()),
    };
    let subject = subject::aggregate("delivery", "task", order_id);
    let position = log.append(&subject, None, &event_id.to_string(), &[new]).await.expect("append").last;
    (event_id.to_string(), position)
}

/// Delivery's handover, delivered at `delivered_at`.
pub async fn deliver(log: &EventLog, order_id: &str, delivered_at: Timestamp) -> u64 {
    let proof = v1::ProofOfDelivery {
        recipient_name: "Erika Mustermann".into(),
        recipient_relation: "consignee".into(),
        delivered_at: Some(waybill_proto::convert::timestamp_to_wire(delivered_at)),
        id_checked: true,
        ..Default::default()
    };
    let event = delivery_event::Event::DeliveryCompleted(v1::DeliveryCompleted {
        proof: Some(proof),
        on_time: true,
        first_attempt: true,
    });
    append_delivery_event(log, order_id, "waybill.delivery.delivery_completed.v1", event).await.1
}

/// Delivery's exception of `kind`; returns (event id, position).
pub async fn raise_exception(
    log: &EventLog,
    order_id: &str,
    kind: v1::DeliveryExceptionKind,
) -> (String, u64) {
    let event = delivery_event::Event::DeliveryExceptionRaised(v1::DeliveryExceptionRaised {
        kind: kind.into(),
        description: "the parcel was lost in the depot".into(),
        missed_window: None,
    });
    append_delivery_event(log, order_id, "waybill.delivery.delivery_exception_raised.v1", event).await
}

/// The fields named in a status's `google.rpc.BadRequest`.
pub fn violated_fields(status: &Status) -> Vec<String> {
    waybill_proto::status::field_violations(status).into_iter().map(|violation| violation.field).collect()
}

pub fn eur(amount_minor: i64) -> v1::Money {
    v1::Money { amount_minor, currency: "EUR".into() }
}

/// Polls ListCases until `done` holds (bounded: 10 s).
pub async fn wait_for_cases(
    client: &mut AfterSales,
    request: v1::ListCasesRequest,
    done: impl Fn(&[v1::Case]) -> bool,
) -> Vec<v1::Case> {
    for _ in 0..200 {
        let cases = client.list_cases(request.clone()).await.expect("list cases").into_inner().cases;
        if done(&cases) {
            return cases;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the cases did not reach the expected state within 10 s");
}
