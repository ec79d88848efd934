//! What each service level can carry, and the automatic review every placed order gets.
//!
//! The automatic rules, in order of severity:
//! 1. **Limits** ([`limit_violations`]): chargeable weight, total volume, the heaviest single
//!    piece, and how far the service level goes (same-day does not cross a border). An order
//!    over any limit is rejected, with every broken limit in the reason: no person can make
//!    a van carry what it cannot.
//! 2. **Review reasons**: a hazardous line without a hazard declaration, a total declared
//!    value above the high-value threshold ([`cargo_review_reasons`]), a customer on credit
//!    hold. Any of them sends the order to a human, with all reasons listed.
//! 3. Otherwise the order is accepted.

use waybill_types::{CargoCategory, ServiceLevel};

use super::quote::total_volume_cm3;
use super::{Order, OrderDetails, Quote, Zone};

/// What CRM says about the customer at review time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CustomerStanding {
    Good,
    OnCreditHold,
}

/// The automatic review's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutoReview {
    Accept,
    Reject { reason: String },
    SendToReview { reasons: Vec<String> },
}

/// What one service level can carry, and how far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelLimits {
    pub max_chargeable_weight_grams: u64,
    pub max_total_volume_cm3: u64,
    pub max_piece_weight_grams: u64,
    /// The farthest zone the service level serves.
    pub farthest_zone: Zone,
}

/// Every service level's limits, and the thresholds that call for a human.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceLimits {
    pub standard: LevelLimits,
    pub express: LevelLimits,
    pub same_day: LevelLimits,
    /// Orders declaring more than this (minor units of the order's currency) are checked by
    /// a person: high-value goods need insurance and security arrangements confirmed.
    pub manual_review_declared_value_above_minor: i64,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        Self {
            // A courier van and one person's carry: 30 kg, a quarter cubic metre, 20 kg a piece.
            same_day: LevelLimits {
                max_chargeable_weight_grams: 30_000,
                max_total_volume_cm3: 250_000,
                max_piece_weight_grams: 20_000,
                farthest_zone: Zone::National,
            },
            // Air-and-van network: 300 kg, 2 m³, 70 kg a piece (two-person lift).
            express: LevelLimits {
                max_chargeable_weight_grams: 300_000,
                max_total_volume_cm3: 2_000_000,
                max_piece_weight_grams: 70_000,
                farthest_zone: Zone::International,
            },
            // Road freight: one articulated truck, 20 t, 80 m³, 2.5 t a piece (forklift).
            standard: LevelLimits {
                max_chargeable_weight_grams: 20_000_000,
                max_total_volume_cm3: 80_000_000,
                max_piece_weight_grams: 2_500_000,
                farthest_zone: Zone::International,
            },
            manual_review_declared_value_above_minor: 2_500_000,
        }
    }
}

impl ServiceLimits {
    pub fn for_level(&self, service_level: ServiceLevel) -> &LevelLimits {
        match service_level {
            ServiceLevel::Standard => &self.standard,
            ServiceLevel::Express => &self.express,
            ServiceLevel::SameDay => &self.same_day,
        }
    }
}

/// The automatic review of an order (see the module docs).
pub fn auto_review(order: &Order, standing: CustomerStanding, limits: &ServiceLimits) -> AutoReview {
    let broken_limits = limit_violations(&order.details, &order.quote, limits);
    if !broken_limits.is_empty() {
        return AutoReview::Reject { reason: broken_limits.join("; ") };
    }
    let mut reasons = cargo_review_reasons(&order.details, limits);
    if standing == CustomerStanding::OnCreditHold {
        reasons.push(format!("customer {} is on credit hold", order.details.customer_id));
    }
    if reasons.is_empty() { AutoReview::Accept } else { AutoReview::SendToReview { reasons } }
}

/// Every limit of its service level the order breaks, described for a person; empty if none.
pub fn limit_violations(details: &OrderDetails, quote: &Quote, limits: &ServiceLimits) -> Vec<String> {
    let level = level_name(details.service_level);
    let level_limits = limits.for_level(details.service_level);
    let mut violations = Vec::new();
    if quote.chargeable_weight_grams > level_limits.max_chargeable_weight_grams {
        violations.push(format!(
            "chargeable weight {} is above the {level} limit of {}",
            kilograms(u128::from(quote.chargeable_weight_grams)),
            kilograms(u128::from(level_limits.max_chargeable_weight_grams)),
        ));
    }
    // A volume too large to count is certainly over the limit.
    let volume_cm3 = total_volume_cm3(&details.cargo).unwrap_or(u128::MAX);
    if volume_cm3 > u128::from(level_limits.max_total_volume_cm3) {
        violations.push(format!(
            "total volume {} is above the {level} limit of {}",
            cubic_metres(volume_cm3),
            cubic_metres(u128::from(level_limits.max_total_volume_cm3)),
        ));
    }
    for (index, line) in details.cargo.iter().enumerate() {
        if line.weight_grams > level_limits.max_piece_weight_grams {
            violations.push(format!(
                "a piece of cargo[{index}] ({}) weighs {}, above the {level} limit of {} a piece",
                line.description,
                kilograms(u128::from(line.weight_grams)),
                kilograms(u128::from(level_limits.max_piece_weight_grams)),
            ));
        }
    }
    if quote.zone > level_limits.farthest_zone {
        violations.push(format!(
            "{level} does not serve {} shipments (farthest: {})",
            quote.zone.as_str(),
            level_limits.farthest_zone.as_str(),
        ));
    }
    violations
}

/// Review reasons that come from what is shipped (not from who ships it); empty if none.
pub fn cargo_review_reasons(details: &OrderDetails, limits: &ServiceLimits) -> Vec<String> {
    let mut reasons = Vec::new();
    for (index, line) in details.cargo.iter().enumerate() {
        let declared = line.hazard_declaration.as_deref().is_some_and(|text| !text.trim().is_empty());
        if line.category == CargoCategory::Hazardous && !declared {
            reasons.push(format!(
                "cargo[{index}] ({}) is hazardous but has no hazard declaration",
                line.description
            ));
        }
    }
    let declared_value_minor: i128 =
        details.cargo.iter().map(|line| i128::from(line.declared_value.amount_minor)).sum();
    if declared_value_minor > i128::from(limits.manual_review_declared_value_above_minor) {
        let currency = details.cargo.first().map(|line| line.declared_value.currency.to_string());
        reasons.push(format!(
            "declared value {declared_value_minor} {} is above the high-value threshold of {}",
            currency.unwrap_or_default(),
            limits.manual_review_declared_value_above_minor,
        ));
    }
    reasons
}

fn level_name(service_level: ServiceLevel) -> &'static str {
    match service_level {
        ServiceLevel::Standard => "standard",
        ServiceLevel::Express => "express",
        ServiceLevel::SameDay => "same-day",
    }
}

/// `30 kg`, `30.25 kg`: grams as kilograms without float rounding.
fn kilograms(grams: u128) -> String {
    format!("{} kg", decimal(grams, 1_000, 3))
}

/// `0.25 m³`: cubic centimetres as cubic metres.
fn cubic_metres(cm3: u128) -> String {
    format!("{} m³", decimal(cm3, 1_000_000, 6))
}

/// `value / unit` in decimal, trailing zeros dropped.
fn decimal(value: u128, unit: u128, digits: usize) -> String {
    let whole = value / unit;
    let fraction = value % unit;
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}
