//! The event codec: after-sales' domain events to and from the wire envelope on the log, and
//! the wire forms of its value types (shared with `api.rs`).
//!
//! This and `api.rs` are the only places where after-sales touches prost types. Decoding
//! reads what after-sales itself wrote (and checked) earlier, so it is lenient with values
//! (a broken timestamp reads as the epoch) and strict with structure: an event that no
//! longer decodes is a poison event, reported as `CodecError` so the projection stops.

use waybill_eventlog::NewEvent;
use waybill_proto::convert;
use waybill_proto::envelope::{self, Belongs, Envelope, EventMeta};
use waybill_proto::stored;
use waybill_proto::v1::{self, after_sales_event};
use waybill_types::{Money, OrderId, Timestamp};

use crate::domain::{
    CaseEvent, CaseId, CaseKind, ClaimEvent, ClaimKind, ClaimStatus, ComplaintCategory, ComplaintEvent,
    ComplaintStatus, LedgerEvent, Load, ReturnEvent, ReturnLine, ReturnStatus, Severity, SlaBreach,
};

/// Payload schema version of after-sales' events.
pub const SCHEMA_VERSION: u32 = 1;

/// Why stored bytes are not one of after-sales' events (shared by every codec).
pub use waybill_proto::envelope::DecodeError as CodecError;

/// An event of any after-sales aggregate, as read back from the log.
#[derive(Clone, Debug)]
pub enum Decoded {
    Return { id: CaseId, meta: EventMeta, event: ReturnEvent },
    Claim { id: CaseId, meta: EventMeta, event: ClaimEvent },
    Complaint { id: CaseId, meta: EventMeta, event: ComplaintEvent },
    Ledger { order_id: OrderId, meta: EventMeta, event: LedgerEvent },
}

fn encode(
    aggregate_id: &str,
    order_id: &str,
    event_type: &str,
    event: after_sales_event::Event,
    meta: &EventMeta,
) -> NewEvent {
    envelope::encode(meta, Belongs { aggregate_id, order_id }, event_type, SCHEMA_VERSION, event)
}

fn money(value: &Money) -> Option<v1::Money> {
    Some(value.into())
}

fn opt_money(value: &Option<Money>) -> Option<v1::Money> {
    value.as_ref().map(Into::into)
}

fn ts(value: Timestamp) -> Option<prost_types::Timestamp> {
    Some(convert::timestamp_to_wire(value))
}

/// The events every case shares, on the wire: closing is the case kind's own message, the
/// survey's name the case and its kind.
fn case_event_to_wire<O: Copy + Into<Option<OrderId>>>(
    kind: CaseKind,
    id: CaseId,
    event: &CaseEvent<O>,
) -> after_sales_event::Event {
    use after_sales_event::Event as Wire;
    match (event, kind) {
        (CaseEvent::Closed, CaseKind::Return) => Wire::ReturnClosed(v1::ReturnClosed {}),
        (CaseEvent::Closed, CaseKind::Claim) => Wire::ClaimClosed(v1::ClaimClosed {}),
        (CaseEvent::Closed, CaseKind::Complaint) => Wire::ComplaintClosed(v1::ComplaintClosed {}),
        (CaseEvent::SurveyRequested { customer_id, order_id }, _) => {
            Wire::SurveyRequested(v1::SurveyRequested {
                case_kind: case_kind_to_wire(kind).into(),
                case_id: id.to_string(),
                customer_id: customer_id.clone(),
                order_id: (*order_id).into().map(|id| id.to_string()).unwrap_or_default(),
            })
        }
        (CaseEvent::SurveyAnswered { customer_id, csat, nps, comment }, _) => {
            Wire::SurveyAnswered(v1::SurveyAnswered {
                case_kind: case_kind_to_wire(kind).into(),
                case_id: id.to_string(),
                customer_id: customer_id.clone(),
                csat: *csat,
                nps: *nps,
                comment: comment.clone(),
            })
        }
    }
}

/// A survey's answer as read back, for the case of whichever kind it names.
fn survey_answered_from_wire<O>(answered: v1::SurveyAnswered) -> CaseEvent<O> {
    CaseEvent::SurveyAnswered {
        customer_id: answered.customer_id,
        csat: answered.csat,
        nps: answered.nps,
        comment: answered.comment,
    }
}

