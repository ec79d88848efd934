//! What dispatch does when intake's order events arrive: the `dispatch-orders` process
//! manager, on a durable consumer shared by every replica.
//!
//! - accepted, or restored to accepted → plan the order's task (again, if it was cancelled);
//! - cancelled → cancel the task (nothing if the order never got one);
//! - amended or redirected → replan it (new load, mode, destination) while before pickup.
//!
//! Idempotent twice over: the command's request id is the intake event's id (a
//! redelivered event finds the answer it already wrote), and the task's id is the order's
//! (planning an order that has a live task decides nothing). Intake's events are decoded
//! from the wire; dispatch does not depend on intake's crate.

use prost::Message;
use waybill_command::{CommandError, CommandMeta, EventMeta};
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::convert;
use waybill_proto::v1::{self, event_envelope::Payload, intake_event};
use waybill_types::{Actor, OrderId};

use crate::commands::TaskRunner;
use crate::domain::{Rejection, TaskCommand, TaskId};

/// The durable consumer's name; shared by all replicas (deploy/ allows exactly this one).
pub const ORDERS_CONSUMER: &str = "dispatch-orders";

pub fn orders_settings() -> ReactionSettings {
    ReactionSettings {
        durable_name: ORDERS_CONSUMER.to_owned(),
        filters: vec!["waybill.intake.order.*".to_owned()],
        dead_letter_subject: format!("deadletter.dispatch.{ORDERS_CONSUMER}"),
        ..ReactionSettings::default()
    }
}

enum Reaction {
    Plan,
    Replan,
    Cancel { reason: String },
}

/// Handles one of intake's order events (see the module docs).
pub async fn react_to_order(runner: TaskRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let envelope = v1::EventEnvelope::decode(recorded.payload.as_ref())
        .map_err(|error| ReactionError::Poison(format!("not a waybill envelope: {error}")))?;
    let Some(Payload::Intake(v1::IntakeEvent { event: Some(event) })) = &envelope.payload else {
        return Ok(());
    };
    use intake_event::Event as E;
    let reaction = match event {
        E::OrderAccepted(_) => Reaction::Plan,
        E::OrderRestored(restored) if restored.restored_status == v1::OrderStatus::Accepted as i32 => {
            Reaction::Plan
        }
        E::OrderCancelled(cancelled) => Reaction::Cancel { reason: cancelled.reason.clone() },
        E::OrderAmended(_) | E::ConsigneeAddressChanged(_) => Reaction::Replan,
        _ => return Ok(()),
    };
    let order_id = OrderId::parse(&envelope.order_id).map_err(|error| {
        ReactionError::Poison(format!("order id of event {}: {error}", envelope.event_id))
    })?;
    let cause = EventMeta {
        event_id: uuid::Uuid::parse_str(&envelope.event_id)
            .map_err(|_| ReactionError::Poison(format!("event id {:?} is not a UUID", envelope.event_id)))?,
        occurred_at: convert::timestamp_from_wire(envelope.occurred_at.as_ref()),
        causation_id: envelope.causation_id.clone(),
        correlation_id: envelope.correlation_id.clone(),
        actor: Actor::service(ORDERS_CONSUMER),
    };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(ORDERS_CONSUMER));
    let source_event_id = envelope.event_id.clone();
    let task_id = TaskId(order_id.0);
    let command = match reaction {
        Reaction::Cancel { reason } => TaskCommand::Cancel { reason, source_event_id },
        Reaction::Plan | Reaction::Replan => {
            // The reaction and the read model follow the log independently: plan on a model
            // that has at least seen this event (and so the order's placement).
            runner
                .model
                .wait_for(recorded.position, runner.wait_timeout)
                .await
                .map_err(|error| ReactionError::Transient(error.to_string()))?;
            let facts = runner.model.read().orders().get(&order_id).cloned().ok_or_else(|| {
                ReactionError::Poison(format!("order {order_id} is unknown: its placement is not on the log"))
            })?;
            match reaction {
                Reaction::Plan => TaskCommand::Plan { task_id, plan: facts.forward_plan(), source_event_id },
                _ => TaskCommand::Replan { update: facts.replan_update(), source_event_id },
            }
        }
    };
    match runner.run(task_id, &command, &meta).await {
        Ok(outcome) => {
            tracing::info!(%task_id, status = outcome.task.status.as_str(), event = %envelope.event_type, "order event handled");
            Ok(())
        }
        // Cancelled or amended before it was ever accepted: there is no task to change.
        Err(CommandError::Rejected(Rejection::TaskNotFound(_))) => Ok(()),
        // E.g. a cancellation that crossed the pickup: a person must look at it.
        Err(CommandError::Rejected(rejection)) => Err(ReactionError::Poison(rejection.to_string())),
        Err(error) => Err(ReactionError::Transient(error.to_string())),
    }
}
