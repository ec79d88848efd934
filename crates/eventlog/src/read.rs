//! Point reads of the log: one aggregate's history, everything on the subjects a filter
//! matches (one order's story), one position, the head. All but `head`
//! use JetStream direct get (`allow_direct`), which any replica can answer.

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{DirectGetError, DirectGetErrorKind, LastRawMessageErrorKind};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::error::ReadError;
use crate::{EventLog, Position, subject};

/// An event as stored in the log.
#[derive(Clone, Debug)]
pub struct RecordedEvent {
    /// Its stream sequence.
    pub position: Position,
    pub subject: String,
    /// From the `ce-type` header; empty if absent.
    pub event_type: String,
    /// The encoded envelope, as appended.
    pub payload: Bytes,
    /// When the server stored it.
    pub published: DateTime<Utc>,
}

impl RecordedEvent {
    pub(crate) fn new(
        position: Position,
        subject: &str,
        headers: Option<&async_nats::HeaderMap>,
        payload: Bytes,
        published: async_nats::datetime::DateTime,
    ) -> Self {
        let event_type =
            headers.and_then(|headers| headers.get("ce-type")).map(|value| value.as_str().to_owned());
        RecordedEvent {
            position,
            subject: subject.to_owned(),
            event_type: event_type.unwrap_or_default(),
            payload,
            published: to_chrono(published),
        }
    }

    pub(crate) fn from_stream_message(message: StreamMessage) -> Self {
        RecordedEvent::new(
            message.sequence,
            message.subject.as_str(),
            Some(&message.headers),
            message.payload,
            message.time,
        )
    }
}

/// async-nats gives `time::OffsetDateTime` (its default datetime backend).
pub fn to_chrono(time: async_nats::datetime::DateTime) -> DateTime<Utc> {
    let nanos = i64::try_from(time.unix_timestamp_nanos()).unwrap_or(i64::MAX);
    DateTime::from_timestamp_nanos(nanos)
}

fn is_not_found(error: &DirectGetError) -> bool {
    matches!(error.kind(), DirectGetErrorKind::NotFound)
}

impl EventLog {
    /// One aggregate's history in order: every message on exactly `subject` the log's
    /// admission lets in ([`crate::admission`]). Empty if none.
    pub async fn read_subject(&self, subject: &str) -> Result<Vec<RecordedEvent>, ReadError> {
        subject::validate_subject(subject).map_err(|_| ReadError::InvalidSubject(subject.to_owned()))?;
        let last = self.last_position_of(subject).await?;
        self.read_admitted(subject, last).await
    }

    /// Every message on the subjects `filter` matches (`*` and a final `>` allowed), in log
    /// order, that the log's admission lets in: e.g. everything about one order
    /// ([`subject::order_filter`]), whichever aggregates and services wrote it. The server
    /// picks the messages (direct get of the next match), so the reader is sent only those.
    pub async fn read_matching(&self, filter: &str) -> Result<Vec<RecordedEvent>, ReadError> {
        subject::validate_filter(filter).map_err(|_| ReadError::InvalidSubject(filter.to_owned()))?;
        self.read_admitted(filter, Position::MAX).await
    }

    /// The messages on the subjects `filter` matches, in log order, up to position `last`,
    /// that the log's admission lets in (`Position::MAX`: to the end of the log).
    async fn read_admitted(&self, filter: &str, last: Position) -> Result<Vec<RecordedEvent>, ReadError> {
        let mut admitted = Vec::new();
        let mut from = 1;
        while from <= last {
            match self.stream().direct_get_next_for_subject(filter, Some(from)).await {
                Ok(message) => {
                    from = message.sequence + 1;
                    let event = RecordedEvent::from_stream_message(message);
                    if !crate::admission::refuses_quietly(self.admission.as_ref(), &event) {
                        admitted.push(event);
                    }
                }
                Err(error) if is_not_found(&error) => break,
                Err(error) => return Err(ReadError::Nats(error.into())),
            }
        }
        Ok(admitted)
    }

    /// Position of the last message on exactly `subject`, 0 if none, as the stream's
    /// leader has it. Commands decide whether their state is stale on this, so it is not
    /// a direct get: on a replicated stream any replica answers those, and a follower
    /// behind the leader said "nothing there" for an aggregate written a moment before.
    pub async fn last_position_of(&self, subject: &str) -> Result<Position, ReadError> {
        subject::validate_subject(subject).map_err(|_| ReadError::InvalidSubject(subject.to_owned()))?;
        match self.stream().get_last_raw_message_by_subject(subject).await {
            Ok(message) => Ok(message.sequence),
            Err(error) if matches!(error.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(0),
            Err(error) => Err(ReadError::Nats(error.into())),
        }
    }

    /// The message at `position`; [`ReadError::NotFound`] if there is none.
    pub async fn get(&self, position: Position) -> Result<RecordedEvent, ReadError> {
        if position == 0 {
            return Err(ReadError::NotFound { position });
        }
        match self.stream().direct_get(position).await {
            Ok(message) => Ok(RecordedEvent::from_stream_message(message)),
            Err(error) if is_not_found(&error) => Err(ReadError::NotFound { position }),
            Err(error) => Err(ReadError::Nats(error.into())),
        }
    }

    /// The stream's last position ("head"); 0 for an empty stream.
    pub async fn head(&self) -> Result<Position, ReadError> {
        let info = self.stream().get_info().await.map_err(|error| ReadError::Nats(error.into()))?;
        Ok(info.state.last_sequence)
    }
}
