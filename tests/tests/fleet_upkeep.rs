//! Fleet upkeep through the real binaries on one nats-server, on the wall clock (gRPC and
//! the log only): a van inspected with its next inspection seconds away is reminded of
//! before the due date (the reminder lead is a week); once the date passes, a dispatcher's
//! choice of it is refused naming the inspection and writes nothing, and automatic
//! assignment passes it over. An order with hazardous cargo needs a trained driver.

use std::time::Duration;
use waybill_fixtures::{Refusal, van_registration};

use tonic::Code;
use waybill_eventlog::EventLog;
use waybill_proto::convert::timestamp_to_wire;
use waybill_proto::v1::{self, dispatch_event::Event, event_envelope::Payload};
use waybill_system_tests::system::{Caller, Clients, Settings, System, eventually, request, system_test_log};
use waybill_testkit::NatsServer;

/// How far ahead the van's next inspection is recorded: long enough to assign before it,
/// short enough to wait for.
const INSPECTION_IN: Duration = Duration::from_secs(4);

async fn register_van(clients: &Clients, tag: &str, weight_grams: u64) -> anyhow::Result<String> {
    let vehicle_id = uuid::Uuid::now_v7().to_string();
    let body = v1::RegisterVehicleRequest {
        registration: format!("B-WB {tag}"),
        capacity: Some(v1::Load { weight_grams, volume_cm3: 1_000_000_000 }),
        ..van_registration(&format!("{tag}-register"), &vehicle_id)
    };
    clients.dispatch.clone().register_vehicle(request(&Caller::dispatcher("dispatcher"), body)).await?;
    Ok(vehicle_id)
}

/// Registers Kim at the Berlin depot, holding a class-`licence_class` licence; returns her id.
async fn register_driver(clients: &Clients, request_id: &str, licence_class: &str) -> anyhow::Result<String> {
    let driver_id = uuid::Uuid::now_v7().to_string();
    let body = v1::RegisterDriverRequest {
        request_id: request_id.into(),
        driver_id: driver_id.clone(),
        name: "Kim".into(),
        licence_class: licence_class.into(),
        depot: "Berlin".into(),
    };
    clients.dispatch.clone().register_driver(request(&Caller::dispatcher("dispatcher"), body)).await?;
    Ok(driver_id)
}

async fn assign(
    clients: &Clients,
    request_id: &str,
    task_id: &str,
    vehicle_id: &str,
    driver_id: &str,
) -> Result<v1::DispatchTask, tonic::Status> {
    let body = v1::AssignTaskRequest {
        request_id: request_id.into(),
        task_id: task_id.into(),
        vehicle_id: vehicle_id.into(),
        driver_id: driver_id.into(),
    };
    let answer =
        clients.dispatch.clone().assign_task(request(&Caller::dispatcher("dispatcher"), body)).await?;
    Ok(answer.into_inner().task.unwrap_or_default())
}

/// The inspection reminders on a vehicle's subject: (due, written at), in seconds.
async fn reminders(log: &EventLog, vehicle_id: &str) -> anyhow::Result<Vec<(i64, i64)>> {
    let envelopes =
        waybill_fixtures::foreign::envelopes(log, &format!("waybill.dispatch.vehicle.{vehicle_id}")).await;
    Ok(envelopes
        .into_iter()
        .filter_map(|envelope| {
            let written = envelope.occurred_at?.seconds;
            match envelope.payload? {
                Payload::Dispatch(v1::DispatchEvent {
                    event: Some(Event::VehicleUpkeepDueSoon(due_soon)),
                }) => Some((due_soon.due?.seconds, written)),
                _ => None,
            }
        })
        .collect())
}

