//! The settings the analytics run with: one report currency, the cost model, and the
//! lifecycle window (docs/KPIS.md, "Cost model" and "Lifecycle").

use waybill_types::{Currency, Money};

/// The estimated cost of carrying an order, in minor units of the report currency:
/// `per_order_minor + ceil(per_kg_minor × chargeable grams / 1000)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostModel {
    /// Handling, paperwork, the first and last touch: every order pays it.
    pub per_order_minor: i64,
    /// Line haul and fuel, per kilogram of chargeable weight.
    pub per_kg_minor: i64,
}

impl Default for CostModel {
    fn default() -> Self {
        // EUR 4.00 an order and EUR 0.25 a kilogram: a parcel network's rough unit costs.
        CostModel { per_order_minor: 400, per_kg_minor: 25 }
    }
}

impl CostModel {
    /// See docs/KPIS.md, "Cost model".
    pub fn estimate_minor(&self, chargeable_weight_grams: u64) -> i64 {
        let weight = i128::from(chargeable_weight_grams) * i128::from(self.per_kg_minor);
        let per_weight = (weight + 999).div_euclid(1_000);
        let total = i128::from(self.per_order_minor) + per_weight;
        i64::try_from(total).unwrap_or(i64::MAX)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Money is reported in this currency only; orders in others are counted apart.
    pub currency: Currency,
    pub cost: CostModel,
    /// A customer who ordered within this many days is active (`--active-days`).
    pub active_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            currency: Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is a currency code")),
            cost: CostModel::default(),
            active_days: 90,
        }
    }
}

impl Policy {
    pub fn money(&self, amount_minor: i64) -> Money {
        Money::new(amount_minor, self.currency)
    }
}
