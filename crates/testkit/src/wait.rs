//! Waiting for what a service does on its own (a reaction, a timer, a rebuild): ask again
//! every 50 ms until the answer is there, bounded, and say what was awaited when it is not.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

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
/// if it never does. An async closure may borrow the test's clients mutably.
pub async fn eventually<T>(what: &str, mut attempt: impl AsyncFnMut() -> Option<T>) -> T {
    let patience = Patience::new(what, PATIENCE);
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        patience.pause().await.unwrap_or_else(|timed_out| panic!("{timed_out}"));
    }
}

/// Calls `attempt` until it yields `Some`, for at most `limit`. A plain closure returning a
/// future, not an async closure: a test may spawn this wait, and the compiler cannot yet
/// tell that an async closure's future is `Send`.
pub async fn eventually_within<T, Attempt, Answer>(
    what: &str,
    limit: Duration,
    mut attempt: Attempt,
) -> Result<T, TimedOut>
where
    Attempt: FnMut() -> Answer,
    Answer: Future<Output = Option<T>>,
{
    let patience = Patience::new(what, limit);
    loop {
        if let Some(value) = attempt().await {
            return Ok(value);
        }
        patience.pause().await?;
    }
}

/// The bound of one wait.
struct Patience<'a> {
    what: &'a str,
    limit: Duration,
    deadline: Instant,
}

impl<'a> Patience<'a> {
    fn new(what: &'a str, limit: Duration) -> Self {
        Patience { what, limit, deadline: Instant::now() + limit }
    }

    /// Sleeps before the next attempt, or says the wait is over.
    async fn pause(&self) -> Result<(), TimedOut> {
        if Instant::now() >= self.deadline {
            return Err(TimedOut { what: self.what.to_owned(), limit: self.limit });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    }
}
