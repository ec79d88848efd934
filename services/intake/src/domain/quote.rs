//! The price of an order: what intake quotes at placement and again after every change
//! that moves the price (amendment, new consignee address).
//!
//! How a quote is built, in this order (every amount in minor units of the order's currency):
//! 1. **Chargeable weight**: the larger of the actual weight and the volumetric weight
//!    (volume ÷ 5 000 cm³/kg, i.e. `volume_cm3 / 5` grams, rounded up), rounded up to the
//!    next 100 g. Bulky, light goods pay for the room they take.
//! 2. **Zone** of origin (shipper) and destination (consignee), see [`zone_between`].
//! 3. **Freight** (`freight`): the service level's base fee for the zone plus its rate per
//!    *started* kilogram of chargeable weight.
//! 4. **Insurance** (`insurance`): basis points of the total declared value, rounded up, with
//!    a minimum; no line when nothing is declared.
//! 5. **Surcharges**, one line per category present (`surcharge_fragile`,
//!    `surcharge_cold_chain`, `surcharge_hazardous`): a fee per shipment, plus a fee per piece
//!    of that category, plus basis points of the freight.
//!
//! The order's currency is the currency of its cargo's declared values, which must all be
//! the same. The tariff's numbers are minor units of whatever currency that is: one price
//! list for every currency is a simplification (a JPY order is priced in yen as a EUR order
//! is in cents) until per-currency tariffs exist. Tariff amounts are unsigned, so no quote
//! line is ever negative; arithmetic is checked, and a price that would overflow is
//! `Rejection::Invalid` rather than a wrapped number.

pub use waybill_types::Zone;
use waybill_types::{Address, CargoCategory, CargoLine, Currency, FieldViolation, Money, ServiceLevel};

use super::{OrderDetails, Rejection};

pub const FREIGHT: &str = "freight";
pub const INSURANCE: &str = "insurance";
pub const SURCHARGE_FRAGILE: &str = "surcharge_fragile";
pub const SURCHARGE_COLD_CHAIN: &str = "surcharge_cold_chain";
pub const SURCHARGE_HAZARDOUS: &str = "surcharge_hazardous";

/// One priced component of a quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteLine {
    pub code: String,
    pub amount: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub chargeable_weight_grams: u64,
    pub zone: Zone,
    pub lines: Vec<QuoteLine>,
    pub total: Money,
}

impl Quote {
    /// The quote's invariant: no negative line or total, one currency, total = Σ lines.
    pub fn is_consistent(&self) -> bool {
        let mut sum = Money::zero(self.total.currency);
        for line in &self.lines {
            if line.amount.is_negative() {
                return false;
            }
            match sum.checked_add(line.amount) {
                Ok(next) => sum = next,
                Err(_) => return false,
            }
        }
        !self.total.is_negative() && sum == self.total
    }

    /// The amount of the line with this code, if the quote has one.
    pub fn line(&self, code: &str) -> Option<Money> {
        self.lines.iter().find(|line| line.code == code).map(|line| line.amount)
    }
}

/// A base fee and a rate per started kilogram, in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub base_fee_minor: u32,
    pub per_started_kg_minor: u32,
}

/// One service level's rates by zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTable {
    pub local: Rate,
    pub regional: Rate,
    pub national: Rate,
    pub international: Rate,
}

impl RateTable {
    pub fn for_zone(&self, zone: Zone) -> Rate {
        match zone {
            Zone::Local => self.local,
            Zone::Regional => self.regional,
            Zone::National => self.national,
            Zone::International => self.international,
        }
    }
}

/// What goods of one category cost on top of the freight, charged once per order that
/// carries the category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CategorySurcharge {
    pub per_shipment_minor: u32,
    pub per_piece_minor: u32,
    pub freight_basis_points: u32,
}

/// The price list. Amounts are minor units of the order's currency (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tariff {
    pub standard: RateTable,
    pub express: RateTable,
    pub same_day: RateTable,
    pub insurance_basis_points: u32,
    /// Least insurance charged when anything is declared.
    pub insurance_minimum_minor: u32,
    pub fragile: CategorySurcharge,
    pub cold_chain: CategorySurcharge,
    pub hazardous: CategorySurcharge,
}

