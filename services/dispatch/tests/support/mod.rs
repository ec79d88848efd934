//! Intake and dispatch in this process on one nats-server (dispatch plans a task for each
//! order intake accepts), and the steps its tests take; the host is
//! `waybill_testkit::InProcess`, the fixtures `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

use std::time::Duration;
use waybill_fixtures::{Caller, Role};

use waybill_dispatch::commands::{Runners, TaskRunner};
use waybill_dispatch::server::{self, Settings};
use waybill_eventlog::{EventLog, ReactionError, RecordedEvent};
pub use waybill_fixtures::{
    BOOKS_VOLUME_CM3, DispatchClient as Dispatch, IntakeClient as Intake, assignment, books, violated_fields,
};
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer, eventually};

pub async fn start_intake(nats: &NatsServer) -> InProcess<Intake> {
    InProcess::start(nats, waybill_intake::server::run, Default::default()).await
}

pub async fn start_dispatch(nats: &NatsServer) -> InProcess<Dispatch> {
    let settings = Settings { shutdown_grace: Duration::from_secs(2), ..Default::default() };
    InProcess::start(nats, server::run, settings).await
}

/// The caller most tests act as: a dispatcher who also runs the hubs.
pub fn dispatcher() -> Caller {
    Caller::with_roles("dispatcher", &[Role::Dispatcher, Role::HubOperator])
}

/// nats-server, intake and dispatch.
pub struct System {
    pub nats: NatsServer,
    pub intake: InProcess<Intake>,
    pub dispatch: InProcess<Dispatch>,
}

impl System {
    pub async fn start() -> System {
        let nats = NatsServer::start();
        let intake = start_intake(&nats).await;
        let dispatch = start_dispatch(&nats).await;
        System { nats, intake, dispatch }
    }

    pub async fn dispatch(&self, caller: Caller) -> Dispatch {
        self.dispatch.client(caller).await
    }

    pub async fn intake(&self, caller: Caller) -> Intake {
        self.intake.client(caller).await
    }

    /// Stops dispatch and starts it again on the same log (a new port).
    pub async fn restart_dispatch(self) -> System {
        let System { nats, intake, dispatch } = self;
        dispatch.stop().await;
        let dispatch = start_dispatch(&nats).await;
        System { nats, intake, dispatch }
    }

    /// Dispatch's command runners on this log, a second replica's, their read model caught up:
    /// for handing a reaction an event again by hand.
    pub async fn caught_up_runners(&self) -> Runners {
        let runners = Runners::start(&Settings::default(), self.nats.client().await).await.expect("runners");
        runners.tasks.model.wait_caught_up(Duration::from_secs(10)).await.expect("caught up");
        runners
    }

    /// Hands `event` to `reaction` twice more, as a consumer redelivering it would, on a second
    /// replica's caught-up runners; then restarts dispatch, whose read model replays the log.
    pub async fn redeliver_twice_then_restart<Handled>(
        self,
        event: RecordedEvent,
        reaction: fn(TaskRunner, RecordedEvent) -> Handled,
    ) -> System
    where
        Handled: std::future::Future<Output = Result<(), ReactionError>>,
    {
        let runners = self.caught_up_runners().await;
        for _ in 0..2 {
            reaction(runners.tasks.clone(), event.clone()).await.expect("handled again");
        }
        self.restart_dispatch().await
    }

    /// The log, read directly, as an integrator would.
    pub async fn log(&self) -> EventLog {
        waybill_fixtures::foreign::open_log(self.nats.client().await).await
    }

    /// The `ce-type`s on one subject, in order.
    pub async fn event_types(&self, subject: &str) -> Vec<String> {
        waybill_fixtures::foreign::event_types(&self.log().await, subject).await
    }
}

/// Places the standard order (Berlin → Munich, two books), which intake accepts by
/// itself; returns its id.
pub async fn place_order(intake: &mut Intake, request_id: &str) -> String {
    let placed = intake
        .place_order(waybill_fixtures::placement(request_id, "cust-1"))
        .await
        .expect("order placed")
        .into_inner();
    placed.order.expect("order").order_id
}

