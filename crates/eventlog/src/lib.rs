//! The event log on NATS JetStream: the one place where Waybill's facts are written and
//! read back. Services hand it opaque payloads (an encoded `waybill.v1.EventEnvelope`); it
//! never sees prost types.
//!
//! - [`EventLog::open`] finds the event and dead-letter streams with the safe settings and
//!   refuses a server older than 2.10 ([`stream`]); [`EventLog::connect`] does the same
//!   with patience, retrying transient failures, a stream not yet bootstrapped among them
//!   ([`retry`]). [`EventLog::bootstrap`] creates or updates the streams: the operator's
//!   job (`waybill bootstrap`), never a service's.
//! - [`EventLog::append`] writes one aggregate's events with optimistic concurrency and
//!   idempotency, plus CloudEvents `ce-*` headers and the W3C trace context ([`append`],
//!   [`trace`]).
//! - [`EventLog::read_subject`], [`EventLog::get`], [`EventLog::head`], ... read ([`read`]);
//!   [`EventLog::subscribe`] replays and follows ([`subscription`]).
//! - [`Projector`] keeps a read model and answers read-your-writes waits ([`projection`]);
//!   an event it cannot apply halts it until an operator waives it ([`waiver`]);
//!   [`run_reactions`] runs a durable consumer with retries and a dead-letter subject
//!   ([`reaction`]); an operator's redrive request makes it handle a dead letter's event
//!   again ([`redrive`]).
//!
//! # Differences from the first API sketch
//! - `AppendError::Conflict` also carries the `subject`; `AppendError` has `InvalidSubject`
//!   and `NoEvents` (an empty `events` slice is refused, not a silent no-op).
//! - `WaitError::Timeout` also carries the `wanted` position; `WaitError::Read` reports a
//!   log that could not be read while waiting.
//! - `ReactionSettings::backoff` is applied by the runner as the nak delay, not put in the
//!   consumer config: JetStream would then replace `ack_wait` with the first backoff step
//!   and redeliver slow handlers after 100 ms. The consumer has no `max_deliver` limit:
//!   only a handler's `Poison` verdict dead-letters; transient failures (and handlers
//!   abandoned after `handler_timeout`) retry without limit, and after `alert_after` deliveries
//!   are logged as errors and counted as `stuck`.
//! - Multi-event appends need server 2.12+ (atomic batch publish); on 2.10/2.11 they return
//!   `AppendError::Unsupported`.

pub mod admission;
pub mod append;
pub mod dead_letter;
pub mod error;
pub mod projection;
pub mod reaction;
pub mod read;
pub mod redrive;
pub mod retry;
pub mod stream;
pub mod subject;
pub mod subscription;
pub mod trace;
pub mod waiver;

use std::sync::Arc;
use std::time::Duration;

pub use admission::{Admission, Refusal, RefusalReason};
pub use append::{AggregateAppend, Appended, NewEvent};
pub use dead_letter::{DeadLetter, DeadLetterStream};
pub use error::{
    AppendError, BoxError, ProjectionError, ReactionError, ReactionRunError, ReadError, SetupError, WaitError,
};
pub use projection::{Projection, Projector};
pub use reaction::{ReactionSettings, run_reactions, spawn_reactions};
pub use read::RecordedEvent;
pub use redrive::{Redrive, RedriveError, redrive_subject};
pub use stream::StreamSettings;
pub use subscription::{Delivered, EventSubscription};
pub use waiver::{WaiveError, Waiver, waiver_subject};

/// A JetStream stream sequence; 0 means "nothing yet".
pub type Position = u64;

/// Oldest server whose JetStream features async-nats 0.51 relies on; older ones silently
/// ignore them (FIELD-NOTES).
const MIN_SERVER: (u64, u64) = (2, 10);
/// First server with atomic batch publish (ADR-50).
const ATOMIC_BATCH_SERVER: (u64, u64) = (2, 12);
/// How long `open` waits for a client that is still connecting.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// The event log. Cheap to clone: everything is behind an `Arc`.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
    /// Which stored events this handle's readers apply ([`admission`]); `None` reads all.
    admission: Option<Admission>,
}

struct Inner {
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    stream: async_nats::jetstream::stream::Stream,
    settings: StreamSettings,
    source: String,
    atomic_batches: bool,
    /// The highest position an append through this log (this process) was acknowledged at.
    last_appended: std::sync::atomic::AtomicU64,
}

