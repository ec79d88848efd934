//! The event codec: delivery's domain events to and from the wire envelope on the log, and
//! the wire forms of the domain's value types (shared with `api.rs`).
//!
//! This and `api.rs` are the only places where delivery touches prost types. Decoding reads
//! what delivery itself wrote (and checked) earlier, so it is lenient with values (a
//! broken timestamp reads as the epoch) and strict with structure: an event that no longer
//! decodes is a poison event, reported as `CodecError` so the projection stops loudly.

use waybill_eventlog::NewEvent;
use waybill_proto::convert;
use waybill_proto::envelope::{self, Belongs, Envelope, EventMeta};
use waybill_proto::stored;
use waybill_proto::v1::{self, delivery_event};
use waybill_types::OrderId;

use crate::domain::{
    CourierEvent, CourierId, DeliveryEvent, DeliveryStatus, ExceptionKind, FailureReason, Milestone,
    ProofOfDelivery, TimeWindow,
};
use crate::route::{
    CourierRoute, PlanReason, PlannedStop, RouteEvent, RouteId, RunConstraints, RunPlan, Unplanned,
};

/// Payload schema version of delivery's events; bump only on an incompatible change of meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Why stored bytes are not one of delivery's events (shared by every codec).
pub use waybill_proto::envelope::DecodeError as CodecError;

/// An event of either aggregate, as read back from the log. (Decoded once and moved on:
/// boxing the larger variant would buy nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Decoded {
    Courier { courier_id: CourierId, meta: EventMeta, event: CourierEvent },
    Delivery { delivery_id: OrderId, meta: EventMeta, event: DeliveryEvent },
    Route { route_id: RouteId, meta: EventMeta, event: RouteEvent },
}

pub fn encode_courier(courier_id: CourierId, event: &CourierEvent, meta: &EventMeta) -> NewEvent {
    let wire = match event {
        CourierEvent::Registered { name, zones, .. } => {
            delivery_event::Event::CourierRegistered(v1::CourierRegistered {
                name: name.clone(),
                zones: zones.clone(),
            })
        }
        CourierEvent::ZonesChanged { zones } => {
            delivery_event::Event::CourierZonesChanged(v1::CourierZonesChanged { zones: zones.clone() })
        }
        CourierEvent::Retired { reason } => {
            delivery_event::Event::CourierRetired(v1::CourierRetired { reason: reason.clone() })
        }
    };
    let id = courier_id.to_string();
    envelope::encode(meta, Belongs::aggregate(&id), event.event_type(), SCHEMA_VERSION, wire)
}

pub fn encode_route(route_id: RouteId, event: &RouteEvent, meta: &EventMeta) -> NewEvent {
    // A plan is the whole route: the wire carries the route the event makes.
    let route = event.route(meta.occurred_at);
    let wire = delivery_event::Event::RoutePlanned(v1::RoutePlanned { route: Some(route_to_wire(&route)) });
    let id = route_id.to_string();
    envelope::encode(meta, Belongs::aggregate(&id), event.event_type(), SCHEMA_VERSION, wire)
}

pub fn encode_delivery(delivery_id: OrderId, event: &DeliveryEvent, meta: &EventMeta) -> NewEvent {
    let id = delivery_id.to_string();
    let belongs = Belongs { aggregate_id: &id, order_id: &id };
    envelope::encode(meta, belongs, event.event_type(), SCHEMA_VERSION, delivery_event_to_wire(event))
}

