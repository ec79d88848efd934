//! Hub stock in the decider, given/when/then: goods received with their inspection (damage
//! raises an exception on the order's task, as damage in transit does), put away only into
//! a zone of their category with room, loaded out; a cycle count's discrepancies are events
//! with an exception each; stock that disagrees with its task is found; random scan
//! sequences keep every zone within its capacity and category. No NATS.

mod plans;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use waybill_command::Decided;
use waybill_command::scenario::Scenario;
use waybill_dispatch::commands::HubInput;
use waybill_dispatch::domain::{
    DiscrepancyKind, ExceptionKind, GoodsCategory, Hub, HubCommand, HubEvent, HubFacts, HubId, Inspection,
    Rejection, Severity, StorageZone, Task, TaskEvent, TaskId, derived_exception_id, stock_mismatch,
};
use waybill_dispatch::read_model::DispatchModel;
use waybill_types::{OrderId, Timestamp};

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid time")
}

fn hub_id() -> HubId {
    HubId(Uuid::from_u128(0x4b))
}

fn order(n: u128) -> OrderId {
    OrderId(Uuid::from_u128(n))
}

fn zone(name: &str, category: GoodsCategory, capacity: u32) -> StorageZone {
    StorageZone { name: name.into(), category, capacity }
}

/// MUC-HUB: two general places in A1, one in A2, one hazardous place in H1.
fn registered() -> HubEvent {
    HubEvent::Registered {
        hub_id: hub_id(),
        code: "MUC-HUB".into(),
        zones: vec![
            zone("A1", GoodsCategory::General, 2),
            zone("A2", GoodsCategory::General, 1),
            zone("H1", GoodsCategory::Hazardous, 1),
        ],
    }
}

fn received(n: u128, category: GoodsCategory) -> HubEvent {
    HubEvent::GoodsReceived {
        order_id: order(n),
        category,
        inspection: Inspection::Accepted,
        note: String::new(),
    }
}

fn put_away(n: u128, zone: &str) -> HubEvent {
    HubEvent::GoodsPutAway { order_id: order(n), zone: zone.into() }
}

/// An order's forward task, arrived at `hub` if given.
fn task(n: u128, hazardous: bool, arrived_at: Option<&str>) -> Task {
    let planned = plans::berlin_to_munich(TaskId(order(n).0), hazardous);
    let arrived = arrived_at.map(|hub| TaskEvent::ArrivedAtHub { hub: hub.into() });
    Scenario::<Task>::given(t0(), std::iter::once(planned).chain(arrived)).state().expect("a task")
}

fn tasks(list: impl IntoIterator<Item = Task>) -> BTreeMap<OrderId, Task> {
    list.into_iter().map(|task| (task.plan.order_id, task)).collect()
}

fn decide(
    history: impl IntoIterator<Item = HubEvent>,
    command: HubCommand,
    known: BTreeMap<OrderId, Task>,
) -> Result<Decided<Hub, Task>, Rejection> {
    let input = HubInput { hub_id: hub_id(), facts: HubFacts { tasks: known, ..HubFacts::default() } };
    Scenario::<Hub>::given(t0(), history).deciding::<DispatchModel, _>(&command, &input).result
}

fn hub(history: impl IntoIterator<Item = HubEvent>) -> Hub {
    Scenario::<Hub>::given(t0(), history).state().expect("a hub")
}

fn receive(n: u128, category: GoodsCategory, inspection: Inspection) -> HubCommand {
    HubCommand::Receive {
        order_id: order(n),
        category,
        inspection,
        note: "one box crushed".into(),
        exception_id: format!("ex-{n}"),
    }
}

fn put(n: u128, zone: Option<&str>) -> HubCommand {
    HubCommand::PutAway { order_id: order(n), zone: zone.map(str::to_owned) }
}

fn count(zone: &str, counted: impl IntoIterator<Item = u128>) -> HubCommand {
    HubCommand::Count {
        zone: zone.into(),
        counted: counted.into_iter().map(order).collect(),
        exception_seed: "c1".into(),
    }
}

