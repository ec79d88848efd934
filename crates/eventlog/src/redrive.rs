//! Re-driving a dead letter: an operator's request that one reaction handle one event again.
//!
//! A reaction dead-letters an event it judged poison (a command the domain rejected, an
//! event it could not read) and goes on. Once the cause is fixed (the missing order placed,
//! a new build deployed), an operator asks for the event to be handled again by writing a
//! **redrive request** on the log, on `waybill.ops.redrive.<consumer>.<position>` (who,
//! why, which dead letter). The consumer's own durable also follows its redrive subjects
//! ([`redrive_filter`]), so whichever replica pulls the request reads the original event
//! at `position` and runs the same handler on it, under the same admission, as if it had
//! just arrived; if it is poison again it is dead-lettered again, with
//! [`REDRIVE_POSITION_HEADER`] naming the request.
//!
//! Exactly once comes from the handlers, not from here: a reaction's commands carry the
//! causing event's id as their request id, and the command runner's causation index
//! answers a request it has already applied with the first answer. So the first redrive
//! after the fix applies the event, and a second redrive of the same letter (or a redrive
//! racing a redelivery) writes nothing new. Every request stays on the log: the audit
//! trail of who re-drove what, and why. Read models pass `waybill.ops.` subjects by.
//!
//! Writing a request is the operator's tool's job (`waybill dead-letters redrive`).

use async_nats::HeaderMap;
use async_nats::jetstream::Message;
use serde::{Deserialize, Serialize};

use crate::error::{AppendError, ReactionError, ReadError};
use crate::reaction::{ORIGINAL_POSITION_HEADER, ORIGINAL_SUBJECT_HEADER, ReactionSettings};
use crate::read::RecordedEvent;
use crate::{EventLog, Position, subject};

/// Where redrive requests are written: `waybill.ops.redrive.<consumer>.<position>`.
pub const REDRIVE_SUBJECT_PREFIX: &str = "waybill.ops.redrive.";

/// The `ce-type` of a redrive request.
pub const REDRIVE_EVENT_TYPE: &str = "waybill.ops.redrive_requested.v1";

/// On a dead letter written while handling a redrive request: the request's position.
pub const REDRIVE_POSITION_HEADER: &str = "waybill-redrive-position";

/// The subject of requests to re-drive the event at `position` through `consumer`.
pub fn redrive_subject(consumer: &str, position: Position) -> String {
    format!("{REDRIVE_SUBJECT_PREFIX}{consumer}.{position}")
}

/// What a durable consumer follows besides its own filters: its redrive requests.
pub fn redrive_filter(consumer: &str) -> String {
    format!("{REDRIVE_SUBJECT_PREFIX}{consumer}.*")
}

/// One operator's request that `consumer` handle the event at `position` again. Stored as
/// JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redrive {
    /// The durable consumer that dead-lettered the event (`delivery-arrivals`).
    pub consumer: String,
    /// The original event's position in the event stream.
    pub position: Position,
    /// The dead letter being re-driven, its position in the dead-letter stream.
    pub dead_letter: Position,
    /// Who asks: the operator's name or account.
    pub operator: String,
    /// Why now: what was fixed (an incident reference).
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("there is no event at position {0}")]
    NoSuchEvent(Position),
    #[error("a redrive needs an operator and a reason (both non-blank, at most 256 characters)")]
    Incomplete,
    #[error("{0:?} is not a consumer name")]
    InvalidConsumer(String),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Append(#[from] AppendError),
}

