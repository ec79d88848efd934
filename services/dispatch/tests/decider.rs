//! The task and fleet deciders, given/when/then, in the business's words: planning,
//! assignment (automatic and by hand, never beyond capacity), progress, cancellation,
//! replanning, transport exceptions, and the fleet's own rules. No NATS here.

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;
use waybill_command::scenario::Scenario;
use waybill_dispatch::commands::TaskInput;
use waybill_dispatch::domain::{
    Driver, DriverCommand, DriverEvent, DriverId, ExceptionKind, Fleet, Load, Plan, Rejection, ReplanUpdate,
    Severity, Task, TaskCommand, TaskDecision, TaskEvent, TaskId, TaskKind, TaskStatus, TransportMode,
    UnloadReason, Vehicle, VehicleCommand, VehicleEvent, VehicleId, VehicleKind, evolve_driver,
};
use waybill_dispatch::read_model::DispatchModel;
use waybill_types::{Address, OrderId, ServiceLevel, Timestamp};

// ---- the world: ids, places, vehicles -----------------------------------------------------

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid time")
}

fn task_id() -> TaskId {
    TaskId(Uuid::from_u128(1))
}

fn vehicle(n: u128) -> VehicleId {
    VehicleId(Uuid::from_u128(0x100 + n))
}

fn city(name: &str) -> Address {
    waybill_fixtures::pinned_address(name)
}

fn plan(grams: u64) -> Plan {
    Plan {
        kind: TaskKind::Forward,
        order_id: OrderId(task_id().0),
        return_id: None,
        mode: TransportMode::RoadLtl,
        service_level: ServiceLevel::Standard,
        origin: city("Berlin"),
        destination: city("Munich"),
        load: Load::new(grams, 1_000),
        origin_depot: "Berlin".into(),
        hazardous: false,
    }
}

fn planned(grams: u64) -> TaskEvent {
    TaskEvent::Planned { task_id: task_id(), plan: plan(grams), source_event_id: "accepted-1".into() }
}

fn assigned_to(n: u128) -> TaskEvent {
    TaskEvent::Assigned { vehicle_id: vehicle(n), driver_id: None, automatic: true }
}

/// The history of a vehicle of `kind` at `depot` with `capacity_grams`, carrying
/// `carried_grams` already.
fn van_history(
    n: u128,
    kind: VehicleKind,
    depot: &str,
    capacity_grams: u64,
    carried_grams: u64,
) -> Vec<VehicleEvent> {
    let mut history = vec![VehicleEvent::Registered {
        vehicle_id: vehicle(n),
        kind,
        registration: format!("B-WB {n}"),
        capacity: Load::new(capacity_grams, 1_000_000),
        depot: depot.into(),
    }];
    if carried_grams > 0 {
        history.push(VehicleEvent::Loaded {
            task_id: TaskId(Uuid::from_u128(0xfff)),
            load: Load::new(carried_grams, 0),
        });
    }
    history
}

/// That vehicle as the read model would hold it.
fn van(n: u128, kind: VehicleKind, depot: &str, capacity_grams: u64, carried_grams: u64) -> Vehicle {
    Scenario::<Vehicle>::given(t0(), van_history(n, kind, depot, capacity_grams, carried_grams))
        .state()
        .expect("a registered vehicle")
}

// ---- the harness: given(history).with(vehicles).when(command).then(decision) --------------

/// A task's history, and the vehicles the read model would hand its decision.
struct Given {
    scenario: Scenario<Task>,
    fleet: Fleet,
}

fn given(history: impl IntoIterator<Item = TaskEvent>) -> Given {
    Given { scenario: Scenario::given(t0(), history), fleet: Fleet::default() }
}

impl Given {
    fn with(mut self, vehicles: impl IntoIterator<Item = Vehicle>) -> Self {
        for vehicle in vehicles {
            self.fleet.vehicles.insert(vehicle.id, vehicle);
        }
        self
    }

    /// Decided at `now` (default: an hour after the history began).
    fn at(mut self, now: Timestamp) -> Self {
        self.scenario = self.scenario.at(now);
        self
    }

    fn task(&self) -> Option<Task> {
        self.scenario.state()
    }

