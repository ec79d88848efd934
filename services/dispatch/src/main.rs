//! The dispatch binary: configuration and wiring only.

use clap::Parser;
use waybill_dispatch::server;
use waybill_runtime::ServiceFlags;

/// Dispatch: the fleet, transport tasks, assignment, progress and transport exceptions.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
}

waybill_runtime::global_allocator!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let settings = config.service.settings(());

    let started = config.service.start("waybill-dispatch", 50052).await?;
    server::run(settings, started, waybill_runtime::shutdown::signal()).await
}
