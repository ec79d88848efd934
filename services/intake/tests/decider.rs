//! The Order decider, given/when/then: every transition and every rejection, in the
//! business's words. Quote arithmetic is tested in `src/domain/tests.rs`; random command
//! sequences in `tests/properties.rs`.

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;
use waybill_command::scenario::Scenario;
use waybill_fixtures::address_in;
use waybill_intake::domain::{
    AttemptFailure, Command, DeliveryWindow, Event, FailedAttempt, Order, OrderDetails, OrderStatus, Policy,
    Quote, Rejection, ReviewDecision, Tariff, Zone, price,
};
use waybill_types::{
    Address, CargoCategory, CargoLine, Contact, Currency, CustomerId, Money, OrderId, Party, ServiceLevel,
    Timestamp,
};

// ---- the harness: given(history).when(command).then(events) ------------------------------

/// When the first event of a history happened; later ones follow a minute apart.
fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().expect("valid time")
}

fn given(history: impl IntoIterator<Item = Event>) -> Scenario<Order> {
    Scenario::given(t0(), history)
}

fn invalid_state(action: &'static str, status: OrderStatus) -> Rejection {
    Rejection::InvalidState { action, status }
}

// ---- the business's vocabulary --------------------------------------------------------------

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(0x0190_f0f0_0000_7000_8000_0000_0000_0001))
}

fn eur(amount_minor: i64) -> Money {
    Money::new(amount_minor, Currency::parse("EUR").expect("valid currency"))
}

fn berlin() -> Address {
    address_in("Berlin", "BE", "DE")
}

fn munich() -> Address {
    address_in("Munich", "BY", "DE")
}

fn party(name: &str, address: Address) -> Party {
    Party {
        contact: Contact {
            name: name.to_owned(),
            phone: "+49 30 123456".to_owned(),
            email: "ops@example.com".to_owned(),
        },
        address,
    }
}

/// 2 kg of books in a 40×30×20 cm box, declared at 100.00 EUR.
fn books() -> CargoLine {
    waybill_fixtures::cargo_line("books", 2_000)
}

fn paint_thinner_undeclared() -> CargoLine {
    CargoLine { description: "paint thinner".to_owned(), category: CargoCategory::Hazardous, ..books() }
}

fn anvil(kilograms: u64) -> CargoLine {
    CargoLine { description: "anvil".to_owned(), weight_grams: kilograms * 1_000, length_cm: 30, ..books() }
}

/// Acme in Berlin sends a box of books to Erika in Munich, standard service.
fn details() -> OrderDetails {
    OrderDetails {
        customer_id: CustomerId::parse("acme").expect("valid customer id"),
        shipper: party("Acme GmbH", berlin()),
        consignee: party("Erika Mustermann", munich()),
        cargo: vec![books()],
        service_level: ServiceLevel::Standard,
    }
}

fn with_cargo(cargo: Vec<CargoLine>) -> OrderDetails {
    OrderDetails { cargo, ..details() }
}

fn with_service_level(service_level: ServiceLevel) -> OrderDetails {
    OrderDetails { service_level, ..details() }
}

fn quote_of(details: &OrderDetails) -> Quote {
    price(details, &Tariff::default()).expect("test cargo is priceable")
}

