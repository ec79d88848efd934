//! The SLA clock: a timer in every replica that raises a delay when a delivery's promised
//! window passes without a handover.
//!
//! Each tick asks the read model for open deliveries whose window ended before now with no
//! delay raised for that window, and runs `RaiseDelay` through the normal command loop with
//! the request id `sla:<delivery id>:<window end, unix seconds>`. Replicas ticking together
//! write one delay between them: the appends carry the same idempotency key and expect the
//! same version, so one wins, and the others, deciding again on the winner's state, find
//! the delay recorded and decide nothing. A rescheduled window is a new window: it can be
//! late again.

use std::time::Duration;

use tokio::sync::watch;
use waybill_command::CommandMeta;
use waybill_types::{Actor, OrderId, Timestamp};

use crate::commands::DeliveryRunner;
use crate::domain::DeliveryCommand;

/// The actor recorded on the delays the clock raises (`system:sla-clock`).
pub const SLA_ACTOR: &str = "sla-clock";

/// The idempotency key of the delay for one window of one delivery.
pub fn request_id(delivery_id: &OrderId, window_end: Timestamp) -> String {
    format!("sla:{delivery_id}:{}", window_end.timestamp())
}

/// One look at the clock: raises what is overdue; returns how many deliveries it tried.
pub async fn tick(runner: &DeliveryRunner) -> usize {
    let now = runner.clock.now();
    let overdue = runner.model.read().overdue(now);
    for (delivery_id, window_end) in &overdue {
        let request_id = request_id(delivery_id, *window_end);
        let meta = CommandMeta {
            request_id: request_id.clone(),
            actor: Actor::system(SLA_ACTOR),
            correlation_id: request_id,
            min_position: 0,
        };
        let command = DeliveryCommand::RaiseDelay { window_end: *window_end };
        match runner.run(*delivery_id, &command, &meta).await {
            Ok(_) => tracing::info!(%delivery_id, %window_end, "promised window passed: delay raised"),
            // The next tick tries again (the model still lists it).
            Err(error) => tracing::warn!(%delivery_id, %error, "raising a delay failed; will retry"),
        }
    }
    overdue.len()
}

/// Ticks every `period` until `stop` turns true.
pub async fn run(runner: DeliveryRunner, period: Duration, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        tick(&runner).await;
    }
}
