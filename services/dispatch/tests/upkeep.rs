//! Fleet upkeep in the deciders, given/when/then: a vehicle past its inspection or
//! maintenance, a driver whose licence expired or does not cover the vehicle, and hazardous
//! cargo without training are refused (naming why) and write nothing; automatic assignment
//! passes over them; upkeep dates are checked; each due date is reminded of once. No NATS.

mod plans;

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;
use waybill_command::scenario::Scenario;
use waybill_dispatch::commands::TaskInput;
use waybill_dispatch::domain::{
    Driver, DriverCommand, DriverEvent, DriverId, Fleet, Load, Rejection, Task, TaskCommand, TaskDecision,
    TaskEvent, TaskId, Training, TransportMode, Upkeep, Vehicle, VehicleCommand, VehicleEvent, VehicleId,
    VehicleKind, licence_covers,
};
use waybill_dispatch::read_model::DispatchModel;
use waybill_fixtures::pinned_address;
use waybill_types::{ServiceLevel, Timestamp};

// ---- the world ------------------------------------------------------------------------------

/// When the fleet's records were made.
fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid time")
}

/// When the assignment is decided: ten days later.
fn now() -> Timestamp {
    t0() + Duration::days(10)
}

fn task_id() -> TaskId {
    TaskId(Uuid::from_u128(1))
}

fn vehicle_id(n: u128) -> VehicleId {
    VehicleId(Uuid::from_u128(0x100 + n))
}

fn driver_id(n: u128) -> DriverId {
    DriverId(Uuid::from_u128(0x200 + n))
}

fn planned(hazardous: bool) -> TaskEvent {
    plans::berlin_to_munich(task_id(), hazardous)
}

fn registered(n: u128, kind: VehicleKind) -> VehicleEvent {
    VehicleEvent::Registered {
        vehicle_id: vehicle_id(n),
        kind,
        registration: format!("B-WB {n}"),
        capacity: Load::new(100_000, 1_000_000),
        depot: "Berlin".into(),
    }
}

fn upkeep(upkeep: Upkeep, next_due: Timestamp) -> VehicleEvent {
    VehicleEvent::UpkeepRecorded { upkeep, next_due, note: String::new() }
}

fn vehicle(history: impl IntoIterator<Item = VehicleEvent>) -> Vehicle {
    Scenario::<Vehicle>::given(t0(), history).state().expect("a registered vehicle")
}

/// A van whose inspection and maintenance are both due after `now`.
fn fit_van(n: u128) -> Vehicle {
    vehicle([
        registered(n, VehicleKind::Van),
        upkeep(Upkeep::Inspection, now() + Duration::days(30)),
        upkeep(Upkeep::Maintenance, now() + Duration::days(60)),
    ])
}

/// A van whose `overdue` upkeep fell due a day before `now`.
fn overdue_van(n: u128, overdue: Upkeep) -> Vehicle {
    vehicle([registered(n, VehicleKind::Van), upkeep(overdue, now() - Duration::days(1))])
}

fn driver_registered(n: u128, class: &str) -> DriverEvent {
    DriverEvent::Registered {
        driver_id: driver_id(n),
        name: format!("driver {n}"),
        licence_class: class.into(),
        depot: "Berlin".into(),
    }
}

fn licence(class: &str, expires_at: Timestamp) -> DriverEvent {
    DriverEvent::LicenceRecorded { licence_class: class.into(), expires_at }
}

fn driver(history: impl IntoIterator<Item = DriverEvent>) -> Driver {
    Scenario::<Driver>::given(t0(), history).state().expect("a registered driver")
}

/// A driver with a class-`class` licence valid for years.
fn licensed(n: u128, class: &str) -> Driver {
    driver([driver_registered(n, class), licence(class, now() + Duration::days(1_000))])
}

fn assign(vehicle: Option<u128>, driver: Option<u128>) -> TaskCommand {
    TaskCommand::Assign { vehicle_id: vehicle.map(vehicle_id), driver_id: driver.map(driver_id) }
}