// Events.
fn placed() -> Event {
    placed_with(details())
}
fn placed_with(details: OrderDetails) -> Event {
    let quote = quote_of(&details);
    Event::Placed { order_id: order_id(), details, quote }
}
fn accepted_automatically() -> Event {
    Event::Accepted { automatic: true }
}
fn accepted_by_reviewer() -> Event {
    Event::Accepted { automatic: false }
}
fn rejected_automatically(reason: &str) -> Event {
    Event::Rejected { automatic: true, reason: reason.to_owned() }
}
fn rejected_by_reviewer(reason: &str) -> Event {
    Event::Rejected { automatic: false, reason: reason.to_owned() }
}
fn sent_to_review(reasons: &[&str]) -> Event {
    Event::SentToReview { reasons: reasons.iter().map(|reason| (*reason).to_owned()).collect() }
}
fn amended_to(details: &OrderDetails) -> Event {
    Event::Amended {
        cargo: details.cargo.clone(),
        service_level: details.service_level,
        quote: quote_of(details),
    }
}
fn consignee_address_changed(address: Address) -> Event {
    let quote =
        quote_of(&OrderDetails { consignee: party("Erika Mustermann", address.clone()), ..details() });
    Event::ConsigneeAddressChanged { address, quote }
}
fn cancelled(reason: &str) -> Event {
    Event::Cancelled { reason: reason.to_owned() }
}
fn restored(status: OrderStatus) -> Event {
    Event::Restored { restored_status: status }
}
fn picked_up() -> Event {
    Event::PickedUp { source_event_id: "dispatch-1".to_owned() }
}
fn out_for_delivery() -> Event {
    Event::OutForDelivery { source_event_id: "delivery-1".to_owned() }
}
fn delivered() -> Event {
    Event::Delivered { source_event_id: "delivery-2".to_owned() }
}
/// Attempt `attempt` failed for `reason`; the next try the next day, 09:00-13:00 (none after the third).
fn failed_attempt(attempt: u32, reason: AttemptFailure) -> FailedAttempt {
    let start = t0() + Duration::days(i64::from(attempt));
    let next_window = (attempt < 3).then(|| DeliveryWindow { start, end: start + Duration::hours(4) });
    FailedAttempt { attempt, reason, next_window }
}
fn attempt_failed(attempt: u32, reason: AttemptFailure) -> Event {
    Event::AttemptFailed {
        source_event_id: format!("delivery-fail-{attempt}"),
        attempt: failed_attempt(attempt, reason),
    }
}
fn out_again(departure: u32) -> Event {
    Event::OutForDelivery { source_event_id: format!("delivery-start-{departure}") }
}
fn returned_to_sender() -> Event {
    Event::ReturnedToSender { source_event_id: "delivery-returned".to_owned(), attempts: 3 }
}

const HAZARD_REASON: &str = "cargo[1] (paint thinner) is hazardous but has no hazard declaration";
const CREDIT_HOLD_REASON: &str = "customer acme is on credit hold";

/// A history that leaves the order in `status` (cancelled from accepted).
fn order_that_is(status: OrderStatus) -> Vec<Event> {
    match status {
        OrderStatus::Placed => vec![placed()],
        OrderStatus::InReview => vec![placed(), sent_to_review(&[CREDIT_HOLD_REASON])],
        OrderStatus::Accepted => vec![placed(), accepted_automatically()],
        OrderStatus::Rejected => vec![placed(), rejected_by_reviewer("no capacity")],
        OrderStatus::Cancelled => after(OrderStatus::Accepted, [cancelled("changed plans")]),
        OrderStatus::PickedUp => after(OrderStatus::Accepted, [picked_up()]),
        OrderStatus::OutForDelivery => after(OrderStatus::PickedUp, [out_for_delivery()]),
        OrderStatus::AttemptFailed => {
            after(OrderStatus::OutForDelivery, [attempt_failed(1, AttemptFailure::AddressWrong)])
        }
        OrderStatus::ReturnedToSender => after(
            OrderStatus::OutForDelivery,
            [
                attempt_failed(1, AttemptFailure::RecipientAbsent),
                out_again(2),
                attempt_failed(2, AttemptFailure::RecipientAbsent),
                out_again(3),
                attempt_failed(3, AttemptFailure::RecipientAbsent),
                returned_to_sender(),
            ],
        ),
        OrderStatus::Delivered => after(OrderStatus::OutForDelivery, [delivered()]),
    }
}

/// The history of an order in `status`, then `events`.
fn after<const N: usize>(status: OrderStatus, events: [Event; N]) -> Vec<Event> {
    let mut history = order_that_is(status);
    history.extend(events);
    history
}

/// Where the consignee's address may still change: until the courier is out with the goods.
const REDIRECTABLE: [OrderStatus; 5] = [
    OrderStatus::Placed,
    OrderStatus::InReview,
    OrderStatus::Accepted,
    OrderStatus::PickedUp,
    OrderStatus::AttemptFailed,
];

/// The rejection of what the service level cannot carry, for one `violation`.
fn limits_exceeded(violation: &str) -> Rejection {
    Rejection::LimitsExceeded { violations: vec![violation.to_owned()] }
}

