//! The after-sales deciders, given/when/then: returns and their window, refunds capped by
//! the charge over several refunds, claims capped by the declared value, complaint
//! deadlines and escalation once per breach, and surveys, in the business's words.

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;
use waybill_aftersales::commands::{ClaimMoney, LedgerInput, Refund, ThroughLedger};
use waybill_aftersales::domain::{
    CaseEvent, CaseId, CaseKind, Claim, ClaimCommand, ClaimEvent, ClaimKind, ClaimStatus, Complaint,
    ComplaintCategory, ComplaintCommand, ComplaintEvent, Ledger, LedgerEvent, OrderFacts, Rejection,
    ReturnCase, ReturnCommand, ReturnEvent, ReturnLine, ReturnStatus, Severity, SlaBreach, evolve_ledger,
};
use waybill_aftersales::read_model::AfterSalesBook;
use waybill_command::scenario::Scenario;
use waybill_command::{Aggregate, Decider, Decision};
use waybill_fixtures::pinned_address;
use waybill_types::{CargoLine, Currency, Money, OrderId, ServiceLevel, Timestamp};

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid time")
}

/// When the money decisions are made: an hour after the order's facts.
fn an_hour_later() -> Timestamp {
    t0() + Duration::hours(1)
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").expect("EUR"))
}

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(1))
}

/// Two books (3 kg, 40 × 30 × 20 cm each, 100.00 EUR declared), charged 25.00 EUR,
/// delivered at t0.
fn order() -> OrderFacts {
    OrderFacts {
        order_id: order_id(),
        customer_id: "cust-1".into(),
        shipper: pinned_address("Berlin"),
        consignee: pinned_address("Munich"),
        service_level: ServiceLevel::Standard,
        cargo: vec![CargoLine { quantity: 2, ..waybill_fixtures::cargo_line("books", 3_000) }],
        charged: Some(eur(2_500)),
        delivered_at: Some(t0()),
    }
}

// ---- the harness: every decision through `waybill_command::scenario` ------------------------

/// What `command` decides at `now` on the case `history` builds (its events a minute apart
/// from `started`).
fn decides<A: Decider>(
    started: Timestamp,
    history: &[A::Event],
    command: &A::Command,
    now: Timestamp,
) -> Result<Vec<A::Event>, A::Rejection>
where
    A::Event: Clone + std::fmt::Debug,
    A::Command: Clone,
    A::Policy: Default,
{
    Scenario::<A>::given(started, history.to_vec()).at(now).when(command.clone()).result
}

/// What a money decision on the case `history` builds, decided at `now`, writes on the case and
/// the ledger.
fn through_ledger<A, D>(
    history: &[A::Event],
    decision: &D,
    ledger: Option<&Ledger>,
    order: Option<OrderFacts>,
    now: Timestamp,
) -> Result<(Vec<A::Event>, Vec<LedgerEvent>), Rejection>
where
    A: Aggregate<Rejection = Rejection>,
    A::Event: Clone + std::fmt::Debug,
    A::Policy: Default,
    D: Decision<A, AfterSalesBook, Other = Ledger, Input = LedgerInput>,
{
    let input = LedgerInput { ledger: ledger.cloned(), order };
    Scenario::<A>::given(t0(), history.to_vec())
        .at(now)
        .deciding::<AfterSalesBook, D>(decision, &input)
        .result
        .map(|decided| (decided.events, decided.others.into_iter().map(|(_, event)| event).collect()))
}

fn state_of<A: Aggregate>(history: &[A::Event]) -> Option<A>
where
    A::Event: Clone + std::fmt::Debug,
    A::Policy: Default,
{
    Scenario::<A>::given(t0(), history.to_vec()).state()
}

fn fold_ledger(ledger: Option<Ledger>, events: &[LedgerEvent]) -> Option<Ledger> {
    events.iter().fold(ledger, |state, event| Some(evolve_ledger(state, order_id(), event, t0())))
}

// ---- returns ------------------------------------------------------------------------------

fn return_id(n: u128) -> CaseId {
    CaseId(Uuid::from_u128(100 + n))
}

fn one_book() -> Vec<ReturnLine> {
    vec![ReturnLine { cargo_index: 0, quantity: 1, description: String::new() }]
}

