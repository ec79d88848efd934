//! The intake binary: configuration and wiring only.

use clap::Parser;
use waybill_intake::domain::Policy;
use waybill_intake::server;
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
    let settings = config.service.settings(Policy { restore_window, ..Policy::default() });

    let started = config.service.start("waybill-intake", 50051).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