impl EventLog {
    /// Writes a redrive request and returns its position. Each request is its own record
    /// (a redrive attempted before the fix may be followed by one after it); the effect is
    /// applied once, see the module docs.
    pub async fn request_redrive(&self, redrive: &Redrive) -> Result<Position, RedriveError> {
        let filled = |text: &str| !text.trim().is_empty() && text.chars().count() <= 256;
        if !filled(&redrive.operator) || !filled(&redrive.reason) {
            return Err(RedriveError::Incomplete);
        }
        if subject::validate_token(&redrive.consumer).is_err() {
            return Err(RedriveError::InvalidConsumer(redrive.consumer.clone()));
        }
        let original = match self.get(redrive.position).await {
            Err(ReadError::NotFound { .. }) => return Err(RedriveError::NoSuchEvent(redrive.position)),
            other => other?,
        };
        let mut headers = HeaderMap::new();
        headers.insert("ce-type", REDRIVE_EVENT_TYPE);
        headers.insert("content-type", "application/json");
        // The runner puts the request in the original aggregate's lane.
        headers.insert(ORIGINAL_SUBJECT_HEADER, original.subject.as_str());
        headers.insert(ORIGINAL_POSITION_HEADER, redrive.position.to_string().as_str());
        let payload = serde_json::to_vec(redrive).map_err(|error| AppendError::Nats(error.into()))?;
        let sent = self
            .jetstream()
            .publish_with_headers(
                redrive_subject(&redrive.consumer, redrive.position),
                headers,
                payload.into(),
            )
            .await
            .map_err(|error| AppendError::Nats(error.into()))?;
        let ack = sent.await.map_err(|error| AppendError::Nats(error.into()))?;
        Ok(ack.sequence)
    }

    /// Every redrive request of the event at `position` through `consumer`, oldest first,
    /// with its own position.
    pub async fn redrives(
        &self,
        consumer: &str,
        position: Position,
    ) -> Result<Vec<(Position, Redrive)>, ReadError> {
        let history = self.read_subject(&redrive_subject(consumer, position)).await?;
        Ok(history
            .into_iter()
            .filter_map(|stored| {
                let redrive = serde_json::from_slice::<Redrive>(&stored.payload).ok()?;
                (redrive.consumer == consumer && redrive.position == position)
                    .then_some((stored.position, redrive))
            })
            .collect())
    }
}

/// The event a redrive request delivered to `settings`' consumer asks to handle again, with
/// its stored headers; `Ok(None)` for a request this consumer must not act on (malformed,
/// another consumer's, or an event outside its filters: acked and logged). Reading the
/// log failing is transient.
pub(crate) async fn resolve(
    log: &EventLog,
    settings: &ReactionSettings,
    message: &Message,
) -> Result<Option<(RecordedEvent, HeaderMap)>, ReactionError> {
    let durable = settings.durable_name.as_str();
    let Ok(redrive) = serde_json::from_slice::<Redrive>(&message.payload) else {
        tracing::warn!(durable, subject = %message.subject, "a redrive request that is not one; ignored");
        return Ok(None);
    };
    if redrive.consumer != durable || message.subject.as_str() != redrive_subject(durable, redrive.position) {
        tracing::warn!(durable, subject = %message.subject, "a redrive request for another consumer; ignored");
        return Ok(None);
    }
    let stored = match log.stream().direct_get(redrive.position).await {
        Ok(stored) => stored,
        Err(error) if matches!(error.kind(), async_nats::jetstream::stream::DirectGetErrorKind::NotFound) => {
            tracing::warn!(
                durable,
                position = redrive.position,
                "a redrive of an event that is not on the log; ignored"
            );
            return Ok(None);
        }
        Err(error) => return Err(ReactionError::Transient(format!("reading the re-driven event: {error}"))),
    };
    let followed = settings
        .filters
        .iter()
        .filter_map(|filter| subject::Filter::parse(filter).ok())
        .any(|filter| filter.matches(stored.subject.as_str()));
    if !followed {
        tracing::warn!(durable, position = redrive.position, subject = %stored.subject, "a redrive of an event this consumer does not follow; ignored");
        return Ok(None);
    }
    tracing::info!(durable, position = redrive.position, operator = %redrive.operator, reason = %redrive.reason, "re-driving an event");
    let headers = stored.headers.clone();
    Ok(Some((RecordedEvent::from_stream_message(stored), headers)))
}