/// Return `n` of one book of the delivered [`order`], asked for because of `reason`.
fn request_return(n: u128, reason: &str) -> ReturnCommand {
    ReturnCommand::Request {
        return_id: return_id(n),
        order: Some(order()),
        reason: reason.into(),
        lines: one_book(),
    }
}

fn return_decides(
    history: &[ReturnEvent],
    command: &ReturnCommand,
    now: Timestamp,
) -> Result<Vec<ReturnEvent>, Rejection> {
    decides::<ReturnCase>(t0(), history, command, now)
}

/// The history of a return of one book that came back.
fn received(n: u128) -> Vec<ReturnEvent> {
    let now = t0() + Duration::days(1);
    let mut history = Vec::new();
    for command in [
        request_return(n, "too many"),
        ReturnCommand::Approve { note: String::new(), order: Some(order()) },
        ReturnCommand::Receive { note: String::new(), picked_up_at: None },
    ] {
        let events = return_decides(&history, &command, now).expect("decided");
        history.extend(events);
    }
    history
}

#[test]
fn a_return_within_the_window_is_requested_with_the_lines_described() {
    let command = request_return(1, "too many");
    let events = return_decides(&[], &command, t0() + Duration::days(14)).expect("in time");
    let [ReturnEvent::Requested { lines, window_ends_at, customer_id, .. }] = events.as_slice() else {
        panic!("expected one ReturnRequested, got {events:?}");
    };
    assert_eq!(lines[0].description, "books");
    assert_eq!(*window_ends_at, t0() + Duration::days(14));
    assert_eq!(customer_id, "cust-1");
}

#[test]
fn a_return_after_the_window_or_before_delivery_is_refused() {
    let late = request_return(1, "late");
    let refused = return_decides(&[], &late, t0() + Duration::days(14) + Duration::seconds(1));
    assert!(
        matches!(refused, Err(Rejection::ReturnWindowClosed { window, .. }) if window == Duration::days(14)),
        "{refused:?}"
    );
    let undelivered = OrderFacts { delivered_at: None, ..order() };
    let early = ReturnCommand::Request {
        return_id: return_id(1),
        order: Some(undelivered),
        reason: "x".into(),
        lines: one_book(),
    };
    assert!(matches!(return_decides(&[], &early, t0()), Err(Rejection::NotDelivered(_))));
}

#[test]
fn return_lines_must_be_a_subset_of_the_cargo() {
    let lines = vec![
        ReturnLine { cargo_index: 0, quantity: 2, description: String::new() },
        ReturnLine { cargo_index: 0, quantity: 1, description: String::new() },
        ReturnLine { cargo_index: 3, quantity: 1, description: String::new() },
    ];
    let command =
        ReturnCommand::Request { return_id: return_id(1), order: Some(order()), reason: "x".into(), lines };
    let Err(Rejection::Invalid { violations }) = return_decides(&[], &command, t0()) else {
        panic!("expected field violations");
    };
    let fields: Vec<&str> = violations.iter().map(|violation| violation.field.as_str()).collect();
    assert_eq!(fields, ["lines[1].quantity", "lines[2].cargo_index"]);
}

#[test]
fn approving_asks_for_a_reverse_pickup_from_the_consignee_to_the_shipper() {
    let history = &received(1)[..1];
    let approve = ReturnCommand::Approve { note: "ok".into(), order: Some(order()) };
    let events = return_decides(history, &approve, t0()).expect("approved");
    let [
        ReturnEvent::Approved { .. },
        ReturnEvent::PickupRequested { pickup, destination, load, return_id: id, .. },
    ] = events.as_slice()
    else {
        panic!("expected Approved and PickupRequested, got {events:?}");
    };
    assert_eq!((pickup.city.as_str(), destination.city.as_str()), ("Munich", "Berlin"));
    assert_eq!((load.weight_grams, load.volume_cm3), (3_000, 24_000));
    assert_eq!(*id, return_id(1));
}

