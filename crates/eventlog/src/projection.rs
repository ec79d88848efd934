//! Read models fed by the log. A [`Projector`] reads the whole log from the beginning and
//! applies the events its filters match, in log order, under a write lock taken once per
//! small batch of already-received events; it publishes the position it has read up to on
//! a watch channel. Queries read the model through a read lock and can first wait until it
//! reflects a position they were given (read-your-writes): that is a wait on the channel,
//! with no round trip to the server.
//!
//! Why the whole log and not server-side filters: with ~150k aggregate subjects in a
//! million-event log, nats-server spent 155–320 s of CPU serving one service's filtered
//! replay, against 4.4 s for the whole stream unfiltered (BENCHMARKS.md). Matching a
//! subject here is a few token comparisons.
//!
//! Delivery is at-least-once: events at or below the applied position are skipped. An event
//! the projection refuses stops it for good (replaying past it would make the model differ
//! from one rebuilt later), and `stopped()` says why. An event the log's admission refuses
//! ([`crate::admission`]) is different: it is not the service's to apply, so it is skipped
//! (logged and counted) and the position moves past it, the same on every replica.
//!
//! The projector is also the service's live feed ([`Projector::feed`]): every admitted event
//! it has read, whether its filters match it or not, is broadcast once the model reflects
//! it, so a client-facing stream (a watch) follows the log without a consumer of its own.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::admission::{self, Admission};
use crate::error::{ProjectionError, ReadError, WaitError};
use crate::read::RecordedEvent;
use crate::subject::Filter;
use crate::subscription::{Delivered, EventSubscription};
use crate::{EventLog, Position};

/// Most events applied under one write lock, so queries are not starved during replay.
const MAX_BATCH: usize = 256;
/// How often a halted projection looks for an operator's waiver.
const WAIVER_POLL: Duration = Duration::from_secs(1);
/// How long a projection hears nothing before it asks whether the log moved on without it.
/// The ordered consumer notices a lost consumer itself only after two missed idle
/// heartbeats, 10 s (async-nats fixes its heartbeat at 5 s): on a cluster, when the node
/// holding the consumer dies, the read model would stand still that long while the log,
/// led by another node, goes on.
const STALL_CHECK: Duration = Duration::from_secs(1);
/// Events the live feed holds for its slowest follower; one further behind is told it
/// lagged (`broadcast::error::RecvError::Lagged`) and must read the model again.
pub const FEED_CAPACITY: usize = 4096;

/// A read model fed by the log. `apply` is synchronous and fast (it runs under the write
/// lock); an `Err` stops the projection loudly.
pub trait Projection: Send + Sync + 'static {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError>;
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Progress {
    /// Every event up to here is read, and applied if a filter matches it.
    applied: Position,
    stopped: Option<String>,
}

/// A running projection and its model. Cheap to clone; the task stops when the last clone
/// is dropped.
pub struct Projector<P> {
    model: Arc<RwLock<P>>,
    /// The position the model reflects, written under its write lock (so a reader holding
    /// the read lock sees the position of exactly the model it reads).
    modelled: Arc<AtomicU64>,
    progress: watch::Receiver<Progress>,
    feed: broadcast::Sender<Arc<RecordedEvent>>,
    log: EventLog,
}

impl<P> Clone for Projector<P> {
    fn clone(&self) -> Self {
        Projector {
            model: self.model.clone(),
            modelled: self.modelled.clone(),
            progress: self.progress.clone(),
            feed: self.feed.clone(),
            log: self.log.clone(),
        }
    }
}

impl<P: Projection> Projector<P> {
    /// Starts the projection from the beginning of the log.
    pub async fn spawn(log: EventLog, filters: Vec<String>, projection: P) -> Result<Self, ReadError> {
        Self::spawn_from(log, filters, projection, 1).await
    }

