//! The way past an event a read model cannot apply, with the log left as it is.
//!
//! A read model that meets an event it cannot apply halts there (skipping it silently
//! would make replicas disagree). An operator who has looked at the event writes a
//! **waiver** for its position: an ordinary message on the same log, on
//! `waybill.ops.waiver.<position>`, naming who and why. A projection that cannot apply the
//! event at a waived position skips it, logs the waiver and counts it
//! (`waybill_projection_waived_total`): a halted one resumes on its own, a replica or a
//! rebuild that reaches the position later skips it the same way. An event a projection
//! *can* apply is applied whether waived or not, so every replica still ends in one state.
//! The waiver message is the audit trail; nothing is ever deleted.
//!
//! Writing one is the ops tooling's job (`waybill waive`); services only read them.

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use serde::{Deserialize, Serialize};

use crate::error::{AppendError, ReadError};
use crate::{EventLog, Position};

/// Subjects written by operators, not services: read models pass them by.
pub const OPS_SUBJECT_PREFIX: &str = "waybill.ops.";

/// The `ce-type` of a waiver message.
pub const WAIVER_EVENT_TYPE: &str = "waybill.ops.event_waived.v1";

/// Where the waiver of `position` is written: one subject per position, at most one
/// message on it.
pub fn waiver_subject(position: Position) -> String {
    format!("waybill.ops.waiver.{position}")
}

/// One operator's decision that the event at `position` is to be skipped by any read model
/// that cannot apply it. Stored as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub position: Position,
    /// Who decided: the operator's name or account.
    pub operator: String,
    /// Why: what the event is and why skipping it is right (an incident reference).
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WaiveError {
    #[error("there is no event at position {0}")]
    NoSuchEvent(Position),
    #[error("a waiver needs an operator and a reason (both non-blank, at most 256 characters)")]
    Incomplete,
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Append(#[from] AppendError),
}

impl EventLog {
    /// Writes the waiver of the event at `waiver.position`, once: a second call for the
    /// same position writes nothing and answers the waiver already there. Returns the
    /// waiver as stored and its own position on the log.
    pub async fn waive(&self, waiver: Waiver) -> Result<(Waiver, Position), WaiveError> {
        let filled = |text: &str| !text.trim().is_empty() && text.chars().count() <= 256;
        if !filled(&waiver.operator) || !filled(&waiver.reason) {
            return Err(WaiveError::Incomplete);
        }
        match self.get(waiver.position).await {
            Err(ReadError::NotFound { .. }) => return Err(WaiveError::NoSuchEvent(waiver.position)),
            other => other?,
        };
        let subject = waiver_subject(waiver.position);
        let mut headers = HeaderMap::new();
        headers.insert("ce-type", WAIVER_EVENT_TYPE);
        headers.insert("content-type", "application/json");
        // Only the first waiver of a position is stored; a retry or a second operator's
        // waiver meets the first.
        headers.insert(async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, "0");
        let payload = serde_json::to_vec(&waiver).map_err(|error| AppendError::Nats(error.into()))?;
        let sent = self
            .jetstream()
            .publish_with_headers(subject.clone(), headers, payload.into())
            .await
            .map_err(|error| AppendError::Nats(error.into()))?;
        match sent.await {
            Ok(ack) => Ok((waiver, ack.sequence)),
            Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {
                let existing = self.waiver(waiver.position).await?;
                let at = self.last_position_of(&subject).await?;
                Ok((existing.unwrap_or(waiver), at))
            }
            Err(error) => Err(AppendError::Nats(error.into()).into()),
        }
    }

    /// The waiver of the event at `position`, if an operator wrote one. Read raw (no
    /// admission: waivers are no service's events).
    pub async fn waiver(&self, position: Position) -> Result<Option<Waiver>, ReadError> {
        let at = self.last_position_of(&waiver_subject(position)).await?;
        if at == 0 {
            return Ok(None);
        }
        let stored = self.get(at).await?;
        // A message on the subject that is not a waiver of this position waives nothing.
        Ok(serde_json::from_slice::<Waiver>(&stored.payload)
            .ok()
            .filter(|waiver| waiver.position == position))
    }
}
