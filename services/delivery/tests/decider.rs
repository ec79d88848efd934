//! The Delivery and Courier deciders, given/when/then: scheduling, assignment, attempts,
//! proof of delivery, exceptions and the SLA clock's delay, in the business's words.

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;
use waybill_command::scenario::Scenario;
use waybill_delivery::domain::{
    Courier, CourierCommand, CourierEvent, CourierId, Delivery, DeliveryCommand, DeliveryEvent,
    DeliveryStatus, ExceptionKind, FailureReason, GeoPoint, HandoverChecklist, Milestone, Policy,
    ProofOfDelivery, Rejection, Signature, TimeWindow, WindowRule, evolve, milestone_of, notice_about,
};
use waybill_types::{Address, Contact, OrderId, Party, ServiceLevel, Timestamp};

// ---- the harness: given(history).when(command).then(events) ------------------------------

/// When the goods arrived at the hub; the history's events follow a minute apart.
fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid time")
}

fn given(history: impl IntoIterator<Item = DeliveryEvent>) -> Scenario<Delivery> {
    Scenario::given(t0(), history)
}

// ---- the business's vocabulary --------------------------------------------------------------

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(0x0190_f0f0_0000_7000_8000_0000_0000_0001))
}

fn kim() -> CourierId {
    CourierId(Uuid::from_u128(0x0190_f0f0_0000_7000_8000_0000_0000_00c1))
}

fn lea() -> CourierId {
    CourierId(Uuid::from_u128(0x0190_f0f0_0000_7000_8000_0000_0000_00c2))
}

fn munich() -> Address {
    Address {
        lines: vec!["Leopoldstrasse 1".to_owned()],
        city: "Munich".to_owned(),
        region: "BY".to_owned(),
        postal_code: "80802".to_owned(),
        country_code: "DE".to_owned(),
        coordinates: None,
    }
}

fn erika() -> Party {
    Party {
        contact: Contact {
            name: "Erika Mustermann".to_owned(),
            phone: "+49 89 123456".to_owned(),
            email: "erika@example.com".to_owned(),
        },
        address: munich(),
    }
}

fn hours(start: i64, end: i64) -> TimeWindow {
    TimeWindow { start: t0() + Duration::hours(start), end: t0() + Duration::hours(end) }
}

fn arrival(service_level: ServiceLevel) -> DeliveryCommand {
    DeliveryCommand::Schedule {
        order_id: order_id(),
        service_level,
        consignee: erika(),
        hub: "MUC-HUB".to_owned(),
        arrived_at: t0(),
        source_event_id: "arrival-1".to_owned(),
    }
}

/// A standard delivery scheduled on arrival at t0: promised from a day to three days later.
fn scheduled() -> DeliveryEvent {
    DeliveryEvent::Scheduled {
        order_id: order_id(),
        service_level: ServiceLevel::Standard,
        consignee: erika(),
        zone: "Munich".to_owned(),
        hub: "MUC-HUB".to_owned(),
        window: hours(24, 72),
        source_event_id: "arrival-1".to_owned(),
    }
}

fn assigned(courier_id: CourierId) -> DeliveryEvent {
    DeliveryEvent::CourierAssigned { courier_id, automatic: true }
}

fn started() -> DeliveryEvent {
    DeliveryEvent::Started { courier_id: kim() }
}

fn out_for_delivery() -> Vec<DeliveryEvent> {
    vec![scheduled(), assigned(kim()), started()]
}

/// How the decider judges a completed handover.
struct Judged {
    on_time: bool,
    first_attempt: bool,
}

/// The courier confirms the handover at `at` (the proof signed then) after `history`: the
/// delivery is completed, judged as `judged` says.
fn handover_is_judged(history: Vec<DeliveryEvent>, at: Timestamp, Judged { on_time, first_attempt }: Judged) {
    given(history)
        .at(at)
        .when(DeliveryCommand::Confirm { proof: proof_at(at) })
        .then([DeliveryEvent::Completed { proof: proof_at(at), on_time, first_attempt }]);
}

