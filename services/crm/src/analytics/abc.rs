//! ABC classes by profit contribution (docs/KPIS.md, "ABC classification").
//!
//! Customers are ranked by profit contribution, highest first, ties by customer id. With
//! `T` the sum of the positive contributions: A (key) is the smallest prefix whose
//! cumulative profit reaches at least 80% of `T`; B (suitable) the next customers until
//! the cumulative profit reaches at least 95% of `T`; every other customer is C (general),
//! and so is every customer whose contribution is zero or negative. The comparison is in
//! integers (`cumulative × 100 ≥ 80 × T`), so no rounding decides a class.

use std::collections::BTreeMap;

use waybill_types::CustomerId;

use super::Rate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbcClass {
    A,
    B,
    C,
}

impl AbcClass {
    pub const ALL: [AbcClass; 3] = [AbcClass::A, AbcClass::B, AbcClass::C];

    /// The seed documents' expectation: (percent of customers, percent of profit).
    pub fn seed_shares(self) -> (u32, u32) {
        match self {
            AbcClass::A => (5, 80),
            AbcClass::B => (15, 15),
            AbcClass::C => (80, 5),
        }
    }
}

/// What one class holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassShare {
    pub class: AbcClass,
    /// Its customers, by rank.
    pub customers: Vec<CustomerId>,
    /// Customers in the class over all customers.
    pub customer_share: Rate,
    /// Sum of the class's profit contributions (negative ones included, for C).
    pub profit_minor: i64,
    /// The class's profit in basis points of the total positive profit; `None` when that
    /// total is zero.
    pub profit_share_basis_points: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbcReport {
    pub total_positive_profit_minor: i64,
    pub classes: BTreeMap<CustomerId, AbcClass>,
    /// A, B, C, in that order.
    pub shares: Vec<ClassShare>,
}

impl AbcReport {
    pub fn class_of(&self, customer_id: &CustomerId) -> AbcClass {
        self.classes.get(customer_id).copied().unwrap_or(AbcClass::C)
    }
}

/// Classifies `profits` (customer, profit contribution in minor units). See the module docs
/// and docs/KPIS.md, "ABC classification".
pub fn classify(profits: &[(CustomerId, i64)]) -> AbcReport {
    let mut ranked: Vec<&(CustomerId, i64)> = profits.iter().collect();
    ranked.sort_by(|left, right| right.1.cmp(&left.1).then_with(|| left.0.cmp(&right.0)));
    let total: i128 = ranked.iter().map(|(_, profit)| i128::from((*profit).max(0))).sum();
    let mut classes = BTreeMap::new();
    let mut cumulative: i128 = 0;
    for (customer_id, profit) in &ranked {
        let class = if *profit <= 0 || total == 0 {
            AbcClass::C
        } else if cumulative * 100 < total * 80 {
            AbcClass::A
        } else if cumulative * 100 < total * 95 {
            AbcClass::B
        } else {
            AbcClass::C
        };
        // The class is decided on the profit *before* this customer: the customer that
        // makes the cumulative reach 80% is still in A (the smallest prefix reaching it).
        cumulative += i128::from((*profit).max(0));
        classes.insert(customer_id.clone(), class);
    }
    let all = u64::try_from(ranked.len()).unwrap_or(u64::MAX);
    let shares = AbcClass::ALL
        .iter()
        .map(|class| {
            let members: Vec<&(CustomerId, i64)> =
                ranked.iter().copied().filter(|(id, _)| classes.get(id) == Some(class)).collect();
            let profit: i128 = members.iter().map(|(_, profit)| i128::from(*profit)).sum();
            ClassShare {
                class: *class,
                customers: members.iter().map(|(id, _)| id.clone()).collect(),
                customer_share: Rate::new(u64::try_from(members.len()).unwrap_or(u64::MAX), all),
                profit_minor: clamp(profit),
                profit_share_basis_points: (total > 0).then(|| clamp(profit * 10_000 / total)),
            }
        })
        .collect();
    AbcReport { total_positive_profit_minor: clamp(total), classes, shares }
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}
