//! Given/when/then over a decider, for the services' decider tests: pure, no NATS.
//!
//! ```text
//! given(history).at(now).when(command).then(events)
//!                                      .then_rejected(rejection)
//! ```
//!
//! The history is folded with the aggregate's own `evolve` (its first event at the
//! scenario's start, the others a minute apart), the command is decided an hour after the
//! start unless [`Scenario::at`] says otherwise, and `then` checks the decided events and
//! returns the state after them, so a test can go on from there. A decision over several
//! aggregates (a task and the fleet) runs through [`Scenario::deciding`].

use std::fmt::Debug;

use chrono::Duration;
use waybill_types::Timestamp;

use crate::rejection::InvalidFields;
use crate::time::TimeRejected;
use crate::{Aggregate, Context, Decided, Decider, Decision};

/// A history of one aggregate and the moment and rules a command is decided with.
pub struct Scenario<A: Aggregate> {
    history: Vec<A::Event>,
    started: Timestamp,
    now: Timestamp,
    policy: A::Policy,
    seen_as: Option<SeenAs<A>>,
}

/// How a test sees decided events before comparing them with the expected ones: with the
/// parts it leaves aside (texts written for people, say) checked on their own and blanked.
pub type SeenAs<A> = fn(&[<A as Aggregate>::Event]) -> Vec<<A as Aggregate>::Event>;

/// What a command decided on a scenario's state.
pub struct Then<A: Aggregate, T> {
    /// The state the command was decided on.
    pub state: Option<A>,
    /// When it was decided.
    pub now: Timestamp,
    pub result: Result<T, A::Rejection>,
    seen_as: Option<SeenAs<A>>,
}

impl<A: Aggregate> Scenario<A> {
    /// A history whose first event happened at `started`, with the default policy.
    pub fn given(started: Timestamp, history: impl IntoIterator<Item = A::Event>) -> Self
    where
        A::Policy: Default,
    {
        Scenario {
            history: history.into_iter().collect(),
            started,
            now: started + Duration::hours(1),
            policy: A::Policy::default(),
            seen_as: None,
        }
    }

    /// The time the command is decided at (default: an hour after the history began).
    pub fn at(mut self, now: Timestamp) -> Self {
        self.now = now;
        self
    }

    pub fn with_policy(mut self, policy: A::Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Compares the decided events as `seen_as` shows them with the expected ones.
    pub fn seen_as(mut self, seen_as: SeenAs<A>) -> Self {
        self.seen_as = Some(seen_as);
        self
    }

    /// The aggregate the history builds; panics if an event does not apply.
    #[track_caller]
    pub fn state(&self) -> Option<A>
    where
        A::Event: Debug,
    {
        self.history.iter().enumerate().fold(None, |state, (index, event)| {
            let at = self.started + Duration::minutes(i64::try_from(index).expect("a short history"));
            let next = A::evolve(state, event, at);
            assert!(next.is_some(), "history event {event:?} does not apply");
            next
        })
    }

    /// Decides `command` on the history's state.
    #[track_caller]
    pub fn when(self, command: A::Command) -> Then<A, Vec<A::Event>>
    where
        A: Decider,
        A::Event: Debug,
    {
        let state = self.state();
        let result = A::decide(state.as_ref(), &command, &Context::new(self.now, &self.policy));
        Then { state, now: self.now, result, seen_as: self.seen_as }
    }

    /// Takes `decision` (over several aggregates) on the history's state and `input`, what
    /// it would have read from the read model.
    #[track_caller]
    pub fn deciding<M, D: Decision<A, M>>(
        self,
        decision: &D,
        input: &D::Input,
    ) -> Then<A, Decided<A, D::Other>>
    where
        A::Event: Debug,
    {
        let state = self.state();
        let result = decision.decide(state.as_ref(), input, &Context::new(self.now, &self.policy));
        Then { state, now: self.now, result, seen_as: self.seen_as }
    }
}

impl<A: Aggregate> Then<A, Vec<A::Event>>
where
    A::Event: Debug + PartialEq,
    A::Rejection: Debug,
{
    /// Asserts the decided events; returns the aggregate after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> Option<A> {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.seen_as {
            Some(seen_as) => self.then_matching(|events| assert_eq!(seen_as(events), expected)),
            None => self.then_matching(|events| assert_eq!(events, expected.as_slice())),
        }
    }

    /// Asserts the command decided nothing (the aggregate already reflects it).
    #[track_caller]
    pub fn then_nothing(self) {
        self.then([]);
    }

    /// Checks the decided events with `check` (for events with parts a test leaves aside);
    /// returns the aggregate after them.
    #[track_caller]
    pub fn then_matching(self, check: impl FnOnce(&[A::Event])) -> Option<A> {
        let now = self.now;
        match self.result {
            Ok(events) => {
                check(&events);
                events.iter().fold(self.state, |state, event| {
                    let next = A::evolve(state, event, now);
                    assert!(next.is_some(), "decided event {event:?} does not apply");
                    next
                })
            }
            Err(rejection) => panic!("expected events, got rejected: {rejection:?}"),
        }
    }
}

impl<A: Aggregate, T: Debug> Then<A, T>
where
    A::Rejection: Debug,
{
    /// Asserts the command was rejected, exactly so.
    #[track_caller]
    pub fn then_rejected(self, expected: A::Rejection)
    where
        A::Rejection: PartialEq,
    {
        assert_eq!(self.rejection(), expected);
    }

    /// Asserts the command was refused as invalid, naming exactly these fields in this order.
    #[track_caller]
    pub fn then_invalid(self, fields: &[&str])
    where
        A::Rejection: InvalidFields,
    {
        let rejection = self.rejection();
        match rejection.invalid_fields() {
            Some(violations) => {
                let named: Vec<&str> = violations.iter().map(|violation| violation.field.as_str()).collect();
                assert_eq!(named, fields);
            }
            None => panic!("expected Invalid on {fields:?}, got {rejection:?}"),
        }
    }

    /// Asserts the command was refused for a time out of order with the stored facts (or in
    /// the future) on `field` ([`crate::time`]).
    #[track_caller]
    pub fn then_refused_in_time(self, field: &str)
    where
        A::Rejection: TimeRejected,
    {
        let rejection = self.rejection();
        match rejection.time_rejection() {
            Some(time) => assert_eq!(time.field(), field, "{time}"),
            None => panic!("expected a time rejection on {field}, got {rejection:?}"),
        }
    }

    /// The rejection, for a test that looks into it; panics if the command was accepted.
    #[track_caller]
    pub fn rejection(self) -> A::Rejection {
        match self.result {
            Err(rejection) => rejection,
            Ok(decided) => panic!("expected a rejection, got {decided:?}"),
        }
    }

    /// What was decided; panics if the command was rejected.
    #[track_caller]
    pub fn decided(self) -> T {
        match self.result {
            Ok(decided) => decided,
            Err(rejection) => panic!("expected a decision, got rejected: {rejection:?}"),
        }
    }
}