/// Out for delivery, and the first attempt failed; the next window is 30-34 h after t0.
fn failed_at_the_first_attempt() -> Vec<DeliveryEvent> {
    let mut history = out_for_delivery();
    history.push(attempt_failed(1, Some(hours(30, 34))));
    history
}

/// The consignee's address corrected after a failed attempt: Leopoldstrasse 7, not 1.
fn the_house_next_door() -> Address {
    Address { lines: vec!["Leopoldstrasse 7".to_owned()], ..munich() }
}

fn attempt_failed(attempt: u32, rescheduled_window: Option<TimeWindow>) -> DeliveryEvent {
    DeliveryEvent::AttemptFailed {
        attempt,
        reason: FailureReason::RecipientAbsent,
        note: "nobody home".to_owned(),
        rescheduled_window,
    }
}

fn nobody_home() -> DeliveryCommand {
    DeliveryCommand::RecordFailedAttempt {
        reason: FailureReason::RecipientAbsent,
        note: "nobody home".to_owned(),
        next_window: None,
    }
}

fn proof_at(delivered_at: Timestamp) -> ProofOfDelivery {
    ProofOfDelivery {
        recipient_name: "Erika Mustermann".to_owned(),
        recipient_relation: "consignee".to_owned(),
        signature: Signature::Stored {
            digest: format!("sha256:{}", "ab".repeat(32)),
            storage_ref: "s3://pod/signature.png".to_owned(),
        },
        photo_ref: "s3://pod/door.jpg".to_owned(),
        location: GeoPoint { latitude: 48.137, longitude: 11.575 },
        delivered_at,
        id_checked: true,
        checklist: HandoverChecklist {
            piece_count_matches: true,
            packaging_intact: true,
            recipient_informed_of_contents: true,
        },
    }
}

fn delayed(window: TimeWindow) -> DeliveryEvent {
    DeliveryEvent::ExceptionRaised {
        kind: ExceptionKind::Delayed,
        description: format!("the promised window ending {} UTC passed", window.end.format("%Y-%m-%d %H:%M")),
        missed_window: Some(window),
    }
}

fn invalid_state(action: &'static str, status: DeliveryStatus) -> Rejection {
    Rejection::InvalidState { action, status }
}

// ---- scheduling -------------------------------------------------------------------------------

#[test]
fn an_arrival_schedules_the_delivery_with_the_standard_window_and_tells_the_consignee() {
    let delivery = given([]).when(arrival(ServiceLevel::Standard)).then([scheduled()]);
    let delivery = delivery.expect("scheduled");
    assert_eq!(delivery.status, DeliveryStatus::Scheduled);
    assert_eq!(delivery.zone, "Munich", "the zone is the consignee's city");
}

#[test]
fn faster_service_levels_promise_earlier_windows() {
    for (level, window) in [(ServiceLevel::SameDay, hours(0, 4)), (ServiceLevel::Express, hours(0, 24))] {
        let delivery = given([]).when(arrival(level)).then([scheduled_with(level, window)]);
        assert_eq!(delivery.map(|delivery| delivery.window), Some(window));
    }
}

fn scheduled_with(service_level: ServiceLevel, window: TimeWindow) -> DeliveryEvent {
    DeliveryEvent::Scheduled {
        order_id: order_id(),
        service_level,
        consignee: erika(),
        zone: "Munich".to_owned(),
        hub: "MUC-HUB".to_owned(),
        window,
        source_event_id: "arrival-1".to_owned(),
    }
}

#[test]
fn a_redelivered_arrival_schedules_nothing_twice() {
    given([scheduled()]).when(arrival(ServiceLevel::Standard)).then_nothing();
}