pub fn encode_return(id: CaseId, order_id: OrderId, event: &ReturnEvent, meta: &EventMeta) -> NewEvent {
    use after_sales_event::Event as Wire;
    let wire = match event {
        ReturnEvent::Requested {
            order_id, customer_id, reason, lines, delivered_at, window_ends_at, ..
        } => Wire::ReturnRequested(v1::ReturnRequested {
            order_id: order_id.to_string(),
            customer_id: customer_id.clone(),
            reason: reason.clone(),
            lines: lines.iter().map(line_to_wire).collect(),
            delivered_at: ts(*delivered_at),
            window_ends_at: ts(*window_ends_at),
        }),
        ReturnEvent::Approved { note } => Wire::ReturnApproved(v1::ReturnApproved { note: note.clone() }),
        ReturnEvent::PickupRequested { order_id, return_id, pickup, destination, load, service_level } => {
            Wire::ReturnPickupRequested(v1::ReturnPickupRequested {
                order_id: order_id.to_string(),
                return_id: return_id.to_string(),
                pickup_address: Some(pickup.into()),
                destination_address: Some(destination.into()),
                load: Some(v1::Load { weight_grams: load.weight_grams, volume_cm3: load.volume_cm3 }),
                service_level: v1::ServiceLevel::from(*service_level).into(),
            })
        }
        ReturnEvent::Rejected { reason } => {
            Wire::ReturnRejected(v1::ReturnRejected { reason: reason.clone() })
        }
        ReturnEvent::Received { note } => Wire::ReturnReceived(v1::ReturnReceived { note: note.clone() }),
        ReturnEvent::Refunded { amount, total_refunded } => Wire::ReturnRefunded(v1::ReturnRefunded {
            amount: money(amount),
            total_refunded: money(total_refunded),
        }),
        ReturnEvent::Case(event) => case_event_to_wire(CaseKind::Return, id, event),
    };
    encode(&id.to_string(), &order_id.to_string(), event.event_type(), wire, meta)
}

pub fn encode_claim(id: CaseId, order_id: OrderId, event: &ClaimEvent, meta: &EventMeta) -> NewEvent {
    use after_sales_event::Event as Wire;
    let wire = match event {
        ClaimEvent::Opened {
            order_id,
            customer_id,
            kind,
            description,
            claimed,
            declared_value,
            automatic,
            source_event_id,
            ..
        } => Wire::ClaimOpened(v1::ClaimOpened {
            order_id: order_id.to_string(),
            customer_id: customer_id.clone(),
            kind: claim_kind_to_wire(*kind).into(),
            description: description.clone(),
            claimed: opt_money(claimed),
            declared_value: opt_money(declared_value),
            automatic: *automatic,
            source_event_id: source_event_id.clone(),
        }),
        ClaimEvent::Assessed { amount, note } => {
            Wire::ClaimAssessed(v1::ClaimAssessed { amount: money(amount), note: note.clone() })
        }
        ClaimEvent::Approved { amount } => Wire::ClaimApproved(v1::ClaimApproved { amount: money(amount) }),
        ClaimEvent::Paid { amount } => Wire::ClaimPaid(v1::ClaimPaid { amount: money(amount) }),
        ClaimEvent::Rejected { reason } => Wire::ClaimRejected(v1::ClaimRejected { reason: reason.clone() }),
        ClaimEvent::Case(event) => case_event_to_wire(CaseKind::Claim, id, event),
    };
    encode(&id.to_string(), &order_id.to_string(), event.event_type(), wire, meta)
}

pub fn encode_complaint(
    id: CaseId,
    order_id: Option<OrderId>,
    event: &ComplaintEvent,
    meta: &EventMeta,
) -> NewEvent {
    use after_sales_event::Event as Wire;
    let wire = match event {
        ComplaintEvent::Filed {
            customer_id,
            order_id,
            category,
            severity,
            description,
            acknowledge_by,
            resolve_by,
            ..
        } => Wire::ComplaintFiled(v1::ComplaintFiled {
            customer_id: customer_id.clone(),
            order_id: order_id.map(|id| id.to_string()).unwrap_or_default(),
            category: category_to_wire(*category).into(),
            severity: severity_to_wire(*severity).into(),
            description: description.clone(),
            acknowledge_by: ts(*acknowledge_by),
            resolve_by: ts(*resolve_by),
        }),
        ComplaintEvent::Acknowledged { note, within_sla } => {
            Wire::ComplaintAcknowledged(v1::ComplaintAcknowledged {
                note: note.clone(),
                within_sla: *within_sla,
            })
        }
        ComplaintEvent::Escalated { reason, automatic, breach, deadline } => {
            Wire::ComplaintEscalated(v1::ComplaintEscalated {
                reason: reason.clone(),
                automatic: *automatic,
                breach: breach.map_or(v1::SlaBreach::Unspecified, breach_to_wire).into(),
                deadline: deadline.map(convert::timestamp_to_wire),
            })
        }
        ComplaintEvent::Resolved { resolution, compensation, within_sla } => {
            Wire::ComplaintResolved(v1::ComplaintResolved {
                resolution: resolution.clone(),
                compensation: opt_money(compensation),
                within_sla: *within_sla,
            })
        }
        ComplaintEvent::Case(event) => case_event_to_wire(CaseKind::Complaint, id, event),
    };
    let order_id = order_id.map(|id| id.to_string()).unwrap_or_default();
    encode(&id.to_string(), &order_id, event.event_type(), wire, meta)
}

