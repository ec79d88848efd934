//! The command loop: one for every write of every service (see the crate docs).

use std::sync::Arc;
use std::time::Duration;

use tonic::Status;
use uuid::Uuid;
use waybill_eventlog::{AggregateAppend, AppendError, EventLog, NewEvent, Position, Projection, Projector};
use waybill_types::Timestamp;

use crate::decision::{Decided, Decision, Primary, Reads, Single};
use crate::retry::{self, MAX_ATTEMPTS};
use crate::{
    Aggregate, AggregateStore, Clock, CommandError, CommandMeta, Context, Decider, EventMeta, Outcome,
    wait_status,
};

/// Everything a command needs: the log, the read model, the rules, and a clock.
pub struct CommandRunner<A: Aggregate, M> {
    pub log: EventLog,
    pub model: Projector<M>,
    pub policy: Arc<A::Policy>,
    pub clock: Arc<dyn Clock>,
    pub wait_timeout: Duration,
    /// How far a fact's time may stray (`--clock-skew`), given to every decision.
    pub clock_skew: chrono::Duration,
}

impl<A: Aggregate, M> Clone for CommandRunner<A, M> {
    fn clone(&self) -> Self {
        CommandRunner {
            log: self.log.clone(),
            model: self.model.clone(),
            policy: self.policy.clone(),
            clock: self.clock.clone(),
            wait_timeout: self.wait_timeout,
            clock_skew: self.clock_skew,
        }
    }
}

/// The read model's waits, as a query or a command answers them to a gRPC client.
impl<A: Aggregate, M: Projection> CommandRunner<A, M> {
    /// Waits until the read model has applied `min_position`, the position a client says it
    /// has seen (its read-your-writes token; 0: none).
    pub async fn wait_for(&self, min_position: Position) -> Result<(), Status> {
        if min_position == 0 {
            return Ok(());
        }
        self.model.wait_for(min_position, self.wait_timeout).await.map_err(wait_status)
    }

    /// Waits until the read model has everything the log held when called.
    pub async fn wait_caught_up(&self) -> Result<(), Status> {
        self.model.wait_caught_up(self.wait_timeout).await.map_err(wait_status)
    }
}

/// What a decision wrote on another aggregate than its primary one.
#[derive(Clone, Debug)]
pub struct Written<B: Aggregate> {
    pub id: B::Id,
    /// The aggregate folded with what was written.
    pub state: Option<B>,
    /// The position of its last event in the append.
    pub position: Position,
}

/// What a decision answers: the primary aggregate as the command left it, and the other
/// aggregates it wrote (none for a repeated request or a command with nothing to do).
#[derive(Clone, Debug)]
pub struct DecisionOutcome<A, B: Aggregate> {
    pub outcome: Outcome<A>,
    pub written: Vec<Written<B>>,
}

/// What a decision was taken on.
struct Snapshot<A: Aggregate, I, B: Aggregate> {
    state: Option<A>,
    version: Position,
    input: I,
    reads: Reads<B>,
}

type CommandResult<T, A> = Result<T, CommandError<<A as Aggregate>::Rejection>>;

impl<A: Aggregate, M: AggregateStore<A>> CommandRunner<A, M> {
    pub fn new(log: EventLog, model: Projector<M>, policy: A::Policy, clock: Arc<dyn Clock>) -> Self {
        CommandRunner {
            log,
            model,
            policy: Arc::new(policy),
            clock,
            wait_timeout: Duration::from_secs(5),
            clock_skew: crate::time::DEFAULT_CLOCK_SKEW,
        }
    }

    /// Runs `command` on aggregate `id`, a single-aggregate decision.
    pub async fn run(
        &self,
        id: A::Id,
        command: &A::Command,
        meta: &CommandMeta,
    ) -> CommandResult<Outcome<A>, A>
    where
        A: Decider,
    {
        Ok(self.run_decision(id, &Single(command), meta).await?.outcome)
    }

