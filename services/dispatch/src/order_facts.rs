//! What dispatch knows about orders, learned from intake's events on the log (read through
//! `waybill_proto::facts::intake`: dispatch does not depend on intake's crate). Planning a task needs the order's
//! origin and destination, its cargo's weight and volume, its service level, and the
//! chargeable weight and zone of its quote.

use std::collections::HashMap;

use uuid::Uuid;
use waybill_proto::envelope::Envelope;
use waybill_proto::facts::intake::{OrderFact, QuoteFacts, StoredCargo};
use waybill_proto::v1;
use waybill_types::{Address, OrderId, ServiceLevel};

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
    /// The cargo includes hazardous goods.
    pub hazardous: bool,
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
            hazardous: self.hazardous,
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
            hazardous: self.hazardous,
        }
    }

    pub fn replan_update(&self) -> ReplanUpdate {
        ReplanUpdate {
            mode: self.mode(),
            service_level: self.service_level,
            load: self.load,
            destination: self.destination.clone(),
            hazardous: self.hazardous,
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
    pub fn apply(&mut self, fact: &Envelope<OrderFact>) {
        let Ok(order_id) = fact.order_id() else { return };
        match &fact.event {
            OrderFact::Placed(placed) => {
                let quote = placed.quote.as_ref();
                let facts = OrderFacts {
                    order_id,
                    origin: placed.shipper.address.clone(),
                    destination: placed.consignee.address.clone(),
                    load: cargo_load(&placed.cargo),
                    service_level: placed.service_level.unwrap_or(ServiceLevel::Standard),
                    chargeable_weight_grams: quote
                        .map(|quote| quote.chargeable_weight_grams)
                        .unwrap_or_default(),
                    zone: quote.map(zone_of).unwrap_or(Zone::National),
                    hazardous: placed.cargo.has_hazardous(),
                    delivered: false,
                };
                self.orders.insert(order_id, facts);
            }
            OrderFact::Amended { cargo, service_level, quote } => {
                let Some(facts) = self.orders.get_mut(&order_id) else { return };
                facts.load = cargo_load(cargo);
                facts.hazardous = cargo.has_hazardous();
                facts.service_level = service_level.unwrap_or(facts.service_level);
                if let Some(quote) = quote {
                    facts.chargeable_weight_grams = quote.chargeable_weight_grams;
                    facts.zone = zone_of(quote);
                }
            }
            OrderFact::ConsigneeAddressChanged { address, quote } => {
                let Some(facts) = self.orders.get_mut(&order_id) else { return };
                facts.destination = address.clone().unwrap_or_else(|| waybill_proto::stored::address(None));
                if let Some(quote) = quote {
                    facts.chargeable_weight_grams = quote.chargeable_weight_grams;
                    facts.zone = zone_of(quote);
                }
            }
            OrderFact::Delivered => {
                if let Some(facts) = self.orders.get_mut(&order_id) {
                    facts.delivered = true;
                }
            }
            _ => {}
        }
    }
}

/// Weight and volume of all pieces of all lines.
fn cargo_load(cargo: &StoredCargo) -> Load {
    let (weight_grams, volume_cm3) = cargo.totals();
    Load::new(weight_grams, volume_cm3)
}

/// An unknown zone plans as national: far enough not to promise a courier.
fn zone_of(quote: &QuoteFacts) -> Zone {
    match quote.zone {
        v1::Zone::Local => Zone::Local,
        v1::Zone::Regional => Zone::Regional,
        v1::Zone::International => Zone::International,
        _ => Zone::National,
    }
}
