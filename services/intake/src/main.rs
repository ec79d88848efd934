//! The intake binary: configuration and wiring only.

use clap::Parser;
use waybill_intake::domain::Policy;
use waybill_intake::server;
use waybill_intake::watch::WatchLimits;
use waybill_runtime::ServiceFlags;

/// Intake: places, reviews, amends, cancels and tracks orders.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
    /// How long after cancellation an order may still be restored, in seconds.
    #[arg(long, env = "WAYBILL_INTAKE_RESTORE_WINDOW_SECS", default_value_t = 86_400)]
    restore_window_secs: i64,
    /// Most WatchOrder streams one caller may hold open.
    #[arg(long, env = "WAYBILL_INTAKE_WATCHES_PER_CALLER", default_value_t = WatchLimits::default().per_caller)]
    watches_per_caller: usize,
    /// Most WatchOrder streams open at once, of all callers.
    #[arg(long, env = "WAYBILL_INTAKE_WATCHES_TOTAL", default_value_t = WatchLimits::default().total)]
    watches_total: usize,
}

/// The restore window from `--restore-window-secs`: zero or more seconds.
fn restore_window(seconds: i64) -> anyhow::Result<chrono::Duration> {
    chrono::Duration::try_seconds(seconds)
        .filter(|window| *window >= chrono::Duration::zero())
        .ok_or_else(|| anyhow::anyhow!("--restore-window-secs must be a non-negative number of seconds"))
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let restore_window = restore_window(config.restore_window_secs)?;
    let watches = WatchLimits { per_caller: config.watches_per_caller, total: config.watches_total };
    let settings = config.service.settings(Policy { restore_window, watches, ..Policy::default() });

    let started = config.service.start("waybill-intake", 50051).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