pub fn encode_ledger(order_id: OrderId, event: &LedgerEvent, meta: &EventMeta) -> NewEvent {
    use after_sales_event::Event as Wire;
    let wire = match event {
        LedgerEvent::RefundIssued { return_id, amount, total_refunded, charged } => {
            Wire::RefundIssued(v1::RefundIssued {
                return_id: return_id.to_string(),
                amount: money(amount),
                total_refunded: money(total_refunded),
                charged: money(charged),
            })
        }
        LedgerEvent::ClaimPaymentIssued { claim_id, amount, total_paid, declared_value } => {
            Wire::ClaimPaymentIssued(v1::ClaimPaymentIssued {
                claim_id: claim_id.to_string(),
                amount: money(amount),
                total_paid: money(total_paid),
                declared_value: money(declared_value),
            })
        }
        LedgerEvent::ClaimAmountReserved { claim_id, amount, total_paid, total_reserved, declared_value } => {
            Wire::ClaimAmountReserved(v1::ClaimAmountReserved {
                claim_id: claim_id.to_string(),
                amount: money(amount),
                total_paid: money(total_paid),
                total_reserved: money(total_reserved),
                declared_value: money(declared_value),
            })
        }
        LedgerEvent::ClaimReservationReleased { claim_id, amount } => {
            Wire::ClaimReservationReleased(v1::ClaimReservationReleased {
                claim_id: claim_id.to_string(),
                amount: money(amount),
            })
        }
    };
    let id = order_id.to_string();
    encode(&id, &id, event.event_type(), wire, meta)
}