    /// Starts the projection at `from`, for a model restored up to `from - 1`.
    pub async fn spawn_from(
        log: EventLog,
        filters: Vec<String>,
        projection: P,
        from: Position,
    ) -> Result<Self, ReadError> {
        let parsed = filters
            .iter()
            .map(|filter| Filter::parse(filter).map_err(|_| ReadError::InvalidSubject(filter.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        if parsed.is_empty() {
            return Err(ReadError::InvalidSubject("no filters".to_owned()));
        }
        // A consumer refused for a moment (NATS restarting, a leader election) is no reason
        // for a service to give up at start.
        let subscription = crate::retry::until_done(
            "subscribing to the log",
            || log.subscribe_all(from),
            ReadError::is_transient,
        )
        .await?;
        let initial = Progress { applied: from.saturating_sub(1), stopped: None };
        let modelled = Arc::new(AtomicU64::new(initial.applied));
        let (sender, progress) = watch::channel(initial);
        let model = Arc::new(RwLock::new(projection));
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let task = Task {
            model: model.clone(),
            modelled: modelled.clone(),
            filters: parsed,
            admission: log.admission(),
            feed: feed.clone(),
            log: log.clone(),
        };
        tokio::spawn(run(subscription, task, sender, filters.join(",")));
        Ok(Projector { model, modelled, progress, feed, log })
    }

    /// The model and the position it reflects, read together: every event at or below the
    /// position is in the model, none above it.
    pub fn read_at(&self) -> (RwLockReadGuard<'_, P>, Position) {
        let model = self.read();
        let position = self.modelled.load(Ordering::Acquire);
        (model, position)
    }

    /// The live feed: every admitted event read from now on (matched by the filters or
    /// not), in log order, each sent once the model reflects it. Subscribe before reading
    /// the model ([`Projector::read_at`]) and skip what is at or below its position, and
    /// nothing is missed. A follower more than [`FEED_CAPACITY`] events behind is told it
    /// lagged.
    pub fn feed(&self) -> broadcast::Receiver<Arc<RecordedEvent>> {
        self.feed.subscribe()
    }

    /// The model, for reading. Never blocks for long: writers hold the lock for one batch.
    pub fn read(&self) -> RwLockReadGuard<'_, P> {
        // A panic in `apply` poisons the lock; the model is still the last consistent one
        // the projection wrote up to the panicking event, and the projection has stopped.
        self.model.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Position the model reflects the log up to: every event at or below it is applied if
    /// the projection's filters match it.
    pub fn applied(&self) -> Position {
        self.progress.borrow().applied
    }

    /// Why the projection died, if it did.
    pub fn stopped(&self) -> Option<String> {
        self.progress.borrow().stopped.clone()
    }

    /// Returns once the model reflects the log at least up to `position`. A position not
    /// written yet is waited for too (until `timeout`).
    pub async fn wait_for(&self, position: Position, timeout: Duration) -> Result<(), WaitError> {
        self.current()?;
        let mut progress = self.progress.clone();
        // `wait_for` answers with a guard holding the channel's read lock: drop it at once,
        // before `current` reads again (a second read while the projection waits to write
        // deadlocks the two).
        let reached = progress
            .wait_for(|progress| progress.applied >= position || progress.stopped.is_some())
            .map(|reached| reached.map(drop));
        match tokio::time::timeout(timeout, reached).await {
            Ok(Ok(())) => self.current().map(|_| ()),
            Ok(Err(_)) => Err(WaitError::Stopped("projection task ended".to_owned())),
            Err(_) => Err(WaitError::Timeout { applied: self.applied(), wanted: position }),
        }
    }

    /// Waits until the model has caught up with the log head as of the call.
    pub async fn wait_caught_up(&self, timeout: Duration) -> Result<(), WaitError> {
        let deadline = Instant::now() + timeout;
        let head = tokio::time::timeout(timeout, self.log.head())
            .await
            .map_err(|_| WaitError::Timeout { applied: self.applied(), wanted: 0 })??;
        self.wait_for(head, deadline.saturating_duration_since(Instant::now())).await
    }

    /// Resolves once the projection has halted (an event it cannot apply, or its
    /// subscription ended), with the reason; never while it runs. A halt on an event lasts
    /// until an operator waives it ([`crate::waiver`]); see [`Projector::resumed`].
    pub async fn halted(&self) -> String {
        let mut progress = self.progress.clone();
        match progress.wait_for(|progress| progress.stopped.is_some()).await {
            Ok(progress) => progress.stopped.clone().unwrap_or_default(),
            Err(_) => "projection task ended".to_owned(),
        }
    }

    /// Resolves once the projection runs (again); at once if it is not halted. Never
    /// resolves if it has ended for good.
    pub async fn resumed(&self) {
        let mut progress = self.progress.clone();
        if progress.wait_for(|progress| progress.stopped.is_none()).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn current(&self) -> Result<Position, WaitError> {
        let progress = self.progress.borrow();
        match &progress.stopped {
            Some(reason) => Err(WaitError::Stopped(reason.clone())),
            None => Ok(progress.applied),
        }
    }
}

/// What the projection task works on beside its subscription and progress.
struct Task<P> {
    model: Arc<RwLock<P>>,
    modelled: Arc<AtomicU64>,
    filters: Vec<Filter>,
    admission: Option<Admission>,
    feed: broadcast::Sender<Arc<RecordedEvent>>,
    /// Where waivers are looked up.
    log: EventLog,
}

impl<P> Task<P> {
    /// Runs `change` on the model under one write lock and notes, still under it, the
    /// position the model then reflects (`applied` as `change` left it).
    fn write_model<T>(&self, applied: &mut Position, change: impl FnOnce(&mut P, &mut Position) -> T) -> T {
        let mut model = self.model.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let outcome = change(&mut model, applied);
        // Still under the lock: see `Projector::read_at`.
        self.modelled.store(*applied, Ordering::Release);
        outcome
    }
}

/// The projection task: receive, apply in batches, publish progress and the feed; halt on
/// an event the projection cannot apply until an operator waives it ([`crate::waiver`]),
/// and end when every handle is gone.
async fn run<P: Projection>(
    mut subscription: EventSubscription,
    task: Task<P>,
    progress: watch::Sender<Progress>,
    name: String,
) {
    let mut applied = progress.borrow().applied;
    let applied_gauge = metrics::gauge!("waybill_projection_applied_position", "projection" => name);
    // Positions an operator waived that this projection met and could not apply.
    let mut waived = Vec::new();
    loop {
        let first = tokio::select! {
            next = subscription.next() => next,
            () = progress.closed() => return,
            () = tokio::time::sleep(STALL_CHECK) => {
                if let Some(resumed) = resume_if_stalled(&task.log, applied).await {
                    subscription = resumed;
                }
                continue;
            }
        };
        let Some(first) = first else {
            stop(&progress, applied, "the subscription ended (client closed)".to_owned());
            return;
        };
        let mut batch = VecDeque::from([first]);
        while batch.len() < MAX_BATCH {
            match subscription.next().now_or_never() {
                Some(Some(next)) => batch.push_back(next),
                _ => break,
            }
        }
        while !batch.is_empty() {
            let mut fed = Vec::new();
            let outcome = task.write_model(&mut applied, |model, applied| {
                apply_batch(model, &task, applied, &mut batch, &waived, &mut fed)
            });
            progress.send_modify(|progress| progress.applied = applied);
            applied_gauge.set(applied as f64);
            for event in fed {
                // No follower right now is no error.
                let _ = task.feed.send(Arc::new(event));
            }
            let Err(refused) = outcome else { break };
            // The refused event stays at the front of `batch`, to be applied or skipped.
            match wait_for_waiver(&task.log, &progress, applied, refused).await {
                Some(position) => waived.push(position),
                None => return,
            }
        }
    }
}

/// A new subscription from the position after `applied` if the log's head is past it while
/// the subscription has been silent (its consumer is gone: see [`STALL_CHECK`]); `None` if
/// the log has nothing new, or cannot say now (no leader yet): ask again later.
///
/// Each request is bounded by [`STALL_CHECK`]: while a clustered stream elects a leader, a
/// request waits out its whole timeout (5 s) unanswered, and the next check should come
/// soon after the election, not up to 5 s later.
async fn resume_if_stalled(log: &EventLog, applied: Position) -> Option<EventSubscription> {
    let head = tokio::time::timeout(STALL_CHECK, log.head()).await.ok()?.ok()?;
    if head <= applied {
        return None;
    }
    tracing::warn!(applied, head, "the log moved on while the projection heard nothing; subscribing again");
    metrics::counter!("waybill_projection_resubscribed_total").increment(1);
    tokio::time::timeout(STALL_CHECK, log.subscribe_all(applied + 1)).await.ok()?.ok()
}

/// An event the projection could not apply.
struct Refused {
    position: Position,
    reason: String,
}

/// Looks for an operator's waiver of the refused event; without one, halts (health turns
/// NOT_SERVING) and checks again now and then until one is written, then resumes. `None`
/// once every handle is gone.
async fn wait_for_waiver(
    log: &EventLog,
    progress: &watch::Sender<Progress>,
    applied: Position,
    refused: Refused,
) -> Option<Position> {
    let mut halted = false;
    loop {
        match log.waiver(refused.position).await {
            Ok(Some(waiver)) => {
                tracing::warn!(
                    position = refused.position,
                    operator = %waiver.operator,
                    waiver_reason = %waiver.reason,
                    refused = %refused.reason,
                    "skipping an event the read model cannot apply: an operator waived it"
                );
                metrics::counter!("waybill_projection_waived_total").increment(1);
                if halted {
                    progress.send_modify(|progress| progress.stopped = None);
                }
                return Some(refused.position);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, position = refused.position, "could not look for a waiver"),
        }
        if !halted {
            stop(progress, applied, refused.reason.clone());
            halted = true;
        }
        tokio::select! {
            () = tokio::time::sleep(WAIVER_POLL) => {}
            () = progress.closed() => return None,
        }
    }
}

/// Applies what it can of `batch` to `model` (under its write lock: [`Task::write_model`]),
/// taking events off its front; on an event the projection cannot apply (and no waiver for
/// its position in `waived`), stops with that event still at the front. Collects in `fed`
/// the admitted events to broadcast (only while someone follows the feed).
fn apply_batch<P: Projection>(
    model: &mut P,
    task: &Task<P>,
    applied: &mut Position,
    batch: &mut VecDeque<Result<Delivered, ReadError>>,
    waived: &[Position],
    fed: &mut Vec<RecordedEvent>,
) -> Result<(), Refused> {
    let following = task.feed.receiver_count() > 0;
    while let Some(delivered) = batch.front() {
        let event = match delivered {
            Ok(delivered) => &delivered.event,
            Err(error) => {
                // The ordered consumer recreates itself and resumes after the last event.
                tracing::warn!(%error, "projection subscription hiccup, continuing");
                batch.pop_front();
                continue;
            }
        };
        // Waivers and other operators' records are no service's events.
        if event.position <= *applied || event.subject.starts_with(crate::waiver::OPS_SUBJECT_PREFIX) {
            *applied = (*applied).max(event.position);
            batch.pop_front();
            continue;
        }
        let matched = task.filters.iter().any(|filter| filter.matches(&event.subject));
        // An event neither the model nor the feed takes is none of this service's business.
        if (matched || following) && admission::refuses(task.admission.as_ref(), event, "read model") {
            *applied = event.position;
            batch.pop_front();
            continue;
        }
        if matched && let Err(error) = model.apply(event) {
            if !waived.contains(&event.position) {
                let reason = format!(
                    "event {} at position {} on {}: {error}",
                    event.event_type, event.position, event.subject
                );
                return Err(Refused { position: event.position, reason });
            }
            // Waived: skipped, and not fed (no watcher sees what the model does not hold).
            *applied = event.position;
            batch.pop_front();
            continue;
        }
        *applied = event.position;
        if let Some(Ok(delivered)) = batch.pop_front()
            && following
        {
            fed.push(delivered.event);
        }
    }
    Ok(())
}

fn stop(progress: &watch::Sender<Progress>, applied: Position, reason: String) {
    // Skipping the event on our own would make replicas disagree: the model stays where it
    // is, and says so loudly (health turns NOT_SERVING, see `Projector::halted`), until an
    // operator waives the event.
    tracing::error!(applied, %reason, "projection halted: the read model cannot go past this event");
    metrics::counter!("waybill_projection_halts_total").increment(1);
    progress.send_replace(Progress { applied, stopped: Some(reason) });
}