/// The task command's decision at `now()`, on the task `history` builds and this fleet.
fn decide(
    history: impl IntoIterator<Item = TaskEvent>,
    vehicles: impl IntoIterator<Item = Vehicle>,
    drivers: impl IntoIterator<Item = Driver>,
    command: TaskCommand,
) -> Result<TaskDecision, Rejection> {
    let fleet = Fleet {
        vehicles: vehicles.into_iter().map(|vehicle| (vehicle.id, vehicle)).collect(),
        drivers: drivers.into_iter().map(|driver| (driver.id, driver)).collect(),
    };
    Scenario::<Task>::given(t0(), history)
        .at(now())
        .deciding::<DispatchModel, _>(&command, &TaskInput { task_id: task_id(), fleet })
        .result
        .map(|decided| TaskDecision { task_events: decided.events, vehicle_events: decided.others })
}

fn assigned_to(n: u128, driver: Option<u128>, automatic: bool) -> TaskDecision {
    TaskDecision {
        task_events: vec![TaskEvent::Assigned {
            vehicle_id: vehicle_id(n),
            driver_id: driver.map(driver_id),
            automatic,
        }],
        vehicle_events: vec![(
            vehicle_id(n),
            VehicleEvent::Loaded { task_id: task_id(), load: Load::new(6_000, 1_000) },
        )],
    }
}

// ---- assignment refuses, naming why, and writes nothing ---------------------------------------

#[test]
fn a_vehicle_past_its_inspection_or_maintenance_is_not_sent_out() {
    for overdue in [Upkeep::Inspection, Upkeep::Maintenance] {
        let refused = decide([planned(false)], [overdue_van(1, overdue)], [], assign(Some(1), None));
        assert_eq!(
            refused,
            Err(Rejection::UpkeepOverdue {
                vehicle_id: vehicle_id(1),
                upkeep: overdue,
                due: now() - Duration::days(1)
            })
        );
        let message = refused.expect_err("refused").to_string();
        assert!(message.contains(overdue.as_str()) && message.contains("not roadworthy"), "{message}");
    }
    // Due later, or never recorded: it goes.
    assert_eq!(
        decide([planned(false)], [fit_van(1)], [], assign(Some(1), None)),
        Ok(assigned_to(1, None, false))
    );
    let unrecorded = vehicle([registered(1, VehicleKind::Van)]);
    assert_eq!(
        decide([planned(false)], [unrecorded], [], assign(Some(1), None)),
        Ok(assigned_to(1, None, false))
    );
}

#[test]
fn a_driver_whose_licence_expired_is_not_given_a_trip() {
    let expired = driver([driver_registered(1, "C"), licence("C", now() - Duration::hours(1))]);
    assert_eq!(
        decide([planned(false)], [fit_van(1)], [expired], assign(Some(1), Some(1))),
        Err(Rejection::LicenceExpired { driver_id: driver_id(1), expired: now() - Duration::hours(1) })
    );
}

#[test]
fn a_licence_class_that_does_not_cover_the_vehicle_is_refused() {
    let truck = vehicle([registered(2, VehicleKind::Truck)]);
    let refused = decide([planned(false)], [truck], [licensed(1, "B")], assign(Some(2), Some(1)));
    assert_eq!(
        refused,
        Err(Rejection::LicenceDoesNotCover {
            driver_id: driver_id(1),
            class: "B".into(),
            vehicle_id: vehicle_id(2),
            kind: "truck",
        })
    );
    assert!(licence_covers("ce", VehicleKind::Truck) && licence_covers("C", VehicleKind::Van));
    assert!(!licence_covers("B", VehicleKind::Truck) && !licence_covers("A", VehicleKind::Van));
}

