//! Unit tests of the quote and of the automatic review, with numbers worked out by hand
//! from the default tariff and limits (the decider's transitions are tested through the
//! public API in `tests/decider.rs`).

use chrono::{TimeZone, Utc};
use uuid::Uuid;
use waybill_fixtures::address_in;
use waybill_types::{
    Address, CargoCategory, CargoLine, Contact, Currency, CustomerId, Money, OrderId, Party, ServiceLevel,
};

use super::quote::{FREIGHT, INSURANCE, SURCHARGE_COLD_CHAIN, SURCHARGE_FRAGILE, SURCHARGE_HAZARDOUS};
use super::*;

fn currency(code: &str) -> Currency {
    Currency::parse(code).expect("test currency is valid")
}

fn eur(amount_minor: i64) -> Money {
    Money::new(amount_minor, currency("EUR"))
}

fn berlin() -> Address {
    address_in("Berlin", "BE", "DE")
}

fn munich() -> Address {
    address_in("Munich", "BY", "DE")
}

/// One piece per line unless `quantity` says otherwise; sides in cm.
fn line(quantity: u32, weight_grams: u64, sides_cm: (u32, u32, u32), declared: Money) -> CargoLine {
    CargoLine {
        description: "boxes".to_owned(),
        quantity,
        weight_grams,
        length_cm: sides_cm.0,
        width_cm: sides_cm.1,
        height_cm: sides_cm.2,
        declared_value: declared,
        category: CargoCategory::General,
        hazard_declaration: None,
    }
}

fn of_category(mut line: CargoLine, category: CargoCategory) -> CargoLine {
    line.category = category;
    line
}

fn details(from: Address, to: Address, cargo: Vec<CargoLine>, service_level: ServiceLevel) -> OrderDetails {
    let party = |address| Party {
        contact: Contact {
            name: "Erika".to_owned(),
            phone: "+49 30 1234".to_owned(),
            email: "e@x.de".to_owned(),
        },
        address,
    };
    OrderDetails {
        customer_id: CustomerId::parse("cust-1").expect("valid customer id"),
        shipper: party(from),
        consignee: party(to),
        cargo,
        service_level,
    }
}

fn priced(details: &OrderDetails) -> Quote {
    let quote = price(details, &Tariff::default()).expect("priceable");
    assert!(quote.is_consistent(), "{quote:?}");
    quote
}

