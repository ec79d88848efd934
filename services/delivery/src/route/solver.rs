//! Ordering a courier's stops: the vehicle-routing solver (`vrp-core`, reinterpretcat/vrp)
//! with hard promised windows, the van's capacity and the shift, and a nearest-neighbour
//! baseline the bench compares it with. Both hand back the stop order; [`evaluate`] turns
//! an order into ETAs and distances the same way for both, so their numbers compare.
//!
//! The solver runs on one thread with a fixed seed (`DefaultRandom::new_repeatable`), a
//! generation cap and a time cap, so a plan is bounded in time; with the same input and
//! within the time cap it gives the same order.

use std::sync::Arc;
use std::time::Duration;

use vrp_core::models::common::TimeWindow as SolverWindow;
use vrp_core::prelude::*;
use vrp_core::rosomaxa::evolution::TelemetryMode;
use vrp_core::rosomaxa::utils::{Parallelism, TimeQuota};
use waybill_types::{Coordinates, OrderId, Timestamp};

use super::distance::Travel;
use crate::domain::TimeWindow;

/// One stop to place on the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub id: OrderId,
    pub at: Coordinates,
    pub window: TimeWindow,
}

/// What a run must keep to, and where it is now.
#[derive(Clone, Debug, PartialEq)]
pub struct RunProblem {
    /// When and where the (rest of the) run starts.
    pub starts_at: Timestamp,
    pub starts_from: Coordinates,
    /// Where it ends, by `shift_end`.
    pub depot: Coordinates,
    pub shift_end: Timestamp,
    /// Deliveries the van holds.
    pub capacity: u32,
    /// Time spent at each stop.
    pub handover: Duration,
    pub travel: Travel,
    pub stops: Vec<Stop>,
}

/// How long the solver may search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SolverLimits {
    pub max_generations: usize,
    pub max_time: Duration,
}

impl Default for SolverLimits {
    fn default() -> Self {
        Self { max_generations: 300, max_time: Duration::from_secs(2) }
    }
}