#[test]
fn a_return_is_received_only_after_approval_and_closing_requests_a_survey() {
    let requested = &received(1)[..1];
    let refused =
        return_decides(requested, &ReturnCommand::Receive { note: String::new(), picked_up_at: None }, t0());
    assert!(matches!(refused, Err(Rejection::InvalidState { action: "receive", status: "requested", .. })));
    let events = return_decides(&received(1), &ReturnCommand::Close, t0()).expect("closed");
    assert!(matches!(
        events.as_slice(),
        [ReturnEvent::Case(CaseEvent::Closed), ReturnEvent::Case(CaseEvent::SurveyRequested { .. })]
    ));
}

#[test]
fn a_returns_status_names_the_state_that_forbids_a_command() {
    let received = received(1);
    assert_eq!(state_of::<ReturnCase>(&received).map(|case| case.status), Some(ReturnStatus::Received));
    let refused = return_decides(&received, &ReturnCommand::Reject { reason: "no".into() }, t0());
    assert_eq!(
        refused,
        Err(Rejection::InvalidState { action: "reject", kind: CaseKind::Return, status: "received" })
    );
}

fn refused_in_time<T>(decided: Result<T, Rejection>) -> Option<&'static str> {
    waybill_command::time::refused_field(&decided)
}

#[test]
fn a_request_receipt_refund_or_resolution_before_the_facts_it_follows_is_refused() {
    // A clock (another replica's) a day behind the facts.
    let behind = t0() - Duration::days(1);
    let request = request_return(1, "x");
    // Handed over at t0: a return requested before that.
    assert_eq!(refused_in_time(return_decides(&[], &request, behind)), Some("requested_at"));
    let approved = &received(1)[..3];
    assert!(matches!(approved.last(), Some(ReturnEvent::PickupRequested { .. })));
    let receive = ReturnCommand::Receive { note: String::new(), picked_up_at: None };
    assert_eq!(refused_in_time(return_decides(approved, &receive, behind)), Some("received_at"));
    // Dispatch reported the reverse pickup two days after the approval: a receipt recorded
    // a day after the approval comes before the goods left the customer.
    let picked_up_at = Some(t0() + Duration::days(2));
    let after_pickup = ReturnCommand::Receive { note: String::new(), picked_up_at };
    let early = return_decides(approved, &after_pickup, t0() + Duration::days(1));
    assert_eq!(refused_in_time(early), Some("received_at"));
    assert!(return_decides(approved, &after_pickup, t0() + Duration::days(2)).is_ok());
    let refunded = through_ledger(
        &received(1),
        &ThroughLedger(Refund { amount: eur(100) }),
        None,
        Some(order()),
        behind,
    );
    assert_eq!(refused_in_time(refunded), Some("refunded_at"));
    let complaint = filed(Severity::High, t0());
    let acknowledge = ComplaintCommand::Acknowledge { note: String::new() };
    assert_eq!(refused_in_time(complaint.decides(&acknowledge, behind)), Some("acknowledged_at"));
    let resolve = ComplaintCommand::Resolve { resolution: "sorry".into(), compensation: None };
    assert_eq!(refused_in_time(complaint.decides(&resolve, behind)), Some("resolved_at"));
    // Within the clock skew of the filing, it stands.
    assert!(complaint.decides(&resolve, t0() - Duration::minutes(4)).is_ok());
}

// ---- refunds: the order's charge caps the sum of its refunds ------------------------------

/// A refund of `amount` on the return `history` builds, the order charged `charged`.
fn refund(
    history: &[ReturnEvent],
    ledger: Option<&Ledger>,
    amount: Money,
    charged: Option<Money>,
) -> Result<(Vec<ReturnEvent>, Vec<LedgerEvent>), Rejection> {
    through_ledger(
        history,
        &ThroughLedger(Refund { amount }),
        ledger,
        Some(OrderFacts { charged, ..order() }),
        an_hour_later(),
    )
}

