//! The dispatch binary: configuration and wiring only.

use std::sync::Arc;

use clap::Parser;
use waybill_dispatch::commands::SystemClock;
use waybill_dispatch::server::{self, Settings};
use waybill_runtime::{ServiceFlags, Started};

/// Dispatch: the fleet, transport tasks, assignment, progress and transport exceptions.
#[derive(Debug, Parser)]
#[command(version)]
struct Config {
    #[command(flatten)]
    service: ServiceFlags,
}

// Replay and request handling allocate many small, short-lived objects; mimalloc serves
// them faster than glibc malloc (intake measured it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let settings = Settings {
        stream: config.service.stream(),
        wait_timeout: config.service.query_wait(),
        reflection: config.service.reflection,
        shutdown_grace: config.service.shutdown_grace(),
        clock: Arc::new(SystemClock),
        ..Settings::default()
    };

    let Started { nats, listener } = config.service.start("waybill-dispatch", 50052).await?;
    server::run(settings, nats, listener, waybill_runtime::shutdown::signal()).await
}
