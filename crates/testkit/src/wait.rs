//! Waiting for what a service does on its own (a reaction, a timer, a rebuild): ask again
//! every 50 ms until the answer is there, bounded, and say what was awaited when it is not.

use std::future::Future;
use std::time::Duration;

/// How long [`eventually`] waits.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Nothing came within the bound.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {limit:?} waiting for {what}")]
pub struct TimedOut {
    pub what: String,
    pub limit: Duration,
}

/// Calls `attempt` until it yields `Some` (bounded: [`PATIENCE`]); panics, naming `what`,
/// if it never does.
pub async fn eventually<T, Attempt, Answer>(what: &str, attempt: Attempt) -> T
where
    Attempt: FnMut() -> Answer,
    Answer: Future<Output = Option<T>>,
{
    eventually_within(what, PATIENCE, attempt).await.unwrap_or_else(|timed_out| panic!("{timed_out}"))
}

/// Calls `attempt` until it yields `Some`, for at most `limit`.
pub async fn eventually_within<T, Attempt, Answer>(
    what: &str,
    limit: Duration,
    mut attempt: Attempt,
) -> Result<T, TimedOut>
where
    Attempt: FnMut() -> Answer,
    Answer: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = attempt().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TimedOut { what: what.to_owned(), limit });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
