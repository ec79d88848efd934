//! Running a command against the log: the loop every mutating call goes through.
//!
//! 1. A retried request (same `request_id`) finds the event it caused in the read model
//!    and gets the same answer; nothing is written twice.
//! 2. `decide` runs on the order's state from the read model. The append names the
//!    state's version as the expected last position of the order's subject, so a
//!    concurrent writer makes it fail with a conflict instead of overwriting.
//! 3. On a conflict, or a rejection decided on a state that turns out to be stale, the
//!    read model catches up with the order's subject and the loop tries again, a bounded
//!    number of times; then the caller gets ABORTED.
//!
//! The `Nats-Msg-Id` of each append is `<order id>:<request id>`, so even a retry that
//! races its own first attempt is stored once (JetStream's duplicate window).

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use waybill_eventlog::{AppendError, EventLog, Position, Projector, WaitError, subject};
use waybill_types::{Actor, OrderId, Timestamp};

use crate::codec::{self, DecodedEvent, EventMeta};
use crate::domain::{self, Command, Order, Policy, Rejection};
use crate::read_model::OrderBook;

/// How many times a command is decided again after losing a race.
const MAX_ATTEMPTS: usize = 5;

/// Where the time comes from; tests pass a fixed or steerable clock.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// Who asked, and why: recorded on every event the command writes.
#[derive(Clone, Debug)]
pub struct CommandMeta {
    pub request_id: String,
    pub actor: Actor,
    pub correlation_id: String,
}

/// What a successful command answers.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub order: Order,
    /// Position of the last event the command wrote (or, for a repeated request or a
    /// command with nothing to do, the order's version).
    pub position: Position,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("lost the race for order {order_id} {attempts} times; try again")]
    Aborted { order_id: OrderId, attempts: usize },
    #[error("the read model did not catch up in time: {0}")]
    NotCaughtUp(#[from] WaitError),
    #[error("event log unavailable: {0}")]
    Log(String),
}

/// Everything a command needs: the log, the read model, the rules, and a clock.
#[derive(Clone)]
pub struct CommandRunner {
    pub log: EventLog,
    pub orders: Projector<OrderBook>,
    pub policy: Arc<Policy>,
    pub clock: Arc<dyn Clock>,
    pub wait_timeout: Duration,
}

pub fn order_subject(order_id: &OrderId) -> String {
    subject::aggregate("intake", "order", &order_id.to_string())
}

impl CommandRunner {
    /// Runs `command` on order `order_id` (see the module docs for the loop).
    pub async fn run(
        &self,
        order_id: OrderId,
        command: Command,
        meta: &CommandMeta,
    ) -> Result<Outcome, CommandError> {
        let subject = order_subject(&order_id);
        for _attempt in 0..MAX_ATTEMPTS {
            if let Some(outcome) = self.already_done(&order_id, &meta.request_id).await? {
                return Ok(outcome);
            }
            let (state, version) = {
                let book = self.orders.read();
                match book.get(&order_id) {
                    Some(record) => (Some(record.order.clone()), record.version),
                    None => (None, 0),
                }
            };
            let now = self.clock.now();
            let context = domain::Context { now, policy: &self.policy };
            let events = match domain::decide(state.as_ref(), command.clone(), &context) {
                Ok(events) => events,
                Err(rejection) => {
                    // Only reject on the latest state: if the order moved on meanwhile,
                    // catch up and decide again.
                    if self.caught_up_with(&subject, version).await? {
                        return Err(rejection.into());
                    }
                    continue;
                }
            };
            if events.is_empty() {
                // Nothing to do (e.g. a fact the order already reflects): answer with the state as it is.
                return match state {
                    Some(order) => Ok(Outcome { order, position: version }),
                    None => Err(Rejection::NotFound.into()),
                };
            }
            if let Some(outcome) =
                self.append_and_fold(order_id, &subject, state, version, events, meta, now).await?
            {
                return Ok(outcome);
            }
        }
        Err(CommandError::Aborted { order_id, attempts: MAX_ATTEMPTS })
    }