/// Intake's record of the handover, as intake writes it (from delivery's event).
pub async fn record_delivery(system: &System, order_id: &str) {
    let delivered =
        waybill_intake::domain::Event::Delivered { source_event_id: uuid::Uuid::now_v7().to_string() };
    record_on_order(system, order_id, delivered, "delivered-1", waybill_types::Actor::service("test")).await;
}

/// One of intake's events on the order, as intake writes it, caused by `request_id`.
pub async fn record_on_order(
    system: &System,
    order_id: &str,
    event: waybill_intake::domain::Event,
    request_id: &str,
    actor: waybill_types::Actor,
) {
    let meta = waybill_command::EventMeta {
        event_id: uuid::Uuid::now_v7(),
        occurred_at: chrono::Utc::now(),
        causation_id: request_id.into(),
        correlation_id: request_id.into(),
        actor,
    };
    let order = waybill_types::OrderId::parse(order_id).expect("uuid");
    let recorded = waybill_intake::codec::encode(order, &event, &meta);
    let subject = format!("waybill.intake.order.{order_id}.{order_id}");
    system.log().await.append(&subject, None, request_id, &[recorded]).await.expect("appended");
}

/// Reporting an exception of `kind` and `severity` on task `task_id`.
pub fn exception_report(
    request_id: &str,
    task_id: &str,
    kind: v1::ExceptionKind,
    severity: v1::Severity,
    description: &str,
) -> v1::ReportExceptionRequest {
    v1::ReportExceptionRequest {
        request_id: request_id.into(),
        task_id: task_id.into(),
        kind: kind.into(),
        severity: severity.into(),
        description: description.into(),
    }
}

/// Polls GetTask until `done` holds (bounded: 10 s).
pub async fn wait_for_task(
    dispatch: &mut Dispatch,
    task_id: &str,
    done: impl Fn(&v1::DispatchTask) -> bool,
) -> v1::DispatchTask {
    eventually(&format!("task {task_id} to reach the expected state"), async || {
        let request = v1::GetTaskRequest { task_id: task_id.into(), min_position: 0 };
        dispatch.get_task(request).await.ok()?.into_inner().task.filter(|task| done(task))
    })
    .await
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

/// Registers a driver at Berlin holding a class-`licence_class` licence; returns their id.
pub async fn register_driver(dispatch: &mut Dispatch, request_id: &str, licence_class: &str) -> String {
    let driver_id = uuid::Uuid::now_v7().to_string();
    dispatch
        .register_driver(v1::RegisterDriverRequest {
            request_id: request_id.into(),
            driver_id: driver_id.clone(),
            name: "Kim".into(),
            licence_class: licence_class.into(),
            depot: "Berlin".into(),
        })
        .await
        .expect("driver registered");
    driver_id
}

/// The subject of the forward task of order `order_id` (the task's id is the order's).
pub fn task_subject(order_id: &str) -> String {
    format!("waybill.dispatch.task.{order_id}.{order_id}")
}

pub fn vehicle_subject(vehicle_id: &str) -> String {
    format!("waybill.dispatch.vehicle.{vehicle_id}")
}

/// The standard order, placed through intake (request `place-1`) and planned by dispatch;
/// returns its id (the forward task's too).
pub async fn planned_order(system: &System, dispatch: &mut Dispatch) -> String {
    let mut intake = system.intake(Caller::customer_service("shop")).await;
    let order_id = place_order(&mut intake, "place-1").await;
    wait_for_task(dispatch, &order_id, |_| true).await;
    order_id
}

/// A placed order's task, assigned to a van at its origin, packed and picked up.
pub async fn picked_up_task(system: &System, dispatch: &mut Dispatch) -> (String, String) {
    let order_id = planned_order(system, dispatch).await;
    let van = register_vehicle(dispatch, "van-1", v1::VehicleKind::Van, "Berlin", 100_000).await;
    let assigned =
        dispatch.assign_task(assignment("assign-1", &order_id)).await.expect("assigned").into_inner();
    assert_eq!(assigned.task.map(|task| task.vehicle_id), Some(van.clone()));
    dispatch
        .mark_packed(v1::MarkPackedRequest { request_id: "pack-1".into(), task_id: order_id.clone() })
        .await
        .expect("packed");
    dispatch
        .record_pickup(v1::RecordPickupRequest { request_id: "pickup-1".into(), task_id: order_id.clone() })
        .await
        .expect("picked up");
    (order_id, van)
}
