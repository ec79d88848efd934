//! The plan decision, pure: what `PlanCourierRoute` and the re-planning reaction write,
//! from what the read model says about the courier and its stops (module docs of
//! [`crate::route`] state the rules).

use std::time::Duration;

use waybill_types::{Coordinates, OrderId, Timestamp};

use super::distance::Travel;
use super::solver::{self, RunProblem, SolverLimits, Stop};
use super::{CourierRoute, PLANNER, PlanReason, PlannedEta, RouteEvent, RouteId, RunConstraints};
use crate::domain::{DeliveryEvent, Rejection, TimeWindow};

/// How runs are planned (part of delivery's `Policy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePolicy {
    pub travel: Travel,
    /// Time at each door.
    pub handover: Duration,
    pub limits: SolverLimits,
}

impl Default for RoutePolicy {
    fn default() -> Self {
        Self {
            travel: Travel::default(),
            handover: Duration::from_secs(5 * 60),
            limits: SolverLimits::default(),
        }
    }
}

/// Plan (constraints given) or re-plan (the previous plan's constraints) a courier's day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRoute {
    pub constraints: Option<RunConstraints>,
    pub reason: PlanReason,
    /// The stop the courier is at (a failed attempt): the rest of the run starts there.
    pub from_stop: Option<OrderId>,
}

/// One of the courier's open deliveries for the day, as the read model has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StopFact {
    pub id: OrderId,
    pub at: Option<Coordinates>,
    pub window: TimeWindow,
    pub eta: Option<PlannedEta>,
}

/// What the decision reads beside the route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInput {
    pub route: RouteId,
    /// `None`: no such courier; `Some(true)`: retired.
    pub courier_retired: Option<bool>,
    pub stops: Vec<StopFact>,
    /// Deliveries with an ETA on this route that are no longer stops (a failed attempt),
    /// still open.
    pub off_run: Vec<(OrderId, Option<PlannedEta>)>,
    /// The coordinates of every delivery the previous plan or the command names.
    pub points: Vec<(OrderId, Coordinates)>,
}

pub type PlanEvents = (Vec<RouteEvent>, Vec<(OrderId, DeliveryEvent)>);

pub fn decide_plan(
    previous: Option<&CourierRoute>,
    command: &PlanRoute,
    input: &PlanInput,
    now: Timestamp,
    policy: &RoutePolicy,
) -> Result<PlanEvents, Rejection> {
    let id = input.route;
    let requested = command.reason == PlanReason::Requested;
    match input.courier_retired {
        None => return Err(Rejection::CourierNotFound),
        Some(true) => return Err(Rejection::CourierRetired { courier_id: id.courier }),
        Some(false) => {}
    }
    let Some(constraints) = command.constraints.or(previous.map(|route| route.constraints)) else {
        return Err(Rejection::RouteNotPlanned);
    };
    let nothing = Ok((Vec::new(), Vec::new()));
    if input.stops.is_empty() {
        return if requested { Err(Rejection::NoStops) } else { nothing };
    }
    let without: Vec<OrderId> =
        input.stops.iter().filter(|stop| stop.at.is_none()).map(|stop| stop.id).collect();
    if !without.is_empty() {
        return if requested {
            Err(Rejection::StopsWithoutCoordinates { deliveries: without })
        } else {
            nothing
        };
    }
    let starts_at = now.max(constraints.shift_start);
    if starts_at >= constraints.shift_end {
        return if requested {
            Err(Rejection::ShiftOver { shift_end: constraints.shift_end })
        } else {
            nothing
        };
    }
    let point = |order: &OrderId| input.points.iter().find(|(id, _)| id == order).map(|(_, at)| *at);
    let last_visited = previous.and_then(|route| {
        route.plan.stops.iter().rev().filter(|stop| stop.eta <= now).find_map(|stop| point(&stop.id))
    });
    let starts_from = command
        .from_stop
        .as_ref()
        .and_then(point)
        .or(if requested { None } else { last_visited })
        .unwrap_or(constraints.depot);
    let problem = RunProblem {
        starts_at,
        starts_from,
        depot: constraints.depot,
        shift_end: constraints.shift_end,
        capacity: constraints.capacity,
        handover: policy.handover,
        travel: policy.travel,
        stops: input
            .stops
            .iter()
            .filter_map(|stop| Some(Stop { id: stop.id, at: stop.at?, window: stop.window }))
            .collect(),
    };
    let plan = solver::solve(&problem, policy.limits)
        .map_err(|error| Rejection::PlannerFailed(error.to_string()))?;
    let mut deliveries = Vec::new();
    let current =
        |order: &OrderId| input.stops.iter().find(|stop| stop.id == *order).and_then(|stop| stop.eta);
    for stop in &plan.stops {
        let eta = PlannedEta { route: id, sequence: stop.sequence, eta: stop.eta };
        if current(&stop.id) != Some(eta) {
            deliveries.push((stop.id, eta_event(id, Some(eta), String::new())));
        }
    }
    let on_this_route = |eta: Option<PlannedEta>| eta.is_some_and(|eta| eta.route == id);
    for unplanned in &plan.unplanned {
        if on_this_route(current(&unplanned.id)) {
            deliveries.push((unplanned.id, eta_event(id, None, unplanned.reason.clone())));
        }
    }
    for (order, eta) in &input.off_run {
        if on_this_route(*eta) {
            deliveries.push((*order, eta_event(id, None, "no longer on this run".to_owned())));
        }
    }
    let route = RouteEvent::Planned {
        id,
        constraints,
        reason: command.reason,
        plan,
        starts_at,
        starts_from,
        planner: PLANNER.to_owned(),
    };
    Ok((vec![route], deliveries))
}