fn delivery_event_to_wire(event: &DeliveryEvent) -> delivery_event::Event {
    use delivery_event::Event as Wire;
    match event {
        DeliveryEvent::Scheduled {
            order_id,
            service_level,
            consignee,
            zone,
            hub,
            window,
            source_event_id,
        } => Wire::DeliveryScheduled(v1::DeliveryScheduled {
            order_id: order_id.to_string(),
            service_level: v1::ServiceLevel::from(*service_level).into(),
            consignee: Some(consignee.into()),
            zone: zone.clone(),
            hub: hub.clone(),
            promised_window: Some(window_to_wire(window)),
            source_event_id: source_event_id.clone(),
        }),
        DeliveryEvent::AddressUpdated { address, zone, source_event_id } => {
            Wire::DeliveryAddressUpdated(v1::DeliveryAddressUpdated {
                address: Some(address.into()),
                zone: zone.clone(),
                source_event_id: source_event_id.clone(),
            })
        }
        DeliveryEvent::CourierAssigned { courier_id, automatic } => {
            Wire::CourierAssigned(v1::CourierAssigned {
                courier_id: courier_id.to_string(),
                automatic: *automatic,
            })
        }
        DeliveryEvent::Started { courier_id } => {
            Wire::DeliveryStarted(v1::DeliveryStarted { courier_id: courier_id.to_string() })
        }
        DeliveryEvent::AttemptFailed { attempt, reason, note, rescheduled_window } => {
            Wire::DeliveryAttemptFailed(v1::DeliveryAttemptFailed {
                attempt: *attempt,
                reason: failure_reason_to_wire(*reason).into(),
                note: note.clone(),
                rescheduled_window: rescheduled_window.as_ref().map(window_to_wire),
            })
        }
        DeliveryEvent::ReturnedToSender { attempts } => {
            Wire::DeliveryReturnedToSender(v1::DeliveryReturnedToSender { attempts: *attempts })
        }
        DeliveryEvent::Completed { proof, on_time, first_attempt } => {
            Wire::DeliveryCompleted(v1::DeliveryCompleted {
                proof: Some(proof_to_wire(proof)),
                on_time: *on_time,
                first_attempt: *first_attempt,
            })
        }
        DeliveryEvent::ExceptionRaised { kind, description, missed_window } => {
            Wire::DeliveryExceptionRaised(v1::DeliveryExceptionRaised {
                kind: exception_kind_to_wire(*kind).into(),
                description: description.clone(),
                missed_window: missed_window.as_ref().map(window_to_wire),
            })
        }
        DeliveryEvent::NotificationRequested { milestone, recipient, message } => {
            Wire::CustomerNotificationRequested(v1::CustomerNotificationRequested {
                milestone: milestone_to_wire(*milestone).into(),
                recipient: Some(recipient.into()),
                message: message.clone(),
            })
        }
        DeliveryEvent::EtaPlanned { route, sequence, eta, unplanned_reason } => {
            Wire::DeliveryEtaPlanned(v1::DeliveryEtaPlanned {
                courier_id: route.courier.to_string(),
                date: route.day.format("%Y-%m-%d").to_string(),
                sequence: *sequence,
                eta: eta.map(convert::timestamp_to_wire),
                unplanned_reason: unplanned_reason.clone(),
            })
        }
    }
}