#[test]
fn hazardous_cargo_needs_a_driver_with_valid_hazardous_goods_training() {
    let untrained = licensed(1, "C");
    assert_eq!(
        decide([planned(true)], [fit_van(1)], [untrained.clone()], assign(Some(1), Some(1))),
        Err(Rejection::NotTrained { driver_id: driver_id(1), training: Training::HazardousGoods })
    );
    let lapsed = Driver {
        trainings: BTreeMap::from([(Training::HazardousGoods, now() - Duration::days(1))]),
        ..untrained.clone()
    };
    assert!(matches!(
        decide([planned(true)], [fit_van(1)], [lapsed], assign(Some(1), Some(1))),
        Err(Rejection::NotTrained { .. })
    ));
    let trained = Driver {
        trainings: BTreeMap::from([(Training::HazardousGoods, now() + Duration::days(300))]),
        ..untrained.clone()
    };
    assert_eq!(
        decide([planned(true)], [fit_van(1)], [trained], assign(Some(1), Some(1))),
        Ok(assigned_to(1, Some(1), false))
    );
    // Ordinary cargo does not ask for it.
    assert_eq!(
        decide([planned(false)], [fit_van(1)], [untrained], assign(Some(1), Some(1))),
        Ok(assigned_to(1, Some(1), false))
    );
}

#[test]
fn a_new_driver_for_the_tasks_own_vehicle_is_checked_and_so_is_the_vehicle() {
    let on_van =
        [planned(false), TaskEvent::Assigned { vehicle_id: vehicle_id(1), driver_id: None, automatic: true }];
    let truck_with_task = vehicle([registered(1, VehicleKind::Truck)]);
    assert!(matches!(
        decide(on_van.clone(), [truck_with_task], [licensed(1, "B")], assign(None, Some(1))),
        Err(Rejection::LicenceDoesNotCover { .. })
    ));
    assert!(matches!(
        decide(on_van, [overdue_van(1, Upkeep::Inspection)], [licensed(1, "B")], assign(Some(1), Some(1))),
        Err(Rejection::UpkeepOverdue { .. })
    ));
}

#[test]
fn moving_a_task_to_an_overdue_vehicle_after_a_breakdown_is_refused() {
    let history = [
        planned(false),
        TaskEvent::Assigned { vehicle_id: vehicle_id(1), driver_id: None, automatic: true },
        TaskEvent::ExceptionReported {
            exception_id: "ex-1".into(),
            kind: waybill_dispatch::domain::ExceptionKind::Breakdown,
            severity: waybill_dispatch::domain::Severity::High,
            description: "gearbox".into(),
        },
    ];
    let handle = TaskCommand::HandleException {
        exception_id: "ex-1".into(),
        handling: "spare van".into(),
        delay_minutes: 60,
        reassign_to: Some(vehicle_id(2)),
    };
    assert!(matches!(
        decide(history, [fit_van(1), overdue_van(2, Upkeep::Maintenance)], [], handle),
        Err(Rejection::UpkeepOverdue { upkeep: Upkeep::Maintenance, .. })
    ));
}

// ---- automatic assignment passes over them ------------------------------------------------------

#[test]
fn automatic_assignment_skips_overdue_vehicles_and_ones_the_driver_may_not_drive() {
    // The overdue van would be the best fit (least room left); the truck the next; the driver
    // holds B, so the roomy van is the one.
    let snug_but_overdue = vehicle([
        VehicleEvent::Registered {
            vehicle_id: vehicle_id(1),
            kind: VehicleKind::Van,
            registration: "B-WB 1".into(),
            capacity: Load::new(7_000, 1_000_000),
            depot: "Berlin".into(),
        },
        upkeep(Upkeep::Inspection, now() - Duration::days(1)),
    ]);
    let truck = vehicle([VehicleEvent::Registered {
        vehicle_id: vehicle_id(2),
        kind: VehicleKind::Truck,
        registration: "B-WB 2".into(),
        capacity: Load::new(8_000, 1_000_000),
        depot: "Berlin".into(),
    }]);
    let roomy = fit_van(3);
    let fleet = [snug_but_overdue.clone(), truck.clone(), roomy];
    assert_eq!(
        decide([planned(false)], fleet.clone(), [licensed(1, "B")], assign(None, Some(1))),
        Ok(assigned_to(3, Some(1), true))
    );
    assert_eq!(
        decide([planned(false)], fleet, [], assign(None, None)),
        Ok(assigned_to(2, None, true)),
        "no driver: the truck"
    );

    // Nothing left: refused, naming why each vehicle with room was held back.
    let refused =
        decide([planned(false)], [snug_but_overdue, truck], [licensed(1, "B")], assign(None, Some(1)));
    let Err(Rejection::NoEligibleVehicle { held_back }) = refused else { panic!("refused: {refused:?}") };
    assert_eq!(held_back.len(), 2, "{held_back:?}");
    assert!(held_back[0].contains("inspection"), "{held_back:?}");
    assert!(held_back[1].contains("does not cover"), "{held_back:?}");
}

