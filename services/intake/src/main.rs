//! The intake binary: configuration and wiring only.

use clap::Parser;
use waybill_intake::domain::Policy;
use waybill_intake::server;
use waybill_runtime::{ServiceFlags, Started};

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

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let restore_window = chrono::Duration::try_seconds(config.restore_window_secs)
        .filter(|window| *window >= chrono::Duration::zero())
        .ok_or_else(|| anyhow::anyhow!("--restore-window-secs must be a non-negative number of seconds"))?;
    let settings = config.service.settings(Policy { restore_window, ..Policy::default() });

    let Started { nats, listener } = config.service.start("waybill-intake", 50051).await?;
    server::run(settings, nats, listener, waybill_runtime::shutdown::signal()).await
}
