//! What dispatch knows about orders, learned from intake's events on the log (decoded from
//! the wire: dispatch does not depend on intake's crate). Planning a task needs the order's
//! origin and destination, its cargo's weight and volume, its service level, and the
//! chargeable weight and zone of its quote.

use std::collections::HashMap;

use uuid::Uuid;
use waybill_proto::v1::{self, event_envelope::Payload, intake_event};
use waybill_types::{Address, OrderId, ServiceLevel};

use crate::codec::{address_from_wire, service_level_from_wire};
use crate::domain::{Load, Plan, ReplanUpdate, TaskKind, TransportMode, Zone, transport_mode};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub origin: Address,
    pub destination: Address,
    /// The cargo's actual weight and volume (all pieces of all lines).
    pub load: Load,
    pub service_level: ServiceLevel,
    pub chargeable_weight_grams: u64,
    pub zone: Zone,
    /// Intake recorded the handover: goods may come back (a reverse shipment).
    pub delivered: bool,
}

impl OrderFacts {
    pub fn mode(&self) -> TransportMode {
        transport_mode(self.service_level, self.chargeable_weight_grams, self.zone)
    }

    /// The forward task: shipper's city to consignee's city.
    pub fn forward_plan(&self) -> Plan {
        Plan {
            kind: TaskKind::Forward,
            order_id: self.order_id,
            return_id: None,
            mode: self.mode(),
            service_level: self.service_level,
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            load: self.load,
            origin_depot: self.origin.city.clone(),
        }
    }

    /// A return: consignee's city back to the shipper's, carrying `load` (the whole order
    /// when `None`), by the same rules as the way out.
    pub fn reverse_plan(&self, return_id: Uuid, load: Option<Load>) -> Plan {
        Plan {
            kind: TaskKind::Reverse,
            order_id: self.order_id,
            return_id: Some(return_id),
            mode: self.mode(),
            service_level: self.service_level,
            origin: self.destination.clone(),
            destination: self.origin.clone(),
            load: load.unwrap_or(self.load),
            origin_depot: self.destination.city.clone(),
        }
    }

    pub fn replan_update(&self) -> ReplanUpdate {
        ReplanUpdate {
            mode: self.mode(),
            service_level: self.service_level,
            load: self.load,
            destination: self.destination.clone(),
        }
    }
}

/// The order book's part of dispatch's read model.
#[derive(Debug, Default)]
pub struct KnownOrders {
    orders: HashMap<OrderId, OrderFacts>,
}

impl KnownOrders {
    pub fn get(&self, order_id: &OrderId) -> Option<&OrderFacts> {
        self.orders.get(order_id)
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Learns from one of intake's events. Events of orders placed before dispatch's view
    /// begins, and events that change nothing dispatch needs, are ignored: this is another
    /// service's log, and dispatch must not stop on it.
    pub fn apply(&mut self, envelope: &v1::EventEnvelope) {
        let Some(Payload::Intake(v1::IntakeEvent { event: Some(event) })) = &envelope.payload else { return };
        let Ok(order_id) = OrderId::parse(&envelope.order_id) else { return };
        use intake_event::Event as E;
        match event {
            E::OrderPlaced(placed) => {
                let quote = placed.quote.as_ref();
                let facts = OrderFacts {
                    order_id,
                    origin: address_from_wire(
                        placed.shipper.as_ref().and_then(|party| party.address.as_ref()),
                    ),
                    destination: address_from_wire(
                        placed.consignee.as_ref().and_then(|party| party.address.as_ref()),
                    ),
                    load: cargo_load(&placed.cargo),
                    service_level: service_level_from_wire(placed.service_level)
                        .unwrap_or(ServiceLevel::Standard),
                    chargeable_weight_grams: quote
                        .map(|quote| quote.chargeable_weight_grams)
                        .unwrap_or_default(),
                    zone: quote.map(|quote| zone_from_wire(quote.zone)).unwrap_or(Zone::National),
                    delivered: false,
                };
                self.orders.insert(order_id, facts);
            }
            E::OrderAmended(amended) => {
                let Some(facts) = self.orders.get_mut(&order_id) else { return };
                facts.load = cargo_load(&amended.cargo);
                facts.service_level =
                    service_level_from_wire(amended.service_level).unwrap_or(facts.service_level);
                if let Some(quote) = &amended.quote {
                    facts.chargeable_weight_grams = quote.chargeable_weight_grams;
                    facts.zone = zone_from_wire(quote.zone);
                }
            }
            E::ConsigneeAddressChanged(changed) => {
                let Some(facts) = self.orders.get_mut(&order_id) else { return };
                facts.destination = address_from_wire(changed.address.as_ref());
                if let Some(quote) = &changed.quote {
                    facts.chargeable_weight_grams = quote.chargeable_weight_grams;
                    facts.zone = zone_from_wire(quote.zone);
                }
            }
            E::OrderDelivered(_) => {
                if let Some(facts) = self.orders.get_mut(&order_id) {
                    facts.delivered = true;
                }
            }
            _ => {}
        }
    }
}

/// Weight and volume of all pieces of all lines.
fn cargo_load(cargo: &[v1::CargoLine]) -> Load {
    cargo.iter().fold(Load::ZERO, |sum, line| {
        let pieces = u64::from(line.quantity);
        let volume = u64::from(line.length_cm)
            .saturating_mul(u64::from(line.width_cm))
            .saturating_mul(u64::from(line.height_cm));
        sum.plus(Load::new(line.weight_grams.saturating_mul(pieces), volume.saturating_mul(pieces)))
    })
}

/// An unknown zone plans as national: far enough not to promise a courier.
fn zone_from_wire(value: i32) -> Zone {
    match v1::Zone::try_from(value) {
        Ok(v1::Zone::Local) => Zone::Local,
        Ok(v1::Zone::Regional) => Zone::Regional,
        Ok(v1::Zone::International) => Zone::International,
        _ => Zone::National,
    }
}