pub fn decode(payload: &[u8]) -> Result<Decoded, CodecError> {
    let Envelope { header, event: wire } = envelope::decode_owned::<delivery_event::Event>(payload)?;
    let meta = header.meta()?;
    use delivery_event::Event as Wire;
    let courier = |event: CourierEvent| -> Result<Decoded, CodecError> {
        let courier_id = CourierId::parse(&header.aggregate_id)
            .ok_or_else(|| CodecError::BadField(format!("aggregate_id {:?}", header.aggregate_id)))?;
        Ok(Decoded::Courier { courier_id, meta: meta.clone(), event })
    };
    let delivery_id = || {
        OrderId::parse(&header.aggregate_id)
            .map_err(|_| CodecError::BadField(format!("aggregate_id {:?}", header.aggregate_id)))
    };
    let event = match wire {
        Wire::CourierRegistered(registered) => {
            let courier_id = CourierId::parse(&header.aggregate_id)
                .ok_or_else(|| CodecError::BadField(format!("aggregate_id {:?}", header.aggregate_id)))?;
            return courier(CourierEvent::Registered {
                courier_id,
                name: registered.name,
                zones: registered.zones,
            });
        }
        Wire::CourierZonesChanged(changed) => {
            return courier(CourierEvent::ZonesChanged { zones: changed.zones });
        }
        Wire::CourierRetired(retired) => return courier(CourierEvent::Retired { reason: retired.reason }),
        Wire::RoutePlanned(planned) => {
            let route_id = RouteId::parse(&header.aggregate_id)
                .ok_or_else(|| CodecError::BadField(format!("aggregate_id {:?}", header.aggregate_id)))?;
            let route = route_from_wire(route_id, planned.route.as_ref())?;
            let event = RouteEvent::Planned {
                id: route.id,
                constraints: route.constraints,
                reason: route.reason,
                plan: route.plan,
                starts_at: route.starts_at,
                starts_from: route.starts_from,
                planner: route.planner,
            };
            return Ok(Decoded::Route { route_id, meta, event });
        }
        Wire::DeliveryEtaPlanned(planned) => DeliveryEvent::EtaPlanned {
            route: RouteId {
                courier: courier_id_field("courier_id", &planned.courier_id)?,
                day: chrono::NaiveDate::parse_from_str(&planned.date, "%Y-%m-%d")
                    .map_err(|_| CodecError::BadField(format!("date {:?}", planned.date)))?,
            },
            sequence: planned.sequence,
            eta: planned.eta.as_ref().map(|eta| convert::timestamp_from_wire(Some(eta))),
            unplanned_reason: planned.unplanned_reason,
        },
        Wire::DeliveryScheduled(scheduled) => DeliveryEvent::Scheduled {
            order_id: delivery_id()?,
            service_level: stored::service_level(scheduled.service_level)
                .ok_or_else(|| CodecError::BadField("service_level".into()))?,
            consignee: stored::party(scheduled.consignee.as_ref()),
            zone: scheduled.zone,
            hub: scheduled.hub,
            window: window_from_wire(scheduled.promised_window.as_ref()),
            source_event_id: scheduled.source_event_id,
        },
        Wire::DeliveryAddressUpdated(updated) => DeliveryEvent::AddressUpdated {
            address: stored::address(updated.address.as_ref()),
            zone: updated.zone,
            source_event_id: updated.source_event_id,
        },
        Wire::CourierAssigned(assigned) => DeliveryEvent::CourierAssigned {
            courier_id: courier_id_field("courier_id", &assigned.courier_id)?,
            automatic: assigned.automatic,
        },
        Wire::DeliveryStarted(started) => {
            DeliveryEvent::Started { courier_id: courier_id_field("courier_id", &started.courier_id)? }
        }
        Wire::DeliveryAttemptFailed(failed) => DeliveryEvent::AttemptFailed {
            attempt: failed.attempt,
            reason: failure_reason_from_wire(failed.reason)
                .ok_or_else(|| CodecError::BadField("reason".into()))?,
            note: failed.note,
            rescheduled_window: failed
                .rescheduled_window
                .as_ref()
                .map(|window| window_from_wire(Some(window))),
        },
        Wire::DeliveryReturnedToSender(returned) => {
            DeliveryEvent::ReturnedToSender { attempts: returned.attempts }
        }
        Wire::DeliveryCompleted(completed) => DeliveryEvent::Completed {
            proof: stored::proof(completed.proof.as_ref())
                .ok_or_else(|| CodecError::BadField("proof".into()))?,
            on_time: completed.on_time,
            first_attempt: completed.first_attempt,
        },
        Wire::DeliveryExceptionRaised(raised) => DeliveryEvent::ExceptionRaised {
            kind: exception_kind_from_wire(raised.kind).ok_or_else(|| CodecError::BadField("kind".into()))?,
            description: raised.description,
            missed_window: raised.missed_window.as_ref().map(|window| window_from_wire(Some(window))),
        },
        Wire::CustomerNotificationRequested(notification) => DeliveryEvent::NotificationRequested {
            milestone: milestone_from_wire(notification.milestone)
                .ok_or_else(|| CodecError::BadField("milestone".into()))?,
            recipient: stored::contact(notification.recipient.as_ref()),
            message: notification.message,
        },
    };
    Ok(Decoded::Delivery { delivery_id: delivery_id()?, meta, event })
}

