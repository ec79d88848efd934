//! A courier's run for one day (rules 第十八条, choose the best route, and 第十九条, track
//! progress): the third aggregate delivery keeps, `waybill.delivery.route.<courier id>_<day>`.
//!
//! Planning orders the courier's open deliveries for the day with a vehicle-routing solver
//! ([`solver`], `vrp-core`) that keeps the promised windows, the van's capacity and the
//! working hours, over travel estimated from the consignees' coordinates ([`distance`]:
//! great circle × a road factor; no routing engine is wired in). A plan is one atomic
//! append: `RoutePlanned` on the route and a `DeliveryEtaPlanned` on each delivery it
//! touches, so TrackOrder (which reads the order's delivery subject) sees the ETA.
//!
//! # Rules
//!
//! - **Plan** (`PlanCourierRoute`): the courier exists and is not retired; it has at least
//!   one open delivery whose promised window touches the day; every one of them has
//!   coordinates (the refusal names those without); the shift is not over. The run starts at
//!   the shift's start, or now if later, from the depot.
//! - **Re-plan** (the `routes` reaction): after a failed attempt on a delivery that was on
//!   the courier's plan for today, or a delivery newly assigned to a courier with a plan for
//!   today, the rest of the run is planned again with the same constraints, from now and
//!   from the failed stop (or, for a new stop, from the last stop planned before now, else
//!   the depot). Nothing is written if there is nothing left to plan or the shift is over.
//! - A stop the plan cannot take is listed as unplanned, with the reason; a delivery that
//!   had an ETA and loses its place gets a `DeliveryEtaPlanned` without one.

pub mod decide;
pub mod distance;
pub mod solver;

use std::fmt;

use chrono::NaiveDate;
use waybill_types::{Coordinates, OrderId, Timestamp};

use crate::domain::CourierId;
pub use decide::{PlanInput, PlanRoute, RoutePolicy, StopFact, decide_plan};
pub use solver::{PlannedStop, RunPlan, Unplanned};

/// The solver's name and version, written on every plan.
pub const PLANNER: &str = "vrp-core 1.25";

/// A courier's day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId {
    pub courier: CourierId,
    pub day: NaiveDate,
}

impl RouteId {
    /// `<courier id>_<YYYY-MM-DD>`, as `Display` writes it.
    pub fn parse(text: &str) -> Option<Self> {
        let (courier, day) = text.split_once('_')?;
        Some(Self {
            courier: CourierId::parse(courier)?,
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        })
    }
}

/// The subject token: no dots, so it is one token of `waybill.delivery.route.<id>`.
impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.courier, self.day.format("%Y-%m-%d"))
    }
}

/// What the run must keep to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunConstraints {
    pub shift_start: Timestamp,
    pub shift_end: Timestamp,
    pub capacity: u32,
    pub depot: Coordinates,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanReason {
    Requested,
    AttemptFailed,
    StopAdded,
}

/// The latest plan of a courier's day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourierRoute {
    pub id: RouteId,
    pub constraints: RunConstraints,
    pub reason: PlanReason,
    pub plan: RunPlan,
    pub starts_at: Timestamp,
    pub starts_from: Coordinates,
    pub planner: String,
    pub planned_at: Timestamp,
}

impl CourierRoute {
    pub fn stop(&self, id: &OrderId) -> Option<&PlannedStop> {
        self.plan.stops.iter().find(|stop| stop.id == *id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteEvent {
    /// The whole (rest of the) run; carries its id so `evolve_route` needs nothing else.
    Planned {
        id: RouteId,
        constraints: RunConstraints,
        reason: PlanReason,
        plan: RunPlan,
        starts_at: Timestamp,
        starts_from: Coordinates,
        planner: String,
    },
}

impl RouteEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            RouteEvent::Planned { .. } => "waybill.delivery.route_planned.v1",
        }
    }
}

impl RouteEvent {
    /// The route this event makes, planned at `at`: a plan is the whole route.
    pub fn route(&self, at: Timestamp) -> CourierRoute {
        match self {
            RouteEvent::Planned { id, constraints, reason, plan, starts_at, starts_from, planner } => {
                CourierRoute {
                    id: *id,
                    constraints: *constraints,
                    reason: *reason,
                    plan: plan.clone(),
                    starts_at: *starts_at,
                    starts_from: *starts_from,
                    planner: planner.clone(),
                    planned_at: at,
                }
            }
        }
    }
}

/// A plan replaces the previous one whole.
pub fn evolve_route(_state: Option<CourierRoute>, event: &RouteEvent, at: Timestamp) -> Option<CourierRoute> {
    Some(event.route(at))
}

/// A delivery's place on a plan, as the delivery keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedEta {
    pub route: RouteId,
    pub sequence: u32,
    pub eta: Timestamp,
}
