//! What every service's server needs besides its listener, in one struct: the stream, the
//! waits, the reflection switch, the shutdown grace, the clock, the SLA clocks' tick, and the
//! service's own policy beside them. `main.rs` builds it from `ServiceFlags`
//! (`ServiceFlags::settings`); tests build it with `..Settings::default()`.

use std::sync::Arc;
use std::time::Duration;

use waybill_command::{Clock, SystemClock};
use waybill_eventlog::StreamSettings;

/// A service's settings; `P` is its own policy (`()` for a service without one). Each
/// service names its own: `pub type Settings = waybill_runtime::Settings<Policy>;`.
#[derive(Clone)]
pub struct Settings<P = ()> {
    pub stream: StreamSettings,
    /// The service's own rules (windows, deadlines, the cost model).
    pub policy: P,
    /// How long a query waits for its `min_position`, and a command for the read model.
    pub wait_timeout: Duration,
    /// How long the service may take to rebuild its read model before it gives up.
    pub catch_up_timeout: Duration,
    /// Serve gRPC server reflection.
    pub reflection: bool,
    /// How long a stopping server waits for in-flight calls and reactions.
    pub shutdown_grace: Duration,
    pub clock: Arc<dyn Clock>,
    /// How far a fact's time may stray from this service's clock, or before the facts it
    /// follows (`--clock-skew`; `waybill_command::time`).
    pub clock_skew: chrono::Duration,
    /// How often an SLA clock looks for missed deadlines (delivery's promised windows,
    /// after-sales' complaint deadlines); services without one ignore it.
    pub sla_tick: Duration,
}

impl<P> Settings<P> {
    /// The defaults around `policy`: a single-replica stream, 5 s waits, 10 minutes to
    /// catch up, reflection on, 10 s of grace, the system clock with 5 minutes of skew, a
    /// 1 s SLA tick.
    pub fn new(policy: P) -> Self {
        Self {
            stream: StreamSettings::default(),
            policy,
            wait_timeout: Duration::from_secs(5),
            catch_up_timeout: Duration::from_secs(600),
            reflection: true,
            shutdown_grace: crate::grpc::SHUTDOWN_GRACE,
            clock: Arc::new(SystemClock),
            clock_skew: waybill_command::time::DEFAULT_CLOCK_SKEW,
            sla_tick: Duration::from_secs(1),
        }
    }
}

impl<P: Default> Default for Settings<P> {
    fn default() -> Self {
        Self::new(P::default())
    }
}