const fn rate(base_fee_minor: u32, per_started_kg_minor: u32) -> Rate {
    Rate { base_fee_minor, per_started_kg_minor }
}

impl Default for Tariff {
    /// A plausible European parcel-and-freight list (in cents for EUR orders).
    fn default() -> Self {
        Self {
            standard: RateTable {
                local: rate(450, 40),
                regional: rate(600, 60),
                national: rate(800, 90),
                international: rate(2_500, 400),
            },
            express: RateTable {
                local: rate(900, 90),
                regional: rate(1_200, 120),
                national: rate(1_600, 180),
                international: rate(4_500, 850),
            },
            // Same-day does not go abroad under the default limits; the international rate
            // only exists so that every order has a quote for the automatic review to judge.
            same_day: RateTable {
                local: rate(1_900, 150),
                regional: rate(2_900, 250),
                national: rate(4_900, 400),
                international: rate(9_900, 1_500),
            },
            insurance_basis_points: 50,
            insurance_minimum_minor: 300,
            fragile: CategorySurcharge { per_piece_minor: 150, ..CategorySurcharge::default() },
            cold_chain: CategorySurcharge {
                per_shipment_minor: 1_000,
                freight_basis_points: 2_500,
                ..CategorySurcharge::default()
            },
            hazardous: CategorySurcharge { per_shipment_minor: 3_500, ..CategorySurcharge::default() },
        }
    }
}

impl Tariff {
    pub fn for_level(&self, service_level: ServiceLevel) -> &RateTable {
        match service_level {
            ServiceLevel::Standard => &self.standard,
            ServiceLevel::Express => &self.express,
            ServiceLevel::SameDay => &self.same_day,
        }
    }

    fn surcharge_for(&self, category: CargoCategory) -> Option<(&'static str, CategorySurcharge)> {
        match category {
            CargoCategory::General => None,
            CargoCategory::Fragile => Some((SURCHARGE_FRAGILE, self.fragile)),
            CargoCategory::ColdChain => Some((SURCHARGE_COLD_CHAIN, self.cold_chain)),
            CargoCategory::Hazardous => Some((SURCHARGE_HAZARDOUS, self.hazardous)),
        }
    }
}

/// The zone between two addresses. Names compare trimmed and case-insensitively. Local
/// needs the same country, region and city (two empty regions are the same: city states
/// and countries without regions); Regional needs the same country and the same
/// *non-empty* region, because an address without a region says nothing about nearness.
pub fn zone_between(origin: &Address, destination: &Address) -> Zone {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    if !same(&origin.country_code, &destination.country_code) {
        return Zone::International;
    }
    let same_region = same(&origin.region, &destination.region);
    if same_region && same(&origin.city, &destination.city) {
        return Zone::Local;
    }
    if same_region && !origin.region.trim().is_empty() {
        return Zone::Regional;
    }
    Zone::National
}

/// Chargeable weight in grams (see the module docs), computed wide so that no cargo can
/// overflow it silently; `None` if it does not fit a `u64`.
pub fn chargeable_weight_grams(cargo: &[CargoLine]) -> Option<u64> {
    let mut actual_grams: u128 = 0;
    for line in cargo {
        let line_grams = u128::from(line.weight_grams) * u128::from(line.quantity);
        actual_grams = actual_grams.checked_add(line_grams)?;
    }
    let volumetric_grams = total_volume_cm3(cargo)?.div_ceil(5);
    let chargeable = actual_grams.max(volumetric_grams).div_ceil(100).checked_mul(100)?;
    u64::try_from(chargeable).ok()
}

/// Volume of all pieces of all lines in cm³; `None` only for absurd sizes that overflow
/// even 128 bits (the edge's limits keep real cargo far below).
pub fn total_volume_cm3(cargo: &[CargoLine]) -> Option<u128> {
    cargo.iter().try_fold(0u128, |total, line| {
        let piece = u128::from(line.length_cm) * u128::from(line.width_cm) * u128::from(line.height_cm);
        total.checked_add(piece.checked_mul(u128::from(line.quantity))?)
    })
}

