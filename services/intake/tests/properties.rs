//! Properties of the Order decider under random command sequences: plausible cargo and
//! addresses (and some implausible ones), time only moving forward.
//!
//! For every sequence: `decide` never panics; every event it emits applies; folding the
//! emitted events from `None` rebuilds exactly the state the live loop holds; and the
//! order's invariants hold after every step (see the `domain` module docs).

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use waybill_intake::domain::{
    AttemptFailure, Command, Context, CustomerStanding, Event, FailedAttempt, Order, OrderDetails,
    OrderStatus, Policy, Rejection, ReviewDecision, decide, evolve, limit_violations,
};
use waybill_types::{
    Address, CargoCategory, CargoLine, Contact, Currency, CustomerId, Money, OrderId, Party, ServiceLevel,
    Timestamp,
};

const PLACES: [(&str, &str, &str); 7] = [
    ("Berlin", "BE", "DE"),
    (" berlin ", "be", "de"),
    ("Potsdam", "BE", "DE"),
    ("Munich", "BY", "DE"),
    ("Paris", "IDF", "FR"),
    ("Singapore", "", "SG"),
    ("Jurong", "", "SG"),
];

fn address() -> impl Strategy<Value = Address> {
    prop::sample::select(PLACES.to_vec()).prop_map(|(city, region, country_code)| Address {
        lines: vec!["1 Dock Road".to_owned()],
        city: city.to_owned(),
        region: region.to_owned(),
        postal_code: "00000".to_owned(),
        country_code: country_code.to_owned(),
        coordinates: None,
    })
}

fn party() -> impl Strategy<Value = Party> {
    address().prop_map(|address| Party {
        contact: Contact {
            name: "Ops".to_owned(),
            phone: "+49 30 1".to_owned(),
            email: "ops@example.com".to_owned(),
        },
        address,
    })
}

fn category() -> impl Strategy<Value = CargoCategory> {
    prop_oneof![
        4 => Just(CargoCategory::General),
        1 => Just(CargoCategory::Fragile),
        1 => Just(CargoCategory::ColdChain),
        1 => Just(CargoCategory::Hazardous),
    ]
}

fn service_level() -> impl Strategy<Value = ServiceLevel> {
    prop_oneof![Just(ServiceLevel::Standard), Just(ServiceLevel::Express), Just(ServiceLevel::SameDay)]
}

fn cargo_line() -> impl Strategy<Value = CargoLine> {
    let weight = prop_oneof![8 => 100u64..40_000, 1 => 40_000u64..3_000_000];
    let sides = (1u32..150, 1u32..150, 1u32..150);
    // Mostly euros, sometimes dollars (a currency mismatch), rarely a negative value.
    let declared = prop_oneof![
        10 => (0i64..3_000_000).prop_map(|amount| ("EUR", amount)),
        1 => (0i64..3_000_000).prop_map(|amount| ("USD", amount)),
        1 => Just(("EUR", -1)),
    ];
    let declaration = prop_oneof![Just(None), Just(Some("UN1263".to_owned())), Just(Some("  ".to_owned()))];
    (1u32..5, weight, sides, declared, category(), declaration).prop_map(
        |(
            quantity,
            weight_grams,
            (length_cm, width_cm, height_cm),
            (code, amount),
            category,
            declaration,
        )| {
            CargoLine {
                description: "goods".to_owned(),
                quantity,
                weight_grams,
                length_cm,
                width_cm,
                height_cm,
                declared_value: Money::new(amount, Currency::parse(code).expect("valid currency")),
                category,
                hazard_declaration: declaration,
            }
        },
    )
}

fn cargo() -> impl Strategy<Value = Vec<CargoLine>> {
    prop_oneof![20 => prop::collection::vec(cargo_line(), 1..4), 1 => Just(Vec::new())]
}

fn details() -> impl Strategy<Value = OrderDetails> {
    (party(), party(), cargo(), service_level()).prop_map(|(shipper, consignee, cargo, service_level)| {
        OrderDetails {
            customer_id: CustomerId::parse("acme").expect("valid customer id"),
            shipper,
            consignee,
            cargo,
            service_level,
        }
    })
}

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(42))
}

