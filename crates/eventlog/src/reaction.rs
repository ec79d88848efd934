//! Reactions: what a service does when events arrive, on a durable pull consumer shared by
//! all replicas of the service (each event goes to one of them). Acks are explicit:
//! - `Ok` acks;
//! - [`ReactionError::Transient`], or a handler that runs longer than `handler_timeout`, naks with
//!   a backoff delay, and the event comes back: **without limit**. A transient failure is
//!   by definition one that later works (the log was unreachable, a race was lost), so
//!   giving up on it would lose a reaction to an outage that merely outlasted the backoff.
//!   After `alert_after` deliveries each further failure is logged as an error and counted
//!   as `stuck`, for a person to look at;
//! - [`ReactionError::Poison`] (a handler's verdict that the event can never be handled)
//!   copies it to the dead-letter subject with the error and terminates it, and processing
//!   goes on;
//! - an event the log's admission refuses ([`crate::admission`]) is acked unhandled.
//!
//! The handler runs in the event's trace ([`crate::trace`]): a span that continues the
//! `traceparent` it was appended with, so the events the handler appends carry it on.
//!
//! While a handler runs, the runner tells the server it is still working every third of
//! `ack_wait`, so `ack_wait` can be short: it is how long the events a crashed replica held
//! wait before another replica gets them.
//!
//! Events of different aggregates are handled concurrently, in `lanes`: an event goes to
//! the lane its aggregate id (the subject's last token) hashes to, and each lane handles its
//! events one at a time, in log order. So one aggregate's events are never handled at the
//! same time or out of order by one runner, and a slow event holds up only its lane.
//! (Aggregates that share an id across services, such as an order and its dispatch task,
//! share a lane.)
//!
//! Delivery is at-least-once (a crash between the effect and the ack redelivers), so
//! handlers must be idempotent: key their own writes on the event id or position, e.g. as
//! the idempotency key of the appends they make.

use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;

use crate::error::{ReactionError, ReactionRunError};
use crate::read::RecordedEvent;
use crate::{EventLog, subject};

/// Messages a runner pulls at a time, per lane: enough to keep the lanes busy, few enough
/// that replicas share the work evenly.
const PULL_PER_LANE: usize = 2;
/// Events queued in one lane beyond the one in hand; the pull waits while a lane is full,
/// and so do all the other lanes. At 4, one handler waiting on a slow append (tens of ms
/// under load) filled its lane and stalled the whole consumer: `intake-fulfilment` lagged
/// ~640 ms behind the log where the other reactions lagged ~35 ms (BENCHMARKS.md). 32
/// absorbs that; queued events are not yet handled, so the server's `ack_wait` still bounds
/// how long a crashed replica's events wait.
const LANE_QUEUE: usize = 32;
/// Shortest `ack_wait`: the runner's "still working" beats come every third of it.
const MIN_ACK_WAIT: Duration = Duration::from_millis(300);
/// Pause after a failed pull before trying again.
const PULL_RETRY: Duration = Duration::from_millis(200);

/// Headers added to a dead letter.
pub const ERROR_HEADER: &str = "waybill-error";
pub const ORIGINAL_SUBJECT_HEADER: &str = "waybill-original-subject";
pub const ORIGINAL_POSITION_HEADER: &str = "waybill-original-position";
pub const DELIVERIES_HEADER: &str = "waybill-deliveries";