#[test]
fn refunds_over_several_returns_never_exceed_the_charge() {
    let first = received(1);
    let second = received(2);
    let charged = Some(eur(2_500));
    let (case_events, ledger_events) = refund(&first, None, eur(1_500), charged).expect("fits");
    assert_eq!(case_events, [ReturnEvent::Refunded { amount: eur(1_500), total_refunded: eur(1_500) }]);
    assert_eq!(
        ledger_events,
        [LedgerEvent::RefundIssued {
            return_id: return_id(1),
            amount: eur(1_500),
            total_refunded: eur(1_500),
            charged: eur(2_500)
        }]
    );
    let ledger = fold_ledger(None, &ledger_events);
    let too_much = refund(&second, ledger.as_ref(), eur(1_001), charged);
    assert!(
        matches!(too_much, Err(Rejection::RefundExceedsCharge { remaining, .. }) if remaining == eur(1_000)),
        "{too_much:?}"
    );
    let (_, rest) = refund(&second, ledger.as_ref(), eur(1_000), charged).expect("the rest fits");
    assert!(
        matches!(rest.as_slice(), [LedgerEvent::RefundIssued { total_refunded, .. }] if *total_refunded == eur(2_500))
    );
}

#[test]
fn a_refund_needs_the_goods_back_and_the_orders_currency() {
    let early = refund(&received(1)[..1], None, eur(100), Some(eur(2_500)));
    assert!(matches!(early, Err(Rejection::InvalidState { action: "refund", .. })));
    let cny = Money::new(100, Currency::parse("CNY").expect("CNY"));
    assert!(matches!(
        refund(&received(1), None, cny, Some(eur(2_500))),
        Err(Rejection::CurrencyMismatch { .. })
    ));
}

// ---- claims: the declared value caps approvals and payments --------------------------------

fn claim_id(n: u128) -> CaseId {
    CaseId(Uuid::from_u128(200 + n))
}

fn claim_decides(history: &[ClaimEvent], command: &ClaimCommand) -> Result<Vec<ClaimEvent>, Rejection> {
    decides::<Claim>(t0(), history, command, t0())
}

fn open_claim(n: u128, kind: ClaimKind) -> ClaimCommand {
    ClaimCommand::Open {
        claim_id: claim_id(n),
        order: Some(order()),
        kind,
        description: "lost".into(),
        automatic: true,
        source_event_id: "e".into(),
    }
}

/// The history of claim `n`, opened.
fn opened(n: u128, kind: ClaimKind) -> Vec<ClaimEvent> {
    claim_decides(&[], &open_claim(n, kind)).expect("opened")
}

/// The history of claim `n`, approved for `amount` (on its own, not through a ledger).
fn approved(n: u128, amount: Money) -> Vec<ClaimEvent> {
    let mut history = opened(n, ClaimKind::Other);
    history.extend(claim_decides(&history, &ClaimCommand::Approve { amount }).expect("ok"));
    history
}

fn pay(
    history: &[ClaimEvent],
    ledger: Option<&Ledger>,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    through_ledger(history, &ThroughLedger(ClaimMoney::Pay), ledger, None, an_hour_later())
}

fn approve(
    history: &[ClaimEvent],
    ledger: Option<&Ledger>,
    amount: Money,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    through_ledger(history, &ThroughLedger(ClaimMoney::Approve { amount }), ledger, None, an_hour_later())
}

fn reject(
    history: &[ClaimEvent],
    ledger: Option<&Ledger>,
    reason: &str,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    through_ledger(
        history,
        &ThroughLedger(ClaimMoney::Reject { reason: reason.into() }),
        ledger,
        None,
        an_hour_later(),
    )
}

#[test]
fn a_claim_assessed_approved_rejected_or_paid_before_its_latest_event_is_refused() {
    // A clock (another replica's) a day behind the claim's events.
    let behind = t0() - Duration::days(1);
    let opened = opened(1, ClaimKind::Other);
    let assess = ClaimCommand::Assess { amount: eur(100), note: String::new() };
    assert_eq!(refused_in_time(decides::<Claim>(t0(), &opened, &assess, behind)), Some("assessed_at"));
    let at = |history: &[ClaimEvent], money: ClaimMoney, now| {
        through_ledger(history, &ThroughLedger(money), None, None, now)
    };
    let approve = || ClaimMoney::Approve { amount: eur(100) };
    assert_eq!(refused_in_time(at(&opened, approve(), behind)), Some("approved_at"));
    let reject = ClaimMoney::Reject { reason: "no".into() };
    assert_eq!(refused_in_time(at(&opened, reject, behind)), Some("rejected_at"));
    let approved = approved(1, eur(100));
    assert_eq!(refused_in_time(at(&approved, ClaimMoney::Pay, behind)), Some("paid_at"));
    // Within the clock skew of the latest event, it stands.
    assert!(at(&approved, ClaimMoney::Pay, t0() - Duration::minutes(4)).is_ok());
    assert!(at(&opened, approve(), t0() - Duration::minutes(4)).is_ok());
}

