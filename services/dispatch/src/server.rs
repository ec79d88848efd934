//! Dispatch as the host runs it (`waybill_runtime::Host`): the dispatch model, the gRPC
//! API, the order reaction and the return reaction.

use waybill_proto::v1::dispatch_service_server::DispatchServiceServer;
use waybill_runtime::{Host, ReadModel, Shutdown, Started, Wiring};

use crate::api::DispatchApi;
use crate::commands::Runners;
use crate::reactions;
use crate::read_model::{self, DispatchModel};

/// Dispatch has no policy of its own.
pub type Settings = waybill_runtime::Settings;

/// Runs dispatch until `shutdown` resolves (`main.rs` and the tests start it here).
pub async fn run(settings: Settings, started: Started, shutdown: impl Shutdown) -> anyhow::Result<()> {
    let describe = |model: &DispatchModel| format!("{} tasks", model.task_count());
    let dispatch = ReadModel { follows: read_model::filters(), empty: DispatchModel::new(), describe };
    Host::new("dispatch", dispatch)
        .run(&settings, started, shutdown, |opened| {
            let runners = Runners::new(opened.log, opened.model, &settings);
            let tasks = runners.tasks.clone();
            Wiring::api(DispatchServiceServer::new(DispatchApi::new(runners)))
                .reaction(
                    "order reaction",
                    reactions::orders_settings(),
                    tasks.clone(),
                    reactions::react_to_order,
                )
                .reaction(
                    "return reaction",
                    reactions::returns_settings(),
                    tasks,
                    reactions::plan_reverse_shipment,
                )
        })
        .await
}