fn statuses_except(allowed: &[OrderStatus]) -> impl Iterator<Item = OrderStatus> {
    OrderStatus::ALL.into_iter().filter(move |status| !allowed.contains(status))
}

// Commands.
fn place(details: OrderDetails) -> Command {
    Command::Place { order_id: order_id(), details }
}
fn review_automatically() -> Command {
    Command::ReviewAutomatically { standing: waybill_intake::domain::CustomerStanding::Good }
}
fn review_automatically_on_credit_hold() -> Command {
    Command::ReviewAutomatically { standing: waybill_intake::domain::CustomerStanding::OnCreditHold }
}
fn accept() -> Command {
    Command::Review { decision: ReviewDecision::Accept }
}
fn reject(reason: &str) -> Command {
    Command::Review { decision: ReviewDecision::Reject { reason: reason.to_owned() } }
}
fn amend_cargo(cargo: Vec<CargoLine>) -> Command {
    Command::Amend { cargo: Some(cargo), service_level: None }
}
fn amend_service_level(service_level: ServiceLevel) -> Command {
    Command::Amend { cargo: None, service_level: Some(service_level) }
}
fn change_consignee_address(address: Address) -> Command {
    Command::ChangeConsigneeAddress { address }
}
fn cancel(reason: &str) -> Command {
    Command::Cancel { reason: reason.to_owned() }
}
fn restore() -> Command {
    Command::Restore
}
fn record_pickup() -> Command {
    Command::RecordPickup { source_event_id: "dispatch-1".to_owned() }
}
fn record_out_for_delivery() -> Command {
    Command::RecordOutForDelivery { source_event_id: "delivery-1".to_owned() }
}
fn record_delivery() -> Command {
    Command::RecordDelivery { source_event_id: "delivery-2".to_owned() }
}
fn record_attempt_failed(attempt: u32, reason: AttemptFailure) -> Command {
    Command::RecordAttemptFailed {
        source_event_id: format!("delivery-fail-{attempt}"),
        attempt: failed_attempt(attempt, reason),
    }
}
fn record_departure(departure: u32) -> Command {
    Command::RecordOutForDelivery { source_event_id: format!("delivery-start-{departure}") }
}
fn record_returned_to_sender() -> Command {
    Command::RecordReturnedToSender { source_event_id: "delivery-returned".to_owned(), attempts: 3 }
}

/// One of every command but Place.
fn every_command_on_an_order() -> Vec<Command> {
    vec![
        review_automatically(),
        accept(),
        reject("no capacity"),
        amend_service_level(ServiceLevel::Express),
        change_consignee_address(address_in("Hamburg", "HH", "DE")),
        cancel("changed plans"),
        restore(),
        record_pickup(),
        record_out_for_delivery(),
        record_attempt_failed(1, AttemptFailure::RecipientAbsent),
        record_returned_to_sender(),
        record_delivery(),
    ]
}

// ---- placing --------------------------------------------------------------------------------

#[test]
fn placing_an_order_quotes_it() {
    let order = given([]).when(place(details())).then([placed()]).expect("placed");
    // Books: 4.8 kg volumetric, national standard 800 + 5 × 90 = 1 250, insurance minimum 300.
    assert_eq!(order.quote.total, eur(1_550));
    assert_eq!(order.quote.zone, Zone::National);
    assert_eq!(
        (order.status, order.id, order.placed_at),
        (OrderStatus::Placed, order_id(), t0() + Duration::hours(1))
    );
}

#[test]
fn placing_an_order_twice_is_refused() {
    given([placed()]).when(place(details())).then_rejected(Rejection::AlreadyPlaced);
}

#[test]
fn placing_cargo_declared_in_two_currencies_is_invalid() {
    let dollars =
        CargoLine { declared_value: Money::new(500, Currency::parse("USD").expect("valid")), ..books() };
    given([])
        .when(place(with_cargo(vec![books(), dollars])))
        .then_invalid(&["cargo[1].declared_value.currency"]);
}

