//! Properties of the Delivery decider under random command sequences (time only moving
//! forward): `decide` never panics; every event it emits applies; folding the emitted
//! events from `None` rebuilds exactly the live state; and after every step:
//! - a delivered delivery has a proof, and only a delivered one has;
//! - failed attempts never exceed the policy's maximum, and reaching it returns the goods;
//! - at most one delay per promised window;
//! - a decision writes no notification itself, and every milestone it writes is one the
//!   `delivery-notifications` reaction tells the consignee about (`milestone_of`).

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use waybill_delivery::domain::{
    Context, CourierId, Delivery, DeliveryCommand, DeliveryEvent, DeliveryStatus, ExceptionKind,
    FailureReason, GeoPoint, HandoverChecklist, Policy, ProofOfDelivery, Signature, decide, evolve,
    milestone_of,
};
use waybill_types::{Address, Contact, OrderId, Party, ServiceLevel, Timestamp};

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid time")
}

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(1))
}

fn party(city: &str) -> Party {
    Party {
        contact: Contact { name: "Erika".into(), phone: "+49 89 1".into(), email: String::new() },
        address: Address {
            lines: vec!["Leopoldstrasse 1".into()],
            city: city.into(),
            region: String::new(),
            postal_code: "80802".into(),
            country_code: "DE".into(),
            coordinates: None,
        },
    }
}

fn proof(delivered_at: Timestamp) -> ProofOfDelivery {
    ProofOfDelivery {
        recipient_name: "Erika".into(),
        recipient_relation: "consignee".into(),
        signature: Signature::Image(vec![1, 2, 3]),
        photo_ref: String::new(),
        location: GeoPoint { latitude: 48.1, longitude: 11.5 },
        delivered_at,
        id_checked: false,
        checklist: HandoverChecklist {
            piece_count_matches: true,
            packaging_intact: true,
            recipient_informed_of_contents: true,
        },
    }
}

/// A command, with how many hours pass before it is decided.
#[derive(Clone, Debug)]
enum Step {
    Schedule(ServiceLevel),
    Redirect(&'static str),
    Assign(u128),
    Start,
    Fail(FailureReason),
    Confirm { hours_ago: i64 },
    Report(ExceptionKind),
    Tick,
}

fn step() -> impl Strategy<Value = (i64, Step)> {
    let step = prop_oneof![
        1 => Just(Step::Schedule(ServiceLevel::Standard)),
        1 => Just(Step::Schedule(ServiceLevel::SameDay)),
        1 => prop::sample::select(vec!["Munich", "Hamburg"]).prop_map(Step::Redirect),
        1 => (1u128..4).prop_map(Step::Assign),
        3 => Just(Step::Start),
        3 => prop::sample::select(vec![FailureReason::RecipientAbsent, FailureReason::Refused, FailureReason::AddressWrong])
            .prop_map(Step::Fail),
        2 => (-2i64..3).prop_map(|hours_ago| Step::Confirm { hours_ago }),
        1 => prop::sample::select(vec![
            ExceptionKind::DamagedPartial,
            ExceptionKind::DamagedTotal,
            ExceptionKind::Lost,
            ExceptionKind::HandoverDispute,
        ])
        .prop_map(Step::Report),
        3 => Just(Step::Tick),
    ];
    (0i64..40, step)
}

fn command(step: &Step, state: Option<&Delivery>, now: Timestamp) -> DeliveryCommand {
    match step {
        Step::Schedule(service_level) => DeliveryCommand::Schedule {
            order_id: order_id(),
            service_level: *service_level,
            consignee: party("Munich"),
            hub: "MUC".into(),
            arrived_at: now,
            source_event_id: "arrival".into(),
        },
        Step::Redirect(city) => DeliveryCommand::UpdateAddress {
            address: party(city).address,
            source_event_id: "redirect".into(),
        },
        Step::Assign(courier) => {
            DeliveryCommand::Assign { courier_id: CourierId(Uuid::from_u128(*courier)), automatic: true }
        }
        Step::Start => DeliveryCommand::Start { redirect: None },
        Step::Fail(reason) => {
            DeliveryCommand::RecordFailedAttempt { reason: *reason, note: String::new(), next_window: None }
        }
        Step::Confirm { hours_ago } => {
            DeliveryCommand::Confirm { proof: proof(now - Duration::hours(*hours_ago)) }
        }
        Step::Report(kind) => DeliveryCommand::ReportException { kind: *kind, description: "seen".into() },
        // The SLA clock asks about the current window, as it would from the read model.
        Step::Tick => {
            DeliveryCommand::RaiseDelay { window_end: state.map_or(now, |delivery| delivery.window.end) }
        }
    }
}

fn is_milestone(event: &DeliveryEvent) -> bool {
    !matches!(
        event,
        DeliveryEvent::NotificationRequested { .. }
            | DeliveryEvent::AddressUpdated { .. }
            | DeliveryEvent::CourierAssigned { .. }
            // The last attempt's notification is the return's.
            | DeliveryEvent::AttemptFailed { rescheduled_window: None, .. }
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn replay_equals_live_and_the_invariants_hold(steps in prop::collection::vec(step(), 1..40)) {
        let policy = Policy::default();
        let mut now = t0();
        let mut live: Option<Delivery> = None;
        let mut log: Vec<(Timestamp, DeliveryEvent)> = Vec::new();
        for (hours, step) in steps {
            now += Duration::hours(hours);
            let decided = decide(live.as_ref(), command(&step, live.as_ref(), now), &Context::new(now, &policy));
            let Ok(events) = decided else { continue };
            for event in &events {
                prop_assert!(!matches!(event, DeliveryEvent::NotificationRequested { .. }), "{:?}", events);
                prop_assert_eq!(is_milestone(event), milestone_of(event).is_some(), "{:?}", event);
            }
            for event in events {
                live = evolve(live, &event, now);
                prop_assert!(live.is_some(), "event {:?} did not apply", event);
                log.push((now, event));
            }
            let delivery = live.as_ref().expect("checked above");
            prop_assert_eq!(delivery.status == DeliveryStatus::Delivered, delivery.proof.is_some());
            let attempts = u32::try_from(delivery.failed_attempts.len()).unwrap_or(u32::MAX);
            prop_assert!(attempts <= policy.max_attempts);
            if attempts == policy.max_attempts {
                prop_assert_eq!(delivery.status, DeliveryStatus::ReturnedToSender);
            }
            let mut delayed_windows: Vec<_> = delivery
                .exceptions
                .iter()
                .filter(|exception| exception.kind == ExceptionKind::Delayed)
                .filter_map(|exception| exception.missed_window.map(|window| window.end))
                .collect();
            let raised = delayed_windows.len();
            delayed_windows.dedup();
            prop_assert_eq!(raised, delayed_windows.len(), "one delay per window");
        }
        let replayed = log.iter().fold(None, |state, (at, event)| evolve(state, event, *at));
        prop_assert_eq!(replayed, live);
    }
}