    /// Runs `decision` with `id` as its primary aggregate (see the crate docs for the loop).
    pub async fn run_decision<D>(
        &self,
        id: A::Id,
        decision: &D,
        meta: &CommandMeta,
    ) -> CommandResult<DecisionOutcome<A, D::Other>, A>
    where
        D: Decision<A, M>,
        M: AggregateStore<D::Other>,
    {
        self.wait_for_callers_position(meta).await?;
        let mut own_writes_seen = false;
        for attempt in 0..MAX_ATTEMPTS {
            if let Some(outcome) = self.already_done(&id, decision, &meta.request_id).await? {
                return Ok(DecisionOutcome { outcome, written: Vec::new() });
            }
            let taken = self.snapshot(&id, decision);
            let now = self.clock.now();
            let decided = match decision.decide(
                taken.state.as_ref(),
                &taken.input,
                &Context::new(now, &*self.policy).with_clock_skew(self.clock_skew),
            ) {
                Ok(decided) => decided,
                Err(rejection) => {
                    if self.still_current(&id, decision, &taken, &mut own_writes_seen).await? {
                        return Err(CommandError::Rejected(rejection));
                    }
                    continue;
                }
            };
            if decided.is_empty() {
                // Nothing to do (a fact the aggregate already reflects), or "not found": like a
                // rejection, only answered on the latest state. An answer from a stale model
                // writes nothing that could conflict, so nothing else would catch it: a
                // reaction that had just recorded a failed attempt took the next departure
                // for one the order already showed, and dropped it.
                if !self.still_current(&id, decision, &taken, &mut own_writes_seen).await? {
                    continue;
                }
                return match taken.state {
                    Some(state) => {
                        let outcome = Outcome { state, position: taken.version };
                        Ok(DecisionOutcome { outcome, written: Vec::new() })
                    }
                    None => Err(CommandError::Rejected(decision.not_found(&id))),
                };
            }
            if let Some(outcome) = self.append(&id, taken, decided, meta, now).await? {
                return Ok(outcome);
            }
            // Lost a race: spread the retries of competing requests.
            tokio::time::sleep(retry::pause(attempt)).await;
        }
        Err(CommandError::Aborted { aggregate: id.to_string(), attempts: MAX_ATTEMPTS })
    }

    /// Everything the decision reads, under one lock of the read model.
    fn snapshot<D: Decision<A, M>>(&self, id: &A::Id, decision: &D) -> Snapshot<A, D::Input, D::Other> {
        let model = self.model.read();
        let (state, version) = match model.current(id) {
            Some((state, version)) => (Some(state), version),
            None => (None, 0),
        };
        let mut reads = Reads::default();
        let input = decision.read(&model, Primary { id, state: state.as_ref() }, &mut reads);
        Snapshot { state, version, input, reads }
    }

    /// The stale-state check, before answering a rejection: true if everything the
    /// decision read is as new as the log. First (once per command, no round trip) the read
    /// model must have applied every write this process acknowledged; then it waits for the
    /// log's head as the stream's leader reports it and compares the version of every
    /// aggregate the decision read. False: decide again.
    async fn still_current<D: Decision<A, M>>(
        &self,
        id: &A::Id,
        decision: &D,
        taken: &Snapshot<A, D::Input, D::Other>,
        own_writes_seen: &mut bool,
    ) -> CommandResult<bool, A> {
        if !std::mem::replace(own_writes_seen, true) && !self.caught_up_with_own_writes().await? {
            return Ok(false);
        }
        self.catch_up().await?;
        let now = self.snapshot(id, decision);
        Ok(now.version == taken.version && now.reads == taken.reads)
    }

    /// The answer a repeated request gets, if this request already wrote an event on the
    /// primary aggregate: the aggregate as it was right after it, folded from its history on
    /// the log, with the position of the request's last write (which may be on another
    /// aggregate, after the primary's in one batch).
    async fn already_done<D>(
        &self,
        id: &A::Id,
        decision: &D,
        request_id: &str,
    ) -> CommandResult<Option<Outcome<A>>, A>
    where
        D: Decision<A, M>,
        M: AggregateStore<D::Other>,
    {
        let (position, others_position, subject) = {
            let model = self.model.read();
            let Some(position) = AggregateStore::<A>::position_caused_by(&*model, id, request_id) else {
                return Ok(None);
            };
            let state = model.current(id).map(|(state, _)| state);
            let subject = A::subject(id, state.as_ref());
            let mut reads = Reads::default();
            decision.read(&model, Primary { id, state: state.as_ref() }, &mut reads);
            let others_position = reads
                .others
                .keys()
                .filter_map(|other| {
                    AggregateStore::<D::Other>::position_caused_by(&*model, other, request_id)
                })
                .max()
                .unwrap_or_default();
            (position, others_position, subject)
        };
        let history = self.history(&subject).await?;
        // The read model keeps only a hash of each causation id: confirm it.
        let confirmed =
            history.iter().any(|(at, meta, _)| *at == position && meta.causation_id == request_id);
        if !confirmed {
            return Ok(None);
        }
        Ok(fold_until::<A>(history, position)
            .map(|outcome| Outcome { position: position.max(others_position), ..outcome }))
    }