#[test]
fn placing_without_cargo_or_with_a_negative_value_is_invalid() {
    given([]).when(place(with_cargo(vec![]))).then_invalid(&["cargo"]);
    let negative = CargoLine { declared_value: eur(-1), ..books() };
    given([]).when(place(with_cargo(vec![negative]))).then_invalid(&["cargo[0].declared_value.amount_minor"]);
}

#[test]
fn nothing_but_a_placement_can_happen_to_an_order_that_does_not_exist() {
    for command in every_command_on_an_order() {
        given([]).when(command).then_rejected(Rejection::NotFound);
    }
}

// ---- the automatic review -----------------------------------------------------------------

#[test]
fn an_ordinary_order_is_accepted_automatically() {
    given([placed()]).when(review_automatically()).then([accepted_automatically()]);
}

#[test]
fn an_undeclared_hazard_and_a_credit_hold_send_the_order_to_a_human() {
    let hazardous = placed_with(with_cargo(vec![books(), paint_thinner_undeclared()]));
    given([hazardous.clone()]).when(review_automatically()).then([sent_to_review(&[HAZARD_REASON])]);
    given([placed()])
        .when(review_automatically_on_credit_hold())
        .then([sent_to_review(&[CREDIT_HOLD_REASON])]);
    given([hazardous])
        .when(review_automatically_on_credit_hold())
        .then([sent_to_review(&[HAZARD_REASON, CREDIT_HOLD_REASON])]);
}

#[test]
fn an_order_its_service_level_cannot_carry_is_rejected_automatically() {
    let same_day_anvil = OrderDetails { cargo: vec![anvil(25)], ..with_service_level(ServiceLevel::SameDay) };
    given([placed_with(same_day_anvil)]).when(review_automatically()).then([rejected_automatically(
        "a piece of cargo[0] (anvil) weighs 25 kg, above the same-day limit of 20 kg a piece",
    )]);
}

#[test]
fn the_automatic_review_leaves_an_order_that_is_no_longer_placed_alone() {
    for status in statuses_except(&[OrderStatus::Placed]) {
        given(order_that_is(status)).when(review_automatically()).then_nothing();
    }
}

// ---- the manual review --------------------------------------------------------------------

#[test]
fn a_reviewer_accepts_or_rejects_an_order_in_review() {
    let in_review = order_that_is(OrderStatus::InReview);
    given(in_review.clone()).when(accept()).then([accepted_by_reviewer()]);
    let order = given(in_review)
        .when(reject("credit limit reached"))
        .then([rejected_by_reviewer("credit limit reached")]);
    assert_eq!(order.and_then(|order| order.rejection_reason), Some("credit limit reached".to_owned()));
}

#[test]
fn a_reviewer_may_decide_before_the_automatic_review() {
    given([placed()]).when(accept()).then([accepted_by_reviewer()]);
    given([placed()]).when(reject("duplicate order")).then([rejected_by_reviewer("duplicate order")]);
}

#[test]
fn a_rejection_needs_a_reason() {
    for blank in ["", "   "] {
        given(order_that_is(OrderStatus::InReview)).when(reject(blank)).then_invalid(&["reason"]);
    }
}

#[test]
fn a_reviewer_cannot_accept_what_the_service_level_cannot_carry() {
    let same_day_anvil = OrderDetails { cargo: vec![anvil(25)], ..with_service_level(ServiceLevel::SameDay) };
    given([placed_with(same_day_anvil)]).when(accept()).then_rejected(limits_exceeded(
        "a piece of cargo[0] (anvil) weighs 25 kg, above the same-day limit of 20 kg a piece",
    ));
}

#[test]
fn only_orders_awaiting_a_decision_can_be_reviewed() {
    for status in statuses_except(&[OrderStatus::Placed, OrderStatus::InReview]) {
        given(order_that_is(status)).when(accept()).then_rejected(invalid_state("review", status));
        given(order_that_is(status)).when(reject("too late")).then_rejected(invalid_state("review", status));
    }
}

// ---- amending -----------------------------------------------------------------------------

