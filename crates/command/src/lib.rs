//! The command loop every mutating call of every service goes through.
//!
//! A service describes each of its aggregates (an order, a vehicle, a delivery task) as an
//! [`Aggregate`]: a pure decider (`decide`, `evolve`) plus how its events travel on the log
//! (`subject`, `encode`, `decode`). Its read model implements [`AggregateStore`] for it.
//! [`CommandRunner::run`] then does the rest, the same way in every service:
//!
//! 1. A retried request (same `request_id`) finds the event it caused in the read model
//!    and gets the same answer; nothing is written twice.
//! 2. `decide` runs on the aggregate's state from the read model. The append names the
//!    state's version as the expected last position of the aggregate's subject, so a
//!    concurrent writer makes it fail with a conflict instead of overwriting.
//! 3. On a conflict, or a rejection decided on a state that turns out to be stale, the
//!    read model catches up with the aggregate's subject and the loop tries again, a
//!    bounded number of times; then the caller gets [`CommandError::Aborted`].
//!
//! Read your own writes: a command never rejects (NOT_FOUND, FAILED_PRECONDITION) on a
//! state older than the writes this process has acknowledged, and never decides before
//! the read model has reached the caller's `min_position` (the `waybill-min-position`
//! header), so a client that wrote through another replica or service is safe too.
//!
//! The `Nats-Msg-Id` of each append is `<aggregate id>:<request id>`, so even a retry that
//! races its own first attempt is stored once (JetStream's duplicate window).

mod clock;

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tonic::Status;
use uuid::Uuid;
use waybill_eventlog::{AppendError, EventLog, NewEvent, Position, Projection, Projector, WaitError};
use waybill_types::{Actor, Timestamp};

pub use clock::{Clock, SystemClock};
/// What the envelope says about an event; it lives with the envelope, in crates/proto.
pub use waybill_proto::envelope::EventMeta;

/// How many times a command is decided again after losing a race.
pub const MAX_ATTEMPTS: usize = 5;

/// One kind of aggregate: its decider and how its events travel on the log.
pub trait Aggregate: Clone + Send + Sync + Sized + 'static {
    // Clone, not Copy: CRM's customer id is a string (`waybill_types::CustomerId`).
    type Id: Clone + Eq + Hash + fmt::Display + fmt::Debug + Send + Sync + 'static;
    type Command: Send + Sync;
    type Event: Send + Sync;
    type Rejection: std::error::Error + Send + Sync + 'static;
    /// Rules and settings `decide` needs beside the state (limits, windows, ...).
    type Policy: Send + Sync + 'static;

    /// The subject holding this aggregate's events, `waybill.<service>.<aggregate>.<id>`.
    fn subject(id: &Self::Id) -> String;
    /// What happens: the events `command` causes on `state`, or why it may not.
    fn decide(
        state: Option<&Self>,
        command: &Self::Command,
        now: Timestamp,
        policy: &Self::Policy,
    ) -> Result<Vec<Self::Event>, Self::Rejection>;
    /// What an event means for the state; the same on replay and live.
    fn evolve(state: Option<Self>, event: &Self::Event, at: Timestamp) -> Option<Self>;
    /// The rejection for a command on an aggregate that does not exist.
    fn not_found(id: &Self::Id) -> Self::Rejection;
    /// The envelope for `event`, decided on `state` (the state before it).
    fn encode(id: &Self::Id, state: Option<&Self>, event: &Self::Event, meta: &EventMeta) -> NewEvent;
    /// One of this aggregate's events read back from the log.
    fn decode(payload: &[u8]) -> Result<(EventMeta, Self::Event), String>;
}