/// A durable reaction's settings; `..Default::default()` fills in the retry policy.
#[derive(Clone, Debug, PartialEq)]
pub struct ReactionSettings {
    /// The durable consumer's name, shared by all replicas of the service.
    pub durable_name: String,
    /// Subjects the reaction sees.
    pub filters: Vec<String>,
    /// Events handled at the same time, each of a different aggregate (default 16).
    pub lanes: usize,
    /// Deliveries of one event after which each further transient failure is logged as an
    /// error and counted as `stuck` (default 15, about 13 s). It is still retried: see the module docs.
    pub alert_after: i64,
    /// Nak delay after the 1st, 2nd, ... failure; the last step repeats.
    pub backoff: Vec<Duration>,
    /// How long the server waits for a word from the runner (an ack, or "still working")
    /// before it hands the event to another replica: after a crash, how long the crashed
    /// replica's events wait (default 5 s).
    pub ack_wait: Duration,
    /// How long a handler may run before it is abandoned and the event naked for a retry
    /// (default 30 s).
    pub handler_timeout: Duration,
    /// Where dead letters go, in the dead-letter stream, e.g. `deadletter.intake.auto-review`.
    pub dead_letter_subject: String,
}

impl ReactionSettings {
    /// `service`'s durable consumer `durable_name` on `filter`, the rest by default; its dead
    /// letters go to `deadletter.<service>.<durable_name>`, the one subject deploy/ allows it.
    pub fn durable(service: &str, durable_name: &str, filter: &str) -> Self {
        ReactionSettings {
            durable_name: durable_name.to_owned(),
            filters: vec![filter.to_owned()],
            dead_letter_subject: format!("deadletter.{service}.{durable_name}"),
            ..ReactionSettings::default()
        }
    }
}

impl Default for ReactionSettings {
    fn default() -> Self {
        ReactionSettings {
            durable_name: String::new(),
            filters: Vec::new(),
            lanes: 16,
            // About 13 s of retries on the backoff below: longer than a leader election.
            alert_after: 15,
            // Capped at 1 s: the usual transient failure is the log being briefly
            // unwritable (a clustered stream electing a leader takes 4–9 s), and an event
            // should be handled within a second of the log coming back, not after a long
            // last step. One retry a second per failing event costs the server nothing.
            backoff: vec![
                Duration::from_millis(100),
                Duration::from_millis(250),
                Duration::from_millis(500),
                Duration::from_secs(1),
            ],
            ack_wait: Duration::from_secs(5),
            handler_timeout: Duration::from_secs(30),
            dead_letter_subject: String::new(),
        }
    }
}

impl ReactionSettings {
    fn check(&self) -> Result<(), ReactionRunError> {
        let invalid = |message: String| Err(ReactionRunError::InvalidSettings(message));
        if subject::validate_token(&self.durable_name).is_err() {
            return invalid(format!("durable name {:?} is not a valid name", self.durable_name));
        }
        if self.filters.is_empty()
            || self.filters.iter().any(|filter| subject::validate_filter(filter).is_err())
        {
            return invalid(format!("filters {:?} must be non-empty valid subjects", self.filters));
        }
        if self.lanes == 0 {
            return invalid("lanes must be at least 1".to_owned());
        }
        if self.alert_after < 1 || self.ack_wait < MIN_ACK_WAIT || self.handler_timeout.is_zero() {
            return invalid(format!(
                "alert_after and handler_timeout must be positive, ack_wait at least {MIN_ACK_WAIT:?}"
            ));
        }
        if subject::validate_subject(&self.dead_letter_subject).is_err()
            || !self.dead_letter_subject.starts_with("deadletter.")
        {
            return invalid(format!(
                "dead-letter subject {:?} must be under deadletter.",
                self.dead_letter_subject
            ));
        }
        Ok(())
    }

    /// The nak delay after the `deliveries`-th failed delivery.
    fn delay_after(&self, deliveries: i64) -> Duration {
        let step = usize::try_from(deliveries.max(1) - 1).unwrap_or(usize::MAX);
        self.backoff.get(step).or(self.backoff.last()).copied().unwrap_or(Duration::ZERO)
    }

    /// The consumer's filters: the reaction's own and its redrive requests ([`crate::redrive`]).
    fn followed_subjects(&self) -> Vec<String> {
        let mut subjects = self.filters.clone();
        subjects.push(crate::redrive::redrive_filter(&self.durable_name));
        subjects
    }

