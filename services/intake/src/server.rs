//! Intake as the host runs it (`waybill_runtime::Host`): the order book, the gRPC API, the
//! automatic reviewer and the fulfilment recorder.

use std::sync::Arc;

use waybill_proto::v1::intake_service_server::IntakeServiceServer;
use waybill_runtime::{Host, ReadModel, Shutdown, Started, Wiring};

use crate::api::IntakeApi;
use crate::domain::Policy;
use crate::reactions;
use crate::read_model::{self, OrderBook};

pub type Settings = waybill_runtime::Settings<Policy>;

/// Runs intake until `shutdown` resolves (`main.rs` and the tests start it here).
pub async fn run(settings: Settings, started: Started, shutdown: impl Shutdown) -> anyhow::Result<()> {
    let follows = read_model::FILTERS.map(str::to_owned).to_vec();
    let orders =
        ReadModel { follows, empty: OrderBook::new(), describe: |book| format!("{} orders", book.len()) };
    Host::new("intake", orders)
        .run(&settings, started, shutdown, |opened| {
            let runner = opened.runner(Arc::new(settings.policy.clone()), &settings);
            Wiring::api(IntakeServiceServer::new(IntakeApi::new(
                runner.clone(),
                opened.stopping,
                settings.policy.watches,
            )))
            .reaction(reactions::auto_review_settings(), runner.clone(), reactions::auto_review)
            .reaction(reactions::fulfilment_settings(), runner, reactions::record_fulfilment)
        })
        .await
}