#[test]
fn a_hub_is_registered_once_with_sound_zones() {
    let register = |zones| HubCommand::Register { code: "MUC-HUB".into(), zones };
    let decided =
        decide([], register(vec![zone("A1", GoodsCategory::General, 2)]), tasks([])).expect("registered");
    assert_eq!(decided.events.len(), 1);
    let twice = decide([registered()], register(vec![zone("A1", GoodsCategory::General, 2)]), tasks([]));
    assert!(matches!(twice, Err(Rejection::AlreadyExists { what: "hub", .. })), "{twice:?}");
    let bad = decide(
        [],
        register(vec![zone("A1", GoodsCategory::General, 2), zone("A1", GoodsCategory::Cold, 0)]),
        tasks([]),
    );
    let Err(Rejection::Invalid { violations }) = bad else { panic!("{bad:?}") };
    let fields: Vec<&str> = violations.iter().map(|violation| violation.field.as_str()).collect();
    assert_eq!(fields, ["zones[1].name", "zones[1].capacity"]);
}

#[test]
fn a_command_on_an_unknown_hub_or_order_is_not_found() {
    let unknown = decide([], count("A1", [1]), tasks([task(1, false, None)]));
    assert_eq!(unknown.err(), Some(Rejection::HubNotFound(hub_id())));
    let no_task = decide([registered()], receive(7, GoodsCategory::General, Inspection::Accepted), tasks([]));
    assert_eq!(no_task.err(), Some(Rejection::NoTaskForOrder(order(7))));
    let no_zone = decide([registered()], count("Z9", []), tasks([]));
    assert!(matches!(no_zone, Err(Rejection::ZoneNotFound { .. })), "{no_zone:?}");
}

#[test]
fn damaged_goods_are_received_and_raise_a_damage_exception_on_the_task() {
    let known = tasks([task(1, false, Some("MUC-HUB"))]);
    let decided = decide([registered()], receive(1, GoodsCategory::General, Inspection::Damaged), known)
        .expect("received");
    assert_eq!(
        decided.events,
        [HubEvent::GoodsReceived {
            order_id: order(1),
            category: GoodsCategory::General,
            inspection: Inspection::Damaged,
            note: "one box crushed".into(),
        }]
    );
    assert_eq!(
        decided.others,
        [(
            TaskId(order(1).0),
            TaskEvent::ExceptionReported {
                exception_id: "ex-1".into(),
                kind: ExceptionKind::Damaged,
                severity: Severity::High,
                description: "damaged on receipt at hub MUC-HUB: one box crushed".into(),
            }
        )]
    );
    let short = decide(
        [registered()],
        receive(1, GoodsCategory::General, Inspection::Short),
        tasks([task(1, false, None)]),
    )
    .expect("received short");
    assert!(short.others.is_empty(), "a short receipt raises no exception: {short:?}");
}

#[test]
fn goods_are_received_once_and_hazardous_cargo_only_as_hazardous() {
    let again = decide(
        [registered(), received(1, GoodsCategory::General)],
        receive(1, GoodsCategory::General, Inspection::Accepted),
        tasks([task(1, false, None)]),
    );
    assert!(matches!(again, Err(Rejection::AlreadyInStock { .. })), "{again:?}");
    let hazardous = decide(
        [registered()],
        receive(2, GoodsCategory::General, Inspection::Accepted),
        tasks([task(2, true, None)]),
    );
    assert_eq!(hazardous.err(), Some(Rejection::HazardousCargo { order_id: order(2) }));
}

