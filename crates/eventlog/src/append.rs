//! Appending events to one aggregate's subject. Each append carries:
//! - `Nats-Expected-Last-Subject-Sequence` when the caller expects a position, so a writer
//!   that decided on stale state loses the race ([`AppendError::Conflict`]) instead of
//!   writing over a newer fact;
//! - `Nats-Msg-Id` from the caller's idempotency key, so a retried command stores nothing
//!   twice and gets the original position back (`duplicate: true`);
//! - CloudEvents `ce-*` headers, so integrators can route without decoding the payload;
//! - W3C `traceparent` (and `tracestate`): the trace the append was made in ([`crate::trace`]).
//!
//! Several events go in one JetStream atomic batch (ADR-50, server 2.12+): all are stored
//! or none.
//!
//! Retrying after a failure: resend with the same idempotency key and expectation. The
//! server's answer to such a retry depends on the version and topology: "duplicate" (one
//! node, older servers), 10071 "wrong last sequence" (nats-server 2.15 single node, R3
//! clusters) or 10201 "batch contains duplicate message id" (batches). So on a refusal the
//! log looks at the message right after the expected position: if it carries this
//! idempotency key, the first attempt was stored and the answer is `duplicate: true` with
//! the original positions. Should a `Conflict` still reach a caller on a retry (e.g. the
//! duplicate window passed), the caller must re-read the aggregate, where its event may
//! be, before deciding again.

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, ErrorCode};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use serde::Deserialize;

use crate::error::{AppendError, BoxError};
use crate::trace::TraceHeaders;
use crate::{EventLog, Position, subject};

/// CloudEvents spec version of the `ce-*` headers.
const CE_SPEC_VERSION: &str = "1.0";
const CONTENT_TYPE: &str = "application/protobuf";
/// Framing of a header block ("NATS/1.0\r\n" ... "\r\n") and of one line (": ", "\r\n").
const HEADER_BLOCK_OVERHEAD: usize = 12;
const HEADER_LINE_OVERHEAD: usize = 4;
/// "atomic publish batch contains duplicate message id" (not named by async-nats 0.51).
const ATOMIC_BATCH_DUPLICATE_MESSAGE_ID: ErrorCode = ErrorCode(10201);
/// "wrong last sequence" without a sequence (not named by async-nats 0.51): a clustered
/// stream's answer to a batch whose expected subject has a write still in flight, i.e. a
/// race lost to a concurrent writer, like [`ErrorCode::STREAM_WRONG_LAST_SEQUENCE`]. Seen
/// in the cluster benchmark, where it reached a client as UNAVAILABLE instead of being
/// decided again.
const WRONG_LAST_SEQUENCE_IN_FLIGHT: ErrorCode = ErrorCode(10164);

/// True for the answers that mean another writer got to an expected subject first.
fn is_lost_race(code: ErrorCode) -> bool {
    code == ErrorCode::STREAM_WRONG_LAST_SEQUENCE || code == WRONG_LAST_SEQUENCE_IN_FLIGHT
}
/// How long an atomic batch waits for each answer, as a request would (async-nats's
/// default request timeout).
const BATCH_REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One aggregate's part of an [`EventLog::append_atomic`].
#[derive(Clone, Copy, Debug)]
pub struct AggregateAppend<'a> {
    pub subject: &'a str,
    /// The subject's expected last position (`None`: no check).
    pub expected: Option<Position>,
    pub events: &'a [NewEvent],
}

/// One event to append. `payload` is the encoded envelope; the other fields become headers.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub aggregate_id: String,
    pub occurred_at: DateTime<Utc>,
    pub payload: Bytes,
}

/// Where an append landed: positions of its first and last event. `duplicate` means the
/// idempotency key was seen before: nothing new was stored and the positions are the
/// original ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub first: Position,
    pub last: Position,
    pub duplicate: bool,
}

impl EventLog {
    /// Appends `events` to one `subject` (one aggregate), see the module docs.
    ///
    /// `expected = Some(p)`: stored only if the subject's last position is `p` (0 = the
    /// subject must be empty); `None`: no check. Each message's `Nats-Msg-Id` is
    /// `idempotency_key` for a single event, `{idempotency_key}/{index}` for several.
    pub async fn append(
        &self,
        subject: &str,
        expected: Option<Position>,
        idempotency_key: &str,
        events: &[NewEvent],
    ) -> Result<Appended, AppendError> {
        self.append_atomic(&[AggregateAppend { subject, expected, events }], idempotency_key).await
    }