#[test]
fn the_windows_come_from_the_policy() {
    let policy = Policy { standard: WindowRule::hours(2, 10), ..Policy::default() };
    given([])
        .with_policy(policy)
        .when(arrival(ServiceLevel::Standard))
        .then([scheduled_with(ServiceLevel::Standard, hours(2, 10))]);
}

#[test]
fn a_new_address_follows_the_delivery_until_it_goes_out() {
    let mut hamburg = munich();
    hamburg.city = "Hamburg".to_owned();
    let update =
        || DeliveryCommand::UpdateAddress { address: hamburg.clone(), source_event_id: "redirect-1".into() };
    let delivery = given([scheduled()]).when(update()).then([DeliveryEvent::AddressUpdated {
        address: hamburg.clone(),
        zone: "Hamburg".to_owned(),
        source_event_id: "redirect-1".to_owned(),
    }]);
    assert_eq!(delivery.map(|delivery| delivery.zone), Some("Hamburg".to_owned()));
    given(out_for_delivery()).when(update()).then_nothing();
}

#[test]
fn a_wrong_address_corrected_after_a_failed_attempt_is_the_one_the_next_departure_takes() {
    let corrected = the_house_next_door();
    let mut history = failed_at_the_first_attempt();
    let updated = DeliveryEvent::AddressUpdated {
        address: corrected.clone(),
        zone: "Munich".to_owned(),
        source_event_id: "redirect-1".to_owned(),
    };
    let delivery = given(history.clone())
        .when(DeliveryCommand::UpdateAddress {
            address: corrected.clone(),
            source_event_id: "redirect-1".into(),
        })
        .then([updated.clone()]);
    assert_eq!(delivery.map(|delivery| delivery.consignee.address), Some(corrected.clone()));
    // Out again: the courier goes to the corrected address.
    history.push(updated);
    let out_again = given(history).when(DeliveryCommand::Start { redirect: None }).then([started()]);
    assert_eq!(out_again.map(|delivery| delivery.consignee.address), Some(corrected));
}

#[test]
fn a_redirect_the_reaction_has_not_applied_yet_goes_out_with_the_next_departure() {
    let corrected = the_house_next_door();
    let history = failed_at_the_first_attempt();
    let redirect = Some((corrected.clone(), "redirect-1".to_owned()));
    let out_again = given(history.clone()).when(DeliveryCommand::Start { redirect }).then([
        DeliveryEvent::AddressUpdated {
            address: corrected.clone(),
            zone: "Munich".to_owned(),
            source_event_id: "redirect-1".to_owned(),
        },
        started(),
    ]);
    assert_eq!(out_again.map(|delivery| delivery.consignee.address), Some(corrected));
    // The address the delivery already has is no news.
    let same = Some((munich(), "redirect-0".to_owned()));
    given(history).when(DeliveryCommand::Start { redirect: same }).then([started()]);
}

// ---- assignment and departure -------------------------------------------------------------------

#[test]
fn a_courier_is_assigned_and_the_same_courier_again_changes_nothing() {
    let delivery = given([scheduled()])
        .when(DeliveryCommand::Assign { courier_id: kim(), automatic: true })
        .then([assigned(kim())]);
    assert_eq!(
        delivery.map(|delivery| (delivery.status, delivery.courier)),
        Some((DeliveryStatus::Assigned, Some(kim())))
    );
    given([scheduled(), assigned(kim())])
        .when(DeliveryCommand::Assign { courier_id: kim(), automatic: false })
        .then_nothing();
    given([scheduled(), assigned(kim())])
        .when(DeliveryCommand::Assign { courier_id: lea(), automatic: false })
        .then([DeliveryEvent::CourierAssigned { courier_id: lea(), automatic: false }]);
}

#[test]
fn nobody_is_assigned_to_goods_already_out() {
    given(out_for_delivery())
        .when(DeliveryCommand::Assign { courier_id: lea(), automatic: false })
        .then_rejected(invalid_state("assign a courier to", DeliveryStatus::OutForDelivery));
}

