//! Every write of every service goes through here: one runner, one retry policy, one
//! stale-state check, one causation index.
//!
//! A service describes each of its aggregates (an order, a vehicle, a delivery task, an
//! order's ledger) as an [`Aggregate`]: how its events travel on the log (`subject`,
//! `encode`, `decode`) and what they mean (`evolve`). One it takes commands for on its own
//! is also a [`Decider`] (`decide(state, command, &Context)`, pure), both declared with
//! [`aggregate!`] from the pieces the service has. A decision that spans
//! aggregates (a task and its vehicles, a refund and the order's ledger) is a
//! [`Decision`]. Its read model implements [`AggregateStore`] for each, embedding a
//! [`CausationIndex`] per aggregate. [`CommandRunner`] then does the rest, the same way
//! in every service:
//!
//! 1. A retried request (same `request_id`) finds the event it caused on the primary
//!    aggregate in the read model, confirmed against the log, and gets the same answer;
//!    nothing is written twice.
//! 2. The decision runs on the state from the read model. The append names each written
//!    aggregate's version as the expected last position of its subject, all in ONE atomic
//!    append when it writes several (`EventLog::append_atomic`), so a concurrent writer
//!    makes it fail with a conflict instead of overwriting, and two decisions racing for
//!    the last room on a van (or the last of an order's charge) cannot both be stored.
//! 3. On a conflict, the read model catches up and the loop decides again after a short
//!    randomised pause ([`retry`]); after [`MAX_ATTEMPTS`] the caller gets ABORTED.
//! 4. A rejection, "not found" or "nothing to do" is only answered on the latest state
//!    (none of them writes, so no conflict would catch a stale one): the stale-state
//!    check asks the stream's leader for the log's head, waits for the read model to apply
//!    it, and compares the version of every aggregate the decision read; if one moved, the
//!    loop decides again.
//!
//! Read your own writes: a command never rejects (or finds nothing to do) on a state older than the writes this
//! process has acknowledged (`EventLog::last_appended`), and never decides before the read
//! model has reached the caller's `min_position` (the `waybill-min-position` header), so a
//! client that wrote through another replica or service is safe too.
//!
//! The `Nats-Msg-Id` of each append is `<primary aggregate's subject>:<request id>` (with
//! `/<index>` per event of a batch), so even a retry that races its own first attempt is
//! stored once (JetStream's duplicate window).

mod causation;
mod clock;
mod context;
mod decision;
pub mod declare;
mod record;
pub mod rejection;
pub mod retry;
mod runner;
pub mod scenario;
pub mod time;

use std::fmt;
use std::hash::Hash;

use tonic::Status;
use waybill_eventlog::{AppendError, NewEvent, Projection, WaitError};
use waybill_types::{Actor, Timestamp};

pub use causation::CausationIndex;
pub use clock::{Clock, SystemClock};
pub use context::Context;
pub use decision::{Completed, Decided, Decision, Primary, Reads, Single};
pub use record::Record;
pub use retry::MAX_ATTEMPTS;
pub use runner::{CommandRunner, DecisionOutcome, Written, fold_until};
pub use time::{Earlier, TimeRejection};
/// The log position [`AggregateStore`] speaks of (re-exported for [`aggregate_stores!`]).
pub use waybill_eventlog::Position;
/// What the envelope says about an event; it lives with the envelope, in crates/proto.
pub use waybill_proto::envelope::EventMeta;

/// One kind of aggregate: how its events travel on the log and what they mean.
pub trait Aggregate: Clone + Send + Sync + Sized + 'static {
    // Clone, not Copy: CRM's customer id is a string (`waybill_types::CustomerId`).
    type Id: Clone + Eq + Hash + fmt::Display + fmt::Debug + Send + Sync + 'static;
    type Event: Send + Sync;
    /// Why a command on it may not happen.
    type Rejection: std::error::Error + Send + Sync + 'static;
    /// Rules and settings its decisions need beside the state (limits, windows, ...).
    type Policy: Send + Sync + 'static;

    /// The subject holding this aggregate's events: `waybill.<service>.<aggregate>.<id>`, or
    /// `waybill.<service>.<aggregate>.<order id>.<id>` when it is about an order (which its
    /// id, or its `state` as a decision leaves it, names).
    fn subject(id: &Self::Id, state: Option<&Self>) -> String;
    /// What an event means for the state; the same on replay and live.
    fn evolve(state: Option<Self>, event: &Self::Event, at: Timestamp) -> Option<Self>;
    /// The envelope for `event`, decided on `state` (the state before it).
    fn encode(id: &Self::Id, state: Option<&Self>, event: &Self::Event, meta: &EventMeta) -> NewEvent;
    /// One of this aggregate's events read back from the log.
    fn decode(payload: &[u8]) -> Result<(EventMeta, Self::Event), String>;
}

/// An aggregate that takes commands on its own: the decider.
pub trait Decider: Aggregate {
    type Command: Send + Sync;

    /// What happens: the events `command` causes on `state`, or why it may not.
    fn decide(
        state: Option<&Self>,
        command: &Self::Command,
        context: &Context<'_, Self::Policy>,
    ) -> Result<Vec<Self::Event>, Self::Rejection>;
    /// The rejection for a command on an aggregate that does not exist.
    fn not_found(id: &Self::Id) -> Self::Rejection;
}