#[test]
fn put_away_needs_a_zone_of_the_goods_category_with_room() {
    let history = || {
        [
            registered(),
            received(1, GoodsCategory::General),
            received(2, GoodsCategory::General),
            received(3, GoodsCategory::Hazardous),
            received(4, GoodsCategory::General),
            put_away(1, "A2"),
        ]
    };
    let wrong = decide(history(), put(3, Some("A1")), tasks([])).expect_err("wrong zone");
    assert_eq!(
        wrong.to_string(),
        format!("zone A1 stores general goods; order {}'s are hazardous", order(3))
    );
    let full = decide(history(), put(2, Some("A2")), tasks([])).expect_err("full");
    assert_eq!(full.to_string(), "zone A2 is full: 1 of 1 places taken");
    let chosen = decide(history(), put(2, None), tasks([])).expect("put away");
    assert_eq!(chosen.events, [put_away(2, "A1")], "the first general zone with room");
    let missing = decide(history(), put(9, None), tasks([])).expect_err("not in stock");
    assert!(matches!(missing, Rejection::NotInStock { .. }), "{missing:?}");
    let twice = decide(history(), put(1, None), tasks([])).expect_err("already put away");
    assert!(matches!(twice, Rejection::AlreadyPutAway { .. }), "{twice:?}");

    let mut full_history = history().to_vec();
    full_history.extend([put_away(2, "A1"), put_away(4, "A1"), received(5, GoodsCategory::General)]);
    let none = decide(full_history, put(5, None), tasks([])).expect_err("no room");
    assert_eq!(none.to_string(), "no general zone of hub MUC-HUB has room");
}

#[test]
fn loading_out_takes_the_goods_off_the_stock() {
    let history = [registered(), received(1, GoodsCategory::General), put_away(1, "A1")];
    let decided =
        decide(history.clone(), HubCommand::LoadOut { order_id: order(1), vehicle_id: None }, tasks([]))
            .expect("loaded out");
    let mut after = history.to_vec();
    after.extend(decided.events);
    let hub = hub(after);
    assert!(hub.stock.is_empty());
    assert_eq!(hub.occupied("A1"), 0);
    assert!(hub.loaded_out.contains(&order(1)));
    let stranger = waybill_dispatch::domain::VehicleId(Uuid::from_u128(0x99));
    let unknown =
        decide(history, HubCommand::LoadOut { order_id: order(1), vehicle_id: Some(stranger) }, tasks([]));
    assert_eq!(unknown.err(), Some(Rejection::VehicleNotFound(stranger)));
}

#[test]
fn a_cycle_count_writes_each_discrepancy_with_an_exception_and_corrects_the_stock() {
    let history = [
        registered(),
        received(1, GoodsCategory::General),
        put_away(1, "A1"),
        received(2, GoodsCategory::General),
        put_away(2, "A1"),
        received(3, GoodsCategory::General),
        put_away(3, "A2"),
    ];
    let known = tasks([task(1, false, None), task(2, false, None), task(3, false, None)]);
    // Order 2 is not in A1; order 3, booked to A2, is.
    let decided = decide(history.clone(), count("A1", [1, 3]), known.clone()).expect("counted");
    let exception_of = |n: u128| derived_exception_id(&format!("c1/{}", order(n)));
    assert_eq!(
        decided.events,
        [
            HubEvent::ZoneCounted { zone: "A1".into(), expected: 2, counted: 2, discrepancies: 2 },
            HubEvent::DiscrepancyFound {
                zone: "A1".into(),
                order_id: order(2),
                kind: DiscrepancyKind::Missing,
                booked_zone: None,
                exception_id: exception_of(2),
            },
            HubEvent::DiscrepancyFound {
                zone: "A1".into(),
                order_id: order(3),
                kind: DiscrepancyKind::Unexpected,
                booked_zone: Some("A2".into()),
                exception_id: exception_of(3),
            },
        ]
    );
    let raised: Vec<(TaskId, ExceptionKind)> = decided
        .others
        .iter()
        .map(|(task_id, event)| match event {
            TaskEvent::ExceptionReported { kind, .. } => (*task_id, *kind),
            other => panic!("not an exception: {other:?}"),
        })
        .collect();
    assert_eq!(
        raised,
        [
            (TaskId(order(2).0), ExceptionKind::StockDiscrepancy),
            (TaskId(order(3).0), ExceptionKind::StockDiscrepancy)
        ]
    );
    let mut after = history.to_vec();
    after.extend(decided.events);
    let hub = hub(after);
    let in_a1: BTreeSet<OrderId> = hub.in_zone("A1").map(|item| item.order_id).collect();
    assert_eq!(in_a1, BTreeSet::from([order(1), order(3)]));
    assert_eq!(hub.counts["A1"].discrepancies.len(), 2);

    let clean = decide(history, count("A1", [1, 2]), known).expect("counted");
    assert_eq!(
        clean.events,
        [HubEvent::ZoneCounted { zone: "A1".into(), expected: 2, counted: 2, discrepancies: 0 }]
    );
    assert!(clean.others.is_empty());
}

