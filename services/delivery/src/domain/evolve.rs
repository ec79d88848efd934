//! What each event means for a delivery. `evolve` trusts the log: the decider already
//! checked every rule, so here an event is applied, not judged. It never panics; an event
//! that needs a delivery but finds none leaves `None` (the read model reports that as a
//! poison event), and a second `Scheduled` for an existing delivery is ignored.

use waybill_types::Timestamp;

use crate::route::PlannedEta;

use super::{Delivery, DeliveryEvent, DeliveryStatus, ExceptionKind, FailedAttempt, RaisedException};

/// Pure; the same function rebuilds state on replay and applies live events. `at` is the
/// event's occurred-at.
pub fn evolve(state: Option<Delivery>, event: &DeliveryEvent, at: Timestamp) -> Option<Delivery> {
    let Some(mut delivery) = state else {
        return match event {
            DeliveryEvent::Scheduled { order_id, service_level, consignee, zone, hub, window, .. } => {
                Some(Delivery {
                    id: *order_id,
                    status: DeliveryStatus::Scheduled,
                    service_level: *service_level,
                    consignee: consignee.clone(),
                    zone: zone.clone(),
                    hub: hub.clone(),
                    window: *window,
                    courier: None,
                    out_since: None,
                    failed_attempts: Vec::new(),
                    proof: None,
                    on_time: None,
                    eta: None,
                    exceptions: Vec::new(),
                    scheduled_at: at,
                    updated_at: at,
                })
            }
            _ => None,
        };
    };
    match event {
        DeliveryEvent::Scheduled { .. } => return Some(delivery),
        DeliveryEvent::AddressUpdated { address, zone, .. } => {
            delivery.consignee.address = address.clone();
            delivery.zone = zone.clone();
        }
        DeliveryEvent::CourierAssigned { courier_id, .. } => {
            delivery.courier = Some(*courier_id);
            delivery.status = DeliveryStatus::Assigned;
        }
        DeliveryEvent::Started { courier_id } => {
            delivery.courier = Some(*courier_id);
            delivery.out_since = Some(at);
            delivery.status = DeliveryStatus::OutForDelivery;
        }
        DeliveryEvent::AttemptFailed { attempt, reason, note, rescheduled_window } => {
            delivery.failed_attempts.push(FailedAttempt {
                attempt: *attempt,
                reason: *reason,
                note: note.clone(),
                at,
            });
            delivery.status = DeliveryStatus::AttemptFailed;
            if let Some(window) = rescheduled_window {
                delivery.window = *window;
            }
        }
        DeliveryEvent::ReturnedToSender { .. } => delivery.status = DeliveryStatus::ReturnedToSender,
        DeliveryEvent::Completed { proof, on_time, .. } => {
            delivery.proof = Some(proof.clone());
            delivery.on_time = Some(*on_time);
            delivery.status = DeliveryStatus::Delivered;
        }
        DeliveryEvent::ExceptionRaised { kind, description, missed_window } => {
            delivery.exceptions.push(RaisedException {
                kind: *kind,
                description: description.clone(),
                raised_at: at,
                missed_window: *missed_window,
            });
            if *kind == ExceptionKind::Lost {
                delivery.status = DeliveryStatus::Lost;
            }
        }
        // Tells the consignee; changes nothing on the delivery.
        DeliveryEvent::NotificationRequested { .. } => return Some(delivery),
        // The plan's, not the delivery's own progress: `updated_at` stays.
        DeliveryEvent::EtaPlanned { route, sequence, eta, .. } => {
            delivery.eta = eta.map(|eta| PlannedEta { route: *route, sequence: *sequence, eta });
            return Some(delivery);
        }
    }
    delivery.updated_at = at;
    Some(delivery)
}
