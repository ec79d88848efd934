//! What a decider knows beside the state and the command: the time, the rules, and how far
//! clocks may disagree.

use waybill_types::Timestamp;

/// The clock's reading for this decision and the service's policies (limits, windows,
/// prices). Every service's deciders take `(state, command, &Context)`, so time comes in
/// from outside and a test fixes it.
#[derive(Debug)]
pub struct Context<'a, P> {
    pub now: Timestamp,
    pub policy: &'a P,
    /// How far a fact's time may stray from the server's clock or before the facts it
    /// follows (`--clock-skew`, the same in every service; see [`crate::time`]).
    pub clock_skew: chrono::Duration,
}

// By hand: a derive would ask `P: Copy`, and a context only borrows its policy.
impl<P> Clone for Context<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Context<'_, P> {}

impl<'a, P> Context<'a, P> {
    /// A context allowing the default clock skew ([`crate::time::DEFAULT_CLOCK_SKEW`]).
    pub fn new(now: Timestamp, policy: &'a P) -> Self {
        Context { now, policy, clock_skew: crate::time::DEFAULT_CLOCK_SKEW }
    }

    pub fn with_clock_skew(self, clock_skew: chrono::Duration) -> Self {
        Context { clock_skew, ..self }
    }
}