fn invalid_fields(result: Result<Quote, Rejection>) -> Vec<String> {
    match result {
        Err(Rejection::Invalid { violations }) => {
            violations.into_iter().map(|violation| violation.field).collect()
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

// ---- the quote -------------------------------------------------------------------------

#[test]
fn volumetric_weight_beats_a_light_bulky_parcel() {
    // 2 kg in 40×30×20 cm = 24 000 cm³ → 4 800 g volumetric; Berlin → Munich is national.
    // Freight: 800 + 90 × 5 started kg = 1 250. Insurance: 0.5 % of 100.00 = 0.50 → minimum 3.00.
    let order =
        details(berlin(), munich(), vec![line(1, 2_000, (40, 30, 20), eur(10_000))], ServiceLevel::Standard);
    let quote = priced(&order);
    assert_eq!(quote.chargeable_weight_grams, 4_800);
    assert_eq!(quote.zone, Zone::National);
    assert_eq!(quote.line(FREIGHT), Some(eur(1_250)));
    assert_eq!(quote.line(INSURANCE), Some(eur(300)));
    assert_eq!(quote.total, eur(1_550));
    assert_eq!(quote.lines.len(), 2);
}

#[test]
fn actual_weight_beats_a_dense_parcel_and_rounds_up_to_100_g() {
    // 12 340 g in 1 000 cm³ (200 g volumetric) → 12 400 g; 13 started kg; local (names
    // compare trimmed, case-insensitively): 450 + 40 × 13 = 970. Nothing declared: no insurance.
    let to = address_in(" berlin ", "be", "de");
    let order = details(berlin(), to, vec![line(1, 12_340, (10, 10, 10), eur(0))], ServiceLevel::Standard);
    let quote = priced(&order);
    assert_eq!(quote.chargeable_weight_grams, 12_400);
    assert_eq!(quote.zone, Zone::Local);
    assert_eq!(quote.lines, vec![QuoteLine { code: FREIGHT.to_owned(), amount: eur(970) }]);
    assert_eq!(quote.total, eur(970));
}

#[test]
fn volumetric_weight_rounds_up_to_the_next_gram_then_the_next_100_g() {
    // 24 001 cm³ / 5 = 4 800.2 → 4 801 g → 4 900 g; 5 started kg.
    let order =
        details(berlin(), munich(), vec![line(1, 100, (24_001, 1, 1), eur(0))], ServiceLevel::Standard);
    assert_eq!(priced(&order).chargeable_weight_grams, 4_900);
    assert_eq!(priced(&order).total, eur(800 + 90 * 5));
}

#[test]
fn a_started_kilogram_is_charged_in_full() {
    // 3 pieces × 1 667 g = 5 001 g → 5 100 g → 6 started kg. Berlin → Potsdam (both BE) is
    // regional; express regional: 1 200 + 120 × 6 = 1 920.
    let order = details(
        berlin(),
        address_in("Potsdam", "BE", "DE"),
        vec![line(3, 1_667, (10, 10, 10), eur(0))],
        ServiceLevel::Express,
    );
    let quote = priced(&order);
    assert_eq!(quote.chargeable_weight_grams, 5_100);
    assert_eq!(quote.zone, Zone::Regional);
    assert_eq!(quote.total, eur(1_920));
}

#[test]
fn zones_follow_city_region_and_country() {
    assert_eq!(zone_between(&berlin(), &address_in("BERLIN ", " be", "DE")), Zone::Local);
    assert_eq!(zone_between(&berlin(), &address_in("Potsdam", "be", "DE")), Zone::Regional);
    assert_eq!(zone_between(&berlin(), &munich()), Zone::National);
    assert_eq!(zone_between(&berlin(), &address_in("Berlin", "BE", "US")), Zone::International);
    // Without regions, the same city is local, but two cities are merely national.
    assert_eq!(
        zone_between(&address_in("Singapore", "", "SG"), &address_in("singapore", "", "SG")),
        Zone::Local
    );
    assert_eq!(zone_between(&address_in("Vaduz", "", "LI"), &address_in("Schaan", "", "LI")), Zone::National);
    // The same city name in two regions is not local.
    assert_eq!(
        zone_between(&address_in("Frankfurt", "HE", "DE"), &address_in("Frankfurt", "BB", "DE")),
        Zone::National
    );
}

#[test]
fn insurance_is_half_a_percent_of_the_declared_value_rounded_up_with_a_minimum() {
    let insurance = |declared: Vec<i64>| {
        let cargo = declared.into_iter().map(|amount| line(1, 1_000, (10, 10, 10), eur(amount))).collect();
        priced(&details(berlin(), munich(), cargo, ServiceLevel::Standard)).line(INSURANCE)
    };
    assert_eq!(insurance(vec![1_000_000]), Some(eur(5_000)));
    assert_eq!(insurance(vec![60_001]), Some(eur(301)), "300.005 rounds up");
    assert_eq!(insurance(vec![59_999]), Some(eur(300)), "299.995 is below the minimum");
    assert_eq!(insurance(vec![1]), Some(eur(300)), "anything declared pays the minimum");
    assert_eq!(insurance(vec![500_000, 500_001]), Some(eur(5_001)), "all lines together");
    assert_eq!(insurance(vec![0, 0]), None, "nothing declared, nothing insured");
}

#[test]
fn each_special_category_adds_its_surcharge() {
    // 3 fragile × 1 kg + 2 kg cold chain + 0.5 kg hazardous = 5 500 g (volume 5 000 cm³ is
    // only 1 000 g) → 6 started kg; standard national freight 800 + 90 × 6 = 1 340.
    // Fragile 150 × 3 = 450; cold chain 1 000 + 25 % of 1 340 = 1 335; hazardous 3 500.
    let cargo = vec![
        of_category(line(3, 1_000, (10, 10, 10), eur(0)), CargoCategory::Fragile),
        of_category(line(1, 2_000, (10, 10, 10), eur(0)), CargoCategory::ColdChain),
        of_category(line(1, 500, (10, 10, 10), eur(0)), CargoCategory::Hazardous),
    ];
    let quote = priced(&details(berlin(), munich(), cargo, ServiceLevel::Standard));
    assert_eq!(quote.line(FREIGHT), Some(eur(1_340)));
    assert_eq!(quote.line(SURCHARGE_FRAGILE), Some(eur(450)));
    assert_eq!(quote.line(SURCHARGE_COLD_CHAIN), Some(eur(1_335)));
    assert_eq!(quote.line(SURCHARGE_HAZARDOUS), Some(eur(3_500)));
    assert_eq!(quote.total, eur(1_340 + 450 + 1_335 + 3_500));
}

#[test]
fn the_quote_is_in_the_cargo_currency() {
    let usd = Money::new(10_000, currency("USD"));
    let quote =
        priced(&details(berlin(), munich(), vec![line(1, 2_000, (40, 30, 20), usd)], ServiceLevel::Standard));
    assert_eq!(quote.total, Money::new(1_550, currency("USD")));
}

#[test]
fn declared_values_in_two_currencies_are_refused_naming_the_line() {
    let usd = Money::new(10_000, currency("USD"));
    let cargo = vec![line(1, 1_000, (10, 10, 10), eur(10_000)), line(1, 1_000, (10, 10, 10), usd)];
    let result = price(&details(berlin(), munich(), cargo, ServiceLevel::Standard), &Tariff::default());
    assert_eq!(invalid_fields(result), ["cargo[1].declared_value.currency"]);
}

#[test]
fn cargo_that_cannot_be_priced_is_invalid() {
    let tariff = Tariff::default();
    let no_cargo = details(berlin(), munich(), vec![], ServiceLevel::Standard);
    assert_eq!(invalid_fields(price(&no_cargo, &tariff)), ["cargo"]);

    let negative =
        details(berlin(), munich(), vec![line(1, 1_000, (1, 1, 1), eur(-1))], ServiceLevel::Standard);
    assert_eq!(invalid_fields(price(&negative, &tariff)), ["cargo[0].declared_value.amount_minor"]);

    let too_heavy =
        details(berlin(), munich(), vec![line(2, u64::MAX, (1, 1, 1), eur(0))], ServiceLevel::Standard);
    assert_eq!(invalid_fields(price(&too_heavy, &tariff)), ["cargo"]);

    // Sides so absurd that even the volume overflows 128 bits: refused, not a panic.
    let absurd = line(u32::MAX, 1, (u32::MAX, u32::MAX, u32::MAX), eur(0));
    let absurd = details(berlin(), munich(), vec![absurd.clone(), absurd], ServiceLevel::Standard);
    assert_eq!(invalid_fields(price(&absurd, &tariff)), ["cargo"]);

    let too_valuable = vec![line(1, 1_000, (1, 1, 1), eur(i64::MAX)), line(1, 1_000, (1, 1, 1), eur(1))];
    let too_valuable = details(berlin(), munich(), too_valuable, ServiceLevel::Standard);
    assert_eq!(invalid_fields(price(&too_valuable, &tariff)), ["cargo"]);

    // Heavy enough that the freight would not fit in an i64 at the most expensive rate.
    let greedy = Tariff {
        standard: RateTable {
            national: Rate { base_fee_minor: 0, per_started_kg_minor: u32::MAX },
            ..tariff.standard
        },
        ..Tariff::default()
    };
    let heavy =
        details(berlin(), munich(), vec![line(1, u64::MAX / 2, (1, 1, 1), eur(0))], ServiceLevel::Standard);
    assert_eq!(invalid_fields(price(&heavy, &greedy)), ["cargo"]);
}

#[test]
fn an_inconsistent_quote_is_noticed() {
    let mut quote =
        priced(&details(berlin(), munich(), vec![line(1, 1_000, (1, 1, 1), eur(0))], ServiceLevel::Standard));
    quote.total = eur(quote.total.amount_minor + 1);
    assert!(!quote.is_consistent());
}

// ---- the automatic review --------------------------------------------------------------

fn order_of(details: OrderDetails) -> Order {
    let quote = priced(&details);
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).single().expect("valid time");
    let placed = Event::Placed { order_id: OrderId(Uuid::nil()), details, quote };
    evolve(None, &placed, at).expect("a placement builds an order")
}

fn review(details: OrderDetails, standing: CustomerStanding) -> AutoReview {
    auto_review(&order_of(details), standing, &ServiceLimits::default())
}

fn books() -> CargoLine {
    line(1, 2_000, (40, 30, 20), eur(10_000))
}

fn undeclared_hazard() -> CargoLine {
    CargoLine { description: "paint thinner".to_owned(), ..of_category(books(), CargoCategory::Hazardous) }
}

#[test]
fn an_ordinary_order_is_accepted() {
    let order = details(berlin(), munich(), vec![books()], ServiceLevel::Standard);
    assert_eq!(review(order, CustomerStanding::Good), AutoReview::Accept);
}

#[test]
fn an_order_over_its_service_levels_weight_is_rejected_with_the_numbers() {
    // 31 kg is over same-day's 30 kg; a single 31 kg piece is over its 20 kg a piece too.
    let order =
        details(berlin(), munich(), vec![line(1, 31_000, (10, 10, 10), eur(0))], ServiceLevel::SameDay);
    assert_eq!(
        review(order, CustomerStanding::Good),
        AutoReview::Reject {
            reason: "chargeable weight 31 kg is above the same-day limit of 30 kg; \
                     a piece of cargo[0] (boxes) weighs 31 kg, above the same-day limit of 20 kg a piece"
                .to_owned()
        }
    );
}

#[test]
fn every_broken_limit_is_listed_and_limits_outrank_review_reasons() {
    // Same-day abroad, 0.3 m³ (60 kg volumetric), and an undeclared hazard: rejected for the
    // limits; the hazard does not matter any more.
    let bulky = line(1, 1_000, (100, 100, 30), eur(0));
    let order = details(
        berlin(),
        address_in("Paris", "IDF", "FR"),
        vec![bulky, undeclared_hazard()],
        ServiceLevel::SameDay,
    );
    let AutoReview::Reject { reason } = review(order, CustomerStanding::OnCreditHold) else {
        panic!("expected a rejection")
    };
    assert!(reason.contains("chargeable weight 64.8 kg is above the same-day limit of 30 kg"), "{reason}");
    assert!(reason.contains("total volume 0.324 m³ is above the same-day limit of 0.25 m³"), "{reason}");
    assert!(reason.contains("same-day does not serve international shipments"), "{reason}");
    assert!(!reason.contains("hazard"), "{reason}");
}

#[test]
fn express_and_standard_have_their_own_limits() {
    let limits = ServiceLimits::default();
    let heavy_piece = line(1, 80_000, (50, 50, 50), eur(0));
    let express = details(berlin(), munich(), vec![heavy_piece.clone()], ServiceLevel::Express);
    assert_eq!(limit_violations(&express, &priced(&express), &limits).len(), 1, "80 kg piece > 70 kg");
    let standard = details(berlin(), munich(), vec![heavy_piece], ServiceLevel::Standard);
    assert!(limit_violations(&standard, &priced(&standard), &limits).is_empty());
    let truckload = details(
        berlin(),
        munich(),
        vec![line(21, 1_000_000, (100, 100, 100), eur(0))],
        ServiceLevel::Standard,
    );
    assert_eq!(limit_violations(&truckload, &priced(&truckload), &limits).len(), 1, "21 t > 20 t");
}

#[test]
fn an_undeclared_hazard_goes_to_a_human() {
    let order = details(berlin(), munich(), vec![books(), undeclared_hazard()], ServiceLevel::Standard);
    assert_eq!(
        review(order, CustomerStanding::Good),
        AutoReview::SendToReview {
            reasons: vec!["cargo[1] (paint thinner) is hazardous but has no hazard declaration".to_owned()]
        }
    );
    let blank = CargoLine { hazard_declaration: Some("  ".to_owned()), ..undeclared_hazard() };
    let order = details(berlin(), munich(), vec![blank], ServiceLevel::Standard);
    assert!(matches!(review(order, CustomerStanding::Good), AutoReview::SendToReview { .. }));
    let declared =
        CargoLine { hazard_declaration: Some("UN1263, class 3".to_owned()), ..undeclared_hazard() };
    let order = details(berlin(), munich(), vec![declared], ServiceLevel::Standard);
    assert_eq!(review(order, CustomerStanding::Good), AutoReview::Accept);
}

#[test]
fn all_review_reasons_are_listed() {
    let valuable = line(1, 2_000, (40, 30, 20), eur(2_500_001));
    let order = details(berlin(), munich(), vec![valuable, undeclared_hazard()], ServiceLevel::Standard);
    assert_eq!(
        review(order, CustomerStanding::OnCreditHold),
        AutoReview::SendToReview {
            reasons: vec![
                "cargo[1] (paint thinner) is hazardous but has no hazard declaration".to_owned(),
                "declared value 2510001 EUR is above the high-value threshold of 2500000".to_owned(),
                "customer cust-1 is on credit hold".to_owned(),
            ]
        }
    );
}
