//! Dispatch as the host runs it (`waybill_runtime::Host`): the dispatch model, the gRPC
//! API, the order reaction and the return reaction, on a listener the caller bound, until
//! the shutdown future resolves.

use std::future::Future;

use tokio::net::TcpListener;
use waybill_proto::v1::dispatch_service_server::DispatchServiceServer;
use waybill_runtime::{Host, Wiring};

use crate::api::DispatchApi;
use crate::commands::{Runners, SOURCE};
use crate::reactions;
use crate::read_model::{self, DispatchModel};

/// Everything the service needs besides its listener (see `main.rs` for the flags).
pub type Settings = waybill_runtime::Settings;

/// Runs dispatch until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let dispatch = Host {
        name: "dispatch",
        source: SOURCE,
        follows: read_model::filters(),
        model: DispatchModel::new(),
        describe: |model| format!("{} tasks", model.task_count()),
    };
    dispatch
        .run(&settings, nats, listener, shutdown, |opened| {
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
