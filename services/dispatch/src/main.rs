//! The dispatch binary: configuration and wiring only.

use std::time::Duration;

use clap::Parser;
use waybill_dispatch::server::{self, Policy, Settings};
use waybill_runtime::ServiceFlags;
use waybill_types::duration::{self, Unit};

/// Dispatch: the fleet, transport tasks, assignment, progress and transport exceptions.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
    /// How long before a due date (a vehicle's inspection or maintenance, a driver's licence
    /// expiry) the upkeep clock writes its reminder: whole hours, or with a unit `d`, `h`,
    /// `m`, `s` (docs/OPERATIONS.md).
    #[arg(long, env = "WAYBILL_DISPATCH_UPKEEP_REMINDER_LEAD", default_value = "7d")]
    upkeep_reminder_lead: String,
    /// How often the upkeep clock looks for due dates, in milliseconds.
    #[arg(long, env = "WAYBILL_DISPATCH_UPKEEP_TICK_MS", default_value_t = 1_000)]
    upkeep_tick_ms: u64,
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    anyhow::ensure!(config.upkeep_tick_ms >= 1, "--upkeep-tick-ms must be at least 1");
    let upkeep_reminder_lead = duration::parse(&config.upkeep_reminder_lead, Unit::Hours)
        .filter(|lead| *lead >= chrono::Duration::zero() && *lead <= chrono::Duration::days(365))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--upkeep-reminder-lead must be a duration up to a year, in hours (or with d/h/m/s), e.g. 7d or 48; got {:?}",
                config.upkeep_reminder_lead
            )
        })?;
    let settings = Settings {
        sla_tick: Duration::from_millis(config.upkeep_tick_ms),
        ..config.service.settings(Policy { upkeep_reminder_lead })
    };

    let started = config.service.start("waybill-dispatch", 50052).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