#[test]
fn a_delivery_starts_only_with_a_courier_and_tells_the_consignee() {
    given([scheduled()])
        .when(DeliveryCommand::Start { redirect: None })
        .then_rejected(Rejection::NoCourierAssigned);
    let delivery = given([scheduled(), assigned(kim())])
        .when(DeliveryCommand::Start { redirect: None })
        .then([started()]);
    assert_eq!(delivery.map(|delivery| delivery.status), Some(DeliveryStatus::OutForDelivery));
}

// ---- failed attempts --------------------------------------------------------------------------

#[test]
fn a_failed_attempt_reschedules_a_window_as_long_as_the_promised_one() {
    let now = t0() + Duration::hours(30);
    let next = TimeWindow { start: now + Duration::hours(24), end: now + Duration::hours(72) };
    let delivery = given(out_for_delivery())
        .at(now)
        .when(nobody_home())
        .then([attempt_failed(1, Some(next))])
        .expect("delivery");
    assert_eq!(delivery.status, DeliveryStatus::AttemptFailed);
    assert_eq!(delivery.window, next);
    assert_eq!(delivery.failed_attempts.len(), 1);
}

#[test]
fn the_consignee_may_agree_the_next_window() {
    let now = t0() + Duration::hours(30);
    let agreed = hours(50, 52);
    let agreed_with = |window| DeliveryCommand::RecordFailedAttempt {
        reason: FailureReason::RecipientAbsent,
        note: "nobody home".to_owned(),
        next_window: Some(window),
    };
    given(out_for_delivery()).at(now).when(agreed_with(agreed)).then([attempt_failed(1, Some(agreed))]);
    given(out_for_delivery()).at(now).when(agreed_with(hours(20, 29))).then_invalid(&["next_window.end"]);
}

#[test]
fn the_third_failed_attempt_returns_the_goods_to_the_sender() {
    let now = t0() + Duration::hours(30);
    let window = |after: i64| TimeWindow {
        start: t0() + Duration::hours(after),
        end: t0() + Duration::hours(after + 48),
    };
    let mut history = out_for_delivery();
    history.extend([
        attempt_failed(1, Some(window(48))),
        started(),
        attempt_failed(2, Some(window(96))),
        started(),
    ]);
    let delivery = given(history)
        .at(now)
        .when(nobody_home())
        .then([attempt_failed(3, None), DeliveryEvent::ReturnedToSender { attempts: 3 }])
        .expect("delivery");
    assert_eq!(delivery.status, DeliveryStatus::ReturnedToSender);
}

#[test]
fn the_number_of_attempts_is_configurable() {
    let policy = Policy { max_attempts: 1, ..Policy::default() };
    given(out_for_delivery())
        .with_policy(policy)
        .when(nobody_home())
        .then([attempt_failed(1, None), DeliveryEvent::ReturnedToSender { attempts: 1 }]);
}

#[test]
fn an_attempt_can_only_fail_while_out_for_delivery() {
    given([scheduled(), assigned(kim())])
        .when(nobody_home())
        .then_rejected(invalid_state("record a failed attempt of", DeliveryStatus::Assigned));
}

// ---- the handover -----------------------------------------------------------------------------

#[test]
fn a_handover_with_proof_completes_the_delivery_on_time_at_the_first_attempt() {
    let now = t0() + Duration::hours(30);
    let delivery = given(out_for_delivery())
        .at(now)
        .when(DeliveryCommand::Confirm { proof: proof_at(now) })
        .then([DeliveryEvent::Completed { proof: proof_at(now), on_time: true, first_attempt: true }])
        .expect("delivery");
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.proof, Some(proof_at(now)));
}