fn courier_id_field(field: &str, value: &str) -> Result<CourierId, CodecError> {
    CourierId::parse(value).ok_or_else(|| CodecError::BadField(format!("{field} {value:?}")))
}

// ---------------------------------------------------------------------------
// Value types, both ways
// ---------------------------------------------------------------------------

pub fn window_to_wire(window: &TimeWindow) -> v1::TimeWindow {
    v1::TimeWindow {
        start: Some(convert::timestamp_to_wire(window.start)),
        end: Some(convert::timestamp_to_wire(window.end)),
    }
}

fn window_from_wire(window: Option<&v1::TimeWindow>) -> TimeWindow {
    TimeWindow {
        start: convert::timestamp_from_wire(window.and_then(|window| window.start.as_ref())),
        end: convert::timestamp_from_wire(window.and_then(|window| window.end.as_ref())),
    }
}

waybill_proto::wire_enum! {
    FailureReason <=> v1::FailureReason { RecipientAbsent, Refused, AddressWrong }
    pub fn failure_reason_to_wire;
    pub fn failure_reason_from_wire;
}

waybill_proto::wire_enum! {
    ExceptionKind <=> v1::DeliveryExceptionKind { DamagedPartial, DamagedTotal, Lost, Delayed, HandoverDispute }
    pub fn exception_kind_to_wire;
    pub fn exception_kind_from_wire;
}

waybill_proto::wire_enum! {
    Milestone <=> v1::Milestone { Scheduled, OutForDelivery, AttemptFailed, Delivered, Exception, ReturnedToSender }
    pub fn milestone_to_wire;
    fn milestone_from_wire;
}

pub fn status_to_wire(status: DeliveryStatus) -> v1::DeliveryStatus {
    match status {
        DeliveryStatus::Scheduled => v1::DeliveryStatus::Scheduled,
        DeliveryStatus::Assigned => v1::DeliveryStatus::Assigned,
        DeliveryStatus::OutForDelivery => v1::DeliveryStatus::OutForDelivery,
        DeliveryStatus::AttemptFailed => v1::DeliveryStatus::AttemptFailed,
        DeliveryStatus::Delivered => v1::DeliveryStatus::Delivered,
        DeliveryStatus::ReturnedToSender => v1::DeliveryStatus::ReturnedToSender,
        DeliveryStatus::Lost => v1::DeliveryStatus::Lost,
    }
}

pub fn status_from_wire(status: v1::DeliveryStatus) -> Option<DeliveryStatus> {
    match status {
        v1::DeliveryStatus::Unspecified => None,
        v1::DeliveryStatus::Scheduled => Some(DeliveryStatus::Scheduled),
        v1::DeliveryStatus::Assigned => Some(DeliveryStatus::Assigned),
        v1::DeliveryStatus::OutForDelivery => Some(DeliveryStatus::OutForDelivery),
        v1::DeliveryStatus::AttemptFailed => Some(DeliveryStatus::AttemptFailed),
        v1::DeliveryStatus::Delivered => Some(DeliveryStatus::Delivered),
        v1::DeliveryStatus::ReturnedToSender => Some(DeliveryStatus::ReturnedToSender),
        v1::DeliveryStatus::Lost => Some(DeliveryStatus::Lost),
    }
}