    /// The task command's decision, through the shared harness, as the domain states it.
    fn when(self, command: TaskCommand) -> Result<TaskDecision, Rejection> {
        let input = TaskInput { task_id: task_id(), fleet: self.fleet };
        self.scenario
            .deciding::<DispatchModel, _>(&command, &input)
            .result
            .map(|decided| TaskDecision { task_events: decided.events, vehicle_events: decided.others })
    }
}

fn task_events(events: impl IntoIterator<Item = TaskEvent>) -> TaskDecision {
    TaskDecision { task_events: events.into_iter().collect(), vehicle_events: Vec::new() }
}

fn loaded(n: u128, grams: u64) -> (VehicleId, VehicleEvent) {
    (vehicle(n), VehicleEvent::Loaded { task_id: task_id(), load: Load::new(grams, 1_000) })
}

fn unloaded(n: u128, reason: UnloadReason) -> (VehicleId, VehicleEvent) {
    (vehicle(n), VehicleEvent::Unloaded { task_id: task_id(), reason })
}

fn auto() -> TaskCommand {
    TaskCommand::Assign { vehicle_id: None, driver_id: None }
}

fn by_hand(n: u128) -> TaskCommand {
    TaskCommand::Assign { vehicle_id: Some(vehicle(n)), driver_id: None }
}

fn in_state(action: &'static str, status: TaskStatus) -> Rejection {
    Rejection::InvalidState { action, what: "task", status: status.as_str() }
}

// ---- planning -----------------------------------------------------------------------------

#[test]
fn an_accepted_order_is_planned_once_and_again_after_a_cancellation() {
    let plan_it =
        || TaskCommand::Plan { task_id: task_id(), plan: plan(6_000), source_event_id: "accepted-1".into() };
    assert_eq!(given([]).when(plan_it()), Ok(task_events([planned(6_000)])));
    assert_eq!(given([planned(6_000)]).when(plan_it()), Ok(TaskDecision::default()), "a repeated acceptance");
    let cancelled = TaskEvent::Cancelled { reason: "customer".into(), source_event_id: "cancelled-1".into() };
    assert_eq!(given([planned(6_000), cancelled]).when(plan_it()), Ok(task_events([planned(6_000)])));
}

#[test]
fn a_reverse_shipment_with_an_id_in_use_is_refused() {
    let mut reverse = plan(6_000);
    reverse.kind = TaskKind::Reverse;
    let command = TaskCommand::Plan { task_id: task_id(), plan: reverse, source_event_id: String::new() };
    assert_eq!(
        given([planned(6_000)]).when(command),
        Err(Rejection::AlreadyExists { what: "task", id: task_id().to_string() })
    );
}

#[test]
fn commands_on_a_task_that_does_not_exist_are_not_found() {
    assert_eq!(given([]).when(TaskCommand::MarkPacked), Err(Rejection::TaskNotFound(task_id())));
}

// ---- assignment ---------------------------------------------------------------------------

#[test]
fn automatic_assignment_prefers_the_origin_depot_then_the_best_fit() {
    let far_but_snug = van(1, VehicleKind::Van, "Hamburg", 6_000, 0);
    let roomy_at_origin = van(2, VehicleKind::Van, "Berlin", 100_000, 0);
    let snug_at_origin = van(3, VehicleKind::Truck, "berlin", 10_000, 2_000);
    let full_at_origin = van(4, VehicleKind::Van, "Berlin", 7_000, 2_000);
    let wrong_kind_at_origin = van(5, VehicleKind::AirContainer, "Berlin", 6_000, 0);
    let decision = given([planned(6_000)])
        .with([far_but_snug, roomy_at_origin, snug_at_origin, full_at_origin, wrong_kind_at_origin])
        .when(auto());
    assert_eq!(
        decision,
        Ok(TaskDecision { task_events: vec![assigned_to(3)], vehicle_events: vec![loaded(3, 6_000)] }),
        "at the origin depot (any case), suited, with room, and the least room left"
    );
}

