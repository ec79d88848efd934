//! What delivery does when other services' events arrive, on durable consumers shared by
//! every replica (each event is handled once in effect):
//!
//! - `delivery-arrivals` (`waybill.dispatch.task.>`): an order's forward task arrived at
//!   the destination hub → schedule its delivery with a promised window;
//! - `delivery-orders` (`waybill.intake.order.>`): the consignee's address changed → update
//!   the delivery if it is not out yet;
//! - `delivery-notifications` (delivery's own `waybill.delivery.task.>`): a milestone →
//!   tell the consignee, on the delivery's own notification subject (`domain::Notices`);
//! - `delivery-routes` (delivery's own `waybill.delivery.task.>`): an attempt failed on a
//!   stop of its courier's plan for that day, or a delivery was assigned to a courier whose
//!   day is planned → re-plan the rest of that run (`crate::route`). A reaction rather than
//!   part of the attempt's or the assignment's own decision: those stay one small append on
//!   one delivery, and the solver's seconds are not spent while a courier waits at the
//!   door. A re-plan the route refuses (the courier retired meanwhile) is logged, not
//!   retried.
//!
//! Other services' events are read through their typed facts (`waybill_proto::facts`),
//! never through their crates. Every command's request id is the causing event's id
//! (`CommandMeta::reacting_to`), and scheduling an existing delivery decides nothing, so a
//! redelivered or replayed event writes nothing twice.

use waybill_command::{Aggregate, CommandMeta, CommandRunner, EventMeta};
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::envelope::{DecodeError, Envelope};
use waybill_proto::facts;
use waybill_proto::facts::{dispatch::TaskFact, intake::OrderFact};
use waybill_types::{Actor, OrderId};

use crate::codec::{self, Decoded};
use crate::commands::{CommandError, DeliveryRunner, NoticeRunner, RouteRunner};
use crate::domain::{self, DeliveryCommand, DeliveryEvent};
use crate::read_model::DeliveryBook;
use crate::route::{PlanReason, PlanRoute, RouteId};

/// The durable consumer of dispatch's task events; shared by all replicas.
pub const ARRIVALS_CONSUMER: &str = "delivery-arrivals";
/// The durable consumer of intake's order events; shared by all replicas.
pub const ORDERS_CONSUMER: &str = "delivery-orders";

/// The durable consumer of delivery's own delivery events, for re-planning runs.
pub const ROUTES_CONSUMER: &str = "delivery-routes";
/// The durable consumer of delivery's own delivery events, for telling the consignee.
pub const NOTIFICATIONS_CONSUMER: &str = "delivery-notifications";

pub fn notifications_settings() -> ReactionSettings {
    ReactionSettings::durable("delivery", NOTIFICATIONS_CONSUMER, "waybill.delivery.task.>")
}

pub fn routes_settings() -> ReactionSettings {
    ReactionSettings::durable("delivery", ROUTES_CONSUMER, "waybill.delivery.task.>")
}

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

/// Tells the consignee about a milestone of their delivery: a `NotificationRequested` on the
/// delivery's notifications (`domain::Notices`), its text from the delivery as the
/// milestone left it. A milestone whose own append carried its notification (written before
/// notifications had their own subject) is skipped, so an upgraded log's history is not
/// announced again.
pub async fn notify_consignee(runner: NoticeRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let Some((delivery_id, cause, event)) = delivery_event(&recorded)? else { return Ok(()) };
    if domain::milestone_of(&event).is_none() {
        return Ok(());
    }
    wait_for_model(&runner, recorded.position).await?;
    let notify = {
        let book = runner.model.read();
        if book.notified_in_its_append(recorded.position) {
            return Ok(());
        }
        let Some(record) = book.delivery(&delivery_id) else {
            return Err(ReactionError::Poison(format!(
                "a milestone of delivery {delivery_id}, which does not exist"
            )));
        };
        domain::notice_about(&record.delivery, &event)
    };
    let Some(notify) = notify else { return Ok(()) };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(NOTIFICATIONS_CONSUMER));
    runner.run(delivery_id, &notify, &meta).await.map(|_| ()).map_err(reaction_error)
}

/// Re-plans the rest of a planned run after a failed attempt on it or a new stop for it.
pub async fn replan_route(runner: RouteRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let Some((delivery_id, cause, event)) = delivery_event(&recorded)? else { return Ok(()) };
    let day = cause.occurred_at.date_naive();
    wait_for_model(&runner, recorded.position).await?;
    let replan = {
        let book = runner.model.read();
        let planned = |courier| book.courier_route(&RouteId { courier, day }).map(|record| &record.state);
        match event {
            DeliveryEvent::AttemptFailed { .. } => {
                let courier = book.delivery(&delivery_id).and_then(|record| record.delivery.courier);
                courier
                    .filter(|courier| {
                        planned(*courier).is_some_and(|route| route.stop(&delivery_id).is_some())
                    })
                    .map(|courier| (courier, PlanReason::AttemptFailed, Some(delivery_id)))
            }
            DeliveryEvent::CourierAssigned { courier_id, .. } => planned(courier_id)
                .filter(|route| route.stop(&delivery_id).is_none())
                .map(|_| (courier_id, PlanReason::StopAdded, None)),
            _ => None,
        }
    };
    let Some((courier, reason, from_stop)) = replan else { return Ok(()) };
    let command = PlanRoute { constraints: None, reason, from_stop };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(ROUTES_CONSUMER));
    match runner.run_decision(RouteId { courier, day }, &command, &meta).await {
        Ok(decided) => {
            tracing::info!(%courier, %day, ?reason, stops = decided.outcome.state.plan.stops.len(), "run re-planned");
            Ok(())
        }
        Err(CommandError::Rejected(rejection)) => {
            tracing::warn!(%courier, %day, ?reason, %rejection, "run not re-planned");
            Ok(())
        }
        Err(other) => Err(ReactionError::Transient(other.to_string())),
    }
}

/// The delivery's event `recorded` holds; `None` for a courier's or a route's.
fn delivery_event(
    recorded: &RecordedEvent,
) -> Result<Option<(OrderId, EventMeta, DeliveryEvent)>, ReactionError> {
    Ok(match codec::decode(&recorded.payload).map_err(poison)? {
        Decoded::Delivery { delivery_id, meta, event } => Some((delivery_id, meta, event)),
        Decoded::Courier { .. } | Decoded::Route { .. } => None,
    })
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

/// Waits until the delivery book has applied `position` (the event being handled), for
/// any of delivery's runners: they share the book.
async fn wait_for_model<A: Aggregate>(
    runner: &CommandRunner<A, DeliveryBook>,
    position: u64,
) -> Result<(), ReactionError> {
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