#[test]
fn an_order_is_amended_and_requoted_before_pickup() {
    let express = with_service_level(ServiceLevel::Express);
    for status in [OrderStatus::Placed, OrderStatus::InReview, OrderStatus::Accepted] {
        let order = given(order_that_is(status))
            .when(amend_service_level(ServiceLevel::Express))
            .then([amended_to(&express)])
            .expect("amended");
        assert_eq!((order.status, order.details.service_level), (status, ServiceLevel::Express));
        // Express national: 1 600 + 5 × 180 = 2 500, plus 300 insurance.
        assert_eq!(order.quote.total, eur(2_800));
    }
    let more_books = with_cargo(vec![books(), books()]);
    given(order_that_is(OrderStatus::Accepted))
        .when(amend_cargo(more_books.cargo.clone()))
        .then([amended_to(&more_books)]);
}

#[test]
fn an_amendment_that_needs_a_human_sends_an_accepted_order_back_to_review() {
    let hazardous = with_cargo(vec![books(), paint_thinner_undeclared()]);
    given(order_that_is(OrderStatus::Accepted))
        .when(amend_cargo(hazardous.cargo.clone()))
        .then([amended_to(&hazardous), sent_to_review(&[HAZARD_REASON])]);
    // In review already: the new reason joins the list.
    given(order_that_is(OrderStatus::InReview))
        .when(amend_cargo(hazardous.cargo.clone()))
        .then([amended_to(&hazardous), sent_to_review(&[CREDIT_HOLD_REASON, HAZARD_REASON])]);
    // Not reviewed yet: the automatic review will see the amended cargo.
    given([placed()]).when(amend_cargo(hazardous.cargo.clone())).then([amended_to(&hazardous)]);
}

#[test]
fn an_amendment_does_not_reopen_what_a_reviewer_already_accepted() {
    let hazardous = with_cargo(vec![books(), paint_thinner_undeclared()]);
    let reviewed = [placed_with(hazardous.clone()), sent_to_review(&[HAZARD_REASON]), accepted_by_reviewer()];
    let express = OrderDetails { service_level: ServiceLevel::Express, ..hazardous };
    given(reviewed).when(amend_service_level(ServiceLevel::Express)).then([amended_to(&express)]);
}

#[test]
fn an_amendment_must_change_something() {
    given([placed()]).when(Command::Amend { cargo: None, service_level: None }).then_invalid(&["cargo"]);
    // The same values again are no news.
    given([placed()]).when(amend_service_level(ServiceLevel::Standard)).then_nothing();
    given([placed()]).when(amend_cargo(vec![books()])).then_nothing();
}

#[test]
fn an_amendment_beyond_the_service_levels_limits_is_refused() {
    let accepted_anvil = [placed_with(with_cargo(vec![anvil(25)])), accepted_automatically()];
    given(accepted_anvil).when(amend_service_level(ServiceLevel::SameDay)).then_rejected(limits_exceeded(
        "a piece of cargo[0] (anvil) weighs 25 kg, above the same-day limit of 20 kg a piece",
    ));
    given(order_that_is(OrderStatus::Accepted)).when(amend_cargo(vec![anvil(3_000)])).then_rejected(
        limits_exceeded(
            "a piece of cargo[0] (anvil) weighs 3000 kg, above the standard limit of 2500 kg a piece",
        ),
    );
}

#[test]
fn an_amendment_with_unpriceable_cargo_is_invalid() {
    let dollars =
        CargoLine { declared_value: Money::new(500, Currency::parse("USD").expect("valid")), ..books() };
    given([placed()])
        .when(amend_cargo(vec![books(), dollars]))
        .then_invalid(&["cargo[1].declared_value.currency"]);
    given([placed()]).when(amend_cargo(vec![])).then_invalid(&["cargo"]);
}

#[test]
fn an_order_cannot_be_amended_once_picked_up_or_closed() {
    let allowed = [OrderStatus::Placed, OrderStatus::InReview, OrderStatus::Accepted];
    for status in statuses_except(&allowed) {
        given(order_that_is(status))
            .when(amend_service_level(ServiceLevel::Express))
            .then_rejected(invalid_state("amend", status));
    }
}

// ---- redirecting --------------------------------------------------------------------------

