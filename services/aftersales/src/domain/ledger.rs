//! One order's ledger of money paid back: refunds of its returns and payments of its
//! claims. A refund is decided on the return and the ledger together (and written to both
//! in one atomic append, each with its expected version), so the sum of an order's refunds
//! never exceeds what the customer was charged, however many refunds race; claim payments
//! likewise never exceed the order's declared value.

use waybill_types::{Money, OrderId, Timestamp};

use super::claims::within_declared_value;
use super::{
    CaseId, CaseKind, Claim, ClaimEvent, ClaimStatus, Rejection, ReturnCase, ReturnEvent, ReturnStatus,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    pub order_id: OrderId,
    /// Sum of the order's refunds so far.
    pub refunded: Option<Money>,
    /// Sum of the order's claim payments so far.
    pub claims_paid: Option<Money>,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerEvent {
    RefundIssued { return_id: CaseId, amount: Money, total_refunded: Money, charged: Money },
    ClaimPaymentIssued { claim_id: CaseId, amount: Money, total_paid: Money, declared_value: Money },
}

impl LedgerEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            LedgerEvent::RefundIssued { .. } => "waybill.aftersales.refund_issued.v1",
            LedgerEvent::ClaimPaymentIssued { .. } => "waybill.aftersales.claim_payment_issued.v1",
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
) -> Result<(Vec<ReturnEvent>, Vec<LedgerEvent>), Rejection> {
    let case = case.ok_or(Rejection::CaseNotFound { kind: CaseKind::Return })?;
    if !matches!(case.status, ReturnStatus::Received | ReturnStatus::Refunded) {
        return Err(Rejection::InvalidState {
            action: "refund",
            kind: CaseKind::Return,
            status: case.status.as_str(),
        });
    }
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

/// The payment of an approved claim's amount, within what is left of the declared value
/// after the order's earlier claim payments.
pub fn decide_claim_payment(
    claim: Option<&Claim>,
    ledger: Option<&Ledger>,
) -> Result<(Vec<ClaimEvent>, Vec<LedgerEvent>), Rejection> {
    let claim = claim.ok_or(Rejection::CaseNotFound { kind: CaseKind::Claim })?;
    if claim.status != ClaimStatus::Approved {
        return Err(Rejection::InvalidState {
            action: "pay",
            kind: CaseKind::Claim,
            status: claim.status.as_str(),
        });
    }
    let amount = claim.approved.ok_or(Rejection::InvalidState {
        action: "pay",
        kind: CaseKind::Claim,
        status: "approved without an amount",
    })?;
    within_declared_value(claim, amount)?;
    let declared = claim.declared_value.ok_or(Rejection::DeclaredValueUnknown)?;
    let already = ledger.and_then(|ledger| ledger.claims_paid).unwrap_or(Money::zero(declared.currency));
    let remaining =
        declared.checked_sub(already).map_err(|error| Rejection::invalid("amount", error.to_string()))?;
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
    let mut ledger = state.unwrap_or(Ledger { order_id, refunded: None, claims_paid: None, updated_at: at });
    match event {
        LedgerEvent::RefundIssued { total_refunded, .. } => ledger.refunded = Some(*total_refunded),
        LedgerEvent::ClaimPaymentIssued { total_paid, .. } => ledger.claims_paid = Some(*total_paid),
    }
    ledger.updated_at = at;
    ledger
}
