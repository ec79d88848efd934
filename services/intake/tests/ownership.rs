//! Intake applies an event only if the subject's owner may have written it (issue 11,
//! defence in depth: `waybill_proto::ownership`). Forged envelopes are appended here on a
//! real nats-server with the raw log, as a client with publish rights on the subject could.

mod support;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use support::{Client, Intake, placement, start_intake, wait_until};
use tonic_health::pb::health_check_response::ServingStatus;
use waybill_eventlog::{EventLog, subject};
use waybill_fixtures::Caller;
use waybill_proto::v1::{
    self, OrderStatus, delivery_event, dispatch_event, event_envelope::Payload, intake_event,
};
use waybill_testkit::NatsServer;

/// Intake with two accepted orders, and the raw log a forger writes on.
struct TwoOrders {
    _nats: NatsServer,
    intake: Intake,
    log: EventLog,
    client: Client,
    first: String,
    second: String,
}

async fn two_accepted_orders() -> TwoOrders {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    let mut client = intake.client(Caller::customer_service("alice")).await;
    let mut accepted = Vec::new();
    for request in ["place-1", "place-2"] {
        let placed = client.place_order(placement(request, "cust-1")).await.expect("placed").into_inner();
        let order_id = placed.order.expect("order").order_id;
        wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;
        accepted.push(order_id);
    }
    let second = accepted.pop().expect("two orders");
    let first = accepted.pop().expect("two orders");
    TwoOrders { _nats: nats, intake, log, client, first, second }
}

/// Dispatch reports `order_id` picked up, as dispatch writes it: an event intake must apply.
async fn pick_up(log: &EventLog, order_id: &str) {
    let picked_up = Payload::Dispatch(v1::DispatchEvent {
        event: Some(dispatch_event::Event::TaskPickedUp(v1::TaskPickedUp {
            vehicle_id: "van-1".into(),
            driver_id: String::new(),
        })),
    });
    let task = subject::in_order("dispatch", "task", order_id, order_id);
    let event_type = "waybill.dispatch.task_picked_up.v1";
    waybill_fixtures::foreign::append_now(log, &task, order_id, event_type, picked_up).await;
}

async fn status(client: &mut Client, order_id: &str) -> OrderStatus {
    let request = v1::GetOrderRequest { order_id: order_id.into(), min_position: 0 };
    let order = client.get_order(request).await.expect("get order").into_inner().order.expect("order");
    order.status()
}

/// The process's metrics recorder (tests share a process under `cargo test`; each test
/// counts its own `reason`).
fn metrics() -> &'static PrometheusHandle {
    static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();
    METRICS.get_or_init(|| PrometheusBuilder::new().install_recorder().expect("the only recorder"))
}

/// The read model's count of refusals for `reason`, from the Prometheus text.
fn refused_by_read_model(metrics: &PrometheusHandle, reason: &str) -> u64 {
    let label = format!("reason=\"{reason}\"");
    metrics
        .render()
        .lines()
        .filter(|line| line.starts_with("waybill_events_rejected_total{"))
        .filter(|line| line.contains(&label) && line.contains("reader=\"read model\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// After a forgery on the first order's subject: an owned event about the second order is
/// still applied (the read model went past the forgery without halting), the first order
/// is unchanged, and the read model counted one refusal for `reason`.
async fn assert_skipped(orders: TwoOrders, metrics: &PrometheusHandle, reason: &str) {
    let TwoOrders { _nats, intake, log, mut client, first, second } = orders;
    pick_up(&log, &second).await;
    wait_until(&mut client, &second, |order| order.status() == OrderStatus::PickedUp).await;
    assert_eq!(status(&mut client, &first).await, OrderStatus::Accepted, "the first order did not change");
    assert_eq!(intake.health().await, ServingStatus::Serving, "a refusal is no halt");
    assert_eq!(refused_by_read_model(metrics, reason), 1, "{}", metrics.render());
    intake.stop().await;
}

/// Appends `payload` as `event_type` on the first order's intake subject, its envelope naming
/// the aggregate `named`.
async fn append_on_first(orders: &TwoOrders, named: &str, event_type: &str, payload: Payload) {
    let first_subject = subject::in_order("intake", "order", &orders.first, &orders.first);
    waybill_fixtures::foreign::append_now(&orders.log, &first_subject, named, event_type, payload).await;
}

#[tokio::test]
async fn an_intake_event_on_one_orders_subject_naming_another_order_changes_neither() {
    let metrics = metrics();
    let orders = two_accepted_orders().await;

    // On the first order's subject, an envelope that names the second order.
    let cancel = Payload::Intake(v1::IntakeEvent {
        event: Some(intake_event::Event::OrderCancelled(v1::OrderCancelled { reason: "forged".into() })),
    });
    append_on_first(&orders, &orders.second, "waybill.intake.order_cancelled.v1", cancel).await;

    assert_skipped(orders, metrics, "order_mismatch").await;
}

#[tokio::test]
async fn a_delivery_event_on_an_intake_subject_is_ignored() {
    let metrics = metrics();
    let orders = two_accepted_orders().await;

    // Delivery's "delivered" on intake's subject of the first order, naming it.
    let completed = Payload::Delivery(v1::DeliveryEvent {
        event: Some(delivery_event::Event::DeliveryCompleted(v1::DeliveryCompleted {
            proof: Some(waybill_fixtures::proof_of_delivery(chrono::Utc::now())),
            on_time: true,
            first_attempt: true,
        })),
    });
    append_on_first(&orders, &orders.first, "waybill.delivery.delivery_completed.v1", completed).await;
    assert_skipped(orders, metrics, "not_owner").await;
}