// ---- recording upkeep: bad dates refused, nothing written -------------------------------------

fn vehicle_decides(
    history: impl IntoIterator<Item = VehicleEvent>,
    command: VehicleCommand,
) -> Result<Vec<VehicleEvent>, Rejection> {
    Scenario::<Vehicle>::given(t0(), history).at(now()).when(command).result
}

fn driver_decides(
    history: impl IntoIterator<Item = DriverEvent>,
    command: DriverCommand,
) -> Result<Vec<DriverEvent>, Rejection> {
    Scenario::<Driver>::given(t0(), history).at(now()).when(command).result
}

fn field_of(rejection: Result<impl std::fmt::Debug, Rejection>) -> String {
    match rejection {
        Err(Rejection::Invalid { violations }) => {
            violations.iter().map(|violation| violation.field.clone()).collect()
        }
        other => panic!("not an invalid command: {other:?}"),
    }
}

#[test]
fn an_inspection_is_recorded_with_a_next_due_date_after_now_and_within_five_years() {
    let record = |next_due| VehicleCommand::RecordUpkeep {
        vehicle_id: vehicle_id(1),
        upkeep: Upkeep::Inspection,
        next_due,
        note: "passed".into(),
    };
    let next_year = now() + Duration::days(365);
    assert_eq!(
        vehicle_decides([registered(1, VehicleKind::Van)], record(next_year)),
        Ok(vec![VehicleEvent::UpkeepRecorded {
            upkeep: Upkeep::Inspection,
            next_due: next_year,
            note: "passed".into()
        }])
    );
    assert_eq!(
        field_of(vehicle_decides([registered(1, VehicleKind::Van)], record(now() - Duration::days(400)))),
        "next_due"
    );
    assert_eq!(
        field_of(vehicle_decides(
            [registered(1, VehicleKind::Van)],
            record(now() + Duration::days(365 * 30))
        )),
        "next_due"
    );
    assert_eq!(vehicle_decides([], record(next_year)), Err(Rejection::VehicleNotFound(vehicle_id(1))));
    let retired = [registered(1, VehicleKind::Van), VehicleEvent::Retired { reason: "sold".into() }];
    assert!(matches!(vehicle_decides(retired, record(next_year)), Err(Rejection::InvalidState { .. })));
}

#[test]
fn a_licence_needs_a_class_and_an_expiry_ahead_and_training_a_date_ahead() {
    let record = |class: &str, expires_at| DriverCommand::RecordLicence {
        driver_id: driver_id(1),
        licence_class: class.into(),
        expires_at,
    };
    let in_five_years = now() + Duration::days(365 * 5);
    assert_eq!(
        driver_decides([driver_registered(1, "B")], record(" ce ", in_five_years)),
        Ok(vec![licence("CE", in_five_years)]),
        "the class as written on the licence"
    );
    assert_eq!(
        field_of(driver_decides([driver_registered(1, "B")], record("  ", in_five_years))),
        "licence_class"
    );
    assert_eq!(field_of(driver_decides([driver_registered(1, "B")], record("C", now()))), "expires_at");
    assert_eq!(driver_decides([], record("C", in_five_years)), Err(Rejection::DriverNotFound(driver_id(1))));
    let train = |valid_until| DriverCommand::RecordTraining {
        driver_id: driver_id(1),
        training: Training::HazardousGoods,
        valid_until,
    };
    assert_eq!(
        field_of(driver_decides([driver_registered(1, "B")], train(now() + Duration::days(365 * 50)))),
        "valid_until"
    );
}

