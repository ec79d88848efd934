//! What a decider knows beside the state and the command: the time and the rules.

use waybill_types::Timestamp;

/// The clock's reading for this decision and the service's policies (limits, windows,
/// prices). Every service's deciders take `(state, command, &Context)`, so time comes in
/// from outside and a test fixes it.
#[derive(Debug)]
pub struct Context<'a, P> {
    pub now: Timestamp,
    pub policy: &'a P,
}

// By hand: a derive would ask `P: Copy`, and a context only borrows its policy.
impl<P> Clone for Context<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Context<'_, P> {}

impl<'a, P> Context<'a, P> {
    pub fn new(now: Timestamp, policy: &'a P) -> Self {
        Context { now, policy }
    }
}