#[test]
fn automatic_assignment_without_room_anywhere_is_refused() {
    let decision = given([planned(6_000)])
        .with([
            van(1, VehicleKind::Van, "Berlin", 5_000, 0),
            van(2, VehicleKind::Van, "Berlin", 10_000, 5_000),
        ])
        .when(auto());
    assert_eq!(
        decision,
        Err(Rejection::NoVehicleWithRoom { load: Load::new(6_000, 1_000), mode: TransportMode::RoadLtl })
    );
}

#[test]
fn a_dispatcher_may_choose_any_suitable_vehicle_with_room_but_not_beyond_capacity() {
    let elsewhere = van(1, VehicleKind::Van, "Hamburg", 10_000, 0);
    assert_eq!(
        given([planned(6_000)]).with([elsewhere.clone()]).when(by_hand(1)),
        Ok(TaskDecision {
            task_events: vec![TaskEvent::Assigned {
                vehicle_id: vehicle(1),
                driver_id: None,
                automatic: false
            }],
            vehicle_events: vec![loaded(1, 6_000)],
        })
    );
    let nearly_full = van(2, VehicleKind::Van, "Berlin", 10_000, 8_000);
    assert_eq!(
        given([planned(6_000)]).with([nearly_full]).when(by_hand(2)),
        Err(Rejection::NoRoom { vehicle_id: vehicle(2), shortfall: "4000 g".into() })
    );
    let plane = van(3, VehicleKind::AirContainer, "Berlin", 10_000, 0);
    assert!(matches!(
        given([planned(6_000)]).with([plane]).when(by_hand(3)),
        Err(Rejection::UnsuitableVehicle { .. })
    ));
    assert_eq!(given([planned(6_000)]).when(by_hand(9)), Err(Rejection::VehicleNotFound(vehicle(9))));
    let mut retired = van(4, VehicleKind::Van, "Berlin", 10_000, 0);
    retired.retired = true;
    assert_eq!(
        given([planned(6_000)]).with([retired]).when(by_hand(4)),
        Err(Rejection::VehicleRetired(vehicle(4)))
    );
}

#[test]
fn moving_a_task_to_another_vehicle_unloads_the_first() {
    let first = van(1, VehicleKind::Van, "Berlin", 10_000, 6_000);
    let second = van(2, VehicleKind::Truck, "Berlin", 10_000, 0);
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).with([first, second]).when(by_hand(2)),
        Ok(TaskDecision {
            task_events: vec![TaskEvent::Assigned {
                vehicle_id: vehicle(2),
                driver_id: None,
                automatic: false
            }],
            vehicle_events: vec![unloaded(1, UnloadReason::Reassigned), loaded(2, 6_000)],
        })
    );
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).when(auto()),
        Ok(TaskDecision::default()),
        "an assigned task keeps its vehicle"
    );
}

#[test]
fn unassigning_takes_the_load_off_the_vehicle() {
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).when(TaskCommand::Unassign { reason: "wrong van".into() }),
        Ok(TaskDecision {
            task_events: vec![TaskEvent::Unassigned { vehicle_id: vehicle(1), reason: "wrong van".into() }],
            vehicle_events: vec![unloaded(1, UnloadReason::Unassigned)],
        })
    );
    assert_eq!(
        given([planned(6_000)]).when(TaskCommand::Unassign { reason: String::new() }),
        Err(in_state("unassign", TaskStatus::Planned))
    );
}

// ---- progress -----------------------------------------------------------------------------

