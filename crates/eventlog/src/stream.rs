//! The two JetStream streams behind the log and the settings that keep it safe (see
//! DESIGN.md, "JetStream settings that keep the log safe"): file storage, limits retention
//! without expiry, `discard: new`, no deletes or purges, a duplicate window for idempotency
//! and a bounded message size.
//!
//! Two roles, two functions, each run on both [`StreamSettings::stream_configs`]. The
//! operator's bootstrap ([`ensure_stream`], run by `waybill bootstrap` as the `ops` NATS
//! user) creates the streams if missing and updates them if different. A service only
//! looks them up ([`check_stream`]): its NATS user may not create, update, delete or purge
//! a stream (docs/NATS-SECURITY.md), so a stream that is missing is a state to wait out,
//! and one whose safety settings differ a refusal to start.
//! Both read the settings back: an older or differently configured server that silently
//! dropped a setting must stop the process at start, not corrupt the log later.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    context::GetStreamErrorKind,
    stream::{Config, DiscardPolicy, RetentionPolicy, StorageType},
};

use crate::error::SetupError;

/// Stream settings; a plain struct with `Default` (async-nats style):
/// `StreamSettings { replicas: 3, ..Default::default() }`.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSettings {
    /// Event stream name. Default `WAYBILL`.
    pub name: String,
    /// Subjects of the event stream. Default `["waybill.>"]`.
    pub subjects: Vec<String>,
    /// Replicas of both streams: 1 in development, 3 in production.
    pub replicas: usize,
    /// How long a `Nats-Msg-Id` is remembered for idempotency. Default 30 minutes.
    pub duplicate_window: Duration,
    /// Largest event (payload plus headers) in bytes. Default 64 KiB.
    pub max_message_size: i32,
    /// Dead-letter stream name (subjects `deadletter.>`). Default `WAYBILL_DEADLETTER`.
    /// Same safety settings as the event stream except that it may be purged, and its
    /// messages may be twice as large (a dead letter is an event plus error headers).
    pub dead_letter_stream: String,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            name: "WAYBILL".to_owned(),
            subjects: vec!["waybill.>".to_owned()],
            replicas: 1,
            duplicate_window: Duration::from_secs(30 * 60),
            max_message_size: 64 * 1024,
            dead_letter_stream: "WAYBILL_DEADLETTER".to_owned(),
        }
    }
}

/// Subjects of the dead-letter stream.
pub const DEAD_LETTER_SUBJECTS: &str = "deadletter.>";

impl StreamSettings {
    fn check(&self) -> Result<(), SetupError> {
        let invalid = |message: &str| Err(SetupError::InvalidSettings(message.to_owned()));
        if self.name.is_empty() || self.dead_letter_stream.is_empty() || self.name == self.dead_letter_stream
        {
            return invalid("stream names must be non-empty and different");
        }
        if self.subjects.is_empty() {
            return invalid("the event stream needs at least one subject");
        }
        if self.replicas == 0 || self.max_message_size <= 0 || self.duplicate_window.is_zero() {
            return invalid("replicas, max_message_size and duplicate_window must be positive");
        }
        Ok(())
    }

    /// Both streams' configs, the event stream's first, once the settings are checked.
    /// `atomic_batches` needs server 2.12+.
    pub(crate) fn stream_configs(&self, atomic_batches: bool) -> Result<[Config; 2], SetupError> {
        self.check()?;
        Ok([self.event_stream_config(atomic_batches), self.dead_letter_stream_config()])
    }

    fn event_stream_config(&self, atomic_batches: bool) -> Config {
        Config {
            name: self.name.clone(),
            subjects: self.subjects.clone(),
            allow_atomic_publish: atomic_batches,
            ..self.safe_config()
        }
    }

    fn dead_letter_stream_config(&self) -> Config {
        Config {
            name: self.dead_letter_stream.clone(),
            subjects: vec![DEAD_LETTER_SUBJECTS.to_owned()],
            deny_purge: false,
            max_message_size: self.max_message_size.saturating_mul(2),
            ..self.safe_config()
        }
    }