#[test]
fn a_late_handover_after_a_failed_attempt_is_neither_on_time_nor_first_attempt() {
    let mut history = out_for_delivery();
    history.extend([attempt_failed(1, Some(hours(48, 96))), started()]);
    let now = t0() + Duration::hours(100);
    handover_is_judged(history, now, Judged { on_time: false, first_attempt: false });
}

#[test]
fn a_handover_before_the_window_opened_is_on_time() {
    // The promised window is 24-72 h after t0: the promise is "by 72 h", kept at 10 h.
    let now = t0() + Duration::hours(10);
    handover_is_judged(out_for_delivery(), now, Judged { on_time: true, first_attempt: true });
}

#[test]
fn a_handover_at_either_end_of_the_window_is_on_time() {
    // Inside the window, up to and including its last instant.
    for at in [hours(24, 72).start, hours(24, 72).end] {
        handover_is_judged(out_for_delivery(), at, Judged { on_time: true, first_attempt: true });
    }
}

#[test]
fn a_handover_after_the_window_closed_is_late() {
    let now = t0() + Duration::hours(73);
    handover_is_judged(out_for_delivery(), now, Judged { on_time: false, first_attempt: true });
}

#[test]
fn a_handover_reported_before_the_courier_left_is_refused() {
    // The courier left at t0 + 3 min (the fourth event of the history).
    let now = t0() + Duration::hours(1);
    given(out_for_delivery())
        .at(now)
        .when(DeliveryCommand::Confirm { proof: proof_at(t0() - Duration::days(1)) })
        .then_refused_in_time("proof.delivered_at");
    // A device clock a minute behind the server's is within the allowed skew.
    let just_before = t0() + Duration::minutes(2);
    given(out_for_delivery()).at(now).when(DeliveryCommand::Confirm { proof: proof_at(just_before) }).then([
        DeliveryEvent::Completed { proof: proof_at(just_before), on_time: true, first_attempt: true },
    ]);
}

#[test]
fn an_attempt_or_a_departure_recorded_before_the_delivery_s_facts_is_refused() {
    // The courier left at t0 + 3 min; a clock (another replica's) an hour behind that.
    let behind = t0() - Duration::hours(1);
    given(out_for_delivery()).at(behind).when(nobody_home()).then_refused_in_time("attempted_at");
    let mut after_an_attempt = out_for_delivery();
    after_an_attempt.push(attempt_failed(1, Some(hours(48, 96))));
    given(after_an_attempt.clone())
        .at(behind)
        .when(DeliveryCommand::Start { redirect: None })
        .then_refused_in_time("departed_at");
    // Within the clock skew both stand.
    let just_behind = t0() + Duration::minutes(1);
    assert!(given(out_for_delivery()).at(just_behind).when(nobody_home()).decided().len() == 1);
    assert!(
        !given(after_an_attempt)
            .at(just_behind)
            .when(DeliveryCommand::Start { redirect: None })
            .decided()
            .is_empty()
    );
}

#[test]
fn a_handover_dated_in_the_future_is_refused() {
    let now = t0() + Duration::hours(30);
    given(out_for_delivery())
        .at(now)
        .when(DeliveryCommand::Confirm { proof: proof_at(now + Duration::hours(1)) })
        .then_refused_in_time("proof.delivered_at");
    // A few minutes of clock drift on the courier's device are fine.
    given(out_for_delivery())
        .at(now)
        .when(DeliveryCommand::Confirm { proof: proof_at(now + Duration::minutes(2)) })
        .then([DeliveryEvent::Completed {
            proof: proof_at(now + Duration::minutes(2)),
            on_time: true,
            first_attempt: true,
        }]);
}

#[test]
fn only_goods_out_for_delivery_can_be_handed_over() {
    given([scheduled(), assigned(kim())])
        .when(DeliveryCommand::Confirm { proof: proof_at(t0()) })
        .then_rejected(invalid_state("confirm", DeliveryStatus::Assigned));
}

// ---- exceptions -------------------------------------------------------------------------------