/// A decider's state check: `Ok` when `status` is one of `allowed`, else the rejection
/// `invalid` makes of it (every service's `InvalidState` names the state it refused).
pub fn require_status<S: PartialEq + Copy, R>(
    status: S,
    allowed: &[S],
    invalid: impl FnOnce(S) -> R,
) -> Result<(), R> {
    if allowed.contains(&status) { Ok(()) } else { Err(invalid(status)) }
}

/// What a read model tells the command loop about one aggregate.
pub trait AggregateStore<A: Aggregate>: Projection {
    /// The aggregate's state and version (the position of its latest event).
    fn current(&self, id: &A::Id) -> Option<(A, Position)>;
    /// The position of the latest event this aggregate may have got from `causation_id`
    /// (its [`CausationIndex::latest_caused_by`]): a candidate the loop confirms against
    /// the log.
    fn position_caused_by(&self, id: &A::Id, causation_id: &str) -> Option<Position>;
}

/// Implements [`AggregateStore`] for a read model that keeps each kind of aggregate in a
/// map of records (the state in field `$state`, its `version` and its `causes`), the way
/// every service's read model does:
///
/// ```ignore
/// waybill_command::aggregate_stores!(DispatchModel {
///     vehicles: Vehicle => state,
///     drivers: Driver => state,
/// });
/// ```
#[macro_export]
macro_rules! aggregate_stores {
    ($model:ty { $($records:ident: $aggregate:ty => $state:ident),+ $(,)? }) => {
        $(
            impl $crate::AggregateStore<$aggregate> for $model {
                fn current(
                    &self,
                    id: &<$aggregate as $crate::Aggregate>::Id,
                ) -> Option<($aggregate, $crate::Position)> {
                    self.$records.get(id).map(|record| (record.$state.clone(), record.version))
                }

                fn position_caused_by(
                    &self,
                    id: &<$aggregate as $crate::Aggregate>::Id,
                    causation_id: &str,
                ) -> Option<$crate::Position> {
                    self.$records.get(id)?.causes.latest_caused_by(causation_id)
                }
            }
        )+
    };
}

/// Who asked, and why: recorded on every event the command writes.
#[derive(Clone, Debug)]
pub struct CommandMeta {
    pub request_id: String,
    pub actor: Actor,
    pub correlation_id: String,
    /// The log position the caller has seen (0: none): the decision waits for the read
    /// model to reach it.
    pub min_position: Position,
}

impl CommandMeta {
    /// A reaction's command: its request id is the causing event's id, so a redelivered
    /// event finds the answer it already wrote.
    pub fn reacting_to(cause: &EventMeta, actor: Actor) -> Self {
        CommandMeta {
            request_id: cause.event_id.to_string(),
            actor,
            correlation_id: cause.correlation_id.clone(),
            min_position: 0,
        }
    }
}

/// What a successful command answers.
#[derive(Clone, Debug)]
pub struct Outcome<A> {
    pub state: A,
    /// Position of the last event the command wrote (or, for a repeated request or a
    /// command with nothing to do, the aggregate's version).
    pub position: Position,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<R: std::error::Error + 'static> {
    #[error(transparent)]
    Rejected(R),
    #[error("lost the race for {aggregate} {attempts} times; try again")]
    Aborted { aggregate: String, attempts: usize },
    #[error("the read model did not catch up in time: {0}")]
    NotCaughtUp(#[from] WaitError),
    #[error("event log unavailable: {0}")]
    Log(String),
    /// What the command would write is larger than the stream takes: the request's doing,
    /// so no retry will help.
    #[error("the request makes an event too large for the log: {0}")]
    TooLarge(String),
}

impl<R: std::error::Error + 'static> CommandError<R> {
    /// An append that failed for a reason other than a lost race.
    pub fn from_append(error: AppendError) -> Self {
        match error {
            error @ AppendError::TooLarge { .. } => CommandError::TooLarge(error.to_string()),
            other => CommandError::Log(other.to_string()),
        }
    }
}

/// A command's failure as the gRPC caller sees it; the service says how its rejections map
/// (`impl From<Rejection> for Status`).
impl<R: std::error::Error + Into<Status> + 'static> From<CommandError<R>> for Status {
    fn from(error: CommandError<R>) -> Self {
        match error {
            CommandError::Rejected(rejection) => rejection.into(),
            CommandError::Aborted { .. } => Status::aborted(error.to_string()),
            CommandError::NotCaughtUp(wait) => wait_status(wait),
            CommandError::Log(message) => Status::unavailable(format!("event log unavailable: {message}")),
            CommandError::TooLarge(message) => Status::invalid_argument(format!(
                "the request makes an event larger than the log accepts ({message}); send less text"
            )),
        }
    }
}

/// A query or command that waited for the read model too long: the client may retry.
pub fn wait_status(error: WaitError) -> Status {
    match error {
        WaitError::Timeout { .. } => Status::deadline_exceeded(format!(
            "the read model has not reached the requested position yet: {error}"
        )),
        other => Status::unavailable(format!("the read model is not available: {other}")),
    }
}
