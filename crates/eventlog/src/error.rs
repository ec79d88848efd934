//! Errors of the event log, one enum per operation, so a caller can `match` on what it can
//! act on: a lost race ([`AppendError::Conflict`]), a missing message ([`ReadError::NotFound`]),
//! a read model that is late ([`WaitError::Timeout`]) or dead ([`WaitError::Stopped`]).
//! Everything the caller cannot act on differently is carried as the NATS error it was.

use crate::Position;

/// Any error from the NATS client, kept as its source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Opening the log failed: the server is unsuitable or would not keep the safe settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("nats-server {found} is too old: waybill needs 2.10 or newer (run `make tools`)")]
    ServerTooOld { found: String },
    #[error("not connected to nats-server within {waited_ms} ms, cannot check its version")]
    NotConnected { waited_ms: u64 },
    /// The stream does not exist yet: the operator's bootstrap (`waybill bootstrap`)
    /// has not run. A service waits for it.
    #[error("stream {stream} does not exist yet: run `waybill bootstrap` as the ops user")]
    Missing { stream: String },
    #[error("invalid stream settings: {0}")]
    InvalidSettings(String),
    #[error("stream {stream}: the server did not keep {setting} (asked {asked}, got {got})")]
    NotKept { stream: String, setting: &'static str, asked: String, got: String },
    #[error("stream {stream}: {action} failed: {source}")]
    Stream {
        stream: String,
        action: &'static str,
        #[source]
        source: BoxError,
    },
}

impl SetupError {
    /// Whether trying again may work: the server was not reachable, slow, or without a
    /// JetStream leader for a moment. A server too old, or settings it refuses or does not
    /// keep, need a person.
    pub fn is_transient(&self) -> bool {
        match self {
            SetupError::NotConnected { .. } | SetupError::Missing { .. } => true,
            SetupError::Stream { source, .. } => is_transient_nats(source.as_ref()),
            SetupError::ServerTooOld { .. } | SetupError::InvalidSettings(_) | SetupError::NotKept { .. } => {
                false
            }
        }
    }
}

/// A NATS client error that a retry may cure: timeouts, lost connections and "JetStream
/// temporarily unavailable" (503, as during a leader election). A JetStream API error that
/// refuses the request (bad name, settings in conflict) is not.
pub(crate) fn is_transient_nats(error: &(dyn std::error::Error + 'static)) -> bool {
    use async_nats::jetstream::context::{
        CreateStreamError, CreateStreamErrorKind, GetStreamError, GetStreamErrorKind,
    };
    let refused = |error: &async_nats::jetstream::Error| !matches!(error.code(), 408 | 503);
    if let Some(error) = error.downcast_ref::<GetStreamError>() {
        return match error.kind() {
            // A stream just created (by this service or a replica starting beside it) is
            // briefly unknown to the other nodes of a cluster: look again.
            GetStreamErrorKind::JetStream(error)
                if error.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND =>
            {
                true
            }
            GetStreamErrorKind::JetStream(error) => !refused(&error),
            GetStreamErrorKind::EmptyName | GetStreamErrorKind::InvalidStreamName => false,
            GetStreamErrorKind::Request => true,
        };
    }
    if let Some(error) = error.downcast_ref::<CreateStreamError>() {
        return match error.kind() {
            CreateStreamErrorKind::JetStream(error) => !refused(&error),
            CreateStreamErrorKind::EmptyStreamName
            | CreateStreamErrorKind::InvalidStreamName
            | CreateStreamErrorKind::DomainAndExternalSet => false,
            _ => true,
        };
    }
    // Anything else from the client (requests, subscriptions) failed on the way, not on
    // what was asked.
    true
}

/// An append was refused or failed. Nothing was stored unless said otherwise.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The subject was not at the expected position: another writer got there first
    /// (JetStream error 10071). Re-read the aggregate, decide again, retry.
    #[error("subject {subject} is not at the expected position {expected}: lost a race")]
    Conflict { subject: String, expected: Position },
    /// An event (payload plus headers) is larger than the stream's max message size.
    #[error("event of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("invalid subject {0:?}: tokens must be non-empty without '.', '*', '>' or whitespace")]
    InvalidSubject(String),
    #[error("nothing to append")]
    NoEvents,
    /// A multi-event append on a server or stream without atomic batch publish.
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("nats: {0}")]
    Nats(#[source] BoxError),
}

/// Reading from the log failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no message at position {position}")]
    NotFound { position: Position },
    #[error("invalid subject or filter {0:?}")]
    InvalidSubject(String),
    #[error("nats: {0}")]
    Nats(#[source] BoxError),
}

impl ReadError {
    /// Whether trying again may work (the log was out of reach, not the request wrong).
    pub fn is_transient(&self) -> bool {
        matches!(self, ReadError::Nats(_))
    }
}

/// Waiting for a read model failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The model had not reached `wanted` in time; `applied` is how far it got.
    #[error("read model at position {applied} has not reached {wanted} in time")]
    Timeout { applied: Position, wanted: Position },
    /// The projection died (a poison event, or its subscription ended) and will not move.
    #[error("projection stopped: {0}")]
    Stopped(String),
    #[error("cannot read the log while waiting: {0}")]
    Read(#[from] ReadError),
}

/// A projection refused an event. Constructible from a `String` or `&str`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProjectionError(pub String);

impl From<String> for ProjectionError {
    fn from(message: String) -> Self {
        ProjectionError(message)
    }
}

impl From<&str> for ProjectionError {
    fn from(message: &str) -> Self {
        ProjectionError(message.to_owned())
    }
}

/// What a reaction handler reports when it could not handle an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReactionError {
    /// Might work later (a timeout, an unreachable log, a lost race): retried with backoff,
    /// without limit.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never work (undecodable, impossible): goes straight to the dead-letter subject.
    #[error("poison: {0}")]
    Poison(String),
}

/// The reaction runner could not run (its consumer could not be set up).
#[derive(Debug, thiserror::Error)]
pub enum ReactionRunError {
    #[error("invalid reaction settings: {0}")]
    InvalidSettings(String),
    #[error("consumer {durable}: the server did not keep {setting} (asked {asked}, got {got})")]
    NotKept { durable: String, setting: &'static str, asked: String, got: String },
    #[error("consumer {durable}: {action} failed: {source}")]
    Consumer {
        durable: String,
        action: &'static str,
        #[source]
        source: BoxError,
    },
}