#[test]
fn a_loss_claims_the_declared_value_and_partial_damage_waits_for_assessment() {
    let lost = state_of::<Claim>(&opened(1, ClaimKind::Lost)).expect("claim");
    assert_eq!(lost.claimed, Some(eur(10_000)));
    assert_eq!(lost.declared_value, Some(eur(10_000)));
    let damaged = state_of::<Claim>(&opened(2, ClaimKind::DamagedPartial)).expect("claim");
    assert_eq!(damaged.claimed, None);
}

#[test]
fn opening_an_existing_claim_again_decides_nothing() {
    let claim = opened(1, ClaimKind::Lost);
    assert_eq!(claim_decides(&claim, &open_claim(1, ClaimKind::Lost)), Ok(vec![]));
}

#[test]
fn a_claim_is_never_approved_above_the_declared_value() {
    let claim = opened(1, ClaimKind::DamagedPartial);
    let above = claim_decides(&claim, &ClaimCommand::Approve { amount: eur(10_001) });
    assert!(matches!(above, Err(Rejection::AboveDeclaredValue { .. })), "{above:?}");
    let at = claim_decides(&claim, &ClaimCommand::Approve { amount: eur(10_000) });
    assert_eq!(at, Ok(vec![ClaimEvent::Approved { amount: eur(10_000) }]));
}

#[test]
fn claim_payments_for_one_order_never_exceed_its_declared_value() {
    let first = approved(1, eur(7_000));
    let (claim_events, ledger_events) = pay(&first, None).expect("fits");
    assert_eq!(claim_events, [ClaimEvent::Paid { amount: eur(7_000) }]);
    let ledger = fold_ledger(None, &ledger_events);
    let second = approved(2, eur(3_001));
    let over = pay(&second, ledger.as_ref());
    assert!(matches!(over, Err(Rejection::PaymentsExceedDeclaredValue { .. })), "{over:?}");
    let within = approved(3, eur(3_000));
    assert!(pay(&within, ledger.as_ref()).is_ok());
}

/// Approves `amount` on claim `n` through the ledger; returns the claim's history and the
/// ledger after.
fn approve_on_ledger(n: u128, amount: Money, ledger: Option<Ledger>) -> (Vec<ClaimEvent>, Option<Ledger>) {
    let mut claim = opened(n, ClaimKind::Other);
    let (claim_events, ledger_events) = approve(&claim, ledger.as_ref(), amount).expect("approved");
    claim.extend(claim_events);
    (claim, fold_ledger(ledger, &ledger_events))
}

#[test]
fn an_approval_is_checked_against_what_is_left_after_the_orders_payments() {
    // 55.00 of the 100.00 declared are paid: 45.00 are left.
    let (first, ledger) = approve_on_ledger(1, eur(5_500), None);
    let (paid_events, ledger_events) = pay(&first, ledger.as_ref()).expect("paid");
    assert_eq!(paid_events, [ClaimEvent::Paid { amount: eur(5_500) }]);
    let ledger = fold_ledger(ledger, &ledger_events);
    assert_eq!(ledger.as_ref().map(|ledger| ledger.claims_reserved.len()), Some(0), "paid, no longer held");

    let second = opened(2, ClaimKind::Other);
    let over = approve(&second, ledger.as_ref(), eur(5_000));
    assert_eq!(
        over,
        Err(Rejection::ApprovalExceedsDeclaredValue {
            requested: eur(5_000),
            remaining: eur(4_500),
            declared: eur(10_000)
        })
    );
    let (approved, _) = approve(&second, ledger.as_ref(), eur(4_500)).expect("what is left");
    assert_eq!(approved, [ClaimEvent::Approved { amount: eur(4_500) }]);
}

