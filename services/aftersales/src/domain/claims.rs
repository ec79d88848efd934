//! A claim: the customer is compensated for damaged or lost goods.
//!
//! ```text
//! open ─► Open ─assess─► Assessed ─approve─► Approved ─pay─► Paid ─close─► Closed
//!           └─approve──────────────┘    any of Open/Assessed/Approved ─reject─► Rejected ─close─► Closed
//! ```
//!
//! - **Open**: by delivery's `DeliveryExceptionRaised` (damaged or lost; the claim id is
//!   derived from that event's id, so a redelivery finds the same claim) or by an agent.
//!   Loss and total damage claim the declared value; partial damage waits for assessment.
//!   Opening an existing claim again decides nothing.
//! - **Assess** (open or assessed): an amount and a note.
//! - **Approve** (open or assessed) is decided together with the order's ledger
//!   (`ledger.rs`, `decide_claim_approval`): never above what is left of the declared value
//!   after the order's claim payments and what its other approved claims hold; the approved
//!   amount is then held on the ledger. The rule here is the claim's own half (status,
//!   currency, the declared value itself).
//! - **Pay** is decided together with the order's ledger: the approved amount, and all
//!   claim payments and approvals of the order together never above the declared value.
//! - **Reject** (open, assessed or approved), with the ledger: an approved claim releases
//!   what it held.
//! - **Close** (paid or rejected) writes `Closed` and `SurveyRequested`.

use waybill_types::{Money, OrderId, Timestamp};

use super::case::{answer_survey, require};
use super::{CaseEvent, CaseId, CaseKind, CaseStatus, Context, OrderFacts, Rejection, Survey};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClaimKind {
    DamagedPartial,
    DamagedTotal,
    Lost,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    Open,
    Assessed,
    Approved,
    Paid,
    Rejected,
    Closed,
}

impl CaseStatus for ClaimStatus {
    const KIND: CaseKind = CaseKind::Claim;

    fn as_str(&self) -> &'static str {
        match self {
            ClaimStatus::Open => "open",
            ClaimStatus::Assessed => "assessed",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Paid => "paid",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Closed => "closed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub id: CaseId,
    pub order_id: OrderId,
    pub customer_id: String,
    pub kind: ClaimKind,
    pub status: ClaimStatus,
    pub description: String,
    pub declared_value: Option<Money>,
    pub claimed: Option<Money>,
    pub assessed: Option<Money>,
    pub assessment_note: String,
    pub approved: Option<Money>,
    pub paid: Option<Money>,
    pub rejection_reason: String,
    pub automatic: bool,
    pub source_event_id: String,
    pub survey: Option<Survey>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
}

// The order facts are large, but a command lives for one decision.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimCommand {
    Open {
        claim_id: CaseId,
        order: Option<OrderFacts>,
        kind: ClaimKind,
        description: String,
        automatic: bool,
        source_event_id: String,
    },
    Assess {
        amount: Money,
        note: String,
    },
    Approve {
        amount: Money,
    },
    Reject {
        reason: String,
    },
    Close,
    AnswerSurvey {
        csat: u32,
        nps: u32,
        comment: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimEvent {
    /// How every case ends: closing and the survey (`case.rs`); then the claim's own.
    Case(CaseEvent<OrderId>),
    Opened {
        claim_id: CaseId,
        order_id: OrderId,
        customer_id: String,
        kind: ClaimKind,
        description: String,
        claimed: Option<Money>,
        declared_value: Option<Money>,
        automatic: bool,
        source_event_id: String,
    },
    Assessed {
        amount: Money,
        note: String,
    },
    Approved {
        amount: Money,
    },
    /// Written together with the ledger's `ClaimPaymentIssued`.
    Paid {
        amount: Money,
    },
    Rejected {
        reason: String,
    },
}

impl ClaimEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ClaimEvent::Opened { .. } => "waybill.aftersales.claim_opened.v1",
            ClaimEvent::Assessed { .. } => "waybill.aftersales.claim_assessed.v1",
            ClaimEvent::Approved { .. } => "waybill.aftersales.claim_approved.v1",
            ClaimEvent::Paid { .. } => "waybill.aftersales.claim_paid.v1",
            ClaimEvent::Rejected { .. } => "waybill.aftersales.claim_rejected.v1",
            ClaimEvent::Case(event) => event.event_type(CaseKind::Claim),
        }
    }
}

/// `amount` is in the order's currency and not above its declared value.
pub(crate) fn within_declared_value(claim: &Claim, amount: Money) -> Result<(), Rejection> {
    let declared = claim.declared_value.ok_or(Rejection::DeclaredValueUnknown)?;
    if declared.currency != amount.currency {
        return Err(Rejection::CurrencyMismatch {
            expected: declared.currency.to_string(),
            got: amount.currency.to_string(),
        });
    }
    if amount.amount_minor > declared.amount_minor {
        return Err(Rejection::AboveDeclaredValue { requested: amount, declared });
    }
    Ok(())
}

