//! Delivery's facts about the last mile, as intake, after-sales and CRM read them.

use waybill_types::Timestamp;

use crate::convert;
use crate::envelope::{DecodeError, Envelope};
use crate::v1::{self, delivery_event::Event as Wire};

#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryFact {
    /// The courier left with the goods (at every departure).
    Started,
    /// `reason` is UNSPECIFIED for a number this build does not know.
    AttemptFailed {
        attempt: u32,
        reason: v1::FailureReason,
        next_window: Option<Window>,
    },
    ReturnedToSender {
        attempts: u32,
    },
    /// `delivered_at` is the proof's time (the envelope's, if the proof has none).
    Completed {
        delivered_at: Timestamp,
        on_time: bool,
        first_attempt: bool,
    },
    /// `kind` is UNSPECIFIED for a number this build does not know.
    ExceptionRaised {
        kind: v1::DeliveryExceptionKind,
        description: String,
    },
    /// The delivery's place on its courier's run for `date` (YYYY-MM-DD); `eta` `None`:
    /// taken off the run.
    EtaPlanned {
        courier_id: String,
        date: String,
        sequence: u32,
        eta: Option<Timestamp>,
    },
}

/// A promised window; only one with both ends is read as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// One of delivery's events, if it is one other services read.
pub fn read(payload: &[u8]) -> Result<Option<Envelope<DeliveryFact>>, DecodeError> {
    super::read(payload, |event: Wire, envelope| {
        Some(match event {
            Wire::DeliveryStarted(_) => DeliveryFact::Started,
            Wire::DeliveryAttemptFailed(failed) => DeliveryFact::AttemptFailed {
                attempt: failed.attempt,
                reason: v1::FailureReason::try_from(failed.reason).unwrap_or_default(),
                next_window: failed.rescheduled_window.as_ref().and_then(window),
            },
            Wire::DeliveryReturnedToSender(returned) => {
                DeliveryFact::ReturnedToSender { attempts: returned.attempts }
            }
            Wire::DeliveryCompleted(completed) => DeliveryFact::Completed {
                delivered_at: completed
                    .proof
                    .as_ref()
                    .and_then(|proof| proof.delivered_at.as_ref())
                    .map_or(envelope.occurred_at, |at| convert::timestamp_from_wire(Some(at))),
                on_time: completed.on_time,
                first_attempt: completed.first_attempt,
            },
            Wire::DeliveryExceptionRaised(raised) => DeliveryFact::ExceptionRaised {
                kind: v1::DeliveryExceptionKind::try_from(raised.kind).unwrap_or_default(),
                description: raised.description,
            },
            Wire::DeliveryEtaPlanned(planned) => DeliveryFact::EtaPlanned {
                courier_id: planned.courier_id,
                date: planned.date,
                sequence: planned.sequence,
                eta: planned.eta.as_ref().map(|eta| convert::timestamp_from_wire(Some(eta))),
            },
            _ => return None,
        })
    })
}

fn window(window: &v1::TimeWindow) -> Option<Window> {
    Some(Window {
        start: convert::timestamp_from_wire(Some(window.start.as_ref()?)),
        end: convert::timestamp_from_wire(Some(window.end.as_ref()?)),
    })
}
