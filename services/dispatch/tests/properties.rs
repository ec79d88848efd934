//! Random sequences of task commands over a small fleet: whatever dispatchers, drivers and
//! orders do, every decided event applies, no vehicle ever carries more than its capacity,
//! and a vehicle carries exactly the tasks that say they are on it, with their loads.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use waybill_dispatch::domain::{
    Context, ExceptionKind, Fleet, Load, Plan, ReplanUpdate, Severity, Task, TaskCommand, TaskId, TaskKind,
    TaskStatus, TransportMode, Vehicle, VehicleEvent, VehicleId, VehicleKind, decide_task, evolve_task,
    evolve_vehicle,
};
use waybill_types::{Address, OrderId, ServiceLevel};

const TASKS: u128 = 4;
const VEHICLES: u128 = 3;

fn task_id(n: u128) -> TaskId {
    TaskId(Uuid::from_u128(1 + n))
}

fn vehicle_id(n: u128) -> VehicleId {
    VehicleId(Uuid::from_u128(0x100 + n))
}

fn city(name: &str) -> Address {
    Address {
        lines: vec!["1 Main St".into()],
        city: name.into(),
        region: String::new(),
        postal_code: String::new(),
        country_code: "DE".into(),
        coordinates: None,
    }
}

fn plan(n: u128, grams: u64) -> Plan {
    Plan {
        kind: TaskKind::Forward,
        order_id: OrderId(task_id(n).0),
        return_id: None,
        mode: TransportMode::RoadLtl,
        service_level: ServiceLevel::Standard,
        origin: city("Berlin"),
        destination: city("Munich"),
        load: Load::new(grams, grams / 10),
        origin_depot: if n.is_multiple_of(2) { "Berlin".into() } else { "Leipzig".into() },
        hazardous: false,
    }
}

fn fleet() -> BTreeMap<VehicleId, Vehicle> {
    (0..VEHICLES)
        .filter_map(|n| {
            let registered = VehicleEvent::Registered {
                vehicle_id: vehicle_id(n),
                kind: if n == 2 { VehicleKind::Truck } else { VehicleKind::Van },
                registration: format!("V-{n}"),
                capacity: Load::new(10_000 * (n as u64 + 1), 1_000 * (n as u64 + 1)),
                depot: if n == 0 { "Berlin".into() } else { "Leipzig".into() },
            };
            evolve_vehicle(None, &registered).map(|vehicle| (vehicle.id, vehicle))
        })
        .collect()
}

fn command() -> impl Strategy<Value = (u128, TaskCommand)> {
    let task = 0..TASKS;
    let vehicle = proptest::option::of((0..VEHICLES).prop_map(vehicle_id));
    let grams = 1_000u64..25_000;
    prop_oneof![
        (task.clone(), grams.clone()).prop_map(|(n, grams)| {
            (n, TaskCommand::Plan { task_id: task_id(n), plan: plan(n, grams), source_event_id: "e".into() })
        }),
        (task.clone(), vehicle.clone())
            .prop_map(|(n, vehicle_id)| (n, TaskCommand::Assign { vehicle_id, driver_id: None })),
        task.clone().prop_map(|n| (n, TaskCommand::Unassign { reason: "r".into() })),
        task.clone().prop_map(|n| (n, TaskCommand::MarkPacked)),
        task.clone().prop_map(|n| (n, TaskCommand::RecordPickup)),
        task.clone()
            .prop_map(|n| (n, TaskCommand::RecordCheckpoint { place: "p".into(), note: String::new() })),
        task.clone().prop_map(|n| (n, TaskCommand::RecordArrival { hub: "h".into() })),
        task.clone()
            .prop_map(|n| (n, TaskCommand::Cancel { reason: "r".into(), source_event_id: "e".into() })),
        (task.clone(), grams, any::<bool>()).prop_map(|(n, grams, far)| {
            let update = ReplanUpdate {
                mode: TransportMode::RoadLtl,
                service_level: ServiceLevel::Standard,
                load: Load::new(grams, grams / 10),
                destination: city(if far { "Hamburg" } else { "Munich" }),
                hazardous: false,
            };
            (n, TaskCommand::Replan { update, source_event_id: "e".into() })
        }),
        (task.clone(), 0..VEHICLES).prop_map(|(n, vehicle)| {
            let id = format!("ex-{n}");
            (
                n,
                TaskCommand::HandleException {
                    exception_id: id,
                    handling: "moved".into(),
                    delay_minutes: 5,
                    reassign_to: Some(vehicle_id(vehicle)),
                },
            )
        }),
        task.prop_map(|n| {
            let report = TaskCommand::ReportException {
                exception_id: format!("ex-{n}"),
                kind: ExceptionKind::Breakdown,
                severity: Severity::High,
                description: "d".into(),
            };
            (n, report)
        }),
    ]
}

/// The task statuses in which its load is on its vehicle.
fn on_board(task: &Task) -> bool {
    matches!(
        task.status,
        TaskStatus::Assigned | TaskStatus::Packed | TaskStatus::PickedUp | TaskStatus::InTransit
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn vehicles_carry_exactly_their_tasks_and_never_beyond_capacity(commands in proptest::collection::vec(command(), 1..60)) {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid time");
        let mut tasks: BTreeMap<TaskId, Task> = BTreeMap::new();
        let mut vehicles = fleet();
        for (step, (n, command)) in commands.into_iter().enumerate() {
            let id = task_id(n);
            let at = now + Duration::minutes(step as i64);
            let snapshot = Fleet { vehicles: vehicles.clone(), drivers: BTreeMap::new() };
            let Ok(decision) = decide_task(id, tasks.get(&id), &command, &snapshot, &Context::new(at, &())) else { continue };
            let mut task = tasks.remove(&id);
            for event in &decision.task_events {
                task = evolve_task(task, event, at);
                prop_assert!(task.is_some(), "{event:?} does not apply after {command:?}");
            }
            if let Some(task) = task {
                tasks.insert(id, task);
            }
            for (vehicle, event) in &decision.vehicle_events {
                let state = vehicles.remove(vehicle);
                let next = evolve_vehicle(state, event);
                prop_assert!(next.is_some(), "{event:?} does not apply to {vehicle}");
                if let Some(next) = next {
                    vehicles.insert(*vehicle, next);
                }
            }

            for vehicle in vehicles.values() {
                prop_assert!(vehicle.load().fits_within(vehicle.capacity), "{} overloaded after {command:?}", vehicle.id);
                let expected: BTreeMap<TaskId, Load> = tasks
                    .values()
                    .filter(|task| task.vehicle_id == Some(vehicle.id) && on_board(task))
                    .map(|task| (task.id, task.plan.load))
                    .collect();
                prop_assert_eq!(&vehicle.tasks, &expected, "vehicle {} after {:?}", vehicle.id, command);
            }
            // Waiting tasks have no vehicle; an arrived one remembers the vehicle that carried it.
            for task in tasks.values() {
                let has_vehicle = on_board(task) || task.status == TaskStatus::Arrived;
                prop_assert_eq!(task.vehicle_id.is_some(), has_vehicle, "task {} is {:?}", task.id, task.status);
            }
        }
    }
}