    fn consumer_config(&self) -> pull::Config {
        pull::Config {
            durable_name: Some(self.durable_name.clone()),
            filter_subjects: self.followed_subjects(),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // Transient failures are retried without limit; see the module docs.
            max_deliver: -1,
            ..Default::default()
        }
    }
}

/// Runs the reaction until `shutdown` resolves: the events in hand are finished, the ones
/// queued in lanes are handed back to the server at once (for another replica). See the
/// module docs for lanes, acks, retries and dead letters.
pub async fn run_reactions<H, Fut>(
    log: EventLog,
    settings: ReactionSettings,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ReactionRunError>
where
    H: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ReactionError>> + Send + 'static,
{
    settings.check()?;
    let consumer = ensure_consumer(&log, &settings).await?;
    let durable = settings.durable_name.clone();
    let consumer_error = |action: &'static str, source: crate::BoxError| ReactionRunError::Consumer {
        durable: durable.clone(),
        action,
        source,
    };
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(settings.lanes * PULL_PER_LANE)
        .messages()
        .await
        .map_err(|error| consumer_error("subscribe", error.into()))?;

    let settings = Arc::new(settings);
    let handler = Arc::new(handler);
    let stopping = Arc::new(AtomicBool::new(false));
    let mut lanes = Vec::with_capacity(settings.lanes);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..settings.lanes {
        let (sender, queue) = tokio::sync::mpsc::channel(LANE_QUEUE);
        lanes.push(sender);
        workers.spawn(run_lane(log.clone(), settings.clone(), handler.clone(), queue, stopping.clone()));
    }

    tokio::pin!(shutdown);
    let outcome = loop {
        let next = tokio::select! {
            () = &mut shutdown => break Ok(()),
            next = messages.next() => next,
        };
        match next {
            Some(Ok(message)) => {
                let lane = &lanes[lane_of(&message, lanes.len())];
                let sent = tokio::select! {
                    () = &mut shutdown => break Ok(()),
                    sent = lane.send(message) => sent,
                };
                if sent.is_err() {
                    break Err(consumer_error("handle", "a lane stopped (its handler panicked)".into()));
                }
            }
            Some(Err(error)) => {
                tracing::warn!(durable = %settings.durable_name, %error, "pulling reactions failed, retrying");
                tokio::time::sleep(PULL_RETRY).await;
            }
            None => break Err(consumer_error("pull", "the message stream ended".into())),
        }
    };
    stopping.store(true, Ordering::SeqCst);
    drop(lanes);
    while workers.join_next().await.is_some() {}
    outcome
}

/// The lane an event goes to: by its aggregate id, so one aggregate's events stay in order.
/// A redrive request goes to the lane of the event it re-drives.
fn lane_of(message: &Message, lanes: usize) -> usize {
    let redriven = message.headers.as_ref().and_then(|headers| headers.get(ORIGINAL_SUBJECT_HEADER));
    let subject = match redriven {
        Some(original) if message.subject.starts_with(crate::redrive::REDRIVE_SUBJECT_PREFIX) => {
            original.as_str()
        }
        _ => message.subject.as_str(),
    };
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(subject::aggregate_id_of(subject));
    usize::try_from(hash % lanes as u64).unwrap_or(0)
}

/// One lane: its events one at a time. Once stopping, the queued ones go back to the server.
async fn run_lane<H, Fut>(
    log: EventLog,
    settings: Arc<ReactionSettings>,
    handler: Arc<H>,
    mut queue: tokio::sync::mpsc::Receiver<Message>,
    stopping: Arc<AtomicBool>,
) where
    H: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ReactionError>> + Send + 'static,
{
    while let Some(message) = queue.recv().await {
        if stopping.load(Ordering::SeqCst) {
            let _ = message.ack_with(AckKind::Nak(None)).await;
            continue;
        }
        handle(&log, &settings, handler.as_ref(), message).await;
    }
}

