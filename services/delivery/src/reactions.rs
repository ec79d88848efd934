//! What delivery does when other services' events arrive, on durable consumers shared by
//! every replica (each event is handled once in effect):
//!
//! - `delivery-arrivals` (`waybill.dispatch.task.>`): an order's forward task arrived at
//!   the destination hub → schedule its delivery with a promised window, and tell the
//!   consignee (one append);
//! - `delivery-orders` (`waybill.intake.order.>`): the consignee's address changed → update
//!   the delivery if it is not out yet.
//!
//! Other services' events are read through their typed facts (`waybill_proto::facts`),
//! never through their crates. Every command's request id is the causing event's id
//! (`CommandMeta::reacting_to`), and scheduling an existing delivery decides nothing, so a
//! redelivered or replayed event writes nothing twice.

use waybill_command::{CommandMeta, EventMeta};
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::envelope::{DecodeError, Envelope};
use waybill_proto::facts;
use waybill_proto::facts::{dispatch::TaskFact, intake::OrderFact};
use waybill_types::{Actor, OrderId};

use crate::commands::{CommandError, DeliveryRunner};
use crate::domain::DeliveryCommand;

/// The durable consumer of dispatch's task events; shared by all replicas.
pub const ARRIVALS_CONSUMER: &str = "delivery-arrivals";
/// The durable consumer of intake's order events; shared by all replicas.
pub const ORDERS_CONSUMER: &str = "delivery-orders";

pub fn arrivals_settings() -> ReactionSettings {
    ReactionSettings::durable("delivery", ARRIVALS_CONSUMER, "waybill.dispatch.task.>")
}

pub fn orders_settings() -> ReactionSettings {
    ReactionSettings::durable("delivery", ORDERS_CONSUMER, "waybill.intake.order.>")
}

/// Schedules the last mile when an order's forward task arrives at the destination hub.
pub async fn schedule_on_arrival(
    runner: DeliveryRunner,
    recorded: RecordedEvent,
) -> Result<(), ReactionError> {
    let Some(envelope) = facts::dispatch::read(&recorded.payload).map_err(poison)? else { return Ok(()) };
    let hub = match &envelope.event {
        // A reverse shipment's task has its own id: only the forward task is the order's.
        TaskFact::ArrivedAtHub { hub } if envelope.is_about_the_order_itself() => hub.clone(),
        _ => return Ok(()),
    };
    let order_id = order_id_of(&envelope)?;
    let cause = cause_of(&envelope)?;
    // The order's facts were written before the arrival: wait until the model has them.
    wait_for_model(&runner, recorded.position).await?;
    let facts = runner.model.read().order_facts(&order_id).cloned();
    let Some(facts) = facts else {
        return Err(ReactionError::Poison(format!(
            "order {order_id} arrived at {hub} but intake never placed it"
        )));
    };
    if facts.cancelled {
        tracing::warn!(%order_id, %hub, "a cancelled order arrived at the hub; not scheduling its delivery");
        return Ok(());
    }
    let command = DeliveryCommand::Schedule {
        order_id,
        service_level: facts.service_level,
        consignee: facts.consignee,
        hub,
        arrived_at: cause.occurred_at,
        source_event_id: envelope.event_id.clone(),
    };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(ARRIVALS_CONSUMER));
    match runner.run(order_id, &command, &meta).await {
        Ok(outcome) => {
            tracing::info!(%order_id, window_end = %outcome.state.window.end, "delivery scheduled");
            Ok(())
        }
        Err(error) => Err(reaction_error(error)),
    }
}

/// Follows a redirected order onto its delivery, while the goods are not out yet.
pub async fn follow_order(runner: DeliveryRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let Some(envelope) = facts::intake::read(&recorded.payload).map_err(poison)? else { return Ok(()) };
    let address = match &envelope.event {
        OrderFact::ConsigneeAddressChanged { address, .. } => {
            address.clone().unwrap_or_else(|| waybill_proto::stored::address(None))
        }
        _ => return Ok(()),
    };
    let order_id = order_id_of(&envelope)?;
    let cause = cause_of(&envelope)?;
    wait_for_model(&runner, recorded.position).await?;
    let (scheduled, arrived) = {
        let book = runner.model.read();
        let facts = book.order_facts(&order_id);
        // A cancelled order that arrived anyway is never scheduled (see `schedule_on_arrival`).
        (book.delivery(&order_id).is_some(), facts.is_some_and(|facts| facts.arrived && !facts.cancelled))
    };
    if !scheduled {
        if arrived {
            // The arrival is being scheduled right now, maybe with the old address: try
            // again once the delivery exists.
            return Err(ReactionError::Transient(format!("delivery {order_id} is not scheduled yet")));
        }
        // Nothing scheduled: the read model's order facts already carry the new address.
        return Ok(());
    }
    let command = DeliveryCommand::UpdateAddress { address, source_event_id: envelope.event_id.clone() };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(ORDERS_CONSUMER));
    runner.run(order_id, &command, &meta).await.map(|_| ()).map_err(reaction_error)
}

fn poison(error: DecodeError) -> ReactionError {
    ReactionError::Poison(error.to_string())
}

fn order_id_of<E>(envelope: &Envelope<E>) -> Result<OrderId, ReactionError> {
    envelope
        .order_id()
        .map_err(|error| ReactionError::Poison(format!("event {}: {error}", envelope.event_id)))
}

/// The causing event's metadata, for `CommandMeta::reacting_to`.
fn cause_of<E>(envelope: &Envelope<E>) -> Result<EventMeta, ReactionError> {
    envelope.meta().map_err(|error| ReactionError::Poison(format!("event {}: {error}", envelope.event_id)))
}

async fn wait_for_model(runner: &DeliveryRunner, position: u64) -> Result<(), ReactionError> {
    runner
        .model
        .wait_for(position, runner.wait_timeout)
        .await
        .map_err(|error| ReactionError::Transient(error.to_string()))
}

fn reaction_error(error: CommandError) -> ReactionError {
    match error {
        CommandError::Rejected(rejection) => ReactionError::Poison(rejection.to_string()),
        other => ReactionError::Transient(other.to_string()),
    }
}
