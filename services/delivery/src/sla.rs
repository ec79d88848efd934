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

use waybill_runtime::timer::sla_command_meta;
use waybill_types::{OrderId, Timestamp};

use crate::commands::DeliveryRunner;
use crate::domain::DeliveryCommand;

/// The idempotency key of the delay for one window of one delivery.
pub fn request_id(delivery_id: &OrderId, window_end: Timestamp) -> String {
    format!("sla:{delivery_id}:{}", window_end.timestamp())
}

/// One look at the clock (the host's timer calls it every `--sla-tick-ms`): raises what
/// is overdue.
pub async fn tick(runner: DeliveryRunner) {
    let overdue = runner.model.read().overdue(runner.clock.now());
    for (delivery_id, window_end) in overdue {
        let meta = sla_command_meta(request_id(&delivery_id, window_end));
        let command = DeliveryCommand::RaiseDelay { window_end };
        match runner.run(delivery_id, &command, &meta).await {
            Ok(_) => tracing::info!(%delivery_id, %window_end, "promised window passed: delay raised"),
            // The next tick tries again (the model still lists it).
            Err(error) => tracing::warn!(%delivery_id, %error, "raising a delay failed; will retry"),
        }
    }
}
