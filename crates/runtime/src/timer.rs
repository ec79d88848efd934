//! Timers: work a service does because time passed, not because an event arrived. Both of
//! Waybill's are SLA clocks (delivery's promised windows, after-sales' complaint deadlines):
//! each tick asks the read model what is overdue and runs a command for each, with an
//! idempotency key that names the deadline, so replicas ticking together write one
//! decision between them.
//!
//! Every tick runs in a span of its own (`tick <timer>`, the root of a trace: time, not a
//! caller, started it), so the commands it runs and the events they append share a trace.
//!
//! The host starts a service's timers once its read model has caught up (a clock on a
//! half-built model would chase deadlines long since met), stops them when the model halts
//! or the service stops, and cuts a tick short at the end of the drain: safe, since the
//! next replica's tick (or a restart) acts on the same deadline, once.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use waybill_command::CommandMeta;
use waybill_types::Actor;

/// The actor recorded on what an SLA clock writes (`system:sla-clock`).
pub const SLA_ACTOR: &str = "sla-clock";

/// A piece of work run every `period`.
pub struct Timer {
    name: &'static str,
    period: Duration,
    tick: Box<dyn FnMut() -> BoxFuture<'static, ()> + Send>,
}

impl Timer {
    /// Runs `tick(context.clone())` every `period` (a late tick delays the next one rather
    /// than bunching them up).
    pub fn every<C, F, Fut>(name: &'static str, period: Duration, context: C, tick: F) -> Self
    where
        C: Clone + Send + 'static,
        F: Fn(C) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self { name, period, tick: Box::new(move || Box::pin(tick(context.clone()))) }
    }

    /// Ticks until `stop` turns true.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        tracing::info!(timer = self.name, period_ms = self.period.as_millis() as u64, "timer started");
        let mut interval = tokio::time::interval(self.period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            // Each tick in a trace of its own: what it writes carries it, and with export on
            // the tick is a span, the commands it runs inside (an error marks it).
            let span = tracing::info_span!(
                target: waybill_eventlog::trace::SPAN_TARGET,
                "tick",
                otel.name = %format_args!("tick {}", self.name),
                otel.kind = "internal",
                waybill.timer = self.name,
            );
            waybill_eventlog::trace::in_span(span, opentelemetry::Context::new(), (self.tick)()).await;
        }
    }
}

/// What a command an SLA clock runs carries: the actor `system:sla-clock`, and the
/// deadline's idempotency key as both request id and correlation id (the clock starts the
/// story; nothing caused it but time).
pub fn sla_command_meta(request_id: String) -> CommandMeta {
    CommandMeta {
        request_id: request_id.clone(),
        actor: Actor::system(SLA_ACTOR),
        correlation_id: request_id,
        min_position: 0,
    }
}
