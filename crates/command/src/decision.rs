//! A decision: what one command reads, and what it writes, on one aggregate or several.
//!
//! Most commands read and write one aggregate: [`Decider::decide`] is all they need (the
//! runner wraps it in [`Single`]); one that also needs a fact the model holds beside the
//! aggregate is built from the model in the decision's read ([`Completed`]). A decision that spans aggregates implements [`Decision`]
//! itself: dispatch's task commands read the task and the vehicles (every vehicle, for an
//! automatic assignment) and load or unload them; after-sales' refunds and claim approvals
//! read a case and its order's ledger and write both. Every aggregate a decision read is
//! recorded in [`Reads`], so the runner's stale-state check covers all of them.

use std::collections::HashMap;

use waybill_eventlog::Position;

use crate::{Aggregate, Context, Decider};

/// A command's decision on a primary aggregate `A`, possibly writing other aggregates of
/// type `Other` in the same atomic append.
pub trait Decision<A: Aggregate, M>: Send + Sync {
    /// The aggregates written together with `A` (a vehicle, a ledger); `A` itself when none.
    type Other: Aggregate;
    /// What the decision reads from the read model beside `A`'s state.
    type Input: Send;

    /// Takes what the decision needs from the model (under the same lock as `A`'s state),
    /// recording in `reads` the version of every other aggregate it looked at.
    fn read(&self, model: &M, primary: Primary<'_, A>, reads: &mut Reads<Self::Other>) -> Self::Input;

    /// The events to write, or why not.
    fn decide(
        &self,
        state: Option<&A>,
        input: &Self::Input,
        context: &Context<'_, A::Policy>,
    ) -> Result<Decided<A, Self::Other>, A::Rejection>;

    /// The rejection for a command on a primary aggregate that does not exist.
    fn not_found(&self, id: &A::Id) -> A::Rejection;
}

/// The aggregate a decision is taken on, as [`Decision::read`] sees it.
pub struct Primary<'a, A: Aggregate> {
    pub id: &'a A::Id,
    /// `None`: it does not exist yet.
    pub state: Option<&'a A>,
}

/// What a decision writes: events on the primary aggregate, and on others.
pub struct Decided<A: Aggregate, B: Aggregate> {
    pub events: Vec<A::Event>,
    /// Other aggregates' events, in the order decided (grouped per aggregate on append).
    pub others: Vec<(B::Id, B::Event)>,
}

impl<A: Aggregate, B: Aggregate> std::fmt::Debug for Decided<A, B>
where
    A::Event: std::fmt::Debug,
    B::Event: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decided").field("events", &self.events).field("others", &self.others).finish()
    }
}

impl<A: Aggregate, B: Aggregate> Decided<A, B> {
    /// Events on the primary aggregate only.
    pub fn only(events: Vec<A::Event>) -> Self {
        Decided { events, others: Vec::new() }
    }

    /// Nothing to write: the aggregates already reflect the command.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.others.is_empty()
    }
}

/// The versions of what a decision read beside its primary aggregate; if any moved before
/// the decision was stored, it may be stale.
pub struct Reads<B: Aggregate> {
    /// Other aggregates of the kind the decision may write (0: absent).
    pub(crate) others: HashMap<B::Id, Position>,
    /// Aggregates of other kinds, read only (a driver), by subject.
    pub(crate) subjects: Vec<(String, Position)>,
}

impl<B: Aggregate> Default for Reads<B> {
    fn default() -> Self {
        Reads { others: HashMap::new(), subjects: Vec::new() }
    }
}

impl<B: Aggregate> PartialEq for Reads<B> {
    fn eq(&self, other: &Self) -> bool {
        self.others == other.others && self.subjects == other.subjects
    }
}

impl<B: Aggregate> Reads<B> {
    /// The decision read aggregate `id` at `version` (and may write it).
    pub fn other(&mut self, id: B::Id, version: Position) {
        self.others.insert(id, version);
    }

    /// The decision read the aggregate on `subject` at `version` (and will not write it).
    pub fn subject(&mut self, subject: String, version: Position) {
        self.subjects.push((subject, version));
    }

    /// The version `id` was read at; 0 (must be new) if it was not read.
    pub fn version_of(&self, id: &B::Id) -> Position {
        self.others.get(id).copied().unwrap_or(0)
    }
}

/// A single-aggregate command: the aggregate's own [`Decider`].
pub struct Single<'c, C>(pub &'c C);

impl<A: Decider, M> Decision<A, M> for Single<'_, A::Command> {
    type Other = A;
    type Input = ();

    fn read(&self, _model: &M, _primary: Primary<'_, A>, _reads: &mut Reads<A>) {}

    fn decide(
        &self,
        state: Option<&A>,
        _input: &(),
        context: &Context<'_, A::Policy>,
    ) -> Result<Decided<A, A>, A::Rejection> {
        A::decide(state, self.0, context).map(Decided::only)
    }

    fn not_found(&self, id: &A::Id) -> A::Rejection {
        A::not_found(id)
    }
}

/// A single-aggregate command completed from the read model: `complete` builds the command
/// from what the model knows beside the aggregate (a fact another service reported, such as
/// a redirect or a reverse pickup). The runner calls it like any [`Decision::read`]: after
/// the caller's position is in, under the same lock as the aggregate's state, and again on
/// every attempt, so the command is never built from an older model than its decision.
pub struct Completed<F>(pub F);

impl<A, M, F> Decision<A, M> for Completed<F>
where
    A: Decider,
    F: Fn(&M, &A::Id) -> A::Command + Send + Sync,
{
    type Other = A;
    type Input = A::Command;

    fn read(&self, model: &M, primary: Primary<'_, A>, _reads: &mut Reads<A>) -> A::Command {
        (self.0)(model, primary.id)
    }

    fn decide(
        &self,
        state: Option<&A>,
        command: &A::Command,
        context: &Context<'_, A::Policy>,
    ) -> Result<Decided<A, A>, A::Rejection> {
        A::decide(state, command, context).map(Decided::only)
    }

    fn not_found(&self, id: &A::Id) -> A::Rejection {
        A::not_found(id)
    }
}
