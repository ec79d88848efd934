//! A real CRM (and, for the flow tests, a real intake) on a real nats-server, in-process.

#![allow(dead_code)] // each test file uses a different part of this kit

use std::time::Duration;

use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use waybill_crm::server::{self, Settings};
use waybill_proto::v1::{self, crm_service_client::CrmServiceClient};
use waybill_testkit::NatsServer;

pub type Client = CrmServiceClient<InterceptedService<Channel, ActorHeader>>;

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

/// One running server task; dropping it (or `stop`) shuts it down.
pub struct Running {
    pub address: String,
    service: &'static str,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub async fn crm(nats: &NatsServer) -> Running {
        Self::crm_with(nats, Settings::default()).await
    }

    pub async fn crm_with(nats: &NatsServer, settings: Settings) -> Running {
        let running = Self::crm_starting(nats, settings).await;
        running.wait_serving().await;
        running
    }

    /// A CRM that may still be rebuilding its read model (or never finish).
    pub async fn crm_starting(nats: &NatsServer, settings: Settings) -> Running {
        let (listener, address) = bind().await;
        let client = nats.client().await;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(
            settings,
            waybill_runtime::Started { nats: client, listener },
            async move {
                let _ = stopped.await;
            },
        ));
        Running { address, service: "waybill.v1.CrmService", stop: Some(stop), task: Some(task) }
    }

    pub async fn intake(nats: &NatsServer) -> Running {
        let (listener, address) = bind().await;
        let client = nats.client().await;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(waybill_intake::server::run(
            waybill_intake::server::Settings::default(),
            waybill_runtime::Started { nats: client, listener },
            async move {
                let _ = stopped.await;
            },
        ));
        let running =
            Running { address, service: "waybill.v1.IntakeService", stop: Some(stop), task: Some(task) };
        running.wait_serving().await;
        running
    }

    pub async fn client(&self, actor: &'static str) -> Client {
        CrmServiceClient::with_interceptor(self.channel().await, ActorHeader(actor))
    }

    pub async fn intake_client(
        &self,
    ) -> v1::intake_service_client::IntakeServiceClient<InterceptedService<Channel, ActorHeader>> {
        v1::intake_service_client::IntakeServiceClient::with_interceptor(
            self.channel().await,
            ActorHeader("user:clerk"),
        )
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.address.clone()).expect("url").connect().await.expect("connect")
    }

    pub async fn health(&self) -> i32 {
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel().await);
        let request = tonic_health::pb::HealthCheckRequest { service: self.service.into() };
        health.check(request).await.map(|response| response.into_inner().status).unwrap_or(0)
    }

    /// Waits (bounded) until health says SERVING.
    pub async fn wait_serving(&self) {
        for _ in 0..200 {
            if self.health().await == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not become SERVING within 10 s", self.service);
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server shut down cleanly");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn bind() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = format!("http://{}", listener.local_addr().expect("bound address"));
    (listener, address)
}

pub fn profile(name: &str) -> v1::CustomerProfile {
    v1::CustomerProfile {
        kind: v1::CustomerKind::Organisation.into(),
        name: name.into(),
        industry: "retail".into(),
        contacts: vec![v1::Contact {
            name: "Ada".into(),
            phone: "+49 30 1234567".into(),
            email: "ada@example.com".into(),
        }],
        addresses: vec![v1::Address {
            lines: vec!["Hauptstrasse 1".into()],
            city: "Berlin".into(),
            region: "BE".into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
        }],
    }
}

pub fn registration(request_id: &str, customer_id: &str) -> v1::RegisterCustomerRequest {
    v1::RegisterCustomerRequest {
        request_id: request_id.into(),
        customer_id: customer_id.into(),
        profile: Some(profile("Acme GmbH")),
    }
}

pub fn eur(amount_minor: i64) -> v1::Money {
    v1::Money { amount_minor, currency: "EUR".into() }
}
