//! After-sales as the host runs it (`waybill_runtime::Host`): the case book, the gRPC API,
//! the claims reaction and the complaints' SLA clock.

use waybill_proto::v1::after_sales_service_server::AfterSalesServiceServer;
use waybill_runtime::{Host, ReadModel, Shutdown, Started, Timer, Wiring};

use crate::api::AfterSalesApi;
use crate::commands::Runners;
use crate::domain::Policy;
use crate::read_model::AfterSalesBook;
use crate::{reactions, sla};

pub type Settings = waybill_runtime::Settings<Policy>;

/// The subjects the read model projects: its own, the orders (charges, declared values,
/// deliveries), the last mile's outcomes and the transport tasks (reverse pickups).
pub fn projected_subjects() -> Vec<String> {
    let subjects = [
        "waybill.aftersales.>",
        "waybill.intake.order.>",
        "waybill.delivery.task.>",
        "waybill.dispatch.task.>",
    ];
    subjects.map(str::to_owned).to_vec()
}

/// Runs after-sales until `shutdown` resolves (`main.rs` and the tests start it here).
pub async fn run(settings: Settings, started: Started, shutdown: impl Shutdown) -> anyhow::Result<()> {
    let cases = ReadModel {
        follows: projected_subjects(),
        empty: AfterSalesBook::new(),
        describe: |book| format!("{} cases", book.cases_len()),
    };
    Host::new("aftersales", cases)
        .run(&settings, started, shutdown, |opened| {
            let runners = Runners::new(opened.log, opened.model, &settings);
            let (claims, complaints) = (runners.claims.clone(), runners.complaints.clone());
            Wiring::api(AfterSalesServiceServer::new(AfterSalesApi::new(runners)))
                .reaction(reactions::claims_settings(), claims, reactions::open_claim_on_exception)
                .timer(Timer::every("sla clock", settings.sla_tick, complaints, sla::tick))
        })
        .await
}
