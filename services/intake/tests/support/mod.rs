//! Intake in this process for its tests: how it starts and the order its tests place; the
//! host is `waybill_testkit::InProcess`, the fixtures `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

pub use waybill_fixtures::{IntakeClient as Client, cargo};
use waybill_intake::server::{self, Settings};
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer, eventually};

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
    eventually(&format!("order {order_id} to reach the expected state"), async || {
        let request = v1::GetOrderRequest { order_id: order_id.into(), min_position: 0 };
        client.get_order(request).await.ok()?.into_inner().order.filter(|order| done(order))
    })
    .await
}

/// The order's timeline as TrackOrder answers it once the read model has seen `min_position`.
pub async fn track_order(client: &mut Client, order_id: &str, min_position: u64) -> v1::TrackOrderResponse {
    let request = v1::TrackOrderRequest { order_id: order_id.into(), min_position };
    client.track_order(request).await.expect("tracked").into_inner()
}

/// The log positions of the timeline's entries of `event_type`, in timeline order.
pub fn positions_of(timeline: &[v1::TimelineEntry], event_type: &str) -> Vec<u64> {
    timeline.iter().filter(|entry| entry.event_type == event_type).map(|entry| entry.position).collect()
}
