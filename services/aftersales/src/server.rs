//! After-sales as the host runs it (`waybill_runtime::Host`): the case book, the gRPC API,
//! the claims reaction and the complaints' SLA clock, on a listener the caller bound, until
//! the shutdown future resolves.

use std::future::Future;

use tokio::net::TcpListener;
use waybill_proto::v1::after_sales_service_server::AfterSalesServiceServer;
use waybill_runtime::{Host, Timer, Wiring};

use crate::api::AfterSalesApi;
use crate::commands::Runners;
use crate::domain::Policy;
use crate::read_model::AfterSalesBook;
use crate::{reactions, sla};

/// Everything the service needs besides its listener (see `main.rs` for the flags).
pub type Settings = waybill_runtime::Settings<Policy>;

/// The subjects the read model projects.
pub fn projected_subjects() -> Vec<String> {
    ["waybill.aftersales.>", "waybill.intake.order.*", "waybill.delivery.task.*"].map(str::to_owned).to_vec()
}

/// Runs after-sales until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let aftersales = Host {
        name: "aftersales",
        source: "/waybill/aftersales",
        follows: projected_subjects(),
        model: AfterSalesBook::new(),
        describe: |book| format!("{} cases", book.cases_len()),
    };
    aftersales
        .run(&settings, nats, listener, shutdown, |opened| {
            let runners = Runners::new(opened.log, opened.model, &settings);
            let (claims, complaints) = (runners.claims.clone(), runners.complaints.clone());
            Wiring::api(AfterSalesServiceServer::new(AfterSalesApi::new(runners)))
                .reaction("claims", reactions::claims_settings(), claims, reactions::open_claim_on_exception)
                .timer(Timer::every("sla clock", settings.sla_tick, complaints, sla::tick))
        })
        .await
}
