//! The one retry policy of every write: how many times a decision is taken again after
//! losing a race, and how long it waits before the next try.

use std::time::Duration;

use uuid::Uuid;

/// How many times a command is decided before it answers ABORTED.
///
/// Twelve, the budget dispatch's automatic assignment needed: it competes with every other
/// assignment on the fleet, and with the backoff below twelve tries span up to ~0.6 s, which
/// outlasts a burst of 20 lifecycles on one van. A single-aggregate command rarely loses
/// more than once, so the larger budget costs it nothing.
pub const MAX_ATTEMPTS: usize = 12;

/// The longest pause between two attempts.
const MAX_PAUSE_MS: u64 = 100;

/// The pause after losing the race on attempt `attempt` (0-based): exponential backoff with
/// full jitter, 1 ms up to a ceiling that doubles from 2 ms and is capped at 100 ms.
///
/// Full jitter (a random pause below the ceiling, not a fixed one) because requests that
/// collided must not collide again in step: with a fixed small pause, 20 concurrent
/// lifecycles on one van ran out of attempts.
pub fn pause(attempt: usize) -> Duration {
    let ceiling_ms = 2u64.saturating_mul(1 << attempt.min(6)).min(MAX_PAUSE_MS);
    // 62 of a UUIDv7's low 64 bits are random: enough for a jitter, no RNG crate needed.
    let random = Uuid::now_v7().as_u128() as u64;
    Duration::from_millis(1 + random % ceiling_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_stay_under_a_ceiling_that_grows_and_is_capped() {
        for attempt in 0..MAX_ATTEMPTS {
            let ceiling = 2u64 << attempt.min(6);
            for _ in 0..50 {
                let pause = pause(attempt).as_millis() as u64;
                assert!(pause >= 1 && pause <= ceiling.min(MAX_PAUSE_MS), "attempt {attempt}: {pause} ms");
            }
        }
    }
}
