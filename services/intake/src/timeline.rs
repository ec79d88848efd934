//! An order's timeline: every event about it, oldest first, with who did what. Built from
//! the log when asked (TrackOrder), and followed live (WatchOrder) from the same two
//! definitions, so both show the same events:
//!
//! - *which subjects*: everything about the order, `waybill.*.*.<order id>.*`
//!   (`subject::order_filter`): every subject about an order carries its id, so the server
//!   picks them: the order's own, its dispatch task, its last mile, its after-sales ledger,
//!   its returns, claims and complaints, and its reverse shipments;
//! - *which events on them* ([`foreign_entry`] for other services'): every one of them,
//!   the consignee's notifications and the ledger's entries included.
//!
//! The read model keeps none of the events, so its memory does not grow with every event's
//! details.
//!
//! Other services' events are read from the wire envelope (`waybill_proto::envelope`):
//! intake does not depend on their code, only on the public contract in proto/. The timeline
//! tells people about nearly every event of three services, so it summarises their wire
//! events here rather than through the narrow typed facts reactions use; its entries carry
//! domain values only (a proof of delivery is `waybill_types::ProofOfDelivery`).

use uuid::Uuid;
use waybill_command::EventMeta;
use waybill_eventlog::{EventLog, Position, RecordedEvent, subject};
use waybill_proto::envelope::{self, Envelope};
use waybill_proto::v1::{self, after_sales_event, delivery_event, dispatch_event, event_envelope::Payload};
use waybill_proto::{convert, stored};
use waybill_types::{Actor, Currency, Money, OrderId, ProofOfDelivery, Timestamp};

use crate::domain::Event;

/// One event about an order.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub position: Position,
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub actor: Actor,
    pub summary: String,
    /// The service that wrote it.
    pub service: &'static str,
    /// The handover's evidence, on a completed delivery.
    pub proof_of_delivery: Option<ProofOfDelivery>,
    /// On delivery's `DeliveryEtaPlanned`: the courier's ETA (`Some(None)`: taken off the
    /// run); `None` on every other event.
    pub planned_eta: Option<Option<Timestamp>>,
}

/// The timeline of intake's own history of an order, as read from the log.
pub fn entries(history: &[(Position, EventMeta, Event)]) -> Vec<TimelineEntry> {
    history.iter().map(|(position, meta, event)| entry(*position, meta, event)).collect()
}

/// `intake` (the order's own timeline) merged with the other services' events about the
/// order, in log order.
pub async fn across_services(
    log: &EventLog,
    order_id: &OrderId,
    intake: Vec<TimelineEntry>,
) -> Result<Vec<TimelineEntry>, String> {
    let mut timeline = intake;
    let about = log.read_matching(&subject::order_filter(&order_id.to_string())).await;
    let recorded = about.map_err(|error| error.to_string())?;
    // Intake's own entries are in `intake` already.
    timeline.extend(recorded.iter().filter(|event| !is_intakes(event)).filter_map(foreign_entry));
    timeline.sort_by_key(|entry| entry.position);
    Ok(timeline)
}

/// Whether `event` is on one of intake's own subjects.
pub fn is_intakes(event: &RecordedEvent) -> bool {
    event.subject.starts_with("waybill.intake.")
}

/// The timeline entry of one of the order's events.
pub fn entry(position: Position, meta: &EventMeta, event: &Event) -> TimelineEntry {
    TimelineEntry {
        position,
        event_id: meta.event_id,
        event_type: event.event_type().to_owned(),
        occurred_at: meta.occurred_at,
        actor: meta.actor.clone(),
        summary: summarize(event),
        service: "intake",
        proof_of_delivery: None,
        planned_eta: None,
    }
}

