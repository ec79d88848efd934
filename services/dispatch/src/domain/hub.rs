//! Hub stock (the delivery rules 第十二–十五条; the guide's inbound, inventory and outbound):
//! a hub's storage zones, and the consignments in them from receipt to loading out.
//!
//! The rules, in one place:
//! - A hub is registered with its code (unique: arrivals name hubs by it) and its zones;
//!   each zone stores one **category** of goods (general, fragile, cold, hazardous) and
//!   holds at most `capacity` consignments.
//! - Goods are **received** with an inspection: accepted, damaged or short. A damaged
//!   receipt raises a `Damaged` transport exception on the order's task, in the same append
//!   (the path damage in transit takes). Goods are received once until they leave; hazardous
//!   cargo (the task says so) is received only as hazardous goods.
//! - **Put-away** moves received goods into a zone of their category with room: the zone
//!   named, or the first such zone. A zone of another category, a full zone, or no zone with
//!   room is refused, naming why.
//! - **Loading out** takes the goods off the stock; a vehicle it names is one of dispatch's,
//!   in service.
//! - A **cycle count** of a zone lists what was found there. Each difference from the stock
//!   is a `StockDiscrepancyFound` with a `StockDiscrepancy` exception on the order's task:
//!   goods missing leave the stock, goods found unexpectedly are booked into the zone. The
//!   count is the truth; the exception makes someone look.
//!
//! A hub's stock is per order (one consignment per order, forward tasks: the task id is the
//! order id), so every order in it has a task to raise exceptions on.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;
use waybill_types::{OrderId, Timestamp};

use super::{
    Context, ExceptionKind, HubId, Rejection, Severity, Task, TaskEvent, TaskId, TaskStatus, Vehicle,
    VehicleId,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GoodsCategory {
    General,
    Fragile,
    Cold,
    Hazardous,
}

impl GoodsCategory {
    pub fn as_str(&self) -> &'static str {
        match self {
            GoodsCategory::General => "general",
            GoodsCategory::Fragile => "fragile",
            GoodsCategory::Cold => "cold",
            GoodsCategory::Hazardous => "hazardous",
        }
    }
}

/// What the inspection on receipt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inspection {
    Accepted,
    Damaged,
    Short,
}

