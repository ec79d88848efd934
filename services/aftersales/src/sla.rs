//! The SLA clock: a timer in every replica that escalates a complaint whose acknowledge or
//! resolve deadline passed unmet.
//!
//! Each tick asks the read model for such deadlines and runs `SlaEscalate` through the
//! normal command loop with the request id `sla:<complaint id>:<breach>:<deadline, unix
//! seconds>` and the actor `system:sla-clock`. Replicas ticking together write one
//! escalation between them: their appends carry the same idempotency key and expect the
//! same version, so one wins, and the others, deciding again on the winner's state, find
//! the breach escalated and decide nothing.

use std::time::Duration;

use tokio::sync::watch;
use waybill_command::CommandMeta;
use waybill_types::{Actor, Timestamp};

use crate::commands::ComplaintRunner;
use crate::domain::{CaseId, ComplaintCommand, SlaBreach};

/// The actor recorded on the escalations the clock writes (`system:sla-clock`).
pub const SLA_ACTOR: &str = "sla-clock";

/// The idempotency key of the escalation for one missed deadline of one complaint.
pub fn request_id(complaint_id: &CaseId, breach: SlaBreach, deadline: Timestamp) -> String {
    format!("sla:{complaint_id}:{}:{}", breach.as_str(), deadline.timestamp())
}

/// One look at the clock: escalates what is overdue; returns how many deadlines it tried.
pub async fn tick(runner: &ComplaintRunner) -> usize {
    let now = runner.clock.now();
    let overdue = runner.model.read().overdue(now);
    for (complaint_id, breach, deadline) in &overdue {
        let request_id = request_id(complaint_id, *breach, *deadline);
        let meta = CommandMeta {
            request_id: request_id.clone(),
            actor: Actor::system(SLA_ACTOR),
            correlation_id: request_id,
            min_position: 0,
        };
        let command = ComplaintCommand::SlaEscalate { breach: *breach, deadline: *deadline };
        match runner.run(*complaint_id, &command, &meta).await {
            Ok(outcome) if outcome.state.escalated_for(*breach) => {
                tracing::info!(%complaint_id, breach = breach.as_str(), %deadline, "complaint deadline missed: escalated")
            }
            // Met or resolved meanwhile; the model drops it from the watch list.
            Ok(_) => {}
            // The next tick tries again (the model still lists it).
            Err(error) => tracing::warn!(%complaint_id, %error, "escalating a complaint failed; will retry"),
        }
    }
    overdue.len()
}

/// Ticks every `period` until `stop` turns true.
pub async fn run(runner: ComplaintRunner, period: Duration, mut stop: watch::Receiver<bool>) {
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
