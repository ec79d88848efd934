//! Intake as the host runs it (`waybill_runtime::Host`): the order book, the gRPC API, the
//! automatic reviewer and the fulfilment recorder, on a listener the caller bound, until
//! the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use waybill_proto::v1::intake_service_server::IntakeServiceServer;
use waybill_runtime::{Host, Wiring};

use crate::api::IntakeApi;
use crate::commands::CommandRunner;
use crate::domain::Policy;
use crate::reactions;
use crate::read_model::{self, OrderBook};

/// Everything the service needs besides its listener (see `main.rs` for the flags).
pub type Settings = waybill_runtime::Settings<Policy>;

/// Runs intake until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let intake = Host {
        name: "intake",
        source: "/waybill/intake",
        follows: read_model::FILTERS.map(str::to_owned).to_vec(),
        model: OrderBook::new(),
        describe: |book| format!("{} orders", book.len()),
    };
    intake
        .run(&settings, nats, listener, shutdown, |opened| {
            let runner = CommandRunner {
                log: opened.log,
                model: opened.model,
                policy: Arc::new(settings.policy.clone()),
                clock: settings.clock.clone(),
                wait_timeout: settings.wait_timeout,
            };
            Wiring::api(IntakeServiceServer::new(IntakeApi::new(runner.clone(), opened.stopping)))
                .reaction(
                    "automatic reviewer",
                    reactions::auto_review_settings(),
                    runner.clone(),
                    reactions::auto_review,
                )
                .reaction(
                    "fulfilment recorder",
                    reactions::fulfilment_settings(),
                    runner,
                    reactions::record_fulfilment,
                )
        })
        .await
}