#[test]
fn a_task_is_packed_picked_up_tracked_and_arrives_in_order() {
    assert_eq!(
        given([planned(6_000)]).when(TaskCommand::MarkPacked),
        Err(in_state("pack", TaskStatus::Planned))
    );
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).when(TaskCommand::MarkPacked),
        Ok(task_events([TaskEvent::Packed]))
    );
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).when(TaskCommand::RecordPickup),
        Err(in_state("pick up", TaskStatus::Assigned))
    );
    let packed = [planned(6_000), assigned_to(1), TaskEvent::Packed];
    assert_eq!(
        given(packed.clone()).when(TaskCommand::RecordPickup),
        Ok(task_events([TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None }]))
    );
    let picked_up =
        [packed.to_vec(), vec![TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None }]]
            .concat();
    let checkpoint = TaskCommand::RecordCheckpoint { place: "Leipzig".into(), note: "on time".into() };
    assert_eq!(
        given(picked_up.clone()).when(checkpoint.clone()),
        Ok(task_events([TaskEvent::CheckpointPassed { place: "Leipzig".into(), note: "on time".into() }]))
    );
    assert_eq!(given(packed).when(checkpoint), Err(in_state("record a checkpoint of", TaskStatus::Packed)));
    assert_eq!(
        given(picked_up).when(TaskCommand::RecordArrival { hub: "MUC-HUB".into() }),
        Ok(TaskDecision {
            task_events: vec![TaskEvent::ArrivedAtHub { hub: "MUC-HUB".into() }],
            vehicle_events: vec![unloaded(1, UnloadReason::Arrived)],
        }),
        "the load leaves the vehicle at the hub"
    );
}

fn refused_in_time(decided: Result<TaskDecision, Rejection>) -> Option<&'static str> {
    waybill_command::time::refused_field(&decided)
}

#[test]
fn a_pickup_checkpoint_arrival_or_resolution_before_the_task_s_facts_is_refused() {
    // The history ran from t0 a minute an event; a clock (another replica's) a day behind.
    let behind = t0() - Duration::days(1);
    let packed = [planned(6_000), assigned_to(1), TaskEvent::Packed];
    assert_eq!(
        refused_in_time(given(packed).at(behind).when(TaskCommand::RecordPickup)),
        Some("picked_up_at")
    );
    let picked_up = vec![
        planned(6_000),
        assigned_to(1),
        TaskEvent::Packed,
        TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None },
    ];
    let checkpoint = TaskCommand::RecordCheckpoint { place: "Leipzig".into(), note: String::new() };
    assert_eq!(refused_in_time(given(picked_up.clone()).at(behind).when(checkpoint)), Some("checkpoint.at"));
    let arrival = TaskCommand::RecordArrival { hub: "MUC-HUB".into() };
    assert_eq!(
        refused_in_time(given(picked_up.clone()).at(behind).when(arrival.clone())),
        Some("arrived_at")
    );
    let resolve = TaskCommand::ResolveException { exception_id: "ex-1".into(), resolution: "towed".into() };
    let with_report = [picked_up.clone(), vec![reported()]].concat();
    assert_eq!(refused_in_time(given(with_report).at(behind).when(resolve)), Some("resolved_at"));
    // Within the clock skew (5 minutes) of the latest event, it stands.
    let just_behind = t0() + Duration::minutes(1);
    assert!(given(picked_up).at(just_behind).when(arrival).is_ok());
}

// ---- the order changes --------------------------------------------------------------------

#[test]
fn cancelling_before_pickup_frees_the_vehicle_and_after_pickup_is_refused() {
    let cancel = || TaskCommand::Cancel { reason: "customer".into(), source_event_id: "cancelled-1".into() };
    let cancelled = TaskEvent::Cancelled { reason: "customer".into(), source_event_id: "cancelled-1".into() };
    assert_eq!(
        given([planned(6_000), assigned_to(1), TaskEvent::Packed]).when(cancel()),
        Ok(TaskDecision {
            task_events: vec![cancelled.clone()],
            vehicle_events: vec![unloaded(1, UnloadReason::Cancelled)]
        })
    );
    assert_eq!(
        given([planned(6_000), cancelled]).when(cancel()),
        Ok(TaskDecision::default()),
        "cancelled already"
    );
    let picked_up = [
        planned(6_000),
        assigned_to(1),
        TaskEvent::Packed,
        TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None },
    ];
    assert_eq!(given(picked_up).when(cancel()), Err(in_state("cancel", TaskStatus::PickedUp)));
}