fn command() -> impl Strategy<Value = Command> {
    let standing = prop_oneof![3 => Just(CustomerStanding::Good), 1 => Just(CustomerStanding::OnCreditHold)];
    let decision = prop_oneof![
        4 => Just(ReviewDecision::Accept),
        1 => Just(ReviewDecision::Reject { reason: "no capacity".to_owned() }),
        1 => Just(ReviewDecision::Reject { reason: " ".to_owned() }),
    ];
    let source = || prop_oneof![9 => Just("evt-1".to_owned()), 1 => Just(String::new())];
    prop_oneof![
        1 => details().prop_map(|details| Command::Place { order_id: order_id(), details }),
        3 => standing.prop_map(|standing| Command::ReviewAutomatically { standing }),
        2 => decision.prop_map(|decision| Command::Review { decision }),
        2 => (prop::option::of(cargo()), prop::option::of(service_level()))
            .prop_map(|(cargo, service_level)| Command::Amend { cargo, service_level }),
        2 => address().prop_map(|address| Command::ChangeConsigneeAddress { address }),
        1 => prop_oneof![Just(String::new()), Just("changed plans".to_owned())]
            .prop_map(|reason| Command::Cancel { reason }),
        2 => Just(Command::Restore),
        2 => source().prop_map(|source_event_id| Command::RecordPickup { source_event_id }),
        2 => source().prop_map(|source_event_id| Command::RecordOutForDelivery { source_event_id }),
        2 => source().prop_map(|source_event_id| Command::RecordAttemptFailed {
            source_event_id,
            attempt: FailedAttempt { attempt: 1, reason: AttemptFailure::AddressWrong, next_window: None },
        }),
        1 => source().prop_map(|source_event_id| Command::RecordReturnedToSender { source_event_id, attempts: 3 }),
        2 => source().prop_map(|source_event_id| Command::RecordDelivery { source_event_id }),
    ]
}

/// Commands, each with the minutes that pass before it (mostly minutes, sometimes up to
/// ~50 h, so that restore windows both hold and lapse). Most histories start with a placement.
fn history() -> impl Strategy<Value = Vec<(Command, i64)>> {
    let first = details().prop_map(|details| Command::Place { order_id: order_id(), details });
    let pause = prop_oneof![4 => 0i64..120, 1 => 120i64..3_000];
    let steps = prop::collection::vec((command(), pause), 0..40);
    (prop::bool::weighted(0.95), first, steps).prop_map(|(starts_placed, first, mut steps)| {
        if starts_placed {
            steps.insert(0, (first, 0));
        }
        steps
    })
}

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().expect("valid time")
}

/// The invariants every order keeps, whatever happened to it.
fn check_invariants(order: &Order, policy: &Policy) -> Result<(), TestCaseError> {
    prop_assert!(order.quote.is_consistent(), "inconsistent quote {:?}", order.quote);
    prop_assert!(!order.quote.total.is_negative());
    prop_assert_eq!(order.cancellation.is_some(), order.status == OrderStatus::Cancelled);
    prop_assert!(order.updated_at >= order.placed_at);
    // Whatever got past review is something its service level can carry.
    let past_review =
        !matches!(order.status, OrderStatus::Placed | OrderStatus::Rejected | OrderStatus::Cancelled);
    if past_review {
        let violations = limit_violations(&order.details, &order.quote, &policy.limits);
        prop_assert!(violations.is_empty(), "a {} order breaks its limits: {:?}", order.status, violations);
    }
    Ok(())
}

/// What the command may do to an order in the state it found.
fn check_decision(
    before: Option<&Order>,
    command: &Command,
    result: &Result<Vec<Event>, Rejection>,
) -> Result<(), TestCaseError> {
    let is_place = matches!(command, Command::Place { .. });
    let changed = matches!(result, Ok(events) if !events.is_empty());
    match before {
        None if !is_place => prop_assert_eq!(result, &Err(Rejection::NotFound)),
        Some(_) if is_place => prop_assert_eq!(result, &Err(Rejection::AlreadyPlaced)),
        Some(order) if order.status == OrderStatus::Cancelled && !matches!(command, Command::Restore) => {
            prop_assert!(!changed, "a cancelled order took {:?}", command)
        }
        Some(order) if order.status.is_terminal() => {
            prop_assert!(!changed, "a {} order took {:?}", order.status, command)
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn replaying_the_log_rebuilds_the_live_order_and_invariants_hold(steps in history()) {
        let policy = Policy::default();
        let mut now = start();
        let mut live: Option<Order> = None;
        let mut log: Vec<(Event, Timestamp)> = Vec::new();

        for (command, minutes) in steps {
            now += Duration::minutes(minutes);
            let context = Context::new(now, &policy);
            let result = decide(live.as_ref(), command.clone(), &context);
            check_decision(live.as_ref(), &command, &result)?;
            if let Ok(events) = result {
                for event in events {
                    live = evolve(live, &event, now);
                    prop_assert!(live.is_some(), "decided event {:?} does not apply", event);
                    log.push((event, now));
                }
            }
            if let Some(order) = &live {
                check_invariants(order, &policy)?;
            }
        }

        let replayed = log.iter().fold(None, |state, (event, at)| evolve(state, event, *at));
        prop_assert_eq!(replayed, live);
    }
}