pub fn decode(payload: &[u8]) -> Result<Decoded, CodecError> {
    let Envelope { header, event: wire } = envelope::decode_owned::<after_sales_event::Event>(payload)?;
    let meta = header.meta()?;
    let field = |name: &str| CodecError::BadField(name.to_owned());
    // Amounts and ids an event cannot be without: missing or unreadable, the event is broken.
    let required_money =
        |value: Option<v1::Money>, name: &str| stored::money(value.as_ref()).ok_or_else(|| field(name));
    let case_id_in = |text: &str, name: &str| CaseId::parse(text).ok_or_else(|| field(name));
    let id = case_id_in(&header.aggregate_id, "aggregate_id");
    let order_id = OrderId::parse(&header.order_id).map_err(|_| field("order_id"));
    let opt_order = || (!header.order_id.is_empty()).then(|| OrderId::parse(&header.order_id).ok()).flatten();
    use after_sales_event::Event as Wire;
    let ret = |event: ReturnEvent| -> Result<Decoded, CodecError> {
        Ok(Decoded::Return {
            id: case_id_in(&header.aggregate_id, "aggregate_id")?,
            meta: meta.clone(),
            event,
        })
    };
    let claim = |event: ClaimEvent| -> Result<Decoded, CodecError> {
        Ok(Decoded::Claim {
            id: case_id_in(&header.aggregate_id, "aggregate_id")?,
            meta: meta.clone(),
            event,
        })
    };
    let complaint = |event: ComplaintEvent| -> Result<Decoded, CodecError> {
        Ok(Decoded::Complaint {
            id: case_id_in(&header.aggregate_id, "aggregate_id")?,
            meta: meta.clone(),
            event,
        })
    };
    match wire {
        Wire::ReturnRequested(requested) => ret(ReturnEvent::Requested {
            return_id: id?,
            order_id: order_id?,
            customer_id: requested.customer_id,
            reason: requested.reason,
            lines: requested.lines.into_iter().map(line_from_wire).collect(),
            delivered_at: convert::timestamp_from_wire(requested.delivered_at.as_ref()),
            window_ends_at: convert::timestamp_from_wire(requested.window_ends_at.as_ref()),
        }),
        Wire::ReturnApproved(approved) => ret(ReturnEvent::Approved { note: approved.note }),
        Wire::ReturnPickupRequested(pickup) => {
            let load = pickup.load.unwrap_or_default();
            ret(ReturnEvent::PickupRequested {
                order_id: order_id?,
                return_id: id?,
                pickup: stored::address(pickup.pickup_address.as_ref()),
                destination: stored::address(pickup.destination_address.as_ref()),
                load: Load { weight_grams: load.weight_grams, volume_cm3: load.volume_cm3 },
                service_level: stored::service_level(pickup.service_level)
                    .ok_or_else(|| field("service_level"))?,
            })
        }
        Wire::ReturnRejected(rejected) => ret(ReturnEvent::Rejected { reason: rejected.reason }),
        Wire::ReturnReceived(received) => ret(ReturnEvent::Received { note: received.note }),
        Wire::ReturnRefunded(refunded) => ret(ReturnEvent::Refunded {
            amount: required_money(refunded.amount, "amount")?,
            total_refunded: required_money(refunded.total_refunded, "total_refunded")?,
        }),
        Wire::ReturnClosed(_) => ret(ReturnEvent::Case(CaseEvent::Closed)),
        Wire::RefundIssued(issued) => Ok(Decoded::Ledger {
            order_id: order_id?,
            meta,
            event: LedgerEvent::RefundIssued {
                return_id: case_id_in(&issued.return_id, "return_id")?,
                amount: required_money(issued.amount, "amount")?,
                total_refunded: required_money(issued.total_refunded, "total_refunded")?,
                charged: required_money(issued.charged, "charged")?,
            },
        }),
        Wire::ClaimPaymentIssued(issued) => Ok(Decoded::Ledger {
            order_id: order_id?,
            meta,
            event: LedgerEvent::ClaimPaymentIssued {
                claim_id: case_id_in(&issued.claim_id, "claim_id")?,
                amount: required_money(issued.amount, "amount")?,
                total_paid: required_money(issued.total_paid, "total_paid")?,
                declared_value: required_money(issued.declared_value, "declared_value")?,
            },
        }),
        Wire::ClaimAmountReserved(reserved) => Ok(Decoded::Ledger {
            order_id: order_id?,
            meta,
            event: LedgerEvent::ClaimAmountReserved {
                claim_id: case_id_in(&reserved.claim_id, "claim_id")?,
                amount: required_money(reserved.amount, "amount")?,
                total_paid: required_money(reserved.total_paid, "total_paid")?,
                total_reserved: required_money(reserved.total_reserved, "total_reserved")?,
                declared_value: required_money(reserved.declared_value, "declared_value")?,
            },
        }),
        Wire::ClaimReservationReleased(released) => Ok(Decoded::Ledger {
            order_id: order_id?,
            meta,
            event: LedgerEvent::ClaimReservationReleased {
                claim_id: case_id_in(&released.claim_id, "claim_id")?,
                amount: required_money(released.amount, "amount")?,
            },
        }),
        Wire::ClaimOpened(opened) => claim(ClaimEvent::Opened {
            claim_id: id?,
            order_id: order_id?,
            customer_id: opened.customer_id,
            kind: claim_kind_from_wire(opened.kind).ok_or_else(|| field("kind"))?,
            description: opened.description,
            claimed: stored::money(opened.claimed.as_ref()),
            declared_value: stored::money(opened.declared_value.as_ref()),
            automatic: opened.automatic,
            source_event_id: opened.source_event_id,
        }),
        Wire::ClaimAssessed(assessed) => claim(ClaimEvent::Assessed {
            amount: required_money(assessed.amount, "amount")?,
            note: assessed.note,
        }),
        Wire::ClaimApproved(approved) => {
            claim(ClaimEvent::Approved { amount: required_money(approved.amount, "amount")? })
        }
        Wire::ClaimPaid(paid) => claim(ClaimEvent::Paid { amount: required_money(paid.amount, "amount")? }),
        Wire::ClaimRejected(rejected) => claim(ClaimEvent::Rejected { reason: rejected.reason }),
        Wire::ClaimClosed(_) => claim(ClaimEvent::Case(CaseEvent::Closed)),
        Wire::ComplaintFiled(filed) => complaint(ComplaintEvent::Filed {
            complaint_id: id?,
            customer_id: filed.customer_id,
            order_id: opt_order(),
            category: category_from_wire(filed.category).ok_or_else(|| field("category"))?,
            severity: severity_from_wire(filed.severity).ok_or_else(|| field("severity"))?,
            description: filed.description,
            acknowledge_by: convert::timestamp_from_wire(filed.acknowledge_by.as_ref()),
            resolve_by: convert::timestamp_from_wire(filed.resolve_by.as_ref()),
        }),
        Wire::ComplaintAcknowledged(acknowledged) => complaint(ComplaintEvent::Acknowledged {
            note: acknowledged.note,
            within_sla: acknowledged.within_sla,
        }),
        Wire::ComplaintEscalated(escalated) => complaint(ComplaintEvent::Escalated {
            reason: escalated.reason,
            automatic: escalated.automatic,
            breach: breach_from_wire(escalated.breach),
            deadline: escalated.deadline.as_ref().map(|at| convert::timestamp_from_wire(Some(at))),
        }),
        Wire::ComplaintResolved(resolved) => complaint(ComplaintEvent::Resolved {
            resolution: resolved.resolution,
            compensation: stored::money(resolved.compensation.as_ref()),
            within_sla: resolved.within_sla,
        }),
        Wire::ComplaintClosed(_) => complaint(ComplaintEvent::Case(CaseEvent::Closed)),
        Wire::SurveyRequested(requested) => {
            let customer_id = requested.customer_id;
            match case_kind_from_wire(requested.case_kind) {
                Some(CaseKind::Return) => {
                    ret(ReturnEvent::Case(CaseEvent::SurveyRequested { customer_id, order_id: order_id? }))
                }
                Some(CaseKind::Claim) => {
                    claim(ClaimEvent::Case(CaseEvent::SurveyRequested { customer_id, order_id: order_id? }))
                }
                Some(CaseKind::Complaint) => complaint(ComplaintEvent::Case(CaseEvent::SurveyRequested {
                    customer_id,
                    order_id: opt_order(),
                })),
                None => Err(field("case_kind")),
            }
        }
        Wire::SurveyAnswered(answered) => match case_kind_from_wire(answered.case_kind) {
            Some(CaseKind::Return) => ret(ReturnEvent::Case(survey_answered_from_wire(answered))),
            Some(CaseKind::Claim) => claim(ClaimEvent::Case(survey_answered_from_wire(answered))),
            Some(CaseKind::Complaint) => complaint(ComplaintEvent::Case(survey_answered_from_wire(answered))),
            None => Err(field("case_kind")),
        },
    }
}