    fn safe_config(&self) -> Config {
        Config {
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::New,
            max_age: Duration::ZERO,
            max_bytes: -1,
            max_messages: -1,
            max_messages_per_subject: -1,
            deny_delete: true,
            deny_purge: true,
            allow_rollup: false,
            allow_direct: true,
            duplicate_window: self.duplicate_window,
            max_message_size: self.max_message_size,
            num_replicas: self.replicas,
            ..Default::default()
        }
    }
}

/// Creates the stream if missing, updates it if it differs, then checks what the server kept.
pub(crate) async fn ensure_stream(jetstream: &jetstream::Context, wanted: Config) -> Result<(), SetupError> {
    let stream_error = |action: &'static str, source: Box<dyn std::error::Error + Send + Sync>| {
        SetupError::Stream { stream: wanted.name.clone(), action, source }
    };
    match jetstream.get_stream(&wanted.name).await {
        Ok(stream) => {
            if !same_safety(&wanted, &stream.cached_info().config) {
                tracing::warn!(stream = %wanted.name, "stream settings differ from the safe ones, updating");
                jetstream
                    .update_stream(&wanted)
                    .await
                    .map_err(|error| stream_error("update", error.into()))?;
            }
        }
        Err(error) if is_stream_not_found(&error.kind()) => {
            tracing::info!(stream = %wanted.name, "creating stream");
            jetstream
                .create_stream(wanted.clone())
                .await
                .map_err(|error| stream_error("create", error.into()))?;
        }
        Err(error) => return Err(stream_error("look up", error.into())),
    }
    let stream =
        jetstream.get_stream(&wanted.name).await.map_err(|error| stream_error("read back", error.into()))?;
    check_kept(&wanted, &stream.cached_info().config)
}

fn is_stream_not_found(kind: &GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(error) if error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND)
}

fn same_safety(wanted: &Config, actual: &Config) -> bool {
    check_kept(wanted, actual).is_ok()
        && wanted.subjects == actual.subjects
        && wanted.num_replicas == actual.num_replicas
}

/// Fails with the first setting the server did not keep.
fn check_kept(wanted: &Config, actual: &Config) -> Result<(), SetupError> {
    let not_kept = |setting: &'static str, asked: String, got: String| {
        Err(SetupError::NotKept { stream: wanted.name.clone(), setting, asked, got })
    };
    macro_rules! same {
        ($setting:literal, $field:ident) => {
            if wanted.$field != actual.$field {
                return not_kept($setting, format!("{:?}", wanted.$field), format!("{:?}", actual.$field));
            }
        };
    }
    same!("storage", storage);
    same!("retention", retention);
    same!("discard", discard);
    same!("deny_delete", deny_delete);
    same!("deny_purge", deny_purge);
    same!("allow_rollup", allow_rollup);
    same!("allow_direct", allow_direct);
    same!("duplicate_window", duplicate_window);
    same!("max_message_size", max_message_size);
    same!("max_age", max_age);
    same!("allow_atomic_publish", allow_atomic_publish);
    // The server stores "unlimited" as -1; 0 means the same to it.
    for (setting, value) in [
        ("max_bytes", actual.max_bytes),
        ("max_messages", actual.max_messages),
        ("max_messages_per_subject", actual.max_messages_per_subject),
    ] {
        if value > 0 {
            return not_kept(setting, "unlimited".to_owned(), value.to_string());
        }
    }
    Ok(())
}

/// Looks a stream up and checks it has the safe settings and the subjects asked for; the
/// replica count is the operator's to choose and is not checked.
pub(crate) async fn check_stream(jetstream: &jetstream::Context, wanted: Config) -> Result<(), SetupError> {
    let stream = match jetstream.get_stream(&wanted.name).await {
        Ok(stream) => stream,
        Err(error) if is_stream_not_found(&error.kind()) => {
            return Err(SetupError::Missing { stream: wanted.name.clone() });
        }
        Err(error) => {
            return Err(SetupError::Stream {
                stream: wanted.name.clone(),
                action: "look up",
                source: error.into(),
            });
        }
    };
    let actual = &stream.cached_info().config;
    if wanted.subjects != actual.subjects {
        return Err(SetupError::NotKept {
            stream: wanted.name.clone(),
            setting: "subjects",
            asked: format!("{:?}", wanted.subjects),
            got: format!("{:?}", actual.subjects),
        });
    }
    check_kept(&wanted, actual)
}