async fn handle<H, Fut>(log: &EventLog, settings: &ReactionSettings, handler: &H, message: Message)
where
    H: Fn(RecordedEvent) -> Fut,
    Fut: Future<Output = Result<(), ReactionError>>,
{
    let (position, deliveries, published) = match message.info() {
        Ok(info) => (info.stream_sequence, info.delivered, info.published),
        Err(error) => {
            tracing::error!(%error, "reaction message without JetStream metadata, terminating it");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let durable = settings.durable_name.as_str();
    // A redrive request stands for the event it names: that event is handled (and, if
    // poison again, dead-lettered) in its place.
    let redrive_position =
        message.subject.starts_with(crate::redrive::REDRIVE_SUBJECT_PREFIX).then_some(position);
    let (event, headers) = if redrive_position.is_some() {
        match crate::redrive::resolve(log, settings, &message).await {
            Ok(Some((event, headers))) => (event, Some(headers)),
            Ok(None) => {
                if let Err(error) = message.ack().await {
                    tracing::warn!(durable, position, %error, "ack failed; the request will be redelivered");
                }
                return;
            }
            Err(error) => {
                tracing::warn!(durable, position, %error, "redrive request failed, will retry");
                let _ = message.ack_with(AckKind::Nak(Some(settings.delay_after(deliveries)))).await;
                return;
            }
        }
    } else {
        let event = RecordedEvent::new(
            position,
            message.subject.as_str(),
            message.headers.as_ref(),
            message.payload.clone(),
            published,
        );
        // How far behind the log the reaction is: storage to handling, queues included.
        let lag = (chrono::Utc::now() - event.published).to_std().unwrap_or_default();
        metrics::histogram!("waybill_reaction_lag_seconds", "consumer" => durable.to_owned())
            .record(lag.as_secs_f64());
        (event, message.headers.clone())
    };
    let counted = |outcome: &'static str| {
        metrics::counter!("waybill_reaction_events_total", "consumer" => durable.to_owned(), "outcome" => outcome)
            .increment(1);
    };
    if crate::admission::refuses(log.admission().as_ref(), &event, durable) {
        // Not the service's to handle, on any delivery: done with it (see `admission`).
        counted("refused");
        if let Err(error) = message.ack().await {
            tracing::warn!(durable, position, %error, "ack failed; the event will be redelivered");
        }
        return;
    }
    // The handler continues the event's trace: what it appends carries the same trace id.
    let parent = crate::trace::parent_of_event(headers.as_ref());
    let span = tracing::info_span!(
        target: crate::trace::SPAN_TARGET,
        "reaction",
        otel.name = %format_args!("process {durable}"),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.consumer.group.name = durable,
        messaging.destination.name = %event.subject,
        waybill.aggregate_id = subject::aggregate_id_of(&event.subject),
        waybill.position = event.position,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    let recorded = span.clone();
    let letter = Letter {
        subject: event.subject.clone(),
        position: event.position,
        payload: event.payload.clone(),
        headers,
        redrive_position,
    };
    let outcome = crate::trace::in_span(span, parent, run_handler(settings, handler, event, &message)).await;
    if let Err(error) = &outcome {
        // A failed attempt is an error in the trace, a retry as much as a dead letter.
        crate::trace::mark_error(&recorded, error);
    }
    let give_up = match outcome {
        Ok(()) => {
            counted("handled");
            if let Err(error) = message.ack().await {
                tracing::warn!(durable, position, %error, "ack failed; the event will be redelivered");
            }
            return;
        }
        Err(ReactionError::Transient(reason)) => {
            let delay = settings.delay_after(deliveries);
            if deliveries < settings.alert_after {
                counted("retried");
                tracing::warn!(durable, position, deliveries, %reason, ?delay, "reaction failed, will retry");
            } else {
                counted("stuck");
                tracing::error!(durable, position, deliveries, %reason, ?delay, "reaction still failing, will keep retrying");
            }
            if let Err(error) = message.ack_with(AckKind::Nak(Some(delay))).await {
                tracing::warn!(durable, position, %error, "nak failed; the event will be redelivered after ack_wait");
            }
            return;
        }
        Err(poison @ ReactionError::Poison(_)) => poison,
    };
    tracing::error!(durable, position, deliveries, error = %give_up, subject = %settings.dead_letter_subject, "reaction gave up, dead-lettering");
    match dead_letter(log, settings, &letter, deliveries, &give_up.to_string()).await {
        Ok(()) => {
            counted("dead_lettered");
            if let Err(error) = message.ack_with(AckKind::Term).await {
                tracing::warn!(durable, position, %error, "term failed; the event may come back");
            }
        }
        Err(error) => {
            // Never drop an event unrecorded: try again later.
            tracing::error!(durable, position, %error, "dead-lettering failed, will retry");
            let _ = message.ack_with(AckKind::Nak(Some(settings.delay_after(deliveries)))).await;
        }
    }
}

/// Runs the handler, telling the server "still working" every third of `ack_wait`. A handler
/// past `handler_timeout` is abandoned (handlers are idempotent) and reported as transient,
/// so one stuck event does not hold up this runner.
async fn run_handler<H, Fut>(
    settings: &ReactionSettings,
    handler: &H,
    event: RecordedEvent,
    message: &Message,
) -> Result<(), ReactionError>
where
    H: Fn(RecordedEvent) -> Fut,
    Fut: Future<Output = Result<(), ReactionError>>,
{
    let work = tokio::time::timeout(settings.handler_timeout, handler(event));
    tokio::pin!(work);
    let beat = settings.ack_wait / 3;
    let mut beats = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
    loop {
        tokio::select! {
            outcome = &mut work => {
                return outcome.unwrap_or_else(|_| {
                    Err(ReactionError::Transient(format!(
                        "the handler did not finish within {:?}",
                        settings.handler_timeout
                    )))
                });
            }
            _ = beats.tick() => {
                if let Err(error) = message.ack_with(AckKind::Progress).await {
                    tracing::debug!(%error, "a still-working beat failed");
                }
            }
        }
    }
}

/// The event a dead letter copies: the delivered one, or the one a redrive request named.
struct Letter {
    subject: String,
    position: u64,
    payload: bytes::Bytes,
    headers: Option<HeaderMap>,
    /// The redrive request's position, when the event came through one.
    redrive_position: Option<u64>,
}

/// Copies the event to the dead-letter subject with the error; waits for the stream's ack.
async fn dead_letter(
    log: &EventLog,
    settings: &ReactionSettings,
    letter: &Letter,
    deliveries: i64,
    error: &str,
) -> Result<(), crate::BoxError> {
    let position = letter.position;
    let mut headers = HeaderMap::new();
    if let Some(original) = &letter.headers {
        // JetStream's own headers (expected sequence, batch, message id) would be
        // checked again by the dead-letter stream: leave them out.
        for (name, values) in original.iter() {
            if name.to_string().to_ascii_lowercase().starts_with("nats-") {
                continue;
            }
            for value in values {
                headers.append(name.clone(), value.as_str());
            }
        }
    }
    // One line: header values cannot hold line breaks.
    let error_line: String = error.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    headers.insert(ERROR_HEADER, error_line.as_str());
    headers.insert(ORIGINAL_SUBJECT_HEADER, letter.subject.as_str());
    headers.insert(ORIGINAL_POSITION_HEADER, position.to_string().as_str());
    headers.insert(DELIVERIES_HEADER, deliveries.to_string().as_str());
    // Dead-lettering the same event twice (a crash before the term) stores it once; a
    // redrive that fails again is a letter of its own.
    let message_id = match letter.redrive_position {
        None => format!("{}/{position}", settings.durable_name),
        Some(request) => {
            headers.insert(crate::redrive::REDRIVE_POSITION_HEADER, request.to_string().as_str());
            format!("{}/{position}/redrive/{request}", settings.durable_name)
        }
    };
    headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id.as_str());
    let publish = PublishMessage::build().headers(headers).payload(letter.payload.clone());
    log.jetstream().send_publish(settings.dead_letter_subject.clone(), publish).await?.await?;
    Ok(())
}

/// Creates or updates the durable consumer, then checks the server kept its settings.
async fn ensure_consumer(
    log: &EventLog,
    settings: &ReactionSettings,
) -> Result<async_nats::jetstream::consumer::Consumer<pull::Config>, ReactionRunError> {
    let durable = settings.durable_name.clone();
    let wanted = settings.consumer_config();
    let consumer =
        log.stream().create_consumer(wanted.clone()).await.map_err(|error| ReactionRunError::Consumer {
            durable: durable.clone(),
            action: "create or update",
            source: error.into(),
        })?;
    let kept = consumer.get_info().await.map_err(|error| ReactionRunError::Consumer {
        durable: durable.clone(),
        action: "read back",
        source: error.into(),
    })?;
    let actual = kept.config;
    let not_kept = |setting: &'static str, asked: String, got: String| {
        Err(ReactionRunError::NotKept { durable: durable.clone(), setting, asked, got })
    };
    let mut asked_filters = wanted.filter_subjects.clone();
    let mut got_filters = actual.filter_subjects.clone();
    if !actual.filter_subject.is_empty() {
        got_filters.push(actual.filter_subject.clone());
    }
    asked_filters.sort();
    got_filters.sort();
    if asked_filters != got_filters {
        return not_kept("filters", format!("{asked_filters:?}"), format!("{got_filters:?}"));
    }
    if actual.ack_policy != AckPolicy::Explicit {
        return not_kept("ack_policy", "explicit".to_owned(), format!("{:?}", actual.ack_policy));
    }
    if actual.deliver_policy != DeliverPolicy::All {
        return not_kept("deliver_policy", "all".to_owned(), format!("{:?}", actual.deliver_policy));
    }
    if actual.ack_wait != wanted.ack_wait {
        return not_kept("ack_wait", format!("{:?}", wanted.ack_wait), format!("{:?}", actual.ack_wait));
    }
    if actual.max_deliver > 0 {
        return not_kept("max_deliver", "unlimited".to_owned(), actual.max_deliver.to_string());
    }
    Ok(consumer)
}

