//! The stream bootstrap: what `waybill bootstrap` does, as the `ops` user, before the
//! services start (deploy/local/run.sh, the compose and Kubernetes init jobs, the test
//! servers). It creates the event and dead-letter streams, or updates them to the safe
//! settings and the replica count asked for; services only look them up and wait while
//! they are missing.

use waybill_eventlog::{EventLog, SetupError, StreamSettings};

/// Creates or updates both streams, retrying while NATS is not reachable yet or has no
/// JetStream leader; a refusal (permissions, settings the server will not keep) is returned.
pub async fn bootstrap(client: &async_nats::Client, settings: &StreamSettings) -> Result<(), SetupError> {
    waybill_eventlog::retry::until_done(
        "bootstrapping the streams",
        || EventLog::bootstrap(client, settings),
        |error: &SetupError| error.is_transient() && !is_permission_denied(error),
    )
    .await?;
    tracing::info!(stream = %settings.name, replicas = settings.replicas, "streams bootstrapped");
    Ok(())
}

/// A request the server refused to route: the user may not manage streams. async-nats
/// reports it as a request that found no responder or timed out, so it is recognised by
/// the server's words when it passes them on.
fn is_permission_denied(error: &SetupError) -> bool {
    error.to_string().to_ascii_lowercase().contains("permissions violation")
}
