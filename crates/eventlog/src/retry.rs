//! Patience with NATS: work that fails because the server is slow, restarting, electing a
//! leader or out of reach is tried again with backoff, and only a refusal a retry cannot
//! change (bad settings, a server too old) is returned. A service therefore never exits,
//! nor loses a reaction, because NATS had a bad minute.

use std::future::Future;
use std::time::Duration;

/// The first pause after a failure; each next one doubles, up to [`MAX_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_millis(100);
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The pause before attempt `attempt + 1` (0-based): exponential, capped, with half of it
/// random so that replicas restarted together do not retry in step.
pub fn pause(attempt: u32) -> Duration {
    let ceiling = FIRST_PAUSE.saturating_mul(1 << attempt.min(10)).min(MAX_PAUSE);
    // 62 of a UUIDv7's low 64 bits are random.
    let random = uuid::Uuid::now_v7().as_u128() as u64;
    let half = ceiling / 2;
    half + Duration::from_micros(random % (half.as_micros() as u64).max(1))
}

/// Runs `attempt` until it succeeds or fails in a way `transient` says a retry cannot fix;
/// every transient failure is logged (a warning naming `what`) and followed by a pause.
pub async fn until_done<T, E, Fut>(
    what: &str,
    mut attempt: impl FnMut() -> Fut,
    transient: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    E: std::fmt::Display,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0u32;
    loop {
        match attempt().await {
            Ok(done) => {
                if failures > 0 {
                    tracing::info!(failures, "{what}: done after retrying");
                }
                return Ok(done);
            }
            Err(error) if transient(&error) => {
                let pause = pause(failures);
                failures = failures.saturating_add(1);
                tracing::warn!(%error, failures, retry_in_ms = pause.as_millis() as u64, "{what} failed; retrying");
                tokio::time::sleep(pause).await;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_cap_and_keep_a_random_half() {
        for attempt in 0..20 {
            let ceiling = FIRST_PAUSE.saturating_mul(1 << attempt.min(10)).min(MAX_PAUSE);
            let pause = pause(attempt);
            assert!(pause >= ceiling / 2 && pause <= ceiling, "attempt {attempt}: {pause:?}");
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_permanent_ones_returned() {
        let mut calls = 0;
        let done: Result<u32, String> = until_done(
            "test",
            || {
                calls += 1;
                let call = calls;
                async move { if call < 4 { Err("slow".to_owned()) } else { Ok(call) } }
            },
            |error| error == "slow",
        )
        .await;
        assert_eq!(done, Ok(4));

        let refused: Result<u32, String> =
            until_done("test", || async { Err("refused".to_owned()) }, |error| error == "slow").await;
        assert_eq!(refused, Err("refused".to_owned()));
    }
}
