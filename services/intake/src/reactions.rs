//! What intake does when events arrive: the automatic review of placed orders, and the
//! fulfilment facts dispatch and delivery report (pickup, each departure, each failed
//! attempt, the return to the sender, the handover), which set what the order still allows
//! (amendments, address changes, cancellation: `domain::Allowed`).
//!
//! The reviewer is a process manager on a durable consumer: every replica of intake shares
//! it, so each placement is reviewed once in effect. It is idempotent twice over: the
//! review command's request id is the placing event's id (a redelivery finds the answer it
//! already wrote), and reviewing an order that is no longer `Placed` decides nothing.

use waybill_command::CommandMeta;
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::envelope::{DecodeError, Envelope};
use waybill_proto::facts::delivery::{self, DeliveryFact};
use waybill_proto::facts::dispatch::{self, TaskFact};
use waybill_types::Actor;

use crate::codec;
use crate::commands::{CommandError, CommandRunner};
use crate::domain::{
    Command, CustomerStanding, DeliveryWindow, Event, FailedAttempt, OrderStatus, Rejection,
};

/// The durable consumer's name; shared by all replicas.
pub const AUTO_REVIEW_CONSUMER: &str = "intake-auto-review";

pub fn auto_review_settings() -> ReactionSettings {
    ReactionSettings::durable("intake", AUTO_REVIEW_CONSUMER, "waybill.intake.order.>")
}

/// Reviews an order that was just placed, or restored to `Placed`.
pub async fn auto_review(runner: CommandRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let decoded =
        codec::decode(&recorded.payload).map_err(|error| ReactionError::Poison(error.to_string()))?;
    let needs_review = match &decoded.event {
        Event::Placed { .. } => true,
        Event::Restored { restored_status } => *restored_status == OrderStatus::Placed,
        _ => false,
    };
    if !needs_review {
        return Ok(());
    }
    let order_id = decoded.order_id;
    // The reviewer and the read model follow the log independently; judge the customer's
    // standing on a model that has at least seen this event.
    runner
        .model
        .wait_for(recorded.position, runner.wait_timeout)
        .await
        .map_err(|error| ReactionError::Transient(error.to_string()))?;
    let standing = {
        let book = runner.model.read();
        match book.get(&order_id) {
            Some(record) if book.is_on_credit_hold(&record.order.details.customer_id) => {
                CustomerStanding::OnCreditHold
            }
            _ => CustomerStanding::Good,
        }
    };
    let meta = CommandMeta::reacting_to(&decoded.meta, Actor::service(AUTO_REVIEW_CONSUMER));
    match runner.run(order_id, &Command::ReviewAutomatically { standing }, &meta).await {
        Ok(outcome) => {
            tracing::info!(%order_id, status = outcome.state.status.as_str(), "order reviewed automatically");
            Ok(())
        }
        // Nothing to review any more (cancelled meanwhile, reviewed by hand, ...).
        Err(CommandError::Rejected(Rejection::InvalidState { .. })) => Ok(()),
        Err(CommandError::Rejected(rejection)) => Err(ReactionError::Poison(rejection.to_string())),
        Err(error) => Err(ReactionError::Transient(error.to_string())),
    }
}

/// The durable consumer of dispatch's and delivery's task events; shared by all replicas.
pub const FULFILMENT_CONSUMER: &str = "intake-fulfilment";

pub fn fulfilment_settings() -> ReactionSettings {
    // One filter for both services' task subjects: nats-server serves a consumer with
    // several filters ~5 times slower (3.9k against ~20k events/s here), which is what a
    // backlog after an outage drains at. Other events it matches are ignored below.
    ReactionSettings::durable("intake", FULFILMENT_CONSUMER, "waybill.*.task.>")
}

/// Records on the order what dispatch and delivery report: picked up, out for delivery (at
/// every departure), attempt failed (reason and next window), returned to sender, delivered. Facts arrive at least once and possibly out of order; the decider ignores
/// one the order already reflects. A fact that contradicts the order (a pickup of an order
/// cancelled meanwhile) goes to the dead-letter subject for a person to look at.
pub async fn record_fulfilment(runner: CommandRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let Some((envelope, command)) = fulfilment_fact(&recorded)? else { return Ok(()) };
    let poison = |error: DecodeError| ReactionError::Poison(format!("event {}: {error}", envelope.event_id));
    let order_id = envelope.order_id().map_err(poison)?;
    let cause = envelope.meta().map_err(poison)?;
    let meta = CommandMeta::reacting_to(&cause, Actor::service(FULFILMENT_CONSUMER));
    match runner.run(order_id, &command, &meta).await {
        Ok(outcome) => {
            tracing::info!(%order_id, status = outcome.state.status.as_str(), "fulfilment recorded");
            Ok(())
        }
        Err(CommandError::Rejected(rejection)) => Err(ReactionError::Poison(rejection.to_string())),
        Err(error) => Err(ReactionError::Transient(error.to_string())),
    }
}

/// The command a dispatch or delivery fact makes on the order, with the fact's envelope;
/// `None` for what the order does not record.
fn fulfilment_fact(recorded: &RecordedEvent) -> Result<Option<(Envelope<()>, Command)>, ReactionError> {
    let poison = |error: DecodeError| ReactionError::Poison(error.to_string());
    if recorded.subject.starts_with("waybill.dispatch.") {
        let Some(envelope) = dispatch::read(&recorded.payload).map_err(poison)? else { return Ok(None) };
        let source_event_id = envelope.event_id.clone();
        // A reverse shipment's task carries the order id too, but is not the order's pickup.
        let command = match envelope.event {
            TaskFact::PickedUp if envelope.is_about_the_order_itself() => {
                Command::RecordPickup { source_event_id }
            }
            _ => return Ok(None),
        };
        return Ok(Some((envelope.with_event(()), command)));
    }
    let Some(envelope) = delivery::read(&recorded.payload).map_err(poison)? else { return Ok(None) };
    let source_event_id = envelope.event_id.clone();
    let command = match &envelope.event {
        DeliveryFact::Started => Command::RecordOutForDelivery { source_event_id },
        DeliveryFact::AttemptFailed { attempt, reason, next_window } => {
            let attempt = FailedAttempt {
                attempt: *attempt,
                reason: codec::failure_from_wire(*reason).ok_or_else(|| {
                    ReactionError::Poison(format!("event {source_event_id}: unknown failure reason"))
                })?,
                next_window: next_window
                    .map(|window| DeliveryWindow { start: window.start, end: window.end }),
            };
            Command::RecordAttemptFailed { source_event_id, attempt }
        }
        DeliveryFact::ReturnedToSender { attempts } => {
            Command::RecordReturnedToSender { source_event_id, attempts: *attempts }
        }
        DeliveryFact::Completed { .. } => Command::RecordDelivery { source_event_id },
        DeliveryFact::ExceptionRaised { .. } | DeliveryFact::EtaPlanned { .. } => return Ok(None),
    };
    Ok(Some((envelope.with_event(()), command)))
}
