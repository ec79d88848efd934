//! Reading the dead letters: the events reactions gave up on, as the operator's tools show
//! them (`waybill dead-letters`, the console's operations board).
//!
//! A dead letter is a copy of the event on `deadletter.<service>.<consumer>` in the
//! dead-letter stream, with the reaction's headers ([`ERROR_HEADER`],
//! [`ORIGINAL_SUBJECT_HEADER`], [`ORIGINAL_POSITION_HEADER`], [`DELIVERIES_HEADER`]; see
//! [`reaction`](crate::reaction)) and, when it was written while handling a redrive
//! request, [`REDRIVE_POSITION_HEADER`].

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use chrono::SecondsFormat;
use serde::Serialize;

use crate::error::ReadError;
use crate::reaction::{DELIVERIES_HEADER, ERROR_HEADER, ORIGINAL_POSITION_HEADER, ORIGINAL_SUBJECT_HEADER};
use crate::redrive::REDRIVE_POSITION_HEADER;
use crate::{EventLog, Position, StreamSettings};

/// One dead letter.
#[derive(Clone, Debug, Serialize)]
pub struct DeadLetter {
    /// Its position in the dead-letter stream: what `show` and `redrive` take.
    pub seq: u64,
    /// `deadletter.<service>.<consumer>`.
    pub subject: String,
    pub service: String,
    pub consumer: String,
    /// When it was stored, RFC 3339 in UTC to the millisecond.
    pub stored_at: String,
    pub error: String,
    pub original_subject: String,
    pub original_position: Position,
    pub deliveries: String,
    /// Set when the letter was written while handling a redrive request (at that position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_position: Option<Position>,
    #[serde(skip)]
    message: Option<StreamMessage>,
}

impl DeadLetter {
    fn from_message(message: StreamMessage) -> DeadLetter {
        let header =
            |name: &str| message.headers.get(name).map(|value| value.as_str().to_owned()).unwrap_or_default();
        let mut tokens = message.subject.split('.').skip(1);
        let service = tokens.next().unwrap_or_default().to_owned();
        let consumer = tokens.next().unwrap_or_default().to_owned();
        let stored_at = crate::read::to_chrono(message.time).to_rfc3339_opts(SecondsFormat::Millis, true);
        DeadLetter {
            seq: message.sequence,
            subject: message.subject.to_string(),
            service,
            consumer,
            stored_at,
            error: header(ERROR_HEADER),
            original_subject: header(ORIGINAL_SUBJECT_HEADER),
            original_position: header(ORIGINAL_POSITION_HEADER).parse().unwrap_or(0),
            deliveries: header(DELIVERIES_HEADER),
            redrive_position: header(REDRIVE_POSITION_HEADER).parse().ok(),
            message: Some(message),
        }
    }

    /// The stored message: every header and the original event's payload.
    pub fn message(&self) -> Option<&StreamMessage> {
        self.message.as_ref()
    }
}

/// The dead-letter stream alone, for a reader that may touch nothing else: the console's
/// NATS user may only ask for this stream's info and direct gets on it (crates/ops
/// users.rs), so opening it needs no event stream and no server check.
#[derive(Clone, Debug)]
pub struct DeadLetterStream {
    stream: Stream,
}

impl DeadLetterStream {
    /// The dead-letter stream of `settings`, as `client`'s user sees it.
    pub async fn open(client: async_nats::Client, settings: &StreamSettings) -> Result<Self, ReadError> {
        let jetstream = async_nats::jetstream::new(client);
        let stream = jetstream
            .get_stream(&settings.dead_letter_stream)
            .await
            .map_err(|error| ReadError::Nats(Box::new(error)))?;
        Ok(DeadLetterStream { stream })
    }

    /// Every dead letter, oldest first; only `consumer`'s if given.
    pub async fn list(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, ReadError> {
        let filter = match consumer {
            Some(consumer) => format!("deadletter.*.{consumer}"),
            None => crate::stream::DEAD_LETTER_SUBJECTS.to_owned(),
        };
        let mut letters = Vec::new();
        let mut from = 1;
        loop {
            match self.stream.direct_get_next_for_subject(filter.as_str(), Some(from)).await {
                Ok(message) => {
                    from = message.sequence + 1;
                    letters.push(DeadLetter::from_message(message));
                }
                Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => break,
                Err(error) => return Err(ReadError::Nats(Box::new(error))),
            }
        }
        Ok(letters)
    }
}

impl EventLog {
    async fn dead_letter_stream(&self) -> Result<Stream, ReadError> {
        let name = &self.settings().dead_letter_stream;
        self.jetstream().get_stream(name).await.map_err(|error| ReadError::Nats(Box::new(error)))
    }

    /// Every dead letter, oldest first; only `consumer`'s if given.
    pub async fn dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, ReadError> {
        DeadLetterStream { stream: self.dead_letter_stream().await? }.list(consumer).await
    }

    /// The dead letter at `seq` of the dead-letter stream; `None` if there is none.
    pub async fn dead_letter(&self, seq: u64) -> Result<Option<DeadLetter>, ReadError> {
        if seq == 0 {
            return Ok(None);
        }
        let stream = self.dead_letter_stream().await?;
        match stream.direct_get(seq).await {
            Ok(message) => Ok(Some(DeadLetter::from_message(message))),
            Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => Ok(None),
            Err(error) => Err(ReadError::Nats(Box::new(error))),
        }
    }

    /// The latest dead letter on `subject` (`deadletter.<service>.<consumer>`), if any.
    pub async fn last_dead_letter(&self, subject: &str) -> Result<Option<DeadLetter>, ReadError> {
        let stream = self.dead_letter_stream().await?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Some(DeadLetter::from_message(message))),
            Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => Ok(None),
            Err(error) => Err(ReadError::Nats(Box::new(error))),
        }
    }
}
