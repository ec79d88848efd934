//! A return: the customer sends (part of) a delivered order back.
//!
//! ```text
//! request ─► Requested ─approve─► Approved ─receive─► Received ─refund─► Refunded ─close─► Closed
//!                 └──reject──► Rejected ─close─► Closed      (refund again while Refunded)
//! ```
//!
//! - **Request**: the order is known and delivered, now is within `Policy::return_window`
//!   of the handover, and the lines are a subset of the order's cargo (each index exists,
//!   and no line comes back more often than it was shipped).
//! - **Approve** writes `Approved` and `PickupRequested` (consignee → shipper, the returned
//!   lines' load) in one append; dispatch plans the reverse shipment from the latter.
//! - **Receive** and **Refund** are never before the return's latest event, nor a request
//!   before the handover (beyond the clock skew, `waybill_command::time`).
//! - **Refund** is decided together with the order's ledger (`ledger.rs`).
//! - **Close** (rejected, received or refunded) writes `Closed` and `SurveyRequested`.

use waybill_types::{Address, Money, OrderId, ServiceLevel, Timestamp};

use super::case::{answer_survey, require};
use super::{
    CaseEvent, CaseId, CaseKind, CaseStatus, Context, Load, OrderFacts, Rejection, ReturnLine, Survey,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
    Received,
    Refunded,
    Closed,
}

impl CaseStatus for ReturnStatus {
    const KIND: CaseKind = CaseKind::Return;

    fn as_str(&self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Received => "received",
            ReturnStatus::Refunded => "refunded",
            ReturnStatus::Closed => "closed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnCase {
    pub id: CaseId,
    pub order_id: OrderId,
    pub customer_id: String,
    pub status: ReturnStatus,
    pub reason: String,
    pub lines: Vec<ReturnLine>,
    pub delivered_at: Timestamp,
    pub window_ends_at: Timestamp,
    /// Sum of this return's refunds.
    pub refunded: Option<Money>,
    pub rejection_reason: String,
    pub survey: Option<Survey>,
    pub requested_at: Timestamp,
    pub updated_at: Timestamp,
}

// The order facts are large, but a command lives for one decision.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ReturnCommand {
    /// `order`: the read model's facts about the order, if it knows it.
    Request {
        return_id: CaseId,
        order: Option<OrderFacts>,
        reason: String,
        lines: Vec<ReturnLine>,
    },
    Approve {
        note: String,
        order: Option<OrderFacts>,
    },
    Reject {
        reason: String,
    },
    Receive {
        note: String,
        /// When the reverse shipment was picked up, if dispatch has said so: the receipt
        /// cannot come before it.
        picked_up_at: Option<Timestamp>,
    },
    Close,
    AnswerSurvey {
        csat: u32,
        nps: u32,
        comment: String,
    },
}

// Carries the pickup address (now with coordinates); moved once, boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReturnEvent {
    /// How every case ends: closing and the survey (`case.rs`); then the return's own.
    Case(CaseEvent<OrderId>),
    Requested {
        return_id: CaseId,
        order_id: OrderId,
        customer_id: String,
        reason: String,
        lines: Vec<ReturnLine>,
        delivered_at: Timestamp,
        window_ends_at: Timestamp,
    },
    Approved {
        note: String,
    },
    PickupRequested {
        order_id: OrderId,
        return_id: CaseId,
        pickup: Address,
        destination: Address,
        load: Load,
        service_level: ServiceLevel,
    },
    Rejected {
        reason: String,
    },
    Received {
        note: String,
    },
    /// Written together with the ledger's `RefundIssued`.
    Refunded {
        amount: Money,
        total_refunded: Money,
    },
}

impl ReturnEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ReturnEvent::Requested { .. } => "waybill.aftersales.return_requested.v1",
            ReturnEvent::Approved { .. } => "waybill.aftersales.return_approved.v1",
            ReturnEvent::PickupRequested { .. } => "waybill.aftersales.return_pickup_requested.v1",
            ReturnEvent::Rejected { .. } => "waybill.aftersales.return_rejected.v1",
            ReturnEvent::Received { .. } => "waybill.aftersales.return_received.v1",
            ReturnEvent::Refunded { .. } => "waybill.aftersales.return_refunded.v1",
            ReturnEvent::Case(event) => event.event_type(CaseKind::Return),
        }
    }
}

