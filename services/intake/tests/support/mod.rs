//! A real intake on a real nats-server, in-process, for the API tests.

#![allow(dead_code)] // each test file uses a different part of this kit

use std::time::Duration;

use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use waybill_intake::server::{self, Settings};
use waybill_proto::v1::{self, intake_service_client::IntakeServiceClient};
use waybill_testkit::NatsServer;

pub type Client = IntakeServiceClient<InterceptedService<Channel, ActorHeader>>;

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

/// One running intake; dropping it (or `stop`) shuts it down.
pub struct Intake {
    pub address: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Intake {
    pub async fn start(nats: &NatsServer) -> Intake {
        Self::start_with(nats, Settings::default()).await
    }

    /// Starts intake and waits until it is SERVING, as a load balancer would.
    pub async fn start_with(nats: &NatsServer, settings: Settings) -> Intake {
        let intake = Self::start_unready(nats, settings).await;
        intake.wait_serving().await;
        intake
    }

    /// Starts intake without waiting for SERVING (it may never be).
    pub async fn start_unready(nats: &NatsServer, settings: Settings) -> Intake {
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
        Intake { address, stop: Some(stop), task: Some(task) }
    }

    pub async fn client(&self, actor: &'static str) -> Client {
        let channel =
            Channel::from_shared(self.address.clone()).expect("url").connect().await.expect("connect");
        IntakeServiceClient::with_interceptor(channel, ActorHeader(actor))
    }

    pub async fn health(&self) -> i32 {
        let channel =
            Channel::from_shared(self.address.clone()).expect("url").connect().await.expect("connect");
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let request = tonic_health::pb::HealthCheckRequest { service: "waybill.v1.IntakeService".into() };
        health.check(request).await.expect("health answers").into_inner().status
    }

    /// Waits (bounded) until health says SERVING.
    pub async fn wait_serving(&self) {
        for _ in 0..200 {
            if self.health().await == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("intake did not become SERVING within 10 s");
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("intake task").expect("intake shut down cleanly");
        }
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub fn party(name: &str, city: &str, region: &str, country: &str) -> v1::Party {
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
            country_code: country.into(),
        }),
    }
}

pub fn cargo(description: &str, weight_grams: u64, category: v1::CargoCategory) -> v1::CargoLine {
    v1::CargoLine {
        description: description.into(),
        quantity: 1,
        weight_grams,
        length_cm: 40,
        width_cm: 30,
        height_cm: 20,
        declared_value: Some(v1::Money { amount_minor: 10_000, currency: "EUR".into() }),
        category: category.into(),
        hazard_declaration: String::new(),
    }
}

/// A placement that the automatic rules accept.
pub fn placement(request_id: &str, customer_id: &str) -> v1::PlaceOrderRequest {
    v1::PlaceOrderRequest {
        request_id: request_id.into(),
        customer_id: customer_id.into(),
        shipper: Some(party("Acme GmbH", "Berlin", "BE", "DE")),
        consignee: Some(party("Erika Mustermann", "Munich", "BY", "DE")),
        cargo: vec![cargo("books", 2_000, v1::CargoCategory::General)],
        service_level: v1::ServiceLevel::Standard.into(),
    }
}

/// Polls GetOrder until `done` holds for the order (bounded: 10 s).
pub async fn wait_until(client: &mut Client, order_id: &str, done: impl Fn(&v1::Order) -> bool) -> v1::Order {
    for _ in 0..200 {
        let order = client
            .get_order(v1::GetOrderRequest { order_id: order_id.into(), min_position: 0 })
            .await
            .ok()
            .and_then(|response| response.into_inner().order);
        if let Some(order) = order
            && done(&order)
        {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order_id} did not reach the expected state within 10 s");
}

pub fn status_of(order: &v1::Order) -> v1::OrderStatus {
    v1::OrderStatus::try_from(order.status).unwrap_or(v1::OrderStatus::Unspecified)
}