#[test]
fn a_new_load_takes_an_assigned_task_off_its_vehicle_and_after_pickup_changes_nothing() {
    let update = ReplanUpdate {
        mode: TransportMode::RoadLtl,
        service_level: ServiceLevel::Standard,
        load: Load::new(9_000, 1_500),
        destination: city("Munich"),
        hazardous: false,
    };
    let replan = || TaskCommand::Replan { update: update.clone(), source_event_id: "amended-1".into() };
    let replanned = TaskEvent::Replanned { update: update.clone(), source_event_id: "amended-1".into() };
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).when(replan()),
        Ok(TaskDecision {
            task_events: vec![replanned.clone()],
            vehicle_events: vec![unloaded(1, UnloadReason::Replanned)]
        })
    );
    let after = given([planned(6_000), assigned_to(1), replanned]).task().expect("task");
    assert_eq!(
        (after.status, after.vehicle_id),
        (TaskStatus::Planned, None),
        "waits for a vehicle with room"
    );

    // Only a new destination: the task stays on its vehicle.
    let redirected =
        ReplanUpdate { load: Load::new(6_000, 1_000), destination: city("Augsburg"), ..update.clone() };
    let command = TaskCommand::Replan { update: redirected.clone(), source_event_id: "redirected-1".into() };
    assert_eq!(
        given([planned(6_000), assigned_to(1)]).when(command),
        Ok(task_events([TaskEvent::Replanned {
            update: redirected,
            source_event_id: "redirected-1".into()
        }]))
    );

    let picked_up = [
        planned(6_000),
        assigned_to(1),
        TaskEvent::Packed,
        TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None },
    ];
    assert_eq!(given(picked_up).when(replan()), Ok(TaskDecision::default()));
}

// ---- transport exceptions -----------------------------------------------------------------

fn reported() -> TaskEvent {
    TaskEvent::ExceptionReported {
        exception_id: "ex-1".into(),
        kind: ExceptionKind::Breakdown,
        severity: Severity::High,
        description: "gearbox".into(),
    }
}

#[test]
fn a_breakdown_is_reported_handled_by_another_vehicle_and_resolved_with_its_duration() {
    let on_the_road = vec![
        planned(6_000),
        assigned_to(1),
        TaskEvent::Packed,
        TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None },
    ];
    let report = TaskCommand::ReportException {
        exception_id: "ex-1".into(),
        kind: ExceptionKind::Breakdown,
        severity: Severity::High,
        description: "gearbox".into(),
    };
    assert_eq!(given(on_the_road.clone()).when(report.clone()), Ok(task_events([reported()])));
    let with_report = [on_the_road, vec![reported()]].concat();
    assert!(matches!(given(with_report.clone()).when(report), Err(Rejection::AlreadyExists { .. })));

    let handle = TaskCommand::HandleException {
        exception_id: "ex-1".into(),
        handling: "reloaded onto the spare truck".into(),
        delay_minutes: 90,
        reassign_to: Some(vehicle(2)),
    };
    let spare = van(2, VehicleKind::Truck, "Leipzig", 20_000, 0);
    assert_eq!(
        given(with_report.clone())
            .with([van(1, VehicleKind::Van, "Berlin", 10_000, 6_000), spare])
            .when(handle),
        Ok(TaskDecision {
            task_events: vec![
                TaskEvent::ExceptionHandled {
                    exception_id: "ex-1".into(),
                    handling: "reloaded onto the spare truck".into(),
                    delay_minutes: 90,
                    reassigned_to: Some(vehicle(2)),
                },
                TaskEvent::Assigned { vehicle_id: vehicle(2), driver_id: None, automatic: false },
            ],
            vehicle_events: vec![unloaded(1, UnloadReason::Reassigned), loaded(2, 6_000)],
        })
    );

    // Reported at minute 4 of the history; resolved an hour after it began.
    let resolve = TaskCommand::ResolveException { exception_id: "ex-1".into(), resolution: "towed".into() };
    assert_eq!(
        given(with_report.clone()).when(resolve.clone()),
        Ok(task_events([TaskEvent::ExceptionResolved {
            exception_id: "ex-1".into(),
            resolution: "towed".into(),
            resolution_seconds: 56 * 60,
        }]))
    );
    let resolved = TaskEvent::ExceptionResolved {
        exception_id: "ex-1".into(),
        resolution: "towed".into(),
        resolution_seconds: 1,
    };
    assert_eq!(
        given([with_report, vec![resolved]].concat()).when(resolve),
        Err(Rejection::InvalidState { action: "resolve", what: "transport exception", status: "resolved" })
    );
    let arrived = [
        planned(6_000),
        assigned_to(1),
        TaskEvent::Packed,
        TaskEvent::PickedUp { vehicle_id: Some(vehicle(1)), driver_id: None },
        reported(),
        TaskEvent::ArrivedAtHub { hub: "MUC-HUB".into() },
    ];
    let too_late = TaskCommand::HandleException {
        exception_id: "ex-1".into(),
        handling: "reload".into(),
        delay_minutes: 0,
        reassign_to: Some(vehicle(2)),
    };
    assert_eq!(
        given(arrived).with([van(2, VehicleKind::Van, "Berlin", 10_000, 0)]).when(too_late),
        Err(in_state("move to another vehicle", TaskStatus::Arrived)),
        "an arrived task is on no vehicle any more"
    );
    let unknown = TaskCommand::ResolveException { exception_id: "ex-9".into(), resolution: "?".into() };
    assert_eq!(given([planned(6_000)]).when(unknown), Err(Rejection::ExceptionNotFound("ex-9".into())));
}