    /// Every event of the aggregate on `subject` (its [`Aggregate::subject`]), oldest first,
    /// decoded, from the log.
    pub async fn history(&self, subject: &str) -> CommandResult<Vec<(Position, EventMeta, A::Event)>, A> {
        let recorded =
            self.log.read_subject(subject).await.map_err(|error| CommandError::Log(error.to_string()))?;
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

    /// Waits (bounded) until the read model has applied everything the log holds now, as
    /// the stream's leader reports it (not a direct get, which a lagging follower of an R3
    /// stream may answer).
    pub async fn catch_up(&self) -> CommandResult<(), A> {
        let head = self.log.head().await.map_err(|error| CommandError::Log(error.to_string()))?;
        self.model.wait_for(head, self.wait_timeout).await?;
        Ok(())
    }

    /// Appends what was decided, every aggregate expecting the version it was read at, in
    /// one atomic append; `None` if the race was lost (the model has caught up).
    async fn append<B>(
        &self,
        id: &A::Id,
        taken: Snapshot<A, impl Sized, B>,
        decided: Decided<A, B>,
        meta: &CommandMeta,
        now: Timestamp,
    ) -> CommandResult<Option<DecisionOutcome<A, B>>, A>
    where
        B: Aggregate,
        M: AggregateStore<B>,
    {
        let event_meta = || EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at: now,
            causation_id: meta.request_id.clone(),
            correlation_id: meta.correlation_id.clone(),
            actor: meta.actor.clone(),
        };
        let mut folded = taken.state;
        let mut primary = Vec::with_capacity(decided.events.len());
        for event in &decided.events {
            primary.push(A::encode(id, folded.as_ref(), event, &event_meta()));
            folded = A::evolve(folded, event, now);
        }
        let Some(state) = folded else {
            // A decider bug (events that do not build the aggregate): never store them.
            return Err(CommandError::Log(format!("decided events do not build aggregate {id}")));
        };
        // The state as the decision leaves it names the order a new aggregate is about.
        let subject = A::subject(id, Some(&state));
        // Each other aggregate's events, grouped in the order first decided, folded from its
        // state in the model (if that moved since it was read, the append fails anyway).
        let mut others: Vec<(B::Id, Vec<NewEvent>, Option<B>)> = Vec::new();
        if !decided.others.is_empty() {
            let model = self.model.read();
            for (other_id, event) in &decided.others {
                let index = match others.iter().position(|(id, _, _)| id == other_id) {
                    Some(index) => index,
                    None => {
                        let state = AggregateStore::<B>::current(&*model, other_id).map(|(state, _)| state);
                        others.push((other_id.clone(), Vec::new(), state));
                        others.len() - 1
                    }
                };
                let (_, encoded, state) = &mut others[index];
                encoded.push(B::encode(other_id, state.as_ref(), event, &event_meta()));
                *state = B::evolve(state.take(), event, now);
            }
        }

        let other_subjects: Vec<String> =
            others.iter().map(|(other_id, _, state)| B::subject(other_id, state.as_ref())).collect();
        let mut writes = Vec::with_capacity(1 + others.len());
        if !primary.is_empty() {
            writes.push(AggregateAppend {
                subject: &subject,
                expected: Some(taken.version),
                events: &primary,
            });
        }
        for ((other_id, encoded, _), other_subject) in others.iter().zip(&other_subjects) {
            let expected = Some(taken.reads.version_of(other_id));
            writes.push(AggregateAppend { subject: other_subject, expected, events: encoded });
        }
        // Keyed by the subject, not the id alone: aggregates of different kinds share ids
        // (an order, its task, its last mile and its notifications are all the order's id),
        // and two services reacting to one event send the same request id. Keyed by id, the
        // second of those appends was taken for a retry of the first and silently dropped.
        let idempotency_key = format!("{subject}:{}", meta.request_id);
        match self.log.append_atomic(&writes, &idempotency_key).await {
            Ok(appended) if appended.duplicate => {
                // An earlier attempt of this request got there first: answer as it would have.
                let outcome = fold_until::<A>(self.history(&subject).await?, appended.last);
                Ok(outcome.map(|outcome| DecisionOutcome { outcome, written: Vec::new() }))
            }
            Ok(appended) => {
                // A batch is stored contiguously in the order given: the primary's events,
                // then each other aggregate's.
                let mut next = appended.first + primary.len() as u64;
                let written = others
                    .into_iter()
                    .map(|(id, encoded, state)| {
                        next += encoded.len() as u64;
                        Written { id, state, position: next - 1 }
                    })
                    .collect();
                Ok(Some(DecisionOutcome { outcome: Outcome { state, position: appended.last }, written }))
            }
            Err(AppendError::Conflict { .. }) => {
                tracing::debug!(%subject, "lost a race, catching up");
                self.catch_up().await?;
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