/// The entry for another service's event on one of the order's subjects; `None` only for
/// an event that does not decode (the owner's projection reports those) or one that never
/// lands on an order's subjects (a vehicle's, a courier's).
pub fn foreign_entry(recorded: &RecordedEvent) -> Option<TimelineEntry> {
    let Envelope { header, event } = envelope::decode(&recorded.payload).ok()?;
    // A task whose id is not the order's is the reverse shipment of a return.
    let reverse = !header.is_about_the_order_itself();
    let mut planned_eta = None;
    let (service, summary, proof_of_delivery) = match event? {
        Payload::Dispatch(event) if reverse => {
            ("dispatch", format!("return shipment: {}", summarize_dispatch(event.event?)?), None)
        }
        Payload::Dispatch(event) => ("dispatch", summarize_dispatch(event.event?)?, None),
        Payload::Aftersales(event) => ("aftersales", summarize_aftersales(event.event?)?, None),
        Payload::Delivery(event) => {
            let event = event.event?;
            let proof = match &event {
                delivery_event::Event::DeliveryCompleted(completed) => {
                    stored::proof(completed.proof.as_ref())
                }
                _ => None,
            };
            if let delivery_event::Event::DeliveryEtaPlanned(planned) = &event {
                planned_eta = Some(planned.eta.as_ref().map(|eta| convert::timestamp_from_wire(Some(eta))));
            }
            ("delivery", summarize_delivery(event)?, proof)
        }
        _ => return None,
    };
    Some(TimelineEntry {
        position: recorded.position,
        event_id: Uuid::parse_str(&header.event_id).unwrap_or_default(),
        event_type: header.event_type,
        occurred_at: header.occurred_at,
        actor: header.actor,
        summary,
        service,
        proof_of_delivery,
        planned_eta,
    })
}

fn summarize_dispatch(event: dispatch_event::Event) -> Option<String> {
    use dispatch_event::Event as E;
    Some(match event {
        E::TaskPlanned(planned) => format!(
            "transport planned: {}",
            v1::TransportMode::try_from(planned.mode).map(mode_name).unwrap_or("unknown mode")
        ),
        E::TaskReplanned(replanned) => format!(
            "transport replanned: {}",
            v1::TransportMode::try_from(replanned.mode).map(mode_name).unwrap_or("unknown mode")
        ),
        E::TaskCancelled(_) => "transport cancelled".to_owned(),
        E::TaskAssigned(assigned) => format!("assigned to vehicle {}", assigned.vehicle_id),
        E::TaskUnassigned(unassigned) => format!("taken off vehicle {}", unassigned.vehicle_id),
        E::TaskPacked(_) => "packed at the warehouse".to_owned(),
        E::TaskPickedUp(_) => "picked up".to_owned(),
        E::TaskCheckpointPassed(checkpoint) if checkpoint.note.is_empty() => {
            format!("in transit: {}", checkpoint.place)
        }
        E::TaskCheckpointPassed(checkpoint) => {
            format!("in transit: {} ({})", checkpoint.place, checkpoint.note)
        }
        E::TaskArrivedAtHub(arrived) => format!("arrived at hub {}", arrived.hub),
        E::TransportExceptionReported(reported) => {
            format!("transport exception reported: {}", reported.description)
        }
        E::TransportExceptionHandled(handled) => {
            format!("transport exception handled: {} (delay {} min)", handled.handling, handled.delay_minutes)
        }
        E::TransportExceptionResolved(resolved) => {
            format!("transport exception resolved: {}", resolved.resolution)
        }
        // The fleet's own events never land on a task's subject.
        _ => return None,
    })
}