    /// Appends to several aggregates at once, all or nothing: each write's expectation is
    /// checked on its own subject, and the events are stored contiguously in the order
    /// given (one JetStream atomic batch). For a decision that spans aggregates, e.g. a
    /// task assigned to a vehicle whose load must stay within its capacity. Message ids are
    /// `{idempotency_key}/{index}` over the whole batch (just the key for a single event).
    pub async fn append_atomic(
        &self,
        writes: &[AggregateAppend<'_>],
        idempotency_key: &str,
    ) -> Result<Appended, AppendError> {
        let count: usize = writes.iter().map(|write| write.events.len()).sum();
        let trace = TraceHeaders::current();
        let mut messages = Vec::with_capacity(count);
        for write in writes {
            subject::validate_subject(write.subject)
                .map_err(|_| AppendError::InvalidSubject(write.subject.to_owned()))?;
            for (index, event) in write.events.iter().enumerate() {
                let message_id = match count {
                    1 => idempotency_key.to_owned(),
                    _ => format!("{idempotency_key}/{}", messages.len()),
                };
                let mut headers = self.headers_for(write.subject, event, &message_id, &trace);
                if index == 0
                    && let Some(expected) = write.expected
                {
                    headers.insert(
                        async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
                        expected.to_string().as_str(),
                    );
                }
                self.check_size(&headers, &event.payload)?;
                messages.push((write.subject, headers, event.payload.clone()));
            }
        }
        // A refused retry is recognised on the first write's subject (see the module docs).
        let (first_subject, first_expected) = match writes.first() {
            Some(write) => (write.subject, write.expected.unwrap_or(0)),
            None => return Err(AppendError::NoEvents),
        };
        let appended = match messages.len() {
            0 => Err(AppendError::NoEvents),
            1 => {
                let (_, headers, payload) = messages.pop().ok_or(AppendError::NoEvents)?;
                self.append_one(first_subject, first_expected, headers, payload).await
            }
            _ if !self.inner.atomic_batches => Err(AppendError::Unsupported(
                "appending several events at once needs nats-server 2.12+ (atomic batch publish)".to_owned(),
            )),
            _ => self.append_batch(first_subject, first_expected, messages).await,
        };
        match &appended {
            Ok(done) => {
                self.inner.last_appended.fetch_max(done.last, std::sync::atomic::Ordering::Relaxed);
            }
            Err(AppendError::Conflict { .. }) => {
                metrics::counter!("waybill_append_conflicts_total").increment(1);
            }
            Err(_) => {}
        }
        appended
    }

    fn headers_for(
        &self,
        subject: &str,
        event: &NewEvent,
        message_id: &str,
        trace: &TraceHeaders,
    ) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
        headers.insert("ce-specversion", CE_SPEC_VERSION);
        headers.insert("ce-id", event.event_id.to_string().as_str());
        headers.insert("ce-source", self.inner.source.as_str());
        headers.insert("ce-type", event.event_type.as_str());
        headers.insert("ce-time", event.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true).as_str());
        headers.insert("ce-subject", subject::aggregate_id_of(subject));
        headers.insert("ce-datacontenttype", CONTENT_TYPE);
        headers.insert("content-type", CONTENT_TYPE);
        trace.write(&mut headers);
        headers
    }

    /// Refuses an event the stream would refuse, before anything is sent. Batch headers
    /// (added later) are left out; the server's own check still catches the last bytes.
    fn check_size(&self, headers: &HeaderMap, payload: &Bytes) -> Result<(), AppendError> {
        let header_bytes: usize = headers
            .iter()
            .flat_map(|(name, values)| {
                values.iter().map(move |value| name.to_string().len() + value.as_str().len())
            })
            .map(|line| line + HEADER_LINE_OVERHEAD)
            .sum::<usize>()
            + HEADER_BLOCK_OVERHEAD;
        let size = header_bytes + payload.len();
        let max = usize::try_from(self.inner.settings.max_message_size).unwrap_or(0);
        if size > max { Err(AppendError::TooLarge { size, max }) } else { Ok(()) }
    }

    async fn append_one(
        &self,
        subject: &str,
        expected: Position,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<Appended, AppendError> {
        let ids = message_ids(std::slice::from_ref(&headers));
        let size = payload.len();
        let message = PublishMessage::build().headers(headers).payload(payload);
        let connection = self.connection();
        let result = match self.jetstream().send_publish(subject.to_owned(), message).await {
            Ok(ack) => connection.unless_lost(ack.into_future()).await?,
            Err(error) => Err(error),
        };
        match result {
            Ok(ack) => Ok(Appended { first: ack.sequence, last: ack.sequence, duplicate: ack.duplicate }),
            Err(error) => match self.publish_error(subject, expected, size, error) {
                AppendError::Conflict { .. }
                    if let Some(original) = self.find_original(subject, expected, &ids).await =>
                {
                    Ok(original)
                }
                error => Err(error),
            },
        }
    }

    fn publish_error(
        &self,
        subject: &str,
        expected: Position,
        size: usize,
        error: jetstream::context::PublishError,
    ) -> AppendError {
        let code = std::error::Error::source(&error)
            .and_then(|source| source.downcast_ref::<jetstream::Error>())
            .map(jetstream::Error::error_code);
        match (error.kind(), code) {
            (PublishErrorKind::WrongLastSequence, _) => {
                AppendError::Conflict { subject: subject.to_owned(), expected }
            }
            (_, Some(code)) if is_lost_race(code) => {
                AppendError::Conflict { subject: subject.to_owned(), expected }
            }
            (PublishErrorKind::MaxPayloadExceeded, _)
            | (_, Some(ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM)) => {
                AppendError::TooLarge { size, max: self.max_size() }
            }
            _ => AppendError::Nats(error.into()),
        }
    }

    fn max_size(&self) -> usize {
        usize::try_from(self.inner.settings.max_message_size).unwrap_or(0)
    }

    /// An ADR-50 atomic batch in one round trip. Every message carries `Nats-Batch-Id` and
    /// `Nats-Batch-Sequence`; the last also `Nats-Batch-Commit: 1`. Only the first (the
    /// server answers that the batch started, or why not) and the commit (the publish ack
    /// of the whole batch, or why it was refused) ask for a reply, on one inbox; the
    /// messages in between are plain publishes (ADR-50 lets a client ask for replies only
    /// where it needs them). Everything is sent before any answer is awaited: one
    /// connection keeps the order, and a batch the server refused at the start is refused
    /// again at the commit, as unknown.
    async fn append_batch(
        &self,
        subject: &str,
        expected: Position,
        messages: Vec<(&str, HeaderMap, Bytes)>,
    ) -> Result<Appended, AppendError> {
        let batch_id = uuid::Uuid::now_v7().simple().to_string();
        let count = messages.len();
        let ids = message_ids(messages.iter().map(|(_, headers, _)| headers));
        let size = messages.iter().map(|(_, _, payload)| payload.len()).max().unwrap_or(0);
        let client = self.client();
        let nats = |error: BoxError| AppendError::Nats(error);
        let connection = self.connection();
        let inbox = client.new_inbox();
        let mut replies = client.subscribe(inbox.clone()).await.map_err(|error| nats(error.into()))?;
        for (index, (message_subject, mut headers, payload)) in messages.into_iter().enumerate() {
            headers.insert(async_nats::header::NATS_BATCH_ID, batch_id.as_str());
            headers.insert(async_nats::header::NATS_BATCH_SEQUENCE, (index + 1).to_string().as_str());
            let commit = index + 1 == count;
            if commit {
                headers.insert(async_nats::header::NATS_BATCH_COMMIT, "1");
            }
            let subject = message_subject.to_owned();
            let sent = if index == 0 || commit {
                client.publish_with_reply_and_headers(subject, inbox.clone(), headers, payload).await
            } else {
                client.publish_with_headers(subject, headers, payload).await
            };
            sent.map_err(|error| nats(error.into()))?;
        }
        // The start's answer, then the commit's; an error in the first is the cause (the
        // commit would only say the batch is unknown).
        let mut commit_answer = None;
        for _ in 0..2 {
            let reply = connection
                .unless_lost(tokio::time::timeout(BATCH_REPLY_TIMEOUT, replies.next()))
                .await?
                .map_err(|_| nats("no answer to an atomic batch in time".into()))?
                .ok_or_else(|| nats("the batch's reply inbox closed".into()))?;
            if reply.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                return Err(nats("no stream answers on this subject".into()));
            }
            let answer = BatchReply::parse(&reply.payload).map_err(AppendError::Nats)?;
            if let Some(error) = answer.error {
                let code = error.error_code();
                if (is_lost_race(code) || code == ATOMIC_BATCH_DUPLICATE_MESSAGE_ID)
                    && let Some(original) = self.find_original(subject, expected, &ids).await
                {
                    return Ok(original);
                }
                return Err(match code {
                    code if is_lost_race(code) => {
                        AppendError::Conflict { subject: subject.to_owned(), expected }
                    }
                    ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM => {
                        AppendError::TooLarge { size, max: self.max_size() }
                    }
                    _ => AppendError::Nats(error.into()),
                });
            }
            commit_answer = Some(answer);
        }
        let answer = commit_answer.ok_or(AppendError::NoEvents)?;
        let last =
            answer.seq.ok_or_else(|| AppendError::Nats("batch commit answered without a sequence".into()))?;
        let stored = answer.count.unwrap_or(count as u64);
        let first = (last + 1).saturating_sub(stored.max(1));
        Ok(Appended { first, last, duplicate: answer.duplicate })
    }
}

