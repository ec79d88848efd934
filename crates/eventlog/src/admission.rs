//! Admission: which stored events a service lets into its read model and its reactions.
//!
//! The log stores whatever a publisher with the right to a subject wrote; a service must
//! not believe an envelope over the subject it was stored on (issue 11: an intake event on
//! one order's subject naming another order changed that other order). What "owned" means
//! needs the envelope, which this crate never decodes, so the rule is a plain function the
//! service's host hands in ([`EventLog::admitting`]; `waybill_proto::ownership` has
//! Waybill's), and every read path of a service goes through it here, once:
//!
//! - the read model ([`crate::Projector`]) skips a refused event, advances its position past
//!   it and goes on: a refusal is not a halt (a halt is for an event the service cannot
//!   understand at all);
//! - reactions ([`crate::run_reactions`]) ack a refused event without handling it;
//! - one aggregate's history ([`EventLog::read_subject`]) leaves it out, so a command and
//!   a timeline fold exactly what the read model folded.
//!
//! The rule depends only on the stored message (subject and bytes), so every replica, and
//! every rebuild, refuses the same events. The read model and the reactions log each
//! refusal (warn, with subject, position and reason) and count it in
//! `waybill_events_rejected_total{service, reason, reader}`; history reads leave them out
//! quietly, since the read model has already reported them.

use crate::read::RecordedEvent;
use crate::{EventLog, Position};

/// The rule: `Ok` to apply the event, or why not.
pub type Check = fn(&RecordedEvent) -> Result<(), Refusal>;

/// The rule a service reads the log under, and the service's name for the log lines and
/// the metric.
#[derive(Clone, Copy, Debug)]
pub struct Admission {
    pub service: &'static str,
    pub check: Check,
}

/// Why an event is refused: the metric's `reason` label, and the detail for the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Refusal {
    pub reason: RefusalReason,
    pub detail: String,
}

impl Refusal {
    pub fn new(reason: RefusalReason, detail: impl Into<String>) -> Self {
        Refusal { reason, detail: detail.into() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// The subject is not `waybill.<service>.<aggregate type>.<aggregate id>`.
    MalformedSubject,
    /// The event belongs to a service other than the one the subject is under.
    NotOwner,
    /// The envelope names an aggregate other than the subject's.
    AggregateMismatch,
    /// The envelope names an order other than the one the subject's aggregate is.
    OrderMismatch,
}

impl RefusalReason {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::MalformedSubject => "malformed_subject",
            RefusalReason::NotOwner => "not_owner",
            RefusalReason::AggregateMismatch => "aggregate_mismatch",
            RefusalReason::OrderMismatch => "order_mismatch",
        }
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EventLog {
    /// The same log, read under `admission` from now on (by this handle and its clones).
    pub fn admitting(mut self, admission: Admission) -> Self {
        self.admission = Some(admission);
        self
    }

    /// The rule this log is read under, if any.
    pub fn admission(&self) -> Option<Admission> {
        self.admission
    }
}

/// Whether `reader` (e.g. `read model`, a consumer's name) must skip `event`; logs and counts
/// a refusal.
pub(crate) fn refuses(admission: Option<&Admission>, event: &RecordedEvent, reader: &str) -> bool {
    let Some(admission) = admission else { return false };
    let Err(refusal) = (admission.check)(event) else { return false };
    report(admission.service, event.position, &event.subject, &refusal, reader);
    true
}

/// Whether `event` is refused, without a word: for reads whose refusals the read model
/// has already reported.
pub(crate) fn refuses_quietly(admission: Option<&Admission>, event: &RecordedEvent) -> bool {
    admission.is_some_and(|admission| (admission.check)(event).is_err())
}

fn report(service: &'static str, position: Position, subject: &str, refusal: &Refusal, reader: &str) {
    tracing::warn!(
        service,
        reader,
        position,
        subject,
        reason = refusal.reason.as_str(),
        detail = %refusal.detail,
        "event refused: not applied"
    );
    metrics::counter!(
        "waybill_events_rejected_total",
        "service" => service,
        "reason" => refusal.reason.as_str(),
        "reader" => reader.to_owned()
    )
    .increment(1);
}
