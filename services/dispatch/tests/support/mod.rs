//! A real intake and a real dispatch on a real nats-server, in-process, for the tests.

#![allow(dead_code)] // each test file uses a different part of this kit

use std::time::Duration;

use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};
use waybill_eventlog::{EventLog, StreamSettings};
use waybill_proto::v1::{
    self, dispatch_service_client::DispatchServiceClient, intake_service_client::IntakeServiceClient,
};
use waybill_testkit::NatsServer;

pub type Dispatch = DispatchServiceClient<InterceptedService<Channel, ActorHeader>>;
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

    /// A dispatch client on this server (which must be dispatch).
    pub async fn dispatch_client(&self, actor: &'static str) -> Dispatch {
        DispatchServiceClient::with_interceptor(self.channel().await, ActorHeader(actor))
    }

    /// An intake client on this server (which must be intake).
    pub async fn intake_client(&self, actor: &'static str) -> Intake {
        IntakeServiceClient::with_interceptor(self.channel().await, ActorHeader(actor))
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.address.clone()).expect("url").connect().await.expect("connect")
    }

    /// Waits (bounded: 10 s) until health says SERVING.
    async fn wait_serving(&self) {
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        for _ in 0..200 {
            let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel().await);
            let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
            if health.check(request).await.map(|answer| answer.into_inner().status).ok() == Some(serving) {
                return;
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

pub async fn start_dispatch(nats: &NatsServer) -> Running {
    spawn(
        |client, listener, stopped| {
            waybill_dispatch::server::run(
                waybill_dispatch::server::Settings {
                    shutdown_grace: Duration::from_secs(2),
                    ..Default::default()
                },
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

/// nats-server, intake and dispatch.
pub struct System {
    pub nats: NatsServer,
    pub intake: Running,
    pub dispatch: Running,
}

impl System {
    pub async fn start() -> System {
        let nats = NatsServer::start();
        let intake = start_intake(&nats).await;
        let dispatch = start_dispatch(&nats).await;
        System { nats, intake, dispatch }
    }

    pub async fn dispatch(&self, actor: &'static str) -> Dispatch {
        self.dispatch.dispatch_client(actor).await
    }

    pub async fn intake(&self, actor: &'static str) -> Intake {
        self.intake.intake_client(actor).await
    }

    /// Stops dispatch and starts it again on the same log (a new port).
    pub async fn restart_dispatch(self) -> System {
        let System { nats, intake, dispatch } = self;
        dispatch.stop().await;
        let dispatch = start_dispatch(&nats).await;
        System { nats, intake, dispatch }
    }

    /// The log, read directly, as an integrator would.
    pub async fn log(&self) -> EventLog {
        EventLog::open(self.nats.client().await, StreamSettings::default(), "/waybill/test")
            .await
            .expect("open the log")
    }

    /// The `ce-type`s on one subject, in order.
    pub async fn event_types(&self, subject: &str) -> Vec<String> {
        let history = self.log().await.read_subject(subject).await.expect("read the subject");
        history.into_iter().map(|event| event.event_type).collect()
    }
}

pub fn party(name: &str, city: &str, region: &str) -> v1::Party {
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

/// Two pieces of 3 kg, 40 × 30 × 20 cm each.
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

/// Volume of [`books`]: 2 × 40 × 30 × 20 cm³.
pub const BOOKS_VOLUME_CM3: u64 = 48_000;

/// Places an ordinary order (Berlin → Munich, standard, two books) that intake accepts by
/// itself; returns its id.
pub async fn place_order(intake: &mut Intake, request_id: &str) -> String {
    let placed = intake
        .place_order(v1::PlaceOrderRequest {
            request_id: request_id.into(),
            customer_id: "cust-1".into(),
            shipper: Some(party("Acme GmbH", "Berlin", "BE")),
            consignee: Some(party("Erika Mustermann", "Munich", "BY")),
            cargo: vec![books()],
            service_level: v1::ServiceLevel::Standard.into(),
        })
        .await
        .expect("order placed")
        .into_inner();
    placed.order.expect("order").order_id
}

/// Polls GetTask until `done` holds (bounded: 10 s).
pub async fn wait_for_task(
    dispatch: &mut Dispatch,
    task_id: &str,
    done: impl Fn(&v1::DispatchTask) -> bool,
) -> v1::DispatchTask {
    for _ in 0..200 {
        let task = dispatch
            .get_task(v1::GetTaskRequest { task_id: task_id.into(), min_position: 0 })
            .await
            .ok()
            .and_then(|response| response.into_inner().task);
        if let Some(task) = task
            && done(&task)
        {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task_id} did not reach the expected state within 10 s");
}

pub fn status_of(task: &v1::DispatchTask) -> v1::TaskStatus {
    v1::TaskStatus::try_from(task.status).unwrap_or(v1::TaskStatus::Unspecified)
}

/// Registers a vehicle of `kind` at `depot` that carries `weight_grams` (and plenty of volume).
pub async fn register_vehicle(
    dispatch: &mut Dispatch,
    request_id: &str,
    kind: v1::VehicleKind,
    depot: &str,
    weight_grams: u64,
) -> String {
    let vehicle_id = uuid::Uuid::now_v7().to_string();
    dispatch
        .register_vehicle(v1::RegisterVehicleRequest {
            request_id: request_id.into(),
            vehicle_id: vehicle_id.clone(),
            kind: kind.into(),
            registration: format!("B-WB {request_id}"),
            capacity: Some(v1::Load { weight_grams, volume_cm3: 10_000_000 }),
            depot: depot.into(),
        })
        .await
        .expect("vehicle registered");
    vehicle_id
}

/// The fields named in a status's `google.rpc.BadRequest`.
pub fn violated_fields(status: &Status) -> Vec<String> {
    waybill_proto::status::field_violations(status).into_iter().map(|violation| violation.field).collect()
}

pub fn task_subject(task_id: &str) -> String {
    format!("waybill.dispatch.task.{task_id}")
}

pub fn vehicle_subject(vehicle_id: &str) -> String {
    format!("waybill.dispatch.vehicle.{vehicle_id}")
}