/// What a read model tells the command loop about one aggregate.
pub trait AggregateStore<A: Aggregate>: Projection {
    /// The aggregate's state and version (the position of its latest event).
    fn current(&self, id: &A::Id) -> Option<(A, Position)>;
    /// The position of the latest event this aggregate may have got from `causation_id`:
    /// a candidate the loop confirms against the log.
    fn position_caused_by(&self, id: &A::Id, causation_id: &str) -> Option<Position>;
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

/// Everything a command needs: the log, the read model, the rules, and a clock.
pub struct CommandRunner<A: Aggregate, M> {
    pub log: EventLog,
    pub model: Projector<M>,
    pub policy: Arc<A::Policy>,
    pub clock: Arc<dyn Clock>,
    pub wait_timeout: Duration,
}

impl<A: Aggregate, M> Clone for CommandRunner<A, M> {
    fn clone(&self) -> Self {
        CommandRunner {
            log: self.log.clone(),
            model: self.model.clone(),
            policy: self.policy.clone(),
            clock: self.clock.clone(),
            wait_timeout: self.wait_timeout,
        }
    }
}

type CommandResult<T, A> = Result<T, CommandError<<A as Aggregate>::Rejection>>;

impl<A: Aggregate, M: AggregateStore<A>> CommandRunner<A, M> {
    pub fn new(log: EventLog, model: Projector<M>, policy: A::Policy, clock: Arc<dyn Clock>) -> Self {
        CommandRunner { log, model, policy: Arc::new(policy), clock, wait_timeout: Duration::from_secs(5) }
    }

