//! Fleet upkeep end to end, through gRPC and the log, on a clock the test moves: two
//! replicas of dispatch remind once of a van's inspection a week before it is due; once it
//! is overdue, a dispatcher's assignment to it is refused naming the inspection and writes
//! nothing, and automatic assignment passes it over for a roadworthy van. Bad upkeep input
//! is answered with a clear status and writes nothing.

mod support;

use std::sync::Arc;
use std::time::Duration;
use waybill_fixtures::Refusal;

use chrono::Utc;
use tonic::Code;
use uuid::Uuid;
use waybill_dispatch::codec::{self, DispatchEvent};
use waybill_dispatch::domain::{Upkeep, VehicleEvent};
use waybill_dispatch::server::{self, Policy, Settings};
use waybill_fixtures::{Caller, ManualClock};
use waybill_proto::convert::timestamp_to_wire;
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer, eventually};
use waybill_types::Timestamp;

use support::{
    Dispatch, System, assignment, dispatcher, planned_order, register_driver, register_vehicle, start_intake,
    task_subject, vehicle_subject,
};

fn replica(clock: &ManualClock) -> Settings {
    Settings {
        clock: Arc::new(clock.clone()),
        sla_tick: Duration::from_millis(20),
        shutdown_grace: Duration::from_secs(2),
        ..Settings::new(Policy { upkeep_reminder_lead: chrono::Duration::days(7) })
    }
}

/// The upkeep reminders on a vehicle's subject: (due date, when written).
async fn reminders(system: &System, vehicle_id: &str) -> Vec<(Upkeep, Timestamp, Timestamp)> {
    let history = system.log().await.read_subject(&vehicle_subject(vehicle_id)).await.expect("read");
    history
        .iter()
        .filter_map(|recorded| {
            let decoded = codec::decode(&recorded.payload).ok()?;
            match decoded.event {
                DispatchEvent::Vehicle(VehicleEvent::UpkeepDueSoon { upkeep, due }) => {
                    Some((upkeep, due, decoded.meta.occurred_at))
                }
                _ => None,
            }
        })
        .collect()
}

async fn inspect(
    dispatch: &mut Dispatch,
    request_id: &str,
    vehicle_id: &str,
    next_due: Timestamp,
) -> Result<v1::Vehicle, tonic::Status> {
    let response = dispatch
        .record_vehicle_inspection(v1::RecordVehicleInspectionRequest {
            request_id: request_id.into(),
            vehicle_id: vehicle_id.into(),
            next_due: Some(timestamp_to_wire(next_due)),
            note: "passed".into(),
        })
        .await?;
    Ok(response.into_inner().vehicle.unwrap_or_default())
}

