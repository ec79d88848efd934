//! Delivery as the host runs it (`waybill_runtime::Host`): the delivery book, the gRPC
//! API, the arrival and order reactions and the SLA clock, on a listener the caller bound,
//! until the shutdown future resolves.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use waybill_proto::v1::delivery_service_server::DeliveryServiceServer;
use waybill_runtime::{Host, Timer, Wiring};

use crate::api::DeliveryApi;
use crate::commands::{CourierRunner, DeliveryRunner};
use crate::domain::Policy;
use crate::read_model::DeliveryBook;
use crate::{reactions, sla};

/// Everything the service needs besides its listener (see `main.rs` for the flags).
pub type Settings = waybill_runtime::Settings<Policy>;

/// The subjects the read model projects.
pub fn projected_subjects() -> Vec<String> {
    ["waybill.delivery.>", "waybill.intake.order.*", "waybill.dispatch.task.*"].map(str::to_owned).to_vec()
}

/// Runs delivery until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    nats: async_nats::Client,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let delivery = Host {
        name: "delivery",
        source: "/waybill/delivery",
        follows: projected_subjects(),
        model: DeliveryBook::new(),
        describe: |book| format!("{} deliveries", book.deliveries_len()),
    };
    delivery
        .run(&settings, nats, listener, shutdown, |opened| {
            let policy = Arc::new(settings.policy.clone());
            let deliveries = DeliveryRunner {
                log: opened.log.clone(),
                model: opened.model.clone(),
                policy: policy.clone(),
                clock: settings.clock.clone(),
                wait_timeout: settings.wait_timeout,
            };
            let couriers = CourierRunner {
                log: opened.log,
                model: opened.model,
                policy,
                clock: settings.clock.clone(),
                wait_timeout: settings.wait_timeout,
            };
            Wiring::api(DeliveryServiceServer::new(DeliveryApi::new(deliveries.clone(), couriers)))
                .reaction(
                    "arrivals",
                    reactions::arrivals_settings(),
                    deliveries.clone(),
                    reactions::schedule_on_arrival,
                )
                .reaction("orders", reactions::orders_settings(), deliveries.clone(), reactions::follow_order)
                .timer(Timer::every("sla clock", settings.sla_tick, deliveries, sla::tick))
        })
        .await
}