pub fn decide_claim(
    state: Option<&Claim>,
    command: &ClaimCommand,
    context: &Context<'_>,
) -> Result<Vec<ClaimEvent>, Rejection> {
    use ClaimStatus::*;
    let state = match (state, command) {
        (None, ClaimCommand::Open { claim_id, order, kind, description, automatic, source_event_id }) => {
            let order = order.as_ref().ok_or_else(|| Rejection::invalid("order_id", "no such order"))?;
            let declared_value = order.declared_value();
            let claimed = match kind {
                ClaimKind::Lost | ClaimKind::DamagedTotal => declared_value,
                ClaimKind::DamagedPartial | ClaimKind::Other => None,
            };
            return Ok(vec![ClaimEvent::Opened {
                claim_id: *claim_id,
                order_id: order.order_id,
                customer_id: order.customer_id.clone(),
                kind: *kind,
                description: description.clone(),
                claimed,
                declared_value,
                automatic: *automatic,
                source_event_id: source_event_id.clone(),
            }]);
        }
        // The claim this exception (or request) opened already exists: nothing more.
        (Some(_), ClaimCommand::Open { .. }) => return Ok(Vec::new()),
        (None, _) => return Err(Rejection::CaseNotFound { kind: CaseKind::Claim }),
        (Some(state), _) => state,
    };
    // Every decision on a claim follows the claim's latest event (a clock behind it would
    // make the claim's handling time negative).
    let latest = [("the claim's latest event", state.updated_at)];
    match command {
        ClaimCommand::Open { .. } => Ok(Vec::new()),
        ClaimCommand::Assess { amount, note } => {
            require(state.status, "assess", &[Open, Assessed])?;
            context.recorded("assessed_at", &latest)?;
            within_declared_value(state, *amount)?;
            Ok(vec![ClaimEvent::Assessed { amount: *amount, note: note.clone() }])
        }
        ClaimCommand::Approve { amount } => {
            require(state.status, "approve", &[Open, Assessed])?;
            context.recorded("approved_at", &latest)?;
            within_declared_value(state, *amount)?;
            Ok(vec![ClaimEvent::Approved { amount: *amount }])
        }
        ClaimCommand::Reject { reason } => {
            require(state.status, "reject", &[Open, Assessed, Approved])?;
            context.recorded("rejected_at", &latest)?;
            Ok(vec![ClaimEvent::Rejected { reason: reason.clone() }])
        }
        ClaimCommand::Close => {
            require(state.status, "close", &[Paid, Rejected])?;
            context.recorded("closed_at", &latest)?;
            Ok(CaseEvent::closing(&state.customer_id, state.order_id).map(ClaimEvent::Case).into())
        }
        ClaimCommand::AnswerSurvey { csat, nps, comment } => {
            answer_survey(state.survey.as_ref(), CaseKind::Claim)?;
            Ok(vec![ClaimEvent::Case(CaseEvent::answered(&state.customer_id, *csat, *nps, comment))])
        }
    }
}

pub fn evolve_claim(state: Option<Claim>, event: &ClaimEvent, at: Timestamp) -> Option<Claim> {
    let Some(mut claim) = state else {
        return match event {
            ClaimEvent::Opened {
                claim_id,
                order_id,
                customer_id,
                kind,
                description,
                claimed,
                declared_value,
                automatic,
                source_event_id,
            } => Some(Claim {
                id: *claim_id,
                order_id: *order_id,
                customer_id: customer_id.clone(),
                kind: *kind,
                status: ClaimStatus::Open,
                description: description.clone(),
                declared_value: *declared_value,
                claimed: *claimed,
                assessed: None,
                assessment_note: String::new(),
                approved: None,
                paid: None,
                rejection_reason: String::new(),
                automatic: *automatic,
                source_event_id: source_event_id.clone(),
                survey: None,
                opened_at: at,
                updated_at: at,
            }),
            _ => None,
        };
    };
    match event {
        ClaimEvent::Opened { .. } => {}
        ClaimEvent::Assessed { amount, note } => {
            claim.status = ClaimStatus::Assessed;
            claim.assessed = Some(*amount);
            claim.assessment_note = note.clone();
            if claim.claimed.is_none() {
                claim.claimed = Some(*amount);
            }
        }
        ClaimEvent::Approved { amount } => {
            claim.status = ClaimStatus::Approved;
            claim.approved = Some(*amount);
        }
        ClaimEvent::Paid { amount } => {
            claim.status = ClaimStatus::Paid;
            claim.paid = Some(*amount);
        }
        ClaimEvent::Rejected { reason } => {
            claim.status = ClaimStatus::Rejected;
            claim.rejection_reason = reason.clone();
        }
        ClaimEvent::Case(event) => {
            event.evolve(&mut claim.status, ClaimStatus::Closed, &mut claim.survey, at)
        }
    }
    claim.updated_at = at;
    Some(claim)
}