#[tokio::test]
async fn an_overdue_van_is_reminded_of_once_refused_by_hand_and_passed_over_automatically() {
    let nats = NatsServer::start();
    let start = Utc::now();
    let clock = ManualClock::at(start);
    let intake = start_intake(&nats).await;
    let first = InProcess::start(&nats, server::run, replica(&clock)).await;
    let second: InProcess<Dispatch> = InProcess::start(&nats, server::run, replica(&clock)).await;
    let system = System { nats, intake, dispatch: first };
    let mut dispatch = system.dispatch(dispatcher()).await;
    let order_id = planned_order(&system, &mut dispatch).await;
    // The snug van is the best fit for the order (6 kg); the roomy one the fallback.
    let snug = register_vehicle(&mut dispatch, "van-snug", v1::VehicleKind::Van, "Berlin", 10_000).await;
    let roomy = register_vehicle(&mut dispatch, "van-roomy", v1::VehicleKind::Van, "Berlin", 500_000).await;
    let due = start + chrono::Duration::days(10);
    let inspected = inspect(&mut dispatch, "inspect-snug", &snug, due).await.expect("inspection recorded");
    assert_eq!(inspected.inspection_due, Some(timestamp_to_wire(due)));
    inspect(&mut dispatch, "inspect-roomy", &roomy, start + chrono::Duration::days(300))
        .await
        .expect("recorded");
    let driver = register_driver(&mut dispatch, "driver-1", "B").await;
    let licensed = dispatch
        .record_driver_licence(v1::RecordDriverLicenceRequest {
            request_id: "licence-1".into(),
            driver_id: driver.clone(),
            licence_class: "b".into(),
            expires_at: Some(timestamp_to_wire(start + chrono::Duration::days(1_000))),
        })
        .await
        .expect("licence recorded")
        .into_inner()
        .driver
        .unwrap_or_default();
    assert_eq!(licensed.licence_class, "B");

    // Ten days ahead is outside the week's lead: no reminder yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(reminders(&system, &snug).await.is_empty(), "too early to remind");

    // Four days on, the inspection is six days away: one reminder, from two replicas.
    clock.advance(chrono::Duration::days(4));
    eventually("the inspection reminder", || async {
        (!reminders(&system, &snug).await.is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let written = reminders(&system, &snug).await;
    assert_eq!(written.len(), 1, "one reminder per due date, not one per replica: {written:?}");
    let (upkeep, reminded_due, written_at) = written[0];
    assert_eq!((upkeep, reminded_due), (Upkeep::Inspection, due));
    assert!(written_at < due, "reminded before the due date: {written_at} vs {due}");
    assert!(reminders(&system, &roomy).await.is_empty(), "the roomy van is due in 300 days");

    // Eleven days on, the inspection is overdue: a dispatcher's choice is refused, naming it.
    clock.advance(chrono::Duration::days(7));
    let before = (
        system.event_types(&task_subject(&order_id)).await,
        system.event_types(&vehicle_subject(&snug)).await,
    );
    let refused = dispatch
        .assign_task(v1::AssignTaskRequest {
            vehicle_id: snug.clone(),
            driver_id: driver.clone(),
            ..assignment("assign-snug", &order_id)
        })
        .await
        .refused(Code::FailedPrecondition, "the van is overdue");
    assert!(
        refused.message().contains("inspection") && refused.message().contains("not roadworthy"),
        "{}",
        refused.message()
    );
    let after = (
        system.event_types(&task_subject(&order_id)).await,
        system.event_types(&vehicle_subject(&snug)).await,
    );
    assert_eq!(before, after, "a refusal writes nothing");

    // Automatic assignment passes over it for the roomy van.
    let assigned = dispatch
        .assign_task(v1::AssignTaskRequest {
            driver_id: driver.clone(),
            ..assignment("assign-auto", &order_id)
        })
        .await
        .expect("assigned")
        .into_inner()
        .task
        .unwrap_or_default();
    assert_eq!(
        (assigned.vehicle_id.as_str(), assigned.driver_id.as_str()),
        (roomy.as_str(), driver.as_str())
    );

    // A new inspection is a new due date, and in time a reminder of its own; the restarted
    // replica reads the first from the log and does not write it again.
    second.stop().await;
    let second = InProcess::<Dispatch>::start(&system.nats, server::run, replica(&clock)).await;
    let next_due = clock_now(&clock) + chrono::Duration::days(2);
    inspect(&mut dispatch, "inspect-snug-2", &snug, next_due).await.expect("inspected again");
    eventually("the second reminder", || async {
        (reminders(&system, &snug).await.len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dues: Vec<Timestamp> = reminders(&system, &snug).await.into_iter().map(|(_, due, _)| due).collect();
    assert_eq!(dues, [due, next_due]);
    second.stop().await;
}

fn clock_now(clock: &ManualClock) -> Timestamp {
    waybill_command::Clock::now(clock)
}

#[tokio::test]
async fn bad_upkeep_input_is_named_and_writes_nothing() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(Caller::dispatcher("dispatcher")).await;
    let van = register_vehicle(&mut dispatch, "van-1", v1::VehicleKind::Van, "Berlin", 10_000).await;
    let before = system.event_types(&vehicle_subject(&van)).await;

    let unknown = Uuid::now_v7().to_string();
    let missing =
        inspect(&mut dispatch, "inspect-unknown", &unknown, Utc::now() + chrono::Duration::days(30))
            .await
            .expect_err("no such vehicle");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert!(system.event_types(&vehicle_subject(&unknown)).await.is_empty());

    for (request_id, next_due) in [
        ("inspect-past", Utc::now() - chrono::Duration::days(400)),
        ("inspect-far", Utc::now() + chrono::Duration::days(365 * 40)),
    ] {
        inspect(&mut dispatch, request_id, &van, next_due).await.invalid("out of range", &["next_due"]);
    }
    dispatch
        .record_vehicle_maintenance(v1::RecordVehicleMaintenanceRequest {
            request_id: "maintain-1".into(),
            vehicle_id: van.clone(),
            next_due: None,
            note: String::new(),
        })
        .await
        .invalid("no date", &["next_due"]);
    assert_eq!(system.event_types(&vehicle_subject(&van)).await, before, "nothing written");

    let driver = register_driver(&mut dispatch, "driver-1", "C").await;
    let before = system.event_types(&format!("waybill.dispatch.driver.{driver}")).await;
    dispatch
        .record_driver_licence(v1::RecordDriverLicenceRequest {
            request_id: "licence-1".into(),
            driver_id: driver.clone(),
            licence_class: "   ".into(),
            expires_at: Some(timestamp_to_wire(Utc::now() + chrono::Duration::days(365))),
        })
        .await
        .invalid("no class", &["licence_class"]);
    dispatch
        .record_driver_training(v1::RecordDriverTrainingRequest {
            request_id: "training-1".into(),
            driver_id: driver.clone(),
            training: v1::DriverTraining::Unspecified.into(),
            valid_until: Some(timestamp_to_wire(Utc::now() - chrono::Duration::days(1))),
        })
        .await
        .invalid("no training, and lapsed", &["training"]);
    assert_eq!(
        system.event_types(&format!("waybill.dispatch.driver.{driver}")).await,
        before,
        "nothing written"
    );
}
