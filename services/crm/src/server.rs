//! CRM as the host runs it (`waybill_runtime::Host`): the CRM model and the gRPC API. CRM
//! runs no reactions and no timers: it only projects, and answers.

use std::sync::Arc;

use waybill_proto::v1::crm_service_server::CrmServiceServer;
use waybill_runtime::{Host, ReadModel, Shutdown, Started, Wiring};

use crate::analytics::Policy;
use crate::api::CrmApi;
use crate::read_model::{self, CrmModel};

/// The policy is the report currency, the cost model and the lifecycle window.
pub type Settings = waybill_runtime::Settings<Policy>;

/// Runs CRM until `shutdown` resolves (`main.rs` and the tests start it here).
pub async fn run(settings: Settings, started: Started, shutdown: impl Shutdown) -> anyhow::Result<()> {
    let crm = ReadModel { follows: read_model::filters(), empty: CrmModel::new(), describe: describe_model };
    Host::new("crm", crm)
        .run(&settings, started, shutdown, |opened| {
            let (policy, clock) = (Arc::new(settings.policy.clone()), settings.clock.clone());
            Wiring::api(CrmServiceServer::new(CrmApi::new(
                opened.runner(Arc::new(()), &settings),
                policy,
                clock,
            )))
        })
        .await
}

fn describe_model(model: &CrmModel) -> String {
    format!("{} customers, {} orders", model.registered_customers(), model.orders_known())
}
