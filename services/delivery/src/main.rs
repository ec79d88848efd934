//! The delivery binary: configuration and wiring only.

use std::time::Duration;

use clap::Parser;
use waybill_delivery::domain::{Policy, WindowRule};
use waybill_delivery::route::RoutePolicy;
use waybill_delivery::route::distance::Travel;
use waybill_delivery::route::solver::SolverLimits;
use waybill_delivery::server::{self, Settings};
use waybill_runtime::ServiceFlags;
use waybill_types::duration::{self, Unit};

/// Delivery: the last mile, couriers, promised windows, proof of delivery, the SLA clock.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
    /// Failed attempts after which the goods go back to the sender.
    #[arg(long, env = "WAYBILL_DELIVERY_MAX_ATTEMPTS", default_value_t = 3)]
    max_attempts: u32,
    /// How often the SLA clock looks for promised windows that passed, in milliseconds.
    #[arg(long, env = "WAYBILL_DELIVERY_SLA_TICK_MS", default_value_t = 1_000)]
    sla_tick_ms: u64,
    /// How long after a failed attempt the next window starts, in hours.
    #[arg(long, env = "WAYBILL_DELIVERY_RESCHEDULE_AFTER_HOURS", default_value_t = 24)]
    reschedule_after_hours: i64,
    /// The promised window per service level, as "<start>/<end>" after the goods' arrival at
    /// the destination hub: whole hours, or with a unit `d`, `h`, `m`, `s` (docs/OPERATIONS.md).
    #[arg(long, env = "WAYBILL_DELIVERY_WINDOW_SAME_DAY", default_value = "0/4")]
    window_same_day: String,
    #[arg(long, env = "WAYBILL_DELIVERY_WINDOW_EXPRESS", default_value = "0/24")]
    window_express: String,
    #[arg(long, env = "WAYBILL_DELIVERY_WINDOW_STANDARD", default_value = "24/72")]
    window_standard: String,
    /// Courier routes: road distance as a percentage of the great-circle distance between
    /// two addresses' coordinates (130 = ×1.3).
    #[arg(long, env = "WAYBILL_DELIVERY_ROUTE_ROAD_FACTOR_PERCENT", default_value_t = 130)]
    route_road_factor_percent: u32,
    /// Courier routes: average driving speed between stops, km/h.
    #[arg(long, env = "WAYBILL_DELIVERY_ROUTE_SPEED_KMH", default_value_t = 25)]
    route_speed_kmh: u32,
    /// Courier routes: minutes at each door.
    #[arg(long, env = "WAYBILL_DELIVERY_ROUTE_HANDOVER_MINUTES", default_value_t = 5)]
    route_handover_minutes: u64,
    /// Courier routes: the most a plan may search, in seconds (also capped at 300
    /// generations).
    #[arg(long, env = "WAYBILL_DELIVERY_ROUTE_SOLVER_SECONDS", default_value_t = 2)]
    route_solver_seconds: u64,
    /// A road-routing engine for travel times (e.g. an OSRM URL). Not supported yet: the
    /// service refuses to start with one rather than silently use straight lines.
    #[arg(long, env = "WAYBILL_DELIVERY_ROUTING_ENGINE")]
    routing_engine: Option<String>,
}

/// How couriers' runs are planned, from the flags.
fn routes(config: &Config) -> anyhow::Result<RoutePolicy> {
    anyhow::ensure!(
        config.routing_engine.is_none(),
        "--routing-engine is not supported yet: routes use great-circle distances × --route-road-factor-percent"
    );
    anyhow::ensure!(
        config.route_road_factor_percent >= 100,
        "--route-road-factor-percent must be at least 100"
    );
    anyhow::ensure!(config.route_speed_kmh >= 1, "--route-speed-kmh must be at least 1");
    anyhow::ensure!(config.route_solver_seconds >= 1, "--route-solver-seconds must be at least 1");
    Ok(RoutePolicy {
        travel: Travel {
            road_factor_percent: config.route_road_factor_percent,
            speed_kmh: config.route_speed_kmh,
        },
        handover: Duration::from_secs(config.route_handover_minutes * 60),
        limits: SolverLimits {
            max_time: Duration::from_secs(config.route_solver_seconds),
            ..SolverLimits::default()
        },
    })
}

/// "<start>/<end>" after the arrival: start at or after the arrival, end after start, within
/// 30 days.
fn window(flag: &str, value: &str) -> anyhow::Result<WindowRule> {
    duration::parse_pair(value, Unit::Hours)
        .filter(|(start, end)| start < end && *end <= chrono::Duration::days(30))
        .map(|(start_after, end_after)| WindowRule { start_after, end_after })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--{flag} must be <start>/<end> after the arrival at the hub, in hours (or with d/h/m/s), \
                 start before end, end within 30 days, e.g. 24/72 or 2h/6h; got {value:?}"
            )
        })
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    anyhow::ensure!(config.max_attempts >= 1, "--max-attempts must be at least 1");
    anyhow::ensure!(config.sla_tick_ms >= 1, "--sla-tick-ms must be at least 1");
    let reschedule_after = chrono::Duration::try_hours(config.reschedule_after_hours)
        .filter(|after| *after >= chrono::Duration::zero())
        .ok_or_else(|| anyhow::anyhow!("--reschedule-after-hours must be a non-negative number of hours"))?;
    let policy = Policy {
        same_day: window("window-same-day", &config.window_same_day)?,
        express: window("window-express", &config.window_express)?,
        standard: window("window-standard", &config.window_standard)?,
        max_attempts: config.max_attempts,
        reschedule_after,
        routes: routes(&config)?,
    };
    let settings =
        Settings { sla_tick: Duration::from_millis(config.sla_tick_ms), ..config.service.settings(policy) };

    let started = config.service.start("waybill-delivery", 50053).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