impl Inspection {
    pub fn as_str(&self) -> &'static str {
        match self {
            Inspection::Accepted => "accepted",
            Inspection::Damaged => "damaged",
            Inspection::Short => "short",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscrepancyKind {
    /// In the zone's stock, not found by the count.
    Missing,
    /// Found by the count, not in the zone's stock.
    Unexpected,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageZone {
    pub name: String,
    pub category: GoodsCategory,
    pub capacity: u32,
}

/// One consignment in a hub's stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockItem {
    pub order_id: OrderId,
    pub category: GoodsCategory,
    pub inspection: Inspection,
    /// `None` until put away.
    pub zone: Option<String>,
    pub received_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hub {
    pub id: HubId,
    /// As arrivals name the hub (`RecordArrival`'s `hub`).
    pub code: String,
    pub zones: Vec<StorageZone>,
    pub stock: BTreeMap<OrderId, StockItem>,
    /// Orders whose goods were loaded out (and not received again since).
    pub loaded_out: BTreeSet<OrderId>,
    /// Each zone's latest cycle count.
    pub counts: BTreeMap<String, ZoneCount>,
}

/// A zone's cycle count: how many consignments the stock expected and the count found, and
/// each discrepancy (order, kind, exception raised).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneCount {
    pub expected: u32,
    pub counted: u32,
    pub discrepancies: Vec<(OrderId, DiscrepancyKind, String)>,
}

impl Hub {
    pub fn zone(&self, name: &str) -> Option<&StorageZone> {
        self.zones.iter().find(|zone| zone.name == name)
    }

    /// The items put away in `zone`.
    pub fn in_zone<'a>(&'a self, zone: &'a str) -> impl Iterator<Item = &'a StockItem> + 'a {
        self.stock.values().filter(move |item| item.zone.as_deref() == Some(zone))
    }

    pub fn occupied(&self, zone: &str) -> u32 {
        u32::try_from(self.in_zone(zone).count()).unwrap_or(u32::MAX)
    }

    fn has_room(&self, zone: &StorageZone) -> bool {
        self.occupied(&zone.name) < zone.capacity
    }

    fn item(&self, order_id: OrderId) -> Result<&StockItem, Rejection> {
        self.stock.get(&order_id).ok_or_else(|| Rejection::NotInStock { order_id, hub: self.code.clone() })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubCommand {
    Register {
        code: String,
        zones: Vec<StorageZone>,
    },
    /// `exception_id`: the id a damaged receipt's exception gets.
    Receive {
        order_id: OrderId,
        category: GoodsCategory,
        inspection: Inspection,
        note: String,
        exception_id: String,
    },
    /// `zone`: `None` picks the first zone of the goods' category with room.
    PutAway {
        order_id: OrderId,
        zone: Option<String>,
    },
    LoadOut {
        order_id: OrderId,
        vehicle_id: Option<VehicleId>,
    },
    /// `counted`: the orders found in the zone (distinct); `exception_seed` makes each
    /// discrepancy's exception id (with the order id), so a retried count names the same.
    Count {
        zone: String,
        counted: BTreeSet<OrderId>,
        exception_seed: String,
    },
}

impl HubCommand {
    /// The orders whose tasks the decision reads (and may raise exceptions on).
    pub fn orders(&self, hub: Option<&Hub>) -> Vec<OrderId> {
        match self {
            HubCommand::Register { .. } | HubCommand::PutAway { .. } | HubCommand::LoadOut { .. } => vec![],
            HubCommand::Receive { order_id, .. } => vec![*order_id],
            HubCommand::Count { zone, counted, .. } => {
                let expected = hub.into_iter().flat_map(|hub| hub.in_zone(zone)).map(|item| item.order_id);
                counted.iter().copied().chain(expected).collect::<BTreeSet<_>>().into_iter().collect()
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubEvent {
    Registered {
        hub_id: HubId,
        code: String,
        zones: Vec<StorageZone>,
    },
    GoodsReceived {
        order_id: OrderId,
        category: GoodsCategory,
        inspection: Inspection,
        note: String,
    },
    GoodsPutAway {
        order_id: OrderId,
        zone: String,
    },
    GoodsLoadedOut {
        order_id: OrderId,
        vehicle_id: Option<VehicleId>,
    },
    ZoneCounted {
        zone: String,
        expected: u32,
        counted: u32,
        discrepancies: u32,
    },
    /// `booked_zone`: for unexpected goods in stock elsewhere in the hub, where they were.
    DiscrepancyFound {
        zone: String,
        order_id: OrderId,
        kind: DiscrepancyKind,
        booked_zone: Option<String>,
        exception_id: String,
    },
}

impl HubEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            HubEvent::Registered { .. } => "waybill.dispatch.hub_registered.v1",
            HubEvent::GoodsReceived { .. } => "waybill.dispatch.goods_received.v1",
            HubEvent::GoodsPutAway { .. } => "waybill.dispatch.goods_put_away.v1",
            HubEvent::GoodsLoadedOut { .. } => "waybill.dispatch.goods_loaded_out.v1",
            HubEvent::ZoneCounted { .. } => "waybill.dispatch.zone_counted.v1",
            HubEvent::DiscrepancyFound { .. } => "waybill.dispatch.stock_discrepancy_found.v1",
        }
    }
}

/// A hub decision: the hub's events, and the exceptions it raises on tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HubDecision {
    pub hub_events: Vec<HubEvent>,
    pub task_events: Vec<(TaskId, TaskEvent)>,
}

/// UUIDv5 namespace of exception ids derived from a request (and, for a count, an order).
const EXCEPTION_ID_NAMESPACE: Uuid = Uuid::from_u128(0x7e3a_1c55_90d2_4c8e_b0a4_d15b_a7c4_e7c0);

/// An exception id derived from `seed`: the same seed, the same id (a retried request
/// names the same exception).
pub fn derived_exception_id(seed: &str) -> String {
    Uuid::new_v5(&EXCEPTION_ID_NAMESPACE, seed.as_bytes()).to_string()
}

/// What a hub decision reads beside the hub, as the read model has it: the tasks of the
/// orders [`HubCommand::orders`] names, the vehicle a loading names, and for a
/// registration the hub that already has its code, if any.
#[derive(Clone, Debug, Default)]
pub struct HubFacts {
    pub tasks: BTreeMap<OrderId, Task>,
    pub vehicles: BTreeMap<VehicleId, Vehicle>,
    pub code_taken_by: Option<HubId>,
}

pub fn decide_hub(
    hub_id: HubId,
    state: Option<&Hub>,
    command: &HubCommand,
    facts: &HubFacts,
    _context: &Context<'_>,
) -> Result<HubDecision, Rejection> {
    let tasks = &facts.tasks;
    let hub = match (state, command) {
        (None, HubCommand::Register { code, zones }) => {
            if let Some(other) = facts.code_taken_by {
                return Err(Rejection::AlreadyExists {
                    what: "hub code",
                    id: format!("{code} (hub {other})"),
                });
            }
            check_zones(zones)?;
            let registered = HubEvent::Registered { hub_id, code: code.clone(), zones: zones.clone() };
            return Ok(HubDecision { hub_events: vec![registered], task_events: vec![] });
        }
        (Some(_), HubCommand::Register { .. }) => {
            return Err(Rejection::AlreadyExists { what: "hub", id: hub_id.to_string() });
        }
        (None, _) => return Err(Rejection::HubNotFound(hub_id)),
        (Some(hub), _) => hub,
    };
    let task_of = |order_id: OrderId| tasks.get(&order_id).ok_or(Rejection::NoTaskForOrder(order_id));
    match command {
        HubCommand::Register { .. } => Ok(HubDecision::default()),
        HubCommand::Receive { order_id, category, inspection, note, exception_id } => {
            let task = task_of(*order_id)?;
            if hub.stock.contains_key(order_id) {
                return Err(Rejection::AlreadyInStock { order_id: *order_id, hub: hub.code.clone() });
            }
            if task.plan.hazardous && *category != GoodsCategory::Hazardous {
                return Err(Rejection::HazardousCargo { order_id: *order_id });
            }
            let mut decision = HubDecision::default();
            decision.hub_events.push(HubEvent::GoodsReceived {
                order_id: *order_id,
                category: *category,
                inspection: *inspection,
                note: note.clone(),
            });
            if *inspection == Inspection::Damaged {
                let description = format!("damaged on receipt at hub {}: {note}", hub.code);
                let exception =
                    exception(exception_id.clone(), ExceptionKind::Damaged, Severity::High, description);
                decision.task_events.push((task.id, exception));
            }
            Ok(decision)
        }
        HubCommand::PutAway { order_id, zone } => {
            let item = hub.item(*order_id)?;
            if let Some(current) = &item.zone {
                return Err(Rejection::AlreadyPutAway { order_id: *order_id, zone: current.clone() });
            }
            let zone = match zone {
                Some(name) => {
                    let zone = hub.zone(name).ok_or_else(|| Rejection::ZoneNotFound {
                        zone: name.clone(),
                        hub: hub.code.clone(),
                    })?;
                    if zone.category != item.category {
                        return Err(Rejection::WrongZone {
                            zone: zone.name.clone(),
                            stores: zone.category.as_str(),
                            order_id: *order_id,
                            category: item.category.as_str(),
                        });
                    }
                    if !hub.has_room(zone) {
                        return Err(Rejection::ZoneFull { zone: zone.name.clone(), capacity: zone.capacity });
                    }
                    zone
                }
                None => hub
                    .zones
                    .iter()
                    .find(|zone| zone.category == item.category && hub.has_room(zone))
                    .ok_or_else(|| Rejection::NoZoneWithRoom {
                        hub: hub.code.clone(),
                        category: item.category.as_str(),
                    })?,
            };
            let put_away = HubEvent::GoodsPutAway { order_id: *order_id, zone: zone.name.clone() };
            Ok(HubDecision { hub_events: vec![put_away], task_events: vec![] })
        }
        HubCommand::LoadOut { order_id, vehicle_id } => {
            hub.item(*order_id)?;
            if let Some(vehicle_id) = vehicle_id {
                let vehicle =
                    facts.vehicles.get(vehicle_id).ok_or(Rejection::VehicleNotFound(*vehicle_id))?;
                if vehicle.retired {
                    return Err(Rejection::VehicleRetired(*vehicle_id));
                }
            }
            let loaded = HubEvent::GoodsLoadedOut { order_id: *order_id, vehicle_id: *vehicle_id };
            Ok(HubDecision { hub_events: vec![loaded], task_events: vec![] })
        }
        HubCommand::Count { zone, counted, exception_seed } => {
            if hub.zone(zone).is_none() {
                return Err(Rejection::ZoneNotFound { zone: zone.clone(), hub: hub.code.clone() });
            }
            let expected: BTreeSet<OrderId> = hub.in_zone(zone).map(|item| item.order_id).collect();
            let missing = expected.difference(counted).map(|order_id| (*order_id, DiscrepancyKind::Missing));
            let unexpected =
                counted.difference(&expected).map(|order_id| (*order_id, DiscrepancyKind::Unexpected));
            let mut decision = HubDecision::default();
            let mut found = Vec::new();
            for (order_id, kind) in missing.chain(unexpected) {
                let task = task_of(order_id)?;
                let exception_id = derived_exception_id(&format!("{exception_seed}/{order_id}"));
                let booked_zone = match kind {
                    DiscrepancyKind::Missing => None,
                    DiscrepancyKind::Unexpected => {
                        hub.stock.get(&order_id).and_then(|item| item.zone.clone())
                    }
                };
                let (severity, description) = match kind {
                    DiscrepancyKind::Missing => (
                        Severity::High,
                        format!("not found in zone {zone} of hub {} by a cycle count", hub.code),
                    ),
                    DiscrepancyKind::Unexpected => (
                        Severity::Medium,
                        format!(
                            "found in zone {zone} of hub {} by a cycle count, not booked there",
                            hub.code
                        ),
                    ),
                };
                decision.task_events.push((
                    task.id,
                    exception(exception_id.clone(), ExceptionKind::StockDiscrepancy, severity, description),
                ));
                found.push(HubEvent::DiscrepancyFound {
                    zone: zone.clone(),
                    order_id,
                    kind,
                    booked_zone,
                    exception_id,
                });
            }
            decision.hub_events.push(HubEvent::ZoneCounted {
                zone: zone.clone(),
                expected: count(expected.len()),
                counted: count(counted.len()),
                discrepancies: count(found.len()),
            });
            decision.hub_events.extend(found);
            Ok(decision)
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn exception(
    exception_id: String,
    kind: ExceptionKind,
    severity: Severity,
    description: String,
) -> TaskEvent {
    TaskEvent::ExceptionReported { exception_id, kind, severity, description }
}

/// At least one zone, names unique and not blank, capacities at least 1 (by field path).
fn check_zones(zones: &[StorageZone]) -> Result<(), Rejection> {
    let mut violations = Vec::new();
    if zones.is_empty() {
        violations.push(waybill_types::FieldViolation::new("zones", "a hub has at least one zone"));
    }
    let mut seen = BTreeSet::new();
    for (index, zone) in zones.iter().enumerate() {
        if zone.name.trim().is_empty() {
            violations
                .push(waybill_types::FieldViolation::new(format!("zones[{index}].name"), "is required"));
        } else if !seen.insert(zone.name.as_str()) {
            violations.push(waybill_types::FieldViolation::new(
                format!("zones[{index}].name"),
                format!("zone {:?} is named twice", zone.name),
            ));
        }
        if zone.capacity == 0 {
            violations.push(waybill_types::FieldViolation::new(
                format!("zones[{index}].capacity"),
                "must be at least 1",
            ));
        }
    }
    if violations.is_empty() { Ok(()) } else { Err(Rejection::Invalid { violations }) }
}

/// What each event means for the hub; `at` is the event's occurred-at. Never panics: an
/// event that needs a hub (or an item) but finds none leaves `None`.
pub fn evolve_hub(state: Option<Hub>, event: &HubEvent, at: Timestamp) -> Option<Hub> {
    let Some(mut hub) = state else {
        return match event {
            HubEvent::Registered { hub_id, code, zones } => Some(Hub {
                id: *hub_id,
                code: code.clone(),
                zones: zones.clone(),
                stock: BTreeMap::new(),
                loaded_out: BTreeSet::new(),
                counts: BTreeMap::new(),
            }),
            _ => None,
        };
    };
    if let HubEvent::DiscrepancyFound { zone, order_id, kind, exception_id, .. } = event {
        let count = hub.counts.entry(zone.clone()).or_default();
        count.discrepancies.push((*order_id, *kind, exception_id.clone()));
    }
    match event {
        HubEvent::Registered { .. } => {}
        HubEvent::ZoneCounted { zone, expected, counted, .. } => {
            let count = ZoneCount { expected: *expected, counted: *counted, discrepancies: Vec::new() };
            hub.counts.insert(zone.clone(), count);
        }
        HubEvent::GoodsReceived { order_id, category, inspection, .. } => {
            hub.loaded_out.remove(order_id);
            let item = StockItem {
                order_id: *order_id,
                category: *category,
                inspection: *inspection,
                zone: None,
                received_at: at,
            };
            hub.stock.insert(*order_id, item);
        }
        HubEvent::GoodsPutAway { order_id, zone } => hub.stock.get_mut(order_id)?.zone = Some(zone.clone()),
        HubEvent::GoodsLoadedOut { order_id, .. } => {
            hub.stock.remove(order_id)?;
            hub.loaded_out.insert(*order_id);
        }
        HubEvent::DiscrepancyFound { zone, order_id, kind: DiscrepancyKind::Missing, .. } => {
            if hub.stock.get(order_id).is_some_and(|item| item.zone.as_ref() == Some(zone)) {
                hub.stock.remove(order_id);
            }
        }
        HubEvent::DiscrepancyFound { zone, order_id, kind: DiscrepancyKind::Unexpected, .. } => {
            let category = hub.zone(zone)?.category;
            let item = hub.stock.entry(*order_id).or_insert(StockItem {
                order_id: *order_id,
                category,
                inspection: Inspection::Accepted,
                zone: None,
                received_at: at,
            });
            item.zone = Some(zone.clone());
            hub.loaded_out.remove(order_id);
        }
    }
    Some(hub)
}

/// Why `hub`'s stock of `order_id` disagrees with its task, if it does (`item`: its stock
/// item there, if any). Goods belong at the hub the task arrived at.
pub fn stock_mismatch(
    hub: &Hub,
    order_id: OrderId,
    item: Option<&StockItem>,
    task: Option<&Task>,
) -> Option<String> {
    let arrived_here =
        |task: &Task| task.arrived_at.as_deref().is_some_and(|arrived| super::same_place(arrived, &hub.code));
    match (item, task) {
        (Some(_), None) => Some("in stock, but dispatch has no task for the order".to_owned()),
        (Some(_), Some(task)) if task.status == TaskStatus::Arrived && !arrived_here(task) => Some(format!(
            "in stock, but the task arrived at hub {}",
            task.arrived_at.as_deref().unwrap_or_default()
        )),
        (Some(_), Some(task)) if task.status != TaskStatus::Arrived => {
            Some(format!("in stock, but the task is {}", task.status.as_str()))
        }
        (None, Some(task)) if arrived_here(task) && !hub.loaded_out.contains(&order_id) => {
            Some("the task arrived at this hub, but its goods are not in stock".to_owned())
        }
        _ => None,
    }
}