#[test]
fn the_consignee_address_changes_until_out_for_delivery_and_the_order_is_requoted() {
    let across_town = address_in("Berlin", "BE", "DE");
    for status in REDIRECTABLE {
        let order = given(order_that_is(status))
            .when(change_consignee_address(across_town.clone()))
            .then([consignee_address_changed(across_town.clone())])
            .expect("redirected");
        // Now local: 450 + 5 × 40 = 650, plus 300 insurance.
        assert_eq!((order.status, order.quote.zone, order.quote.total), (status, Zone::Local, eur(950)));
    }
}

#[test]
fn the_same_address_again_is_no_news() {
    given([placed()]).when(change_consignee_address(munich())).then_nothing();
}

#[test]
fn a_same_day_order_cannot_be_redirected_abroad() {
    let same_day = placed_with(with_service_level(ServiceLevel::SameDay));
    given([same_day]).when(change_consignee_address(address_in("Vienna", "W", "AT"))).then_rejected(
        limits_exceeded("same-day does not serve international shipments (farthest: national)"),
    );
}

#[test]
fn the_consignee_address_is_fixed_once_out_for_delivery_or_closed() {
    for status in statuses_except(&REDIRECTABLE) {
        given(order_that_is(status))
            .when(change_consignee_address(berlin()))
            .then_rejected(invalid_state("change the consignee address of", status));
    }
}

// ---- cancelling and restoring -------------------------------------------------------------

#[test]
fn an_order_is_cancelled_before_pickup_with_or_without_a_reason() {
    for status in [OrderStatus::Placed, OrderStatus::InReview, OrderStatus::Accepted] {
        let order = given(order_that_is(status))
            .when(cancel("changed plans"))
            .then([cancelled("changed plans")])
            .expect("cancelled");
        let cancellation = order.cancellation.expect("cancellation recorded");
        assert_eq!(
            (cancellation.previous_status, cancellation.cancelled_at),
            (status, t0() + Duration::hours(1))
        );
    }
    given([placed()]).when(cancel("")).then([cancelled("")]);
}

#[test]
fn an_order_cannot_be_cancelled_after_pickup_or_twice() {
    for status in statuses_except(&[OrderStatus::Placed, OrderStatus::InReview, OrderStatus::Accepted]) {
        given(order_that_is(status)).when(cancel("too late")).then_rejected(invalid_state("cancel", status));
    }
}

#[test]
fn a_cancelled_order_accepts_nothing_but_a_restore() {
    for command in every_command_on_an_order() {
        let is_restore = command == restore();
        let outcome = given(order_that_is(OrderStatus::Cancelled)).when(command);
        match outcome.result {
            Ok(events) if is_restore => assert_eq!(events, [restored(OrderStatus::Accepted)]),
            Ok(events) => assert!(events.is_empty(), "a cancelled order changed: {events:?}"),
            Err(Rejection::InvalidState { status, .. }) => assert_eq!(status, OrderStatus::Cancelled),
            Err(other) => panic!("unexpected rejection {other:?}"),
        }
    }
}

#[test]
fn a_cancelled_order_is_restored_to_where_it_was_within_the_window() {
    for status in [OrderStatus::Placed, OrderStatus::InReview, OrderStatus::Accepted] {
        let mut history = order_that_is(status);
        history.push(cancelled("oops"));
        let order = given(history).when(restore()).then([restored(status)]).expect("restored");
        assert_eq!((order.status, order.cancellation), (status, None));
    }
}

#[test]
fn the_restore_window_is_inclusive_and_then_closes() {
    // Cancelled at t0 + 2 min (the third event); the default window is 24 h.
    let cancelled_at = t0() + Duration::minutes(2);
    let history = order_that_is(OrderStatus::Cancelled);
    given(history.clone())
        .at(cancelled_at + Duration::hours(24))
        .when(restore())
        .then([restored(OrderStatus::Accepted)]);
    given(history.clone())
        .at(cancelled_at + Duration::hours(24) + Duration::seconds(1))
        .when(restore())
        .then_rejected(Rejection::RestoreWindowPassed { cancelled_at, window: Duration::hours(24) });
    let strict = Policy { restore_window: Duration::minutes(30), ..Policy::default() };
    given(history)
        .with_policy(strict)
        .at(cancelled_at + Duration::minutes(31))
        .when(restore())
        .then_rejected(Rejection::RestoreWindowPassed { cancelled_at, window: Duration::minutes(30) });
}

