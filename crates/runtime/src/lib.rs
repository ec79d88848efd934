//! What every Waybill binary repeats, so that each `main.rs` is configuration and wiring
//! only: the shared flags, logging, the NATS connection, the actor interceptor, health and reflection, and
//! serving on an already-bound listener until a shutdown future resolves.

pub mod actor;
pub mod flags;
pub mod grpc;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;

pub use actor::{ACTOR_HEADER, CORRELATION_HEADER, RequestContext, identify_caller};
pub use flags::{ServiceFlags, Started};
pub use grpc::{Health, serve};

/// Connects to NATS under the process's name, retrying while the server is not up yet
/// (services and nats-server often start together).
pub async fn connect_nats(url: &str, name: &str) -> anyhow::Result<async_nats::Client> {
    let client =
        async_nats::ConnectOptions::new().name(name).retry_on_initial_connect().connect(url).await.map_err(
            |error| anyhow::anyhow!("cannot connect to NATS at {}: {error}", redact_credentials(url)),
        )?;
    Ok(client)
}

/// `nats://user:secret@host:4222,...` -> `nats://***@host:4222,...`: URLs go into logs.
fn redact_credentials(urls: &str) -> String {
    let redact = |url: &str| match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &url[..scheme_end + 3], &url[at..])
        }
        (None, Some(at)) => format!("***{}", &url[at..]),
        _ => url.to_owned(),
    };
    urls.split(',').map(redact).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_reach_the_logs() {
        assert_eq!(
            super::redact_credentials("nats://intake:s3cret@nats-1:4222,nats://intake:s3cret@nats-2:4222"),
            "nats://***@nats-1:4222,nats://***@nats-2:4222"
        );
        assert_eq!(super::redact_credentials("intake:s3cret@localhost"), "***@localhost");
        assert_eq!(super::redact_credentials("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