fn summarize_delivery(event: delivery_event::Event) -> Option<String> {
    use delivery_event::Event as E;
    Some(match event {
        E::DeliveryScheduled(scheduled) => {
            let until = scheduled.promised_window.and_then(|window| window.end);
            match until {
                Some(end) => {
                    let end = convert::timestamp_from_wire(Some(&end));
                    format!("delivery scheduled, promised by {}", end.format("%Y-%m-%d %H:%M UTC"))
                }
                None => "delivery scheduled".to_owned(),
            }
        }
        E::DeliveryAddressUpdated(updated) => format!("delivery address updated (zone {})", updated.zone),
        E::CourierAssigned(assigned) => format!("courier {} assigned", assigned.courier_id),
        E::DeliveryStarted(_) => "out for delivery".to_owned(),
        E::DeliveryAttemptFailed(failed) => format!(
            "delivery attempt {} failed: {}",
            failed.attempt,
            match v1::FailureReason::try_from(failed.reason) {
                Ok(v1::FailureReason::RecipientAbsent) => "recipient absent",
                Ok(v1::FailureReason::Refused) => "refused",
                Ok(v1::FailureReason::AddressWrong) => "address wrong",
                _ => "unknown reason",
            }
        ),
        E::DeliveryReturnedToSender(returned) => {
            format!("returned to sender after {} attempts", returned.attempts)
        }
        E::DeliveryCompleted(completed) => match completed.proof {
            // Whether the ID was checked is in the proof, which callers without a need
            // get redacted (docs/SECURITY.md); a summary line would tell them anyway.
            Some(proof) => format!("delivered to {} ({})", proof.recipient_name, proof.recipient_relation),
            None => "delivered".to_owned(),
        },
        E::DeliveryExceptionRaised(raised) => format!(
            "delivery exception: {}{}",
            match v1::DeliveryExceptionKind::try_from(raised.kind) {
                Ok(v1::DeliveryExceptionKind::DamagedPartial) => "partly damaged",
                Ok(v1::DeliveryExceptionKind::DamagedTotal) => "damaged",
                Ok(v1::DeliveryExceptionKind::Lost) => "lost",
                Ok(v1::DeliveryExceptionKind::Delayed) => "delayed past the promised window",
                Ok(v1::DeliveryExceptionKind::HandoverDispute) => "handover disputed",
                _ => "unknown",
            },
            if raised.description.is_empty() { String::new() } else { format!(": {}", raised.description) }
        ),
        E::RoutePlanned(_) => return None,
        E::DeliveryEtaPlanned(planned) => match planned.eta {
            Some(eta) => format!(
                "courier expected at {} (stop {} of the run)",
                convert::timestamp_from_wire(Some(&eta)).format("%Y-%m-%d %H:%M UTC"),
                planned.sequence
            ),
            None => format!("taken off the courier's run: {}", planned.unplanned_reason),
        },
        // The text and the recipient stay out: they are personal, and the milestone says it.
        E::CustomerNotificationRequested(notification) => format!(
            "consignee notified: {}",
            v1::Milestone::try_from(notification.milestone)
                .map(|milestone| milestone.as_str_name().trim_start_matches("MILESTONE_").to_lowercase())
                .unwrap_or_default()
                .replace('_', " ")
        ),
        // Couriers' own events never land on a delivery's subject.
        _ => return None,
    })
}

fn summarize_aftersales(event: after_sales_event::Event) -> Option<String> {
    use after_sales_event::Event as E;
    Some(match event {
        E::ReturnRequested(requested) => format!("return requested: {}", requested.reason),
        E::ReturnApproved(_) => "return approved".to_owned(),
        E::ReturnPickupRequested(_) => "reverse pickup requested".to_owned(),
        E::ReturnRejected(rejected) => format!("return rejected: {}", rejected.reason),
        E::ReturnReceived(_) => "returned goods received".to_owned(),
        E::ReturnRefunded(refunded) => format!("refunded {}", money(refunded.amount.as_ref())),
        E::ReturnClosed(_) => "return closed".to_owned(),
        E::ClaimOpened(opened) => format!(
            "claim opened{}: {}",
            if opened.automatic { " by itself" } else { "" },
            match v1::ClaimKind::try_from(opened.kind) {
                Ok(v1::ClaimKind::DamagedPartial) => "partly damaged",
                Ok(v1::ClaimKind::DamagedTotal) => "damaged",
                Ok(v1::ClaimKind::Lost) => "lost",
                _ => "other",
            }
        ),
        E::ClaimAssessed(_) => "claim assessed".to_owned(),
        E::ClaimApproved(approved) => format!("claim approved: {}", money(approved.amount.as_ref())),
        E::ClaimPaid(paid) => format!("claim paid: {}", money(paid.amount.as_ref())),
        E::ClaimRejected(rejected) => format!("claim rejected: {}", rejected.reason),
        E::ClaimClosed(_) => "claim closed".to_owned(),
        E::ComplaintFiled(filed) => format!(
            "complaint filed ({}): {}",
            v1::ComplaintCategory::try_from(filed.category)
                .map(|category| category
                    .as_str_name()
                    .trim_start_matches("COMPLAINT_CATEGORY_")
                    .to_lowercase())
                .unwrap_or_default(),
            filed.description
        ),
        E::ComplaintAcknowledged(_) => "complaint acknowledged".to_owned(),
        E::ComplaintEscalated(escalated) if escalated.automatic => {
            "complaint escalated: a deadline passed".to_owned()
        }
        E::ComplaintEscalated(escalated) => format!("complaint escalated: {}", escalated.reason),
        E::ComplaintResolved(resolved) => format!(
            "complaint resolved{}: {}",
            if resolved.within_sla { "" } else { " late" },
            resolved.resolution
        ),
        E::ComplaintClosed(_) => "complaint closed".to_owned(),
        E::SurveyRequested(_) => "satisfaction survey requested".to_owned(),
        E::SurveyAnswered(answered) => {
            format!("survey answered: satisfaction {}/5, recommend {}/10", answered.csat, answered.nps)
        }
        // The order's ledger: what has been paid back on the order as a whole.
        E::RefundIssued(issued) => format!(
            "ledger: refund issued, {} of {} refunded",
            money(issued.total_refunded.as_ref()),
            money(issued.charged.as_ref())
        ),
        E::ClaimPaymentIssued(issued) => format!(
            "ledger: claim payment issued, {} of {} declared paid",
            money(issued.total_paid.as_ref()),
            money(issued.declared_value.as_ref())
        ),
        E::ClaimAmountReserved(reserved) => {
            format!("ledger: {} held for an approved claim", money(reserved.amount.as_ref()))
        }
        E::ClaimReservationReleased(released) => {
            format!("ledger: {} released by a rejected claim", money(released.amount.as_ref()))
        }
    })
}

