//! Dispatch as the host runs it (`waybill_runtime::Host`): the dispatch model, the gRPC
//! API, the order reaction, the return reaction and the upkeep clock.

use waybill_proto::v1::dispatch_service_server::DispatchServiceServer;
use waybill_runtime::{Host, ReadModel, Shutdown, Started, Timer, Wiring};

use crate::api::DispatchApi;
use crate::commands::Runners;
use crate::reactions;
use crate::read_model::{self, DispatchModel};
use crate::upkeep_clock::{self, UpkeepClock};

/// Dispatch's own rules beside the shared settings (the upkeep clock ticks every
/// `Settings::sla_tick`, as the SLA clocks do).
#[derive(Clone, Debug)]
pub struct Policy {
    /// How long before a due date (inspection, maintenance, licence expiry) its reminder goes out.
    pub upkeep_reminder_lead: chrono::Duration,
}

impl Default for Policy {
    /// A week's notice.
    fn default() -> Self {
        Policy { upkeep_reminder_lead: chrono::Duration::days(7) }
    }
}

pub type Settings = waybill_runtime::Settings<Policy>;

/// Runs dispatch until `shutdown` resolves (`main.rs` and the tests start it here).
pub async fn run(settings: Settings, started: Started, shutdown: impl Shutdown) -> anyhow::Result<()> {
    let describe = |model: &DispatchModel| format!("{} tasks", model.task_count());
    let dispatch = ReadModel { follows: read_model::filters(), empty: DispatchModel::new(), describe };
    Host::new("dispatch", dispatch)
        .run(&settings, started, shutdown, |opened| {
            let runners = Runners::new(opened.log, opened.model, &settings);
            let tasks = runners.tasks.clone();
            let upkeep = UpkeepClock {
                vehicles: runners.vehicles.clone(),
                drivers: runners.drivers.clone(),
                lead: settings.policy.upkeep_reminder_lead,
            };
            Wiring::api(DispatchServiceServer::new(DispatchApi::new(runners)))
                .reaction(reactions::orders_settings(), tasks.clone(), reactions::react_to_order)
                .reaction(reactions::returns_settings(), tasks, reactions::plan_reverse_shipment)
                .timer(Timer::every("upkeep clock", settings.sla_tick, upkeep, upkeep_clock::tick))
        })
        .await
}