#[test]
fn only_a_cancelled_order_can_be_restored() {
    for status in statuses_except(&[OrderStatus::Cancelled]) {
        given(order_that_is(status)).when(restore()).then_rejected(invalid_state("restore", status));
    }
}

// ---- facts from dispatch and delivery -----------------------------------------------------

#[test]
fn pickup_departure_and_delivery_move_the_order_along() {
    given(order_that_is(OrderStatus::Accepted)).when(record_pickup()).then([picked_up()]);
    given(order_that_is(OrderStatus::PickedUp)).when(record_out_for_delivery()).then([out_for_delivery()]);
    given(order_that_is(OrderStatus::OutForDelivery)).when(record_delivery()).then([delivered()]);
}

#[test]
fn a_fact_that_overtook_an_earlier_one_still_counts() {
    given(order_that_is(OrderStatus::Accepted)).when(record_out_for_delivery()).then([out_for_delivery()]);
    given(order_that_is(OrderStatus::Accepted)).when(record_delivery()).then([delivered()]);
    given(order_that_is(OrderStatus::PickedUp)).when(record_delivery()).then([delivered()]);
}

#[test]
fn a_fact_the_order_already_reflects_is_no_news() {
    for status in [OrderStatus::PickedUp, OrderStatus::OutForDelivery, OrderStatus::Delivered] {
        given(order_that_is(status)).when(record_pickup()).then_nothing();
    }
    for status in [OrderStatus::OutForDelivery, OrderStatus::Delivered] {
        given(order_that_is(status)).when(record_out_for_delivery()).then_nothing();
    }
    given(order_that_is(OrderStatus::Delivered)).when(record_delivery()).then_nothing();
}

#[test]
fn a_fact_that_contradicts_the_order_is_refused() {
    let not_yet_accepted_or_closed =
        [OrderStatus::Placed, OrderStatus::InReview, OrderStatus::Rejected, OrderStatus::Cancelled];
    for status in not_yet_accepted_or_closed {
        given(order_that_is(status))
            .when(record_pickup())
            .then_rejected(invalid_state("record the pickup of", status));
        given(order_that_is(status))
            .when(record_out_for_delivery())
            .then_rejected(invalid_state("record the departure for delivery of", status));
        given(order_that_is(status))
            .when(record_delivery())
            .then_rejected(invalid_state("record the delivery of", status));
    }
}

#[test]
fn a_fact_names_the_event_that_reported_it() {
    given(order_that_is(OrderStatus::Accepted))
        .when(Command::RecordPickup { source_event_id: " ".to_owned() })
        .then_invalid(&["source_event_id"]);
}

// ---- the last mile as it is: failed attempts, departures again, back to the sender ---------

#[test]
fn a_failed_attempt_is_recorded_with_its_reason_and_next_window() {
    let order = given(order_that_is(OrderStatus::OutForDelivery))
        .when(record_attempt_failed(1, AttemptFailure::AddressWrong))
        .then([attempt_failed(1, AttemptFailure::AddressWrong)])
        .expect("attempt failed");
    assert_eq!(order.status, OrderStatus::AttemptFailed);
    assert_eq!(order.last_failed_attempt, Some(failed_attempt(1, AttemptFailure::AddressWrong)));
}

#[test]
fn every_departure_after_a_failed_attempt_is_recorded() {
    let order = given(order_that_is(OrderStatus::AttemptFailed))
        .when(record_departure(2))
        .then([out_again(2)])
        .expect("out again");
    assert_eq!(order.status, OrderStatus::OutForDelivery);
    // The failure stays on the order as history.
    assert_eq!(order.last_failed_attempt.map(|failed| failed.attempt), Some(1));
}

#[test]
fn the_last_failed_attempt_sends_the_order_back_to_the_sender() {
    let mut history = order_that_is(OrderStatus::ReturnedToSender);
    history.pop();
    let order =
        given(history).when(record_returned_to_sender()).then([returned_to_sender()]).expect("returned");
    assert_eq!(order.status, OrderStatus::ReturnedToSender);
    assert!(order.status.is_terminal());
}