fn eta_event(route: RouteId, eta: Option<PlannedEta>, unplanned_reason: String) -> DeliveryEvent {
    DeliveryEvent::EtaPlanned {
        route,
        sequence: eta.map_or(0, |eta| eta.sequence),
        eta: eta.map(|eta| eta.eta),
        unplanned_reason,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::domain::CourierId;

    fn at(hour: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 4, hour, 0, 0).single().unwrap_or_default()
    }

    fn point(km_east: f64) -> Coordinates {
        Coordinates::new(48.137, 11.575 + km_east / 74.4).unwrap_or_else(|| unreachable!())
    }

    fn route() -> RouteId {
        RouteId {
            courier: CourierId(Uuid::from_u128(7)),
            day: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap_or_default(),
        }
    }

    fn stop(number: u128, place: Option<Coordinates>) -> StopFact {
        StopFact {
            id: OrderId(Uuid::from_u128(number)),
            at: place,
            window: TimeWindow { start: at(8), end: at(18) },
            eta: None,
        }
    }

    fn input(stops: Vec<StopFact>) -> PlanInput {
        PlanInput {
            route: route(),
            courier_retired: Some(false),
            stops,
            off_run: Vec::new(),
            points: Vec::new(),
        }
    }

    fn constraints() -> RunConstraints {
        RunConstraints { shift_start: at(8), shift_end: at(18), capacity: 10, depot: point(0.0) }
    }

    fn requested() -> PlanRoute {
        PlanRoute { constraints: Some(constraints()), reason: PlanReason::Requested, from_stop: None }
    }

    fn replan() -> PlanRoute {
        PlanRoute { constraints: None, reason: PlanReason::StopAdded, from_stop: None }
    }

    fn planned(input: &PlanInput) -> CourierRoute {
        let (events, _) =
            decide_plan(None, &requested(), input, at(7), &RoutePolicy::default()).expect("planned");
        let RouteEvent::Planned { id, constraints, reason, plan, starts_at, starts_from, planner } =
            events[0].clone();
        CourierRoute { id, constraints, reason, plan, starts_at, starts_from, planner, planned_at: at(7) }
    }

    #[test]
    fn a_request_is_refused_what_a_replan_quietly_skips() {
        let policy = RoutePolicy::default();
        let empty = input(Vec::new());
        assert_eq!(decide_plan(None, &requested(), &empty, at(9), &policy), Err(Rejection::NoStops));
        let unplaced = input(vec![stop(1, Some(point(1.0))), stop(2, None)]);
        assert_eq!(
            decide_plan(None, &requested(), &unplaced, at(9), &policy),
            Err(Rejection::StopsWithoutCoordinates { deliveries: vec![OrderId(Uuid::from_u128(2))] })
        );
        assert_eq!(
            decide_plan(None, &requested(), &input(vec![stop(1, Some(point(1.0)))]), at(19), &policy),
            Err(Rejection::ShiftOver { shift_end: at(18) })
        );
        assert_eq!(decide_plan(None, &replan(), &empty, at(9), &policy), Err(Rejection::RouteNotPlanned));
        let previous = planned(&input(vec![stop(1, Some(point(1.0)))]));
        for (later, now) in
            [(empty, at(9)), (unplaced, at(9)), (input(vec![stop(1, Some(point(1.0)))]), at(19))]
        {
            assert_eq!(
                decide_plan(Some(&previous), &replan(), &later, now, &policy),
                Ok((Vec::new(), Vec::new()))
            );
        }
        let retired = PlanInput { courier_retired: Some(true), ..input(vec![stop(1, Some(point(1.0)))]) };
        assert_eq!(
            decide_plan(None, &requested(), &retired, at(9), &policy),
            Err(Rejection::CourierRetired { courier_id: route().courier })
        );
        let unknown = PlanInput { courier_retired: None, ..input(vec![stop(1, Some(point(1.0)))]) };
        assert_eq!(
            decide_plan(None, &requested(), &unknown, at(9), &policy),
            Err(Rejection::CourierNotFound)
        );
    }

    #[test]
    fn an_unchanged_eta_is_not_written_again_and_a_stop_off_the_run_loses_its_eta() {
        let first = input(vec![stop(1, Some(point(1.0))), stop(2, Some(point(2.0)))]);
        let previous = planned(&first);
        let eta_of = |number: u128| {
            previous.stop(&OrderId(Uuid::from_u128(number))).map(|stop| PlannedEta {
                route: route(),
                sequence: stop.sequence,
                eta: stop.eta,
            })
        };
        // Stop 1 failed (off the run, still open); stop 2 keeps its ETA; stop 3 is new.
        let mut second = stop(2, Some(point(2.0)));
        second.eta = eta_of(2);
        let later = PlanInput {
            off_run: vec![(OrderId(Uuid::from_u128(1)), eta_of(1))],
            points: vec![(OrderId(Uuid::from_u128(1)), point(1.0))],
            ..input(vec![second, stop(3, Some(point(3.0)))])
        };
        let command = PlanRoute {
            constraints: None,
            reason: PlanReason::AttemptFailed,
            from_stop: Some(OrderId(Uuid::from_u128(1))),
        };
        // Before the shift: the rest starts at its start, from the failed stop.
        let (events, deliveries) =
            decide_plan(Some(&previous), &command, &later, at(7), &RoutePolicy::default())
                .expect("re-planned");
        let RouteEvent::Planned { starts_from, .. } = &events[0];
        assert_eq!(*starts_from, point(1.0));
        let written: Vec<(u128, bool)> = deliveries
            .iter()
            .map(|(id, event)| {
                (id.0.as_u128(), matches!(event, DeliveryEvent::EtaPlanned { eta: Some(_), .. }))
            })
            .collect();
        assert!(written.contains(&(3, true)) && written.contains(&(1, false)), "{written:?}");
    }
}