/// A wire amount for people (`20.00 EUR`); as it came if it does not parse.
fn money(amount: Option<&v1::Money>) -> String {
    let Some(amount) = amount else { return "nothing".to_owned() };
    match Currency::from_log(&amount.currency) {
        Ok(currency) => Money::new(amount.amount_minor, currency).to_string(),
        Err(_) => format!("{} {} (minor units)", amount.amount_minor, amount.currency),
    }
}

fn mode_name(mode: v1::TransportMode) -> &'static str {
    match mode {
        v1::TransportMode::Unspecified => "unknown mode",
        v1::TransportMode::RoadCourier => "road courier",
        v1::TransportMode::RoadLtl => "road, consolidated",
        v1::TransportMode::RoadTruckload => "road, full truckload",
        v1::TransportMode::Rail => "rail",
        v1::TransportMode::Air => "air",
    }
}

/// One human-readable line per event, for the timeline.
pub fn summarize(event: &Event) -> String {
    match event {
        Event::Placed { details, quote, .. } => format!(
            "placed by customer {} ({} cargo lines, {} g chargeable, quoted {})",
            details.customer_id,
            details.cargo.len(),
            quote.chargeable_weight_grams,
            quote.total
        ),
        Event::Accepted { automatic: true } => "accepted by the automatic rules".to_owned(),
        Event::Accepted { automatic: false } => "accepted after manual review".to_owned(),
        Event::Rejected { automatic, reason } => {
            format!("rejected{}: {reason}", if *automatic { " by the automatic rules" } else { "" })
        }
        Event::SentToReview { reasons } => format!("sent to manual review: {}", reasons.join("; ")),
        Event::Amended { cargo, quote, .. } => {
            format!("amended ({} cargo lines, quoted {})", cargo.len(), quote.total)
        }
        Event::ConsigneeAddressChanged { address, quote } => {
            format!(
                "consignee address changed to {}, {} (quoted {})",
                address.city, address.country_code, quote.total
            )
        }
        Event::Cancelled { reason } if reason.is_empty() => "cancelled".to_owned(),
        Event::Cancelled { reason } => format!("cancelled: {reason}"),
        Event::Restored { restored_status } => format!("restored to {}", restored_status.as_str()),
        Event::PickedUp { .. } => "picked up".to_owned(),
        Event::OutForDelivery { .. } => "out for delivery".to_owned(),
        Event::AttemptFailed { attempt, .. } => match attempt.next_window {
            Some(window) => format!(
                "delivery attempt {} failed: {}; next try {} to {}",
                attempt.attempt,
                attempt.reason.as_str(),
                window.start.format("%Y-%m-%d %H:%M UTC"),
                window.end.format("%Y-%m-%d %H:%M UTC")
            ),
            None => format!(
                "delivery attempt {} failed: {}; no further attempt",
                attempt.attempt,
                attempt.reason.as_str()
            ),
        },
        Event::ReturnedToSender { attempts, .. } => format!("returned to sender after {attempts} attempts"),
        Event::Delivered { .. } => "delivered".to_owned(),
    }
}