#[test]
fn stock_that_disagrees_with_its_task_is_a_mismatch() {
    let hub = hub([registered(), received(1, GoodsCategory::General), received(2, GoodsCategory::General)]);
    let item = |n: u128| hub.stock.get(&order(n));
    assert_eq!(stock_mismatch(&hub, order(1), item(1), Some(&task(1, false, Some("muc-hub")))), None);
    assert_eq!(
        stock_mismatch(&hub, order(2), item(2), Some(&task(2, false, None))).as_deref(),
        Some("in stock, but the task is planned")
    );
    assert_eq!(
        stock_mismatch(&hub, order(2), item(2), Some(&task(2, false, Some("BER-HUB")))).as_deref(),
        Some("in stock, but the task arrived at hub BER-HUB")
    );
    assert_eq!(
        stock_mismatch(&hub, order(3), None, Some(&task(3, false, Some("MUC-HUB")))).as_deref(),
        Some("the task arrived at this hub, but its goods are not in stock")
    );
    assert_eq!(
        stock_mismatch(&hub, order(2), item(2), None).as_deref(),
        Some("in stock, but dispatch has no task for the order")
    );
}

// ---- random sequences -----------------------------------------------------------------------

/// A hub command on one of four orders (orders 1–3 general, 4 hazardous).
fn hub_command() -> impl Strategy<Value = HubCommand> {
    let category = |n: u128| if n == 4 { GoodsCategory::Hazardous } else { GoodsCategory::General };
    let inspection =
        prop_oneof![Just(Inspection::Accepted), Just(Inspection::Damaged), Just(Inspection::Short)];
    let zone_name = prop_oneof![Just(None), Just(Some("A1")), Just(Some("A2")), Just(Some("H1"))];
    prop_oneof![
        (1..=4u128, inspection).prop_map(move |(n, inspection)| receive(n, category(n), inspection)),
        (1..=4u128, zone_name).prop_map(|(n, zone)| put(n, zone)),
        (1..=4u128).prop_map(|n| HubCommand::LoadOut { order_id: order(n), vehicle_id: None }),
        (proptest::sample::select(vec!["A1", "A2", "H1"]), proptest::collection::btree_set(1..=4u128, 0..3))
            .prop_map(|(zone, found)| count(zone, found)),
    ]
}

proptest! {
    /// Whatever the operators scan, every decided event applies, put-away never overfills a
    /// zone or mixes categories, and every exception raised is on a task of an order named.
    #[test]
    fn every_decision_applies_and_put_away_keeps_zones_within_capacity_and_category(
        commands in proptest::collection::vec(hub_command(), 1..40)
    ) {
        let known = tasks((1..=4).map(|n| task(n, n == 4, Some("MUC-HUB"))));
        let mut history = vec![registered()];
        for command in commands {
            let Ok(decided) = decide(history.clone(), command.clone(), known.clone()) else { continue };
            for (task_id, _) in &decided.others {
                prop_assert!(known.contains_key(&OrderId(task_id.0)));
            }
            history.extend(decided.events.iter().cloned());
            let state = Scenario::<Hub>::given(t0(), history.clone()).state().expect("every event applies");
            if let HubCommand::PutAway { order_id, .. } = command {
                let item = &state.stock[&order_id];
                let zone = state.zone(item.zone.as_deref().expect("put away")).expect("a zone of the hub");
                prop_assert_eq!(zone.category, item.category);
                prop_assert!(state.occupied(&zone.name) <= zone.capacity);
            }
        }
    }
}
