//! What dispatch does when other services' events arrive, on durable consumers shared by
//! every replica.
//!
//! `dispatch-orders` (intake's order events):
//! - accepted, or restored to accepted → plan the order's task (again, if it was cancelled);
//! - cancelled → cancel the task (nothing if the order never got one);
//! - amended or redirected → replan it (new load, mode, destination) while before pickup.
//!
//! `dispatch-returns` (after-sales' return events): a return's pickup was requested → plan
//! a reverse task whose id is the return's, exactly as `RequestReverseShipment` does.
//!
//! Idempotent twice over: the command's request id is the causing event's id (a
//! redelivered event finds the answer it already wrote), and the task's id is the order's
//! or the return's (planning it again decides nothing or is refused as existing). Other
//! services' events are decoded from the wire; dispatch depends on none of their crates.

use waybill_command::{CommandError, CommandMeta};
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::DecodeError;
use waybill_proto::facts::aftersales::{self, CaseFact};
use waybill_proto::facts::intake::{self, OrderFact};
use waybill_proto::v1;
use waybill_types::{Actor, OrderId};

use crate::commands::{TaskRunner, run_task};
use crate::domain::{Load, Rejection, TaskCommand, TaskId};
use crate::order_facts::OrderFacts;

/// The durable consumer's name; shared by all replicas (deploy/ allows exactly this one).
pub const ORDERS_CONSUMER: &str = "dispatch-orders";

pub fn orders_settings() -> ReactionSettings {
    ReactionSettings::durable("dispatch", ORDERS_CONSUMER, "waybill.intake.order.>")
}

/// The durable consumer of after-sales' return events (deploy/ must allow this one too).
pub const RETURNS_CONSUMER: &str = "dispatch-returns";

pub fn returns_settings() -> ReactionSettings {
    ReactionSettings::durable("dispatch", RETURNS_CONSUMER, "waybill.aftersales.return.>")
}

enum Reaction {
    Plan,
    Replan,
    Cancel { reason: String },
}

/// The order's facts once the read model has seen `recorded`: the reaction and the read
/// model follow the log independently, and a task is planned on a model that has at least
/// seen the event it reacts to (and so, before it, the order's placement).
async fn order_facts_seen_by(
    runner: &TaskRunner,
    recorded: &RecordedEvent,
    order_id: OrderId,
) -> Result<OrderFacts, ReactionError> {
    runner
        .model
        .wait_for(recorded.position, runner.wait_timeout)
        .await
        .map_err(|error| ReactionError::Transient(error.to_string()))?;
    runner.model.read().orders().get(&order_id).cloned().ok_or_else(|| {
        ReactionError::Poison(format!("order {order_id} is unknown: its placement is not on the log"))
    })
}

/// Handles one of intake's order events (see the module docs).
pub async fn react_to_order(runner: TaskRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let envelope =
        intake::read(&recorded.payload).map_err(|error| ReactionError::Poison(error.to_string()))?;
    let Some(envelope) = envelope else { return Ok(()) };
    let reaction = match &envelope.event {
        OrderFact::Accepted => Reaction::Plan,
        OrderFact::Restored { status: v1::OrderStatus::Accepted } => Reaction::Plan,
        OrderFact::Cancelled { reason } => Reaction::Cancel { reason: reason.clone() },
        OrderFact::Amended { .. } | OrderFact::ConsigneeAddressChanged { .. } => Reaction::Replan,
        _ => return Ok(()),
    };
    let poison = |error: DecodeError| ReactionError::Poison(format!("event {}: {error}", envelope.event_id));
    let order_id = envelope.order_id().map_err(poison)?;
    let cause = envelope.meta().map_err(poison)?;
    let meta = CommandMeta::reacting_to(&cause, Actor::service(ORDERS_CONSUMER));
    let source_event_id = envelope.event_id.clone();
    let task_id = TaskId(order_id.0);
    let command = match reaction {
        Reaction::Cancel { reason } => TaskCommand::Cancel { reason, source_event_id },
        Reaction::Plan | Reaction::Replan => {
            let facts = order_facts_seen_by(&runner, &recorded, order_id).await?;
            match reaction {
                Reaction::Plan => TaskCommand::Plan { task_id, plan: facts.forward_plan(), source_event_id },
                _ => TaskCommand::Replan { update: facts.replan_update(), source_event_id },
            }
        }
    };
    match run_task(&runner, task_id, &command, &meta).await {
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

/// Plans the reverse shipment after-sales asked for when it approved a return (see the
/// module docs): the task's id is the return's; it goes from the consignee back to the
/// shipper carrying the returned goods' load, by the same rules as the command.
pub async fn plan_reverse_shipment(runner: TaskRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let envelope =
        aftersales::read(&recorded.payload).map_err(|error| ReactionError::Poison(error.to_string()))?;
    let Some(envelope) = envelope else { return Ok(()) };
    let CaseFact::ReturnPickupRequested { return_id, order_id, load } = &envelope.event else {
        return Ok(());
    };
    let poison = |what: &str| ReactionError::Poison(format!("{what} of event {}", envelope.event_id));
    let return_id = uuid::Uuid::parse_str(return_id).map_err(|_| poison("return id"))?;
    let order_id = OrderId::parse(order_id).map_err(|_| poison("order id"))?;
    if return_id == order_id.0 {
        return Err(poison("a return id equal to the order id"));
    }
    let cause = envelope.meta().map_err(|_| poison("event id"))?;
    let facts = order_facts_seen_by(&runner, &recorded, order_id).await?;
    if !facts.delivered {
        // After-sales saw delivery's handover; intake's record of it may lag a moment.
        return Err(ReactionError::Transient(format!(
            "intake has not recorded order {order_id} as delivered yet"
        )));
    }
    // No load means the whole order comes back, as for the command.
    let load = load.map(|load| Load::new(load.weight_grams, load.volume_cm3));
    let task_id = TaskId(return_id);
    let command = TaskCommand::Plan {
        task_id,
        plan: facts.reverse_plan(return_id, load),
        source_event_id: envelope.event_id.clone(),
    };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(RETURNS_CONSUMER));
    match run_task(&runner, task_id, &command, &meta).await {
        Ok(_) => {
            tracing::info!(%task_id, %order_id, "return pickup requested: reverse task planned");
            Ok(())
        }
        // The reverse task exists already (e.g. asked for by command with the same id).
        Err(CommandError::Rejected(Rejection::AlreadyExists { .. })) => Ok(()),
        Err(CommandError::Rejected(rejection)) => Err(ReactionError::Poison(rejection.to_string())),
        Err(error) => Err(ReactionError::Transient(error.to_string())),
    }
}
