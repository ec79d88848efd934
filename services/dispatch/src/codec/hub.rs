//! The hub's events on the wire (`waybill.dispatch.hub.<hub id>`), and the hub enums the
//! API shares. An event about one consignment names its order in the envelope too.

use uuid::Uuid;
use waybill_eventlog::NewEvent;
use waybill_proto::envelope::{Belongs, EventMeta};
use waybill_proto::v1::{self, dispatch_event};
use waybill_types::OrderId;

use super::{CodecError, encode, field, optional_uuid, uuid_field};
use crate::domain::{DiscrepancyKind, GoodsCategory, HubEvent, HubId, Inspection, StorageZone, VehicleId};

pub fn encode_hub(hub_id: HubId, event: &HubEvent, meta: &EventMeta) -> NewEvent {
    let id = hub_id.to_string();
    let order_id = match event {
        HubEvent::Registered { .. } | HubEvent::ZoneCounted { .. } => String::new(),
        HubEvent::GoodsReceived { order_id, .. }
        | HubEvent::GoodsPutAway { order_id, .. }
        | HubEvent::GoodsLoadedOut { order_id, .. }
        | HubEvent::DiscrepancyFound { order_id, .. } => order_id.to_string(),
    };
    encode(Belongs { aggregate_id: &id, order_id: &order_id }, event.event_type(), meta, to_wire(event))
}

pub fn zone_to_wire(zone: &StorageZone, occupied: u32) -> v1::HubZone {
    v1::HubZone {
        name: zone.name.clone(),
        category: category_to_wire(zone.category).into(),
        capacity: zone.capacity,
        occupied,
    }
}

fn to_wire(event: &HubEvent) -> dispatch_event::Event {
    use dispatch_event::Event as Wire;
    match event {
        HubEvent::Registered { code, zones, .. } => Wire::HubRegistered(v1::HubRegistered {
            code: code.clone(),
            zones: zones.iter().map(|zone| zone_to_wire(zone, 0)).collect(),
        }),
        HubEvent::GoodsReceived { order_id, category, inspection, note } => {
            Wire::GoodsReceived(v1::GoodsReceived {
                order_id: order_id.to_string(),
                category: category_to_wire(*category).into(),
                inspection: inspection_to_wire(*inspection).into(),
                note: note.clone(),
            })
        }
        HubEvent::GoodsPutAway { order_id, zone } => {
            Wire::GoodsPutAway(v1::GoodsPutAway { order_id: order_id.to_string(), zone: zone.clone() })
        }
        HubEvent::GoodsLoadedOut { order_id, vehicle_id } => Wire::GoodsLoadedOut(v1::GoodsLoadedOut {
            order_id: order_id.to_string(),
            vehicle_id: vehicle_id.map(|vehicle| vehicle.to_string()).unwrap_or_default(),
        }),
        HubEvent::ZoneCounted { zone, expected, counted, discrepancies } => {
            Wire::ZoneCounted(v1::ZoneCounted {
                zone: zone.clone(),
                expected: *expected,
                counted: *counted,
                discrepancies: *discrepancies,
            })
        }
        HubEvent::DiscrepancyFound { zone, order_id, kind, booked_zone, exception_id } => {
            Wire::StockDiscrepancyFound(v1::StockDiscrepancyFound {
                zone: zone.clone(),
                order_id: order_id.to_string(),
                kind: discrepancy_kind_to_wire(*kind).into(),
                booked_zone: booked_zone.clone().unwrap_or_default(),
                exception_id: exception_id.clone(),
            })
        }
    }
}

fn order_field(text: &str) -> Result<OrderId, CodecError> {
    uuid_field(text, "order_id").map(OrderId)
}

/// A hub event from the wire; `wire` is none of the fleet's or tasks' events (the caller
/// matched those).
pub(super) fn event_from_wire(
    wire: dispatch_event::Event,
    aggregate_id: Uuid,
) -> Result<HubEvent, CodecError> {
    use dispatch_event::Event as Wire;
    Ok(match wire {
        Wire::HubRegistered(registered) => HubEvent::Registered {
            hub_id: HubId(aggregate_id),
            code: registered.code,
            zones: registered
                .zones
                .into_iter()
                .map(|zone| {
                    let category =
                        category_from_wire(zone.category).ok_or_else(|| field("zones.category"))?;
                    Ok(StorageZone { name: zone.name, category, capacity: zone.capacity })
                })
                .collect::<Result<_, CodecError>>()?,
        },
        Wire::GoodsReceived(received) => HubEvent::GoodsReceived {
            order_id: order_field(&received.order_id)?,
            category: category_from_wire(received.category).ok_or_else(|| field("category"))?,
            inspection: inspection_from_wire(received.inspection).ok_or_else(|| field("inspection"))?,
            note: received.note,
        },
        Wire::GoodsPutAway(put_away) => {
            HubEvent::GoodsPutAway { order_id: order_field(&put_away.order_id)?, zone: put_away.zone }
        }
        Wire::GoodsLoadedOut(loaded) => HubEvent::GoodsLoadedOut {
            order_id: order_field(&loaded.order_id)?,
            vehicle_id: optional_uuid(&loaded.vehicle_id, "vehicle_id")?.map(VehicleId),
        },
        Wire::ZoneCounted(counted) => HubEvent::ZoneCounted {
            zone: counted.zone,
            expected: counted.expected,
            counted: counted.counted,
            discrepancies: counted.discrepancies,
        },
        Wire::StockDiscrepancyFound(found) => HubEvent::DiscrepancyFound {
            zone: found.zone,
            order_id: order_field(&found.order_id)?,
            kind: match v1::StockDiscrepancyKind::try_from(found.kind) {
                Ok(v1::StockDiscrepancyKind::Missing) => DiscrepancyKind::Missing,
                Ok(v1::StockDiscrepancyKind::Unexpected) => DiscrepancyKind::Unexpected,
                _ => return Err(field("kind")),
            },
            booked_zone: Some(found.booked_zone).filter(|zone| !zone.is_empty()),
            exception_id: found.exception_id,
        },
        _ => return Err(field("event")),
    })
}

pub fn discrepancy_kind_to_wire(kind: DiscrepancyKind) -> v1::StockDiscrepancyKind {
    match kind {
        DiscrepancyKind::Missing => v1::StockDiscrepancyKind::Missing,
        DiscrepancyKind::Unexpected => v1::StockDiscrepancyKind::Unexpected,
    }
}

waybill_proto::wire_enum! {
    GoodsCategory <=> v1::GoodsCategory { General, Fragile, Cold, Hazardous }
    pub fn category_to_wire;
    pub fn category_from_wire;
}

waybill_proto::wire_enum! {
    Inspection <=> v1::ReceiptInspection { Accepted, Damaged, Short }
    pub fn inspection_to_wire;
    pub fn inspection_from_wire;
}
