//! The delivery binary: configuration and wiring only.

use std::time::Duration;

use clap::Parser;
use waybill_delivery::domain::{Policy, WindowRule};
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
    };
    let settings =
        Settings { sla_tick: Duration::from_millis(config.sla_tick_ms), ..config.service.settings(policy) };

    let started = config.service.start("waybill-delivery", 50053).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