    /// Runs `command` on aggregate `id` (see the crate docs for the loop).
    pub async fn run(
        &self,
        id: A::Id,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> CommandResult<Outcome<A>, A> {
        let subject = A::subject(&id);
        self.wait_for_callers_position(meta).await?;
        let mut own_writes_seen = false;
        for _attempt in 0..MAX_ATTEMPTS {
            if let Some(outcome) = self.already_done(&id, &meta.request_id).await? {
                return Ok(outcome);
            }
            let current = self.model.read().current(&id);
            let (state, version) = match current {
                Some((state, version)) => (Some(state), version),
                None => (None, 0),
            };
            let now = self.clock.now();
            let events = match A::decide(state.as_ref(), command, now, &self.policy) {
                Ok(events) => events,
                Err(rejection) => {
                    // Only reject on the latest state: not before the read model has seen
                    // every write this process acknowledged, nor if the aggregate moved on
                    // meanwhile; otherwise catch up and decide again.
                    if !std::mem::replace(&mut own_writes_seen, true)
                        && !self.caught_up_with_own_writes().await?
                    {
                        continue;
                    }
                    if self.caught_up_with(&subject, version).await? {
                        return Err(CommandError::Rejected(rejection));
                    }
                    continue;
                }
            };
            if events.is_empty() {
                // Nothing to do (a fact the aggregate already reflects): answer with it as it is.
                match state {
                    Some(state) => return Ok(Outcome { state, position: version }),
                    None => {
                        if !std::mem::replace(&mut own_writes_seen, true)
                            && !self.caught_up_with_own_writes().await?
                        {
                            continue;
                        }
                        if self.caught_up_with(&subject, version).await? {
                            return Err(CommandError::Rejected(A::not_found(&id)));
                        }
                        continue;
                    }
                }
            }
            if let Some(outcome) =
                self.append_and_fold(id.clone(), &subject, state, version, events, meta, now).await?
            {
                return Ok(outcome);
            }
        }
        Err(CommandError::Aborted { aggregate: subject, attempts: MAX_ATTEMPTS })
    }

    /// The answer a repeated request gets, if this request already wrote an event: the
    /// aggregate as it was right after that event, folded from its history on the log.
    async fn already_done(&self, id: &A::Id, request_id: &str) -> CommandResult<Option<Outcome<A>>, A> {
        let Some(position) = self.model.read().position_caused_by(id, request_id) else {
            return Ok(None);
        };
        let history = self.history(id).await?;
        // The read model may keep only a hash of each causation id: confirm it.
        let confirmed =
            history.iter().any(|(at, meta, _)| *at == position && meta.causation_id == request_id);
        Ok(if confirmed { fold_until::<A>(history, position) } else { None })
    }

    /// Every event of the aggregate, oldest first, decoded, from the log.
    pub async fn history(&self, id: &A::Id) -> CommandResult<Vec<(Position, EventMeta, A::Event)>, A> {
        let recorded = self
            .log
            .read_subject(&A::subject(id))
            .await
            .map_err(|error| CommandError::Log(error.to_string()))?;
        recorded
            .iter()
            .map(|recorded| {
                let (meta, event) = A::decode(&recorded.payload)
                    .map_err(|error| CommandError::Log(format!("position {}: {error}", recorded.position)))?;
                Ok((recorded.position, meta, event))
            })
            .collect()
    }

    /// Waits (bounded) until the read model has reached the position the caller has seen.
    pub async fn wait_for_callers_position(&self, meta: &CommandMeta) -> CommandResult<(), A> {
        if meta.min_position > self.model.applied() {
            self.model.wait_for(meta.min_position, self.wait_timeout).await?;
        }
        Ok(())
    }

    /// True if the read model has applied every write this process acknowledged; if not,
    /// waits (bounded) until it has and answers false (decide again).
    pub async fn caught_up_with_own_writes(&self) -> CommandResult<bool, A> {
        let own = self.log.last_appended();
        if self.model.applied() >= own {
            return Ok(true);
        }
        self.model.wait_for(own, self.wait_timeout).await?;
        Ok(false)
    }

    /// True if the read model's view of `subject` is as new as the log's.
    async fn caught_up_with(&self, subject: &str, version: Position) -> CommandResult<bool, A> {
        let last =
            self.log.last_position_of(subject).await.map_err(|error| CommandError::Log(error.to_string()))?;
        if last <= version {
            return Ok(true);
        }
        self.model.wait_for(last, self.wait_timeout).await?;
        Ok(false)
    }

    /// Appends `events` expecting `version`; on success returns the aggregate folded with
    /// them. `None` means the race was lost and the caller should decide again.
    #[allow(clippy::too_many_arguments)]
    async fn append_and_fold(
        &self,
        id: A::Id,
        subject: &str,
        state: Option<A>,
        version: Position,
        events: Vec<A::Event>,
        meta: &CommandMeta,
        now: Timestamp,
    ) -> CommandResult<Option<Outcome<A>>, A> {
        let mut encoded = Vec::with_capacity(events.len());
        let mut folded = state;
        for event in &events {
            let event_meta = EventMeta {
                event_id: Uuid::now_v7(),
                occurred_at: now,
                causation_id: meta.request_id.clone(),
                correlation_id: meta.correlation_id.clone(),
                actor: meta.actor.clone(),
            };
            encoded.push(A::encode(&id, folded.as_ref(), event, &event_meta));
            folded = A::evolve(folded, event, now);
        }
        let idempotency_key = format!("{id}:{}", meta.request_id);
        match self.log.append(subject, Some(version), &idempotency_key, &encoded).await {
            Ok(appended) if appended.duplicate => {
                // Our own earlier attempt got there first: answer as it would have.
                Ok(fold_until::<A>(self.history(&id).await?, appended.last))
            }
            Ok(appended) => {
                let state = folded
                    .ok_or_else(|| CommandError::Log(format!("decided events do not build {subject}")))?;
                Ok(Some(Outcome { state, position: appended.last }))
            }
            Err(AppendError::Conflict { .. }) => {
                tracing::debug!(%subject, "lost a race, catching up");
                self.caught_up_with(subject, version).await?;
                Ok(None)
            }
            Err(error) => Err(CommandError::from_append(error)),
        }
    }
}

/// The aggregate folded from `history` up to and including `position`.
pub fn fold_until<A: Aggregate>(
    history: Vec<(Position, EventMeta, A::Event)>,
    position: Position,
) -> Option<Outcome<A>> {
    let state = history
        .into_iter()
        .take_while(|(at, _, _)| *at <= position)
        .fold(None, |state, (_, meta, event)| A::evolve(state, &event, meta.occurred_at));
    state.map(|state| Outcome { state, position })
}