// ---------------------------------------------------------------------------
// Value types, both ways
// ---------------------------------------------------------------------------

pub fn line_to_wire(line: &ReturnLine) -> v1::ReturnLine {
    v1::ReturnLine {
        cargo_index: line.cargo_index,
        quantity: line.quantity,
        description: line.description.clone(),
    }
}

fn line_from_wire(line: v1::ReturnLine) -> ReturnLine {
    ReturnLine { cargo_index: line.cargo_index, quantity: line.quantity, description: line.description }
}

waybill_proto::wire_enum! {
    CaseKind <=> v1::CaseKind { Return, Claim, Complaint }
    pub fn case_kind_to_wire;
    pub fn case_kind_from_wire;
}

waybill_proto::wire_enum! {
    ClaimKind <=> v1::ClaimKind { DamagedPartial, DamagedTotal, Lost, Other }
    pub fn claim_kind_to_wire;
    pub fn claim_kind_from_wire;
}

waybill_proto::wire_enum! {
    ComplaintCategory <=> v1::ComplaintCategory { Delay, Damage, Loss, StaffConduct, BillingError, Other }
    pub fn category_to_wire;
    pub fn category_from_wire;
}

waybill_proto::wire_enum! {
    Severity <=> v1::ComplaintSeverity { Low, Medium, High, Critical }
    pub fn severity_to_wire;
    pub fn severity_from_wire;
}

waybill_proto::wire_enum! {
    SlaBreach <=> v1::SlaBreach { Acknowledge, Resolve }
    pub fn breach_to_wire;
    pub fn breach_from_wire;
}

waybill_proto::wire_enum! {
    ReturnStatus <=> v1::ReturnStatus { Requested, Approved, Rejected, Received, Refunded, Closed }
    pub fn return_status_to_wire;
    pub fn return_status_from_wire;
}

waybill_proto::wire_enum! {
    ClaimStatus <=> v1::ClaimStatus { Open, Assessed, Approved, Paid, Rejected, Closed }
    pub fn claim_status_to_wire;
    pub fn claim_status_from_wire;
}

waybill_proto::wire_enum! {
    ComplaintStatus <=> v1::ComplaintStatus { Filed, Acknowledged, Escalated, Resolved, Closed }
    pub fn complaint_status_to_wire;
    pub fn complaint_status_from_wire;
}