// ---- the fleet ----------------------------------------------------------------------------

/// What a vehicle command decides on the vehicle `history` builds.
fn vehicle_decides(
    history: impl IntoIterator<Item = VehicleEvent>,
    command: &VehicleCommand,
) -> Result<Vec<VehicleEvent>, Rejection> {
    Scenario::<Vehicle>::given(t0(), history).when(command.clone()).result
}

/// What a driver command decides on the driver `history` builds.
fn driver_decides(
    history: impl IntoIterator<Item = DriverEvent>,
    command: &DriverCommand,
) -> Result<Vec<DriverEvent>, Rejection> {
    Scenario::<Driver>::given(t0(), history).when(command.clone()).result
}

#[test]
fn a_vehicle_retires_only_once_it_carries_nothing() {
    let loaded_van = van_history(1, VehicleKind::Van, "Berlin", 10_000, 6_000);
    let retire = VehicleCommand::Retire { vehicle_id: vehicle(1), reason: "sold".into() };
    assert_eq!(
        vehicle_decides(loaded_van, &retire),
        Err(Rejection::CarriesLoad { vehicle_id: vehicle(1), tasks: 1 })
    );
    let empty = van_history(1, VehicleKind::Van, "Berlin", 10_000, 0);
    assert_eq!(
        vehicle_decides(empty.clone(), &retire),
        Ok(vec![VehicleEvent::Retired { reason: "sold".into() }])
    );
    assert_eq!(vehicle_decides([], &retire), Err(Rejection::VehicleNotFound(vehicle(1))));
    let register = VehicleCommand::Register {
        vehicle_id: vehicle(1),
        kind: VehicleKind::Van,
        registration: "B-1".into(),
        capacity: Load::new(0, 10),
        depot: "Berlin".into(),
    };
    assert!(matches!(vehicle_decides([], &register), Err(Rejection::Invalid { .. })));
    assert!(matches!(vehicle_decides(empty, &register), Err(Rejection::AlreadyExists { .. })));
}

#[test]
fn a_driver_changes_availability_only_when_it_changes_and_not_after_retiring() {
    let id = DriverId(Uuid::from_u128(7));
    let registered = DriverEvent::Registered {
        driver_id: id,
        name: "Kim".into(),
        licence_class: "C".into(),
        depot: "Berlin".into(),
    };
    let driver = evolve_driver(None, &registered).expect("registered");
    assert!(driver.available, "a new driver is available");
    let off = DriverCommand::SetAvailability { driver_id: id, available: false };
    assert_eq!(
        driver_decides([registered.clone()], &off),
        Ok(vec![DriverEvent::AvailabilityChanged { available: false }])
    );
    let on = DriverCommand::SetAvailability { driver_id: id, available: true };
    assert_eq!(driver_decides([registered.clone()], &on), Ok(vec![]));
    let retired = [registered, DriverEvent::Retired { reason: "pension".into() }];
    assert!(matches!(driver_decides(retired, &on), Err(Rejection::InvalidState { .. })));
    assert_eq!(driver_decides([], &on), Err(Rejection::DriverNotFound(id)));
}