/// The connection an append was sent on. A reply to a message sent on a connection that
/// has since dropped never comes: waiting out the timeout (5–10 s) is what made commands
/// stall when a cluster node died under them (issue 16). An append that loses its
/// connection fails at once as transient; its retry, with the same message ids, is
/// answered as a duplicate if the first attempt was stored after all.
struct SentOn<'a> {
    client: &'a async_nats::Client,
    connects: u64,
}

/// How often a waiting append looks at its connection.
const CONNECTION_CHECK: std::time::Duration = std::time::Duration::from_millis(50);

impl EventLog {
    fn connection(&self) -> SentOn<'_> {
        let client = self.client();
        SentOn { client, connects: client.statistics().connects.load(std::sync::atomic::Ordering::Relaxed) }
    }
}

impl SentOn<'_> {
    fn lost(&self) -> bool {
        self.client.connection_state() != async_nats::connection::State::Connected
            || self.client.statistics().connects.load(std::sync::atomic::Ordering::Relaxed) != self.connects
    }

    /// `answer`, unless the connection drops (or is replaced) before it comes.
    async fn unless_lost<T>(&self, answer: impl std::future::Future<Output = T>) -> Result<T, AppendError> {
        let watch = async {
            loop {
                tokio::time::sleep(CONNECTION_CHECK).await;
                if self.lost() {
                    return;
                }
            }
        };
        tokio::select! {
            answer = answer => Ok(answer),
            () = watch => Err(AppendError::Nats(
                "the connection to NATS dropped before the append was answered; it may or may not be stored (a retry tells)"
                    .into(),
            )),
        }
    }
}

