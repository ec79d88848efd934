//! Dispatch's read model, rebuilt from the log at start and then fed live: every task,
//! vehicle and driver (folded with the deciders' own `evolve`), the position of each one's
//! latest event (its version, for optimistic concurrency), a compact record of what caused
//! each event (for idempotent retries), and the facts of intake's orders that planning
//! needs (`order_facts`).

use std::collections::BTreeMap;

use waybill_eventlog::{Position, Projection, ProjectionError, RecordedEvent};

use crate::codec::{self, DispatchEvent};
use crate::domain::{
    Driver, DriverId, Hub, HubId, Task, TaskId, TaskStatus, Upkeep, Vehicle, VehicleId, evolve_driver,
    evolve_hub, evolve_task, evolve_vehicle, same_place, stock_mismatch,
};
use crate::order_facts::KnownOrders;
use waybill_types::OrderId;
use waybill_types::Timestamp;

/// What the read model follows: all of dispatch, and intake's orders.
pub fn filters() -> Vec<String> {
    vec!["waybill.dispatch.>".to_owned(), "waybill.intake.order.>".to_owned()]
}

/// One aggregate as the read model holds it.
pub use waybill_command::Record;

#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    /// The origin depot, case-insensitive.
    pub depot: Option<String>,
    pub vehicle_id: Option<VehicleId>,
    pub driver_id: Option<DriverId>,
}

/// A due date the upkeep clock should remind of (see [`DispatchModel::reminders_due`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reminder {
    Upkeep { vehicle_id: VehicleId, upkeep: Upkeep, due: Timestamp },
    LicenceExpiry { driver_id: DriverId, expires_at: Timestamp },
}

#[derive(Debug, Default)]
pub struct DispatchModel {
    tasks: BTreeMap<TaskId, Record<Task>>,
    vehicles: BTreeMap<VehicleId, Record<Vehicle>>,
    drivers: BTreeMap<DriverId, Record<Driver>>,
    hubs: BTreeMap<HubId, Record<Hub>>,
    orders: KnownOrders,
}

/// Stock that disagrees with its task (see [`crate::domain::stock_mismatch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockMismatch {
    pub hub_id: HubId,
    pub order_id: OrderId,
    pub reason: String,
}

