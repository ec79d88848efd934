//! What every Waybill binary repeats, so that each `main.rs` is configuration and wiring
//! only: logging, the NATS connection, the actor interceptor, health and reflection, and
//! serving on an already-bound listener until a shutdown future resolves.

pub mod actor;
pub mod grpc;
pub mod shutdown;
pub mod telemetry;

pub use actor::{ACTOR_HEADER, CORRELATION_HEADER, RequestContext, identify_caller};
pub use grpc::{Health, serve};

/// Connects to NATS under the process's name, retrying while the server is not up yet
/// (services and nats-server often start together).
pub async fn connect_nats(url: &str, name: &str) -> anyhow::Result<async_nats::Client> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|error| anyhow::anyhow!("cannot connect to NATS at {url}: {error}"))?;
    Ok(client)
}