/// [`run_reactions`] on its own task until `stop` turns true: how every service runs each
/// of its durable consumers. A consumer that cannot be created, or whose subscription
/// fails, is started again with backoff (NATS restarting, a leader election, a consumer
/// limit reached for a while): a reaction never stops for good while the service runs.
/// Only settings the code got wrong stop it, with an error log.
pub fn spawn_reactions<H, Fut>(
    log: EventLog,
    settings: ReactionSettings,
    stop: tokio::sync::watch::Receiver<bool>,
    handler: H,
) -> tokio::task::JoinHandle<()>
where
    H: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), ReactionError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    // Logged by its consumer's name: the one `nats consumer ls` and the lag metric show.
    let name = settings.durable_name.clone();
    tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let mut stop_watch = stop.clone();
            let stopped = async move {
                let _ = stop_watch.wait_for(|stop| *stop).await;
            };
            let handler = handler.clone();
            let attempt = run_reactions(log.clone(), settings.clone(), move |event| handler(event), stopped);
            match attempt.await {
                Ok(()) => return,
                Err(error @ ReactionRunError::InvalidSettings(_)) => {
                    tracing::error!(%error, reaction = %name, "reaction stopped");
                    return;
                }
                Err(error) => {
                    let pause = crate::retry::pause(failures);
                    failures = failures.saturating_add(1);
                    if matches!(error, ReactionRunError::NotKept { .. }) {
                        // Someone else's consumer under this name: a person must look.
                        tracing::error!(%error, reaction = %name, failures, "reaction cannot start; retrying");
                    } else {
                        tracing::warn!(%error, reaction = %name, failures, "reaction failed; restarting");
                    }
                    let mut stop_watch = stop.clone();
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        _ = stop_watch.wait_for(|stop| *stop) => return,
                    }
                }
            }
        }
    })
}
