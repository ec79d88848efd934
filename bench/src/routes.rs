//! Courier routes (issue 15): the quality and planning time of delivery's route planner
//! (`waybill_delivery::route::solver`, vrp-core) against a nearest-neighbour baseline, on
//! the same generated runs of 50, 200 and 1,000 stops. Pure CPU, in this process: no
//! broker or service is involved (the planner is the same function the service calls).
//!
//! A run: one courier, stops uniformly in a 10 × 10 km square around a depot in Munich,
//! each with a promised window a quarter of the shift long starting anywhere in the first
//! three quarters; a shift long enough for every stop (2 minutes per handover, 25 km/h,
//! the great-circle distance × 1.3), a van that holds them all. The points and windows come
//! from a fixed-seed generator, so every run plans the same problems. The solver's search
//! is capped per size (generations and seconds, [`limits`]) to keep `make bench` bounded.

use std::time::{Duration, Instant};

use waybill_delivery::domain::TimeWindow;
use waybill_delivery::route::distance::Travel;
use waybill_delivery::route::solver::{self, RunPlan, RunProblem, SolverLimits, Stop};
use waybill_types::{Coordinates, OrderId};

pub const SIZES: [usize; 3] = [50, 200, 1_000];

/// Both planners on one size, one run.
#[derive(Clone, Debug)]
pub struct RouteRun {
    pub stops: usize,
    pub solver: Outcome,
    pub baseline: Outcome,
}

#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub distance_km: f64,
    pub planned: usize,
    /// Planned stops whose ETA is within the promised window.
    pub windows_kept: usize,
    pub seconds: f64,
}

/// The solver's cap for a run of `stops`.
pub fn limits(stops: usize) -> SolverLimits {
    let seconds = match stops {
        0..=50 => 5,
        51..=200 => 15,
        _ => 40,
    };
    SolverLimits { max_generations: 2_000, max_time: Duration::from_secs(seconds) }
}

/// Plans the same generated run of each size with both planners.
pub fn run(run: usize) -> anyhow::Result<Vec<RouteRun>> {
    SIZES
        .iter()
        .map(|&stops| {
            let problem = problem(stops);
            let started = Instant::now();
            let planned = solver::solve(&problem, limits(stops))?;
            let solver = outcome(&planned, started.elapsed());
            let started = Instant::now();
            let baseline = outcome(&solver::nearest_neighbour(&problem), started.elapsed());
            eprintln!(
                "routes: run {run}, {stops} stops: solver {:.1} km, {} windows kept, {:.2} s; nearest neighbour {:.1} km, {} kept",
                solver.distance_km, solver.windows_kept, solver.seconds, baseline.distance_km, baseline.windows_kept
            );
            Ok(RouteRun { stops, solver, baseline })
        })
        .collect()
}

fn outcome(plan: &RunPlan, took: Duration) -> Outcome {
    Outcome {
        distance_km: plan.total_distance_m as f64 / 1000.0,
        planned: plan.stops.len(),
        windows_kept: plan.stops.iter().filter(|stop| stop.window_kept).count(),
        seconds: took.as_secs_f64(),
    }
}

/// A run of `stops` from a fixed seed (see the module docs).
pub fn problem(stops: usize) -> RunProblem {
    let depot = Coordinates::new(48.137, 11.575).unwrap_or_else(|| unreachable!("Munich is on the map"));
    let travel = Travel::default();
    let handover = Duration::from_secs(120);
    let mut random = SplitMix(0x5eed_0000 + stops as u64);
    // 10 km north-south is ~0.09°, east-west at 48° N ~0.134°.
    let points: Vec<Coordinates> = (0..stops)
        .map(|_| {
            let latitude = depot.latitude() + (random.unit() - 0.5) * 0.09;
            let longitude = depot.longitude() + (random.unit() - 0.5) * 0.134;
            Coordinates::new(latitude, longitude).unwrap_or(depot)
        })
        .collect();
    // Long enough for every stop: twice a nearest-neighbour-like tour's driving plus the
    // handovers (0.92 √(n A) for n points in area A, × the road factor).
    let tour_km = 0.92 * ((stops as f64) * 100.0).sqrt() * 1.3;
    let driving = tour_km / f64::from(travel.speed_kmh);
    let shift = Duration::from_secs_f64(2.0 * driving * 3600.0) + handover * stops as u32;
    let starts_at = chrono::DateTime::from_timestamp(1_796_371_200, 0).unwrap_or_default(); // 2026-12-04 08:00 UTC
    let shift_end = starts_at + chrono::Duration::from_std(shift).unwrap_or_default();
    let window = shift / 4;
    let stops = points
        .into_iter()
        .enumerate()
        .map(|(index, at)| {
            let start = starts_at
                + chrono::Duration::from_std(shift.mul_f64(0.75 * random.unit())).unwrap_or_default();
            Stop {
                id: OrderId(uuid::Uuid::from_u128(index as u128 + 1)),
                at,
                window: TimeWindow {
                    start,
                    end: start + chrono::Duration::from_std(window).unwrap_or_default(),
                },
            }
        })
        .collect();
    RunProblem {
        starts_at,
        starts_from: depot,
        depot,
        shift_end,
        capacity: u32::MAX,
        handover,
        travel,
        stops,
    }
}

/// SplitMix64: a tiny fixed-seed generator, enough to scatter points reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}