impl DispatchModel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn task(&self, task_id: &TaskId) -> Option<&Record<Task>> {
        self.tasks.get(task_id)
    }

    pub fn vehicle(&self, vehicle_id: &VehicleId) -> Option<&Record<Vehicle>> {
        self.vehicles.get(vehicle_id)
    }

    pub fn driver(&self, driver_id: &DriverId) -> Option<&Record<Driver>> {
        self.drivers.get(driver_id)
    }

    pub fn hub(&self, hub_id: &HubId) -> Option<&Record<Hub>> {
        self.hubs.get(hub_id)
    }

    /// The hub registered with `code` (compared as places are), if any.
    pub fn hub_with_code(&self, code: &str) -> Option<&Hub> {
        self.hubs.values().map(|record| &record.state).find(|hub| same_place(&hub.code, code))
    }

    /// Every hub's stock (or one hub's) that does not match the tasks: goods in stock whose
    /// task is not at the hub, and tasks arrived at a hub (by its code) whose goods were
    /// never received or went missing. By hub, then order.
    pub fn stock_mismatches(&self, only: Option<HubId>) -> Vec<StockMismatch> {
        let hubs = self.hubs.values().map(|record| &record.state);
        let hubs = hubs.filter(|hub| only.is_none_or(|only| hub.id == only));
        let mut mismatches = Vec::new();
        for hub in hubs {
            let arrived_here = self
                .tasks
                .values()
                .filter(|record| {
                    let arrived = record.state.arrived_at.as_deref();
                    arrived.is_some_and(|arrived| same_place(arrived, &hub.code))
                })
                .map(|record| record.state.plan.order_id);
            let orders: std::collections::BTreeSet<OrderId> =
                hub.stock.keys().copied().chain(arrived_here).collect();
            for order_id in orders {
                let task = self.tasks.get(&TaskId(order_id.0)).map(|record| &record.state);
                if let Some(reason) = stock_mismatch(hub, order_id, hub.stock.get(&order_id), task) {
                    mismatches.push(StockMismatch { hub_id: hub.id, order_id, reason });
                }
            }
        }
        mismatches
    }

    pub fn orders(&self) -> &KnownOrders {
        &self.orders
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Every vehicle, by id.
    pub fn vehicles(&self) -> impl Iterator<Item = &Record<Vehicle>> {
        self.vehicles.values()
    }

    /// Vehicles at `depot` (all depots when `None`), active ones only unless asked.
    pub fn list_vehicles(&self, depot: Option<&str>, include_retired: bool) -> Vec<&Record<Vehicle>> {
        self.vehicles
            .values()
            .filter(|record| include_retired || !record.state.retired)
            .filter(|record| depot.is_none_or(|depot| same_place(&record.state.depot, depot)))
            .collect()
    }

    pub fn list_drivers(&self, depot: Option<&str>, only_available: bool) -> Vec<&Record<Driver>> {
        self.drivers
            .values()
            .filter(|record| !only_available || (record.state.available && !record.state.retired))
            .filter(|record| depot.is_none_or(|depot| same_place(&record.state.depot, depot)))
            .collect()
    }

    /// The due dates at or before `until` (now plus the lead time) with no reminder yet, of
    /// vehicles and drivers in service. A date already past is still reminded of, once
    /// (the clock was down, or the date was recorded inside the lead time).
    pub fn reminders_due(&self, until: Timestamp) -> Vec<Reminder> {
        let vehicles = self.vehicles.values().map(|record| &record.state).filter(|vehicle| !vehicle.retired);
        let upkeeps = vehicles.flat_map(|vehicle| {
            vehicle
                .upkeeps()
                .filter(|(_, due)| !due.reminded && due.due <= until)
                .map(|(upkeep, due)| Reminder::Upkeep { vehicle_id: vehicle.id, upkeep, due: due.due })
        });
        let licences = self
            .drivers
            .values()
            .map(|record| &record.state)
            .filter(|driver| !driver.retired && !driver.licence_reminded)
            .filter_map(|driver| {
                let expires_at = driver.licence_expires_at.filter(|expires| *expires <= until)?;
                Some(Reminder::LicenceExpiry { driver_id: driver.id, expires_at })
            });
        upkeeps.chain(licences).collect()
    }

    /// Tasks matching `filter` in id order, at most `limit`, after `after`; and where the
    /// next page starts, if there is more.
    pub fn list_tasks(
        &self,
        filter: &TaskFilter,
        after: Option<TaskId>,
        limit: usize,
    ) -> (Vec<&Record<Task>>, Option<TaskId>) {
        let lower = match after {
            Some(after) => std::ops::Bound::Excluded(after),
            None => std::ops::Bound::Unbounded,
        };
        let mut matching = self
            .tasks
            .range((lower, std::ops::Bound::Unbounded))
            .map(|(_, record)| record)
            .filter(|record| {
                let task = &record.state;
                filter.status.is_none_or(|status| task.status == status)
                    && filter.depot.as_deref().is_none_or(|depot| same_place(&task.plan.origin_depot, depot))
                    && filter.vehicle_id.is_none_or(|vehicle| task.vehicle_id == Some(vehicle))
                    && filter.driver_id.is_none_or(|driver| task.driver_id == Some(driver))
            });
        let page: Vec<&Record<Task>> = matching.by_ref().take(limit).collect();
        let next = match (matching.next(), page.last()) {
            (Some(_), Some(last)) => Some(last.state.id),
            _ => None,
        };
        (page, next)
    }

    fn apply_dispatch(&mut self, position: Position, payload: &[u8]) -> Result<(), ProjectionError> {
        let decoded = codec::decode(payload).map_err(|error| ProjectionError(error.to_string()))?;
        let cause = decoded.meta.causation_id.as_str();
        let at = decoded.meta.occurred_at;
        let id = decoded.aggregate_id;
        let refused = || ProjectionError(format!("{} does not apply to {id}", decoded.event_type));
        match &decoded.event {
            DispatchEvent::Vehicle(event) => {
                if !Record::fold_into(&mut self.vehicles, VehicleId(id), position, cause, |state| {
                    evolve_vehicle(state, event)
                }) {
                    return Err(refused());
                }
            }
            DispatchEvent::Driver(event) => {
                if !Record::fold_into(&mut self.drivers, DriverId(id), position, cause, |state| {
                    evolve_driver(state, event)
                }) {
                    return Err(refused());
                }
            }
            DispatchEvent::Task(event) => {
                if !Record::fold_into(&mut self.tasks, TaskId(id), position, cause, |state| {
                    evolve_task(state, event, at)
                }) {
                    return Err(refused());
                }
            }
            DispatchEvent::Hub(event) => {
                if !Record::fold_into(&mut self.hubs, HubId(id), position, cause, |state| {
                    evolve_hub(state, event, at)
                }) {
                    return Err(refused());
                }
            }
        }
        Ok(())
    }
}

impl Projection for DispatchModel {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.subject.starts_with("waybill.dispatch.") {
            return self
                .apply_dispatch(event.position, &event.payload)
                .map_err(|error| ProjectionError(format!("position {}: {}", event.position, error.0)));
        }
        // Another service's event: learn what planning needs; never stop on it.
        match waybill_proto::facts::intake::read(&event.payload) {
            Ok(Some(fact)) => self.orders.apply(&fact),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(position = event.position, %error, "skipping an undecodable intake event")
            }
        }
        Ok(())
    }
}

waybill_command::aggregate_stores!(DispatchModel {
    vehicles: Vehicle => state,
    drivers: Driver => state,
    tasks: Task => state,
    hubs: Hub => state,
});
