//! Delivery as the host runs it (`waybill_runtime::Host`): the delivery book, the gRPC
//! API, the arrival, order, route and notification reactions and the SLA clock.

use std::sync::Arc;

use waybill_proto::v1::delivery_service_server::DeliveryServiceServer;
use waybill_runtime::{Host, ReadModel, Shutdown, Started, Timer, Wiring};

use crate::api::DeliveryApi;
use crate::commands::{DeliveryRunner, NoticeRunner, RouteRunner};
use crate::domain::Policy;
use crate::read_model::DeliveryBook;
use crate::{reactions, sla};

pub type Settings = waybill_runtime::Settings<Policy>;

/// The subjects the read model projects: its own, and the orders and transport tasks it
/// delivers.
pub fn projected_subjects() -> Vec<String> {
    ["waybill.delivery.>", "waybill.intake.order.>", "waybill.dispatch.task.>"].map(str::to_owned).to_vec()
}

/// Runs delivery until `shutdown` resolves (`main.rs` and the tests start it here).
pub async fn run(settings: Settings, started: Started, shutdown: impl Shutdown) -> anyhow::Result<()> {
    let describe = |book: &DeliveryBook| format!("{} deliveries", book.deliveries_len());
    Host::new("delivery", ReadModel { follows: projected_subjects(), empty: DeliveryBook::new(), describe })
        .run(&settings, started, shutdown, |opened| {
            let policy = Arc::new(settings.policy.clone());
            let deliveries: DeliveryRunner = opened.runner(policy.clone(), &settings);
            let routes: RouteRunner = opened.runner(policy.clone(), &settings);
            let notices: NoticeRunner = opened.runner(policy.clone(), &settings);
            let api = DeliveryApi::new(deliveries.clone(), opened.runner(policy, &settings), routes.clone());
            Wiring::api(DeliveryServiceServer::new(api))
                .reaction(reactions::arrivals_settings(), deliveries.clone(), reactions::schedule_on_arrival)
                .reaction(reactions::orders_settings(), deliveries.clone(), reactions::follow_order)
                .reaction(reactions::routes_settings(), routes, reactions::replan_route)
                .reaction(reactions::notifications_settings(), notices, reactions::notify_consignee)
                .timer(Timer::every("sla clock", settings.sla_tick, deliveries, sla::tick))
        })
        .await
}
