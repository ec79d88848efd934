//! One order's ledger of money paid back: refunds of its returns and payments of its
//! claims, and what approved claims hold of the declared value until they are paid. A
//! refund is decided on the return and the ledger together (and written to both in one
//! atomic append, each with its expected version), so the sum of an order's refunds never
//! exceeds what the customer was charged, however many refunds race.
//!
//! Claims follow one rule at approval and at payment: what is left of the declared value is
//! `declared − paid − held by the order's other approved, unpaid claims`. An approval that
//! fits writes `ClaimAmountReserved` on the ledger with the claim's `Approved`, so two
//! approvals racing for the same money cannot both be stored (the second finds the ledger
//! moved on, decides again and is refused); the payment then replaces the reservation, and
//! rejecting an approved claim releases it. A claim approved before reservations existed
//! holds nothing; its payment is still checked against what is left.

use std::collections::BTreeMap;

use waybill_types::{Money, OrderId, Timestamp};

use super::case::require;
use super::claims::within_declared_value;
use super::{
    CaseId, CaseKind, Claim, ClaimCommand, ClaimEvent, ClaimStatus, Context, Rejection, ReturnCase,
    ReturnEvent, ReturnStatus, decide_claim,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    pub order_id: OrderId,
    /// Sum of the order's refunds so far.
    pub refunded: Option<Money>,
    /// Sum of the order's claim payments so far.
    pub claims_paid: Option<Money>,
    /// What each approved, unpaid claim holds of the declared value.
    pub claims_reserved: BTreeMap<CaseId, Money>,
    pub updated_at: Timestamp,
}

impl Ledger {
    /// What the order's approved, unpaid claims other than `claim_id` hold, in minor units.
    fn reserved_by_others(&self, claim_id: CaseId) -> i64 {
        self.claims_reserved
            .iter()
            .filter(|(id, _)| **id != claim_id)
            .fold(0i64, |sum, (_, amount)| sum.saturating_add(amount.amount_minor))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerEvent {
    RefundIssued {
        return_id: CaseId,
        amount: Money,
        total_refunded: Money,
        charged: Money,
    },
    ClaimPaymentIssued {
        claim_id: CaseId,
        amount: Money,
        total_paid: Money,
        declared_value: Money,
    },
    ClaimAmountReserved {
        claim_id: CaseId,
        amount: Money,
        total_paid: Money,
        total_reserved: Money,
        declared_value: Money,
    },
    ClaimReservationReleased {
        claim_id: CaseId,
        amount: Money,
    },
}

impl LedgerEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            LedgerEvent::RefundIssued { .. } => "waybill.aftersales.refund_issued.v1",
            LedgerEvent::ClaimPaymentIssued { .. } => "waybill.aftersales.claim_payment_issued.v1",
            LedgerEvent::ClaimAmountReserved { .. } => "waybill.aftersales.claim_amount_reserved.v1",
            LedgerEvent::ClaimReservationReleased { .. } => {
                "waybill.aftersales.claim_reservation_released.v1"
            }
        }
    }
}

fn same_currency(expected: Money, got: Money) -> Result<(), Rejection> {
    if expected.currency == got.currency {
        Ok(())
    } else {
        Err(Rejection::CurrencyMismatch {
            expected: expected.currency.to_string(),
            got: got.currency.to_string(),
        })
    }
}

fn sum(total: Option<Money>, amount: Money) -> Result<Money, Rejection> {
    match total {
        None => Ok(amount),
        Some(total) => {
            total.checked_add(amount).map_err(|error| Rejection::invalid("amount", error.to_string()))
        }
    }
}

/// A refund of `amount` on a received (or already refunded) return, within what is left
/// of `charged` after the order's earlier refunds.
pub fn decide_refund(
    case: Option<&ReturnCase>,
    ledger: Option<&Ledger>,
    amount: Money,
    charged: Option<Money>,
    context: &Context<'_>,
) -> Result<(Vec<ReturnEvent>, Vec<LedgerEvent>), Rejection> {
    let case = case.ok_or(Rejection::CaseNotFound { kind: CaseKind::Return })?;
    require(case.status, "refund", &[ReturnStatus::Received, ReturnStatus::Refunded])?;
    context.recorded("refunded_at", &[("the return's latest event", case.updated_at)])?;
    let charged = charged.ok_or(Rejection::ChargeUnknown)?;
    same_currency(charged, amount)?;
    let already = ledger.and_then(|ledger| ledger.refunded).unwrap_or(Money::zero(charged.currency));
    let remaining =
        charged.checked_sub(already).map_err(|error| Rejection::invalid("amount", error.to_string()))?;
    if amount.amount_minor > remaining.amount_minor {
        return Err(Rejection::RefundExceedsCharge { requested: amount, remaining, charged });
    }
    let total_refunded = sum(Some(already), amount)?;
    let case_total = sum(case.refunded, amount)?;
    Ok((
        vec![ReturnEvent::Refunded { amount, total_refunded: case_total }],
        vec![LedgerEvent::RefundIssued { return_id: case.id, amount, total_refunded, charged }],
    ))
}