    /// The answer a repeated request gets, if this request already wrote an event: the
    /// order as it was right after that event, folded from the order's history on the log.
    async fn already_done(
        &self,
        order_id: &OrderId,
        request_id: &str,
    ) -> Result<Option<Outcome>, CommandError> {
        let Some(position) = self.orders.read().position_caused_by(order_id, request_id) else {
            return Ok(None);
        };
        let history = self.history(order_id).await?;
        // The read model keeps only a hash of each causation id: confirm it.
        let confirmed =
            history.iter().any(|(at, decoded)| *at == position && decoded.meta.causation_id == request_id);
        Ok(if confirmed { fold_until(history, position) } else { None })
    }

    /// The order right after the event at `position`, folded from its history on the log.
    async fn order_as_of(
        &self,
        order_id: &OrderId,
        position: Position,
    ) -> Result<Option<Outcome>, CommandError> {
        Ok(fold_until(self.history(order_id).await?, position))
    }

    /// Every event of the order, oldest first, decoded, from the log.
    pub async fn history(&self, order_id: &OrderId) -> Result<Vec<(Position, DecodedEvent)>, CommandError> {
        let recorded = self
            .log
            .read_subject(&order_subject(order_id))
            .await
            .map_err(|error| CommandError::Log(error.to_string()))?;
        recorded
            .iter()
            .map(|recorded| {
                let decoded = codec::decode(&recorded.payload)
                    .map_err(|error| CommandError::Log(format!("position {}: {error}", recorded.position)))?;
                Ok((recorded.position, decoded))
            })
            .collect()
    }

    /// True if the read model's view of `subject` is as new as the log's.
    async fn caught_up_with(&self, subject: &str, version: Position) -> Result<bool, CommandError> {
        let last =
            self.log.last_position_of(subject).await.map_err(|error| CommandError::Log(error.to_string()))?;
        if last <= version {
            return Ok(true);
        }
        self.orders.wait_for(last, self.wait_timeout).await?;
        Ok(false)
    }

    /// Appends `events` expecting `version`; on success returns the order folded with
    /// them. `None` means the race was lost and the caller should decide again.
    #[allow(clippy::too_many_arguments)]
    async fn append_and_fold(
        &self,
        order_id: OrderId,
        subject: &str,
        state: Option<Order>,
        version: Position,
        events: Vec<domain::Event>,
        meta: &CommandMeta,
        now: Timestamp,
    ) -> Result<Option<Outcome>, CommandError> {
        let encoded: Vec<_> = events
            .iter()
            .map(|event| {
                let event_meta = EventMeta {
                    event_id: Uuid::now_v7(),
                    order_id,
                    occurred_at: now,
                    causation_id: meta.request_id.clone(),
                    correlation_id: meta.correlation_id.clone(),
                    actor: meta.actor.clone(),
                };
                codec::encode(event, &event_meta)
            })
            .collect();
        let idempotency_key = format!("{order_id}:{}", meta.request_id);
        match self.log.append(subject, Some(version), &idempotency_key, &encoded).await {
            Ok(appended) if appended.duplicate => {
                // Our own earlier attempt got there first: answer as it would have.
                self.order_as_of(&order_id, appended.last).await
            }
            Ok(appended) => {
                let folded = events.iter().fold(state, |state, event| domain::evolve(state, event, now));
                let order =
                    folded.ok_or_else(|| CommandError::Log("decided events do not build an order".into()))?;
                Ok(Some(Outcome { order, position: appended.last }))
            }
            Err(AppendError::Conflict { .. }) => {
                tracing::debug!(%order_id, "lost a race, catching up");
                self.caught_up_with(subject, version).await?;
                Ok(None)
            }
            Err(error) => Err(CommandError::Log(error.to_string())),
        }
    }
}

/// The order folded from `history` up to and including `position`.
pub fn fold_until(history: Vec<(Position, DecodedEvent)>, position: Position) -> Option<Outcome> {
    let order = history
        .into_iter()
        .take_while(|(at, _)| *at <= position)
        .fold(None, |order, (_, decoded)| domain::evolve(order, &decoded.event, decoded.meta.occurred_at));
    order.map(|order| Outcome { order, position })
}