#[test]
fn a_wrong_address_is_fixed_after_the_failed_attempt_and_not_while_the_courier_is_out() {
    let corrected = address_in("Munich", "BY", "DE");
    let corrected = Address { lines: vec!["Leopoldstrasse 7".to_owned()], ..corrected };
    let order = given(order_that_is(OrderStatus::AttemptFailed))
        .when(change_consignee_address(corrected.clone()))
        .then([consignee_address_changed(corrected.clone())])
        .expect("redirected");
    assert_eq!(
        (order.status, order.details.consignee.address),
        (OrderStatus::AttemptFailed, corrected.clone())
    );
    let mut out_again_history = order_that_is(OrderStatus::AttemptFailed);
    out_again_history.push(out_again(2));
    given(out_again_history)
        .when(change_consignee_address(corrected))
        .then_rejected(invalid_state("change the consignee address of", OrderStatus::OutForDelivery));
}

#[test]
fn a_delivery_fact_that_contradicts_the_return_to_sender_is_refused() {
    given(order_that_is(OrderStatus::ReturnedToSender))
        .when(record_delivery())
        .then_rejected(invalid_state("record the delivery of", OrderStatus::ReturnedToSender));
    given(order_that_is(OrderStatus::Delivered))
        .when(record_returned_to_sender())
        .then_rejected(invalid_state("record the return to the sender of", OrderStatus::Delivered));
}

#[test]
fn the_status_table_is_what_the_decider_does() {
    for status in OrderStatus::ALL {
        let allowed = status.allows();
        let amend = given(order_that_is(status)).when(amend_service_level(ServiceLevel::Express)).result;
        assert_eq!(amend.is_ok(), allowed.amend, "amend a {status} order: {amend:?}");
        let redirect = given(order_that_is(status))
            .when(change_consignee_address(address_in("Berlin", "BE", "DE")))
            .result;
        assert_eq!(redirect.is_ok(), allowed.redirect, "redirect a {status} order: {redirect:?}");
        let cancel = given(order_that_is(status)).when(cancel("changed plans")).result;
        assert_eq!(cancel.is_ok(), allowed.cancel, "cancel a {status} order: {cancel:?}");
        assert_eq!(allowed.request_return, status == OrderStatus::Delivered, "return a {status} order");
    }
}

#[test]
fn rejected_returned_and_delivered_orders_are_final() {
    for status in [OrderStatus::Rejected, OrderStatus::ReturnedToSender, OrderStatus::Delivered] {
        for command in every_command_on_an_order() {
            let outcome = given(order_that_is(status)).when(command);
            assert!(
                matches!(&outcome.result, Ok(events) if events.is_empty())
                    || matches!(&outcome.result, Err(Rejection::InvalidState { status: named, .. }) if *named == status),
                "a {status} order changed: {:?}",
                outcome.result
            );
        }
    }
}

// ---- the vocabulary itself ----------------------------------------------------------------

#[test]
fn rejections_read_like_sentences() {
    assert_eq!(
        invalid_state("cancel", OrderStatus::PickedUp).to_string(),
        "cannot cancel an order that is picked_up"
    );
    let window_passed = Rejection::RestoreWindowPassed { cancelled_at: t0(), window: Duration::hours(24) };
    assert_eq!(
        window_passed.to_string(),
        "cannot restore an order cancelled at 2025-03-01 09:00:00 UTC: the restore window of 24 h has passed"
    );
}

#[test]
fn every_event_has_its_own_type() {
    let events = [
        placed(),
        accepted_automatically(),
        rejected_by_reviewer("x"),
        sent_to_review(&["x"]),
        amended_to(&details()),
        consignee_address_changed(berlin()),
        cancelled("x"),
        restored(OrderStatus::Placed),
        picked_up(),
        out_for_delivery(),
        attempt_failed(1, AttemptFailure::Refused),
        returned_to_sender(),
        delivered(),
    ];
    let mut types: Vec<&str> = events.iter().map(Event::event_type).collect();
    assert!(
        types
            .iter()
            .all(|event_type| event_type.starts_with("waybill.intake.") && event_type.ends_with(".v1"))
    );
    assert_eq!(types[0], "waybill.intake.order_placed.v1");
    types.sort_unstable();
    types.dedup();
    assert_eq!(types.len(), events.len());
}
