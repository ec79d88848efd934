//! Intake in this process for its tests: how it starts and the order its tests place; the
//! host is `waybill_testkit::InProcess`, the fixtures `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

use std::time::Duration;

pub use waybill_fixtures::{IntakeClient as Client, cargo};
use waybill_intake::server::{self, Settings};
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer};

pub type Intake = InProcess<Client>;

pub async fn start_intake(nats: &NatsServer) -> Intake {
    Intake::start(nats, server::run, Settings::default()).await
}

/// The standard order with one 2 kg parcel of books, which the automatic rules accept.
pub fn placement(request_id: &str, customer_id: &str) -> v1::PlaceOrderRequest {
    let cargo = vec![cargo("books", 2_000, v1::CargoCategory::General)];
    v1::PlaceOrderRequest { cargo, ..waybill_fixtures::placement(request_id, customer_id) }
}

/// Polls GetOrder until `done` holds for the order (bounded: 10 s).
pub async fn wait_until(client: &mut Client, order_id: &str, done: impl Fn(&v1::Order) -> bool) -> v1::Order {
    for _ in 0..200 {
        let order = client
            .get_order(v1::GetOrderRequest { order_id: order_id.into(), min_position: 0 })
            .await
            .ok()
            .and_then(|response| response.into_inner().order);
        if let Some(order) = order
            && done(&order)
        {
            return order;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order_id} did not reach the expected state within 10 s");
}

pub fn status_of(order: &v1::Order) -> v1::OrderStatus {
    v1::OrderStatus::try_from(order.status).unwrap_or(v1::OrderStatus::Unspecified)
}
