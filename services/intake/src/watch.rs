//! WatchOrder: one order followed live. The first update is the order as the log has it
//! now; then an ordered consumer on the order's subject and its dispatch and delivery
//! tasks' subjects, starting right after that history, yields one update per new event
//! (the order unchanged for a dispatch or delivery milestone), so nothing is missed.
//!
//! Each watch runs in its own task and ends when the client goes away, when intake stops
//! (the client gets UNAVAILABLE and may watch again), or when the log cannot be followed.

use tokio::sync::{mpsc, watch};
use tonic::Status;
use waybill_eventlog::Position;
use waybill_types::OrderId;

use crate::codec;
use crate::commands::{CommandError, CommandRunner, fold_until, order_subject};
use crate::domain::{Order, evolve};
use crate::timeline::{self, TimelineEntry};

/// Updates a client may fall behind by before the watch waits for it.
const BUFFERED_UPDATES: usize = 32;

/// The order right after `event`.
#[derive(Clone, Debug)]
pub struct OrderUpdate {
    pub order: Order,
    pub version: Position,
    pub event: TimelineEntry,
}

/// Starts watching `order_id`; NOT_FOUND (as a rejection) if it has no history.
pub async fn start(
    runner: &CommandRunner,
    order_id: OrderId,
    mut stopping: watch::Receiver<bool>,
) -> Result<mpsc::Receiver<Result<OrderUpdate, Status>>, CommandError> {
    let history = runner.history(&order_id).await?;
    let Some((last, _, _)) = history.last() else {
        return Err(CommandError::Rejected(crate::domain::Rejection::NotFound));
    };
    let last = *last;
    let latest = timeline::entries(&history[history.len() - 1..]).pop();
    let (Some(latest), Some(first)) = (latest, fold_until(history, last)) else {
        return Err(CommandError::Log(format!("the history of order {order_id} builds no order")));
    };
    let subject = order_subject(&order_id);
    let mut subjects = vec![subject.clone()];
    subjects.extend(timeline::fulfilment_subjects(&order_id));
    // After-sales cases opened after the watch began are not followed: watch again to see them.
    subjects.extend(runner.model.read().related_subjects(&order_id));
    let mut subscription = runner
        .log
        .subscribe(subjects, last + 1)
        .await
        .map_err(|error| CommandError::Log(error.to_string()))?;

    let (updates, receiver) = mpsc::channel(BUFFERED_UPDATES);
    tokio::spawn(async move {
        let mut order = first.state;
        let mut version = last;
        // The last position handed out (the order's version lags behind on other subjects).
        let mut seen = last;
        if updates.send(Ok(OrderUpdate { order: order.clone(), version, event: latest })).await.is_err() {
            return;
        }
        loop {
            let delivered = tokio::select! {
                () = updates.closed() => return,
                () = stopped(&mut stopping) => {
                    let _ = updates.send(Err(Status::unavailable("intake is stopping; watch again"))).await;
                    return;
                }
                delivered = subscription.next() => delivered,
            };
            let recorded = match delivered {
                Some(Ok(delivered)) if delivered.event.position > seen => delivered.event,
                Some(Ok(_)) => continue, // redelivered after the consumer was recreated
                Some(Err(error)) => {
                    tracing::debug!(%order_id, %error, "watch subscription hiccup, continuing");
                    continue;
                }
                None => {
                    let _ = updates.send(Err(Status::unavailable("the event log connection closed"))).await;
                    return;
                }
            };
            seen = recorded.position;
            if recorded.subject != subject {
                let Some(event) = timeline::foreign_entry(&recorded) else { continue };
                let update = OrderUpdate { order: order.clone(), version, event };
                if updates.send(Ok(update)).await.is_err() {
                    return;
                }
                continue;
            }
            let update =
                codec::decode(&recorded.payload).map_err(|error| error.to_string()).and_then(|decoded| {
                    let event = Some(timeline::entry(recorded.position, &decoded.meta, &decoded.event));
                    let next = evolve(Some(order.clone()), &decoded.event, decoded.meta.occurred_at);
                    match (next, event) {
                        (Some(next), Some(event)) => Ok((next, event)),
                        _ => Err(format!("event at position {} does not apply", recorded.position)),
                    }
                });
            match update {
                Ok((next, event)) => {
                    order = next;
                    version = recorded.position;
                    let update = OrderUpdate { order: order.clone(), version, event };
                    if updates.send(Ok(update)).await.is_err() {
                        return;
                    }
                }
                Err(reason) => {
                    tracing::error!(%order_id, %reason, "cannot follow order");
                    let _ =
                        updates.send(Err(Status::internal(format!("cannot follow order: {reason}")))).await;
                    return;
                }
            }
        }
    });
    Ok(receiver)
}

/// Resolves once intake is stopping (or can no longer tell, which means the same).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}
