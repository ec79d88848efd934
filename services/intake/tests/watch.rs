//! WatchOrder fans out from intake's read model (issue 11: one JetStream consumer per watch
//! reached the server's consumer limit): watches open no consumers, still see every change
//! in order, and are capped per caller and in total. On a real nats-server.

mod support;

use support::{Client, Intake, placement, wait_until};
use tonic::Code;
use tonic::codec::Streaming;
use waybill_fixtures::Caller;
use waybill_fixtures::Refusal;
use waybill_fixtures::cancellation;
use waybill_intake::domain::Policy;
use waybill_intake::server::{self, Settings};
use waybill_intake::watch::WatchLimits;
use waybill_proto::v1::{self, OrderStatus};
use waybill_testkit::{NatsServer, eventually};

/// Intake with the given caps, and one accepted order.
async fn intake_with(nats: &NatsServer, limits: WatchLimits) -> (Intake, String) {
    let settings = Settings::new(Policy { watches: limits, ..Policy::default() });
    let intake = Intake::start(nats, server::run, settings).await;
    let mut client = intake.client(Caller::customer_service("alice")).await;
    let placed = client.place_order(placement("watched", "cust-w")).await.expect("placed").into_inner();
    let order_id = placed.order.expect("order").order_id;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;
    (intake, order_id)
}

/// Intake with the default caps, one accepted order, and a watch past its first update.
struct Watched {
    _nats: NatsServer,
    intake: Intake,
    client: Client,
    order_id: String,
    updates: Streaming<v1::WatchOrderResponse>,
}

async fn watched() -> Watched {
    let nats = NatsServer::start();
    let (intake, order_id) = intake_with(&nats, WatchLimits::default()).await;
    let mut client = intake.client(Caller::customer_service("alice")).await;
    let mut updates = watch(&mut client, &order_id).await.expect("watching");
    assert_eq!(next(&mut updates).await.0, OrderStatus::Accepted);
    Watched { _nats: nats, intake, client, order_id, updates }
}

async fn watch(
    client: &mut Client,
    order_id: &str,
) -> Result<Streaming<v1::WatchOrderResponse>, tonic::Status> {
    let request = v1::WatchOrderRequest { order_id: order_id.to_owned(), min_position: 0 };
    Ok(client.watch_order(request).await?.into_inner())
}

/// The next update: the order's status and the event's type and position.
async fn next(updates: &mut Streaming<v1::WatchOrderResponse>) -> (OrderStatus, String, u64) {
    let update = updates.message().await.expect("stream").expect("an update");
    let event = update.event.expect("event");
    (update.order.expect("order").status(), event.event_type, event.position)
}

async fn consumers(nats: &NatsServer) -> usize {
    let jetstream = async_nats::jetstream::new(nats.client().await);
    let mut stream = jetstream.get_stream("WAYBILL").await.expect("the event stream");
    stream.info().await.expect("stream info").state.consumer_count
}

async fn cancel(client: &mut Client, order_id: &str, request_id: &str) -> u64 {
    let request = cancellation(request_id, order_id, "changed plans");
    client.cancel_order(request).await.expect("cancelled").into_inner().position
}

async fn restore(client: &mut Client, order_id: &str, request_id: &str) -> u64 {
    let request = v1::RestoreOrderRequest { request_id: request_id.into(), order_id: order_id.into() };
    client.restore_order(request).await.expect("restored").into_inner().position
}

#[tokio::test]
async fn open_watches_create_no_jetstream_consumers_and_all_see_the_change() {
    let nats = NatsServer::start();
    let (intake, order_id) = intake_with(&nats, WatchLimits { per_caller: 100, total: 100 }).await;
    let mut client = intake.client(Caller::customer_service("alice")).await;
    let before = consumers(&nats).await;

    let mut watches = Vec::new();
    for _ in 0..40 {
        let mut updates = watch(&mut client, &order_id).await.expect("watching");
        assert_eq!(next(&mut updates).await.0, OrderStatus::Accepted);
        watches.push(updates);
    }
    assert_eq!(consumers(&nats).await, before, "40 watches, no new consumer");

    let cancelled = cancel(&mut client, &order_id, "cancel-watched").await;
    for updates in &mut watches {
        let (status, event_type, position) = next(updates).await;
        assert_eq!(
            (status, event_type.as_str(), position),
            (OrderStatus::Cancelled, "waybill.intake.order_cancelled.v1", cancelled)
        );
    }
    intake.stop().await;
}

#[tokio::test]
async fn a_watch_sees_every_change_of_its_order_in_order_and_the_final_state() {
    let Watched { _nats, intake, mut client, order_id, mut updates } = watched().await;

    // Written before the watcher reads any of them.
    let mut written = Vec::new();
    for round in 0..5 {
        written
            .push((OrderStatus::Cancelled, cancel(&mut client, &order_id, &format!("cancel-{round}")).await));
        written.push((
            OrderStatus::Accepted,
            restore(&mut client, &order_id, &format!("restore-{round}")).await,
        ));
    }
    let mut seen = Vec::new();
    for _ in 0..written.len() {
        let (status, _, position) = next(&mut updates).await;
        seen.push((status, position));
    }
    assert_eq!(seen, written);
    intake.stop().await;
}

#[tokio::test]
async fn a_slow_watcher_still_ends_on_the_current_state() {
    let Watched { _nats, intake, mut client, order_id, mut updates } = watched().await;

    // Far more changes than the watch's queue and the stream's buffers hold, unread.
    let mut last = 0;
    for round in 0..150 {
        cancel(&mut client, &order_id, &format!("cancel-{round}")).await;
        last = restore(&mut client, &order_id, &format!("restore-{round}")).await;
    }
    let mut previous = 0;
    loop {
        let (status, _, position) = next(&mut updates).await;
        assert!(position > previous, "in log order: {position} after {previous}");
        previous = position;
        if position == last {
            assert_eq!(status, OrderStatus::Accepted);
            break;
        }
    }
    intake.stop().await;
}

#[tokio::test]
async fn watches_beyond_a_cap_are_refused_until_one_closes() {
    let nats = NatsServer::start();
    let (intake, order_id) = intake_with(&nats, WatchLimits { per_caller: 2, total: 3 }).await;
    let mut alice = intake.client(Caller::customer_service("alice")).await;
    let mut bob = intake.client(Caller::customer_service("bob")).await;

    let first = watch(&mut alice, &order_id).await.expect("alice's first watch");
    let _second = watch(&mut alice, &order_id).await.expect("alice's second watch");
    let refused = watch(&mut alice, &order_id).await.refused(Code::ResourceExhausted, "alice's third watch");
    assert!(refused.message().contains("per-caller cap"), "{}", refused.message());

    let _bobs = watch(&mut bob, &order_id).await.expect("bob's first watch");
    let refused = watch(&mut bob, &order_id).await.refused(Code::ResourceExhausted, "a fourth watch in all");
    assert!(refused.message().contains("total cap"), "{}", refused.message());

    // A closed watch frees its slot.
    drop(first);
    eventually("alice's closed watch to free its slot", async || watch(&mut alice, &order_id).await.ok())
        .await;
    intake.stop().await;
}
