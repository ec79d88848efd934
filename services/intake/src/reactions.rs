//! What intake does when events arrive: the automatic review of placed orders, and the
//! fulfilment facts dispatch and delivery report (pickup, each departure, each failed
//! attempt, the return to the sender, the handover), which set what the order still allows
//! (amendments, address changes, cancellation: `domain::Allowed`).
//!
//! The reviewer is a process manager on a durable consumer: every replica of intake shares
//! it, so each placement is reviewed once in effect. It is idempotent twice over: the
//! review command's request id is the placing event's id (a redelivery finds the answer it
//! already wrote), and reviewing an order that is no longer `Placed` decides nothing.

use prost::Message;
use waybill_command::CommandMeta;
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::v1::{self, delivery_event, dispatch_event, event_envelope::Payload};
use waybill_types::{Actor, OrderId};

use crate::codec;
use crate::commands::{CommandError, CommandRunner};
use crate::domain::{Command, CustomerStanding, Event, FailedAttempt, OrderStatus, Rejection};

/// The durable consumer's name; shared by all replicas.
pub const AUTO_REVIEW_CONSUMER: &str = "intake-auto-review";

pub fn auto_review_settings() -> ReactionSettings {
    ReactionSettings {
        durable_name: AUTO_REVIEW_CONSUMER.to_owned(),
        filters: vec!["waybill.intake.order.*".to_owned()],
        dead_letter_subject: format!("deadletter.intake.{AUTO_REVIEW_CONSUMER}"),
        ..ReactionSettings::default()
    }
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
    ReactionSettings {
        durable_name: FULFILMENT_CONSUMER.to_owned(),
        // One filter for both services' task subjects: nats-server serves a consumer with
        // several filters ~5 times slower (3.9k against ~20k events/s here), which is what a
        // backlog after an outage drains at. Other events it matches are ignored below.
        filters: vec!["waybill.*.task.*".to_owned()],
        dead_letter_subject: format!("deadletter.intake.{FULFILMENT_CONSUMER}"),
        ..ReactionSettings::default()
    }
}

/// Records on the order what dispatch and delivery report: picked up, out for delivery (at
/// every departure), attempt failed (reason and next window), returned to sender, delivered. Facts arrive at least once and possibly out of order; the decider ignores
/// one the order already reflects. A fact that contradicts the order (a pickup of an order
/// cancelled meanwhile) goes to the dead-letter subject for a person to look at.
pub async fn record_fulfilment(runner: CommandRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let envelope = v1::EventEnvelope::decode(recorded.payload.as_ref())
        .map_err(|error| ReactionError::Poison(format!("not a waybill envelope: {error}")))?;
    let source_event_id = envelope.event_id.clone();
    let command = match envelope.payload {
        // A reverse shipment's task carries the order id too, but is not the order's pickup.
        Some(Payload::Dispatch(v1::DispatchEvent {
            event: Some(dispatch_event::Event::TaskPickedUp(_)),
        })) if envelope.aggregate_id == envelope.order_id => Command::RecordPickup { source_event_id },
        Some(Payload::Delivery(v1::DeliveryEvent {
            event: Some(delivery_event::Event::DeliveryStarted(_)),
        })) => Command::RecordOutForDelivery { source_event_id },
        Some(Payload::Delivery(v1::DeliveryEvent {
            event: Some(delivery_event::Event::DeliveryAttemptFailed(failed)),
        })) => {
            let attempt = FailedAttempt {
                attempt: failed.attempt,
                reason: v1::FailureReason::try_from(failed.reason)
                    .ok()
                    .and_then(codec::failure_from_wire)
                    .ok_or_else(|| {
                        ReactionError::Poison(format!("event {source_event_id}: unknown failure reason"))
                    })?,
                next_window: codec::window_from_wire(failed.rescheduled_window.as_ref()),
            };
            Command::RecordAttemptFailed { source_event_id, attempt }
        }
        Some(Payload::Delivery(v1::DeliveryEvent {
            event: Some(delivery_event::Event::DeliveryReturnedToSender(returned)),
        })) => Command::RecordReturnedToSender { source_event_id, attempts: returned.attempts },
        Some(Payload::Delivery(v1::DeliveryEvent {
            event: Some(delivery_event::Event::DeliveryCompleted(_)),
        })) => Command::RecordDelivery { source_event_id },
        _ => return Ok(()),
    };
    let order_id = OrderId::parse(&envelope.order_id).map_err(|error| {
        ReactionError::Poison(format!("order id of event {}: {error}", envelope.event_id))
    })?;
    let cause = waybill_command::EventMeta {
        event_id: uuid::Uuid::parse_str(&envelope.event_id)
            .map_err(|_| ReactionError::Poison(format!("event id {:?} is not a UUID", envelope.event_id)))?,
        occurred_at: waybill_proto::convert::timestamp_from_wire(envelope.occurred_at.as_ref()),
        causation_id: envelope.causation_id,
        correlation_id: envelope.correlation_id,
        actor: Actor::service(FULFILMENT_CONSUMER),
    };
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