#[test]
fn an_approved_claim_holds_its_amount_until_paid_or_rejected() {
    let (first, ledger) = approve_on_ledger(1, eur(6_000), None);
    let held = ledger.as_ref().map(|ledger| ledger.claims_reserved.values().copied().collect::<Vec<_>>());
    assert_eq!(held, Some(vec![eur(6_000)]));
    // Another claim cannot be approved for the money the first one holds...
    let second = opened(2, ClaimKind::Other);
    let over = approve(&second, ledger.as_ref(), eur(4_001));
    assert!(matches!(over, Err(Rejection::ApprovalExceedsDeclaredValue { .. })), "{over:?}");
    // ...until the first is rejected, which releases it.
    let (rejected, released) = reject(&first, ledger.as_ref(), "not our fault").expect("rejected");
    assert!(matches!(rejected.as_slice(), [ClaimEvent::Rejected { .. }]));
    assert_eq!(
        released,
        [LedgerEvent::ClaimReservationReleased { claim_id: claim_id(1), amount: eur(6_000) }]
    );
    let ledger = fold_ledger(ledger, &released);
    assert!(approve(&second, ledger.as_ref(), eur(10_000)).is_ok());
    // A claim that holds nothing is rejected without touching the ledger.
    let (_, untouched) = reject(&second, ledger.as_ref(), "duplicate").expect("rejected");
    assert!(untouched.is_empty());
}

#[test]
fn a_claims_own_approval_does_not_count_against_its_payment() {
    let (claim, ledger) = approve_on_ledger(1, eur(10_000), None);
    let paid = pay(&claim, ledger.as_ref());
    assert!(paid.is_ok(), "{paid:?}");
}

#[test]
fn only_an_approved_claim_is_paid_and_a_paid_one_closes_with_a_survey() {
    let open = opened(1, ClaimKind::Lost);
    assert!(matches!(pay(&open, None), Err(Rejection::InvalidState { action: "pay", .. })));
    let mut claim = approved(1, eur(100));
    let (events, _) = pay(&claim, None).expect("paid");
    claim.extend(events);
    assert_eq!(state_of::<Claim>(&claim).map(|claim| claim.status), Some(ClaimStatus::Paid));
    let closed = claim_decides(&claim, &ClaimCommand::Close).expect("closed");
    assert!(matches!(
        closed.as_slice(),
        [ClaimEvent::Case(CaseEvent::Closed), ClaimEvent::Case(CaseEvent::SurveyRequested { .. })]
    ));
}

// ---- complaints: deadlines and the SLA clock ----------------------------------------------

fn complaint_id() -> CaseId {
    CaseId(Uuid::from_u128(300))
}

/// A complaint's history, from its filing at `filed_at`.
struct ComplaintHistory {
    filed_at: Timestamp,
    events: Vec<ComplaintEvent>,
}

impl ComplaintHistory {
    fn state(&self) -> Option<Complaint> {
        Scenario::<Complaint>::given(self.filed_at, self.events.clone()).state()
    }

    fn decides(&self, command: &ComplaintCommand, now: Timestamp) -> Result<Vec<ComplaintEvent>, Rejection> {
        decides::<Complaint>(self.filed_at, &self.events, command, now)
    }

    /// Decides `command` at `now` and records what it decided; returns those events.
    fn apply(&mut self, command: ComplaintCommand, now: Timestamp) -> Vec<ComplaintEvent> {
        let events = self.decides(&command, now).expect("decided");
        self.events.extend(events.clone());
        events
    }
}

fn filed(severity: Severity, at: Timestamp) -> ComplaintHistory {
    let file = ComplaintCommand::File {
        complaint_id: complaint_id(),
        customer_id: "cust-1".into(),
        order_id: None,
        category: ComplaintCategory::Delay,
        severity,
        description: "late".into(),
    };
    let mut history = ComplaintHistory { filed_at: at, events: Vec::new() };
    history.apply(file, at);
    history
}

#[test]
fn deadlines_follow_the_severity() {
    for (severity, acknowledge, resolve) in
        [(Severity::Medium, 8, 48), (Severity::High, 2, 24), (Severity::Critical, 1, 8)]
    {
        let complaint = filed(severity, t0()).state().expect("complaint");
        assert_eq!(complaint.acknowledge_by, t0() + Duration::hours(acknowledge), "{severity:?}");
        assert_eq!(complaint.resolve_by, t0() + Duration::hours(resolve), "{severity:?}");
    }
}

