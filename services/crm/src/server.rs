//! CRM as the host runs it (`waybill_runtime::Host`): the CRM model and the gRPC API, on a
//! listener the caller bound, until the shutdown future resolves. CRM runs no reactions
//! and no timers: it only projects, and answers.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use waybill_proto::v1::crm_service_server::CrmServiceServer;
use waybill_runtime::{Host, Wiring};

use crate::analytics::Policy;
use crate::api::CrmApi;
use crate::commands::CommandRunner;
use crate::read_model::{self, CrmModel};

/// Everything the service needs besides its listener (see `main.rs` for the flags); the
/// policy is the report currency, the cost model and the lifecycle window.
pub type Settings = waybill_runtime::Settings<Policy>;

/// Runs CRM until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let crm = Host {
        name: "crm",
        source: "/waybill/crm",
        follows: read_model::filters(),
        model: CrmModel::new(),
        describe: |model| {
            format!("{} customers, {} orders", model.registered_customers(), model.orders_known())
        },
    };
    crm.run(&settings, nats, listener, shutdown, |opened| {
        let runner = CommandRunner {
            log: opened.log,
            model: opened.model,
            policy: Arc::new(()),
            clock: settings.clock.clone(),
            wait_timeout: settings.wait_timeout,
        };
        let policy = Arc::new(settings.policy.clone());
        Wiring::api(CrmServiceServer::new(CrmApi::new(runner, policy, settings.clock.clone())))
    })
    .await
}