/// Prices an order (see the module docs). `Rejection::Invalid` names every field that
/// makes the cargo unpriceable.
pub fn price(details: &OrderDetails, tariff: &Tariff) -> Result<Quote, Rejection> {
    let currency = order_currency(details)?;
    let overflow = || Rejection::invalid("cargo", "the price of this cargo is too large to quote");

    let chargeable_weight_grams = chargeable_weight_grams(&details.cargo).ok_or_else(overflow)?;
    let zone = zone_between(details.origin(), details.destination());
    let rate = tariff.for_level(details.service_level).for_zone(zone);
    let started_kg = u128::from(chargeable_weight_grams.div_ceil(1_000));
    let freight_minor = u128::from(rate.base_fee_minor) + u128::from(rate.per_started_kg_minor) * started_kg;
    let freight = money(freight_minor, currency).ok_or_else(overflow)?;

    let mut lines = vec![QuoteLine { code: FREIGHT.to_owned(), amount: freight }];
    if let Some(insurance) = insurance(details, tariff, currency)? {
        lines.push(QuoteLine { code: INSURANCE.to_owned(), amount: insurance });
    }
    for category in [CargoCategory::Fragile, CargoCategory::ColdChain, CargoCategory::Hazardous] {
        let Some((code, surcharge)) = tariff.surcharge_for(category) else { continue };
        let lines_of_category = || details.cargo.iter().filter(|line| line.category == category);
        if lines_of_category().next().is_none() {
            continue;
        }
        let pieces: u128 = lines_of_category().map(|line| u128::from(line.quantity)).sum();
        let fixed_minor =
            u128::from(surcharge.per_shipment_minor) + u128::from(surcharge.per_piece_minor) * pieces;
        let share_of_freight =
            freight.basis_points_ceil(surcharge.freight_basis_points).map_err(|_| overflow())?;
        let amount = money(fixed_minor, currency)
            .and_then(|fixed| fixed.checked_add(share_of_freight).ok())
            .ok_or_else(overflow)?;
        lines.push(QuoteLine { code: code.to_owned(), amount });
    }

    let mut total = Money::zero(currency);
    for line in &lines {
        total = total.checked_add(line.amount).map_err(|_| overflow())?;
    }
    let quote = Quote { chargeable_weight_grams, zone, lines, total };
    debug_assert!(quote.is_consistent(), "inconsistent quote {quote:?}");
    Ok(quote)
}

/// The one currency all declared values share; also refuses negative declared values,
/// which would make insurance (and so a quote line) negative.
fn order_currency(details: &OrderDetails) -> Result<Currency, Rejection> {
    let Some(first) = details.cargo.first() else {
        return Err(Rejection::invalid("cargo", "an order carries at least one cargo line"));
    };
    let currency = first.declared_value.currency;
    let mut violations = Vec::new();
    for (index, line) in details.cargo.iter().enumerate() {
        if line.declared_value.currency != currency {
            violations.push(FieldViolation::new(
                format!("cargo[{index}].declared_value.currency"),
                format!(
                    "all declared values must be in one currency: the order is in {currency}, this line in {}",
                    line.declared_value.currency
                ),
            ));
        }
        if line.declared_value.is_negative() {
            violations.push(FieldViolation::new(
                format!("cargo[{index}].declared_value.amount_minor"),
                "a declared value cannot be negative",
            ));
        }
    }
    if violations.is_empty() { Ok(currency) } else { Err(Rejection::Invalid { violations }) }
}

fn insurance(
    details: &OrderDetails,
    tariff: &Tariff,
    currency: Currency,
) -> Result<Option<Money>, Rejection> {
    let overflow = || Rejection::invalid("cargo", "the total declared value is too large to insure");
    let mut declared = Money::zero(currency);
    for line in &details.cargo {
        declared = declared.checked_add(line.declared_value).map_err(|_| overflow())?;
    }
    if declared.amount_minor == 0 {
        return Ok(None);
    }
    let premium = declared.basis_points_ceil(tariff.insurance_basis_points).map_err(|_| overflow())?;
    let minimum = Money::new(i64::from(tariff.insurance_minimum_minor), currency);
    Ok(Some(if premium.amount_minor < minimum.amount_minor { minimum } else { premium }))
}

fn money(amount_minor: u128, currency: Currency) -> Option<Money> {
    i64::try_from(amount_minor).ok().map(|amount_minor| Money::new(amount_minor, currency))
}