#[test]
fn lost_goods_end_the_delivery_and_the_consignee_is_told() {
    let delivery = given(out_for_delivery())
        .when(DeliveryCommand::ReportException {
            kind: ExceptionKind::Lost,
            description: "van stolen".into(),
        })
        .then([DeliveryEvent::ExceptionRaised {
            kind: ExceptionKind::Lost,
            description: "van stolen".into(),
            missed_window: None,
        }])
        .expect("delivery");
    assert_eq!(delivery.status, DeliveryStatus::Lost);
}

#[test]
fn a_handover_can_be_disputed_only_at_or_after_the_door() {
    given([scheduled()])
        .when(DeliveryCommand::ReportException {
            kind: ExceptionKind::HandoverDispute,
            description: String::new(),
        })
        .then_rejected(invalid_state("dispute the handover of", DeliveryStatus::Scheduled));
}

#[test]
fn delays_are_not_reported_by_hand() {
    given([scheduled()])
        .when(DeliveryCommand::ReportException { kind: ExceptionKind::Delayed, description: String::new() })
        .then_invalid(&["kind"]);
}

// ---- the SLA clock ---------------------------------------------------------------------------

#[test]
fn a_missed_window_raises_one_delay() {
    let window = hours(24, 72);
    let late = t0() + Duration::hours(73);
    given([scheduled()])
        .at(late)
        .when(DeliveryCommand::RaiseDelay { window_end: window.end })
        .then([delayed(window)]);
    // The second replica's tick, on the state the first one wrote: nothing.
    given([scheduled(), delayed(window)])
        .at(late)
        .when(DeliveryCommand::RaiseDelay { window_end: window.end })
        .then_nothing();
}

#[test]
fn no_delay_before_the_window_ends_nor_after_the_handover() {
    let window = hours(24, 72);
    given([scheduled()])
        .at(t0() + Duration::hours(71))
        .when(DeliveryCommand::RaiseDelay { window_end: window.end })
        .then_nothing();
    let mut delivered = out_for_delivery();
    delivered.push(DeliveryEvent::Completed { proof: proof_at(t0()), on_time: true, first_attempt: true });
    given(delivered)
        .at(t0() + Duration::hours(80))
        .when(DeliveryCommand::RaiseDelay { window_end: window.end })
        .then_nothing();
}

#[test]
fn a_rescheduled_window_can_be_missed_again() {
    let first = hours(24, 72);
    let second = hours(96, 144);
    let mut history = out_for_delivery();
    history.extend([delayed(first), attempt_failed(1, Some(second))]);
    let late = t0() + Duration::hours(150);
    // The old window's delay is not raised again; the new one's is.
    given(history.clone())
        .at(late)
        .when(DeliveryCommand::RaiseDelay { window_end: first.end })
        .then_nothing();
    given(history)
        .at(late)
        .when(DeliveryCommand::RaiseDelay { window_end: second.end })
        .then([delayed(second)]);
}

// ---- couriers ---------------------------------------------------------------------------------

fn register(zones: &[&str]) -> CourierCommand {
    CourierCommand::Register {
        courier_id: kim(),
        name: "Kim".to_owned(),
        zones: zones.iter().map(|zone| (*zone).to_owned()).collect(),
    }
}

fn kim_registered() -> CourierEvent {
    CourierEvent::Registered { courier_id: kim(), name: "Kim".into(), zones: vec!["Munich".into()] }
}

/// What a courier command decides on the courier `history` builds.
fn courier_decides(
    history: impl IntoIterator<Item = CourierEvent>,
    command: CourierCommand,
) -> Result<Vec<CourierEvent>, Rejection> {
    Scenario::<Courier>::given(t0(), history).when(command).result
}