/// What is left of `claim`'s declared value for `claim` itself: the declared value less the
/// order's claim payments and what its other approved, unpaid claims hold (`(remaining,
/// already paid, declared)`).
fn left_for_claim(claim: &Claim, ledger: Option<&Ledger>) -> Result<(Money, Money, Money), Rejection> {
    let declared = claim.declared_value.ok_or(Rejection::DeclaredValueUnknown)?;
    let paid = ledger.and_then(|ledger| ledger.claims_paid).unwrap_or(Money::zero(declared.currency));
    let held = ledger.map_or(0, |ledger| ledger.reserved_by_others(claim.id));
    let remaining = declared
        .checked_sub(paid)
        .and_then(|left| left.checked_sub(Money::new(held, declared.currency)))
        .map_err(|error| Rejection::invalid("amount", error.to_string()))?;
    Ok((remaining, paid, declared))
}

/// The approval of `amount` on an open or assessed claim, within what is left of the
/// declared value (see the module docs): the claim's `Approved` and the ledger's
/// `ClaimAmountReserved`, written together.
pub fn decide_claim_approval(
    claim: Option<&Claim>,
    ledger: Option<&Ledger>,
    amount: Money,
    context: &Context<'_>,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    let claim_events = decide_claim(claim, &ClaimCommand::Approve { amount }, context)?;
    let claim = claim.ok_or(Rejection::CaseNotFound { kind: CaseKind::Claim })?;
    let (remaining, total_paid, declared) = left_for_claim(claim, ledger)?;
    if amount.amount_minor > remaining.amount_minor {
        return Err(Rejection::ApprovalExceedsDeclaredValue { requested: amount, remaining, declared });
    }
    let held = ledger.map_or(0, |ledger| ledger.reserved_by_others(claim.id));
    let total_reserved = sum(Some(Money::new(held, declared.currency)), amount)?;
    Ok((
        claim_events,
        vec![LedgerEvent::ClaimAmountReserved {
            claim_id: claim.id,
            amount,
            total_paid,
            total_reserved,
            declared_value: declared,
        }],
    ))
}

/// The rejection of a claim; one approved earlier releases what it held on the ledger.
pub fn decide_claim_rejection(
    claim: Option<&Claim>,
    ledger: Option<&Ledger>,
    reason: String,
    context: &Context<'_>,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    let claim_events = decide_claim(claim, &ClaimCommand::Reject { reason }, context)?;
    let claim = claim.ok_or(Rejection::CaseNotFound { kind: CaseKind::Claim })?;
    let held = ledger.and_then(|ledger| ledger.claims_reserved.get(&claim.id).copied());
    let ledger_events = held
        .map(|amount| LedgerEvent::ClaimReservationReleased { claim_id: claim.id, amount })
        .into_iter()
        .collect();
    Ok((claim_events, ledger_events))
}

/// The payment of an approved claim's amount, within what is left of the declared value
/// after the order's earlier claim payments and what its other approved claims hold.
pub fn decide_claim_payment(
    claim: Option<&Claim>,
    ledger: Option<&Ledger>,
    context: &Context<'_>,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    let claim = claim.ok_or(Rejection::CaseNotFound { kind: CaseKind::Claim })?;
    require(claim.status, "pay", &[ClaimStatus::Approved])?;
    context.recorded("paid_at", &[("the claim's latest event", claim.updated_at)])?;
    let amount = claim.approved.ok_or(Rejection::InvalidState {
        action: "pay",
        kind: CaseKind::Claim,
        status: "approved without an amount",
    })?;
    within_declared_value(claim, amount)?;
    let (remaining, already, declared) = left_for_claim(claim, ledger)?;
    if amount.amount_minor > remaining.amount_minor {
        return Err(Rejection::PaymentsExceedDeclaredValue { requested: amount, remaining, declared });
    }
    let total_paid = sum(Some(already), amount)?;
    Ok((
        vec![ClaimEvent::Paid { amount }],
        vec![LedgerEvent::ClaimPaymentIssued {
            claim_id: claim.id,
            amount,
            total_paid,
            declared_value: declared,
        }],
    ))
}

/// `order_id` names the ledger a first event creates (on the wire it is the envelope's).
pub fn evolve_ledger(state: Option<Ledger>, order_id: OrderId, event: &LedgerEvent, at: Timestamp) -> Ledger {
    let mut ledger = state.unwrap_or(Ledger {
        order_id,
        refunded: None,
        claims_paid: None,
        claims_reserved: BTreeMap::new(),
        updated_at: at,
    });
    match event {
        LedgerEvent::RefundIssued { total_refunded, .. } => ledger.refunded = Some(*total_refunded),
        LedgerEvent::ClaimPaymentIssued { claim_id, total_paid, .. } => {
            ledger.claims_paid = Some(*total_paid);
            ledger.claims_reserved.remove(claim_id);
        }
        LedgerEvent::ClaimAmountReserved { claim_id, amount, .. } => {
            ledger.claims_reserved.insert(*claim_id, *amount);
        }
        LedgerEvent::ClaimReservationReleased { claim_id, .. } => {
            ledger.claims_reserved.remove(claim_id);
        }
    }
    ledger.updated_at = at;
    ledger
}