/// A stop in the planned order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStop {
    pub id: OrderId,
    /// 1-based.
    pub sequence: u32,
    /// When the handover begins (after waiting for the window if early).
    pub eta: Timestamp,
    /// From the previous stop (or the start).
    pub distance_m: u64,
    pub window_kept: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unplanned {
    pub id: OrderId,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPlan {
    pub stops: Vec<PlannedStop>,
    pub unplanned: Vec<Unplanned>,
    /// Start, every stop, back to the depot.
    pub total_distance_m: u64,
}

/// Why the solver could not run (a bug here or in the solver, not the caller's mistake).
#[derive(Debug, thiserror::Error)]
#[error("route solver failed: {0}")]
pub struct SolverError(String);

impl From<GenericError> for SolverError {
    fn from(error: GenericError) -> Self {
        Self(error.to_string())
    }
}

pub const UNFIT: &str = "the promised window, the working hours and the van's capacity cannot all be kept";

/// Locations: 0 the start, 1 the depot, 2.. the stops in input order.
fn locations(problem: &RunProblem) -> Vec<Coordinates> {
    [problem.starts_from, problem.depot].into_iter().chain(problem.stops.iter().map(|stop| stop.at)).collect()
}

fn seconds_since(start: Timestamp, at: Timestamp) -> f64 {
    (at - start).num_milliseconds() as f64 / 1000.0
}

/// The promised window in the solver's seconds; a window already closed at the start is
/// open all shift (the stop is late whatever the order; it is still delivered).
fn window_seconds(problem: &RunProblem, window: &TimeWindow) -> (f64, f64) {
    let shift = seconds_since(problem.starts_at, problem.shift_end).max(0.0);
    let end = seconds_since(problem.starts_at, window.end);
    if end < 0.0 { (0.0, shift) } else { (seconds_since(problem.starts_at, window.start).max(0.0), end) }
}

/// The order the solver finds, as indexes into `problem.stops`, and those it leaves out.
pub fn solve(problem: &RunProblem, limits: SolverLimits) -> Result<RunPlan, SolverError> {
    if problem.stops.is_empty() {
        return Ok(evaluate(problem, &[], Vec::new()));
    }
    let points = locations(problem);
    let mut distances = Vec::with_capacity(points.len() * points.len());
    let mut durations = Vec::with_capacity(points.len() * points.len());
    for from in &points {
        for to in &points {
            let metres = problem.travel.metres(*from, *to);
            distances.push(metres as Float);
            durations.push(problem.travel.seconds(metres) as Float);
        }
    }
    let transport: Arc<dyn TransportCost> = Arc::new(SimpleTransportCost::new(durations, distances)?);
    let goal = GoalContextBuilder::with_features(&[
        MinimizeUnassignedBuilder::new("min-unassigned").build()?,
        TransportFeatureBuilder::new("min-distance")
            .set_transport_cost(transport.clone())
            .set_time_constrained(true)
            .build_minimize_distance()?,
        CapacityFeatureBuilder::<SingleDimLoad>::new("capacity").build()?,
    ])?
    .build()?;
    let handover = problem.handover.as_secs_f64();
    let jobs = problem
        .stops
        .iter()
        .enumerate()
        .map(|(index, stop)| {
            let (start, end) = window_seconds(problem, &stop.window);
            SingleBuilder::default()
                .id(&index.to_string())
                .demand(Demand::delivery(1))
                .times(vec![SolverWindow::new(start, end)])?
                .duration(handover)?
                .location(index + 2)?
                .build_as_job()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vehicle = VehicleBuilder::default()
        .id("courier")
        .add_detail(
            VehicleDetailBuilder::default()
                .set_start_location(0)
                .set_start_time(0.0)
                .set_end_location(1)
                .set_end_time(seconds_since(problem.starts_at, problem.shift_end).max(0.0))
                .build()?,
        )
        .capacity(SingleDimLoad::new(i32::try_from(problem.capacity).unwrap_or(i32::MAX)))
        .build()?;
    let vrp = Arc::new(
        ProblemBuilder::default()
            .add_jobs(jobs.into_iter())
            .add_vehicles(std::iter::once(vehicle))
            .with_goal(goal)
            .with_transport_cost(transport)
            .build()?,
    );
    let environment = Arc::new(Environment::new(
        Arc::new(DefaultRandom::new_repeatable()),
        Some(Arc::new(TimeQuota::new(limits.max_time.as_secs_f64()))),
        Parallelism::new_with_cpus(1),
        Arc::new(|message: &str| tracing::trace!(message, "route solver")),
        false,
    ));
    let config = VrpConfigBuilder::new(vrp.clone())
        .set_environment(environment)
        .set_telemetry_mode(TelemetryMode::None)
        .prebuild()?
        .with_max_generations(Some(limits.max_generations))
        .build()?;
    let solution = Solver::new(vrp, config).solve()?;
    let order: Vec<usize> = solution
        .routes
        .iter()
        .flat_map(|route| route.tour.all_activities())
        .filter(|activity| activity.job.is_some())
        .filter_map(|activity| activity.place.location.checked_sub(2))
        .collect();
    let unplanned = (0..problem.stops.len())
        .filter(|index| !order.contains(index))
        .map(|index| Unplanned { id: problem.stops[index].id, reason: UNFIT.to_owned() })
        .collect();
    Ok(evaluate(problem, &order, unplanned))
}

/// The baseline: always the nearest stop not yet visited, windows ignored, until the van
/// is full (the rest left out).
pub fn nearest_neighbour(problem: &RunProblem) -> RunPlan {
    let mut left: Vec<usize> = (0..problem.stops.len()).collect();
    let mut order = Vec::with_capacity(left.len());
    let mut here = problem.starts_from;
    while !left.is_empty() && order.len() < problem.capacity as usize {
        let (position, _) = left
            .iter()
            .enumerate()
            .map(|(position, index)| (position, problem.travel.metres(here, problem.stops[*index].at)))
            .min_by_key(|(_, metres)| *metres)
            .unwrap_or((0, 0));
        let index = left.swap_remove(position);
        here = problem.stops[index].at;
        order.push(index);
    }
    let unplanned = left
        .into_iter()
        .map(|index| Unplanned { id: problem.stops[index].id, reason: "van full".into() })
        .collect();
    evaluate(problem, &order, unplanned)
}

/// ETAs and distances of visiting `order` (indexes into `problem.stops`): drive, wait for
/// the window's start if early, hand over, drive on; then back to the depot.
pub fn evaluate(problem: &RunProblem, order: &[usize], unplanned: Vec<Unplanned>) -> RunPlan {
    let handover = chrono::Duration::from_std(problem.handover).unwrap_or_default();
    let mut clock = problem.starts_at;
    let mut here = problem.starts_from;
    let mut total = 0;
    let mut stops = Vec::with_capacity(order.len());
    for (position, index) in order.iter().enumerate() {
        let stop = &problem.stops[*index];
        let metres = problem.travel.metres(here, stop.at);
        let arrival = clock + chrono::Duration::seconds(problem.travel.seconds(metres) as i64);
        let eta = arrival.max(stop.window.start);
        stops.push(PlannedStop {
            id: stop.id,
            sequence: position as u32 + 1,
            eta,
            distance_m: metres,
            window_kept: eta <= stop.window.end,
        });
        total += metres;
        clock = eta + handover;
        here = stop.at;
    }
    total += problem.travel.metres(here, problem.depot);
    RunPlan { stops, unplanned, total_distance_m: total }
}