#[test]
fn a_low_complaint_is_resolved_the_same_day_or_the_next_when_filed_late() {
    let morning = filed(Severity::Low, t0()).state().expect("complaint");
    let midnight = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).single().expect("valid time");
    assert_eq!(morning.resolve_by, midnight);
    assert_eq!(morning.acknowledge_by, midnight, "never due after the resolution");
    let late_evening = Utc.with_ymd_and_hms(2026, 3, 2, 22, 0, 0).single().expect("valid time");
    let late = filed(Severity::Low, late_evening).state().expect("complaint");
    assert_eq!(late.resolve_by, midnight + Duration::days(1));
}

#[test]
fn the_sla_clock_escalates_once_per_missed_deadline() {
    let mut complaint = filed(Severity::High, t0());
    let deadline = t0() + Duration::hours(2);
    let breach = ComplaintCommand::SlaEscalate { breach: SlaBreach::Acknowledge, deadline };
    // Not due yet: nothing.
    assert_eq!(complaint.decides(&breach, deadline), Ok(vec![]));
    let events = complaint.apply(breach.clone(), deadline + Duration::minutes(1));
    assert!(matches!(
        events.as_slice(),
        [ComplaintEvent::Escalated { automatic: true, breach: Some(SlaBreach::Acknowledge), .. }]
    ));
    // The same breach again (another replica's tick): nothing.
    assert_eq!(complaint.decides(&breach, deadline + Duration::hours(1)), Ok(vec![]));
    // The resolve deadline is another breach.
    let resolve =
        ComplaintCommand::SlaEscalate { breach: SlaBreach::Resolve, deadline: t0() + Duration::hours(24) };
    let events = complaint.apply(resolve, t0() + Duration::hours(25));
    assert!(matches!(
        events.as_slice(),
        [ComplaintEvent::Escalated { breach: Some(SlaBreach::Resolve), .. }]
    ));
}

#[test]
fn a_deadline_met_is_not_escalated_and_resolution_records_whether_it_was_in_time() {
    let mut complaint = filed(Severity::High, t0());
    let events =
        complaint.apply(ComplaintCommand::Acknowledge { note: String::new() }, t0() + Duration::hours(1));
    assert_eq!(events, [ComplaintEvent::Acknowledged { note: String::new(), within_sla: true }]);
    let breach =
        ComplaintCommand::SlaEscalate { breach: SlaBreach::Acknowledge, deadline: t0() + Duration::hours(2) };
    assert_eq!(complaint.decides(&breach, t0() + Duration::hours(3)), Ok(vec![]));
    let resolve = ComplaintCommand::Resolve { resolution: "apologised".into(), compensation: Some(eur(500)) };
    let events = complaint.apply(resolve, t0() + Duration::hours(30));
    assert!(matches!(events.as_slice(), [ComplaintEvent::Resolved { within_sla: false, .. }]));
    let complaint = complaint.state().expect("complaint");
    assert!(!complaint.is_overdue(t0() + Duration::hours(40)), "a resolved complaint is not overdue");
    assert!(complaint.sla_deadlines().is_empty());
}

// ---- surveys -------------------------------------------------------------------------------

#[test]
fn a_survey_is_answered_only_after_closing_and_only_once() {
    let answer = ComplaintCommand::AnswerSurvey { csat: 5, nps: 10, comment: "thanks".into() };
    let mut complaint = filed(Severity::Medium, t0());
    assert_eq!(
        complaint.decides(&answer, t0()),
        Err(Rejection::SurveyNotRequested { kind: CaseKind::Complaint })
    );
    complaint.apply(ComplaintCommand::Resolve { resolution: "done".into(), compensation: None }, t0());
    let events = complaint.apply(ComplaintCommand::Close, t0());
    assert!(matches!(
        events.as_slice(),
        [ComplaintEvent::Case(CaseEvent::Closed), ComplaintEvent::Case(CaseEvent::SurveyRequested { .. })]
    ));
    let events = complaint.apply(answer.clone(), t0());
    assert!(matches!(
        events.as_slice(),
        [ComplaintEvent::Case(CaseEvent::SurveyAnswered { csat: 5, nps: 10, .. })]
    ));
    assert_eq!(
        complaint.decides(&answer, t0()),
        Err(Rejection::SurveyAlreadyAnswered { kind: CaseKind::Complaint })
    );
}