impl EventLog {
    /// Creates both streams if missing, or updates them to the safe settings, and checks
    /// what the server kept: the operator's bootstrap, run as a NATS user allowed to manage
    /// streams (`ops`). Services never call it: their users may not.
    pub async fn bootstrap(client: &async_nats::Client, settings: &StreamSettings) -> Result<(), SetupError> {
        let atomic_batches = check_server(client).await?.1;
        let jetstream = async_nats::jetstream::new(client.clone());
        for wanted in settings.stream_configs(atomic_batches)? {
            stream::ensure_stream(&jetstream, wanted).await?;
        }
        Ok(())
    }

    /// Connects the log on `client`: checks the server version and that both streams exist
    /// with the safe settings (`SetupError::Missing` while they do not). `source` is the
    /// CloudEvents source of this process's events, e.g. `/waybill/intake`.
    pub async fn open(
        client: async_nats::Client,
        settings: StreamSettings,
        source: &str,
    ) -> Result<Self, SetupError> {
        let (version, atomic_batches) = check_server(&client).await?;
        let jetstream = async_nats::jetstream::new(client.clone());
        for wanted in settings.stream_configs(atomic_batches)? {
            stream::check_stream(&jetstream, wanted).await?;
        }
        let stream = jetstream.get_stream(&settings.name).await.map_err(|error| SetupError::Stream {
            stream: settings.name.clone(),
            action: "open",
            source: error.into(),
        })?;
        tracing::info!(stream = %settings.name, server = %version, atomic_batches, "event log open");
        Ok(EventLog {
            inner: Arc::new(Inner {
                client,
                jetstream,
                stream,
                settings,
                source: source.to_owned(),
                atomic_batches,
                last_appended: std::sync::atomic::AtomicU64::new(0),
            }),
            admission: None,
        })
    }

    /// [`EventLog::open`], retrying with backoff for as long as the failure is transient
    /// (NATS not up yet, restarting, electing a leader, the streams not bootstrapped yet):
    /// what a service does at start.
    pub async fn connect(
        client: async_nats::Client,
        settings: StreamSettings,
        source: &str,
    ) -> Result<Self, SetupError> {
        retry::until_done(
            "opening the event log",
            || EventLog::open(client.clone(), settings.clone(), source),
            SetupError::is_transient,
        )
        .await
    }

    /// The highest position this process's appends were acknowledged at (0 before the
    /// first): a read model that has applied it has seen every write this process made.
    pub fn last_appended(&self) -> Position {
        self.inner.last_appended.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The NATS client the log runs on.
    pub fn client(&self) -> &async_nats::Client {
        &self.inner.client
    }

    /// The settings the log was opened with.
    pub fn settings(&self) -> &StreamSettings {
        &self.inner.settings
    }

    /// True if multi-event appends are atomic (server 2.12+); otherwise they are refused.
    pub fn supports_atomic_batches(&self) -> bool {
        self.inner.atomic_batches
    }

    pub(crate) fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.inner.jetstream
    }

    pub(crate) fn stream(&self) -> &async_nats::jetstream::stream::Stream {
        &self.inner.stream
    }
}

/// The server's version, refused if too old, and whether it has atomic batches.
async fn check_server(client: &async_nats::Client) -> Result<(String, bool), SetupError> {
    let version = server_version(client).await?;
    let parsed =
        parse_version(&version).ok_or_else(|| SetupError::ServerTooOld { found: version.clone() })?;
    if parsed < MIN_SERVER {
        return Err(SetupError::ServerTooOld { found: version });
    }
    Ok((version, parsed >= ATOMIC_BATCH_SERVER))
}

/// The server's version; a client created with `retry_on_initial_connect` may still be
/// connecting, so wait a little for it.
async fn server_version(client: &async_nats::Client) -> Result<String, SetupError> {
    let started = tokio::time::Instant::now();
    loop {
        let version = client.server_info().version;
        if !version.is_empty() {
            return Ok(version);
        }
        if started.elapsed() > CONNECT_WAIT {
            return Err(SetupError::NotConnected { waited_ms: CONNECT_WAIT.as_millis() as u64 });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn parse_version(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_server_versions() {
        assert_eq!(super::parse_version("2.15.1"), Some((2, 15)));
        assert_eq!(super::parse_version("v2.9.10"), Some((2, 9)));
        assert_eq!(super::parse_version("2.12.0-RC.1"), Some((2, 12)));
        assert_eq!(super::parse_version("nonsense"), None);
    }
}