pub fn decide_return(
    state: Option<&ReturnCase>,
    command: &ReturnCommand,
    context: &Context<'_>,
) -> Result<Vec<ReturnEvent>, Rejection> {
    use ReturnStatus::*;
    let state = match (state, command) {
        (None, ReturnCommand::Request { return_id, order, reason, lines }) => {
            return request(*return_id, order.as_ref(), reason, lines, context);
        }
        (Some(_), ReturnCommand::Request { .. }) => {
            return Err(Rejection::CaseExists { kind: CaseKind::Return });
        }
        (None, _) => return Err(Rejection::CaseNotFound { kind: CaseKind::Return }),
        (Some(state), _) => state,
    };
    match command {
        ReturnCommand::Request { .. } => Ok(Vec::new()),
        ReturnCommand::Approve { note, order } => {
            require(state.status, "approve", &[Requested])?;
            let order = order.as_ref().ok_or(Rejection::OrderNotFound(state.order_id))?;
            Ok(vec![
                ReturnEvent::Approved { note: note.clone() },
                ReturnEvent::PickupRequested {
                    order_id: state.order_id,
                    return_id: state.id,
                    pickup: order.consignee.clone(),
                    destination: order.shipper.clone(),
                    load: order.load_of(&state.lines),
                    service_level: order.service_level,
                },
            ])
        }
        ReturnCommand::Reject { reason } => {
            require(state.status, "reject", &[Requested])?;
            Ok(vec![ReturnEvent::Rejected { reason: reason.clone() }])
        }
        ReturnCommand::Receive { note, picked_up_at } => {
            require(state.status, "receive", &[Approved])?;
            // The receipt follows the approval that asked for the pickup and, once dispatch
            // has reported it, the reverse pickup itself (goods dropped off at a hub have none).
            let mut earlier = vec![("the return's latest event", state.updated_at)];
            earlier.extend(picked_up_at.map(|at| ("the reverse pickup", at)));
            context.recorded("received_at", &earlier)?;
            Ok(vec![ReturnEvent::Received { note: note.clone() }])
        }
        ReturnCommand::Close => {
            require(state.status, "close", &[Rejected, Received, Refunded])?;
            Ok(CaseEvent::closing(&state.customer_id, state.order_id).map(ReturnEvent::Case).into())
        }
        ReturnCommand::AnswerSurvey { csat, nps, comment } => {
            answer_survey(state.survey.as_ref(), CaseKind::Return)?;
            Ok(vec![ReturnEvent::Case(CaseEvent::answered(&state.customer_id, *csat, *nps, comment))])
        }
    }
}

fn request(
    return_id: CaseId,
    order: Option<&OrderFacts>,
    reason: &str,
    lines: &[ReturnLine],
    context: &Context<'_>,
) -> Result<Vec<ReturnEvent>, Rejection> {
    let Context { now, policy, .. } = *context;
    let Some(order) = order else {
        return Err(Rejection::invalid("order_id", "no such order"));
    };
    let delivered_at = order.delivered_at.ok_or(Rejection::NotDelivered(order.order_id))?;
    context.recorded("requested_at", &[("the order's handover", delivered_at)])?;
    let window_ends_at = delivered_at + policy.return_window;
    if now > window_ends_at {
        return Err(Rejection::ReturnWindowClosed {
            closed_at: window_ends_at,
            window: policy.return_window,
        });
    }
    let mut violations = Vec::new();
    let mut returned = vec![0u64; order.cargo.len()];
    let mut checked = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let cargo =
            usize::try_from(line.cargo_index).ok().and_then(|at| order.cargo.get(at).map(|c| (at, c)));
        let Some((at, cargo)) = cargo else {
            violations.push(waybill_types::FieldViolation::new(
                format!("lines[{index}].cargo_index"),
                format!("the order has {} cargo lines", order.cargo.len()),
            ));
            continue;
        };
        returned[at] += u64::from(line.quantity);
        if line.quantity == 0 || returned[at] > u64::from(cargo.quantity) {
            violations.push(waybill_types::FieldViolation::new(
                format!("lines[{index}].quantity"),
                format!("at most {} pieces of cargo line {at} were shipped", cargo.quantity),
            ));
        }
        checked.push(ReturnLine {
            cargo_index: line.cargo_index,
            quantity: line.quantity,
            description: cargo.description.clone(),
        });
    }
    if !violations.is_empty() {
        return Err(Rejection::Invalid { violations });
    }
    Ok(vec![ReturnEvent::Requested {
        return_id,
        order_id: order.order_id,
        customer_id: order.customer_id.clone(),
        reason: reason.to_owned(),
        lines: checked,
        delivered_at,
        window_ends_at,
    }])
}

/// Pure; the same on replay and live. `at` is the event's occurred-at.
pub fn evolve_return(state: Option<ReturnCase>, event: &ReturnEvent, at: Timestamp) -> Option<ReturnCase> {
    let Some(mut case) = state else {
        return match event {
            ReturnEvent::Requested {
                return_id,
                order_id,
                customer_id,
                reason,
                lines,
                delivered_at,
                window_ends_at,
            } => Some(ReturnCase {
                id: *return_id,
                order_id: *order_id,
                customer_id: customer_id.clone(),
                status: ReturnStatus::Requested,
                reason: reason.clone(),
                lines: lines.clone(),
                delivered_at: *delivered_at,
                window_ends_at: *window_ends_at,
                refunded: None,
                rejection_reason: String::new(),
                survey: None,
                requested_at: at,
                updated_at: at,
            }),
            _ => None,
        };
    };
    match event {
        ReturnEvent::Requested { .. } | ReturnEvent::PickupRequested { .. } => {}
        ReturnEvent::Approved { .. } => case.status = ReturnStatus::Approved,
        ReturnEvent::Rejected { reason } => {
            case.status = ReturnStatus::Rejected;
            case.rejection_reason = reason.clone();
        }
        ReturnEvent::Received { .. } => case.status = ReturnStatus::Received,
        ReturnEvent::Refunded { total_refunded, .. } => {
            case.status = ReturnStatus::Refunded;
            case.refunded = Some(*total_refunded);
        }
        ReturnEvent::Case(event) => {
            event.evolve(&mut case.status, ReturnStatus::Closed, &mut case.survey, at)
        }
    }
    case.updated_at = at;
    Some(case)
}
