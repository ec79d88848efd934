//! The SLA clock: a timer in every replica that escalates a complaint whose acknowledge or
//! resolve deadline passed unmet.
//!
//! Each tick asks the read model for such deadlines and runs `SlaEscalate` through the
//! normal command loop with the request id `sla:<complaint id>:<breach>:<deadline, unix
//! seconds>` and the actor `system:sla-clock`. Replicas ticking together write one
//! escalation between them: their appends carry the same idempotency key and expect the
//! same version, so one wins, and the others, deciding again on the winner's state, find
//! the breach escalated and decide nothing.

use waybill_runtime::timer::sla_command_meta;
use waybill_types::Timestamp;

use crate::commands::ComplaintRunner;
use crate::domain::{CaseId, ComplaintCommand, SlaBreach};

/// The idempotency key of the escalation for one missed deadline of one complaint.
pub fn request_id(complaint_id: &CaseId, breach: SlaBreach, deadline: Timestamp) -> String {
    format!("sla:{complaint_id}:{}:{}", breach.as_str(), deadline.timestamp())
}

/// One look at the clock (the host's timer calls it every `--sla-tick-ms`): escalates
/// what is overdue.
pub async fn tick(runner: ComplaintRunner) {
    let overdue = runner.model.read().overdue(runner.clock.now());
    for (complaint_id, breach, deadline) in overdue {
        let meta = sla_command_meta(request_id(&complaint_id, breach, deadline));
        let command = ComplaintCommand::SlaEscalate { breach, deadline };
        match runner.run(complaint_id, &command, &meta).await {
            Ok(outcome) if outcome.state.escalated_for(breach) => {
                tracing::info!(%complaint_id, breach = breach.as_str(), %deadline, "complaint deadline missed: escalated")
            }
            // Met or resolved meanwhile; the model drops it from the watch list.
            Ok(_) => {}
            // The next tick tries again (the model still lists it).
            Err(error) => tracing::warn!(%complaint_id, %error, "escalating a complaint failed; will retry"),
        }
    }
}
