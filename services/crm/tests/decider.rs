//! The Customer decider, given/when/then, without NATS.

use chrono::{TimeZone, Utc};
use waybill_command::scenario::Scenario;
use waybill_crm::domain::{Command, CreditRating, Customer, CustomerKind, Event, Profile, Rejection, evolve};
use waybill_types::{Address, Contact, Currency, CustomerId, Money, Timestamp};

fn at(minute: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, minute, 0).single().expect("a valid time")
}

fn customer_id() -> CustomerId {
    CustomerId::parse("cust-1").expect("a valid id")
}

fn profile(name: &str) -> Profile {
    Profile {
        kind: CustomerKind::Organisation,
        name: name.into(),
        industry: "retail".into(),
        contacts: vec![Contact {
            name: "Ada".into(),
            phone: "+49 30 1".into(),
            email: "ada@example.com".into(),
        }],
        addresses: vec![Address {
            lines: vec!["Hauptstrasse 1".into()],
            city: "Berlin".into(),
            region: "BE".into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
            coordinates: None,
        }],
    }
}

fn eur(amount_minor: i64) -> Money {
    Money::new(amount_minor, Currency::parse("EUR").expect("EUR"))
}

fn registered() -> Event {
    Event::Registered { customer_id: customer_id(), profile: profile("Acme GmbH") }
}

fn hold_placed() -> Event {
    Event::CreditHoldPlaced { reason: "invoices overdue".into() }
}

/// `given(events).when(command)`: the decision on the state the events build (a minute
/// apart from 9:00), taken at 9:59, through the shared harness.
struct Given(Scenario<Customer>);

fn given(events: &[Event]) -> Given {
    Given(Scenario::given(at(0), events.to_vec()).at(at(59)))
}

impl Given {
    fn state(&self) -> Option<Customer> {
        self.0.state()
    }

    fn when(self, command: Command) -> Result<Vec<Event>, Rejection> {
        self.0.when(command).result
    }
}

#[test]
fn a_new_customer_is_registered_once() {
    let register = Command::Register { customer_id: customer_id(), profile: profile("Acme GmbH") };
    assert_eq!(given(&[]).when(register.clone()), Ok(vec![registered()]));
    assert_eq!(given(&[registered()]).when(register), Err(Rejection::AlreadyRegistered));
}

#[test]
fn nothing_but_registration_happens_to_an_unknown_customer() {
    let commands = [
        Command::Update { profile: profile("Acme") },
        Command::SetCreditRating { rating: CreditRating::A, credit_limit: eur(100_000) },
        Command::PlaceCreditHold { reason: "overdue".into() },
        Command::ReleaseCreditHold { note: String::new() },
    ];
    for command in commands {
        assert_eq!(given(&[]).when(command), Err(Rejection::NotFound));
    }
}

#[test]
fn the_profile_is_replaced_and_the_same_profile_again_is_no_news() {
    let new_profile = profile("Acme Logistics GmbH");
    assert_eq!(
        given(&[registered()]).when(Command::Update { profile: new_profile.clone() }),
        Ok(vec![Event::Updated { profile: new_profile }])
    );
    assert_eq!(given(&[registered()]).when(Command::Update { profile: profile("Acme GmbH") }), Ok(vec![]));
}

#[test]
fn a_credit_rating_comes_with_a_limit_and_may_be_set_again() {
    let rate = Command::SetCreditRating { rating: CreditRating::B, credit_limit: eur(500_000) };
    let rated = Event::CreditRatingSet { rating: CreditRating::B, credit_limit: eur(500_000) };
    assert_eq!(given(&[registered()]).when(rate.clone()), Ok(vec![rated.clone()]));
    assert_eq!(given(&[registered(), rated.clone()]).when(rate), Ok(vec![rated.clone()]));
    let customer = given(&[registered(), rated]).state().expect("customer");
    assert_eq!(customer.credit_rating, Some(CreditRating::B));
    assert_eq!(customer.credit_limit, Some(eur(500_000)));
}

#[test]
fn a_credit_hold_is_placed_once_and_released_once() {
    let place = Command::PlaceCreditHold { reason: "invoices overdue".into() };
    let release = Command::ReleaseCreditHold { note: "paid".into() };
    assert_eq!(given(&[registered()]).when(place.clone()), Ok(vec![hold_placed()]));
    assert!(matches!(
        given(&[registered(), hold_placed()]).when(place),
        Err(Rejection::InvalidState { state: "already on credit hold", .. })
    ));
    assert_eq!(
        given(&[registered(), hold_placed()]).when(release.clone()),
        Ok(vec![Event::CreditHoldReleased { note: "paid".into() }])
    );
    assert!(matches!(
        given(&[registered()]).when(release),
        Err(Rejection::InvalidState { state: "not on credit hold", .. })
    ));
}

#[test]
fn the_hold_remembers_its_reason_and_since_when() {
    let customer = given(&[registered(), hold_placed()]).state().expect("customer");
    let hold = customer.hold.expect("on hold");
    assert_eq!(hold.reason, "invoices overdue");
    assert_eq!(hold.since, at(1));
    let released =
        given(&[registered(), hold_placed(), Event::CreditHoldReleased { note: String::new() }]).state();
    assert!(!released.expect("customer").is_on_hold());
}

#[test]
fn events_that_do_not_fit_the_state_do_not_apply() {
    assert_eq!(evolve(None, &hold_placed(), at(0)), None);
    let customer = given(&[registered()]).state();
    assert_eq!(evolve(customer, &registered(), at(1)), None);
}

#[test]
fn event_types_name_the_service_and_the_event() {
    assert_eq!(registered().event_type(), "waybill.crm.customer_registered.v1");
    assert_eq!(hold_placed().event_type(), "waybill.crm.credit_hold_placed.v1");
    assert_eq!(
        Event::CreditHoldReleased { note: String::new() }.event_type(),
        "waybill.crm.credit_hold_released.v1"
    );
}