#[tokio::test]
async fn an_overdue_van_is_reminded_of_then_refused_and_passed_over() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let system = System::start(&nats, Settings::default()).await?;
    let clients = system.clients().await?;
    let log = system_test_log(&nats).await?;
    let fleet = Caller::dispatcher("dispatcher");
    let mut dispatch = clients.dispatch.clone();

    let order = clients.place("upkeep", "cust-upkeep").await?;
    let order_id = order.order_id.clone();
    clients.task_reaches(&order_id, v1::TaskStatus::Planned).await?;
    // The snug van is the best fit for the order; the roomy one the fallback.
    let snug = register_van(&clients, "snug", 10_000).await?;
    let roomy = register_van(&clients, "roomy", 1_000_000_000).await?;
    let due = chrono::Utc::now() + chrono::Duration::from_std(INSPECTION_IN)?;
    dispatch
        .record_vehicle_inspection(request(
            &fleet,
            v1::RecordVehicleInspectionRequest {
                request_id: "upkeep-inspect".into(),
                vehicle_id: snug.clone(),
                next_due: Some(timestamp_to_wire(due)),
                note: "brakes worn, next check soon".into(),
            },
        ))
        .await?;
    let driver = register_driver(&clients, "upkeep-driver", "B").await?;

    // Inside the week's lead already: the upkeep clock reminds, before the due date.
    let written = eventually("the inspection reminder", || async {
        reminders(&log, &snug).await.ok().filter(|written| !written.is_empty())
    })
    .await?;
    assert_eq!(written.len(), 1, "{written:?}");
    let (reminded_due, written_at) = written[0];
    assert_eq!(reminded_due, due.timestamp());
    assert!(written_at <= reminded_due, "reminded before the due date: {written_at} vs {reminded_due}");

    // Past the date, the van is refused, naming the inspection, and nothing is written.
    tokio::time::sleep(INSPECTION_IN + Duration::from_secs(1)).await;
    let subjects =
        [format!("waybill.dispatch.task.{order_id}.{order_id}"), format!("waybill.dispatch.vehicle.{snug}")];
    let mut before = Vec::new();
    for subject in &subjects {
        before.push(log.read_subject(subject).await?.len());
    }
    let refused =
        assign(&clients, "upkeep-assign-snug", &order_id, &snug, &driver).await.expect_err("overdue");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("inspection"), "{}", refused.message());
    let mut after = Vec::new();
    for subject in &subjects {
        after.push(log.read_subject(subject).await?.len());
    }
    assert_eq!(before, after, "a refusal writes nothing");

    // Automatic assignment passes it over for the roomy van.
    let assigned = assign(&clients, "upkeep-assign-auto", &order_id, "", &driver).await?;
    assert_eq!(assigned.vehicle_id, roomy);
    assert_eq!(assigned.driver_id, driver);
    assert_eq!(reminders(&log, &snug).await?.len(), 1, "still one reminder for the one due date");
    Ok(())
}

#[tokio::test]
async fn hazardous_cargo_waits_for_a_trained_driver() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let system = System::start(&nats, Settings::default()).await?;
    let clients = system.clients().await?;
    let fleet = Caller::dispatcher("dispatcher");
    let mut dispatch = clients.dispatch.clone();
    register_van(&clients, "van", 1_000_000_000).await?;

    let mut placement = waybill_system_tests::system::place_order_request("hazmat-place", "cust-hazmat");
    let mut paint = waybill_fixtures::cargo("paint thinner", 2_000, v1::CargoCategory::Hazardous);
    paint.hazard_declaration = "UN1263, class 3".into();
    placement.cargo.push(paint);
    let placed =
        clients.intake.clone().place_order(request(&Caller::customer_service("shop"), placement)).await?;
    let order_id = placed.into_inner().order.unwrap_or_default().order_id;
    let task = clients.task_reaches(&order_id, v1::TaskStatus::Planned).await?;
    assert!(task.hazardous, "the task knows its cargo is hazardous: {task:?}");

    let driver = register_driver(&clients, "hazmat-driver", "C").await?;
    let refused = assign(&clients, "hazmat-assign-1", &order_id, "", &driver)
        .await
        .refused(Code::FailedPrecondition, "untrained");
    assert!(refused.message().contains("hazardous-goods training"), "{}", refused.message());

    let trained = v1::RecordDriverTrainingRequest {
        request_id: "hazmat-training".into(),
        driver_id: driver.clone(),
        training: v1::DriverTraining::HazardousGoods.into(),
        valid_until: Some(timestamp_to_wire(chrono::Utc::now() + chrono::Duration::days(365 * 5))),
    };
    dispatch.record_driver_training(request(&fleet, trained)).await?;
    let assigned = assign(&clients, "hazmat-assign-2", &order_id, "", &driver).await?;
    assert_eq!(assigned.driver_id, driver);
    Ok(())
}
