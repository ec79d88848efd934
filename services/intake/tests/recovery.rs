//! Intake across restarts: the read model is the log folded again, and health says when.

mod support;

use support::{Intake, placement, start_intake, track_order, wait_until};
use tonic_health::pb::health_check_response::ServingStatus;
use waybill_fixtures::Caller;
use waybill_fixtures::cancellation;
use waybill_proto::v1::{self, OrderStatus};
use waybill_testkit::NatsServer;

/// Everything a client can read about the orders, in a comparable form.
async fn snapshot(
    client: &mut support::Client,
    min_position: u64,
) -> Vec<(v1::Order, Vec<v1::TimelineEntry>)> {
    let orders = client
        .list_orders(v1::ListOrdersRequest { page_size: 500, min_position, ..Default::default() })
        .await
        .expect("list")
        .into_inner()
        .orders;
    let mut snapshot = Vec::new();
    for order in orders {
        let track = track_order(client, &order.order_id, min_position).await;
        snapshot.push((order, track.timeline));
    }
    snapshot
}

#[tokio::test]
async fn a_restarted_intake_rebuilds_the_same_read_model() {
    let nats = NatsServer::start();
    let first = start_intake(&nats).await;
    first.wait_serving().await;
    let mut client = first.client(Caller::customer_service("carol")).await;
    let mut order_ids = Vec::new();
    for index in 0..6 {
        let placed = client.place_order(placement(&format!("r{index}"), "cust-r")).await.expect("placed");
        order_ids.push(placed.into_inner().order.expect("order").order_id);
    }
    for order_id in &order_ids {
        wait_until(&mut client, order_id, |order| order.status() == OrderStatus::Accepted).await;
    }
    let cancelled = client
        .cancel_order(cancellation("cancel-r0", &order_ids[0], "duplicate order"))
        .await
        .expect("cancelled")
        .into_inner();
    let before = snapshot(&mut client, cancelled.position).await;
    assert_eq!(before.len(), 6);
    first.stop().await;

    let second = start_intake(&nats).await;
    second.wait_serving().await;
    let mut client = second.client(Caller::customer_service("carol")).await;
    let after = snapshot(&mut client, cancelled.position).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn health_is_serving_once_caught_up() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    intake.wait_serving().await;
    assert_eq!(intake.health().await, ServingStatus::Serving);
}

#[tokio::test]
async fn health_stays_not_serving_while_the_read_model_cannot_catch_up() {
    let nats = NatsServer::start();
    // Prepare the log, then put an event there that intake cannot decode: its read model
    // stops at it (skipping would make replays disagree), so it must never claim SERVING.
    let first = start_intake(&nats).await;
    first.wait_serving().await;
    first.stop().await;
    let subject =
        "waybill.intake.order.0190f0f0-0000-7000-8000-000000000001.0190f0f0-0000-7000-8000-000000000001";
    waybill_fixtures::foreign::publish_undecodable(nats.client().await, subject).await;

    let intake = support::Intake::start_unready(&nats, waybill_intake::server::run, Default::default()).await;
    intake.assert_not_serving_for(std::time::Duration::from_secs(1)).await;
}

#[tokio::test]
async fn intake_keeps_working_after_nats_restarts() {
    let mut nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    intake.wait_serving().await;
    let mut client = intake.client(Caller::customer_service("dave")).await;
    let first = client.place_order(placement("before-restart", "cust-n")).await.expect("placed").into_inner();

    nats.restart();

    // The client library reconnects; a placement may need a retry while it does, and the
    // retry is safe because the request id is the same.
    let mut second = None;
    for _ in 0..100 {
        match client.place_order(placement("after-restart", "cust-n")).await {
            Ok(response) => {
                second = Some(response.into_inner());
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let second = second.expect("placement succeeds once NATS is back");
    assert!(second.position > first.position);
    let order_id = second.order.expect("order").order_id;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;
}

/// Publishes an event on `subject` intake's read model cannot apply, and waits (5 s at most)
/// for health to say NOT_SERVING: the model stops there rather than skip it.
async fn halt_on_undecodable(nats: &NatsServer, intake: &Intake, subject: &str) {
    waybill_fixtures::foreign::publish_undecodable(nats.client().await, subject).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while intake.health().await != ServingStatus::NotServing {
        assert!(std::time::Instant::now() < deadline, "health still SERVING on a halted read model");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn health_turns_not_serving_as_soon_as_the_read_model_halts_on_a_live_event() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    assert_eq!(intake.health().await, ServingStatus::Serving);
    // One event intake's read model cannot apply, published while it serves: the model
    // stops there (skipping would make replicas disagree), and health must say so.
    let subject =
        "waybill.intake.order.0190f0f0-0000-7000-8000-000000000002.0190f0f0-0000-7000-8000-000000000002";
    halt_on_undecodable(&nats, &intake, subject).await;
}

#[tokio::test]
async fn an_operators_waiver_brings_a_halted_intake_back_to_serving() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let subject =
        "waybill.intake.order.0190f0f0-0000-7000-8000-000000000003.0190f0f0-0000-7000-8000-000000000003";
    halt_on_undecodable(&nats, &intake, subject).await;

    // What `waybill waive` does: a waiver of the position, with who and why.
    let log = waybill_eventlog::EventLog::open(nats.client().await, Default::default(), "/waybill/ops")
        .await
        .expect("log");
    let poison = log.last_position_of(subject).await.expect("position");
    let waiver =
        waybill_eventlog::Waiver { position: poison, operator: "ops:ana".into(), reason: "INC-1".into() };
    log.waive(waiver).await.expect("waived");

    intake.wait_serving().await;
    let mut client = intake.client(Caller::customer_service("dave")).await;
    let placed = client.place_order(placement("after-waiver", "cust-w")).await.expect("placed").into_inner();
    let order_id = placed.order.expect("order").order_id;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;
}