// ---- reminders: one per due date ---------------------------------------------------------------

#[test]
fn each_due_date_is_reminded_of_once_and_a_new_one_again() {
    let due = now() + Duration::days(3);
    let remind =
        |due| VehicleCommand::RemindUpkeep { vehicle_id: vehicle_id(1), upkeep: Upkeep::Inspection, due };
    let history = vec![registered(1, VehicleKind::Van), upkeep(Upkeep::Inspection, due)];
    let reminder = VehicleEvent::UpkeepDueSoon { upkeep: Upkeep::Inspection, due };
    assert_eq!(vehicle_decides(history.clone(), remind(due)), Ok(vec![reminder.clone()]));

    let reminded = [history.clone(), vec![reminder.clone()]].concat();
    assert_eq!(vehicle_decides(reminded.clone(), remind(due)), Ok(vec![]), "once per due date");
    let same_date_again = [reminded.clone(), vec![upkeep(Upkeep::Inspection, due)]].concat();
    assert_eq!(vehicle_decides(same_date_again, remind(due)), Ok(vec![]), "the same date recorded again");
    assert_eq!(
        vehicle_decides(reminded.clone(), remind(due + Duration::days(1))),
        Ok(vec![]),
        "not a date it has"
    );

    let later = due + Duration::days(365);
    let rescheduled = [reminded, vec![upkeep(Upkeep::Inspection, later)]].concat();
    assert_eq!(
        vehicle_decides(rescheduled, remind(later)),
        Ok(vec![VehicleEvent::UpkeepDueSoon { upkeep: Upkeep::Inspection, due: later }]),
        "a new due date gets its own reminder"
    );

    let expires_at = now() + Duration::days(2);
    let driver = [driver_registered(1, "C"), licence("C", expires_at)];
    let remind = DriverCommand::RemindLicenceExpiry { driver_id: driver_id(1), expires_at };
    assert_eq!(
        driver_decides(driver.clone(), remind.clone()),
        Ok(vec![DriverEvent::LicenceExpiresSoon { expires_at }])
    );
    let reminded = [driver.to_vec(), vec![DriverEvent::LicenceExpiresSoon { expires_at }]].concat();
    assert_eq!(driver_decides(reminded, remind), Ok(vec![]));
}

// ---- cargo that turns hazardous -------------------------------------------------------------

#[test]
fn an_amendment_that_makes_the_cargo_hazardous_takes_the_task_off_its_vehicle_for_a_new_check() {
    let on_van = [
        planned(false),
        TaskEvent::Assigned { vehicle_id: vehicle_id(1), driver_id: Some(driver_id(1)), automatic: false },
    ];
    let update = waybill_dispatch::domain::ReplanUpdate {
        mode: TransportMode::RoadLtl,
        service_level: ServiceLevel::Standard,
        load: Load::new(6_000, 1_000),
        destination: pinned_address("Munich"),
        hazardous: true,
    };
    let decided = decide(
        on_van,
        [fit_van(1)],
        [],
        TaskCommand::Replan { update: update.clone(), source_event_id: "amended-1".into() },
    );
    assert_eq!(
        decided,
        Ok(TaskDecision {
            task_events: vec![TaskEvent::Replanned { update, source_event_id: "amended-1".into() }],
            vehicle_events: vec![(
                vehicle_id(1),
                VehicleEvent::Unloaded {
                    task_id: task_id(),
                    reason: waybill_dispatch::domain::UnloadReason::Replanned
                }
            )],
        }),
        "the driver was never checked for hazardous goods: assign again"
    );
}