#[test]
fn a_courier_registers_with_at_least_one_zone() {
    assert_eq!(
        courier_decides([], register(&[" Munich ", "munich", "Augsburg"])),
        Ok(vec![CourierEvent::Registered {
            courier_id: kim(),
            name: "Kim".into(),
            zones: vec!["Munich".into(), "Augsburg".into()],
        }])
    );
    assert!(matches!(courier_decides([], register(&[" "])), Err(Rejection::Invalid { .. })));
    assert_eq!(
        courier_decides([kim_registered()], register(&["Munich"])),
        Err(Rejection::CourierAlreadyRegistered)
    );
}

#[test]
fn a_courier_with_open_deliveries_cannot_retire() {
    assert_eq!(
        courier_decides(
            [kim_registered()],
            CourierCommand::Retire { reason: "moving".into(), open_deliveries: 2 }
        ),
        Err(Rejection::CourierHasOpenDeliveries { open: 2 })
    );
    assert_eq!(
        courier_decides(
            [kim_registered()],
            CourierCommand::Retire { reason: "moving".into(), open_deliveries: 0 }
        ),
        Ok(vec![CourierEvent::Retired { reason: "moving".into() }])
    );
}

#[test]
fn the_same_zones_again_change_nothing_and_a_retired_courier_changes_none() {
    assert_eq!(
        courier_decides([kim_registered()], CourierCommand::ChangeZones { zones: vec!["munich".into()] }),
        Ok(vec![CourierEvent::ZonesChanged { zones: vec!["munich".into()] }])
    );
    assert_eq!(
        courier_decides([kim_registered()], CourierCommand::ChangeZones { zones: vec!["Munich".into()] }),
        Ok(vec![])
    );
    let retired = [kim_registered(), CourierEvent::Retired { reason: String::new() }];
    assert_eq!(
        courier_decides(retired, CourierCommand::ChangeZones { zones: vec!["Berlin".into()] }),
        Err(Rejection::CourierRetired { courier_id: kim() })
    );
}

// ---- what the consignee is told (by the `delivery-notifications` reaction) -----------------

#[test]
fn every_milestone_tells_the_consignee_and_the_last_failed_attempt_leaves_it_to_the_return() {
    assert_eq!(milestone_of(&scheduled()), Some(Milestone::Scheduled));
    assert_eq!(milestone_of(&started()), Some(Milestone::OutForDelivery));
    assert_eq!(milestone_of(&attempt_failed(1, Some(hours(48, 60)))), Some(Milestone::AttemptFailed));
    assert_eq!(milestone_of(&attempt_failed(3, None)), None);
    assert_eq!(
        milestone_of(&DeliveryEvent::ReturnedToSender { attempts: 3 }),
        Some(Milestone::ReturnedToSender)
    );
    assert_eq!(milestone_of(&assigned(kim())), None);
}

#[test]
fn a_notification_names_the_window_its_own_milestone_set_on_a_delivery_that_moved_on() {
    // The reaction reads the read model, which may already be past the milestone.
    let next = hours(48, 60);
    let history =
        [scheduled(), assigned(kim()), started(), attempt_failed(1, Some(next)), assigned(kim()), started()];
    let later = history.iter().fold(None, |state, event| evolve(state, event, t0())).expect("a delivery");
    let at = |window: TimeWindow| window.start.format("%Y-%m-%d %H:%M").to_string();

    let on_schedule = notice_about(&later, &scheduled()).expect("the consignee is told");
    assert_eq!(on_schedule.milestone, Milestone::Scheduled);
    assert_eq!(on_schedule.recipient, erika().contact);
    assert!(on_schedule.message.contains(&at(hours(24, 72))), "{}", on_schedule.message);
    assert!(on_schedule.message.contains("MUC-HUB"), "{}", on_schedule.message);

    let on_failure = notice_about(&later, &attempt_failed(1, Some(next))).expect("the consignee is told");
    assert!(on_failure.message.contains(&at(next)), "{}", on_failure.message);
    assert_eq!(notice_about(&later, &assigned(kim())), None);
}