pub fn route_to_wire(route: &CourierRoute) -> v1::CourierRoute {
    let id = |order: &OrderId| order.to_string();
    v1::CourierRoute {
        courier_id: route.id.courier.to_string(),
        date: route.id.day.format("%Y-%m-%d").to_string(),
        constraints: Some(constraints_to_wire(&route.constraints)),
        reason: match route.reason {
            PlanReason::Requested => v1::RoutePlanReason::Requested,
            PlanReason::AttemptFailed => v1::RoutePlanReason::AttemptFailed,
            PlanReason::StopAdded => v1::RoutePlanReason::StopAdded,
        }
        .into(),
        stops: route
            .plan
            .stops
            .iter()
            .map(|stop| v1::RouteStop {
                delivery_id: id(&stop.id),
                sequence: stop.sequence,
                eta: Some(convert::timestamp_to_wire(stop.eta)),
                distance_m: stop.distance_m,
                window_kept: stop.window_kept,
            })
            .collect(),
        unplanned: route
            .plan
            .unplanned
            .iter()
            .map(|stop| v1::UnplannedStop { delivery_id: id(&stop.id), reason: stop.reason.clone() })
            .collect(),
        total_distance_m: route.plan.total_distance_m,
        starts_at: Some(convert::timestamp_to_wire(route.starts_at)),
        starts_from: Some((&route.starts_from).into()),
        planner: route.planner.clone(),
        planned_at: Some(convert::timestamp_to_wire(route.planned_at)),
        version: 0,
    }
}

pub fn constraints_to_wire(constraints: &RunConstraints) -> v1::RouteConstraints {
    v1::RouteConstraints {
        shift_start: Some(convert::timestamp_to_wire(constraints.shift_start)),
        shift_end: Some(convert::timestamp_to_wire(constraints.shift_end)),
        capacity: constraints.capacity,
        depot: Some((&constraints.depot).into()),
    }
}

fn route_from_wire(id: RouteId, route: Option<&v1::CourierRoute>) -> Result<CourierRoute, CodecError> {
    let route = route.ok_or_else(|| CodecError::BadField("route".into()))?;
    let point = |field: &str, value: Option<&v1::Coordinates>| {
        value.and_then(stored::coordinates).ok_or_else(|| CodecError::BadField(field.to_owned()))
    };
    let constraints = route.constraints.as_ref().ok_or_else(|| CodecError::BadField("constraints".into()))?;
    let order = |field: &str, value: &str| {
        OrderId::parse(value).map_err(|_| CodecError::BadField(format!("{field} {value:?}")))
    };
    Ok(CourierRoute {
        id,
        constraints: RunConstraints {
            shift_start: convert::timestamp_from_wire(constraints.shift_start.as_ref()),
            shift_end: convert::timestamp_from_wire(constraints.shift_end.as_ref()),
            capacity: constraints.capacity,
            depot: point("constraints.depot", constraints.depot.as_ref())?,
        },
        reason: match v1::RoutePlanReason::try_from(route.reason) {
            Ok(v1::RoutePlanReason::AttemptFailed) => PlanReason::AttemptFailed,
            Ok(v1::RoutePlanReason::StopAdded) => PlanReason::StopAdded,
            Ok(v1::RoutePlanReason::Requested) => PlanReason::Requested,
            _ => return Err(CodecError::BadField("reason".into())),
        },
        plan: RunPlan {
            stops: route
                .stops
                .iter()
                .map(|stop| {
                    Ok(PlannedStop {
                        id: order("stops.delivery_id", &stop.delivery_id)?,
                        sequence: stop.sequence,
                        eta: convert::timestamp_from_wire(stop.eta.as_ref()),
                        distance_m: stop.distance_m,
                        window_kept: stop.window_kept,
                    })
                })
                .collect::<Result<_, CodecError>>()?,
            unplanned: route
                .unplanned
                .iter()
                .map(|stop| {
                    Ok(Unplanned {
                        id: order("unplanned.delivery_id", &stop.delivery_id)?,
                        reason: stop.reason.clone(),
                    })
                })
                .collect::<Result<_, CodecError>>()?,
            total_distance_m: route.total_distance_m,
        },
        starts_at: convert::timestamp_from_wire(route.starts_at.as_ref()),
        starts_from: point("starts_from", route.starts_from.as_ref())?,
        planner: route.planner.clone(),
        planned_at: convert::timestamp_from_wire(route.planned_at.as_ref()),
    })
}

pub fn proof_to_wire(proof: &ProofOfDelivery) -> v1::ProofOfDelivery {
    proof.into()
}