/// The `Nats-Msg-Id`s of the messages of one append, in order.
fn message_ids<'a>(headers: impl IntoIterator<Item = &'a HeaderMap>) -> Vec<String> {
    headers
        .into_iter()
        .map(|headers| {
            headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|value| value.as_str().to_owned())
                .unwrap_or_default()
        })
        .collect()
}

impl EventLog {
    /// After a refused retry: were these messages stored by an earlier attempt? With an
    /// expectation `p` they are the first message(s) on the subject after `p`; without one,
    /// the subject is searched. Any read error answers "no" (the refusal stands).
    async fn find_original(&self, subject: &str, expected: Position, ids: &[String]) -> Option<Appended> {
        let (first_id, last_id) = (ids.first()?, ids.last()?);
        let stream = self.stream();
        let mut from = expected + 1;
        let first = loop {
            let message = stream.direct_get_next_for_subject(subject, Some(from)).await.ok()?;
            if message_id_of(&message) == Some(first_id.as_str()) {
                break message.sequence;
            }
            if expected > 0 {
                return None;
            }
            from = message.sequence + 1;
        };
        // A batch is stored contiguously: check its last message too.
        let last = first + ids.len() as u64 - 1;
        if last != first {
            let message = stream.direct_get(last).await.ok()?;
            if message_id_of(&message) != Some(last_id.as_str()) {
                return None;
            }
        }
        Some(Appended { first, last, duplicate: true })
    }
}

fn message_id_of(message: &jetstream::message::StreamMessage) -> Option<&str> {
    message.headers.get(async_nats::header::NATS_MESSAGE_ID).map(|value| value.as_str())
}

/// The server's answer to one message of a batch: empty, an error, or the final ack.
#[derive(Debug, Default, Deserialize)]
struct BatchReply {
    #[serde(default)]
    error: Option<jetstream::Error>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    duplicate: bool,
    #[serde(default)]
    count: Option<u64>,
}

impl BatchReply {
    fn parse(payload: &Bytes) -> Result<Self, BoxError> {
        if payload.is_empty() {
            return Ok(BatchReply::default());
        }
        serde_json::from_slice(payload).map_err(|error| format!("unreadable batch reply: {error}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_wrong_last_sequence_answers_are_lost_races_and_nothing_else_is() {
        assert!(is_lost_race(ErrorCode::STREAM_WRONG_LAST_SEQUENCE));
        assert!(is_lost_race(ErrorCode(10164)));
        assert!(!is_lost_race(ATOMIC_BATCH_DUPLICATE_MESSAGE_ID));
        assert!(!is_lost_race(ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM));
    }
}
